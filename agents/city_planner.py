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
from dataclasses import dataclass
from math import isqrt
from typing import Any

import numpy as np

from agents.base import Agent, TaskSpec, config_from_settings, dataclass_settings, register
from agents.ledger import Ledger
from agents.street_model import StreetModel
from agents.traffic_model import MAX_CAR_SPEED, NEVER, STAY, TrafficBelief
from envs.city.observation import CELL_CHANNELS, GOAL_VALUES

MODELS_KEPT = 64  #: street models (one per map) a planner keeps


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

    # Wall seconds per planned trial in the default run (2 cores, load about 3):
    # reliable after a walk or two of the 150 (50) planned, each followed by 20 planned
    # evaluation walks: 1 to 3 s a job.
    seconds_per_trial = {"city": 0.015}

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
    for row, col in zip(*np.nonzero(city_map.road), strict=True):
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
