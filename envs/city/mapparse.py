"""Reading a city map's text: UTF-8 bytes, the ``[city]`` and ``[traffic]`` header and the
grid lines, into the fields of a :class:`~envs.city.citymap.CityMap`. Errors name the file,
line and column (the format is set out in ``envs/city/citymap.py``). Checking the grid
itself is compiling it, in ``envs/city/mapcompile.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from envs.city.mapformat import FULL_SIGHT, LEGEND, MapError, Traffic, checked_sight

HEADER_KEYS = {
    "city": ("name", "description", "sight"),
    "traffic": ("entry_rate", "speeds", "speed_weights", "turn_probability"),
}
#: a header value as read: (raw text, line, column)
Located = tuple[str, int, int]


def decoded_text(data: bytes, source: str) -> str:
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


def map_fields(text: str, source: str) -> dict[str, Any]:
    """The keyword arguments of a CityMap read from a map file's ``text``."""
    # split on newlines alone (not on form feeds and the like, as str.splitlines does), so
    # line numbers in errors are the ones an editor shows
    lines = [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]
    has_header = any(line.strip() == "[grid]" for line in lines)
    values, grid_start = _header(lines, source) if has_header else ({}, 0)
    grid_lines = [line.rstrip() for line in lines[grid_start:]]
    while grid_lines and not grid_lines[-1]:
        grid_lines.pop()
    first_grid_line = grid_start + 1
    if not grid_lines:
        raise MapError(
            source, first_grid_line, 1, "empty map; expected rows of cells (legend: " + LEGEND + ")"
        )
    traffic = _traffic(values, source)
    return {
        "name": _name(values, source),
        "grid": tuple(grid_lines),
        "traffic": traffic,
        "description": values["description"][0] if "description" in values else "",
        "sight": _sight(values, source),
        "source": source,
        "first_grid_line": first_grid_line,
    }


def _header(lines: list[str], source: str) -> tuple[dict[str, Located], int]:
    """The header's values by key, and the index of the first grid line."""
    values: dict[str, Located] = {}
    section = None
    for index, raw in enumerate(lines):
        line_no = index + 1
        stripped = raw.split(";", 1)[0].strip()
        if not stripped:
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1].strip()
            if section == "grid":
                return values, index + 1
            if section not in HEADER_KEYS:
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
        if key not in HEADER_KEYS[section]:
            raise MapError(
                source,
                line_no,
                1,
                f"unknown key {key!r} in [{section}]; "
                f"expected one of {', '.join(HEADER_KEYS[section])}",
            )
        values[key] = (value, line_no, raw.index(value) + 1 if value else len(raw) + 1)
    return values, 0  # not reached: the caller saw a [grid] line


def _name(values: dict[str, Located], source: str) -> str:
    """The map's name: the header's, else the file's stem (``unnamed`` for no file)."""
    name_value = values.get("name")
    if name_value and not name_value[0]:
        raise MapError(
            source, name_value[1], name_value[2], "name is empty; expected 'name = NAME'"
        )
    if name_value:
        return name_value[0]
    return "unnamed" if source.startswith("<") else Path(source).stem


def _sight(values: dict[str, Located], source: str) -> int | str | None:
    """The map's default sight, or None if the header states none."""
    if "sight" not in values:
        return None
    raw, line, col = values["sight"]
    try:
        return checked_sight(int(raw) if raw.lstrip("-").isdigit() else raw)
    except ValueError:
        raise MapError(
            source,
            line,
            col,
            f"sight = {raw!r}: expected a radius in cells (an integer >= 0) or {FULL_SIGHT!r}",
        ) from None


def _traffic(values: dict[str, Located], source: str) -> Traffic:
    """The published traffic of the ``[traffic]`` section (Traffic's defaults elsewhere)."""
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
