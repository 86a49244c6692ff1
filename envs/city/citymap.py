"""City maps as data: buildings, sidewalks, one-way lanes, and the rules cars follow.

A map is a text file, one character per cell (row 0 is the north edge, column 0 the
west edge):

======  ============================================================================
char    cell
======  ============================================================================
``#``   building: nobody walks or drives here
``.``   sidewalk: the pedestrian walks here, cars never come here
``^``   lane, traffic heading north (row - 1)
``>``   lane, traffic heading east (column + 1)
``v``   lane, traffic heading south (row + 1)
``<``   lane, traffic heading west (column - 1)
``N``   pedestrian crossing (zebra) on a lane heading north; ``E``, ``S``, ``W`` alike.
        For cars a crossing is a lane like any other: they do not stop for it.
``+``   intersection: cars keep their heading across it, or turn off it onto a lane
======  ============================================================================

The pedestrian may stand on every cell but a building. An optional header above the
grid sets the map's name and its published (nominal) traffic::

    ; comment lines start with ';'
    [city]
    name = train
    description = a small city to learn in
    sight = 4                    ; optional: what anyone sees of the traffic, in cells, or full
    [traffic]
    entry_rate = 0.1             ; chance per entry cell per tick that a car drives in
    speeds = 1 2                 ; cells per tick a car may drive
    speed_weights = 0.7 0.3      ; how often each speed is drawn
    turn_probability = 0.25      ; chance a car turns where it may go straight or turn
    [grid]
    ##..v^..##
    ...

A file without a ``[grid]`` line is all grid (its name is the file's stem). ``sight``
is the map's default sight radius (the Chebyshev radius, in cells, of the window in
which anyone sees the cars; ``full``: the whole map), used by CityNav-v1 when it is not
given one; without it the env's default holds.

Traffic rules (what a model of the cars needs; the env follows them exactly):

* **Headings** are 0 north, 1 east, 2 south, 3 west. A car on a lane has the lane's
  heading; on an intersection it keeps the heading it drove in with.
* **Moves** (:meth:`CityMap.successors`): from a lane a car drives to the cell ahead,
  taking that lane's heading (so a lane may bend) or keeping its own on an intersection;
  ahead of a lane at the map edge, it leaves the map. From an intersection it may drive
  straight on (into an intersection, into a lane of its heading, or off the map), or
  turn left or right, but only onto a lane heading that way. No U-turns.
* **Choices**: where straight and turns are both allowed, a car turns with probability
  ``turn_probability`` (the turns equally likely), else it goes straight; where only
  turns are allowed, they are equally likely. A fresh choice is made on every attempt
  to leave a cell.
* **Ticks**: cars move one after another, oldest first (the order of ``info["cars"]``);
  each drives up to its speed cell by cell, and stops short of a cell holding another
  car. Cars never yield to the pedestrian.
* **Entries** (:attr:`CityMap.entry_cells`) are lanes at the map edge pointing into the
  map. After the cars have moved, each entry independently receives a new car with
  probability ``entry_rate`` (if the entry cell is free, else that car never comes);
  its speed is drawn from ``speeds`` with ``speed_weights``. It drives in from beyond
  the edge during the tick and stands on the entry cell at its end.

Loading bad data fails with :class:`MapError` naming the file, line and column and
what was expected: text that is not UTF-8, a malformed header, a bad grid, or a
``random:SEED`` name with a bad seed or size. Maps round-trip:
``CityMap.from_text(m.to_text()) == m`` and ``CityMap.from_dict(m.to_dict()) == m``.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

NORTH, EAST, SOUTH, WEST = 0, 1, 2, 3
HEADING_NAMES = ("north", "east", "south", "west")
#: heading -> (row step, column step)
HEADING_STEPS = ((-1, 0), (0, 1), (1, 0), (0, -1))

BUILDING, SIDEWALK, INTERSECTION = "#", ".", "+"
LANE_CHARS = {"^": NORTH, ">": EAST, "v": SOUTH, "<": WEST}
CROSSING_CHARS = {"N": NORTH, "E": EAST, "S": SOUTH, "W": WEST}
LEGEND = BUILDING + SIDEWALK + INTERSECTION + "".join(LANE_CHARS) + "".join(CROSSING_CHARS)

MAPS_DIR = Path(__file__).parent / "maps"
MAX_CAR_SPEED = 2  #: cells per tick; the observation scales car speed by it
FULL_SIGHT = "full"  #: a sight that covers the whole map

Cell = tuple[int, int]
#: one move a car may make: the cell it drives into (None: it leaves the map) and its heading there
Move = tuple[Cell | None, int]


class MapError(ValueError):
    """A malformed city map: says where (file, line, column) and what was expected."""

    def __init__(self, file: str, line: int, column: int, message: str):
        self.file, self.line, self.column = file, line, column
        super().__init__(f"{file}:{line}:{column}: {message}")


@dataclass(frozen=True)
class Traffic:
    """How much traffic a city has and how it drives (see the module doc for the rules)."""

    entry_rate: float = 0.1  #: probability per entry cell per tick that a car drives in
    speeds: tuple[int, ...] = (1,)  #: the speeds a car may have, cells per tick (1 or 2)
    speed_weights: tuple[float, ...] = (1.0,)  #: relative frequency of each speed
    turn_probability: float = 0.25  #: chance to turn where a car may go straight or turn

    def __post_init__(self) -> None:
        object.__setattr__(self, "speeds", tuple(int(s) for s in self.speeds))
        object.__setattr__(self, "speed_weights", tuple(float(w) for w in self.speed_weights))
        object.__setattr__(self, "entry_rate", float(self.entry_rate))
        object.__setattr__(self, "turn_probability", float(self.turn_probability))
        for name in ("entry_rate", "turn_probability"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(
                    f"{name} = {getattr(self, name)}: expected a probability in [0, 1]"
                )
        if not self.speeds or any(s not in range(1, MAX_CAR_SPEED + 1) for s in self.speeds):
            raise ValueError(
                f"speeds = {self.speeds}: expected speeds of 1 to {MAX_CAR_SPEED} cells per tick"
            )
        if len(self.speed_weights) != len(self.speeds):
            raise ValueError(
                f"speed_weights = {self.speed_weights}: expected one weight per speed {self.speeds}"
            )
        if not all(0 <= w < math.inf for w in self.speed_weights) or sum(self.speed_weights) <= 0:
            raise ValueError(
                f"speed_weights = {self.speed_weights}: expected finite non-negative weights, not all 0"
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "entry_rate": self.entry_rate,
            "speeds": list(self.speeds),
            "speed_weights": list(self.speed_weights),
            "turn_probability": self.turn_probability,
        }


_HEADER_KEYS = {
    "city": ("name", "description", "sight"),
    "traffic": ("entry_rate", "speeds", "speed_weights", "turn_probability"),
}


@dataclass(frozen=True)
class CityMap:
    """A city: the grid (one string per row, see the legend) and its published traffic.

    Derived arrays, all of shape ``(rows, cols)`` and read-only: :attr:`blocked`
    (buildings), :attr:`walkable` (everything else), :attr:`sidewalk`, :attr:`lane`
    (lanes and crossings), :attr:`crossing`, :attr:`intersection`, :attr:`road` (lanes
    and intersections: where cars may be) and :attr:`lane_heading` (0-3 on lanes, -1
    elsewhere). Cells are ``(row, col)`` tuples.
    """

    name: str
    grid: tuple[str, ...]
    traffic: Traffic = Traffic()
    description: str = ""
    #: the default sight radius (cells, >= 0) or ``"full"``; None: the env's default
    sight: int | str | None = None
    #: where the map came from (a file, ``<string>``, ``<generated city random:7>``) and the
    #: line of its first grid row: errors about the map as a whole point there
    source: str = field(default="<CityMap>", compare=False, repr=False)
    first_grid_line: int = field(default=1, compare=False, repr=False)

    blocked: np.ndarray = field(init=False, repr=False, compare=False)
    walkable: np.ndarray = field(init=False, repr=False, compare=False)
    sidewalk: np.ndarray = field(init=False, repr=False, compare=False)
    lane: np.ndarray = field(init=False, repr=False, compare=False)
    crossing: np.ndarray = field(init=False, repr=False, compare=False)
    intersection: np.ndarray = field(init=False, repr=False, compare=False)
    road: np.ndarray = field(init=False, repr=False, compare=False)
    lane_heading: np.ndarray = field(init=False, repr=False, compare=False)
    #: lanes at the map edge pointing into it, row-major; a new car's heading is the lane's
    entry_cells: tuple[Cell, ...] = field(init=False, repr=False, compare=False)
    #: cells from which a car may leave the map, row-major
    exit_cells: tuple[Cell, ...] = field(init=False, repr=False, compare=False)
    _moves: dict[tuple[int, int, int], tuple[tuple[Cell | None, int, bool], ...]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "grid", tuple(self.grid))
        if isinstance(self.traffic, dict):
            object.__setattr__(self, "traffic", Traffic(**self.traffic))
        object.__setattr__(self, "sight", checked_sight(self.sight, allow_none=True))
        _compile(self, self.source, self.first_grid_line)

    # -- shape and geometry --------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols)."""
        return len(self.grid), len(self.grid[0])

    @property
    def n_rows(self) -> int:
        return len(self.grid)

    @property
    def n_cols(self) -> int:
        return len(self.grid[0])

    def in_bounds(self, cell: Cell) -> bool:
        return 0 <= cell[0] < self.n_rows and 0 <= cell[1] < self.n_cols

    @staticmethod
    def neighbor(cell: Cell, heading: int) -> Cell:
        """The cell one step from ``cell`` towards ``heading`` (may be off the map)."""
        dr, dc = HEADING_STEPS[heading]
        return cell[0] + dr, cell[1] + dc

    def char(self, cell: Cell) -> str:
        return self.grid[cell[0]][cell[1]]

    # -- the lane graph ------------------------------------------------------------------

    def successors(self, cell: Cell, heading: int) -> tuple[Move, ...]:
        """Where a car on ``cell`` travelling ``heading`` may drive next, one cell on.

        Returns ``((next_cell, next_heading), ...)``, straight on first; ``next_cell`` is
        None where the car leaves the map. On a lane the car's heading is the lane's and
        the ``heading`` argument is ignored. Raises ValueError off the road.
        """
        return tuple((nxt, h) for nxt, h, _ in self.car_moves(cell, heading))

    def move_probabilities(
        self, cell: Cell, heading: int, turn_probability: float | None = None
    ) -> tuple[tuple[Cell | None, int, float], ...]:
        """:meth:`successors` with the chance of each, ``((next_cell, next_heading, p), ...)``.

        ``turn_probability`` defaults to the map's published one.
        """
        p_turn = self.traffic.turn_probability if turn_probability is None else turn_probability
        moves = self.car_moves(cell, heading)
        n_turns = sum(is_turn for _, _, is_turn in moves)
        if n_turns == len(moves):
            return tuple((nxt, h, 1.0 / n_turns) for nxt, h, _ in moves)
        if n_turns == 0:
            return ((moves[0][0], moves[0][1], 1.0),)
        return tuple(
            (nxt, h, p_turn / n_turns if is_turn else 1.0 - p_turn) for nxt, h, is_turn in moves
        )

    def car_moves(self, cell: Cell, heading: int) -> tuple[tuple[Cell | None, int, bool], ...]:
        """:meth:`successors` with a flag for each: ``((next_cell, next_heading, is_turn), ...)``."""
        r, c = int(cell[0]), int(cell[1])
        if not (self.in_bounds((r, c)) and self.road[r, c]):
            raise ValueError(
                f"cell {cell} of map {self.name!r} is not a road cell; cars drive only on roads"
            )
        if self.lane[r, c]:
            heading = int(self.lane_heading[r, c])
        key = (r, c, int(heading))
        if key not in self._moves:
            self._moves[key] = _raw_moves(self, r, c, int(heading))
        return self._moves[key]

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # infos carry the map on every step; across processes it travels as its text
        # fields and arrives as the one shared object for that map
        return _shared_city, (self.name, self.grid, self.traffic, self.description, self.sight)

    # -- text and dict forms -------------------------------------------------------------

    @classmethod
    def from_text(cls, text: str, source: str = "<string>") -> CityMap:
        """Parse a map file's text; ``source`` names the file in error messages."""
        return _parse(text, source)

    @classmethod
    def load(cls, path: str | Path) -> CityMap:
        """Read a map file (UTF-8, an optional byte-order mark allowed)."""
        path = Path(path)
        return _parse(_decoded(path.read_bytes(), str(path)), str(path))

    def to_text(self) -> str:
        lines = ["[city]", f"name = {self.name}"]
        if self.description:
            lines.append(f"description = {self.description}")
        if self.sight is not None:
            lines.append(f"sight = {self.sight}")
        t = self.traffic
        lines += [
            "[traffic]",
            f"entry_rate = {t.entry_rate!r}",
            "speeds = " + " ".join(str(s) for s in t.speeds),
            "speed_weights = " + " ".join(repr(w) for w in t.speed_weights),
            f"turn_probability = {t.turn_probability!r}",
            "[grid]",
            *self.grid,
        ]
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        data = {
            "name": self.name,
            "description": self.description,
            "grid": list(self.grid),
            "traffic": self.traffic.to_dict(),
        }
        if self.sight is not None:
            data["sight"] = self.sight
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<dict>") -> CityMap:
        if not isinstance(data, dict) or "name" not in data or "grid" not in data:
            raise MapError(
                source,
                1,
                1,
                "expected a dict with 'name' and 'grid' (and optionally 'traffic', 'description', 'sight')",
            )
        try:
            traffic = Traffic(**data.get("traffic", {}))
        except (TypeError, ValueError) as error:
            raise MapError(source, 1, 1, f"bad traffic: {error}") from None
        grid = data["grid"]
        if isinstance(grid, str) or not isinstance(grid, (list, tuple)):
            raise MapError(
                source, 1, 1, f"grid of type {type(grid).__name__}: expected a list of row strings"
            )
        try:
            sight = checked_sight(data.get("sight"), allow_none=True)
        except ValueError as error:
            raise MapError(source, 1, 1, str(error)) from None
        return cls(
            name=str(data["name"]),
            grid=tuple(grid),
            traffic=traffic,
            description=str(data.get("description", "")),
            sight=sight,
            source=source,
        )


