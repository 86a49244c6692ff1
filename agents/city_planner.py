"""The traffic-model planner: crosses the city without dying, and without training.

It carries one abstract model of the world, "cars move along their lanes", and plans
against everything that model allows the cars to do next, given what it has seen:

* **What it sees and remembers.** It sees the traffic as every agent does: the cars
  within its sight (``info["cars"]``, the cars in the observation window, a square of
  ``2 * sight + 1`` cells round it; the sight is read from the observation's size). It
  keeps, for every state a car can be in (a road cell and a heading), whether a car
  *may* be there now and how fast it may drive. At a walk's first tick a car may be in
  every state out of sight that a car can reach from the map's entries (so on any lane
  cell, with any heading its lanes allow), at the published top speed
  ``nominal_max_car_speed``; in sight, only where it sees one, at the speed it sees.
  Every tick each car that may be somewhere may have driven up to its speed along its
  lanes, or not at all (held up), a car may have driven in at any entry, and then what
  it sees replaces the guess inside the window: cells it sees empty are empty, the cars
  it sees are where they are. The true traffic is always one the set allows. The set
  only narrows what the last tick allowed, so the rest of a plan found safe is still
  safe a tick later and a walk is never stranded halfway across a road; judged afresh
  from the window alone, cells that slipped out of sight behind it would close under it.
* **Prediction.** From every state where a car may be, the car is followed along the
  lane graph of the published map, at its speed, for ``horizon_ticks`` ticks. Where it
  may turn, every allowed way is taken. A car may be held up behind others, so it may
  be anywhere between where it is and the farthest it can get, and may stop anywhere on
  the way: once a car may have reached a cell, the cell stays possibly occupied. So
  every road cell gets one number, its *closing tick*: the earliest time (rounded up)
  at which some car's centre may be on it. Cars not yet on the map count too: any entry
  cell at the edge may receive a car during any tick, driving on at the top speed.
* **Safety.** Cars and the pedestrian move along straight lines between cell centres,
  so they can only meet on a cell centre or on a shared stretch between two centres.
  Hence the pedestrian is safe if it reaches each road cell before the cell closes and
  starts to leave it no later than that: a move during tick ``k`` (from time ``k-1`` to
  ``k``) needs ``k <= closing(cell left)`` and ``k < closing(cell entered)``. This
  rules out meeting at the tick's end, a car running through it, swaps, and a fast
  car running into it from behind. Sidewalks never close.
* **Search.** Space-time A* from the pedestrian's cell over (cell, arrival tick) with
  the five moves. Every cell is safe from now until it closes, so the earliest arrival
  at a cell is the best one and nodes are keyed by cell. A plan must leave the road
  within the horizon: it ends at the goal or on a sidewalk, and the walk left from
  there is costed by the *static walk*: the ticks to the goal if every crossing were
  made from its kerb with no car in sight, out of sight a car possibly anywhere, and
  the entries (near the map's edge a road may be too risky to cross at all). With a
  short sight, a road too wide to cross before a car from beyond the window could
  arrive is no crossing. Waiting on the sidewalk is always a plan; off it, if nothing
  is found, the planner takes the move to the cell that stays clear the longest.
* **Waiting against a detour.** A plan that ends on a sidewalk short of a crossing rests
  on a guess: that the road will be clear when the pedestrian gets there. Waiting is
  such a plan, and replanning makes the same guess every tick, so on its own a wait of
  one tick beats a detour two ticks longer tick after tick: on a staggered-blocks city
  the pedestrian stood 158 ticks beside a lane that never cleared while the sidewalk
  round the block was two ticks longer (``tests/test_city_planner_stall.py``). So a
  guess that goes through a stretch of road (between two intersections) the walk has
  waited beside is charged the ticks the walk has waited since it was last on the
  road, but never more than the best walk round those stretches. The planner then
  waits for a crossing at most as long as going round would add, and goes round if the
  road is still shut: the break-even rule, which loses at most twice the time the
  better choice in hindsight would have lost. Crossings planned within the horizon are
  checked against the cars in sight and pay nothing; safety does not depend on this.

It replans every tick from the observation's size and ``info`` alone: the pedestrian's
position and goal, the tick of the walk, the cars in sight (and what it remembers of
those it saw before) and the published map (``info["city_map"]``: layout, lanes, turn
rules and entries). Nothing of the env's traffic code, random state, entry rate or of
cars out of sight is used.
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass
from math import isqrt
from typing import Any

import numpy as np
from scipy.ndimage import label
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from agents.base import Agent, TaskSpec, config_from_settings, dataclass_settings, register
from agents.ledger import Ledger
from envs.city.mapformat import MAX_CAR_SPEED
from envs.city.observation import CELL_CHANNELS, GOAL_VALUES
from envs.city.walking import ACTION_STEPS

STAY = 0
NEVER = 1 << 20  #: closing tick of a cell no car can reach
#: added to the plain walking distance where no crossing is open even with no car in
#: sight, so the planner still heads for the goal, crossing only when traffic allows
UNCROSSABLE_PENALTY = 1000.0
MODELS_KEPT = 64  #: street models (one per map) a planner keeps
GOALS_KEPT = 256  #: goals per map whose static costs are kept
#: kerbs whose closings with nothing in sight are kept, worked out again for the static
#: walk that avoids a stretch (a few dozen values each)
KERB_CLOSINGS_KEPT = 4096


@dataclass(frozen=True)
class PlannerConfig:
    """What the planner assumes and how hard it searches."""

    horizon_ticks: int = 12  #: ticks of traffic predicted; a crossing must finish within them
    #: published top speed, cells per tick (raised if a faster car is seen)
    nominal_max_car_speed: int = MAX_CAR_SPEED
    max_expansions: int = 5000  #: search budget per decision, in expanded cells


def sight_of(observation: Any) -> int:
    """The sight radius (cells) an observation of CityNav-v1 shows: its window is
    ``(2 * sight + 1)**2`` cells of ``CELL_CHANNELS`` values, then the goal's values."""
    size = np.asarray(observation).size - GOAL_VALUES
    side = isqrt(max(0, size) // CELL_CHANNELS)
    if size <= 0 or side * side * CELL_CHANNELS != size or side % 2 == 0:
        raise ValueError(
            f"observation of {size + GOAL_VALUES} values: expected a CityNav-v1 observation, "
            f"(2 * sight + 1)**2 * {CELL_CHANNELS} + {GOAL_VALUES} values"
        )
    return side // 2


class StreetModel:
    """What the planner knows of a city map, derived from it once.

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
        intersection: np.ndarray,
        car_next: dict[int, tuple[int, ...]],
        entry_states: list[int],
    ):
        self.rows, self.cols = rows, cols
        self.n_cells = rows * cols
        self.walkable = np.asarray(walkable, dtype=bool).reshape(-1)
        self.road = np.asarray(road, dtype=bool).reshape(-1)
        #: cells the pedestrian may stand on that no car ever enters
        self.haven = self.walkable & ~self.road
        #: per cell, the stretch of road it is on, numbered from 1: the lanes side by side
        #: between two intersections, or one intersection; 0 off the road
        crossroads = np.asarray(intersection, dtype=bool).reshape(-1)
        lane_stretches, n_lane_stretches = label((self.road & ~crossroads).reshape(rows, cols))
        crossroad_stretches = label(crossroads.reshape(rows, cols))[0] + n_lane_stretches
        self.stretch = np.where(
            crossroads, crossroad_stretches.reshape(-1), lane_stretches.reshape(-1)
        )
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
        #: sidewalk cells beside a road: where crossings start
        self.kerbs = [
            u
            for u in np.flatnonzero(self.haven).tolist()
            if any(self.road[v] for _, v in self.moves[u])
        ]
        self._build_state_graph()
        self._reach_cache: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        self._entry_cache: dict[tuple[int, int], np.ndarray] = {}
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
                    zip(self.road_cells.tolist(), entry[self.road_cells].tolist())
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
        driven: dict[
            int, int
        ] = {}  # fewest cells a car out of sight must drive to reach a state in sight
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
        crossings = self.static_crossings(speed, horizon, sight)
        sidewalk_from, sidewalk_to = self.sidewalk_edges()
        sources, targets = [sidewalk_from, crossings.kerbs], [sidewalk_to, crossings.ends]
        weights = [np.ones(len(sidewalk_from)), crossings.ticks]
        # crossings from kerbs that may reach the goal on the road, or set foot on an
        # avoided stretch, are worked out again
        goal_row, goal_col = divmod(goal, self.cols)
        redone = [
            kerb
            for kerb, touched in zip(self.kerbs, crossings.touched)
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
        graph = csr_matrix(
            (np.concatenate(weights), (np.concatenate(targets), np.concatenate(sources))),
            shape=(n, n),
        )  # reversed: from the goal back to every cell
        cost = dijkstra(graph, directed=True, indices=goal)
        plain = UNCROSSABLE_PENALTY + dijkstra(
            self.walk_graph(), directed=False, indices=goal, unweighted=True
        )
        on_sidewalk = np.where(np.isfinite(cost), cost, plain)
        # a plan through a road cell ends on the first sidewalk it reaches, or the goal
        back_from, back_to = self.road_steps_back()
        ends = np.flatnonzero(self.haven & np.isfinite(on_sidewalk))
        if not self.haven[goal]:
            ends = np.append(ends, goal)
        graph = csr_matrix(
            (
                np.concatenate([np.ones(len(back_from)), on_sidewalk[ends] + 1.0]),
                (
                    np.concatenate([back_from, np.full(len(ends), n)]),
                    np.concatenate([back_to, ends]),
                ),
            ),
            shape=(n + 1, n + 1),
        )  # node n starts every reversed walk, at each end's cost + 1
        over_road = dijkstra(graph, directed=True, indices=n)[:n] - 1.0
        lower_bound = np.where(
            self.road, np.where(np.isfinite(over_road), over_road, plain), on_sidewalk
        )
        self._goal_cache[key] = on_sidewalk, lower_bound
        return on_sidewalk, lower_bound

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
            sources, targets = zip(*pairs) if pairs else ((), ())
            self._walk_graph = csr_matrix(
                (np.ones(len(sources)), (sources, targets)), shape=(self.n_cells, self.n_cells)
            )
        return self._walk_graph


@dataclass(frozen=True)
class StaticCrossings:
    """Every crossing open with nothing in sight: from ``kerbs[i]`` to ``ends[i]`` in
    ``ticks[i]``; ``touched[j]``: the stretches a crossing from kerb ``j`` of
    :attr:`StreetModel.kerbs` may set foot on."""

    kerbs: np.ndarray
    ends: np.ndarray
    ticks: np.ndarray
    touched: list[frozenset[int]]


class TrafficBelief:
    """Where cars may be now, by speed: what the planner makes of what it has seen.

    ``possible[speed]`` marks the road states (see :class:`StreetModel`) where a car of
    at most that speed may be. It starts with a car possibly in every state a car can
    reach, at ``top_speed``; :meth:`advance` lets a tick pass, :meth:`observe` puts in
    what is seen.
    """

    def __init__(self, model: StreetModel, top_speed: int):
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
                    f"a car at {(row, col)} off the road of the published map: the map is not this city's"
                )
            speed = max(1, speed)
            if speed not in self.possible:
                self.possible[speed] = np.zeros_like(self.model.reachable)
            self.possible[speed][state] = True


def plan_first_action(
    model: StreetModel,
    start: int,
    goal: int,
    closing: np.ndarray,
    cost_on_sidewalk: np.ndarray,
    cost_lower_bound: np.ndarray,
    max_expansions: int,
) -> int:
    """Space-time A* over cells keyed by earliest arrival; returns the first action.

    A plan ends at the goal, or on a sidewalk at tick >= 1 where the rest of the walk is
    charged ``cost_on_sidewalk``; waiting where one stands counts as such a plan if it
    is a sidewalk. ``cost_lower_bound`` must not exceed the charge of any plan through a
    road cell. If no plan is found within the budget, take the safest move.
    """
    haven, moves = model.haven, model.moves
    arrival = {start: 0}
    first_action = {start: STAY}
    counter = 0
    heap: list[tuple[float, float, int, int, int, bool]] = []
    if haven[start]:
        # waiting on a sidewalk is always safe
        heap.append((1 + cost_on_sidewalk[start], cost_on_sidewalk[start], counter, 1, start, True))
    heap.append((cost_lower_bound[start], cost_lower_bound[start], counter + 1, 0, start, False))
    counter += 2
    heapq.heapify(heap)
    expansions = 0
    while heap and expansions < max_expansions:
        _, _, _, tick, cell, terminal = heapq.heappop(heap)
        if terminal:
            return STAY if cell == start else first_action[cell]
        if tick > arrival.get(cell, NEVER):
            continue
        expansions += 1
        step = tick + 1
        if step > closing[cell]:
            continue  # a car may reach this cell before the pedestrian could leave it
        for action, nxt in moves[cell]:
            if step >= closing[nxt] or step >= arrival.get(nxt, NEVER):
                continue
            arrival[nxt] = step
            first_action[nxt] = action if tick == 0 else first_action[cell]
            counter += 1
            if nxt == goal:
                heapq.heappush(heap, (step, 0.0, counter, step, nxt, True))
            elif haven[nxt]:
                heapq.heappush(
                    heap,
                    (step + cost_on_sidewalk[nxt], cost_on_sidewalk[nxt], counter, step, nxt, True),
                )
            else:
                heapq.heappush(
                    heap,
                    (
                        step + cost_lower_bound[nxt],
                        cost_lower_bound[nxt],
                        counter,
                        step,
                        nxt,
                        False,
                    ),
                )
    return safest_action(model, start, closing)


def safest_action(model: StreetModel, start: int, closing: np.ndarray) -> int:
    """The move whose cell stays clear the longest (a sidewalk if one is in reach)."""
    best_action, best_closing = STAY, closing[start]
    for action, nxt in model.moves[start]:
        if closing[nxt] > best_closing:
            best_action, best_closing = action, closing[nxt]
    return best_action


@register("traffic-planner")
class TrafficPlanner(Agent):
    """Plans each step against a model of where cars can be along their lanes (space-time
    A* over cells predicted safe, replanning every tick); needs no training."""

    kind = "planner"
    tasks = ("city",)

    @classmethod
    def default_settings(cls, task: str) -> dict[str, Any]:
        return dataclass_settings(PlannerConfig)

    def __init__(self, spec: TaskSpec, seed: int, settings: dict[str, Any] | None = None):
        super().__init__(spec, seed, settings)
        self.config = config_from_settings(PlannerConfig, self.settings)
        self.max_car_speed = self.config.nominal_max_car_speed
        self._city_map: Any = None
        self._model: StreetModel | None = None
        self._models: dict[bytes, StreetModel] = {}
        #: where cars may be now, from what this walk has seen (None: nothing seen yet)
        self.belief: TrafficBelief | None = None
        self._belief_tick = 0  #: the walk's tick the belief is of
        #: ticks this walk has stood on sidewalks since it was last on the road
        self.ticks_waited = 0
        #: the stretches of road beside the cells where it stood
        self.stretches_waited_beside: frozenset[int] = frozenset()

    def reset_episode(self) -> None:
        self._forget_waits()
        self.belief = None

    def _forget_waits(self) -> None:
        self.ticks_waited, self.stretches_waited_beside = 0, frozenset()

    def _train(self, ledger: Ledger, until_trials: int) -> None:
        # Nothing to learn: play episodes so the ledger counts trials and deaths like anyone's.
        self.play(ledger, until_trials)

    def act(self, observation: np.ndarray, info: dict[str, Any]) -> int:
        model = self.street_model(info["city_map"])
        sight = sight_of(observation)
        cars = np.asarray(info["cars"], dtype=np.int64).reshape(-1, 4).tolist()
        fastest = max((car[3] for car in cars), default=0)
        if fastest > self.max_car_speed:
            # a car faster than the published top speed raises the bound for good; what
            # was assumed of the cars out of sight was too slow, so it starts again
            self.max_car_speed, self.belief = fastest, None
        speed, horizon = self.max_car_speed, self.config.horizon_ticks
        start = int(info["position"][0]) * model.cols + int(info["position"][1])
        goal = int(info["goal"][0]) * model.cols + int(info["goal"][1])
        tick = int(info["tick"])
        if tick == 0 or not model.haven[start]:
            self._forget_waits()  # a new walk, or the road waited for has opened
        self.update_belief(model, tick, start, sight, cars)
        on_sidewalk, lower_bound = model.static_cost_to_goal(goal, speed, horizon, sight)
        if self.ticks_waited:
            # a road that has kept the walk waiting is expected to keep it waiting as long
            # again, unless going round it is quicker (break-even: see the module doc)
            around, _ = model.static_cost_to_goal(
                goal, speed, horizon, sight, self.stretches_waited_beside
            )
            on_sidewalk = np.minimum(around, on_sidewalk + self.ticks_waited)
        assert self.belief is not None
        closing = model.closing_ticks(self.belief, horizon, around=start)
        action = plan_first_action(
            model, start, goal, closing, on_sidewalk, lower_bound, self.config.max_expansions
        )
        if action == STAY and model.haven[start]:
            self.ticks_waited += 1
            self.stretches_waited_beside |= model.stretches_beside(start)
        return action

    def update_belief(
        self, model: StreetModel, tick: int, position: int, sight: int, cars: list[list[int]]
    ) -> None:
        """Bring :attr:`belief` to the walk's ``tick`` and put in the ``cars`` seen within
        ``sight`` of ``position``; a new walk (tick 0), or a tick gone back, starts afresh."""
        belief = self.belief
        if belief is None or belief.model is not model or tick == 0 or tick < self._belief_tick:
            belief = self.belief = TrafficBelief(model, self.max_car_speed)
        else:
            belief.advance(tick - self._belief_tick)
        self._belief_tick = tick
        belief.observe(model.states_in_sight(position, sight), cars)

    def street_model(self, city_map: Any) -> StreetModel:
        """The model of ``city_map``, built once per distinct map."""
        if city_map is not self._city_map:
            fingerprint = map_fingerprint(city_map)
            if fingerprint not in self._models:
                if len(self._models) >= MODELS_KEPT:
                    del self._models[next(iter(self._models))]  # the oldest
                self._models[fingerprint] = street_model_from_city_map(city_map)
            self._city_map, self._model = city_map, self._models[fingerprint]
        assert self._model is not None
        return self._model


def map_fingerprint(city_map: Any) -> bytes:
    """Identifies a map by its layout, so a map seen again reuses its model."""
    return "\n".join(city_map.grid).encode()


def street_model_from_city_map(city_map: Any) -> StreetModel:
    """Read the published map: where one may walk, where cars drive, the lane graph
    (``successors``, with its turn rules) and the entries at the map's edge."""
    rows, cols = city_map.shape
    car_next: dict[int, tuple[int, ...]] = {}
    for row, col in zip(*np.nonzero(city_map.road)):
        cell = int(row) * cols + int(col)
        for heading in range(4):
            car_next[cell * 4 + heading] = tuple(
                (nxt[0] * cols + nxt[1]) * 4 + nxt_heading
                for nxt, nxt_heading in city_map.successors((int(row), int(col)), heading)
                if nxt is not None
            )
    entry_states = [
        (row * cols + col) * 4 + int(city_map.lane_heading[row, col])
        for row, col in city_map.entry_cells
    ]
    return StreetModel(
        rows, cols, city_map.walkable, city_map.road, city_map.intersection, car_next, entry_states
    )
