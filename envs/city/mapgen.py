"""Procedural cities: the maps behind the names ``random:SEED``.

A city is a few straight roads across a rectangle of buildings. Each road is one lane
(one-way, either direction) or two (two-way, driving on the right). Some roads stop at
a crossing road (a T-junction); zebra crossings sit beside some intersections; a block
may be an open square. Sidewalks line every road. The same seed gives the same city;
the generator draws from its own ``numpy.random.Generator`` seeded with SEED.

``random:SEED`` is 20 to 24 cells a side; ``random:SEED:ROWSxCOLS`` has the size given
(``MIN_SIZE`` to ``MAX_SIZE`` a side) and about one road per 7 cells across each axis.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from envs.city.citymap import CityMap
from envs.city.mapformat import (
    BUILDING,
    CROSSING_CHARS,
    INTERSECTION,
    LANE_CHARS,
    SIDEWALK,
    MapError,
    Traffic,
)

MIN_SIZE, MAX_SIZE = 12, 1000  #: cells a side of a generated city with a given size

_CROSSING_OF = {
    lane: crossing
    for lane, h in LANE_CHARS.items()
    for crossing, hc in CROSSING_CHARS.items()
    if h == hc
}


@dataclass(frozen=True)
class Road:
    """A straight road: its lanes side by side and the stretch it spans."""

    horizontal: bool  #: True: runs west-east along rows; False: north-south along columns
    first: int  #: row (horizontal) or column (vertical) of its first lane
    lanes: str  #: lane characters from north to south (horizontal) or west to east (vertical)
    start: int = 0  #: first column (horizontal) or row (vertical) it covers
    stop: int | None = None  #: one past the last; None: to the map edge

    def cells(self, rows: int, cols: int) -> list[tuple[int, int, str]]:
        stop = self.stop if self.stop is not None else (cols if self.horizontal else rows)
        out = []
        for offset, lane in enumerate(self.lanes):
            for along in range(self.start, stop):
                r, c = (
                    (self.first + offset, along)
                    if self.horizontal
                    else (along, self.first + offset)
                )
                out.append((r, c, lane))
        return out


def build_city(
    rows: int,
    cols: int,
    roads: list[Road],
    *,
    name: str,
    traffic: Traffic,
    crossings: Sequence[tuple[int, int]] = (),
    squares: Sequence[tuple[int, int, int, int]] = (),
    description: str = "",
) -> CityMap:
    """Paint ``roads`` on a block of buildings, line them with sidewalks, and check it.

    ``crossings`` are lane cells made zebra crossings; ``squares`` are rectangles
    ``(row0, col0, row1, col1)`` (inclusive) of open sidewalk instead of buildings.
    """
    grid = np.full((rows, cols), BUILDING)
    for road in roads:
        for r, c, lane in road.cells(rows, cols):
            grid[r, c] = (
                INTERSECTION if grid[r, c] in LANE_CHARS or grid[r, c] == INTERSECTION else lane
            )
    is_road = grid != BUILDING
    padded = np.pad(is_road, 1)
    near_road = np.zeros_like(is_road)
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            near_road |= padded[1 + dr : 1 + dr + rows, 1 + dc : 1 + dc + cols]
    grid[near_road & ~is_road] = SIDEWALK
    for r0, c0, r1, c1 in squares:
        block = grid[r0 : r1 + 1, c0 : c1 + 1]
        block[block == BUILDING] = SIDEWALK
    for r, c in crossings:
        if grid[r, c] in _CROSSING_OF:
            grid[r, c] = _CROSSING_OF[grid[r, c]]
    return CityMap(
        name=name,
        grid=tuple("".join(row) for row in grid),
        traffic=traffic,
        description=description,
        source=f"<generated city {name}>",
    )


def _place_roads(rng: np.random.Generator, length: int) -> list[tuple[int, int]]:
    """(first index, lane count) of the roads across one axis of ``length`` cells."""
    # a road and the block beside it take about 7 cells: one road more per 7 cells beyond 22
    # (none up to 28 cells, so the 20-24 cell cities of random:SEED stay as they were)
    extra_roads = max(0, (length - 22) // 7)
    # a longer axis needs more one-cell nudges of its blocks to add up; 200 made the 20-24
    # cell cities and stays for them
    nudges = max(200, 2 * length)
    while True:
        n_roads = extra_roads + (3 if rng.random() < (0.6 if length >= 22 else 0.3) else 2)
        lanes = [2 if rng.random() < 0.6 else 1 for _ in range(n_roads)]
        bounds = [(2, 5)] + [(3, 8)] * (n_roads - 1) + [(2, 5)]  # edge blocks, inner blocks
        blocks = [int(rng.integers(lo, hi + 1)) for lo, hi in bounds]
        for _ in range(nudges):
            diff = length - sum(lanes) - sum(blocks)
            if diff == 0:
                break
            step = 1 if diff > 0 else -1
            index = int(rng.integers(len(blocks)))
            if bounds[index][0] <= blocks[index] + step <= bounds[index][1]:
                blocks[index] += step
        if length - sum(lanes) - sum(blocks) == 0:
            break
    placed, at = [], blocks[0]
    for n_lanes, block in zip(lanes, blocks[1:], strict=True):
        placed.append((at, n_lanes))
        at += n_lanes + block
    return placed


def _random_city(rng: np.random.Generator, name: str, size: tuple[int, int] | None) -> CityMap:
    rows, cols = (int(n) for n in rng.integers(20, 25, size=2)) if size is None else size
    horizontal = _place_roads(rng, rows)
    vertical = _place_roads(rng, cols)
    roads = []
    for first, n_lanes in horizontal:
        lanes = "<>" if n_lanes == 2 else str(rng.choice(["<", ">"]))
        roads.append(Road(True, first, lanes))
    for index, (first, n_lanes) in enumerate(vertical):
        lanes = "v^" if n_lanes == 2 else str(rng.choice(["v", "^"]))
        start, stop = 0, None
        # one road may end at a crossing road (a T-junction), as long as another spans the map
        if index == len(vertical) - 1 and rng.random() < 0.4:
            meet_first, meet_lanes = horizontal[int(rng.integers(len(horizontal)))]
            if rng.random() < 0.5:
                stop = meet_first + meet_lanes
            else:
                start = meet_first
        roads.append(Road(False, first, lanes, start, stop))
    crossings = []
    for road in roads:
        for other in roads:
            if other.horizontal == road.horizontal or rng.random() < 0.5:
                continue
            # the lane cells of ``road`` just before and after where ``other`` crosses it
            other_stop = (
                other.stop if other.stop is not None else (cols if other.horizontal else rows)
            )
            if not other.start <= road.first < other_stop:
                continue  # a T-junction road that stops short of ``road``
            for along in (other.first - 1, other.first + len(other.lanes)):
                for offset in range(len(road.lanes)):
                    across = road.first + offset
                    cell = (across, along) if road.horizontal else (along, across)
                    if 0 <= cell[0] < rows and 0 <= cell[1] < cols:
                        crossings.append(cell)
    squares = []
    if rng.random() < 0.4:
        r0, c0 = int(rng.integers(0, rows - 4)), int(rng.integers(0, cols - 4))
        squares.append((r0, c0, r0 + int(rng.integers(2, 5)), c0 + int(rng.integers(2, 5))))
    traffic = Traffic(
        entry_rate=round(float(rng.uniform(0.06, 0.14)), 3),
        speeds=(1, 2),
        speed_weights=(1.0, round(float(rng.uniform(0.2, 0.7)), 3)),
        turn_probability=round(float(rng.uniform(0.1, 0.4)), 3),
    )
    return build_city(
        rows,
        cols,
        roads,
        name=name,
        traffic=traffic,
        crossings=crossings,
        squares=squares,
        description="procedural city",
    )


def generate_city(seed: int, size: tuple[int, int] | None = None) -> CityMap:
    """The city ``random:SEED`` (20 to 24 rows and columns), or ``random:SEED:ROWSxCOLS``
    of ``size = (rows, cols)``, each from ``MIN_SIZE`` to ``MAX_SIZE``."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed {seed!r}: expected a non-negative integer")
    if size is not None:
        if len(size) != 2 or not all(
            isinstance(n, (int, np.integer)) and MIN_SIZE <= n <= MAX_SIZE for n in size
        ):
            raise ValueError(
                f"size {size!r}: "
                f"expected (rows, cols), each an integer from {MIN_SIZE} to {MAX_SIZE}"
            )
        size = (int(size[0]), int(size[1]))
    rng = np.random.default_rng(seed)
    name = f"random:{seed}" if size is None else f"random:{seed}:{size[0]}x{size[1]}"
    for _ in range(100):
        try:
            return _random_city(rng, name, size)
        except MapError:
            continue  # a rare unlucky layout (e.g. a T-junction with no way to turn): draw again
    raise MapError(
        f"<generated city {name}>",
        1,
        1,
        "no valid layout in 100 draws; expected another seed or size to work",
    )
