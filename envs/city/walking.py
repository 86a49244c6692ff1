"""Where the pedestrian can walk on a map: the cell each action leads to from each cell,
the walkable areas, where starts and goals are drawn (CityNav-v1's Starting State), and
walking distances to a goal around buildings, cars ignored. Built once per map, in time
and memory linear in its cells; the per-start and per-goal tables are kept within a
budget.

Cells are numbered ``row * cols + col``.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import label

from envs.city.citymap import CityMap
from envs.city.mapformat import MapError

#: action -> (row step, column step): 0 stay, 1 north, 2 east, 3 south, 4 west
ACTION_STEPS = ((0, 0), (-1, 0), (0, 1), (1, 0), (0, -1))
#: cells of walking-distance tables (one per goal) kept, about 8 MB (docs/envs/city.md)
WALK_DISTANCE_CELLS = 1 << 20
#: cells of goal candidates (per start) kept, 8 MB (docs/envs/city.md)
GOAL_CANDIDATE_CELLS = 1 << 20


class WalkTables:
    """The walking tables of ``city`` for starts and goals at least
    ``min_start_goal_distance`` apart (Manhattan).

    Raises :class:`MapError` if no two sidewalk cells of the walkable area with the most
    sidewalk cells are that far apart, or if every walk between two that far apart steps
    onto an entry (a car may drive in there at any tick, unseen until it is there): the
    map cannot be played, or not without luck.
    """

    def __init__(self, city: CityMap, min_start_goal_distance: int):
        rows, cols = city.shape
        self._cols = cols
        self.min_start_goal_distance = min_start_goal_distance
        n = rows * cols
        cell_rows, cell_cols = np.divmod(np.arange(n), cols)
        #: per cell, per action: the cell the pedestrian walks to
        self.ped_next: list[list[int]] = _action_targets(city, cell_rows, cell_cols).tolist()
        areas, _ = label(city.walkable)
        self.area: np.ndarray = areas.reshape(-1)  # 0 on buildings, 1, 2, ... on walkable areas
        self._is_sidewalk = city.sidewalk.reshape(-1)
        sidewalks_per_area = np.bincount(self.area[self._is_sidewalk])
        sidewalks_per_area[0] = 0
        self._main_area = int(np.argmax(sidewalks_per_area))
        self._sidewalks = np.flatnonzero((self.area == self._main_area) & self._is_sidewalk)
        farthest = _farthest_distances(self._sidewalks, cols)
        #: indices into _sidewalks of the cells with a partner far enough away
        self._starts = np.flatnonzero(farthest >= min_start_goal_distance)
        if len(self._starts) == 0:
            raise _unplayable(city, min_start_goal_distance, farthest, len(self._sidewalks))
        if _safe_span(city, self._sidewalks) < min_start_goal_distance:
            raise _unsafe(city, min_start_goal_distance)
        self._goal_candidate_cache: dict[int, np.ndarray] = {}
        self._goal_candidate_cells = 0
        self._walk_distance_cache: dict[int, list[int]] = {}
        self._walk_distances_kept = max(1, WALK_DISTANCE_CELLS // n)

    def draw_start_goal(
        self, rng: np.random.Generator, start: int | None, goal: int | None
    ) -> tuple[int, int]:
        """The start and goal cells: the ones given, the others drawn with ``rng``."""
        if start is None and goal is None:
            i = int(self._starts[rng.integers(len(self._starts))])
            start = int(self._sidewalks[i])
            candidates = self._goal_candidates(start)
            goal = int(candidates[rng.integers(len(candidates))])
        elif start is None or goal is None:
            fixed = start if start is not None else goal
            pool = self.sidewalks_in_area_of(fixed)
            distance = self._distances_from(fixed, pool)
            candidates = pool[distance >= self.min_start_goal_distance]
            if len(candidates) == 0:
                candidates = pool[distance > 0]
            other = int(candidates[rng.integers(len(candidates))])
            start, goal = (fixed, other) if start is not None else (other, fixed)
        return start, goal

    def sidewalks_in_area_of(self, cell: int) -> np.ndarray:
        """The sidewalk cells a walk from ``cell`` can reach, row-major."""
        area = self.area[cell]
        if area == self._main_area:
            return self._sidewalks
        return np.flatnonzero((self.area == area) & self._is_sidewalk)

    def walk_distances(self, goal: int) -> list[int]:
        """Shortest walk to ``goal`` from every cell, cars ignored (cached per goal)."""
        if goal not in self._walk_distance_cache:
            if len(self._walk_distance_cache) >= self._walk_distances_kept:
                del self._walk_distance_cache[next(iter(self._walk_distance_cache))]  # the oldest
            unreachable = len(self.ped_next)
            distance = [unreachable] * unreachable
            distance[goal] = 0
            frontier = [goal]
            while frontier:
                following = []
                for cell in frontier:
                    for nxt in self.ped_next[cell][1:]:
                        if distance[nxt] == unreachable:
                            distance[nxt] = distance[cell] + 1
                            following.append(nxt)
                frontier = following
            self._walk_distance_cache[goal] = distance
        return self._walk_distance_cache[goal]

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
        row, col = divmod(cell, self._cols)
        return np.abs(cells // self._cols - row) + np.abs(cells % self._cols - col)


def _action_targets(city: CityMap, cell_rows: np.ndarray, cell_cols: np.ndarray) -> np.ndarray:
    """Where each action takes the pedestrian from each cell: (cells, actions); a move into
    a building or off the map is a stay."""
    rows, cols = city.shape
    n = rows * cols
    walkable = city.walkable.reshape(-1)
    targets = np.empty((n, len(ACTION_STEPS)), dtype=np.int64)
    for action, (dr, dc) in enumerate(ACTION_STEPS):
        nr, nc = cell_rows + dr, cell_cols + dc
        inside = (nr >= 0) & (nr < rows) & (nc >= 0) & (nc < cols)
        ahead = np.where(inside, nr * cols + nc, 0)
        targets[:, action] = np.where(inside & walkable[ahead], ahead, np.arange(n))
    return targets


def _farthest_distances(sidewalks: np.ndarray, cols: int) -> np.ndarray:
    """The distance from each sidewalk to the farthest of them, in one pass: a Manhattan
    distance is the largest of (r + c) and (r - c) differences, so the farthest point is
    an extreme of either."""
    sr, sc = sidewalks // cols, sidewalks % cols
    total, difference = sr + sc, sr - sc
    return np.maximum.reduce(
        [
            total.max() - total,
            total - total.min(),
            difference.max() - difference,
            difference - difference.min(),
        ]
    )


def _unplayable(
    city: CityMap, min_start_goal_distance: int, farthest: np.ndarray, count: int
) -> MapError:
    """The error of a map with no start and goal far enough apart."""
    span = int(farthest.max())
    remedy = (
        f"expected min_start_goal_distance <= {span}"
        if span >= 1
        else "expected at least two sidewalk cells that a walk can join"
    )
    return MapError(
        city.source,
        city.first_grid_line,
        1,
        f"map {city.name!r} cannot be played: no two sidewalk cells of one walkable area are "
        f"{min_start_goal_distance} cells apart (min_start_goal_distance); its largest walkable "
        f"area has {count} sidewalk cell{'s' if count != 1 else ''}, "
        f"at most {span} apart; {remedy}",
    )


def _safe_span(city: CityMap, sidewalks: np.ndarray) -> int:
    """The farthest apart (Manhattan) two of ``sidewalks`` are that a walk can join
    without stepping onto an entry cell; 0 if no two can be joined."""
    safe = city.walkable.copy()
    for cell in city.entry_cells:
        safe[cell] = False
    parts, count = label(safe)
    part = parts.reshape(-1)[sidewalks]
    cols = city.shape[1]
    sr, sc = sidewalks // cols, sidewalks % cols
    span = 0
    for key in (sr + sc, sr - sc):  # as in _farthest_distances: extremes of r + c and r - c
        highest = np.full(count + 1, np.iinfo(np.int64).min)
        lowest = np.full(count + 1, np.iinfo(np.int64).max)
        np.maximum.at(highest, part, key)
        np.minimum.at(lowest, part, key)
        joined = part[part > 0]
        if len(joined):
            span = max(span, int((highest[joined] - lowest[joined]).max()))
    return span


def _unsafe(city: CityMap, min_start_goal_distance: int) -> MapError:
    """The error of a map on which every walk from a start to a goal crosses an entry."""
    r, c = city.entry_cells[0]
    return MapError(
        city.source,
        city.first_grid_line,
        1,
        f"map {city.name!r} cannot be walked safely: every walk between two sidewalk cells "
        f"{min_start_goal_distance} apart (min_start_goal_distance) steps onto an entry, where a "
        f"car may drive in unseen at any tick ({len(city.entry_cells)} entries, the first at row "
        f"{r}, column {c}); expected a way between sidewalks round the entries",
    )
