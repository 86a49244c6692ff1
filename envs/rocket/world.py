"""Rocket worlds as data: frozen dataclasses of constants, loaded from TOML files.

A world has **nominal** constants (published: what a mission planner may start
from) and **true** constants (what the simulator flies; hidden from agents). Only
gravitational parameters, the engine's efficiency and its pointing are uncertain;
radii, distances and the Moon's period are taken as measured exactly.

Units: km, s, km/s, km^3/s^2; angles in radians; durations in days where named so.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import MISSING, dataclass, fields, replace
from pathlib import Path
from typing import Any

WORLDS_DIR = Path(__file__).parent / "worlds"
# every number of a world, in its own unit: no overflow in the simulator (docs/envs/rocket.md)
SMALLEST, LARGEST = 1e-6, 1e12
# tracking times are found to 1e-9 of an interval: doubles resolve t / interval << 1e7
MAX_TRACKING_REPORTS = 100_000
RANGES = ("moon_distance_km", "delta_v_km_s")
#: the engine's dispersion: the simulator's secret, like the true constants
HIDDEN = ("true", "burn_magnitude_sd", "burn_pointing_sd_rad")
#: numbers a world may set to zero (no noise); every other number is positive
MAY_BE_ZERO = (
    "burn_magnitude_sd",
    "burn_pointing_sd_rad",
    "tracking_position_sd_km",
    "tracking_velocity_sd_km_s",
)
#: constants that are angles: any finite value short of a right angle either way (0 allowed)
ANGLES = ("engine_pointing_error_rad",)
#: constants a world file may leave out, with the value they then take
OPTIONAL_CONSTANTS = {"engine_pointing_error_rad": 0.0}


class WorldError(ValueError):
    """A world name or file that cannot be loaded."""


@dataclass(frozen=True)
class Constants:
    """The uncertain constants of a world."""

    gm_earth: float  # km^3/s^2, gravitational parameter of the planet
    gm_moon: float  # km^3/s^2, gravitational parameter of the moon
    engine_efficiency: float  # delivered delta-v / commanded delta-v
    # rad, a steady angle between the delivered delta-v and prograde (positive: tilted
    # outward, away from the planet); optional in a world file, 0 when left out
    engine_pointing_error_rad: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def scaled(self, **factors: float) -> Constants:
        """A copy with each named constant multiplied by its factor."""
        return replace(
            self, **{name: getattr(self, name) * factor for name, factor in factors.items()}
        )


@dataclass(frozen=True)
class RocketWorld:
    """A planet, its moon, a parking orbit and a launch vehicle."""

    name: str
    earth_radius_km: float  # km, radius of the planet
    moon_radius_km: float  # km
    parking_altitude_km: (
        float  # km above the planet's surface, circular, prograde (counter-clockwise)
    )
    moon_distance_km: tuple[
        float, float
    ]  # km, range of the moon's orbital radius over launch situations
    moon_period_days: (
        float  # days, sidereal period at moon_reference_distance_km (Kepler's third law elsewhere)
    )
    moon_reference_distance_km: float  # km
    delta_v_km_s: tuple[
        float, float
    ]  # km/s, the range of commanded prograde burns the action spans
    max_flight_days: float  # days, flight time limit
    telemetry_interval_s: float  # s, tracking stations report the rocket's position this often
    nominal: Constants  # published values
    true: Constants  # the values the simulator flies
    # The flight (RocketFlight) only; optional in a world file. Each burn's delivered
    # delta-v is off by a relative error and its direction by an angle, both Gaussian
    # with these standard deviations (hidden): 0.5 % of a 3.1 km/s departure is 16 m/s,
    # a miss of thousands of km at the Moon that midcourse corrections must take out.
    burn_magnitude_sd: float = 0.005  # fraction of the delivered delta-v, 1 sigma, hidden
    burn_pointing_sd_rad: float = 0.005  # rad, 1 sigma, hidden
    # Tracking reports the rocket's state with Gaussian errors of these sizes (published).
    tracking_position_sd_km: float = 1.0  # km per axis, 1 sigma
    tracking_velocity_sd_km_s: float = 0.001  # km/s per axis, 1 sigma

    def __post_init__(self) -> None:
        problems = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in RANGES:
                if not (isinstance(value, tuple) and len(value) == 2):
                    problems.append(f"{f.name} must be [low, high], got {value!r}")
                    continue
                found = [
                    p for i, v in enumerate(value) if (p := _number_problem(f"{f.name}[{i}]", v))
                ]
                if not found and value[0] > value[1]:
                    found.append(
                        f"{f.name} must be [low, high] with 0 < low <= high, got {list(value)}"
                    )
                problems += found
            elif isinstance(value, Constants):
                problems += [
                    p
                    for k, v in value.as_dict().items()
                    if (
                        p := _angle_problem(f"{f.name}.{k}", v)
                        if k in ANGLES
                        else _number_problem(f"{f.name}.{k}", v)
                    )
                ]
            elif f.name in MAY_BE_ZERO and value == 0 and not isinstance(value, bool):
                continue
            elif f.name != "name" and (problem := _number_problem(f.name, value)):
                problems.append(problem)
        if (
            not problems
            and self.moon_distance_km[0] <= self.parking_radius_km + self.moon_radius_km
        ):
            problems.append("moon_distance_km must lie beyond the parking orbit")
        if not problems and self.tracking_reports > MAX_TRACKING_REPORTS:
            problems.append(
                f"max_flight_days / telemetry_interval_s: a flight would be tracked up to "
                f"{self.tracking_reports:.3g} times, more than {MAX_TRACKING_REPORTS:,}"
            )
        if problems:
            raise WorldError(f"world {self.name!r}: " + "; ".join(problems))

    @property
    def parking_radius_km(self) -> float:
        return self.earth_radius_km + self.parking_altitude_km

    @property
    def tracking_reports(self) -> float:
        """Tracking reports in a flight that lasts to the time limit."""
        return self.max_flight_days * 86400.0 / self.telemetry_interval_s

    def moon_angular_rate(self, moon_distance_km: float) -> float:
        """rad/s of the moon's circular orbit at this distance (Kepler's third law)."""
        period_s = (
            self.moon_period_days
            * 86400.0
            * (moon_distance_km / self.moon_reference_distance_km) ** 1.5
        )
        return 2.0 * math.pi / period_s

    def published(self) -> dict[str, Any]:
        """Everything a mission planner may know: the world without its true constants
        and its engine's dispersion."""
        facts = {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name not in ("nominal", *HIDDEN)
        }
        facts["nominal"] = self.nominal.as_dict()
        facts["parking_radius_km"] = self.parking_radius_km
        return facts

    def with_true(self, true: Constants) -> RocketWorld:
        return replace(self, true=true)

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], name: str = "world", source: str | None = None
    ) -> RocketWorld:
        """A world from plain data; errors name ``source`` (the file) if given, else ``name``."""
        where = source or name
        try:
            return cls._from_dict(data, name, where)
        except WorldError as error:
            message = str(error)
            raise WorldError(
                message if message.startswith(where) else f"{where}: {message}"
            ) from None

    @classmethod
    def _from_dict(cls, data: dict[str, Any], name: str, where: str) -> RocketWorld:
        expected = {f.name for f in fields(cls)} - {"name"}
        optional = {f.name for f in fields(cls) if f.default is not MISSING}
        missing = sorted(expected - optional - data.keys())
        unknown = sorted(data.keys() - expected - {"name", "description"})
        if missing:
            raise WorldError(f"{where}: missing keys {missing}")
        if unknown:
            raise WorldError(f"{where}: unknown keys {unknown}; valid keys are {sorted(expected)}")
        kwargs: dict[str, Any] = {"name": str(data.get("name", name))}
        try:
            for f in fields(cls):
                if f.name == "name" or (f.name in optional and f.name not in data):
                    continue
                value = data[f.name]
                if f.name in ("nominal", "true"):
                    kwargs[f.name] = _constants(value, f"{where}: [{f.name}]")
                elif f.name in ("moon_distance_km", "delta_v_km_s"):
                    low, high = (_number(v) for v in value)
                    kwargs[f.name] = (low, high)
                else:
                    kwargs[f.name] = _number(value)
        except (TypeError, ValueError) as error:
            if isinstance(error, WorldError):
                raise
            raise WorldError(
                f"{where}: key {f.name!r} has a malformed value {data[f.name]!r}"
            ) from None
        return cls(**kwargs)


