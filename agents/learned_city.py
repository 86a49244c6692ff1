"""The learned-model agent for the city: it learns how cars move from the cars it sees,
and crosses by a space-time search over what it has learned.

    python -m sandbox.compare city --agents agents.learned_city:LearnedCityModel,traffic-planner,random

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

from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from agents import Agent, Ledger, TaskSpec
from agents.city_planner import (
    MAX_CAR_SPEED,
    NEVER,
    STAY,
    StreetModel,
    map_fingerprint,
    plan_first_action,
    sight_of,
)

#: heading -> (row step, column step), as info["cars"] documents headings: 0 N, 1 E, 2 S, 3 W
HEADING_STEPS = ((-1, 0), (0, 1), (1, 0), (0, -1))
#: cell classes of a car's surroundings, as the street map (and the observation) shows them
BLOCKED, SIDEWALK, CROSSROADS, LANE = (
    0,
    1,
    2,
    3,
)  #: a lane is LANE + its direction relative to the heading
N_CLASSES = 8  #: a surroundings key packs one class per cell, base 8
#: the widest surroundings (cells): as far as the fastest car drives in a tick
MAX_RADIUS = MAX_CAR_SPEED
GONE = None  #: the move of a car that left the map
MAPS_KEPT = 16  #: per-map tables kept


@dataclass(frozen=True)
class LearnedCityConfig:
    """What the agent trusts and how far it looks.

    Chosen by ``benchmarks/tune_learned_city.py`` on validation situations only: one
    setting changed at a time, 3 seeds, each agent trained 5, 20 and 100 walks in
    ``train``, then scored on 50 validation walks in ``train``, 50 zero-shot in ``new``,
    50 in ``train`` with hidden traffic busier than published (entry rate 0.3, half the
    cars at 2 cells per tick, turn probability 0.4) and 10 in each of 10 generated
    cities: about 25,000 walks. No setting died once, in training or validation, so
    each default is the one that crosses as well as any other with the wider margin
    of safety. Figures: success in train / new / busy / generated cities after 5 and
    after 100 walks (defaults: 97 / 100 / 57 / 92 % and 100 / 100 / 77 / 100 %).
    """

    #: ticks of traffic predicted; a crossing must finish within them. 8 and 16 chose the
    #: same moves in every validation walk (a crossing takes at most 4 ticks); 12 is the
    #: traffic planner's
    horizon_ticks: int = 12
    #: moves a (surroundings, speed) must be seen making before they are all it may do.
    #: 10 crossed the busy traffic more often after 100 walks (89 % against 77 %; 40: 58 %)
    #: with no death in validation, but where both turns are open at a turn probability of
    #: 0.25 it trusts a junction after 10 straight drives 5.6 % of the time (20: 0.3 %),
    #: and before cars held up were set apart (see the module doc) it died there
    trust_moves: int = 20
    #: the most Good-Turing chance of an unseen move a trusted key may have (moves seen
    #: once over moves seen); 0 and 0.1 chose the same moves in every validation walk
    max_unseen_share: float = 0.05
    #: sightings with no car (no car appearing) before a kind of state is judged to hold
    #: none (to see none appear). 30 crossed a little more after 5 walks (train 99 %,
    #: generated 95 % against 97 and 92 %) and 120 less (92 and 81 %), alike from 20 walks
    #: on; at 60 an entry where a car drives in 8 % of ticks (``train``) is taken for a
    #: plain lane 0.7 % of the time, at 30 8 % of the time
    trust_exposures: int = 60
    #: the narrowest surroundings (radius, cells) whose sightings may vouch for a state
    #: whose wider ones were not watched enough. 2 (no vouching) crossed the new city
    #: zero-shot in 84 % of walks against 100 %; 0 (a cell's own class alone) crossed a
    #: little more after 5 walks (train 100 %, generated 99 %) and the same later, but a
    #: lane alone says nothing of whether it starts at the map's edge, which radius 1 sees
    narrowest_vouching: int = 1
    #: cells per tick a car out of sight may drive: the observation shows a car's speed as
    #: speed / 2, so none is shown faster (a faster car seen raises it)
    prior_top_speed: int = MAX_CAR_SPEED
    #: search budget per decision, in expanded cells: the traffic planner's
    max_expansions: int = 5000


class CarMoves:
    """The learned model: counts of what cars were seen to do, keyed by surroundings.
    Map-free: every key is a car's surroundings, never a cell of a map."""

    def __init__(self, config: LearnedCityConfig):
        self.config = config
        self.moves: dict[
            tuple[int, int], Counter
        ] = {}  #: (surroundings, speed) -> Counter of moves
        #: surroundings (of a state: a cell and a heading; every radius) -> ticks one was in sight
        self.exposed: Counter = Counter()
        self.occupied: Counter = Counter()  #: -> ticks a car stood in one
        self.appear_exposed: Counter = (
            Counter()
        )  #: -> ticks a car appearing in one would have been noticed
        self.appeared: Counter = Counter()  #: -> cars that appeared in one from nowhere
        self.fastest = 0  #: the fastest car seen, cells per tick
        self.version = 0  #: changes whenever what the model predicts changes
        self._support: dict[tuple[int, int], tuple | None] = {}

    @property
    def n_moves(self) -> int:
        return sum(sum(c.values()) for c in self.moves.values())

    def support(self, key: tuple[int, int]) -> tuple | None:
        """The moves a car with these (surroundings, speed) may make; None: not trusted."""
        if key not in self._support:
            self._support[key] = self._trusted_support(key)
        return self._support[key]

    def _trusted_support(self, key: tuple[int, int]) -> tuple | None:
        counts = self.moves.get(key)
        if not counts:
            return None
        seen = sum(counts.values())
        once = sum(1 for n in counts.values() if n == 1)
        if seen < self.config.trust_moves or once > self.config.max_unseen_share * seen:
            return None
        return tuple(sorted(counts, key=_move_order))

    def may_hold(self, surroundings: tuple[int, ...]) -> bool:
        """Whether a car may stand in a state with these surroundings (widest first)."""
        return self._vouched(surroundings, self.occupied, self.exposed)

    def may_appear(self, surroundings: tuple[int, ...]) -> bool:
        """Whether a car may appear from nowhere in a state with these surroundings."""
        return self._vouched(surroundings, self.appeared, self.appear_exposed)

    def _vouched(self, surroundings: tuple[int, ...], happened: Counter, exposed: Counter) -> bool:
        # the widest surroundings watched ``trust_exposures`` times decide; none: it may
        for key in surroundings[: MAX_RADIUS + 1 - self.config.narrowest_vouching]:
            if exposed[key] >= self.config.trust_exposures:
                return happened[key] > 0
        return True

    def add_move(self, key: tuple[int, int], move: tuple | None) -> None:
        self.moves.setdefault(key, Counter())[move] += 1
        before = self._support.pop(key, None)
        if self.support(key) != before:
            self.version += 1

    def add_sightings(
        self,
        exposed: list[int],
        occupied: list[int],
        appear_exposed: list[int],
        appeared: list[int],
    ) -> None:
        """Count one tick's sightings (keys of every radius)."""
        trust = self.config.trust_exposures
        before = (len(self.occupied), len(self.appeared))
        crossed = _crosses(self.exposed, exposed, trust) or _crosses(
            self.appear_exposed, appear_exposed, trust
        )
        self.exposed.update(exposed)
        self.occupied.update(occupied)
        self.appear_exposed.update(appear_exposed)
        self.appeared.update(appeared)
        if crossed or before != (len(self.occupied), len(self.appeared)):
            self.version += 1


