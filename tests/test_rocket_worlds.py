"""Rocket worlds are data: every preset loads, a world survives a trip through a TOML
file, and every kind of malformed file fails with a `WorldError` that names the
problem."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path

import pytest

from envs.rocket.world import (
    WORLDS_DIR,
    Constants,
    RocketWorld,
    WorldError,
    load_world,
    preset_names,
)


def to_toml(world: RocketWorld) -> str:
    """A world as the text of a world file (the inverse of `load_world`)."""

    def value(v) -> str:
        if isinstance(v, tuple):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return repr(v) if isinstance(v, float) else f'"{v}"'

    lines = []
    tables = []
    for field in dataclasses.fields(world):
        v = getattr(world, field.name)
        if isinstance(v, Constants):
            tables += [
                "",
                f"[{field.name}]",
                *(f"{key} = {value(x)}" for key, x in v.as_dict().items()),
            ]
        else:
            lines.append(f"{field.name} = {value(v)}")
    return "\n".join(lines + tables) + "\n"


def preset_text() -> str:
    return (WORLDS_DIR / "earth_moon.toml").read_text()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "world.toml"
    path.write_text(text)
    return path


def replace_line(text: str, key: str, new_line: str | None) -> str:
    """The world file with the first line that sets `key` replaced (or removed if None)."""
    pattern = re.compile(rf"^{re.escape(key)}\s*=.*$", re.MULTILINE)
    assert pattern.search(text), key
    return pattern.sub("" if new_line is None else new_line.replace("\\", "\\\\"), text, count=1)


def test_presets_listed_and_load():
    names = preset_names()
    assert {"earth_moon", "super_earth"} <= set(names)
    for name in names:
        world = load_world(name)
        assert isinstance(world, RocketWorld)
        assert world.name == name
        low, high = world.moon_distance_km
        assert world.parking_radius_km < low <= high
        assert world.true != world.nominal, (
            "a preset's hidden constants should differ from the published ones"
        )


def test_load_by_path_and_instance_give_the_same_world():
    world = load_world("earth_moon")
    assert load_world(WORLDS_DIR / "earth_moon.toml") == world
    assert load_world(str(WORLDS_DIR / "earth_moon.toml")) == world
    assert load_world(world) is world


@pytest.mark.parametrize("name", preset_names())
def test_toml_round_trip(tmp_path, name):
    world = load_world(name)
    path = write(tmp_path, to_toml(world))
    assert tomllib.loads(path.read_text())["name"] == name
    assert load_world(path) == world


def test_published_facts_hide_the_true_constants():
    world = load_world("earth_moon")
    facts = world.published()
    assert "true" not in facts
    assert facts["nominal"] == world.nominal.as_dict()
    hidden = set(world.true.as_dict().values()) - set(world.nominal.as_dict().values())
    assert hidden and not hidden & set(_numbers(facts))


def _numbers(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _numbers(v)
    elif isinstance(value, (tuple, list)):
        for v in value:
            yield from _numbers(v)
    elif isinstance(value, float):
        yield value


def test_unknown_preset_lists_the_valid_ones():
    with pytest.raises(WorldError) as error:
        load_world("mars_phobos")
    message = str(error.value)
    assert "mars_phobos" in message
    for name in preset_names():
        assert name in message


def test_missing_file_is_a_world_error(tmp_path):
    with pytest.raises(WorldError, match="nowhere.toml"):
        load_world(tmp_path / "nowhere.toml")


MALFORMED = {
    # case: (how to break the earth_moon file, words the message must contain)
    "not TOML": (lambda text: text + "\nthis is = = not toml\n", ["not valid TOML", "line"]),
    "missing key": (
        lambda text: replace_line(text, "moon_radius_km", None),
        ["missing", "moon_radius_km"],
    ),
    "unknown key": (
        lambda text: text.replace("max_flight_days", 'moon_colour = "grey"\nmax_flight_days', 1),
        ["unknown", "moon_colour"],
    ),
    "non-positive value": (
        lambda text: replace_line(text, "max_flight_days", "max_flight_days = 0.0"),
        ["max_flight_days", "positive"],
    ),
    "negative true constant": (
        lambda text: text.replace("gm_moon = 4755.716", "gm_moon = -4755.716"),
        ["true.gm_moon", "positive"],
    ),
    "bad range, reversed": (
        lambda text: replace_line(text, "delta_v_km_s", "delta_v_km_s = [3.6, 3.0]"),
        ["delta_v_km_s", "low <= high"],
    ),
    "bad range, three numbers": (
        lambda text: replace_line(text, "moon_distance_km", "moon_distance_km = [1.0, 2.0, 3.0]"),
        ["moon_distance_km"],
    ),
    "bad range, a number": (
        lambda text: replace_line(text, "moon_distance_km", "moon_distance_km = 384400.0"),
        ["moon_distance_km"],
    ),
    "moon inside the parking orbit": (
        lambda text: replace_line(text, "moon_distance_km", "moon_distance_km = [7000.0, 9000.0]"),
        ["moon_distance_km", "parking orbit"],
    ),
    "wrong type, string": (
        lambda text: replace_line(text, "earth_radius_km", 'earth_radius_km = "big"'),
        ["earth_radius_km", "big"],
    ),
    "wrong type, table": (
        lambda text: "nominal = 3.0\n" + re.sub(r"\[nominal\][^[]*", "", text),
        ["nominal", "table"],
    ),
    "wrong type, constant": (
        lambda text: text.replace("engine_efficiency = 1.0", 'engine_efficiency = "full"', 1),
        ["nominal", "full"],
    ),
    "constants, missing one": (
        lambda text: text.replace("engine_efficiency = 0.97", "", 1),
        ["true", "engine_efficiency"],
    ),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_world_file_names_the_problem(tmp_path, case):
    spoil, words = MALFORMED[case]
    text = spoil(preset_text())
    assert text != preset_text()
    with pytest.raises(WorldError) as error:
        load_world(write(tmp_path, text))
    message = str(error.value)
    for word in words:
        assert word in message, f"{case}: {word!r} not in {message!r}"


def test_boolean_is_not_a_number(tmp_path):
    text = replace_line(preset_text(), "telemetry_interval_s", "telemetry_interval_s = true")
    with pytest.raises(WorldError, match="telemetry_interval_s"):
        load_world(write(tmp_path, text))


def test_content_errors_name_the_file(tmp_path):
    text = replace_line(preset_text(), "max_flight_days", "max_flight_days = -1.0")
    with pytest.raises(WorldError, match="world.toml"):
        load_world(write(tmp_path, text))


def test_engine_pointing_error_is_an_optional_hidden_constant(tmp_path):
    world = load_world("earth_moon")
    assert world.nominal.engine_pointing_error_rad == world.true.engine_pointing_error_rad == 0.0
    text = preset_text().replace(
        "engine_efficiency = 0.97", "engine_efficiency = 0.97\nengine_pointing_error_rad = 0.05"
    )
    tilted = load_world(write(tmp_path, text))
    assert tilted.true.engine_pointing_error_rad == 0.05
    facts = tilted.published()
    assert facts["nominal"]["engine_pointing_error_rad"] == 0.0
    assert 0.05 not in set(_numbers(facts))
    with pytest.raises(WorldError, match="engine_pointing_error_rad"):
        load_world(write(tmp_path, text.replace("= 0.05", "= 2.0")))  # beyond a right angle


def test_pointing_error_flies_differently_and_stays_hidden():
    import math

    import numpy as np

    from envs.rocket.env import RocketLaunchEnv

    action = np.array([0.3, -0.9, 0.2])
    flights = {}
    for degrees in (0.0, 5.0):
        env = RocketLaunchEnv(pointing_error_deg=degrees)
        env.reset(seed=4)
        _, _, _, _, info = env.step(action)
        flights[degrees] = info
        assert info["world"]["nominal"]["engine_pointing_error_rad"] == 0.0
        scalars = set(_numbers({k: v for k, v in info.items() if k != "telemetry"}))
        assert math.radians(5.0) not in scalars
    tracked = [flights[d]["telemetry"]["position_km"] for d in (0.0, 5.0)]
    assert not np.allclose(tracked[0][1], tracked[1][1])  # two hours after the burn
    assert flights[0.0]["closest_approach_km"] != flights[5.0]["closest_approach_km"]
    with pytest.raises(ValueError, match="pointing_error_deg"):
        RocketLaunchEnv(pointing_error_deg=float("nan"))
    with pytest.raises(ValueError, match="pointing_error_deg"):
        RocketLaunchEnv(pointing_error_deg=120.0)
