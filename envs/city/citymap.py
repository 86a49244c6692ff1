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

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from envs.city.mapcompile import car_moves_at, compile_grid
from envs.city.mapformat import (
    HEADING_STEPS,
    CarMove,
    Cell,
    MapError,
    Move,
    Traffic,
    checked_sight,
)
from envs.city.mapparse import decoded_text, map_fields

MAPS_DIR = Path(__file__).parent / "maps"


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
    _moves: dict[tuple[int, int, int], tuple[CarMove, ...]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "grid", tuple(self.grid))
        if isinstance(self.traffic, dict):
            object.__setattr__(self, "traffic", Traffic(**self.traffic))
        object.__setattr__(self, "sight", checked_sight(self.sight, allow_none=True))
        compiled = compile_grid(self.grid, self.source, self.first_grid_line)
        for name, array in compiled.arrays.items():
            object.__setattr__(self, name, array)
        object.__setattr__(self, "entry_cells", compiled.entry_cells)
        object.__setattr__(self, "exit_cells", compiled.exit_cells)
        object.__setattr__(self, "_moves", compiled.moves)

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

    def car_moves(self, cell: Cell, heading: int) -> tuple[CarMove, ...]:
        """:meth:`successors` with a flag for each:
        ``((next_cell, next_heading, is_turn), ...)``."""
        r, c = int(cell[0]), int(cell[1])
        if not (self.in_bounds((r, c)) and self.road[r, c]):
            raise ValueError(
                f"cell {cell} of map {self.name!r} is not a road cell; cars drive only on roads"
            )
        if self.lane[r, c]:
            heading = int(self.lane_heading[r, c])
        key = (r, c, int(heading))
        if key not in self._moves:
            self._moves[key] = car_moves_at(self.lane_heading, self.intersection, *key)
        return self._moves[key]

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # infos carry the map on every step; across processes it travels as its text
        # fields and arrives as the one shared object for that map
        return _shared_city, (self.name, self.grid, self.traffic, self.description, self.sight)

    # -- text and dict forms -------------------------------------------------------------

    @classmethod
    def from_text(cls, text: str, source: str = "<string>") -> CityMap:
        """Parse a map file's text; ``source`` names the file in error messages."""
        return cls(**map_fields(text, source))

    @classmethod
    def load(cls, path: str | Path) -> CityMap:
        """Read a map file (UTF-8, an optional byte-order mark allowed)."""
        path = Path(path)
        return cls(**map_fields(decoded_text(path.read_bytes(), str(path)), str(path)))

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
                "expected a dict with 'name' and 'grid' "
                "(and optionally 'traffic', 'description', 'sight')",
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
