"""The learned-model agent for the city: it learns how cars move from the cars it sees,
and crosses by a space-time search over what it has learned.

    python -m sandbox.compare city --agents learned-model,traffic-planner,random

It sits between the model-free learners, which map what they see straight to an
action, and the traffic planner, which is given the traffic rules. This agent is given
no rule of how cars drive: it is written against the public agent interface alone
(``from agents import Agent, Ledger, TaskSpec``), sees what every agent sees
(``info["cars"]``, the cars within its sight) and reads of ``info["city_map"]`` only
what a pedestrian's street map shows, cell by cell: where one may walk, which cells
are road, the direction painted on each lane, which cells are intersections. It never
asks the map where a car may drive next (its lane graph, turn rules, entries) or how
much traffic it has.

**What it learns: counts, keyed by what a car has around it.** A car's *surroundings*
are the cells within ``r`` steps of it (a diamond: 1, 5 or 13 cells for r = 0, 1, 2),
each as the street map shows it (blocked or off the map, sidewalk, intersection, or a
lane with its direction), seen from the car: turned so that its heading points ahead,
a lane's direction given relative to that heading. A move is counted under the car's
speed and its surroundings within its speed (a car of speed s can reach no farther in a
tick: the observation defines speed as cells per tick), as where it was a tick later,
seen from where it was: cells ahead and to the right, its turn, its speed; or *gone*
(it left the map). Three more tables count, per surroundings of every radius up to 2,
how often a kind of state (a cell and a heading) was in sight, how often a car stood
there, and how often a car *appeared* there from nowhere (nothing in sight could have
driven there: cars that drive in at the map's edge). No key names a map: the same
layout anywhere is the same key.

**Cars hold each other up.** A car may stop short behind another, so a move shorter
than its speed may say more about the traffic than about the road: counted as a move a
car may make there, a queue behind a slow car teaches that fast cars never drive their
full speed there (with ``trust_moves`` = 10, that killed the pedestrian in one of 300
training walks in busy validation traffic). So a move shorter than the car's speed is
learned only if no other car stood within that many cells of it, a tick before or
after; a move of its full speed cannot have been held up and is always learned. What it
learns is how far a car may get; one behind another gets less far, never farther, and
the search treats a cell that a car may have reached as taken from then on.

**What it predicts.** A (surroundings, speed) is *trusted* once it has been seen
``trust_moves`` times and the share of its moves seen only once is at most
``max_unseen_share`` (the Good-Turing estimate of the chance that its next move is one
never seen). A trusted car may make any move it has been seen to make; an untrusted one
may drive anywhere within its speed along the road (any path of road cells), with any
heading a car may have there: the prior, what it assumes with no data. A state may hold
a car unless ``trust_exposures`` sightings of its kind showed none, and a car may
appear in it unless as many sightings showed none appear; the widest surroundings
watched that often decide, down to radius ``narrowest_vouching`` (so a lane beside a
T-junction never seen before is vouched for by lanes with the same neighbours), and
with none watched enough, it may. Moves are never taken from narrower surroundings: a
move possible only where a lane meets an intersection two cells ahead would be missing
from what lanes in general were seen to do.

**Matching cars between ticks.** Cars carry no name. A car is matched to a car a tick
later with the same speed at most that speed away (Manhattan), keeping the order of
``info["cars"]`` (oldest first, as documented, so two cars never swap places in it),
and a pair is learned from only if every largest such matching holds it, the car could
not have left the sight (every cell it could reach is in sight a tick later) and its
match could not have come from out of sight. A car with no candidate at all is *gone*
(if it could not have left the sight), a car with no candidate predecessor *appeared*
(if it could not have come from out of sight). Failure modes: where two cars could each
be either (a queue, a car driving onto an entry as another drives in) nothing is
learned; a car that leaves the map or the sight just as another appears within its
reach at its speed is taken for one car swerving, which teaches a move no car makes
(about once in 20,000 moves in busy traffic; it only makes the agent more careful); a car
that changed speed would look like one gone and one appeared.

**Cars it cannot see.** It cannot know the rules for cars out of sight either: it
assumes a car may be in every state out of sight that may hold one (above), at every
speed up to ``prior_top_speed`` (the observation scales speed by 2 cells per tick, so
none is shown faster; a faster car seen raises it), moving as its model says, and that
cars may appear in sight wherever its tables say they may, during any tick. It keeps no
memory of what it saw out of sight: every tick the cells out of sight are judged afresh.

**Planning.** From every state where a car may be now, it rolls the learned one-tick
moves forward ``horizon_ticks`` ticks and gives every road cell its *closing tick*: the
first tick at which a car's centre may be on it or pass through it (the cells between
where a car was and where it was seen next, on any shortest path). Then it reuses the
traffic planner's space-time A* over cells safe until they close
(``agents.city_planner.plan_first_action``), its static walk for the cost of the rest of
the walk, fed the learned one-cell moves (of cars of speed 1) as the car graph and the
states where cars may appear as the entries, and its rule for waiting against a detour;
it replans every tick. The static walk keeps one model for a whole walk.

**Training.** It walks, every tick counted by the ledger, and learns from each pair of
consecutive ticks. It needs no watching phase of its own: with no data, cars may appear
anywhere in sight, so it stays on the sidewalk, watching, until its sightings vouch for
a road it can cross before any car it sees, or any that may come, could get there (its
first walk on ``train`` took 87 ticks). ``act`` learns nothing.

**A new world.** In a new city (or on a new ledger) it keeps every count: they are keyed
by surroundings, not by map, so what a car does where a lane bends or meets an
intersection is known in any city that has such places; the new city adds its own
counts on top. It drops only what belongs to one map (its derived tables, rebuilt from
the new map) and to one walk. The price: if the new city's cars drove by other rules
where the layout looks the same, its trusted moves would be wrong until seen otherwise.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy.sparse.csgraph import dijkstra

from agents import Agent, Ledger, TaskSpec
from agents.city_planner import map_fingerprint, plan_first_action, sight_of
from agents.learned_car_moves import (
    GONE,
    HEADING_STEPS,
    CarMoves,
    LearnedCityConfig,
    Surroundings,
)
from agents.street_model import StreetModel
from agents.traffic_model import NEVER, STAY

MAPS_KEPT = 16  #: per-map tables kept


def match_cars(
    before: list[list[int]], after: list[list[int]]
) -> tuple[list[tuple[int, int]], set[int], set[int]]:
    """Which car is which a tick later: pairs (i, j) that every largest order-keeping
    matching holds (a car matches one of the same speed at most that speed away), the
    cars of ``before`` with no candidate, and those of ``after`` with no candidate."""
    n, m = len(before), len(after)
    allowed = [
        [bool(b[3] == a[3] and abs(b[0] - a[0]) + abs(b[1] - a[1]) <= b[3]) for a in after]
        for b in before
    ]
    no_successor = {i for i in range(n) if not any(allowed[i])}
    no_predecessor = {j for j in range(m) if not any(allowed[i][j] for i in range(n))}
    size, pairs = _largest_matching(allowed, n, m)
    forced = []
    for i, j in pairs:
        allowed[i][j] = False
        if _largest_matching(allowed, n, m)[0] < size:
            forced.append((i, j))
        allowed[i][j] = True
    return forced, no_successor, no_predecessor


def _largest_matching(
    allowed: list[list[bool]], n: int, m: int
) -> tuple[int, list[tuple[int, int]]]:
    """The largest matching that keeps the order on both sides (a longest common
    subsequence), and one such matching."""
    best = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        row, below = best[i], best[i + 1]
        for j in range(m - 1, -1, -1):
            value = below[j] if below[j] > row[j + 1] else row[j + 1]
            if allowed[i][j] and below[j + 1] + 1 > value:
                value = below[j + 1] + 1
            row[j] = value
    pairs, i, j = [], 0, 0
    while i < n and j < m:
        if allowed[i][j] and best[i][j] == best[i + 1][j + 1] + 1:
            pairs.append((i, j))
            i, j = i + 1, j + 1
        elif best[i][j] == best[i + 1][j]:
            i += 1
        else:
            j += 1
    return best[0][0], pairs


def crowded(cars: list[list[int]], me: int, row: int, col: int, speed: int) -> bool:
    """Whether a car other than ``cars[me]`` stands within ``speed`` cells (Manhattan) of
    (row, col): where it could have held up a car of that speed starting there."""
    return any(
        k != me and abs(r - row) + abs(c - col) <= speed for k, (r, c, _, _) in enumerate(cars)
    )


@dataclass
class Sighting:
    """One tick as the agent saw it: where it stood, how far it saw, the cars."""

    row: int
    col: int
    sight: int
    cars: list[list[int]]

    def sees(self, row: int, col: int, margin: int = 0) -> bool:
        """Whether every cell within ``margin`` of (row, col) is in sight."""
        limit = self.sight - margin
        return abs(row - self.row) <= limit and abs(col - self.col) <= limit


class LearnedCityModel(Agent):
    """Learns how cars move from the cars it sees (counts keyed by a car's surroundings on
    the street map) and plans a space-time search over its learned predictions."""

    # Wall seconds per planned trial in the default run (2 cores, load about 3):
    # reliable after 2 or 3 walks of the 150 (50) planned, each followed by 20 planned
    # evaluation walks: 5 to 9 s a job.
    seconds_per_trial = {"city": 0.06}

    name = "learned-model"
    kind = "learned-model"
    tasks = ("city",)

    @classmethod
    def default_settings(cls, task: str) -> dict[str, Any]:
        return asdict(LearnedCityConfig())

    def __init__(self, spec: TaskSpec, seed: int, settings: dict[str, Any] | None = None):
        super().__init__(spec, seed, settings)
        self.config = LearnedCityConfig(**self.settings)
        self.model = CarMoves(self.config)
        self._maps: dict[bytes, Surroundings] = {}
        self._city_map: Any = None
        self._surroundings: Surroundings | None = None
        self._street: StreetModel | None = None  #: this walk's map for the search
        self._street_of: Surroundings | None = None
        self.ticks_waited = 0
        self.stretches_waited_beside: frozenset[int] = frozenset()

    # -- training ---------------------------------------------------------------------

    def _train(self, ledger: Ledger, until_trials: int) -> None:
        env = self.training_env(ledger)
        while ledger.n_trials < until_trials:
            observation, info = env.reset()
            self.reset_episode()
            before = self.sighting(observation, info)
            done = False
            while not done:
                observation, _, terminated, truncated, info = env.step(self.act(observation, info))
                now = self.sighting(observation, info)
                self.learn(self.surroundings(info["city_map"]), before, now)
                before, done = now, terminated or truncated

    def sighting(self, observation: Any, info: dict[str, Any]) -> Sighting:
        cars = np.asarray(info["cars"], dtype=np.int64).reshape(-1, 4).tolist()
        return Sighting(
            int(info["position"][0]), int(info["position"][1]), sight_of(observation), cars
        )

    def learn(self, where: Surroundings, before: Sighting, now: Sighting) -> None:
        """Count what the cars did between two consecutive ticks of a walk."""
        model = self.model
        fastest = max((car[3] for car in now.cars), default=0)
        model.fastest = max(model.fastest, fastest)
        reach = max(self.config.prior_top_speed, model.fastest)
        pairs, no_successor, no_predecessor = match_cars(before.cars, now.cars)
        moved = [(i, j) for i, j in pairs] + [(i, -1) for i in sorted(no_successor)]
        for i, j in moved:
            after = now.cars[j] if j >= 0 else None
            r0, c0, h0, s0 = before.cars[i]
            state = where.state_of(r0, c0, h0)
            # sure only if it could not have gone out of sight, nor its match come from there
            if state < 0 or not (now.sees(r0, c0, s0) and before.sees(r0, c0, s0)):
                continue
            if after is not None and not before.sees(after[0], after[1], after[3]):
                continue
            if after is None:
                model.add_move(where.move_key(state, s0), GONE)
                continue
            r1, c1, h1, s1 = after
            # a move shorter than its speed may be a car held up by another: learned only
            # if no other car stood where it could drive (see the module doc)
            if abs(r1 - r0) + abs(c1 - c0) < s0 and (
                crowded(before.cars, i, r0, c0, s0) or crowded(now.cars, j, r0, c0, s0)
            ):
                continue
            forward, right = HEADING_STEPS[h0], HEADING_STEPS[(h0 + 1) % 4]
            dr, dc = r1 - r0, c1 - c0
            move = (
                dr * forward[0] + dc * forward[1],
                dr * right[0] + dc * right[1],
                (h1 - h0) % 4,
                s1,
            )
            model.add_move(where.move_key(state, s0), move)
        # sightings: every state in sight, and those where a car appearing would be noticed
        in_sight = np.flatnonzero(where.in_box(now.row, now.col, now.sight))
        noticed = in_sight[where.in_box(before.row, before.col, before.sight - reach)[in_sight]]
        occupied, appeared = [], []
        for j, (r, c, h, _) in enumerate(now.cars):
            state = where.state_of(r, c, h)
            if state < 0:
                raise ValueError(
                    f"a car at {(r, c)} off the road of the street map: the map is not this city's"
                )
            occupied.append(state)
            if j in no_predecessor and before.sees(r, c, reach):
                appeared.append(state)
        model.add_sightings(
            where.nested(in_sight),
            where.nested(np.array(occupied, dtype=np.int64)),
            where.nested(noticed),
            where.nested(np.array(appeared, dtype=np.int64)),
        )

    # -- acting -------------------------------------------------------------------------

    def reset_episode(self) -> None:
        self._forget_waits()

    def _forget_waits(self) -> None:
        self.ticks_waited, self.stretches_waited_beside = 0, frozenset()

    def surroundings(self, city_map: Any) -> Surroundings:
        """The tables of ``city_map``, built once per distinct map."""
        if city_map is not self._city_map:
            fingerprint = map_fingerprint(city_map)
            if fingerprint not in self._maps:
                if len(self._maps) >= MAPS_KEPT:
                    del self._maps[next(iter(self._maps))]
                self._maps[fingerprint] = Surroundings(city_map)
            self._city_map, self._surroundings = city_map, self._maps[fingerprint]
        assert self._surroundings is not None
        return self._surroundings

    def top_speed(self, cars: list[list[int]] | None = None) -> int:
        """The fastest a car may drive, cells per tick: the prior, or the fastest car seen
        in training or in sight now."""
        return max(self.config.prior_top_speed, self.model.fastest, *(car[3] for car in cars or ()))

    def act(self, observation: Any, info: dict[str, Any]) -> int:
        where = self.surroundings(info["city_map"])
        seen = self.sighting(observation, info)
        horizon, speed = self.config.horizon_ticks, self.top_speed(seen.cars)
        if int(info["tick"]) == 0 or self._street is None or self._street_of is not where:
            # the static walk keeps one model for a whole walk, so waits are judged alike
            self._street, self._street_of = where.street(self.model, speed), where
        street = self._street
        start = seen.row * street.cols + seen.col
        goal = int(info["goal"][0]) * street.cols + int(info["goal"][1])
        if int(info["tick"]) == 0 or not street.haven[start]:
            self._forget_waits()
        closing = self.closing_ticks(where, seen)
        on_sidewalk, lower_bound = street.static_cost_to_goal(goal, speed, horizon, seen.sight)
        if self.ticks_waited:
            # the traffic planner's break-even rule: a road that kept the walk waiting is
            # expected to keep it waiting as long again, unless going round is quicker
            around, _ = street.static_cost_to_goal(
                goal, speed, horizon, seen.sight, self.stretches_waited_beside
            )
            on_sidewalk = np.minimum(around, on_sidewalk + self.ticks_waited)
        action = plan_first_action(
            street, start, goal, closing, on_sidewalk, lower_bound, self.config.max_expansions
        )
        if action == STAY and street.haven[start]:
            self.ticks_waited += 1
            self.stretches_waited_beside |= street.stretches_beside(start)
        return action

    def closing_ticks(self, where: Surroundings, seen: Sighting) -> np.ndarray:
        """Per cell, the first tick (from now) at which a car may be on it or pass through
        it, as the learned model predicts; ``horizon + 1`` for road cells no car reaches
        within the horizon, never for cells off the road."""
        horizon, top = self.config.horizon_ticks, self.top_speed(seen.cars)
        graph, passed_from, passed_cells, may_hold, may_appear = where.graph(self.model, top)
        n = where.n_states
        in_sight = where.in_box(seen.row, seen.col, seen.sight)
        # cars farther away cannot reach the walk within the horizon
        near = where.in_box(seen.row, seen.col, horizon * (1 + top))
        unseen = np.flatnonzero(may_hold & ~in_sight & near)
        appearing = np.flatnonzero(may_appear & in_sight)
        now = [unseen + (speed - 1) * n for speed in range(1, top + 1)]
        for r, c, h, s in seen.cars:
            state = where.state_of(r, c, h)
            if state < 0:
                raise ValueError(
                    f"a car at {(r, c)} off the road of the street map: the map is not this city's"
                )
            now.append(np.array([(max(s, 1) - 1) * n + state]))
        later = [appearing + (speed - 1) * n for speed in range(1, top + 1)]
        closing = np.full(where.rows * where.cols, NEVER, dtype=np.int64)
        for sources, delay in ((np.concatenate(now), 0), (np.concatenate(later), 1)):
            if not len(sources):
                continue
            ticks = dijkstra(
                graph, indices=np.unique(sources), min_only=True, unweighted=True, limit=horizon
            )
            reached = np.flatnonzero(np.isfinite(ticks))
            arrival = ticks[reached].astype(np.int64) + delay
            np.minimum.at(closing, where.state_cell[reached % n], arrival)
            on_way = np.isfinite(ticks[passed_from])
            np.minimum.at(
                closing,
                passed_cells[on_way],
                ticks[passed_from[on_way]].astype(np.int64) + 1 + delay,
            )
        np.minimum(closing, horizon + 1, out=closing, where=where.road)
        return closing
