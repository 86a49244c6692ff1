"""City maps by name: the shipped ones (``envs/city/maps``), generated ones
(``random:SEED``, ``random:SEED:ROWSxCOLS``) and map files by path."""

from __future__ import annotations

from pathlib import Path

from envs.city.citymap import MAPS_DIR, CityMap
from envs.city.mapformat import MapError
from envs.city.mapgen import MAX_SIZE, MIN_SIZE, generate_city


def builtin_map_names() -> list[str]:
    """Names of the maps shipped in ``envs/city/maps`` (plus ``random:SEED``)."""
    return sorted(path.stem for path in MAPS_DIR.glob("*.txt"))


def load_map(spec: str | Path | CityMap) -> CityMap:
    """A map by name (``"train"``, ``"new"``), generated (``"random:7"``, or with its size,
    ``"random:7:300x300"``, rows x columns), by path, or as given."""
    if isinstance(spec, CityMap):
        return spec
    if not isinstance(spec, (str, Path)):
        raise ValueError(
            f"city map {spec!r} of type {type(spec).__name__}: "
            "expected a CityMap, a map name or a path"
        )
    text = str(spec)
    if text.startswith("random:"):
        return _generated(text)
    builtin = MAPS_DIR / f"{text}.txt"
    if "/" not in text and "\\" not in text and builtin.is_file():
        return CityMap.load(builtin)
    path = Path(text)
    if path.is_file():
        return CityMap.load(path)
    if text.endswith(".txt") or "/" in text or "\\" in text:
        raise ValueError(
            f"no such map file: {text} (built-in maps: {', '.join(builtin_map_names())}, "
            "random:SEED)"
        )
    raise ValueError(
        f"unknown city map {text!r}: expected one of {', '.join(builtin_map_names())}, "
        "'random:SEED', or the path of a map file"
    )


def _generated(spec: str) -> CityMap:
    """The map of ``random:SEED`` or ``random:SEED:ROWSxCOLS``; a bad part fails with its column."""
    parts = spec.split(":")
    usage = (
        "write 'random:SEED' or 'random:SEED:ROWSxCOLS', "
        f"e.g. 'random:7' or 'random:7:{MIN_SIZE}x40'"
    )
    if len(parts) > 3:
        raise MapError(
            spec,
            1,
            len(parts[0]) + len(parts[1]) + len(parts[2]) + 3,
            "unexpected third ':'; " + usage,
        )
    seed_text = parts[1]
    if not (seed_text.isascii() and seed_text.isdigit()):
        raise MapError(
            spec, 1, 8, f"seed {seed_text!r}: expected a non-negative integer SEED; " + usage
        )
    size = None
    if len(parts) == 3:
        column = len("random:") + len(seed_text) + 2
        size_parts = parts[2].lower().split("x")
        if len(size_parts) != 2 or not all(p.isascii() and p.isdigit() for p in size_parts):
            raise MapError(
                spec, 1, column, f"size {parts[2]!r}: expected ROWSxCOLS, two integers; " + usage
            )
        size = (int(size_parts[0]), int(size_parts[1]))
        if not all(MIN_SIZE <= n <= MAX_SIZE for n in size):
            raise MapError(
                spec,
                1,
                column,
                f"size {parts[2]!r}: expected rows and columns from {MIN_SIZE} to {MAX_SIZE}",
            )
    return generate_city(int(seed_text), size)
