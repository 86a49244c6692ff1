"""CityNav-v1: a pedestrian crosses a grid city whose cars do not stop for it."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from scipy.ndimage import label

from envs.city.citymap import (
    FULL_SIGHT,
    HEADING_STEPS,
    MAX_CAR_SPEED,
    CityMap,
    MapError,
    Traffic,
    checked_sight,
)
from envs.city.maploader import load_map

#: action -> (row step, column step): 0 stay, 1 north, 2 east, 3 south, 4 west
ACTION_STEPS = ((0, 0), (-1, 0), (0, 1), (1, 0), (0, -1))
ACTION_NAMES = ("stay", "north", "east", "south", "west")
RESET_OPTIONS = ("start", "goal")  #: the keys ``reset(options=...)`` understands
#: the sight radius (cells) when neither the env nor the map states one: the smallest at
#: which the traffic planner crosses without a death and as well as with the whole map in
#: sight (see the class doc, Arguments)
DEFAULT_SIGHT = 5
#: the per-cell tables (static observation, window, nearby cells; about 20 kB a cell at
#: sight 5) are built when the pedestrian first stands on a cell and dropped at a reset
#: once they cover more than this many window cells: 2**18, about 2,000 cells at sight 5,
#: so all of a small city's cells and about 50 MB on a large one
CELL_TABLE_WINDOW_CELLS = 1 << 18
#: walking-distance tables (one per goal, a list over all cells) kept, in cells: 2**20,
#: about 8 MB; every goal of a small city, the last dozen on a 300 x 300 one
WALK_DISTANCE_CELLS = 1 << 20
#: goal candidates (per start, the sidewalks far enough away) kept, in cells: 2**20, 8 MB;
#: every start of a small city
GOAL_CANDIDATE_CELLS = 1 << 20
GOAL_SCALE_CELLS = (
    32.0  #: D, the fixed normaliser of the goal offset (cells); the same on every map
)
CELL_CHANNELS = 11  #: values per window cell, see the observation table
#: codes in the car move table: draw among several moves; leave the map heading h (_EXIT - h)
_CHOOSE, _EXIT = -1, -2
#: action types step() takes without a closer look: Python's int and SB3's numpy int64
_PLAIN_ACTION_TYPES = (int, np.int64)
_NOWHERE: frozenset[int] = frozenset()
_NO_WINDOW: dict[int, int] = {}


class CityNavEnv(gym.Env):
    """
    ## Description

    A pedestrian walks across a grid city to a goal. The city (a text map, see
    ``envs/city/citymap.py`` for the legend and the traffic rules) has buildings,
    sidewalks, one-way lanes, intersections and zebra crossings. Cars drive in at the
    map edge, follow their lanes, go straight or turn at intersections, queue behind
    each other and leave at the far side; some drive 1 cell per tick, some 2. They never
    stop for the pedestrian.

    Within a tick the pedestrian and the cars move at the same time, each at constant
    speed along its path from cell centre to cell centre (a car that is held up stops
    short). The pedestrian dies if it meets a car at any moment of the tick: sharing a
    cell at the tick's end, a car driving through it, swapping cells with a car, or a
    fast car running into it as it walks towards it.

    ## Action Space

    `Discrete(5)`: 0 stay, 1 north (row - 1), 2 east (column + 1), 3 south (row + 1),
    4 west (column - 1). A move into a building or off the map is a stay.

    An action is an int or a numpy integer (a 0-d or shape-(1,) integer array too, as
    SB3's `predict` gives); anything else (a float, NaN, a bool, another shape) or a number
    outside 0-4 raises ValueError naming it. `step` before `reset` raises RuntimeError.

    ## Observation Space

    A flat `Box(float32)` of `(2s+1)**2 * 11 + 3` values, s the sight (1,334 for the
    default s = 5), identical in layout on every map. First an egocentric window of
    (2s+1) x (2s+1) cells centred on the pedestrian, not rotated (window row 0 is the
    northmost), cell by cell in row-major order and 11 channels per cell; then the goal:

    | index                  | channel            | meaning                                     | range  |
    |------------------------|--------------------|---------------------------------------------|--------|
    | `11*cell + 0`          | blocked            | 1: building or off the map                  | {0, 1} |
    | `11*cell + 1..4`       | lane N, E, S, W    | one-hot traffic direction of a lane/crossing| {0, 1} |
    | `11*cell + 5`          | intersection       | 1: intersection (its lane channels are 0)   | {0, 1} |
    | `11*cell + 6..9`       | car N, E, S, W     | one-hot heading of the car on the cell      | {0, 1} |
    | `11*cell + 10`         | car speed          | its speed / 2 (cells per tick / 2)          | [0, 1] |
    | `-3`                   | goal dx            | (goal column - column) / D, east positive   | [-1, 1]|
    | `-2`                   | goal dy            | (goal row - row) / D, south positive        | [-1, 1]|
    | `-1`                   | goal distance      | Manhattan distance to the goal / D          | [0, 1] |

    `cell = row_in_window * (2s+1) + col_in_window`; a sidewalk is a cell with all
    static channels 0. D = 32 cells on every map; the goal values are clipped. The car
    channels show the cars where they stand at the end of the tick.

    **Sight.** The window is all anyone sees of the traffic: the sight s (cells, a
    Chebyshev radius) bounds both the observation's car channels and the cars listed in
    `info["cars"]`, so a planner reading `info` sees no car a learner's observation does
    not show. The map itself (`info["city_map"]`: layout, lanes, turn rules, entries,
    published traffic) is public, the street map any pedestrian may carry: that is the
    planner's model.

    ## Rewards

    The reward is the sum of the components reported in `info["reward_components"]`:

    - `goal`: `reward_goal` (+1) on the step the goal is reached, else 0;
    - `death`: `reward_death` (-1) on the step the pedestrian is hit, else 0;
    - `step`: `reward_step` (-0.001) on every step (small: a walk that times out must
      cost less than a death);
    - `progress`: by default `progress_per_cell` (0.1) x (the walking distance to the
      goal before the step - after it), the walking distance being the shortest walk in
      cells around buildings, cars ignored (so it leads around blocks, not into their
      walls). It is the difference of the potential `Phi(s) = -0.1 x walking distance`
      undiscounted, so it leaves the optimal policy unchanged for an undiscounted learner
      only, not for the city's learners, which discount (DQN with 0.95, PPO and A2C with 0.99).
      With `shaping_gamma` set, it is potential-based shaping for a learner discounting
      with that gamma (Ng, Harada and Russell 1999): `shaping_gamma x Phi(s') - Phi(s)`,
      with `Phi(s') = 0` once the walk has ended (goal or death; a walk cut by the time
      limit keeps its last state's potential, from which a learner bootstraps). Over a walk
      of T steps the discounted terms sum to `shaping_gamma**T x Phi(s_T) - Phi(s_0)`.
      That invariance has a price in what a learner sees early: with gamma 0.95 a stay
      pays `0.005 d` and a death step `-1.001 + 0.1 d` (d: walking distance before the
      step), so standing still, or dying far from the goal, pays. DQN with the Zoo
      LunarLander values (gamma 0.99) trained with the 0.95 shaping on `train` had 0 %
      held-out success after 666 walks, 426 of them deaths and most others timed out,
      where with the plain term the same DQN reached 88 % after 1,500 walks (in v0, with
      a 7 x 7 window); so the default stays the plain progress term, named for what it is.

    ## Starting State

    A reset with a seed (and the first reset) starts a fresh city: no cars, then
    `warmup_ticks` ticks of traffic (default rows + cols) without the pedestrian. A
    reset without a seed keeps the traffic running where it was: the next walk starts
    in the same, living city. Traffic draws its random numbers from its own generator
    seeded from `self.np_random`, so the same seed gives the same traffic whatever the
    pedestrian does or where it starts. The start and goal are drawn uniformly on
    sidewalk cells of one walkable area (the one with the most sidewalk cells), at
    least `min_start_goal_distance` apart (Manhattan).

    `reset(options={"start": (r, c), "goal": (r, c)})` fixes either or both; the other
    is drawn on a sidewalk of the same walkable area, that far away if it can be. Only
    these two keys are known; each is None or a (row, col) of two integers, the start
    a sidewalk, the goal walkable, both in one walkable area and not the same cell. Any
    other key, type or cell raises ValueError, before the env changes.

    ## Episode End

    - Termination: the pedestrian reaches the goal (`info["is_success"]`,
      `info["outcome"] == "success"`).
    - Termination: the pedestrian meets a car (`info["death"]`, outcome `"death"`).
    - Truncation: `max_steps` ticks pass (default 4 x (rows + cols), 160 on "train";
      outcome `"time_limit"`).

    `info` of every reset and step holds `position` (row, col), `goal` (row, col),
    `city_map` (the shared :class:`CityMap`: layout, lanes, turn rules, entries and the
    *published* traffic), `cars` (the cars in sight: those on the cells of the
    observation window, int64 array (n, 4): row, col, heading 0 N / 1 E / 2 S / 3 W,
    speed in cells per tick; oldest car first, which is the order they move in), `tick`
    (ticks since the reset, the walk's own clock), `is_success` and `death` (bools);
    step infos add `reward_components`, and the last step `outcome`. None of these
    depends on a car out of sight: there is no count of cars, no traffic clock, seed or
    random state. A death is felt, not seen, but with a sight of 2 or more the car that
    hits stands in sight at the tick's end. The whole traffic stays inside the env
    (`CityNavEnv.all_cars()`, and `render()` draws it, dimming what is out of sight,
    for people); agents are handed the observation and `info` alone.

    ## Arguments

    - `map`: a :class:`CityMap`, a built-in name (`"train"`, `"new"`), `"random:SEED"`,
      `"random:SEED:ROWSxCOLS"` (a generated city of that size, 12 to 1,000 a side) or
      the path of a map file.
    - `render_mode`: None or `"rgb_array"`.
    - `sight`: what anyone sees of the traffic, the Chebyshev radius s in cells of the
      observation window ((2s+1) x (2s+1) cells) and of `info["cars"]`: an integer >= 0,
      `"full"` (radius max(rows, cols) - 1: the window covers the map from every cell;
      the observation then grows with the map) or None: the map file's `sight` if it
      states one, else `DEFAULT_SIGHT` = 5. A learner's network fits one sight: train
      and transfer at the same one.

      Why 5: it is the smallest sight at which the traffic planner, seeing no more than
      the learners, crosses as well as with the whole map in sight, and it is safe there
      (``benchmarks/city_sight.py``, ``results/tuning/city_sight.json``: 200 walks on
      each of `train`, `new` and `random:0` to `random:24`, validation seeds; ms per
      decision with two processes on two busy cores):

      | sight | walks | deaths | success | worst map          | ticks per walk | ms per decision |
      |-------|-------|--------|---------|--------------------|----------------|-----------------|
      | 2     | 5,400 | 0      | 14.3 %  | 0.0 % random:17    | 156.8          | 0.43            |
      | 3     | 5,400 | 0      | 46.4 %  | 0.5 % random:17    | 111.3          | 0.49            |
      | 4     | 5,400 | 0      | 99.6 %  | 95.5 % random:20   | 21.6           | 0.51            |
      | 5     | 5,400 | 0      | 100 %   | 100 %              | 20.8           | 0.54            |
      | 6     | 5,400 | 0      | 100 %   | 100 %              | 20.8           | 0.55            |
      | full  | 5,400 | 0      | 100 %   | 100 %              | 20.7           | 0.64            |

      Deaths are 0 at every sight, as the planner assumes a car may be anywhere it
      cannot see: a short sight costs walks that never cross (time-outs), not deaths, so
      deaths alone cannot choose; the bar is no death and 99 % success on every map, as
      the planner's tests ask. A two-lane road takes three ticks to cross, the far lane
      stood on during the third, and a car just out of sight, s + 1 cells up that lane at
      2 cells a tick, gets there by then unless s >= 4; at 4 a lane that enters at the
      map's edge just out of sight still bars some crossings for good (on 3 maps 3-4.5 %
      of the walks wait out the time limit). Judged only on the cars in sight, with no
      thought for those out of it, the planner of before died 3 times in these 5,400
      walks at sight 3, and 0 times at sight 5.
    - `max_steps`: time limit in ticks, >= 1 (default 4 x (rows + cols)).
    - `min_start_goal_distance`: least Manhattan distance of start and goal, >= 1
      (default max(rows, cols) // 2).
    - `traffic`: the true traffic, a :class:`Traffic` or a dict of the fields that differ
      from the map's published traffic (the default). Then the published numbers in
      `info["city_map"]` are nominal, and the truth is hidden from planners.
    - `warmup_ticks`: traffic ticks before the pedestrian appears, >= 0 (default rows + cols).
    - `reward_goal`, `reward_death`, `reward_step`, `progress_per_cell`: the rewards,
      finite numbers.
    - `shaping_gamma`: None (default: the undiscounted progress term), or the discount,
      in [0, 1], of a learner for which the progress term is to be potential-based (see
      Rewards).

    A map that cannot be loaded or played raises :class:`MapError` (a ValueError) naming
    the file, line and column and what is wrong: bytes that are not UTF-8, a malformed
    header or grid, a bad `random:` seed or size (see ``envs/city/citymap.py``), and a
    map whose largest walkable area has no two sidewalk cells `min_start_goal_distance`
    apart. An unknown map name, or any other argument of the wrong type or out of its
    range, raises ValueError saying what was expected. Tables are built in time and
    memory linear in the map's cells: a 300 x 300 city starts in about a second.

    ## Version History

    - v1: one sight for everyone: `sight` (formerly `window_radius`, 3) bounds
      `info["cars"]` too, and the default sight is 5 (an 11 x 11 window, 1,334 values);
      the progress shaping can be made potential-based for a discounting learner
      (`shaping_gamma`); inputs are validated.
    - v0: first version (7 x 7 window; `info["cars"]` listed every car of the city).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 8}

    def __init__(
        self,
        map: str | CityMap = "train",
        render_mode: str | None = None,
        sight: int | str | None = None,
        max_steps: int | None = None,
        min_start_goal_distance: int | None = None,
        traffic: Traffic | dict[str, Any] | None = None,
        warmup_ticks: int | None = None,
        reward_goal: float = 1.0,
        reward_death: float = -1.0,
        reward_step: float = -0.001,
        progress_per_cell: float = 0.1,
        shaping_gamma: float | None = None,
    ):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode {render_mode!r}: expected None or 'rgb_array'")
        self.city_map = load_map(map)
        self.traffic = _true_traffic(self.city_map.traffic, traffic)
        self.render_mode = render_mode
        rows, cols = self.city_map.shape
        self.sight = _sight_radius(sight, self.city_map)
        self.max_steps = _integer("max_steps", max_steps, least=1, default=4 * (rows + cols))
        self.min_start_goal_distance = _integer(
            "min_start_goal_distance",
            min_start_goal_distance,
            least=1,
            default=max(rows, cols) // 2,
        )
        self.warmup_ticks = _integer("warmup_ticks", warmup_ticks, least=0, default=rows + cols)
        self.reward_goal, self.reward_death = (
            _real("reward_goal", reward_goal),
            _real("reward_death", reward_death),
        )
        self.reward_step = _real("reward_step", reward_step)
        self.progress_per_cell = _real("progress_per_cell", progress_per_cell)
        self.shaping_gamma = (
            None if shaping_gamma is None else _real("shaping_gamma", shaping_gamma)
        )
        if self.shaping_gamma is not None and not 0.0 <= self.shaping_gamma <= 1.0:
            raise ValueError(f"shaping_gamma = {shaping_gamma!r}: expected a discount in [0, 1]")

        side = 2 * self.sight + 1
        n_window = side * side * CELL_CHANNELS
        low = np.zeros(n_window + 3, dtype=np.float32)
        low[-3:-1] = -1.0
        self.observation_space = spaces.Box(low, np.ones_like(low), dtype=np.float32)
        self.action_space = spaces.Discrete(5)

        self._build_tables()
        self._background: np.ndarray | None = None
        # episode state, set by reset()
        self._pos = self._goal = -1
        self._tick = 0
        self._distance = 0
        self._walk_distance: list[int] = []
        self._walk_distance_cache: dict[int, list[int]] = {}
        self._walk_distances_kept = max(1, WALK_DISTANCE_CELLS // (rows * cols))
        #: per car, oldest first: [state = cell * 4 + heading, speed, self._car_rows[speed]]
        self._cars: list[list[Any]] = []
        self._seen_flat: list[int] = []  # the cars in sight as info["cars"] rows, flattened
        self._traffic_rng: np.random.Generator | None = None
        #: when True, step() keeps in ``car_paths`` each car's path through the tick
        #: (for tests): ``(speed, [(row, col), ...])``, cells off the map included
        self.record_car_paths = False
        self.car_paths: list[tuple[int, list[tuple[int, int]]]] = []

    # -- tables built once per map -----------------------------------------------------

    def _build_tables(self) -> None:
        """Tables of the map, built once; each takes memory and time linear in the cells."""
        city = self.city_map
        rows, cols = city.shape
        n = rows * cols
        self._rows, self._cols = rows, cols
        cell_rows, cell_cols = np.divmod(np.arange(n), cols)
        self._rc = list(zip(cell_rows.tolist(), cell_cols.tolist()))

        # where each action takes the pedestrian from each cell
        walkable = city.walkable.reshape(-1)
        targets = np.empty((n, len(ACTION_STEPS)), dtype=np.int64)
        for action, (dr, dc) in enumerate(ACTION_STEPS):
            nr, nc = cell_rows + dr, cell_cols + dc
            inside = (nr >= 0) & (nr < rows) & (nc >= 0) & (nc < cols)
            ahead = np.where(inside, nr * cols + nc, 0)
            targets[:, action] = np.where(inside & walkable[ahead], ahead, np.arange(n))
        self._ped_next: list[list[int]] = targets.tolist()

        # the static observation of the whole map, padded by k cells of "blocked"; the
        # tables of one cell are cut from it when the pedestrian first stands there
        k = self.sight
        static = np.zeros((rows + 2 * k, cols + 2 * k, CELL_CHANNELS), dtype=np.float32)
        static[:, :, 0] = 1.0
        inner = static[k : k + rows, k : k + cols]
        inner[:, :, 0] = city.blocked
        for h in range(4):
            inner[:, :, 1 + h] = city.lane_heading == h
        inner[:, :, 5] = city.intersection
        self._static_map = static
        #: per cell, once built: its static observation (car and goal channels 0)
        self._static_obs: list[np.ndarray | None] = [None] * n
        #: per cell, once built: {cell in its window: index of that cell's channel 0 in the observation}
        self._window: list[dict[int, int] | None] = [None] * n
        #: per cell, once built: cells within Manhattan distance 3; a car starting farther
        #: away cannot meet a pedestrian starting there within one tick
        self._near: list[frozenset[int] | None] = [None] * n
        self._cells_with_tables: list[int] = []
        self._cell_tables_kept = max(64, CELL_TABLE_WINDOW_CELLS // (2 * k + 1) ** 2)

        # a car is a state, cell * 4 + heading; its next state, an exit code or _CHOOSE
        def code(nxt: tuple[int, int] | None, heading: int) -> int:
            return _EXIT - heading if nxt is None else (nxt[0] * cols + nxt[1]) * 4 + heading

        self._next_state = [_EXIT] * (4 * n)
        self._choices: dict[int, tuple[int | None, tuple[int, ...]]] = {}
        road_cells = np.flatnonzero(city.road.reshape(-1)).tolist()
        for cell in road_cells:
            r, c = self._rc[cell]
            for h in range(4):
                state = cell * 4 + h
                moves = city.car_moves((r, c), h)
                if len(moves) == 1:
                    self._next_state[state] = code(moves[0][0], moves[0][1])
                elif moves:
                    straight = next((code(nxt, nh) for nxt, nh, turn in moves if not turn), None)
                    turns = tuple(code(nxt, nh) for nxt, nh, turn in moves if turn)
                    self._next_state[state] = _CHOOSE
                    self._choices[state] = (straight, turns)
        #: per speed v, per state s of a road cell: the car's row of info["cars"], (row, col, heading, v)
        self._car_rows: dict[int, list[tuple[int, int, int, int] | None]] = {}
        for speed in range(1, MAX_CAR_SPEED + 1):
            car_rows: list[tuple[int, int, int, int] | None] = [None] * (4 * n)
            for cell in road_cells:
                r, c = self._rc[cell]
                for h in range(4):
                    car_rows[cell * 4 + h] = (r, c, h, speed)
            self._car_rows[speed] = car_rows
        self._entries = [
            ((r * cols + c) * 4 + int(city.lane_heading[r, c])) for r, c in city.entry_cells
        ]
        self._entry_back = [
            (r - HEADING_STEPS[h][0], c - HEADING_STEPS[h][1])
            for (r, c), h in zip(
                city.entry_cells, (int(city.lane_heading[cell]) for cell in city.entry_cells)
            )
        ]
        self._build_start_goal_tables()

    def _build_start_goal_tables(self) -> None:
        """Where starts and goals are drawn: the walkable area with the most sidewalk cells.

        Fails with :class:`MapError` if no two of its sidewalk cells are
        ``min_start_goal_distance`` apart: the map cannot be played.
        """
        city, cols = self.city_map, self._cols
        areas, _ = label(city.walkable)
        self._area: np.ndarray = areas.reshape(-1)  # 0 on buildings, 1, 2, ... on walkable areas
        self._is_sidewalk = city.sidewalk.reshape(-1)
        sidewalks_per_area = np.bincount(self._area[self._is_sidewalk])
        sidewalks_per_area[0] = 0
        self._main_area = int(np.argmax(sidewalks_per_area))
        self._sidewalks = np.flatnonzero((self._area == self._main_area) & self._is_sidewalk)
        # the farthest sidewalk from each, in one pass: a Manhattan distance is the largest
        # of (r + c) and (r - c) differences, so the farthest point is an extreme of either
        sr, sc = self._sidewalks // cols, self._sidewalks % cols
        total, difference = sr + sc, sr - sc
        farthest = np.maximum.reduce(
            [
                total.max() - total,
                total - total.min(),
                difference.max() - difference,
                difference - difference.min(),
            ]
        )
        #: indices into _sidewalks of the cells with a partner far enough away
        self._starts = np.flatnonzero(farthest >= self.min_start_goal_distance)
        self._goal_candidate_cache: dict[int, np.ndarray] = {}
        self._goal_candidate_cells = 0
        if len(self._starts) == 0:
            span, count = int(farthest.max()), len(self._sidewalks)
            remedy = (
                f"expected min_start_goal_distance <= {span}"
                if span >= 1
                else "expected at least two sidewalk cells that a walk can join"
            )
            raise MapError(
                city.source,
                city.first_grid_line,
                1,
                f"map {city.name!r} cannot be played: no two sidewalk cells of one walkable area are "
                f"{self.min_start_goal_distance} cells apart (min_start_goal_distance); its largest walkable "
                f"area has {count} sidewalk cell{'s' if count != 1 else ''}, at most {span} apart; {remedy}",
            )

    def _build_cell_tables(self, cell: int) -> np.ndarray:
        """The tables of ``cell`` (its static observation, window and near cells); returns the first."""
        rows, cols, k = self._rows, self._cols, self.sight
        side = 2 * k + 1
        r, c = self._rc[cell]
        obs = np.zeros(self.observation_space.shape[0], dtype=np.float32)
        obs[: side * side * CELL_CHANNELS] = self._static_map[r : r + side, c : c + side].reshape(
            -1
        )
        self._static_obs[cell] = obs
        self._window[cell] = {
            (r + wr - k) * cols + (c + wc - k): (wr * side + wc) * CELL_CHANNELS
            for wr in range(side)
            for wc in range(side)
            if 0 <= r + wr - k < rows and 0 <= c + wc - k < cols
        }
        reach = MAX_CAR_SPEED + 1
        self._near[cell] = frozenset(
            nr * cols + nc
            for nr in range(max(0, r - reach), min(rows, r + reach + 1))
            for nc in range(max(0, c - reach), min(cols, c + reach + 1))
            if abs(nr - r) + abs(nc - c) <= reach
        )
        self._cells_with_tables.append(cell)
        return obs

    def _drop_cell_tables(self) -> None:
        """Forget the per-cell tables once they grow past their budget (at a reset)."""
        if len(self._cells_with_tables) > self._cell_tables_kept:
            for cell in self._cells_with_tables:
                self._static_obs[cell] = self._window[cell] = self._near[cell] = None
            self._cells_with_tables = []

    # -- the random numbers of the traffic -----------------------------------------------

    def _entry_gap(self, uniform: float) -> int:
        """Ticks until an entry's next car: geometric with success chance ``entry_rate``."""
        rate = self.traffic.entry_rate
        if rate >= 1.0:
            return 1
        if rate <= 0.0:
            return 1 << 62
        return 1 + int(math.log(1.0 - uniform) / math.log(1.0 - rate))

    def _new_speed(self, uniform: float) -> int:
        scaled = uniform * self._speed_total
        for speed, cumulative in self._speed_cdf:
            if scaled < cumulative:
                return speed
        return self._speed_cdf[-1][0]

    # -- gymnasium API -------------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        start, goal = self._checked_options(options)  # before anything changes
        super().reset(seed=seed)
        if seed is not None or self._traffic_rng is None:
            self._start_traffic()
        start, goal = self._draw_start_goal(start, goal)
        self._pos, self._goal, self._tick = start, goal, 0
        self._walk_distance = self._walk_distances(goal)
        self._distance = self._walk_distance[start]
        self._drop_cell_tables()
        static = self._static_obs[start]
        obs = (static if static is not None else self._build_cell_tables(start)).copy()
        window = self._window[start]
        seen: list[int] = []
        for state, speed, rows in self._cars:
            base = window.get(state >> 2)
            if base is not None:
                obs[base + 6 + (state & 3)] = 1.0
                obs[base + 10] = speed / MAX_CAR_SPEED
                seen.extend(rows[state])
        self._seen_flat = seen
        self._write_goal(obs, start)
        return obs, self._info(False, False)

    def _start_traffic(self) -> None:
        """A fresh city: no cars, a traffic generator seeded from ``np_random``, a warm-up."""
        self._traffic_rng = np.random.default_rng(int(self.np_random.integers(1 << 63)))
        self._uniforms = self._traffic_rng.random(4096).tolist()
        self._u = 0
        weights = self.traffic.speed_weights
        self._speed_total = float(sum(weights))
        self._speed_cdf = [
            (s, float(sum(weights[: j + 1]))) for j, s in enumerate(self.traffic.speeds)
        ]
        self._cars = []
        self._seen_flat = []
        self._occupied = bytearray(self._rows * self._cols)
        self._next_entry = [self._entry_gap(self._traffic_rng.random()) for _ in self._entries]
        self._next_any_entry = min(self._next_entry)
        self._traffic_tick = 0
        for _ in range(self.warmup_ticks):
            self._advance_traffic(-1, -1, None)

    def step(self, action):
        p0 = self._pos
        if action.__class__ not in _PLAIN_ACTION_TYPES or not 0 <= action <= 4 or p0 < 0:
            action = self._checked_action(action)
        p1 = self._ped_next[p0][action]
        self._pos = p1
        self._tick += 1
        static = self._static_obs[p1]
        if static is None:
            static = self._build_cell_tables(p1)
        obs = static.copy()
        death = self._advance_traffic(p0, p1, obs)
        self._write_goal(obs, p1)

        success = p1 == self._goal and not death
        terminated = success or death
        truncated = not terminated and self._tick >= self.max_steps
        distance = self._walk_distance[p1]
        goal_reward = self.reward_goal if success else 0.0
        death_reward = self.reward_death if death else 0.0
        if self.shaping_gamma is None:  # the walking distance gained (see Rewards)
            progress = self.progress_per_cell * (self._distance - distance)
        else:
            # gamma * Phi(s') - Phi(s), Phi = -progress_per_cell * walking distance, and 0 once
            # the walk has ended; a truncated walk has not ended (its learner bootstraps from s')
            potential_after = 0.0 if terminated else -self.progress_per_cell * distance
            progress = (
                self.shaping_gamma * potential_after + self.progress_per_cell * self._distance
            )
        self._distance = distance
        reward = goal_reward + death_reward + self.reward_step + progress
        info = self._info(success, death)
        info["reward_components"] = {
            "goal": goal_reward,
            "death": death_reward,
            "step": self.reward_step,
            "progress": progress,
        }
        if terminated or truncated:
            info["outcome"] = "death" if death else ("success" if success else "time_limit")
        return obs, reward, terminated, truncated, info

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array":
            return None
        if self._pos < 0:
            raise RuntimeError("render() before reset(): call reset() first")
        from envs.city.render import draw_background, draw_city

        if self._background is None:
            self._background = draw_background(self.city_map)
        return draw_city(
            self._background,
            self.all_cars(),
            self._rc[self._pos],
            self._rc[self._goal],
            self._sight_box(),
        )

    def all_cars(self) -> np.ndarray:
        """Every car in the city, in sight or not, as rows of ``info["cars"]``, oldest first.

        For tests and the human eye (render); no agent is given this.
        """
        return np.array(
            [v for state, _, rows in self._cars for v in rows[state]], dtype=np.int64
        ).reshape(-1, 4)

    def _sight_box(self) -> tuple[int, int, int, int] | None:
        """The cells in sight, (first row, first col, last row, last col); None: the whole map."""
        (r, c), k = self._rc[self._pos], self.sight
        box = (max(0, r - k), max(0, c - k), min(self._rows - 1, r + k), min(self._cols - 1, c + k))
        return None if box == (0, 0, self._rows - 1, self._cols - 1) else box

    # -- the world -----------------------------------------------------------------------

    def _advance_traffic(self, p0: int, p1: int, obs: np.ndarray | None) -> bool:
        """One tick of traffic; writes visible cars into ``obs``; True if a car met the pedestrian.

        The pedestrian walks from cell ``p0`` to ``p1`` during the tick (-1: absent).
        """
        tick = self._traffic_tick = self._traffic_tick + 1
        occupied = self._occupied
        next_state, choices = self._next_state, self._choices
        p_turn = self.traffic.turn_probability
        near = self._near[p0] if p0 >= 0 else _NOWHERE
        window = self._window[p1] if p1 >= 0 else _NO_WINDOW
        record = self.record_car_paths
        if record:
            self.car_paths = []
        # enough uniforms for the tick: at most one per car move, two per new car (drawn in
        # blocks of 4,096 or more; the block size does not change the numbers drawn)
        uniforms, u = self._uniforms, self._u
        needed = 2 * len(self._cars) + 2 * len(self._entries)
        if len(uniforms) - u < needed:
            uniforms = self._uniforms = (
                uniforms[u:] + self._traffic_rng.random(max(4096, needed)).tolist()
            )
            u = 0
        flat: list[int] = []
        death = left_map = False
        for car in self._cars:
            state, speed, rows = car
            cell = state >> 2
            # only cars near the pedestrian can meet it: keep their path through the tick
            close = cell in near
            path = [state] if (close or record) else None
            for _ in range(speed):
                nxt = next_state[state]
                if nxt < 0:
                    if nxt == _CHOOSE:
                        straight, turns = choices[state]
                        draw = uniforms[u]
                        u += 1
                        if straight is None:
                            nxt = turns[int(draw * len(turns))]
                        elif draw >= p_turn:
                            nxt = straight
                        else:
                            nxt = turns[int(draw / p_turn * len(turns))]
                    if nxt < 0:  # it leaves the map
                        occupied[cell] = 0
                        if path is not None:
                            path.append(nxt)
                        state = -1
                        left_map = True
                        break
                ahead = nxt >> 2
                if occupied[ahead]:
                    break
                occupied[cell] = 0
                occupied[ahead] = 1
                state, cell = nxt, ahead
                if path is not None:
                    path.append(state)
            car[0] = state
            if path is not None:
                if record:
                    self.car_paths.append((speed, self._path_cells(path)))
                # grid paths cross only at cell centres, and the pedestrian is at one after
                # t = 0 only if it is p1: a car that never drives onto p1 cannot meet it
                if close and not death and any((s >> 2) == p1 for s in path):
                    death = _meets(self._path_cells(path), speed, self._rc[p0], self._rc[p1])
            if state >= 0:
                base = window.get(cell)
                if base is not None:
                    flat.extend(rows[state])
                    obs[base + 6 + (state & 3)] = 1.0
                    obs[base + 10] = speed / MAX_CAR_SPEED
        if left_map:
            self._cars = [car for car in self._cars if car[0] >= 0]

        if tick >= self._next_any_entry:
            next_entry = self._next_entry
            for e, state in enumerate(self._entries):
                if next_entry[e] > tick:
                    continue
                next_entry[e] = tick + self._entry_gap(uniforms[u])
                cell = state >> 2
                if occupied[cell]:
                    u += 1
                    continue  # the entry is blocked: this car never comes
                speed = self._new_speed(uniforms[u + 1])
                u += 2
                rows = self._car_rows[speed]
                self._cars.append([state, speed, rows])
                occupied[cell] = 1
                if record:
                    self.car_paths.append((1, [self._entry_back[e], self._rc[cell]]))
                if cell == p1:
                    death = True  # it drives in onto the pedestrian at the end of the tick
                base = window.get(cell)
                if base is not None:
                    flat.extend(rows[state])
                    obs[base + 6 + (state & 3)] = 1.0
                    obs[base + 10] = speed / MAX_CAR_SPEED
            self._next_any_entry = min(next_entry)
        self._u = u
        self._seen_flat = flat
        return death

    def _path_cells(self, path: list[int]) -> list[tuple[int, int]]:
        """Car states (and exit codes, off the map) as (row, col) cells."""
        cells = []
        for state in path:
            if state >= 0:
                cells.append(self._rc[state >> 2])
            else:
                dr, dc = HEADING_STEPS[_EXIT - state]
                cells.append((cells[-1][0] + dr, cells[-1][1] + dc))
        return cells

    def _draw_start_goal(self, start: int | None, goal: int | None) -> tuple[int, int]:
        """The start and goal cells: the ones given, the others drawn (see Starting State)."""
        if start is None and goal is None:
            i = int(self._starts[self.np_random.integers(len(self._starts))])
            start = int(self._sidewalks[i])
            candidates = self._goal_candidates(start)
            goal = int(candidates[self.np_random.integers(len(candidates))])
        elif start is None or goal is None:
            fixed = start if start is not None else goal
            pool = self._sidewalks_in_area_of(fixed)
            distance = self._distances_from(fixed, pool)
            candidates = pool[distance >= self.min_start_goal_distance]
            if len(candidates) == 0:
                candidates = pool[distance > 0]
            other = int(candidates[self.np_random.integers(len(candidates))])
            start, goal = (fixed, other) if start is not None else (other, fixed)
        return start, goal

    def _goal_candidates(self, start: int) -> np.ndarray:
        """The sidewalks at least ``min_start_goal_distance`` from ``start``, row-major (cached)."""
        candidates = self._goal_candidate_cache.get(start)
        if candidates is None:
            far = self._distances_from(start, self._sidewalks) >= self.min_start_goal_distance
            candidates = self._sidewalks[far]
            self._goal_candidate_cells += len(candidates)
            while self._goal_candidate_cells > GOAL_CANDIDATE_CELLS and self._goal_candidate_cache:
                oldest = next(iter(self._goal_candidate_cache))
                self._goal_candidate_cells -= len(self._goal_candidate_cache.pop(oldest))
            self._goal_candidate_cache[start] = candidates
        return candidates

    def _distances_from(self, cell: int, cells: np.ndarray) -> np.ndarray:
        """Manhattan distances from ``cell`` to each of ``cells`` (flat indices)."""
        row, col = self._rc[cell]
        return np.abs(cells // self._cols - row) + np.abs(cells % self._cols - col)

    def _sidewalks_in_area_of(self, cell: int) -> np.ndarray:
        """The sidewalk cells a walk from ``cell`` can reach, row-major."""
        area = self._area[cell]
        if area == self._main_area:
            return self._sidewalks
        return np.flatnonzero((self._area == area) & self._is_sidewalk)

    # -- checking what the env is given ------------------------------------------------

    def _checked_action(self, action: Any) -> int:
        """``action`` as an int 0-4, or a ValueError saying what is wrong with it."""
        if self._pos < 0:
            raise RuntimeError("step() before reset(): call reset() first")
        value = action
        if (
            isinstance(value, np.ndarray)
            and value.shape in ((), (1,))
            and np.issubdtype(value.dtype, np.integer)
        ):
            value = value.reshape(()).item()
        if _is_integer(value) and 0 <= value < len(ACTION_STEPS):
            return int(value)
        meanings = ", ".join(f"{i} {name}" for i, name in enumerate(ACTION_NAMES))
        if not _is_integer(value):
            raise ValueError(
                f"action {action!r} of type {type(action).__name__}: expected an integer 0-4 ({meanings})"
            )
        raise ValueError(f"action {value}: expected 0-4 ({meanings})")

    def _checked_options(self, options: Any) -> tuple[int | None, int | None]:
        """The ``start`` and ``goal`` reset options as flat cells (None: draw it)."""
        if options is None:
            return None, None
        if not isinstance(options, Mapping):
            raise ValueError(
                f"reset options {options!r}: expected None or a dict with keys {', '.join(RESET_OPTIONS)}"
            )
        unknown = [key for key in options if key not in RESET_OPTIONS]
        if unknown:
            raise ValueError(
                f"unknown reset option{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}: "
                f"expected {' and/or '.join(RESET_OPTIONS)}"
            )
        start_option, goal_option = options.get("start"), options.get("goal")
        start = (
            None
            if start_option is None
            else self._checked_cell(start_option, "start", sidewalk_only=True)
        )
        goal = (
            None
            if goal_option is None
            else self._checked_cell(goal_option, "goal", sidewalk_only=False)
        )
        name = self.city_map.name
        if start is not None and goal is not None:
            if start == goal:
                raise ValueError(
                    f"start and goal {self._rc[start]} on map {name!r}: expected a goal other than the start"
                )
            if self._area[start] != self._area[goal]:
                raise ValueError(
                    f"goal {self._rc[goal]} on map {name!r} cannot be reached from start {self._rc[start]}: "
                    "expected a goal in the start's walkable area"
                )
        elif start is not None or goal is not None:
            fixed, what = (start, "start") if start is not None else (goal, "goal")
            if not (self._sidewalks_in_area_of(fixed) != fixed).any():
                raise ValueError(
                    f"{what} {self._rc[fixed]} on map {name!r}: no other sidewalk cell can be reached from it "
                    f"to draw the {'goal' if what == 'start' else 'start'} on; expected a cell in a walkable area "
                    "with other sidewalk cells"
                )
        return start, goal

    def _checked_cell(self, cell: Any, what: str, sidewalk_only: bool) -> int:
        """A reset option's (row, col) as a flat cell index, or a ValueError."""
        values = cell.tolist() if isinstance(cell, np.ndarray) else cell
        if not (
            isinstance(values, (tuple, list)) and len(values) == 2 and all(map(_is_integer, values))
        ):
            raise ValueError(f"{what} {cell!r}: expected a cell (row, col) of two integers")
        r, c = int(values[0]), int(values[1])
        city = self.city_map
        if (
            not city.in_bounds((r, c))
            or not city.walkable[r, c]
            or (sidewalk_only and not city.sidewalk[r, c])
        ):
            kind = "a sidewalk" if sidewalk_only else "a walkable"
            raise ValueError(
                f"{what} {(r, c)} on map {city.name!r} ({city.n_rows} x {city.n_cols}): "
                f"expected {kind} cell inside the map"
            )
        return r * self._cols + c

    # -- small helpers -------------------------------------------------------------------

    def _walk_distances(self, goal: int) -> list[int]:
        """Shortest walk to ``goal`` from every cell in cells, cars ignored (cached per goal)."""
        if goal not in self._walk_distance_cache:
            if len(self._walk_distance_cache) >= self._walk_distances_kept:
                del self._walk_distance_cache[next(iter(self._walk_distance_cache))]  # the oldest
            unreachable = self._rows * self._cols
            distance = [unreachable] * unreachable
            distance[goal] = 0
            frontier = [goal]
            while frontier:
                following = []
                for cell in frontier:
                    for nxt in self._ped_next[cell][1:]:
                        if distance[nxt] == unreachable:
                            distance[nxt] = distance[cell] + 1
                            following.append(nxt)
                frontier = following
            self._walk_distance_cache[goal] = distance
        return self._walk_distance_cache[goal]

    def _write_goal(self, obs: np.ndarray, i: int) -> None:
        (row, col), (goal_row, goal_col) = self._rc[i], self._rc[self._goal]
        dx = (goal_col - col) / GOAL_SCALE_CELLS
        dy = (goal_row - row) / GOAL_SCALE_CELLS
        obs[-3] = -1.0 if dx < -1.0 else (1.0 if dx > 1.0 else dx)
        obs[-2] = -1.0 if dy < -1.0 else (1.0 if dy > 1.0 else dy)
        distance = abs(dx) + abs(dy)
        obs[-1] = 1.0 if distance > 1.0 else distance

    def _info(self, success: bool, death: bool) -> dict[str, Any]:
        return {
            "position": self._rc[self._pos],
            "goal": self._rc[self._goal],
            "city_map": self.city_map,
            "cars": np.array(self._seen_flat, dtype=np.int64).reshape(-1, 4),
            "tick": self._tick,
            "is_success": success,
            "death": death,
        }


def _meets(
    path: list[tuple[int, int]], speed: int, p0: tuple[int, int], p1: tuple[int, int]
) -> bool:
    """Whether a car and the pedestrian are ever at one point during a tick.

    The car drives along ``path`` (cell centres, reached at times 0, 1/speed, 2/speed,
    ... and stays at the last); the pedestrian walks straight from ``p0`` to ``p1`` over
    the tick. Meetings happen at multiples of 1/12 of a tick (positions at the pieces'
    starts are half-cells, relative speeds at most 3), so checking those instants,
    in integer twelfths of a cell, is exact.
    """
    last = len(path) - 1
    pr, pc = 12 * p0[0], 12 * p0[1]
    dr, dc = p1[0] - p0[0], p1[1] - p0[1]
    for t in range(13):
        travelled = speed * t
        segment = travelled // 12
        if segment >= last:
            cr, cc = 12 * path[last][0], 12 * path[last][1]
        else:
            frac = travelled - 12 * segment
            (ar, ac), (br, bc) = path[segment], path[segment + 1]
            cr, cc = 12 * ar + (br - ar) * frac, 12 * ac + (bc - ac) * frac
        if cr == pr + dr * t and cc == pc + dc * t:
            return True
    return False


def _true_traffic(published: Traffic, override: Traffic | dict[str, Any] | None) -> Traffic:
    """The traffic the env runs: the map's published one, with ``override``'s fields."""
    if override is None or isinstance(override, Traffic):
        return override or published
    names = [f.name for f in dataclasses.fields(Traffic)]
    if not isinstance(override, Mapping):
        raise ValueError(
            f"traffic {override!r}: expected None, a Traffic or a dict of some of {', '.join(names)}"
        )
    unknown = [key for key in override if key not in names]
    if unknown:
        raise ValueError(
            f"traffic: unknown field {', '.join(map(repr, unknown))}; expected some of {', '.join(names)}"
        )
    fields = dict(override)
    if "speeds" in fields and "speed_weights" not in fields:
        try:
            fields["speed_weights"] = (1.0,) * len(fields["speeds"])
        except TypeError:
            pass  # Traffic says what is wrong with these speeds
    try:
        return dataclasses.replace(published, **fields)
    except (TypeError, ValueError) as error:
        raise ValueError(f"traffic {dict(override)!r}: {error}") from None


def _sight_radius(sight: Any, city: CityMap) -> int:
    """The sight radius in cells: ``sight``, else the map's, else :data:`DEFAULT_SIGHT`;
    ``"full"`` is a window that covers the map from any cell of it."""
    try:
        value = checked_sight(sight, allow_none=True)
    except ValueError:
        raise ValueError(
            f"sight = {sight!r}: expected an integer >= 0 (cells), {FULL_SIGHT!r} or None"
        ) from None
    if value is None:
        value = city.sight if city.sight is not None else DEFAULT_SIGHT
    return max(city.shape) - 1 if value == FULL_SIGHT else int(value)


def _is_integer(value: Any) -> bool:
    """An int or numpy integer, not a bool (True is no action)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _integer(name: str, value: Any, least: int, default: int | None = None) -> int:
    """A constructor argument that must be an integer >= ``least`` (None: ``default``, if any)."""
    if value is None and default is not None:
        return default
    if not _is_integer(value) or value < least:
        raise ValueError(f"{name} = {value!r}: expected an integer >= {least}")
    return int(value)


def _real(name: str, value: Any) -> float:
    """A constructor argument that must be a finite number."""
    number = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )
    if not number or not math.isfinite(value):
        raise ValueError(f"{name} = {value!r}: expected a finite number")
    return float(value)
