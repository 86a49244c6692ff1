"""CityNav-v1: a pedestrian crosses a grid city whose cars do not stop for it."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from envs.city.citymap import CityMap
from envs.city.mapformat import FULL_SIGHT, Traffic, checked_sight
from envs.city.maploader import load_map
from envs.city.observation import (
    CELL_CHANNELS,
    GOAL_VALUES,
    ObservationTables,
    write_goal,
)
from envs.city.traffic import TrafficSimulation
from envs.city.walking import ACTION_STEPS, WalkTables

ACTION_NAMES = ("stay", "north", "east", "south", "west")  #: by action, see ACTION_STEPS
RESET_OPTIONS = ("start", "goal")  #: the keys ``reset(options=...)`` understands
#: sight (cells) if neither env nor map gives one: the planner's least for full success
DEFAULT_SIGHT = 5
#: action types step() takes without a closer look: Python's int and SB3's numpy int64
_PLAIN_ACTION_TYPES = (int, np.int64)


class CityNavEnv(gym.Env):
    """
    ## Description

    A pedestrian walks across a grid city to a goal. The city (a text map; legend and
    traffic rules in ``envs/city/citymap.py``) has buildings, sidewalks, one-way lanes,
    intersections and zebra crossings; cars drive in at the edge at 1 or 2 cells per tick,
    turn at intersections, queue, leave, and never stop for the pedestrian. Within a tick
    everyone moves at once, cell centre to cell centre; the pedestrian dies if it meets a
    car at any moment of the tick. Full specification and measurements: docs/envs/city.md

    ## Action Space

    `Discrete(5)`: 0 stay, 1 north (row - 1), 2 east (column + 1), 3 south (row + 1),
    4 west (column - 1); into a building or off the map is a stay. An int or numpy
    integer (0-d or shape-(1,) array too); anything else raises ValueError.

    ## Observation Space

    `Box(float32)` of `(2s+1)**2 * 11 + 3` values, s the sight (1,334 at s = 5): a window
    of (2s+1) x (2s+1) cells round the pedestrian, north up, row-major, 11 channels a cell,
    then the goal (D = 32 cells; values clipped; cars where they stand at the tick's end):

    | index            | channel         | meaning, unit                                | range   |
    |------------------|-----------------|----------------------------------------------|---------|
    | `11*cell + 0`    | blocked         | 1: building or off the map                   | {0, 1}  |
    | `11*cell + 1..4` | lane N, E, S, W | one-hot direction of a lane or crossing      | {0, 1}  |
    | `11*cell + 5`    | intersection    | 1: intersection                              | {0, 1}  |
    | `11*cell + 6..9` | car N, E, S, W  | one-hot heading of the car on the cell       | {0, 1}  |
    | `11*cell + 10`   | car speed       | cells per tick / 2                           | [0, 1]  |
    | `-3`, `-2`       | goal dx, dy     | (goal - position) / D, cells; east, south +  | [-1, 1] |
    | `-1`             | goal distance   | Manhattan distance / D, cells                | [0, 1]  |

    The sight bounds the car channels and `info["cars"]` alike; the map
    (`info["city_map"]`) is public.

    ## Rewards

    The sum of `info["reward_components"]`: `goal` +1 at the goal, `death` -1 when hit,
    `step` -0.001 a step, and `progress` 0.1 x the walking distance to the goal gained
    (around buildings, cars ignored); with `shaping_gamma` set, potential-based shaping
    for a learner with that discount.

    ## Starting State

    A seeded (or first) reset starts a fresh city: no cars, then `warmup_ticks` ticks; an
    unseeded one keeps the traffic running. Start and goal are drawn on sidewalks of the
    largest walkable area, `min_start_goal_distance` apart; `options={"start": (r, c),
    "goal": (r, c)}` fixes either.

    ## Episode End

    - Termination: the goal is reached (`info["is_success"]`, outcome `"success"`).
    - Termination: a car meets the pedestrian (`info["death"]`, outcome `"death"`).
    - Truncation: `max_steps` ticks pass (outcome `"time_limit"`).

    `info` holds `position`, `goal`, `city_map`, `cars` in sight (row, col, heading, speed),
    `tick`, `is_success` and `death`; steps add `reward_components`, the last `outcome`.

    ## Arguments

    `map` (a CityMap, `"train"`, `"new"`, `"random:SEED[:ROWSxCOLS]"` or a file), `render_mode`
    (None or `"rgb_array"`), `sight` (cells, `"full"` or None: the map's, else
    `DEFAULT_SIGHT` = 5), `max_steps` (4 x (rows + cols)), `min_start_goal_distance`
    (max(rows, cols) // 2), `traffic` (the hidden true traffic; default: the published),
    `warmup_ticks` (rows + cols), `reward_goal`, `reward_death`, `reward_step`,
    `progress_per_cell`, `shaping_gamma`. Bad values raise ValueError; a bad map,
    :class:`MapError` naming file, line and column.

    ## Version History

    - v1: `sight` (formerly `window_radius`, 3) bounds `info["cars"]` too, default 5;
      `shaping_gamma`; inputs are validated.
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
        low = np.zeros(n_window + GOAL_VALUES, dtype=np.float32)
        low[-3:-1] = -1.0
        self.observation_space = spaces.Box(low, np.ones_like(low), dtype=np.float32)
        self.action_space = spaces.Discrete(5)

        rc = np.divmod(np.arange(rows * cols), cols)
        #: (row, col) of each cell, by flat index
        self._rc: list[tuple[int, int]] = list(zip(rc[0].tolist(), rc[1].tolist(), strict=True))
        self._rows, self._cols = rows, cols
        self._walks = WalkTables(self.city_map, self.min_start_goal_distance)
        self._ped_next = self._walks.ped_next
        self._views = ObservationTables(self.city_map, self.sight, n_window + GOAL_VALUES)
        # the per-cell lists, filled in place as the pedestrian goes
        self._static_obs, self._window, self._near = (
            self._views.static_obs,
            self._views.window,
            self._views.near,
        )
        self._simulation = TrafficSimulation(self.city_map, self.traffic, self._rc)
        self._background: np.ndarray | None = None
        # episode state, set by reset()
        self._pos = self._goal = -1
        self._tick = 0
        self._distance = 0
        self._walk_distance: list[int] = []

    @property
    def record_car_paths(self) -> bool:
        """When True, step() keeps in ``car_paths`` each car's path through the tick (for
        tests): ``(speed, [(row, col), ...])``, cells off the map included."""
        return self._simulation.record_car_paths

    @record_car_paths.setter
    def record_car_paths(self, record: bool) -> None:
        self._simulation.record_car_paths = record

    @property
    def car_paths(self) -> list[tuple[int, list[tuple[int, int]]]]:
        return self._simulation.car_paths

    # -- gymnasium API -------------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        start, goal = self._checked_options(options)  # before anything changes
        super().reset(seed=seed)
        if seed is not None or self._simulation.rng is None:
            # the traffic's own generator: the same seed gives the same traffic, whatever
            # the pedestrian does
            self._simulation.start(int(self.np_random.integers(1 << 63)), self.warmup_ticks)
        start, goal = self._walks.draw_start_goal(self.np_random, start, goal)
        self._pos, self._goal, self._tick = start, goal, 0
        self._walk_distance = self._walks.walk_distances(goal)
        self._distance = self._walk_distance[start]
        self._views.drop_past_budget()
        static = self._static_obs[start]
        obs = (static if static is not None else self._views.build(start)).copy()
        self._simulation.show(self._window[start], obs)
        write_goal(obs, self._rc[start], self._rc[goal])
        return obs, self._info(False, False)

    def step(self, action):
        p0 = self._pos
        if action.__class__ not in _PLAIN_ACTION_TYPES or not 0 <= action <= 4 or p0 < 0:
            action = self._checked_action(action)
        p1 = self._ped_next[p0][action]
        self._pos = p1
        self._tick += 1
        static = self._static_obs[p1]
        if static is None:
            static = self._views.build(p1)
        obs = static.copy()
        death = self._simulation.advance(p0, p1, self._near[p0], self._window[p1], obs)
        write_goal(obs, self._rc[p1], self._rc[self._goal])

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
        return self._simulation.all_car_rows()

    def _sight_box(self) -> tuple[int, int, int, int] | None:
        """The cells in sight, (first row, first col, last row, last col); None: the whole map."""
        (r, c), k = self._rc[self._pos], self.sight
        box = (max(0, r - k), max(0, c - k), min(self._rows - 1, r + k), min(self._cols - 1, c + k))
        return None if box == (0, 0, self._rows - 1, self._cols - 1) else box

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
                f"action {action!r} of type {type(action).__name__}: "
                f"expected an integer 0-4 ({meanings})"
            )
        raise ValueError(f"action {value}: expected 0-4 ({meanings})")

    def _checked_options(self, options: Any) -> tuple[int | None, int | None]:
        """The ``start`` and ``goal`` reset options as flat cells (None: draw it)."""
        if options is None:
            return None, None
        if not isinstance(options, Mapping):
            raise ValueError(
                f"reset options {options!r}: "
                f"expected None or a dict with keys {', '.join(RESET_OPTIONS)}"
            )
        unknown = [key for key in options if key not in RESET_OPTIONS]
        if unknown:
            raise ValueError(
                f"unknown reset option{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(map(repr, unknown))}: "
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
                    f"start and goal {self._rc[start]} on map {name!r}: "
                    "expected a goal other than the start"
                )
            if self._walks.area[start] != self._walks.area[goal]:
                raise ValueError(
                    f"goal {self._rc[goal]} on map {name!r} cannot be reached "
                    f"from start {self._rc[start]}: "
                    "expected a goal in the start's walkable area"
                )
        elif start is not None or goal is not None:
            fixed, what = (start, "start") if start is not None else (goal, "goal")
            if not (self._walks.sidewalks_in_area_of(fixed) != fixed).any():
                raise ValueError(
                    f"{what} {self._rc[fixed]} on map {name!r}: "
                    "no other sidewalk cell can be reached from it "
                    f"to draw the {'goal' if what == 'start' else 'start'} on; "
                    "expected a cell in a walkable area with other sidewalk cells"
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

    def _info(self, success: bool, death: bool) -> dict[str, Any]:
        return {
            "position": self._rc[self._pos],
            "goal": self._rc[self._goal],
            "city_map": self.city_map,
            "cars": np.array(self._simulation.seen_flat, dtype=np.int64).reshape(-1, 4),
            "tick": self._tick,
            "is_success": success,
            "death": death,
        }


def _true_traffic(published: Traffic, override: Traffic | dict[str, Any] | None) -> Traffic:
    """The traffic the env runs: the map's published one, with ``override``'s fields."""
    if override is None or isinstance(override, Traffic):
        return override or published
    names = [f.name for f in dataclasses.fields(Traffic)]
    if not isinstance(override, Mapping):
        raise ValueError(
            f"traffic {override!r}: "
            f"expected None, a Traffic or a dict of some of {', '.join(names)}"
        )
    unknown = [key for key in override if key not in names]
    if unknown:
        raise ValueError(
            f"traffic: unknown field {', '.join(map(repr, unknown))}; "
            f"expected some of {', '.join(names)}"
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
