"""The traffic-model planner: crosses the city without dying, and without training.

It carries one abstract model of the world, "cars move along their lanes", and plans
against everything that model allows the cars to do next:

* **Prediction.** Each visible car is followed along the lane graph of the published
  map, at its own speed, for ``horizon_ticks`` ticks. Where it may turn, every allowed
  way is taken. A car may be held up behind others, so it may be anywhere between where
  it is and the farthest it can get, and may stop anywhere on the way: once a car may
  have reached a cell, the cell stays possibly occupied. So every road cell gets one
  number, its *closing tick*: the earliest time (rounded up) at which some car's centre
  may be on it. Cars not yet on the map count too: any entry cell at the edge may
  receive a car during any tick, driving on at the top speed from the next.
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
  there is costed by the distance to the goal with no car in sight, which still
  respects the entries (near the map's edge a road may be too risky to cross at all).
  Waiting on the sidewalk is always a plan; off it, if nothing is found, the planner
  takes the move to the cell that stays clear the longest.
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

It replans every tick from ``info`` alone: the pedestrian's position and goal, the
visible cars and the published map (``info["city_map"]``: layout, lanes, turn rules
and entries). Nothing of the env's traffic code, random state or entry rate is used.
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.ndimage import label
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from agents.base import Agent, TaskSpec, config_from_settings, dataclass_settings, register
from agents.ledger import Ledger

#: action -> (row step, column step): 0 stay, 1 north, 2 east, 3 south, 4 west
ACTION_STEPS = ((0, 0), (-1, 0), (0, 1), (1, 0), (0, -1))
STAY = 0
NEVER = 1 << 20  #: closing tick of a cell no car can reach
#: added to the plain walking distance where no crossing is open even with no car in
#: sight, so the planner still heads for the goal, crossing only when traffic allows
UNCROSSABLE_PENALTY = 1000.0
MODELS_KEPT = 64  #: street models (one per map) a planner keeps
GOALS_KEPT = 256  #: goals per map whose static costs are kept


@dataclass(frozen=True)
class PlannerConfig:
    """What the planner assumes and how hard it searches."""

    horizon_ticks: int = 12  #: ticks of traffic predicted; a crossing must finish within them
    nominal_max_car_speed: int = 2  #: published top speed, cells per tick (raised if a faster car is seen)
    max_expansions: int = 5000  #: search budget per decision, in expanded cells


class StreetModel:
    """What the planner knows of a city map, derived from it once.

    Cells are numbered ``row * cols + col``. A car state is ``cell * 4 + heading``;
    ``car_next[state]`` lists the states a car may be in one cell further on.
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
        self.stretch = np.where(crossroads, crossroad_stretches.reshape(-1), lane_stretches.reshape(-1))
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
        self._reach_cache: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        self._entry_cache: dict[tuple[int, int], np.ndarray] = {}
        self._static_cache: dict[tuple[int, int], csr_matrix] = {}
        self._walk_graph: csr_matrix | None = None
        self._goal_cache: dict[tuple[int, int, int, frozenset[int]], tuple[np.ndarray, np.ndarray]] = {}

    # -- the traffic model -------------------------------------------------------------

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

    def closing_ticks(self, cars: list[list[int]], entry_speed: int, horizon: int) -> np.ndarray:
        """For every cell, the earliest time (ticks from now, rounded up) at which a
        car's centre may be on it.

        ``cars`` holds rows of ``info["cars"]`` (row, col, heading, speed); each car keeps
        the speed it was given (a car ``d`` cells away needs ``d / speed`` ticks), and a
        car still to come may drive at ``entry_speed``. Road cells no car can reach within
        the horizon close at ``horizon + 1``, as nothing is known beyond it; cells off the
        road never close.
        """
        closing = self.entry_closing(entry_speed, horizon).copy()
        for row, col, heading, speed in cars:
            speed = max(1, speed)
            cells, dists = self.car_reach((row * self.cols + col) * 4 + heading, speed * horizon)
            closing[cells] = np.minimum(closing[cells], -(-dists // speed))
        np.minimum(closing, horizon + 1, out=closing, where=self.road)
        return closing

    # -- the static walk -------------------------------------------------------------

    def static_graph(self, speed: int, horizon: int) -> csr_matrix:
        """The walk with no car in sight, as a graph over (cell, ticks on the road).

        Node ``k * n_cells + cell`` is the pedestrian on ``cell`` ``k`` ticks after it
        last left a sidewalk (``k = 0`` on sidewalks). A crossing is open only if each
        road cell is reached before a car entering from the edge since the crossing began
        could be on it (see :meth:`entry_closing`); it must end within the horizon.
        """
        key = (speed, horizon)
        if key not in self._static_cache:
            closing = np.minimum(self.entry_closing(speed, horizon), horizon + 1)
            n = self.n_cells
            sources, targets = [], []
            for u in np.flatnonzero(self.walkable):
                for k in [0] if self.haven[u] else range(1, closing[u]):
                    for _, v in self.moves[u]:
                        if self.haven[v]:
                            sources.append(k * n + u)
                            targets.append(v)
                        elif k + 1 < closing[v]:
                            sources.append(k * n + u)
                            targets.append((k + 1) * n + v)
            size = (horizon + 1) * n
            self._static_cache[key] = csr_matrix((np.ones(len(sources)), (sources, targets)), shape=(size, size))
        return self._static_cache[key]

    def static_cost_to_goal(
        self, goal: int, speed: int, horizon: int, avoided_stretches: frozenset[int] = frozenset()
    ) -> tuple[np.ndarray, np.ndarray]:
        """Ticks to the goal with no car in sight, per cell: from a sidewalk cell, and a
        lower bound for road cells (the least over the ticks already spent on the road),
        never setting foot on the ``avoided_stretches`` (see :attr:`stretch`).

        Where the goal cannot be reached even so, the plain walking distance plus
        :data:`UNCROSSABLE_PENALTY` stands in.
        """
        key = (goal, speed, horizon, avoided_stretches)
        if key in self._goal_cache:
            return self._goal_cache[key]
        if len(self._goal_cache) >= GOALS_KEPT:
            del self._goal_cache[next(iter(self._goal_cache))]  # the oldest
        graph = self.static_graph(speed, horizon)
        n = self.n_cells
        if avoided_stretches:
            open_cells = ~np.isin(self.stretch, list(avoided_stretches))
            graph = graph.copy()
            graph.data *= open_cells[graph.indices % n]  # no move onto an avoided cell
            graph.eliminate_zeros()
        goal_nodes = [k * n + goal for k in range(horizon + 1)]
        cost = dijkstra(graph.T, directed=True, indices=goal_nodes, min_only=True, unweighted=True)
        cost = cost.reshape(horizon + 1, n)
        plain = UNCROSSABLE_PENALTY + dijkstra(
            self.walk_graph(), directed=False, indices=goal, unweighted=True
        )
        on_sidewalk = np.where(np.isfinite(cost[0]), cost[0], plain)
        lower_bound = cost.min(axis=0)
        lower_bound = np.where(np.isfinite(lower_bound), lower_bound, plain)
        self._goal_cache[key] = on_sidewalk, lower_bound
        return on_sidewalk, lower_bound

    def stretches_beside(self, cell: int) -> frozenset[int]:
        """The stretches of road one move away from ``cell``."""
        return frozenset(int(self.stretch[nxt]) for _, nxt in self.moves[cell] if self.stretch[nxt])

    def walk_graph(self) -> csr_matrix:
        """Neighbouring walkable cells, cars ignored."""
        if self._walk_graph is None:
            pairs = [(u, v) for u in range(self.n_cells) for _, v in self.moves[u] if self.walkable[u]]
            sources, targets = zip(*pairs) if pairs else ((), ())
            self._walk_graph = csr_matrix(
                (np.ones(len(sources)), (sources, targets)), shape=(self.n_cells, self.n_cells)
            )
        return self._walk_graph


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
                heapq.heappush(heap, (step + cost_on_sidewalk[nxt], cost_on_sidewalk[nxt], counter, step, nxt, True))
            else:
                heapq.heappush(heap, (step + cost_lower_bound[nxt], cost_lower_bound[nxt], counter, step, nxt, False))
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
        #: ticks this walk has stood on sidewalks since it was last on the road
        self.ticks_waited = 0
        #: the stretches of road beside the cells where it stood
        self.stretches_waited_beside: frozenset[int] = frozenset()

    def reset_episode(self) -> None:
        self._forget_waits()

    def _forget_waits(self) -> None:
        self.ticks_waited, self.stretches_waited_beside = 0, frozenset()

    def _train(self, ledger: Ledger, until_trials: int) -> None:
        # Nothing to learn: play episodes so the ledger counts trials and deaths like anyone's.
        self.play(ledger, until_trials)

    def act(self, observation: np.ndarray, info: dict[str, Any]) -> int:
        model = self.street_model(info["city_map"])
        cars = np.asarray(info["cars"], dtype=np.int64).reshape(-1, 4).tolist()
        if cars:
            # a car faster than the published top speed raises the bound for good
            self.max_car_speed = max(self.max_car_speed, max(car[3] for car in cars))
        speed, horizon = self.max_car_speed, self.config.horizon_ticks
        start = int(info["position"][0]) * model.cols + int(info["position"][1])
        goal = int(info["goal"][0]) * model.cols + int(info["goal"][1])
        if info["tick"] == 0 or not model.haven[start]:
            self._forget_waits()  # a new walk, or the road waited for has opened
        on_sidewalk, lower_bound = model.static_cost_to_goal(goal, speed, horizon)
        if self.ticks_waited:
            # a road that has kept the walk waiting is expected to keep it waiting as long
            # again, unless going round it is quicker (break-even: see the module doc)
            around, _ = model.static_cost_to_goal(goal, speed, horizon, self.stretches_waited_beside)
            on_sidewalk = np.minimum(around, on_sidewalk + self.ticks_waited)
        closing = model.closing_ticks(cars, speed, horizon)
        action = plan_first_action(model, start, goal, closing, on_sidewalk, lower_bound, self.config.max_expansions)
        if action == STAY and model.haven[start]:
            self.ticks_waited += 1
            self.stretches_waited_beside |= model.stretches_beside(start)
        return action

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
    entry_states = [(row * cols + col) * 4 + int(city_map.lane_heading[row, col]) for row, col in city_map.entry_cells]
    return StreetModel(rows, cols, city_map.walkable, city_map.road, city_map.intersection, car_next, entry_states)