def checked_sight(value: Any, allow_none: bool = False) -> int | str | None:
    """A sight radius: an integer >= 0 (cells) or ``"full"``; None only if ``allow_none``.
    Anything else raises ValueError saying what was expected."""
    if value is None and allow_none:
        return None
    if isinstance(value, str) and value == FULL_SIGHT:
        return value
    is_integer = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    if not is_integer or value < 0:
        raise ValueError(f"sight = {value!r}: expected an integer >= 0 (cells) or {FULL_SIGHT!r}")
    return int(value)


_SHARED_CITIES: dict[tuple[str, tuple[str, ...], Traffic, str, int | str | None], CityMap] = {}


def _shared_city(
    name: str,
    grid: tuple[str, ...],
    traffic: Traffic,
    description: str,
    sight: int | str | None = None,
) -> CityMap:
    """The one CityMap object with these fields in this process (built on first use)."""
    key = (name, grid, traffic, description, sight)
    if key not in _SHARED_CITIES:
        _SHARED_CITIES[key] = CityMap(
            name=name, grid=grid, traffic=traffic, description=description, sight=sight
        )
    return _SHARED_CITIES[key]


# -- parsing -------------------------------------------------------------------------------


def _decoded(data: bytes, source: str) -> str:
    """``data`` as UTF-8 text; bytes that are not UTF-8 fail with their line and column."""
    bom = b"\xef\xbb\xbf"
    body = data[len(bom) :] if data.startswith(bom) else data
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        line_start = body.rfind(b"\n", 0, error.start) + 1
        line = body.count(b"\n", 0, error.start) + 1
        column = len(body[line_start : error.start].decode("utf-8", errors="replace")) + 1
        raise MapError(
            source,
            line,
            column,
            f"byte 0x{body[error.start]:02x} is not UTF-8 text; expected a text map file",
        ) from None