def _number(value: Any) -> float:
    """A TOML number as a float; booleans and strings are not numbers."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"not a number: {value!r}")
    try:
        return float(value)
    except OverflowError:  # an integer beyond any float
        raise ValueError(f"too large: {value!r}") from None


def _number_problem(name: str, value: Any) -> str | None:
    """What is wrong with a world's number, or None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"{name} must be a number, got {value!r}"
    if not (math.isfinite(value) and value > 0):
        return f"{name} must be a positive, finite number, got {value}"
    if not SMALLEST <= value <= LARGEST:
        return f"{name} must lie between {SMALLEST:g} and {LARGEST:g}, got {value}"
    return None


def _angle_problem(name: str, value: Any) -> str | None:
    """What is wrong with a world's angle, or None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"{name} must be a number, got {value!r}"
    if not (math.isfinite(value) and abs(value) < math.pi / 2):
        return f"{name} must be a finite angle in radians between -pi/2 and pi/2, got {value}"
    return None


def _constants(table: Any, where: str) -> Constants:
    if not isinstance(table, dict):
        raise WorldError(f"{where} must be a table of {[f.name for f in fields(Constants)]}")
    expected = {f.name for f in fields(Constants)}
    required = expected - OPTIONAL_CONSTANTS.keys()
    if not required <= table.keys() <= expected:
        optional = f" (optional: {sorted(OPTIONAL_CONSTANTS)})" if OPTIONAL_CONSTANTS else ""
        raise WorldError(
            f"{where} needs exactly the keys {sorted(required)}{optional}, got {sorted(table)}"
        )
    try:
        return Constants(**{key: _number(value) for key, value in table.items()})
    except (TypeError, ValueError):
        raise WorldError(f"{where} values must be numbers, got {dict(table)}") from None


def preset_names() -> list[str]:
    return sorted(path.stem for path in WORLDS_DIR.glob("*.toml"))


def load_world(name_or_path: str | Path | RocketWorld) -> RocketWorld:
    """A world by preset name (``earth_moon``) or from a TOML file path.

    Raises ``WorldError`` naming the file, and the line and column where the file
    is not UTF-8 text or not TOML, for anything that is not a valid world."""
    if isinstance(name_or_path, RocketWorld):
        return name_or_path
    if not isinstance(name_or_path, (str, Path)):
        raise WorldError(
            "a world is a preset name, a path to a .toml file or a RocketWorld, "
            f"got {name_or_path!r}"
        )
    text = str(name_or_path)
    path = Path(text)
    if not text.endswith(".toml") and _exists(WORLDS_DIR / f"{text}.toml"):
        path = WORLDS_DIR / f"{text}.toml"
    elif not _exists(path):
        if text.endswith(".toml") or "/" in text or "\\" in text:
            raise WorldError(f"no such world file: {text} (presets: {', '.join(preset_names())})")
        raise WorldError(
            f"unknown world {text!r}: valid presets are {preset_names()}, or a path to a .toml file"
        )
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise WorldError(f"{path}: cannot be read ({error.strerror or error})") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))  # TOML is UTF-8, whatever the locale
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        column = error.start - raw.rfind(b"\n", 0, error.start)
        raise WorldError(
            f"{path}, line {line}, column {column}: "
            f"not UTF-8 text (byte 0x{raw[error.start]:02x}); "
            "a world file is TOML"
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise WorldError(_toml_error_message(path, error)) from None
    name = data.get("name") if isinstance(data.get("name"), str) else path.stem
    return RocketWorld.from_dict(data, name=name, source=str(path))


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except (OSError, ValueError):  # a name too long, or with a NUL byte
        return False


def _toml_error_message(path: Path, error: tomllib.TOMLDecodeError) -> str:
    """``path, line L, column C: not valid TOML (reason)``. Python 3.11's tomllib
    gives the position only in its message, as ``reason (at line L, column C)``."""
    message = str(error)
    match = re.fullmatch(r"(.*) \(at line (\d+), column (\d+)\)", message, flags=re.DOTALL)
    if match:
        return f"{path}, line {match[2]}, column {match[3]}: not valid TOML ({match[1]})"
    return f"{path}: not valid TOML ({message})"
