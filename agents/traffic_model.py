"""The traffic model of the city agents: "cars move along their lanes".

:class:`TrafficModel` is a city map derived once into what the model needs: where one may
walk, the graph of car states along the lanes, and how far cars can get in a number of
ticks; :class:`TrafficBelief` is where cars may be now, given what has been seen. The
module docstring of ``agents.city_planner`` states the model and why it is safe.
"""

from __future__ import annotations

from collections import deque

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

# published facts of the city, as the map and the rules state them
from envs.city.mapformat import MAX_CAR_SPEED
from envs.city.walking import ACTION_STEPS

__all__ = ["ACTION_STEPS", "MAX_CAR_SPEED", "NEVER", "STAY", "TrafficBelief", "TrafficModel"]
STAY = 0
NEVER = 1 << 20  #: closing tick of a cell no car can reach


class TrafficModel:
    """A city map as the traffic model sees it, derived from it once.

    Cells are numbered ``row * cols + col``. A car state is ``cell * 4 + heading``;
    ``car_next[state]`` lists the states a car may be in one cell further on. The
    possible-car sets of :class:`TrafficBelief` number the states of road cells alone:
    state ``4 * i + heading`` is on cell ``road_cells[i]``.
    """

    def __init__(
        self,
        rows: int,
        cols: int,
        walkable: np.ndarray,
        road: np.ndarray,
        car_next: dict[int, tuple[int, ...]],
        entry_states: list[int],
    ):
        self.rows, self.cols = rows, cols
        self.n_cells = rows * cols
        self.walkable = np.asarray(walkable, dtype=bool).reshape(-1)
        self.road = np.asarray(road, dtype=bool).reshape(-1)
        #: cells the pedestrian may stand on that no car ever enters
        self.haven = self.walkable & ~self.road
        self.car_next = car_next
        self.entry_states = list(entry_states)
        self.moves: list[tuple[tuple[int, int], ...]] = []
        for cell in range(self.n_cells):
            row, col = divmod(cell, cols)
            moves = []
            for action, (dr, dc) in enumerate(ACTION_STEPS[1:], start=1):
                r, c = row + dr, col + dc
                if 0 <= r < rows and 0 <= c < cols and self.walkable[r * cols + c]:
                    moves.append((action, r * cols + c))
            self.moves.append(tuple(moves))
        self._build_state_graph()
        self._reach_cache: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        self._entry_cache: dict[tuple[int, int], np.ndarray] = {}

    def _build_state_graph(self) -> None:
        """The car states of road cells as a graph, and those a car can ever be in."""
        self.road_cells = np.flatnonzero(self.road)
        rank = np.full(self.n_cells, -1, dtype=np.int64)
        rank[self.road_cells] = np.arange(len(self.road_cells))
        self._rank = rank
        n_states = 4 * len(self.road_cells)
        self._succ: list[list[int]] = [[] for _ in range(n_states)]
        self._pred: list[list[int]] = [[] for _ in range(n_states)]
        for i, cell in enumerate(self.road_cells.tolist()):
            for heading in range(4):
                for nxt in self.car_next.get(cell * 4 + heading, ()):
                    j = 4 * int(rank[nxt >> 2]) + (nxt & 3)
                    self._succ[4 * i + heading].append(j)
                    self._pred[j].append(4 * i + heading)
        sources = [i for i, nexts in enumerate(self._succ) for _ in nexts]
        targets = [j for nexts in self._succ for j in nexts]
        self.edge_source = np.array(sources, dtype=np.int64)
        self.edge_target = np.array(targets, dtype=np.int64)
        self.state_graph = csr_matrix(
            (np.ones(len(sources)), (sources, targets)), shape=(n_states, n_states)
        )
        self.state_row = (self.road_cells // self.cols).repeat(4)
        self.state_col = (self.road_cells % self.cols).repeat(4)
        self._state_row_list, self._state_col_list = (
            self.state_row.tolist(),
            self.state_col.tolist(),
        )
        self.entry_index = np.array(
            [self.state_index(s) for s in self.entry_states], dtype=np.int64
        )
        #: the states a car can ever be in: those it can drive to from an entry
        if len(self.entry_index):
            distance = dijkstra(
                self.state_graph, indices=self.entry_index, min_only=True, unweighted=True
            )
            self.reachable = np.isfinite(distance)
        else:
            self.reachable = np.zeros(n_states, dtype=bool)
        self._rank_list = rank.tolist()
        #: per state, the states a car can be in that lead to it
        self._reachable_pred = [[p for p in preds if self.reachable[p]] for preds in self._pred]

    def state_index(self, state: int) -> int:
        """The index of car state ``cell * 4 + heading`` among the road states (-1 off the road)."""
        i = int(self._rank[state >> 2])
        return -1 if i < 0 else 4 * i + (state & 3)

    def states_in_sight(self, cell: int, sight: int) -> np.ndarray:
        """The road states within ``sight`` cells (Chebyshev) of ``cell``, as indices."""
        row, col = divmod(cell, self.cols)
        return self.states_near(row, col, sight)

    def states_near(
        self, row: int, col: int, radius: int, among: np.ndarray | None = None
    ) -> np.ndarray:
        """The road states (of ``among``, sorted indices, if given) within ``radius``
        cells (Chebyshev) of (``row``, ``col``), as indices."""
        states = np.arange(len(self.state_row)) if among is None else among
        # states are numbered row by row, so the rows in reach are one run of them
        rows = self.state_row[states]
        first, last = np.searchsorted(rows, (row - radius, row + radius + 1))
        states = states[first:last]
        return states[np.abs(self.state_col[states] - col) <= radius]

    def covers_map(self, sight: int) -> bool:
        """Whether a window of ``sight`` cells round any cell shows the whole map."""
        return sight >= max(self.rows, self.cols) - 1

    # -- the traffic model -------------------------------------------------------------

    def drive(self, possible: np.ndarray, cells: int) -> np.ndarray:
        """The states a car in any of ``possible`` may be in after driving up to ``cells``
        cells (it may also have been held up anywhere on the way)."""
        possible = possible.copy()
        for _ in range(cells):
            ahead = self.edge_target[possible[self.edge_source]]
            if not len(ahead) or possible[ahead].all():
                break
            possible[ahead] = True
        return possible

    def car_reach(self, state: int, max_cells: int) -> tuple[np.ndarray, np.ndarray]:
        """Cells a car in ``state`` may reach within ``max_cells`` cells of driving, and
        the fewest cells it must drive to get to each (0 for the cell it is on)."""
        key = (state, max_cells)
        if key not in self._reach_cache:
            seen = {state: 0}
            best: dict[int, int] = {state // 4: 0}
            frontier = deque([state])
            while frontier:
                s = frontier.popleft()
                d = seen[s] + 1
                if d > max_cells:
                    continue
                for nxt in self.car_next.get(s, ()):
                    if nxt not in seen:
                        seen[nxt] = d
                        best.setdefault(nxt // 4, d)
                        frontier.append(nxt)
            cells = np.fromiter(best.keys(), dtype=np.int64, count=len(best))
            dists = np.fromiter(best.values(), dtype=np.int64, count=len(best))
            self._reach_cache[key] = (cells, dists)
        return self._reach_cache[key]

    def entry_closing(self, speed: int, horizon: int) -> np.ndarray:
        """Closing tick of each cell for the cars still to come, at most ``speed``.

        A car may drive onto an entry cell from beyond the edge during any tick, so its
        centre may be there from time 1, and ``d`` cells further on from ``1 + d / speed``.
        """
        key = (speed, horizon)
        if key not in self._entry_cache:
            closing = np.full(self.n_cells, NEVER, dtype=np.int64)
            for state in self.entry_states:
                cells, dists = self.car_reach(state, speed * horizon)
                closing[cells] = np.minimum(closing[cells], 1 - (-dists // speed))
            self._entry_cache[key] = closing
        return self._entry_cache[key]

    def closing_ticks(
        self, belief: TrafficBelief, horizon: int, around: int | None = None
    ) -> np.ndarray:
        """For every cell, the earliest time (ticks from now, rounded up) at which a
        car's centre may be on it: a car that may be somewhere now (``belief``), at its
        speed (a car ``d`` cells away needs ``d / speed`` ticks), or one still to come.

        Road cells no car can reach within the horizon close at ``horizon + 1``, as
        nothing is known beyond it; cells off the road never close. With ``around``,
        only cells the pedestrian can reach from there within the horizon are exact
        (cars farther away than they can drive in the horizon are skipped).
        """
        closing = self.entry_closing(belief.top_speed, horizon).copy()
        reach = horizon * (1 + belief.top_speed)  # walked, then driven towards it
        local = around is not None and max(self.rows, self.cols) > 2 * reach + 1
        for speed, possible in belief.possible.items():
            sources = np.flatnonzero(possible)
            if local:
                sources = self.states_near(*divmod(around, self.cols), reach, among=sources)
            if not len(sources):
                continue
            cells_driven = dijkstra(
                self.state_graph,
                indices=sources,
                min_only=True,
                unweighted=True,
                limit=speed * horizon,
            )
            reached = np.flatnonzero(cells_driven < np.inf)
            ticks = np.ceil(cells_driven[reached] / speed).astype(np.int64)
            np.minimum.at(closing, self.road_cells[reached >> 2], ticks)
        np.minimum(closing, horizon + 1, out=closing, where=self.road)
        return closing


class TrafficBelief:
    """Where cars may be now, by speed: what the planner makes of what it has seen.

    ``possible[speed]`` marks the road states (see :class:`TrafficModel`) where a car of
    at most that speed may be. It starts with a car possibly in every state a car can
    reach, at ``top_speed``; :meth:`advance` lets a tick pass, :meth:`observe` puts in
    what is seen.
    """

    def __init__(self, model: TrafficModel, top_speed: int):
        self.model = model
        self.top_speed = top_speed
        self.possible: dict[int, np.ndarray] = {top_speed: model.reachable.copy()}

    def advance(self, ticks: int = 1) -> None:
        """``ticks`` ticks pass: every car may drive up to its speed, new ones may come in."""
        for _ in range(ticks):
            for speed, possible in self.possible.items():
                self.possible[speed] = self.model.drive(possible, speed)
            self.possible[self.top_speed][self.model.entry_index] = True

    def observe(self, in_sight: np.ndarray, cars: list[list[int]]) -> None:
        """What is seen now: no car in the states ``in_sight`` but the ``cars`` (rows of
        ``info["cars"]``: row, col, heading, speed), each at its own speed."""
        for possible in self.possible.values():
            possible[in_sight] = False
        for row, col, heading, speed in cars:
            state = self.model.state_index((row * self.model.cols + col) * 4 + heading)
            if state < 0:
                raise ValueError(
                    f"a car at {(row, col)} off the road of the published map: "
                    "the map is not this city's"
                )
            speed = max(1, speed)
            if speed not in self.possible:
                self.possible[speed] = np.zeros_like(self.model.reachable)
            self.possible[speed][state] = True
