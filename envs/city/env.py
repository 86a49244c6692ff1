"""CityNav-v0: a pedestrian crosses a grid city whose cars do not stop for it."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from envs.city.citymap import HEADING_STEPS, MAX_CAR_SPEED, CityMap, Traffic, load_map

#: action -> (row step, column step): 0 stay, 1 north, 2 east, 3 south, 4 west
ACTION_STEPS = ((0, 0), (-1, 0), (0, 1), (1, 0), (0, -1))
GOAL_SCALE_CELLS = 32.0  #: D, the fixed normaliser of the goal offset (cells); the same on every map
CELL_CHANNELS = 11  #: values per window cell, see the observation table
#: codes in the car move table: draw among several moves; leave the map heading h (_EXIT - h)
_CHOOSE, _EXIT = -1, -2
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

    ## Observation Space

    A flat `Box(float32)` of `(2k+1)**2 * 11 + 3` values (542 for the default k = 3),
    identical in layout on every map. First an egocentric window of (2k+1) x (2k+1)
    cells centred on the pedestrian, not rotated (window row 0 is the northmost), cell
    by cell in row-major order and 11 channels per cell; then the goal:

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

    `cell = row_in_window * (2k+1) + col_in_window`; a sidewalk is a cell with all
    static channels 0. D = 32 cells on every map; the goal values are clipped. The car
    channels show the cars where they stand at the end of the tick.

    ## Rewards

    The reward is the sum of the components reported in `info["reward_components"]`:

    - `goal`: `reward_goal` (+1) on the step the goal is reached, else 0;
    - `death`: `reward_death` (-1) on the step the pedestrian is hit, else 0;
    - `step`: `reward_step` (-0.001) on every step (small: a walk that times out must
      cost less than a death);
    - `progress`: `progress_per_cell` (0.1) x (walking distance to the goal before the
      step - after it), the walking distance being the shortest walk in cells around
      buildings, cars ignored: potential-based shaping with potential
      `-0.1 x walking distance`, so it leads around blocks, not into their walls.

    So a death step pays exactly `-1 - 0.001 + 0.1 x (walking cells gained)`: -1.001
    when hit while standing, -0.901 / -1.101 when hit on a step towards / away from the
    goal.

    ## Starting State

    A reset with a seed (and the first reset) starts a fresh city: no cars, then
    `warmup_ticks` ticks of traffic (default rows + cols) without the pedestrian. A
    reset without a seed keeps the traffic running where it was: the next walk starts
    in the same, living city. Traffic draws its random numbers from its own generator
    seeded from `self.np_random`, so the same seed gives the same traffic whatever the
    pedestrian does or where it starts. The start and goal are drawn uniformly on
    sidewalk cells of one walkable area, at least `min_start_goal_distance` apart
    (Manhattan); `reset(options={"start": (r, c), "goal": (r, c)})` fixes either or
    both (the start must be a sidewalk, the goal walkable).

    ## Episode End

    - Termination: the pedestrian reaches the goal (`info["is_success"]`,
      `info["outcome"] == "success"`).
    - Termination: the pedestrian meets a car (`info["death"]`, outcome `"death"`).
    - Truncation: `max_steps` ticks pass (default 4 x (rows + cols), 160 on "train";
      outcome `"time_limit"`).

    `info` of every reset and step holds `position` (row, col), `goal` (row, col),
    `city_map` (the shared :class:`CityMap`: layout, lanes, turn rules, entries and the
    *published* traffic), `cars` (int64 array (n, 4): row, col, heading 0 N / 1 E / 2 S /
    3 W, speed in cells per tick; oldest car first, which is the order they move in),
    `tick` (ticks since reset), `is_success` and `death` (bools); step infos add
    `reward_components`, and the last step `outcome`.

    ## Arguments

    - `map`: a :class:`CityMap`, a built-in name (`"train"`, `"new"`), `"random:SEED"`
      or the path of a map file.
    - `render_mode`: None or `"rgb_array"`.
    - `window_radius`: k, the window is (2k+1) x (2k+1) cells.
    - `max_steps`: time limit in ticks (default 4 x (rows + cols)).
    - `min_start_goal_distance`: least Manhattan distance of start and goal (default
      max(rows, cols) // 2).
    - `traffic`: the true traffic, a :class:`Traffic` or a dict of the fields that differ
      from the map's published traffic (the default). Then the published numbers in
      `info["city_map"]` are nominal, and the truth is hidden from planners.
    - `warmup_ticks`: traffic ticks before the pedestrian appears (default rows + cols).
    - `reward_goal`, `reward_death`, `reward_step`, `progress_per_cell`: the rewards.

    ## Version History

    - v0: first version.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 8}

    def __init__(
        self,
        map: str | CityMap = "train",
        render_mode: str | None = None,
        window_radius: int = 3,
        max_steps: int | None = None,
        min_start_goal_distance: int | None = None,
        traffic: Traffic | dict[str, Any] | None = None,
        warmup_ticks: int | None = None,
        reward_goal: float = 1.0,
        reward_death: float = -1.0,
        reward_step: float = -0.001,
        progress_per_cell: float = 0.1,
    ):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode {render_mode!r}: expected None or 'rgb_array'")
        self.city_map = load_map(map)
        self.traffic = _true_traffic(self.city_map.traffic, traffic)
        self.render_mode = render_mode
        self.window_radius = int(window_radius)
        rows, cols = self.city_map.shape
        self.max_steps = int(max_steps) if max_steps is not None else 4 * (rows + cols)
        self.min_start_goal_distance = (
            int(min_start_goal_distance) if min_start_goal_distance is not None else max(rows, cols) // 2
        )
        self.warmup_ticks = int(warmup_ticks) if warmup_ticks is not None else rows + cols
        self.reward_goal, self.reward_death = float(reward_goal), float(reward_death)
        self.reward_step, self.progress_per_cell = float(reward_step), float(progress_per_cell)

        side = 2 * self.window_radius + 1
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
        #: per car, oldest first: [state = cell * 4 + heading, speed, self._car_rows[speed]]
        self._cars: list[list[Any]] = []
        self._car_flat: list[int] = []  # the cars as info["cars"] rows, flattened
        self._traffic_rng: np.random.Generator | None = None
        #: when True, step() keeps in ``car_paths`` each car's path through the tick
        #: (for tests): ``(speed, [(row, col), ...])``, cells off the map included
        self.record_car_paths = False
        self.car_paths: list[tuple[int, list[tuple[int, int]]]] = []

    # -- tables built once per map -----------------------------------------------------

    def _build_tables(self) -> None:
        city = self.city_map
        rows, cols = city.shape
        n = rows * cols
        self._rows, self._cols = rows, cols
        self._rc = [divmod(i, cols) for i in range(n)]
        walkable = city.walkable.reshape(-1)

        # where each action takes the pedestrian from each cell
        self._ped_next: list[tuple[int, ...]] = []
        for i in range(n):
            r, c = divmod(i, cols)
            targets = []
            for dr, dc in ACTION_STEPS:
                nr, nc = r + dr, c + dc
                ok = 0 <= nr < rows and 0 <= nc < cols and walkable[nr * cols + nc]
                targets.append(nr * cols + nc if ok else i)
            self._ped_next.append(tuple(targets))

        # static observation of every walkable cell, car and goal channels left 0
        k = self.window_radius
        side = 2 * k + 1
        static = np.zeros((rows + 2 * k, cols + 2 * k, CELL_CHANNELS), dtype=np.float32)
        static[:, :, 0] = 1.0
        inner = static[k : k + rows, k : k + cols]
        inner[:, :, 0] = city.blocked
        for h in range(4):
            inner[:, :, 1 + h] = city.lane_heading == h
        inner[:, :, 5] = city.intersection
        size = self.observation_space.shape[0]
        self._static_obs: list[np.ndarray | None] = [None] * n
        #: per walkable cell: {cell in its window: index of that cell's channel 0 in the observation}
        self._window: list[dict[int, int]] = [{} for _ in range(n)]
        #: per walkable cell: cells within Manhattan distance 3; a car starting farther
        #: away cannot meet a pedestrian starting there within one tick
        self._near: list[frozenset[int]] = [frozenset()] * n
        reach = MAX_CAR_SPEED + 1
        for i in np.flatnonzero(walkable):
            r, c = divmod(int(i), cols)
            obs = np.zeros(size, dtype=np.float32)
            obs[: side * side * CELL_CHANNELS] = static[r : r + side, c : c + side].reshape(-1)
            self._static_obs[i] = obs
            self._window[i] = {
                (r + wr - k) * cols + (c + wc - k): (wr * side + wc) * CELL_CHANNELS
                for wr in range(side)
                for wc in range(side)
                if 0 <= r + wr - k < rows and 0 <= c + wc - k < cols
            }
            self._near[i] = frozenset(
                nr * cols + nc
                for nr in range(max(0, r - reach), min(rows, r + reach + 1))
                for nc in range(max(0, c - reach), min(cols, c + reach + 1))
                if abs(nr - r) + abs(nc - c) <= reach
            )

        # a car is a state, cell * 4 + heading; its next state, an exit code or _CHOOSE
        def code(nxt: tuple[int, int] | None, heading: int) -> int:
            return _EXIT - heading if nxt is None else (nxt[0] * cols + nxt[1]) * 4 + heading

        self._next_state = [_EXIT] * (4 * n)
        self._choices: dict[int, tuple[int | None, tuple[int, ...]]] = {}
        for r, c in zip(*np.nonzero(city.road)):
            for h in range(4):
                state = (r * cols + c) * 4 + h
                moves = city.car_moves((int(r), int(c)), h)
                if len(moves) == 1:
                    self._next_state[state] = code(moves[0][0], moves[0][1])
                elif moves:
                    straight = next((code(nxt, nh) for nxt, nh, turn in moves if not turn), None)
                    turns = tuple(code(nxt, nh) for nxt, nh, turn in moves if turn)
                    self._next_state[state] = _CHOOSE
                    self._choices[state] = (straight, turns)
        #: per speed v, per state s: the car's row of info["cars"], (row, col, heading, v)
        self._car_rows = [[(s // 4 // cols, s // 4 % cols, s % 4, v) for s in range(4 * n)] for v in range(MAX_CAR_SPEED + 1)]
        self._entries = [((r * cols + c) * 4 + int(city.lane_heading[r, c])) for r, c in city.entry_cells]
        self._entry_back = [
            (r - HEADING_STEPS[h][0], c - HEADING_STEPS[h][1])
            for (r, c), h in zip(city.entry_cells, (int(city.lane_heading[cell]) for cell in city.entry_cells))
        ]

        # start and goal candidates: sidewalks in the largest walkable area
        self._sidewalks = np.flatnonzero(_largest_component(city.walkable).reshape(-1) & city.sidewalk.reshape(-1))
        sr, sc = self._sidewalks // cols, self._sidewalks % cols
        far = (np.abs(sr[:, None] - sr[None, :]) + np.abs(sc[:, None] - sc[None, :])) >= self.min_start_goal_distance
        self._far_pairs = far
        self._starts = np.flatnonzero(far.any(axis=1))
        if len(self._starts) == 0:
            raise ValueError(
                f"map {city.name!r} has no two sidewalk cells {self.min_start_goal_distance} cells apart; "
                "lower min_start_goal_distance"
            )

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
        super().reset(seed=seed)
        if seed is not None or self._traffic_rng is None:
            self._start_traffic()
        start, goal = self._draw_start_goal(options or {})
        self._pos, self._goal, self._tick = start, goal, 0
        self._walk_distance = self._walk_distances(goal)
        self._distance = self._walk_distance[start]
        obs = self._static_obs[start].copy()
        window = self._window[start]
        for state, speed, _ in self._cars:
            base = window.get(state >> 2)
            if base is not None:
                obs[base + 6 + (state & 3)] = 1.0
                obs[base + 10] = speed / MAX_CAR_SPEED
        self._write_goal(obs, start)
        return obs, self._info(False, False)

    def _start_traffic(self) -> None:
        """A fresh city: no cars, a traffic generator seeded from ``np_random``, a warm-up."""
        self._traffic_rng = np.random.default_rng(int(self.np_random.integers(1 << 63)))
        self._uniforms = self._traffic_rng.random(4096).tolist()
        self._u = 0
        weights = self.traffic.speed_weights
        self._speed_total = float(sum(weights))
        self._speed_cdf = [(s, float(sum(weights[: j + 1]))) for j, s in enumerate(self.traffic.speeds)]
        self._cars = []
        self._car_flat = []
        self._occupied = bytearray(self._rows * self._cols)
        self._next_entry = [self._entry_gap(self._traffic_rng.random()) for _ in self._entries]
        self._next_any_entry = min(self._next_entry)
        self._traffic_tick = 0
        for _ in range(self.warmup_ticks):
            self._advance_traffic(-1, -1, None)

    def step(self, action):
        p0 = self._pos
        p1 = self._ped_next[p0][action]
        self._pos = p1
        self._tick += 1
        obs = self._static_obs[p1].copy()
        death = self._advance_traffic(p0, p1, obs)
        self._write_goal(obs, p1)

        success = p1 == self._goal and not death
        distance = self._walk_distance[p1]
        goal_reward = self.reward_goal if success else 0.0
        death_reward = self.reward_death if death else 0.0
        progress = self.progress_per_cell * (self._distance - distance)
        self._distance = distance
        reward = goal_reward + death_reward + self.reward_step + progress
        terminated = success or death
        truncated = not terminated and self._tick >= self.max_steps
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
        from envs.city.render import draw_background, draw_city

        if self._background is None:
            self._background = draw_background(self.city_map)
        return draw_city(self._background, self._car_array(), self._rc[self._pos], self._rc[self._goal])

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
        # enough uniforms for the tick: at most one per car move, two per new car
        uniforms, u = self._uniforms, self._u
        if len(uniforms) - u < 2 * len(self._cars) + 2 * len(self._entries):
            uniforms = self._uniforms = uniforms[u:] + self._traffic_rng.random(4096).tolist()
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
                flat.extend(rows[state])
                base = window.get(cell)
                if base is not None:
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
                flat.extend(rows[state])
                if record:
                    self.car_paths.append((1, [self._entry_back[e], self._rc[cell]]))
                if cell == p1:
                    death = True  # it drives in onto the pedestrian at the end of the tick
                base = window.get(cell)
                if base is not None:
                    obs[base + 6 + (state & 3)] = 1.0
                    obs[base + 10] = speed / MAX_CAR_SPEED
            self._next_any_entry = min(next_entry)
        self._u = u
        self._car_flat = flat
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

    def _draw_start_goal(self, options: dict[str, Any]) -> tuple[int, int]:
        cols = self._cols
        start_option, goal_option = options.get("start"), options.get("goal")
        if start_option is not None:
            start = self._checked_cell(start_option, "start", sidewalk_only=True)
        if goal_option is not None:
            goal = self._checked_cell(goal_option, "goal", sidewalk_only=False)
        if start_option is None and goal_option is None:
            i = int(self._starts[self.np_random.integers(len(self._starts))])
            candidates = np.flatnonzero(self._far_pairs[i])
            start = int(self._sidewalks[i])
            goal = int(self._sidewalks[candidates[self.np_random.integers(len(candidates))]])
        elif start_option is None or goal_option is None:
            fixed = start if start_option is not None else goal
            fr, fc = divmod(fixed, cols)
            distance = np.abs(self._sidewalks // cols - fr) + np.abs(self._sidewalks % cols - fc)
            candidates = self._sidewalks[distance >= self.min_start_goal_distance]
            if len(candidates) == 0:
                candidates = self._sidewalks[distance > 0]
            other = int(candidates[self.np_random.integers(len(candidates))])
            start, goal = (fixed, other) if start_option is not None else (other, fixed)
        return start, goal

    def _checked_cell(self, cell: Any, what: str, sidewalk_only: bool) -> int:
        r, c = int(cell[0]), int(cell[1])
        city = self.city_map
        if not city.in_bounds((r, c)) or not city.walkable[r, c] or (sidewalk_only and not city.sidewalk[r, c]):
            kind = "a sidewalk" if sidewalk_only else "a walkable"
            raise ValueError(f"{what} {(r, c)} on map {city.name!r}: expected {kind} cell inside the map")
        return r * self._cols + c

    # -- small helpers -------------------------------------------------------------------

    def _walk_distances(self, goal: int) -> list[int]:
        """Shortest walk to ``goal`` from every cell in cells, cars ignored (cached per goal)."""
        if goal not in self._walk_distance_cache:
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

    def _car_array(self) -> np.ndarray:
        if len(self._car_flat) != 4 * len(self._cars):  # after a reset: not yet drawn by a tick
            self._car_flat = [v for state, _, rows in self._cars for v in rows[state]]
        return np.array(self._car_flat, dtype=np.int64).reshape(-1, 4)

    def _info(self, success: bool, death: bool) -> dict[str, Any]:
        return {
            "position": self._rc[self._pos],
            "goal": self._rc[self._goal],
            "city_map": self.city_map,
            "cars": self._car_array(),
            "tick": self._tick,
            "is_success": success,
            "death": death,
        }


def _meets(path: list[tuple[int, int]], speed: int, p0: tuple[int, int], p1: tuple[int, int]) -> bool:
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
    fields = dict(override)
    if "speeds" in fields and "speed_weights" not in fields:
        fields["speed_weights"] = (1.0,) * len(fields["speeds"])
    return dataclasses.replace(published, **fields)


def _largest_component(walkable: np.ndarray) -> np.ndarray:
    """The largest 4-connected region of ``walkable`` cells."""
    from scipy.ndimage import label

    labels, count = label(walkable)
    if count <= 1:
        return walkable.copy()
    sizes = np.bincount(labels.reshape(-1))[1:]
    return labels == 1 + int(np.argmax(sizes))
