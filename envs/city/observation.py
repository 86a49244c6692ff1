"""What the pedestrian sees: the layout of CityNav-v1's observation, and the per-cell
tables it is cut from (the static window round each cell, where each cell of the map
falls in that window, and the cells from which a car can reach the pedestrian within a
tick). The tables of a cell are built when the pedestrian first stands on it.

The layout is published (the env's docstring, Observation Space): agents import these
constants rather than copy them.
"""

from __future__ import annotations

import numpy as np

from envs.city.citymap import CityMap
from envs.city.mapformat import MAX_CAR_SPEED

CELL_CHANNELS = 11  #: values per window cell, see the observation table
GOAL_VALUES = 3  #: values after the window: goal dx, goal dy, goal distance
GOAL_SCALE_CELLS = 32.0  #: D, the fixed normaliser of the goal offset (cells); one for all maps
#: window cells of per-cell tables kept before a reset drops them (docs/envs/city.md)
CELL_TABLE_WINDOW_CELLS = 1 << 18


class ObservationTables:
    """Per-cell tables of one map seen with sight ``sight``, built on first use.

    ``static_obs[cell]``: the observation on ``cell`` with the car and goal channels 0;
    ``window[cell]``: {cell in its window: index of that cell's channel 0 in the
    observation}; ``near[cell]``: the cells within Manhattan distance ``MAX_CAR_SPEED +
    1``, as a car starting farther away cannot meet a pedestrian starting there within one
    tick. Each is None until :meth:`build` has run for the cell.
    """

    def __init__(self, city: CityMap, sight: int, observation_size: int):
        rows, cols = city.shape
        self._rows, self._cols, self._sight = rows, cols, sight
        self._observation_size = observation_size
        # the static observation of the whole map, padded by `sight` cells of "blocked"
        k = sight
        static = np.zeros((rows + 2 * k, cols + 2 * k, CELL_CHANNELS), dtype=np.float32)
        static[:, :, 0] = 1.0
        inner = static[k : k + rows, k : k + cols]
        inner[:, :, 0] = city.blocked
        for h in range(4):
            inner[:, :, 1 + h] = city.lane_heading == h
        inner[:, :, 5] = city.intersection
        self._static_map = static
        n = rows * cols
        self.static_obs: list[np.ndarray | None] = [None] * n
        self.window: list[dict[int, int] | None] = [None] * n
        self.near: list[frozenset[int] | None] = [None] * n
        self._cells_built: list[int] = []
        self._cells_kept = max(64, CELL_TABLE_WINDOW_CELLS // (2 * k + 1) ** 2)

    def build(self, cell: int) -> np.ndarray:
        """Build the tables of ``cell``; returns its static observation."""
        rows, cols, k = self._rows, self._cols, self._sight
        side = 2 * k + 1
        r, c = divmod(cell, cols)
        obs = np.zeros(self._observation_size, dtype=np.float32)
        obs[: side * side * CELL_CHANNELS] = self._static_map[r : r + side, c : c + side].reshape(
            -1
        )
        self.static_obs[cell] = obs
        self.window[cell] = {
            (r + wr - k) * cols + (c + wc - k): (wr * side + wc) * CELL_CHANNELS
            for wr in range(side)
            for wc in range(side)
            if 0 <= r + wr - k < rows and 0 <= c + wc - k < cols
        }
        reach = MAX_CAR_SPEED + 1
        self.near[cell] = frozenset(
            nr * cols + nc
            for nr in range(max(0, r - reach), min(rows, r + reach + 1))
            for nc in range(max(0, c - reach), min(cols, c + reach + 1))
            if abs(nr - r) + abs(nc - c) <= reach
        )
        self._cells_built.append(cell)
        return obs

    def drop_past_budget(self) -> None:
        """Forget every cell's tables once they cover more than CELL_TABLE_WINDOW_CELLS."""
        if len(self._cells_built) > self._cells_kept:
            for cell in self._cells_built:
                self.static_obs[cell] = self.window[cell] = self.near[cell] = None
            self._cells_built = []


def write_goal(obs: np.ndarray, position: tuple[int, int], goal: tuple[int, int]) -> None:
    """The goal's three values at the end of ``obs``, clipped (see the observation table)."""
    (row, col), (goal_row, goal_col) = position, goal
    dx = (goal_col - col) / GOAL_SCALE_CELLS
    dy = (goal_row - row) / GOAL_SCALE_CELLS
    obs[-3] = -1.0 if dx < -1.0 else (1.0 if dx > 1.0 else dx)
    obs[-2] = -1.0 if dy < -1.0 else (1.0 if dy > 1.0 else dy)
    distance = abs(dx) + abs(dy)
    obs[-1] = 1.0 if distance > 1.0 else distance
