"""Compiling a city map's grid: check that it is a city cars can drive through, and derive
from it the cell arrays, the entries and exits, and the moves a car may make from each
cell (the traffic rules of ``envs/city/citymap.py``). Errors name the file, line and
column of the cell at fault.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from envs.city.mapformat import (
    BUILDING,
    CROSSING_CHARS,
    HEADING_NAMES,
    HEADING_STEPS,
    INTERSECTION,
    LANE_CHARS,
    LEGEND,
    SIDEWALK,
    CarMove,
    Cell,
    MapError,
)

#: a car's state while compiling: (row, col, heading)
State = tuple[int, int, int]
#: makes the error about the cell at (row, col) of the grid
Fail = Callable[[int, int, str], MapError]


@dataclass(frozen=True)
class CompiledGrid:
    """What a grid compiles to (see :class:`~envs.city.citymap.CityMap` for the arrays)."""

    arrays: dict[str, np.ndarray]  #: name -> read-only (rows, cols) array
    entry_cells: tuple[Cell, ...]  #: lanes at the map edge pointing into it, row-major
    exit_cells: tuple[Cell, ...]  #: cells from which a car may leave the map, row-major
    moves: dict[State, tuple[CarMove, ...]]  #: the car moves worked out while checking


def compile_grid(grid: Sequence[str], source: str, first_line: int) -> CompiledGrid:
    """Check ``grid`` (whose first row is line ``first_line`` of ``source``) and derive
    what a :class:`~envs.city.citymap.CityMap` holds; a bad grid raises :class:`MapError`."""

    def fail(row: int, col: int, message: str) -> MapError:
        return MapError(source, first_line + row, col + 1, message)

    _check_cells(grid, fail)
    arrays = _cell_arrays(grid)
    if not arrays["sidewalk"].any():
        raise fail(
            0,
            0,
            "no sidewalk; expected at least one '.' cell for the pedestrian to start and end on",
        )
    heading = arrays["lane_heading"]
    _check_lanes_lead_on(grid, heading, fail)
    entries = _entry_cells(heading)
    if not entries:
        raise fail(0, 0, "no road entry; expected a lane at the map edge pointing into the map")
    moves: dict[State, tuple[CarMove, ...]] = {}
    exits = _check_cars_can_leave(arrays["lane_heading"], arrays["intersection"], moves, fail)
    return CompiledGrid(arrays, entries, exits, moves)


def car_moves_at(
    lane_heading: np.ndarray, intersection: np.ndarray, r: int, c: int, heading: int
) -> tuple[CarMove, ...]:
    """The moves of a car at (r, c) with ``heading``: (next cell or None, heading, is_turn)."""
    rows, cols = lane_heading.shape

    def look(h: int) -> tuple[Cell | None, int, int]:
        nr, nc = r + HEADING_STEPS[h][0], c + HEADING_STEPS[h][1]
        if not (0 <= nr < rows and 0 <= nc < cols):
            return None, -1, 0
        return (nr, nc), int(lane_heading[nr, nc]), int(intersection[nr, nc])

    if lane_heading[r, c] >= 0:
        nxt, ahead_heading, ahead_is_intersection = look(heading)
        if nxt is None:
            return ((None, heading, False),)
        if ahead_is_intersection:
            return ((nxt, heading, False),)
        if ahead_heading >= 0 and ahead_heading != (heading + 2) % 4:
            return ((nxt, ahead_heading, False),)
        return ()
    moves: list[CarMove] = []
    nxt, ahead_heading, ahead_is_intersection = look(heading)
    if nxt is None or ahead_is_intersection or ahead_heading == heading:
        moves.append((nxt, heading, False))
    for turn in ((heading + 1) % 4, (heading + 3) % 4):  # right, then left
        nxt, side_heading, _ = look(turn)
        if nxt is not None and side_heading == turn:
            moves.append((nxt, turn, True))
    return tuple(moves)


def _check_cells(grid: Sequence[str], fail: Fail) -> None:
    """Every row a string of legend characters, all as wide as the first."""
    for r, row in enumerate(grid):
        if not isinstance(row, str):
            raise fail(
                r,
                0,
                f"row of type {type(row).__name__}; expected a string of cells (legend: {LEGEND})",
            )
    if not grid or not grid[0]:
        raise fail(0, 0, "empty map; expected rows of cells (legend: " + LEGEND + ")")
    width = len(grid[0])
    for r, row in enumerate(grid):
        if len(row) != width:
            raise fail(
                r,
                min(len(row), width),
                f"row has {len(row)} cells; expected {width} like the first row",
            )
        for c, ch in enumerate(row):
            if ch not in LEGEND:
                raise fail(r, c, f"unknown character {ch!r}; expected one of {' '.join(LEGEND)}")


def _cell_arrays(grid: Sequence[str]) -> dict[str, np.ndarray]:
    """The derived (rows, cols) arrays of the grid, read-only."""
    chars = np.array([list(row) for row in grid])
    heading = np.full(chars.shape, -1, dtype=np.int8)
    for table in (LANE_CHARS, CROSSING_CHARS):
        for ch, h in table.items():
            heading[chars == ch] = h
    arrays = {
        "blocked": chars == BUILDING,
        "walkable": chars != BUILDING,
        "sidewalk": chars == SIDEWALK,
        "lane": heading >= 0,
        "crossing": np.isin(chars, list(CROSSING_CHARS)),
        "intersection": chars == INTERSECTION,
        "road": (heading >= 0) | (chars == INTERSECTION),
        "lane_heading": heading,
    }
    for array in arrays.values():
        array.setflags(write=False)
    return arrays


def _lane_cells(heading: np.ndarray) -> list[tuple[int, int, int]]:
    """(row, col, heading) of every lane cell, row-major."""
    return [
        (int(r), int(c), int(heading[r, c])) for r, c in zip(*np.nonzero(heading >= 0), strict=True)
    ]


def _check_lanes_lead_on(grid: Sequence[str], heading: np.ndarray, fail: Fail) -> None:
    """Every lane leads somewhere: the map edge, an intersection, or a lane not facing it."""
    rows, cols = heading.shape
    for r, c, h in _lane_cells(heading):
        nr, nc = r + HEADING_STEPS[h][0], c + HEADING_STEPS[h][1]
        if not (0 <= nr < rows and 0 <= nc < cols):
            continue
        ahead = grid[nr][nc]
        what = f"lane {grid[r][c]!r} heading {HEADING_NAMES[h]}"
        if ahead == BUILDING:
            raise fail(
                r,
                c,
                f"{what} points into a building; "
                "expected a lane, an intersection or the map edge ahead",
            )
        if ahead == SIDEWALK:
            raise fail(
                r,
                c,
                f"{what} ends at a sidewalk (dead end); "
                "expected a lane, an intersection or the map edge ahead",
            )
        if heading[nr, nc] == (h + 2) % 4:
            raise fail(
                r,
                c,
                f"{what} points head-on into the opposite lane {ahead!r}; "
                "expected a lane not facing it",
            )


def _entry_cells(heading: np.ndarray) -> tuple[Cell, ...]:
    """The lanes at the map edge pointing into the map, row-major."""
    rows, cols = heading.shape
    entries = []
    for r, c, h in _lane_cells(heading):
        br, bc = r - HEADING_STEPS[h][0], c - HEADING_STEPS[h][1]
        if not (0 <= br < rows and 0 <= bc < cols):
            entries.append((r, c))
    return tuple(entries)


def _check_cars_can_leave(
    heading: np.ndarray,
    intersection: np.ndarray,
    moves: dict[State, tuple[CarMove, ...]],
    fail: Fail,
) -> tuple[Cell, ...]:
    """Every state a car can be in has a way on, and a way off the map; returns the
    cells from which a car may leave it, row-major. Fills ``moves`` on the way."""
    graph, exits = _car_state_graph(heading, intersection, moves, fail)
    reverse: dict[State, list[State]] = {s: [] for s in graph}
    for state, nexts in graph.items():
        for nxt in nexts:
            reverse[nxt].append(state)
    can_leave = set(exits)
    frontier = deque(exits)
    while frontier:
        for prev in reverse[frontier.popleft()]:
            if prev not in can_leave:
                can_leave.add(prev)
                frontier.append(prev)
    trapped = sorted(s for s in graph if s not in can_leave)
    if trapped:
        r, c, _ = trapped[0]
        raise fail(
            r,
            c,
            "cars here can never leave the map (a closed loop); expected a route to the map edge",
        )
    return tuple(sorted({(r, c) for r, c, _ in exits}))


def _car_state_graph(
    heading: np.ndarray,
    intersection: np.ndarray,
    moves: dict[State, tuple[CarMove, ...]],
    fail: Fail,
) -> tuple[dict[State, list[State]], set[State]]:
    """The states a car can reach from the lanes, each with the states one move on, and
    the states from which it may leave the map; a state with no move fails."""
    states = deque(_lane_cells(heading))
    graph: dict[State, list[State]] = {}
    exits: set[State] = set()
    while states:
        state = states.popleft()
        if state in graph:
            continue
        if state not in moves:
            moves[state] = car_moves_at(heading, intersection, *state)
        if not moves[state]:
            r, c, h = state
            raise fail(
                r,
                c,
                f"cars heading {HEADING_NAMES[h]} into this intersection have no way out; "
                "expected a way straight on, or a lane leaving to the left or right",
            )
        graph[state] = []
        for nxt, h, _ in moves[state]:
            if nxt is None:
                exits.add(state)
            else:
                graph[state].append((*nxt, h))
                states.append((*nxt, h))
    return graph, exits