def _parse(text: str, source: str) -> CityMap:
    # split on newlines alone (not on form feeds and the like, as str.splitlines does), so
    # line numbers in errors are the ones an editor shows
    lines = [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]
    has_header = any(line.strip() == "[grid]" for line in lines)
    values: dict[str, tuple[str, int, int]] = {}  # key -> (raw value, line, column)
    grid_start = 0
    if has_header:
        section = None
        for index, raw in enumerate(lines):
            line_no = index + 1
            stripped = raw.split(";", 1)[0].strip()
            if not stripped:
                continue
            if stripped.startswith("[") and stripped.endswith("]"):
                section = stripped[1:-1].strip()
                if section == "grid":
                    grid_start = index + 1
                    break
                if section not in _HEADER_KEYS:
                    raise MapError(
                        source,
                        line_no,
                        1,
                        f"unknown section [{section}]; expected [city], [traffic] or [grid]",
                    )
                continue
            sep = "=" if "=" in stripped else ":"
            if section is None or sep not in stripped:
                raise MapError(
                    source,
                    line_no,
                    1,
                    "expected 'key = value' inside a [city] or [traffic] section",
                )
            key, value = (part.strip() for part in stripped.split(sep, 1))
            if key not in _HEADER_KEYS[section]:
                raise MapError(
                    source,
                    line_no,
                    1,
                    f"unknown key {key!r} in [{section}]; expected one of {', '.join(_HEADER_KEYS[section])}",
                )
            values[key] = (value, line_no, raw.index(value) + 1 if value else len(raw) + 1)
    grid_lines = [line.rstrip() for line in lines[grid_start:]]
    while grid_lines and not grid_lines[-1]:
        grid_lines.pop()
    first_grid_line = grid_start + 1
    if not grid_lines:
        raise MapError(
            source, first_grid_line, 1, "empty map; expected rows of cells (legend: " + LEGEND + ")"
        )
    traffic = _parse_traffic(values, source)
    name_value = values.get("name")
    if name_value and not name_value[0]:
        raise MapError(
            source, name_value[1], name_value[2], "name is empty; expected 'name = NAME'"
        )
    name = (
        name_value[0]
        if name_value
        else ("unnamed" if source.startswith("<") else Path(source).stem)
    )
    description = values["description"][0] if "description" in values else ""
    sight = None
    if "sight" in values:
        raw, line, col = values["sight"]
        try:
            sight = checked_sight(int(raw) if raw.lstrip("-").isdigit() else raw)
        except ValueError:
            raise MapError(
                source,
                line,
                col,
                f"sight = {raw!r}: expected a radius in cells (an integer >= 0) or {FULL_SIGHT!r}",
            ) from None
    return CityMap(
        name=name,
        grid=tuple(grid_lines),
        traffic=traffic,
        description=description,
        sight=sight,
        source=source,
        first_grid_line=first_grid_line,
    )


