"""The street model of the city agents: the traffic model and the static walk.

:class:`StreetModel` is the :class:`~agents.traffic_model.TrafficModel` of a city map
with what a walk needs beyond where cars may be: the stretches of road, the kerbs where
crossings start, and the *static walk*, the ticks to the goal if every crossing were
made from its kerb with no car in sight (the cost of the walk left after a plan). The
traffic planner builds it from the published map, the learned-model agent from what
it has learned; the module docstring of ``agents.city_planner`` states the rules.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import label
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from agents.traffic_model import NEVER, TrafficModel

#: added to the plain walking distance where no crossing is open even with no car in
#: sight, so the planner still heads for the goal, crossing only when traffic allows
UNCROSSABLE_PENALTY = 1000.0
GOALS_KEPT = 256  #: goals per map whose static costs are kept
#: kerbs whose closings with nothing in sight are kept, worked out again for the static
#: walk that avoids a stretch (a few dozen values each)
KERB_CLOSINGS_KEPT = 4096


@dataclass(frozen=True)
class StaticCrossings:
    """Every crossing open with nothing in sight: from ``kerbs[i]`` to ``ends[i]`` in
    ``ticks[i]``; ``touched[j]``: the stretches a crossing from kerb ``j`` of
    :attr:`StreetModel.kerbs` may set foot on."""

    kerbs: np.ndarray
    ends: np.ndarray
    ticks: np.ndarray
    touched: list[frozenset[int]]


class StreetModel(TrafficModel):
    """What a city agent knows of a city map, derived from it once: the traffic model
    (see :class:`~agents.traffic_model.TrafficModel` for the numbering of cells and car
    states), the stretches of road and the kerbs, and the static walk over them."""

    def __init__(
        self,
        rows: int,
        cols: int,
        walkable: np.ndarray,
        road: np.ndarray,
        intersection: np.ndarray,
        car_next: dict[int, tuple[int, ...]],
        entry_states: list[int],
    ):
        super().__init__(rows, cols, walkable, road, car_next, entry_states)
        #: per cell, the stretch of road it is on, numbered from 1: the lanes side by side
        #: between two intersections, or one intersection; 0 off the road
        crossroads = np.asarray(intersection, dtype=bool).reshape(-1)
        lane_stretches, n_lane_stretches = label((self.road & ~crossroads).reshape(rows, cols))
        crossroad_stretches = label(crossroads.reshape(rows, cols))[0] + n_lane_stretches
        self.stretch = np.where(
            crossroads, crossroad_stretches.reshape(-1), lane_stretches.reshape(-1)
        )
        #: sidewalk cells beside a road: where crossings start
        self.kerbs = [
            u
            for u in np.flatnonzero(self.haven).tolist()
            if any(self.road[v] for _, v in self.moves[u])
        ]
        self._full_sight_closing: dict[tuple[int, int], dict[int, int]] = {}
        self._crossing_cache: dict[tuple[int, int, int], StaticCrossings] = {}
        self._kerb_closing_cache: dict[tuple[int, int, int, int], dict[int, int]] = {}
        self._layouts: dict[int, np.ndarray] = {}
        self._goal_cache: dict[
            tuple[int, int, int, int, frozenset[int]], tuple[np.ndarray, np.ndarray]
        ] = {}
        self._sidewalk_edges: tuple[np.ndarray, np.ndarray] | None = None
        self._road_steps_back: tuple[np.ndarray, np.ndarray] | None = None
        self._walk_graph: csr_matrix | None = None

    # -- the static walk -------------------------------------------------------------

    def kerb_closing(self, kerb: int, speed: int, horizon: int, sight: int) -> dict[int, int]:
        """Closing ticks of the road cells in sight of ``kerb`` with no car in sight, out
        of sight a car possibly in any state it can reach, at ``speed``, and cars still
        to come (see :meth:`entry_closing`). Road cells out of sight are closed (0)."""
        key = (kerb, speed, horizon, sight)
        if key in self._kerb_closing_cache:
            return self._kerb_closing_cache[key]
        if len(self._kerb_closing_cache) >= KERB_CLOSINGS_KEPT:
            self._kerb_closing_cache.clear()
        if self.covers_map(sight):
            if (speed, horizon) not in self._full_sight_closing:
                entry = np.minimum(self.entry_closing(speed, horizon), horizon + 1)
                self._full_sight_closing[speed, horizon] = dict(
                    zip(self.road_cells.tolist(), entry[self.road_cells].tolist(), strict=True)
                )
            return self._full_sight_closing[speed, horizon]
        rows, cols = self.rows, self.cols
        row, col = divmod(kerb, cols)
        r0, c0, r1, c1 = (
            max(0, row - sight),
            max(0, col - sight),
            min(rows - 1, row + sight),
            min(cols - 1, col + sight),
        )
        box_road = np.flatnonzero(
            self.road.reshape(rows, cols)[r0 : r1 + 1, c0 : c1 + 1].reshape(-1)
        )
        width = c1 - c0 + 1
        cells = ((box_road // width + r0) * cols + box_road % width + c0).tolist()
        state_row, state_col, rank = self._state_row_list, self._state_col_list, self._rank_list
        # fewest cells a car out of sight must drive to reach a state in sight
        driven: dict[int, int] = {}
        frontier = []
        for cell in cells:
            r, c = divmod(cell, cols)
            if r0 < r < r1 and c0 < c < c1:
                continue  # all its neighbours are in sight
            first = 4 * rank[cell]
            for state in range(first, first + 4):
                for p in self._reachable_pred[state]:
                    if not (r0 <= state_row[p] <= r1 and c0 <= state_col[p] <= c1):
                        driven[state] = 1
                        frontier.append(state)
                        break
        cells_driven = 1
        while frontier and cells_driven < speed * horizon:
            cells_driven += 1
            following = []
            for state in frontier:
                for nxt in self._succ[state]:
                    if (
                        nxt not in driven
                        and r0 <= state_row[nxt] <= r1
                        and c0 <= state_col[nxt] <= c1
                    ):
                        driven[nxt] = cells_driven
                        following.append(nxt)
            frontier = following
        entry = self.entry_closing(speed, horizon)
        closing = {}
        for cell in cells:
            first = 4 * rank[cell]
            nearest = NEVER
            for state in range(first, first + 4):
                cells_to_here = driven.get(state, NEVER)
                if cells_to_here < nearest:
                    nearest = cells_to_here
            hidden = -(-nearest // speed) if nearest < NEVER else NEVER
            closing[cell] = min(int(entry[cell]), hidden, horizon + 1)
        self._kerb_closing_cache[key] = closing
        return closing

    def crossing(
        self,
        kerb: int,
        closing: dict[int, int],
        horizon: int,
        avoided_stretches: frozenset[int] = frozenset(),
        goal: int = -1,
    ) -> tuple[dict[int, int], frozenset[int]]:
        """The crossings from ``kerb`` that ``closing`` allows: the fewest ticks to each
        sidewalk cell (or the ``goal``) reached over the road, never setting foot on the
        ``avoided_stretches``; and the stretches of road it may set foot on."""
        ends, road_cells = self._crossing_cells(kerb, closing, horizon, avoided_stretches, goal)
        return ends, frozenset(int(self.stretch[cell]) for cell in road_cells)

    def _crossing_cells(
        self,
        kerb: int,
        closing: dict[int, int],
        horizon: int,
        avoided_stretches: frozenset[int],
        goal: int,
    ) -> tuple[dict[int, int], list[int]]:
        """:meth:`crossing`, with the road cells it may set foot on."""
        moves, haven, stretch = self.moves, self.haven, self.stretch
        arrival = {kerb: 0}
        ends: dict[int, int] = {}
        beside = {v for _, v in moves[kerb]}  # a sidewalk there is a plain step away
        frontier = [kerb]
        for step in range(1, horizon + 1):
            following = []
            for cell in frontier:
                if cell != kerb and step > closing[cell]:
                    continue  # a car may reach this cell before the pedestrian could leave it
                for _, nxt in moves[cell]:
                    if nxt in arrival:
                        continue
                    if haven[nxt]:
                        if cell != kerb and nxt not in beside and step < ends.get(nxt, NEVER):
                            ends[nxt] = step
                        continue
                    if step >= closing.get(nxt, 0) or stretch[nxt] in avoided_stretches:
                        continue
                    if nxt == goal:
                        ends[nxt] = min(step, ends.get(nxt, NEVER))
                        continue
                    arrival[nxt] = step
                    following.append(nxt)
            frontier = following
            if not frontier:
                break
        del arrival[kerb]
        return ends, list(arrival)

    def static_crossings(self, speed: int, horizon: int, sight: int) -> StaticCrossings:
        """:meth:`crossing` from every kerb with nothing in sight (:meth:`kerb_closing`)."""
        sight = min(sight, max(self.rows, self.cols))
        key = (speed, horizon, sight)
        if key not in self._crossing_cache:
            # kerbs whose surroundings look alike to the model (the cells within sight and
            # one beyond: where one may walk, the lanes, where cars can be, the entries'
            # closings) have alike crossings: on a large city most kerbs repeat another's
            cols, side = self.cols, 2 * sight + 3
            layout = None if self.covers_map(sight) else self._layout(sight + 1)
            caps = None if layout is None else self._entry_caps(speed, horizon, sight + 1)
            alike: dict[
                tuple[bytes, bytes], tuple[list[tuple[int, int, int]], list[tuple[int, int]]]
            ] = {}
            kerbs, ends, ticks, touched = [], [], [], []
            for kerb in self.kerbs:
                row, col = divmod(kerb, cols)
                pattern = None
                if layout is not None:
                    pattern = (
                        layout[row : row + side, col : col + side].tobytes(),
                        caps[row + 1 : row + side - 1, col + 1 : col + side - 1].tobytes(),
                    )
                relative = alike.get(pattern) if pattern is not None else None
                if relative is None:
                    closing = self.kerb_closing(kerb, speed, horizon, sight)
                    reached, cells = self._crossing_cells(kerb, closing, horizon, frozenset(), -1)
                    relative = (
                        [(end // cols - row, end % cols - col, t) for end, t in reached.items()],
                        [(cell // cols - row, cell % cols - col) for cell in cells],
                    )
                    if pattern is not None:
                        alike[pattern] = relative
                reached_relative, cells_relative = relative
                for dr, dc, t in reached_relative:
                    kerbs.append(kerb)
                    ends.append((row + dr) * cols + col + dc)
                    ticks.append(t)
                touched.append(
                    frozenset(
                        int(self.stretch[(row + dr) * cols + col + dc]) for dr, dc in cells_relative
                    )
                )
            self._crossing_cache[key] = StaticCrossings(
                np.array(kerbs, dtype=np.int64),
                np.array(ends, dtype=np.int64),
                np.array(ticks, dtype=float),
                touched,
            )
        return self._crossing_cache[key]

    def _layout(self, pad: int) -> np.ndarray:
        """What the model knows of each cell, padded by ``pad`` cells off the map:
        ``[flags, moves heading north, east, south, west]``, flags 1 walkable, 2 road,
        4 << h a car can be there heading h; a heading's moves set bit ``4 * d + h'`` for a
        move towards d into heading h'."""
        if pad not in self._layouts:
            # Filled cell by cell, then placed in the padded array: a reshape of the padded
            # array's inner slice would be a copy, and the writes into it lost.
            inner = np.zeros((self.n_cells, 5), dtype=np.int32)
            inner[:, 0] = self.walkable + 2 * self.road
            step_direction = {-self.cols: 0, 1: 1, self.cols: 2, -1: 3}
            for i, cell in enumerate(self.road_cells.tolist()):
                for heading in range(4):
                    state = 4 * i + heading
                    if self.reachable[state]:
                        inner[cell, 0] |= 4 << heading
                    for nxt in self._succ[state]:
                        direction = step_direction[int(self.road_cells[nxt >> 2]) - cell]
                        inner[cell, 1 + heading] |= 1 << (4 * direction + (nxt & 3))
            codes = np.zeros((self.rows + 2 * pad, self.cols + 2 * pad, 5), dtype=np.int32)
            codes[pad : pad + self.rows, pad : pad + self.cols] = inner.reshape(
                self.rows, self.cols, 5
            )
            self._layouts = {pad: codes}  # one sight at a time
        return self._layouts[pad]

    def _entry_caps(self, speed: int, horizon: int, pad: int) -> np.ndarray:
        """:meth:`entry_closing`, at most ``horizon + 1``, padded by ``pad`` cells."""
        caps = np.zeros((self.rows + 2 * pad, self.cols + 2 * pad), dtype=np.int32)
        caps[pad : pad + self.rows, pad : pad + self.cols] = np.minimum(
            self.entry_closing(speed, horizon), horizon + 1
        ).reshape(self.rows, self.cols)
        return caps

    def static_cost_to_goal(
        self,
        goal: int,
        speed: int,
        horizon: int,
        sight: int,
        avoided_stretches: frozenset[int] = frozenset(),
    ) -> tuple[np.ndarray, np.ndarray]:
        """Ticks to the goal with no car in sight, per cell: from a sidewalk cell, and a
        lower bound for road cells (the fewest moves over the road to a sidewalk, plus the
        ticks from there), never setting foot on the ``avoided_stretches`` (see
        :attr:`stretch`). A crossing starts at a kerb and is open if :meth:`crossing`
        allows it seen from there with ``sight``.

        Where the goal cannot be reached even so, the plain walking distance plus
        :data:`UNCROSSABLE_PENALTY` stands in.
        """
        sight = min(sight, max(self.rows, self.cols))
        key = (goal, speed, horizon, sight, avoided_stretches)
        if key in self._goal_cache:
            return self._goal_cache[key]
        if len(self._goal_cache) >= GOALS_KEPT:
            del self._goal_cache[next(iter(self._goal_cache))]  # the oldest
        n = self.n_cells
        sources, targets, weights = self._static_steps(
            goal, speed, horizon, sight, avoided_stretches
        )
        # reversed: from the goal back to every cell
        graph = csr_matrix((weights, (targets, sources)), shape=(n, n))
        cost = dijkstra(graph, directed=True, indices=goal)
        plain = UNCROSSABLE_PENALTY + dijkstra(
            self.walk_graph(), directed=False, indices=goal, unweighted=True
        )
        on_sidewalk = np.where(np.isfinite(cost), cost, plain)
        over_road = self._cost_over_road(goal, on_sidewalk)
        lower_bound = np.where(
            self.road, np.where(np.isfinite(over_road), over_road, plain), on_sidewalk
        )
        self._goal_cache[key] = on_sidewalk, lower_bound
        return on_sidewalk, lower_bound

    def _static_steps(
        self,
        goal: int,
        speed: int,
        horizon: int,
        sight: int,
        avoided_stretches: frozenset[int],
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The steps of the static walk to ``goal`` as (from, to, ticks) arrays: between
        neighbouring sidewalk cells, and every crossing open with nothing in sight."""
        crossings = self.static_crossings(speed, horizon, sight)
        sidewalk_from, sidewalk_to = self.sidewalk_edges()
        sources, targets = [sidewalk_from, crossings.kerbs], [sidewalk_to, crossings.ends]
        weights = [np.ones(len(sidewalk_from)), crossings.ticks]
        # crossings from kerbs that may reach the goal on the road, or set foot on an
        # avoided stretch, are worked out again
        goal_row, goal_col = divmod(goal, self.cols)
        redone = [
            kerb
            for kerb, touched in zip(self.kerbs, crossings.touched, strict=True)
            if (avoided_stretches and not avoided_stretches.isdisjoint(touched))
            or (
                self.road[goal]
                and abs(kerb // self.cols - goal_row) <= sight
                and abs(kerb % self.cols - goal_col) <= sight
            )
        ]
        if redone:
            kept = ~np.isin(crossings.kerbs, redone)
            sources[1], targets[1], weights[1] = (
                crossings.kerbs[kept],
                crossings.ends[kept],
                crossings.ticks[kept],
            )
            for kerb in redone:
                closing = self.kerb_closing(kerb, speed, horizon, sight)
                ends, _ = self.crossing(kerb, closing, horizon, avoided_stretches, goal)
                sources.append(np.full(len(ends), kerb, dtype=np.int64))
                targets.append(np.fromiter(ends.keys(), dtype=np.int64, count=len(ends)))
                weights.append(np.fromiter(ends.values(), dtype=float, count=len(ends)))
        return np.concatenate(sources), np.concatenate(targets), np.concatenate(weights)

    def _cost_over_road(self, goal: int, on_sidewalk: np.ndarray) -> np.ndarray:
        """Per cell, the fewest moves over the road to a sidewalk cell (or the goal) plus
        the ticks from there (``on_sidewalk``); meaningful for road cells."""
        # a plan through a road cell ends on the first sidewalk it reaches, or the goal
        n = self.n_cells
        back_from, back_to = self.road_steps_back()
        ends = np.flatnonzero(self.haven & np.isfinite(on_sidewalk))
        if not self.haven[goal]:
            ends = np.append(ends, goal)
        # node n starts every reversed walk, at each end's cost + 1
        graph = csr_matrix(
            (
                np.concatenate([np.ones(len(back_from)), on_sidewalk[ends] + 1.0]),
                (
                    np.concatenate([back_from, np.full(len(ends), n)]),
                    np.concatenate([back_to, ends]),
                ),
            ),
            shape=(n + 1, n + 1),
        )
        return dijkstra(graph, directed=True, indices=n)[:n] - 1.0

    def sidewalk_edges(self) -> tuple[np.ndarray, np.ndarray]:
        """Steps between neighbouring sidewalk cells, as (from, to) arrays."""
        if self._sidewalk_edges is None:
            pairs = [
                (u, v)
                for u in np.flatnonzero(self.haven).tolist()
                for _, v in self.moves[u]
                if self.haven[v]
            ]
            self._sidewalk_edges = (
                np.array([u for u, _ in pairs], dtype=np.int64),
                np.array([v for _, v in pairs], dtype=np.int64),
            )
        return self._sidewalk_edges

    def road_steps_back(self) -> tuple[np.ndarray, np.ndarray]:
        """Every step from a road cell to a walkable cell, reversed, as (to, from) arrays."""
        if self._road_steps_back is None:
            pairs = [(v, u) for u in self.road_cells.tolist() for _, v in self.moves[u]]
            self._road_steps_back = (
                np.array([v for v, _ in pairs], dtype=np.int64),
                np.array([u for _, u in pairs], dtype=np.int64),
            )
        return self._road_steps_back

    def stretches_beside(self, cell: int) -> frozenset[int]:
        """The stretches of road one move away from ``cell``."""
        return frozenset(int(self.stretch[nxt]) for _, nxt in self.moves[cell] if self.stretch[nxt])

    def walk_graph(self) -> csr_matrix:
        """Neighbouring walkable cells, cars ignored."""
        if self._walk_graph is None:
            pairs = [
                (u, v) for u in range(self.n_cells) for _, v in self.moves[u] if self.walkable[u]
            ]
            sources, targets = zip(*pairs, strict=True) if pairs else ((), ())
            self._walk_graph = csr_matrix(
                (np.ones(len(sources)), (sources, targets)), shape=(self.n_cells, self.n_cells)
            )
        return self._walk_graph
