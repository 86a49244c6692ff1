"""An independent referee of deaths in CityNav-v1, written from the documented rules alone.

Random walks on several cities are replayed tick by tick. For every tick the referee
works out, from the cars before and after it (``info["cars"]``, oldest first) and the
map's text, every way the cars can have driven by the traffic rules of
``envs/city/citymap.py`` (lanes, turns, oldest first, stopping short of a held cell,
entries), and then, in exact rational arithmetic, whether the pedestrian and any car
were ever at one point during the tick (both moving at constant speed from cell centre
to cell centre, as the env's docstring says). It uses neither the env's collision code
nor the map's lane graph: only the grid characters, the documented rules, and the
true traffic speeds (``env.traffic``). Every death the env reports and every tick it
reports none must be the referee's verdict too.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction

import numpy as np
import pytest

from envs.city.env import CityNavEnv

# headings 0 north, 1 east, 2 south, 3 west; row 0 is the north edge
STEPS = ((-1, 0), (0, 1), (1, 0), (0, -1))
LANE_HEADINGS = {"^": 0, ">": 1, "v": 2, "<": 3, "N": 0, "E": 1, "S": 2, "W": 3}
ACTIONS = ((0, 0), (-1, 0), (0, 1), (1, 0), (0, -1))  # stay, north, east, south, west
MOST_EXPLANATIONS = 32  # ways one tick can be explained; more and the tick is skipped as ambiguous

Cell = tuple[int, int]
#: a car's motion through a tick: the points it passes and the time it is at each, then it stands
Trajectory = list[tuple[Fraction, Cell]]


class Rules:
    """The documented rules of a city: where the pedestrian walks and where cars may drive."""

    def __init__(self, grid: tuple[str, ...]):
        self.grid = grid
        self.rows, self.cols = len(grid), len(grid[0])
        self.entries = {}  # entry cell -> heading: lanes at the edge pointing into the map
        for r, row in enumerate(grid):
            for c, ch in enumerate(row):
                if ch in LANE_HEADINGS:
                    heading = LANE_HEADINGS[ch]
                    if self.char(ahead((r, c), (heading + 2) % 4)) is None:
                        self.entries[(r, c)] = heading

    def char(self, cell: Cell) -> str | None:
        """The cell's character, None off the map."""
        r, c = cell
        return self.grid[r][c] if 0 <= r < self.rows and 0 <= c < self.cols else None

    def walk(self, cell: Cell, action: int) -> Cell:
        """A step of the pedestrian: into a building or off the map is a stay."""
        target = (cell[0] + ACTIONS[action][0], cell[1] + ACTIONS[action][1])
        return target if self.char(target) not in (None, "#") else cell

    def moves(self, cell: Cell, heading: int) -> list[tuple[Cell, int, bool]]:
        """Where a car may drive next: (cell, heading there, whether it leaves the map)."""
        here = self.char(cell)
        if here in LANE_HEADINGS:  # on a lane: ahead, taking the lane's heading, or off the edge
            heading = LANE_HEADINGS[here]
            nxt = ahead(cell, heading)
            there = self.char(nxt)
            if there is None:
                return [(nxt, heading, True)]
            return [(nxt, heading if there == "+" else LANE_HEADINGS[there], False)]
        assert here == "+", f"a car on {here!r} at {cell}"
        options = []
        nxt = ahead(cell, heading)
        there = self.char(nxt)
        if there is None or there == "+" or LANE_HEADINGS.get(there) == heading:  # straight on
            options.append((nxt, heading, there is None))
        for turn in ((heading + 1) % 4, (heading + 3) % 4):  # onto a lane heading that way
            side = ahead(cell, turn)
            if LANE_HEADINGS.get(self.char(side)) == turn:
                options.append((side, turn, False))
        return options


def ahead(cell: Cell, heading: int) -> Cell:
    return cell[0] + STEPS[heading][0], cell[1] + STEPS[heading][1]


def drives(rules: Rules, cell: Cell, heading: int, speed: int, occupied: set[Cell]):
    """Every way one car may drive this tick: (cells passed, where it stands or None if it left).

    It tries to leave its cell up to ``speed`` times; each time it picks any allowed move
    (the referee does not know the dice), and stops short if that cell holds a car.
    """
    outcomes = set()

    def go(path: tuple[Cell, ...], cell: Cell, heading: int, tries: int) -> None:
        if tries == 0:
            outcomes.add((path, (cell, heading)))
            return
        for nxt, nxt_heading, leaves in rules.moves(cell, heading):
            if leaves:
                outcomes.add((path + (nxt,), None))
            elif nxt in occupied:
                outcomes.add((path, (cell, heading)))
            else:
                go(path + (nxt,), nxt, nxt_heading, tries - 1)

    go((cell,), cell, heading, speed)
    return sorted(outcomes, key=repr)