def _parse_traffic(values: dict[str, tuple[str, int, int]], source: str) -> Traffic:
    kwargs: dict[str, Any] = {}
    for key in ("entry_rate", "turn_probability"):
        if key in values:
            raw, line, col = values[key]
            try:
                kwargs[key] = float(raw)
            except ValueError:
                raise MapError(source, line, col, f"{key} = {raw!r}: expected a number") from None
    for key, kind in (("speeds", int), ("speed_weights", float)):
        if key in values:
            raw, line, col = values[key]
            try:
                kwargs[key] = tuple(kind(part) for part in raw.replace(",", " ").split())
            except ValueError:
                raise MapError(
                    source, line, col, f"{key} = {raw!r}: expected a list of {kind.__name__}s"
                ) from None
    if "speeds" in kwargs and "speed_weights" not in kwargs:
        kwargs["speed_weights"] = (1.0,) * len(kwargs["speeds"])
    try:
        return Traffic(**kwargs)
    except ValueError as error:
        # Traffic's messages start with the offending key
        key = str(error).split(" =")[0]
        _, line, col = values.get(key, ("", 1, 1))
        raise MapError(source, line, col, str(error)) from None


# -- compiling and checking a grid ---------------------------------------------------------


def _compile(city: CityMap, source: str, first_line: int) -> None:
    """Derive the arrays of ``city`` and check it is a city cars can drive through."""

    def fail(row: int, col: int, message: str) -> MapError:
        return MapError(source, first_line + row, col + 1, message)

    grid = city.grid
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
    for name, array in arrays.items():
        array.setflags(write=False)
        object.__setattr__(city, name, array)
    object.__setattr__(city, "_moves", {})
    rows = len(grid)

    if not arrays["sidewalk"].any():
        raise fail(
            0,
            0,
            "no sidewalk; expected at least one '.' cell for the pedestrian to start and end on",
        )

    # every lane leads somewhere: the map edge, an intersection, or a lane not facing it
    for r, c in zip(*np.nonzero(arrays["lane"])):
        h = int(heading[r, c])
        nr, nc = CityMap.neighbor((r, c), h)
        if not (0 <= nr < rows and 0 <= nc < width):
            continue
        ahead = grid[nr][nc]
        what = f"lane {grid[r][c]!r} heading {HEADING_NAMES[h]}"
        if ahead == BUILDING:
            raise fail(
                r,
                c,
                f"{what} points into a building; expected a lane, an intersection or the map edge ahead",
            )
        if ahead == SIDEWALK:
            raise fail(
                r,
                c,
                f"{what} ends at a sidewalk (dead end); expected a lane, an intersection or the map edge ahead",
            )
        if heading[nr, nc] == (h + 2) % 4:
            raise fail(
                r,
                c,
                f"{what} points head-on into the opposite lane {ahead!r}; expected a lane not facing it",
            )

    entries = []
    for r, c in zip(*np.nonzero(arrays["lane"])):
        h = int(heading[r, c])
        br, bc = CityMap.neighbor((r, c), (h + 2) % 4)
        if not (0 <= br < rows and 0 <= bc < width):
            entries.append((int(r), int(c)))
    if not entries:
        raise fail(0, 0, "no road entry; expected a lane at the map edge pointing into the map")
    object.__setattr__(city, "entry_cells", tuple(entries))

    # every state a car can be in has a way on, and a way off the map
    states = deque(
        (int(r), int(c), int(heading[r, c])) for r, c in zip(*np.nonzero(arrays["lane"]))
    )
    graph: dict[tuple[int, int, int], list[tuple[int, int, int]]] = {}
    exits: set[tuple[int, int, int]] = set()
    while states:
        state = states.popleft()
        if state in graph:
            continue
        moves = city.car_moves(state[:2], state[2])
        if not moves:
            r, c, h = state
            raise fail(
                r,
                c,
                f"cars heading {HEADING_NAMES[h]} into this intersection have no way out; "
                "expected a way straight on, or a lane leaving to the left or right",
            )
        graph[state] = []
        for nxt, h, _ in moves:
            if nxt is None:
                exits.add(state)
            else:
                graph[state].append((*nxt, h))
                states.append((*nxt, h))
    reverse: dict[tuple[int, int, int], list[tuple[int, int, int]]] = {s: [] for s in graph}
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
    object.__setattr__(city, "exit_cells", tuple(sorted({(r, c) for r, c, _ in exits})))


def _raw_moves(
    city: CityMap, r: int, c: int, heading: int
) -> tuple[tuple[Cell | None, int, bool], ...]:
    """The moves of a car at (r, c) with ``heading``: (next cell or None, heading, is_turn)."""
    rows, cols = city.shape
    lane_heading, intersection = city.lane_heading, city.intersection

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
    moves: list[tuple[Cell | None, int, bool]] = []
    nxt, ahead_heading, ahead_is_intersection = look(heading)
    if nxt is None or ahead_is_intersection or ahead_heading == heading:
        moves.append((nxt, heading, False))
    for turn in ((heading + 1) % 4, (heading + 3) % 4):  # right, then left
        nxt, side_heading, _ = look(turn)
        if nxt is not None and side_heading == turn:
            moves.append((nxt, turn, True))
    return tuple(moves)