def _crosses(counts: Counter, keys: list[int], trust: int) -> bool:
    """Whether adding ``keys`` to ``counts`` brings one of them to ``trust``."""
    added = Counter(keys)
    return any(counts[k] < trust <= counts[k] + n for k, n in added.items())


def _move_order(move: tuple | None) -> tuple:
    return (1,) if move is None else (0, *move)


class Surroundings:
    """One map as the agent reads it: its road cells and states, the surroundings of each
    state, and the caches of what the current model predicts there."""

    def __init__(self, city_map: Any):
        rows, cols = (int(n) for n in city_map.shape)
        self.rows, self.cols = rows, cols
        walkable = np.asarray(city_map.walkable, dtype=bool)
        lane_heading = np.asarray(city_map.lane_heading, dtype=np.int64)
        crossroads = np.asarray(city_map.intersection, dtype=bool)
        road = (lane_heading >= 0) | crossroads
        self._walkable, self._road_grid, self._crossroads = walkable, road, crossroads
        self.road = road.reshape(-1)
        self.road_cells = np.flatnonzero(self.road)
        rank = np.full(rows * cols, -1, dtype=np.int64)
        rank[self.road_cells] = np.arange(len(self.road_cells))
        self.rank = rank
        self.n_states = 4 * len(self.road_cells)  #: state 4 * rank + heading
        self.state_cell = self.road_cells.repeat(4)
        self.state_row, self.state_col = self.state_cell // cols, self.state_cell % cols
        pad = MAX_RADIUS
        self.keys = {}  #: radius -> surroundings of every state
        for radius in range(MAX_RADIUS + 1):
            self.keys[radius] = np.zeros(self.n_states, dtype=np.int64)
        for heading in range(4):
            classes = np.full((rows + 2 * pad, cols + 2 * pad), BLOCKED, dtype=np.int64)
            inner = np.where(walkable, SIDEWALK, BLOCKED)
            inner = np.where(crossroads, CROSSROADS, inner)
            inner = np.where(lane_heading >= 0, LANE + (lane_heading - heading) % 4, inner)
            classes[pad : pad + rows, pad : pad + cols] = inner
            forward, right = HEADING_STEPS[heading], HEADING_STEPS[(heading + 1) % 4]
            r0, c0 = self.road_cells // cols + pad, self.road_cells % cols + pad
            for radius in range(MAX_RADIUS + 1):
                code = np.zeros(len(self.road_cells), dtype=np.int64)
                for i, (f, s) in enumerate(diamond(radius)):
                    dr, dc = f * forward[0] + s * right[0], f * forward[1] + s * right[1]
                    code += classes[r0 + dr, c0 + dc] * N_CLASSES**i
                self.keys[radius][heading::4] = code * (MAX_RADIUS + 1) + radius
        self._keys_list = {radius: keys.tolist() for radius, keys in self.keys.items()}
        #: per state, its surroundings of every radius, widest first
        self.nested_keys = list(zip(*(self._keys_list[r] for r in range(MAX_RADIUS, -1, -1))))
        self._balls: dict[tuple[int, int], list[int]] = {}
        self._version: tuple[int, int] | None = None
        self._graph: tuple | None = None
        self._street_version: tuple[int, int] | None = None
        self._street: StreetModel | None = None

    def state_of(self, row: int, col: int, heading: int) -> int:
        """The state of a car at (row, col) with ``heading``; -1 off the road."""
        if not (0 <= row < self.rows and 0 <= col < self.cols):
            return -1
        i = int(self.rank[row * self.cols + col])
        return -1 if i < 0 else 4 * i + heading

    def move_key(self, state: int, speed: int) -> tuple[int, int]:
        """The (surroundings, speed) a move from ``state`` is counted under: the
        surroundings as far as the car can drive in a tick."""
        return self._keys_list[min(speed, MAX_RADIUS)][state], speed

    def exit_cells(self, cell: int, speed: int) -> list[int]:
        """Road cells a car on ``cell`` may drive through on its way off the map within
        ``speed`` cells: those no farther from it, plus from there to the edge, than ``speed``."""
        row, col = divmod(cell, self.cols)
        cells = []
        for v in self.ball(cell, max(speed - 1, 0)):
            r, c = divmod(v, self.cols)
            to_edge = min(r + 1, self.rows - r, c + 1, self.cols - c)
            if abs(r - row) + abs(c - col) + to_edge <= speed:
                cells.append(v)
        return cells

    def nested(self, states: np.ndarray) -> list[int]:
        """The surroundings of every radius of ``states``, flat (for counting)."""
        return np.concatenate([self.keys[r][states] for r in range(MAX_RADIUS + 1)]).tolist()

    def ball(self, cell: int, steps: int) -> list[int]:
        """Road cells a car on ``cell`` reaches along the road in at most ``steps`` steps."""
        key = (cell, steps)
        if key not in self._balls:
            seen, frontier = {cell}, [cell]
            for _ in range(steps):
                following = []
                for u in frontier:
                    r, c = divmod(u, self.cols)
                    for dr, dc in HEADING_STEPS:
                        v = (r + dr) * self.cols + c + dc
                        if (
                            0 <= r + dr < self.rows
                            and 0 <= c + dc < self.cols
                            and self.road[v]
                            and v not in seen
                        ):
                            seen.add(v)
                            following.append(v)
                frontier = following
            self._balls[key] = sorted(seen)
        return self._balls[key]

    def in_box(self, row: int, col: int, radius: int) -> np.ndarray:
        """Whether each state is within ``radius`` cells (Chebyshev) of (row, col)."""
        return (np.abs(self.state_row - row) <= radius) & (np.abs(self.state_col - col) <= radius)

    # -- what the model predicts on this map ----------------------------------------------

    def graph(self, model: CarMoves, top_speed: int) -> tuple:
        """The one-tick moves the model allows from every (state, speed), as a graph over
        nodes ``(speed - 1) * n_states + state``, with the cells passed on the way; the
        states that may hold a car, and where cars may appear. Rebuilt when the model
        changes."""
        version = (model.version, top_speed)
        if self._graph is not None and self._version == version:
            return self._graph
        n, cols = self.n_states, self.cols
        may_hold = np.array([model.may_hold(k) for k in self.nested_keys], dtype=bool)
        may_appear = np.array([model.may_appear(k) for k in self.nested_keys], dtype=bool)
        sources, targets, passed_from, passed_cells = [], [], [], []
        for speed in range(1, top_speed + 1):
            base = (speed - 1) * n
            for state in range(n):
                cell, heading = int(self.state_cell[state]), state & 3
                node = base + state
                support = model.support(self.move_key(state, speed))
                if support is None:  # the prior: anywhere within its speed along the road
                    for v in self.ball(cell, speed):
                        passed_from.append(node)
                        passed_cells.append(v)
                        first = 4 * int(self.rank[v])
                        for h in range(4):
                            if may_hold[first + h]:
                                sources.append(node)
                                targets.append(base + first + h)
                    continue
                forward, right = HEADING_STEPS[heading], HEADING_STEPS[(heading + 1) % 4]
                row, col = divmod(cell, cols)
                for move in support:
                    if move is GONE:
                        for v in self.exit_cells(cell, speed):
                            passed_from.append(node)
                            passed_cells.append(v)
                        continue
                    f, s, turn, new_speed = move
                    r, c = row + f * forward[0] + s * right[0], col + f * forward[1] + s * right[1]
                    target = self.state_of(r, c, (heading + turn) % 4)
                    if target < 0:
                        continue
                    for pf, ps in between(f, s):
                        r, c = (
                            row + pf * forward[0] + ps * right[0],
                            col + pf * forward[1] + ps * right[1],
                        )
                        if 0 <= r < self.rows and 0 <= c < cols and self.road[r * cols + c]:
                            passed_from.append(node)
                            passed_cells.append(r * cols + c)
                    if 1 <= new_speed <= top_speed:
                        sources.append(node)
                        targets.append((new_speed - 1) * n + target)
        size = top_speed * n
        graph = csr_matrix((np.ones(len(sources)), (sources, targets)), shape=(size, size))
        self._graph = (
            graph,
            np.array(passed_from, dtype=np.int64),
            np.array(passed_cells, dtype=np.int64),
            may_hold,
            may_appear,
        )
        self._version = version
        return self._graph

    def street(self, model: CarMoves, top_speed: int) -> StreetModel:
        """The map for the traffic planner's search and static walk, with the car graph
        of the learned one-cell moves (those of cars of speed 1; the prior where they are
        not trusted) and the states where cars may appear as its entries. Rebuilt when
        the model changes."""
        version = (model.version, top_speed)
        if self._street is None or self._street_version != version:
            _, _, _, may_hold, may_appear = self.graph(model, top_speed)
            car_next: dict[int, tuple[int, ...]] = {}
            for state in range(self.n_states):
                cell, heading = int(self.state_cell[state]), state & 3
                support = model.support(self.move_key(state, 1))
                if support is None:
                    nexts = [
                        4 * v + h
                        for v in self.ball(cell, 1)
                        if v != cell
                        for h in range(4)
                        if may_hold[4 * int(self.rank[v]) + h]
                    ]
                else:
                    forward, right = HEADING_STEPS[heading], HEADING_STEPS[(heading + 1) % 4]
                    row, col = divmod(cell, self.cols)
                    nexts = []
                    for move in support:
                        if move is GONE or abs(move[0]) + abs(move[1]) != 1:
                            continue  # leaving the map, or held up
                        f, s, turn, _ = move
                        r, c = (
                            row + f * forward[0] + s * right[0],
                            col + f * forward[1] + s * right[1],
                        )
                        if self.state_of(r, c, (heading + turn) % 4) >= 0:
                            nexts.append(4 * (r * self.cols + c) + (heading + turn) % 4)
                car_next[4 * cell + heading] = tuple(nexts)
            entries = [
                4 * int(self.state_cell[state]) + (state & 3)
                for state in np.flatnonzero(may_appear)
            ]
            self._street = StreetModel(
                self.rows,
                self.cols,
                self._walkable,
                self._road_grid,
                self._crossroads,
                car_next,
                entries,
            )
            self._street_version = version
        return self._street


def diamond(radius: int) -> list[tuple[int, int]]:
    """Offsets (ahead, right) within ``radius`` steps, in a fixed order."""
    return [
        (f, s)
        for f in range(-radius, radius + 1)
        for s in range(-radius, radius + 1)
        if abs(f) + abs(s) <= radius
    ]


def between(f: int, s: int) -> list[tuple[int, int]]:
    """The cells strictly between (0, 0) and (f, s) on the shortest grid paths: where a car
    may have been on the way (only for moves of 2 cells; a longer move is not seen)."""
    if abs(f) + abs(s) != 2:
        return []
    if f == 0 or s == 0:
        return [(f // 2, s // 2)]
    return [(f, 0), (0, s)]


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
        for j, (r, c, h, s) in enumerate(now.cars):
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
        near = where.in_box(
            seen.row, seen.col, horizon * (1 + top)
        )  # cars farther cannot reach the walk
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