def explanations(
    rules: Rules, before: list[tuple], after: list[tuple], speeds: set[int]
) -> Iterator[list[Trajectory]]:
    """Every set of car trajectories that takes the cars ``before`` the tick to ``after`` it.

    Cars move oldest first (the order of ``before``); the survivors keep their order in
    ``after``, followed by the cars that drove in at free entries.
    """
    occupied = {(r, c) for r, c, _, _ in before}

    def explain(i: int, j: int) -> Iterator[list[Trajectory]]:
        if i == len(before):
            arrivals = after[j:]
            cells = [(r, c) for r, c, _, _ in arrivals]
            if len(set(cells)) != len(cells):
                return
            for r, c, heading, speed in arrivals:
                if (
                    rules.entries.get((r, c)) != heading
                    or (r, c) in occupied
                    or speed not in speeds
                ):
                    return
            # from beyond the edge during the tick, on the entry cell at its end
            yield [
                [(Fraction(0), ahead(cell, (rules.entries[cell] + 2) % 4)), (Fraction(1), cell)]
                for cell in cells
            ]
            return
        r, c, heading, speed = before[i]
        occupied.discard((r, c))
        for path, end in drives(rules, (r, c), heading, speed, occupied):
            trajectory = [(Fraction(k, speed), point) for k, point in enumerate(path)]
            if end is None:
                rest = explain(i + 1, j)
            elif j < len(after) and tuple(after[j]) == (*end[0], end[1], speed):
                occupied.add(end[0])
                rest = list(explain(i + 1, j + 1))
                occupied.discard(end[0])
            else:
                continue
            for others in rest:
                yield [trajectory, *others]
        occupied.add((r, c))

    yield from explain(0, 0)


def first_meeting(car: Trajectory, p0: Cell, p1: Cell) -> Fraction | None:
    """The first time in [0, 1] at which the car and the pedestrian are at one point, if any.

    The pedestrian walks from ``p0`` at time 0 to ``p1`` at time 1; the car moves
    linearly between its trajectory's points and stands at the last one afterwards.
    """
    knots = list(car)
    if knots[-1][0] < 1:
        knots.append((Fraction(1), knots[-1][1]))
    for (ta, a), (tb, b) in zip(knots[:-1], knots[1:], strict=True):
        if ta >= 1:
            break
        tb_clipped = min(tb, Fraction(1))

        # the piece's ends bound as defaults, so that ``gap`` reads this piece's, not the last
        def gap(t: Fraction, a=a, b=b, ta=ta, tb=tb) -> tuple[Fraction, Fraction]:
            car_at = [a[i] + (b[i] - a[i]) * (t - ta) / (tb - ta) for i in (0, 1)]
            return car_at[0] - (p0[0] + (p1[0] - p0[0]) * t), car_at[1] - (
                p0[1] + (p1[1] - p0[1]) * t
            )

        # the gap is linear on the piece: find where both coordinates are 0
        start, end = gap(ta), gap(tb_clipped)
        times: set[Fraction] | None = None  # None: every time of the piece
        for g0, g1 in zip(start, end, strict=True):
            if g0 == g1:
                if g0 != 0:
                    times = set()
                continue
            s = g0 / (g0 - g1)
            root = {ta + s * (tb_clipped - ta)} if 0 <= s <= 1 else set()
            times = root if times is None else times & root
        if times is None:
            return ta
        if times:
            return min(times)
    return None


def referee_tick(
    rules: Rules, before, after, speeds, p0: Cell, p1: Cell
) -> tuple[set[bool], Fraction | None]:
    """The verdicts (death or not) of every explanation of the tick, and the first meeting."""
    verdicts, first = set(), None
    for count, trajectories in enumerate(explanations(rules, before, after, speeds)):
        if count >= MOST_EXPLANATIONS:
            break
        times = [
            first_meeting(trajectory, p0, p1)
            for trajectory in trajectories
            if near(trajectory, p0, p1)
        ]
        times = [t for t in times if t is not None]
        verdicts.add(bool(times))
        if times:
            first = min(times) if first is None else min(first, min(times))
    return verdicts, first


