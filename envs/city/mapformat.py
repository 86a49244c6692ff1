"""The terms a city map is written in: the legend's characters, the headings, the
published traffic (:class:`Traffic`) with its top speed, sight values, and :class:`MapError`
for data that breaks them. The legend and the traffic rules are set out in
``envs/city/citymap.py``; this module is the bottom the reader and compiler stand on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
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

MAX_CAR_SPEED = 2  #: cells per tick; the observation scales car speed by it
FULL_SIGHT = "full"  #: a sight that covers the whole map

Cell = tuple[int, int]
#: one move a car may make: the cell it drives into (None: it leaves the map) and its heading there
Move = tuple[Cell | None, int]
#: a move with whether it is a turn: (next cell or None, heading there, is_turn)
CarMove = tuple[Cell | None, int, bool]


class MapError(ValueError):
    """A malformed city map: says where (file, line, column) and what was expected."""

    def __init__(self, file: str, line: int, column: int, message: str):
        self.file, self.line, self.column = file, line, column
        super().__init__(f"{file}:{line}:{column}: {message}")


@dataclass(frozen=True)
class Traffic:
    """How much traffic a city has and how it drives (rules: ``envs/city/citymap.py``)."""

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
                f"speed_weights = {self.speed_weights}: "
                "expected finite non-negative weights, not all 0"
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "entry_rate": self.entry_rate,
            "speeds": list(self.speeds),
            "speed_weights": list(self.speed_weights),
            "turn_probability": self.turn_probability,
        }


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