def near(trajectory: Trajectory, p0: Cell, p1: Cell) -> bool:
    """Whether the car's and the pedestrian's bounding boxes touch (else they cannot meet)."""
    rows = [point[0] for _, point in trajectory]
    cols = [point[1] for _, point in trajectory]
    return (
        min(rows) <= max(p0[0], p1[0])
        and max(rows) >= min(p0[0], p1[0])
        and min(cols) <= max(p0[1], p1[1])
        and max(cols) >= min(p0[1], p1[1])
    )


def test_the_referee_sees_each_kind_of_meeting():
    car = [
        (Fraction(0), (0, 0)),
        (Fraction(1, 2), (0, 1)),
        (Fraction(1), (0, 2)),
    ]  # 2 cells a tick, east
    assert first_meeting(car, (0, 1), (0, 1)) == Fraction(
        1, 2
    )  # drives through a standing pedestrian
    assert first_meeting(car, (0, 2), (0, 1)) == Fraction(2, 3)  # head-on
    assert first_meeting(car, (0, 1), (0, 0)) == Fraction(1, 3)  # walks into it
    assert first_meeting(car, (1, 1), (0, 1)) is None  # arrives as the car has passed
    assert first_meeting(car, (0, 1), (0, 2)) == Fraction(1)  # runs into it from behind at the end
    assert first_meeting(car, (1, 2), (0, 2)) == Fraction(1)  # they end on one cell
    slow = [(Fraction(0), (0, 0)), (Fraction(1), (0, 1))]
    assert first_meeting(slow, (0, 1), (0, 0)) == Fraction(1, 2)  # swapping cells
    assert first_meeting(slow, (0, 1), (1, 1)) is None  # leaves as the car arrives
    held = [(Fraction(0), (0, 0)), (Fraction(1, 2), (0, 1))]  # a fast car held up after a cell
    assert first_meeting(held, (1, 1), (0, 1)) == Fraction(1)
    assert first_meeting(held, (0, 1), (1, 1)) is None


WALKS = [
    # (map, traffic override or None, seed, ticks)
    ("train", None, 0, 4000),
    ("new", None, 1, 4000),
    ("new", {"entry_rate": 0.35, "speed_weights": (1.0, 2.0)}, 2, 2000),
    ("random:3", {"entry_rate": 0.3}, 3, 2000),
    ("random:8", None, 4, 3000),
    (
        "random:11:30x34",
        {"entry_rate": 0.3, "speeds": (1, 2), "speed_weights": (1.0, 1.0)},
        5,
        1500,
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize("map_name, traffic, seed, ticks", WALKS)
def test_every_death_and_every_safe_tick_is_the_referees_verdict(map_name, traffic, seed, ticks):
    env = CityNavEnv(
        map_name, traffic=traffic, max_steps=80, sight="full"
    )  # the referee needs every car
    rules = Rules(env.city_map.grid)
    speeds = set(env.traffic.speeds)
    rng = np.random.default_rng(seed)
    _, info = env.reset(seed=seed)
    disagreements, ambiguous, deaths, mid_tick = [], 0, 0, 0
    for tick in range(ticks):
        before, p0 = info["cars"].tolist(), info["position"]
        action = int(rng.integers(5))
        _, _, terminated, truncated, info = env.step(action)
        p1 = rules.walk(p0, action)
        assert info["position"] == p1, (tick, p0, action)
        verdicts, first = referee_tick(rules, before, info["cars"].tolist(), speeds, p0, p1)
        assert verdicts, (
            f"tick {tick}: no way for the cars to have moved by the rules: "
            f"{before} -> {info['cars']}"
        )
        if len(verdicts) > 1:
            ambiguous += 1
        elif verdicts != {info["death"]}:
            disagreements.append((tick, p0, p1, info["death"], before, info["cars"].tolist()))
        deaths += info["death"]
        mid_tick += first is not None and first < 1
        if terminated or truncated:
            _, info = env.reset()
    print(
        f"{map_name}: {ticks} ticks, {deaths} deaths ({mid_tick} met mid-tick), "
        f"{ambiguous} ambiguous"
    )
    assert not disagreements, disagreements[:3]
    assert ambiguous <= ticks // 100
    assert deaths >= 10 and mid_tick >= 1
