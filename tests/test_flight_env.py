"""``sandbox/RocketFlight-v0``: the Gymnasium contracts, determinism, every way a flight
ends, that neither the observation nor ``info`` shows the hidden constants, and the
situations' sector and hidden changes a study gives it."""

from __future__ import annotations

import dataclasses
import math

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import envs
from envs.rocket.coast import Coaster
from envs.rocket.flight import Launch, fly, initial_state
from envs.rocket.flight_env import (
    FAILURE_PENALTY,
    RocketFlightEnv,
    action_for,
    osculating_apses_km,
)
from envs.rocket.world import WORLDS_DIR, load_world


def make(**kwargs) -> RocketFlightEnv:
    return gym.make(envs.FLIGHT_ID, **kwargs).unwrapped


def fly_flight(env: RocketFlightEnv, actions, seed: int = 0, options=None):
    """Reset and step through ``actions`` (the last one repeats) until the flight ends;
    the infos and rewards of every step."""
    _, info = env.reset(seed=seed, options=options)
    infos, rewards, k = [info], [], 0
    while True:
        action = actions[min(k, len(actions) - 1)]
        _, reward, terminated, truncated, info = env.step(np.asarray(action, dtype=np.float32))
        infos.append(info)
        rewards.append(reward)
        k += 1
        if terminated or truncated:
            return infos, rewards, terminated, truncated


@pytest.mark.parametrize("world", ["earth_moon", "super_earth"])
def test_spaces_and_the_gymnasium_checker(world):
    env = make(world=world)
    assert env.action_space.shape == (2,) and env.observation_space.shape == (14,)
    check_env(env, skip_render_check=True)
    observation, info = env.reset(seed=1)
    assert env.observation_space.contains(observation)
    assert info["outcome"] == "flying" and not info["is_success"]
    assert info["propellant_km_s"] == env.propellant_budget_km_s


def test_same_seed_same_flight():
    actions = [(0.7, 0.01), (0.01, -0.02), (0.0, 0.0)]
    runs = [fly_flight(make(), actions, seed=3) for _ in range(2)]
    assert runs[0][1] == runs[1][1]
    for key in ("t_s", "position_km", "burn_km_s"):
        np.testing.assert_array_equal(
            runs[0][0][-1]["telemetry"][key], runs[1][0][-1]["telemetry"][key]
        )
    other = fly_flight(make(), actions, seed=4)
    assert other[1] != runs[0][1]


def test_an_episode_is_tens_of_decisions():
    env = make()
    _, info = env.reset(seed=0)
    transfer = env._situation[2]
    infos, _, _, _ = fly_flight(env, [(transfer / env.departure_max_km_s, 0.0), (0.0, 0.0)], seed=0)
    assert 15 <= len(infos) - 1 <= 70
    telemetry = infos[-1]["telemetry"]
    assert telemetry["position_km"].shape == (len(telemetry["t_s"]), 2)
    assert np.all(np.diff(telemetry["t_s"]) > 0)


def test_the_endings():
    # a retrograde departure falls onto the planet
    infos, rewards, terminated, _ = fly_flight(make(), [(-1.0, 0.0)])
    assert infos[-1]["outcome"] == "earth" and terminated and rewards[-1] < -4
    # the largest departure escapes
    infos, _, terminated, _ = fly_flight(make(), [(1.0, 0.0), (0.0, 0.0)])
    assert infos[-1]["outcome"] == "escaped" and terminated
    # a small tank empties on departure
    infos, _, terminated, _ = fly_flight(make(propellant_km_s=2.0), [(0.8, 0.0)])
    assert infos[-1]["outcome"] == "out_of_fuel" and terminated and len(infos) == 2
    assert infos[-1]["propellant_km_s"] == 0.0
    # on super_earth the transfer's own burn runs into the (heavier than published) moon
    env = make(world="super_earth")
    env.reset(seed=0)
    departure = env._situation[2] / env.departure_max_km_s
    infos, _, terminated, _ = fly_flight(env, [(departure, 0.0), (0.0, 0.0)], seed=0)
    assert infos[-1]["outcome"] == "crashed" and terminated
    assert infos[-1]["impact_speed_km_s"] > 1.0
    # staying in the parking orbit, or a departure too small to leave it, falls back
    for departure in (0.0, 0.3):
        infos, _, terminated, _ = fly_flight(make(), [(departure, 0.0)])
        assert infos[-1]["outcome"] == "fell_back" and terminated and len(infos) == 2
        assert infos[-1]["reward_terms"]["terminal"] == -FAILURE_PENALTY
    # a transfer just short of the Moon coasts out the clock: a truncation, and a failure
    env = make()
    env.reset(seed=0)
    departure = 0.95 * env._situation[2] / env.departure_max_km_s
    infos, _, terminated, truncated = fly_flight(env, [(departure, 0.0), (0.0, 0.0)], seed=0)
    assert infos[-1]["outcome"] == "time_limit" and truncated and not terminated
    assert infos[-1]["reward_terms"]["terminal"] == -FAILURE_PENALTY


def test_a_capture_orbit_ends_the_flight_with_success():
    env = make()
    env.reset(seed=0)
    gm, radius = env.world.true.gm_moon, env.world.moon_radius_km
    r = 1.5 * radius
    mx, my, mvx, mvy = env._coaster.moon(0.0)
    # 1.1 times the circular speed at 1.5 moon radii: bound, periselene 1.5 radii
    env._state = (mx + r, my, mvx, mvy + 1.1 * math.sqrt(gm / r))
    env._tracked = env._state
    _, reward, terminated, truncated, info = env.step(np.zeros(2, dtype=np.float32))
    assert info["outcome"] == "captured" and info["is_success"] and terminated and not truncated
    assert reward > 5
    periselene, aposelene = osculating_apses_km(gm, r, 0.0, 0.0, 1.1 * math.sqrt(gm / r))
    assert periselene == pytest.approx(r) and r < aposelene < 0.5 * env.soi_km


def test_the_burn_frame_and_the_propellant():
    env = make()
    env.reset(seed=2)
    _, _, _, _, info = env.step(np.array([0.75, 0.0], dtype=np.float32))
    commanded = 0.75 * env.departure_max_km_s
    assert info["burn"] == {"prograde_km_s": commanded, "radial_km_s": 0.0, "frame": "planet"}
    assert info["propellant_km_s"] == pytest.approx(env.propellant_budget_km_s - commanded)
    _, _, _, _, info = env.step(np.array([0.0, 1.0], dtype=np.float32))
    assert info["burn"]["radial_km_s"] == pytest.approx(env.correction_max_km_s)
    # after the departure a component commands its cube of the bound, sign kept
    _, _, _, _, info = env.step(np.array([-0.5, 0.2], dtype=np.float32))
    assert info["burn"]["prograde_km_s"] == pytest.approx(-0.125 * env.correction_max_km_s)
    assert info["burn"]["radial_km_s"] == pytest.approx(0.008 * env.correction_max_km_s)


def test_action_for_inverts_the_response():
    env = make(correction_exponent=2.0)
    env.reset(seed=2)
    wanted = np.array([0.6, -0.1])
    for departure, bound in ((True, env.departure_max_km_s), (False, env.correction_max_km_s)):
        if not departure:
            env.step(np.zeros(2, dtype=np.float32))
        action = action_for(wanted, departure, env.correction_exponent)
        prograde, radial, _ = env.burn_command(action)
        assert (prograde, radial) == pytest.approx(tuple(wanted * bound), rel=1e-6)
    with pytest.raises(ValueError, match="correction_exponent must be at least 1"):
        make(correction_exponent=0.5)
    env.reset(seed=2)
    with pytest.raises(ValueError):
        env.step(np.array([np.nan, 0.0]))


def _numbers(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _numbers(v)
    elif isinstance(value, (tuple, list)):
        for v in value:
            yield from _numbers(v)
    elif isinstance(value, np.ndarray):
        yield from value.ravel().tolist()
    elif isinstance(value, float):
        yield value


def test_hidden_constants_are_in_neither_observation_nor_info():
    world = dataclasses.replace(
        load_world("earth_moon"), burn_magnitude_sd=0.0123, burn_pointing_sd_rad=0.00456
    )
    env = make(world=world)
    hidden = set(world.true.as_dict().values()) | {0.0123, 0.00456}
    hidden -= set(world.nominal.as_dict().values())
    infos, _, _, _ = fly_flight(env, [(0.7, 0.0), (0.01, 0.0)])
    seen = set()
    for info in infos:
        seen |= set(_numbers(info))
    assert not hidden & seen
    facts = infos[0]["world"]
    assert "true" not in facts and "burn_magnitude_sd" not in facts
    assert facts["tracking_position_sd_km"] == world.tracking_position_sd_km


def test_worlds_without_the_flight_keys_still_load(tmp_path):
    text = (WORLDS_DIR / "earth_moon.toml").read_text()
    path = tmp_path / "plain.toml"
    path.write_text(text + "\n")
    world = load_world(path)
    assert world.burn_magnitude_sd > 0 and world.tracking_position_sd_km > 0
    noisy = tmp_path / "noisy.toml"
    noisy.write_text(text.replace("[nominal]", "burn_pointing_sd_rad = 0.02\n\n[nominal]"))
    assert load_world(noisy).burn_pointing_sd_rad == 0.02


def test_a_coast_flies_as_the_launch_does():
    """From the same burn, the flight's coasts and the launch's simulator agree, whether the
    coast is one piece or cut at decisions: a restart costs no accuracy."""
    world = load_world("earth_moon")
    launch = Launch(0.0, 384_400.0, 2.0, 3.15)
    flight = fly(world, world.true, launch)
    coaster = Coaster(world, world.true, launch.moon_phase_rad, launch.moon_distance_km)
    position, velocity = initial_state(world, world.true, launch)
    state = (*map(float, position), *map(float, velocity))
    whole = coaster.coast(0.0, *state, flight.flight_time_s)
    t, pieces = 0.0, state
    while t < flight.flight_time_s:
        end = coaster.coast(t, *pieces, min(t + 4 * 3600.0, flight.flight_time_s))
        t, pieces = end.t_s, end.state
    tolerance = 0.02 * world.moon_radius_km
    for end in (whole.state, pieces):
        assert math.dist(end[:2], flight.telemetry_position_km[-1]) < tolerance


def _named(value, name):
    """Every value filed under the key ``name`` anywhere in nested dicts and lists."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == name:
                yield item
            yield from _named(item, name)
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from _named(item, name)


def test_a_steady_pointing_error_turns_every_burn_and_stays_hidden():
    """The true pointing error (0.1 rad) turns the burns, and shows nowhere: no number of the
    observation or of ``info`` at reset, mid-flight or at the end is 0.1, and every entry
    named ``engine_pointing_error_rad`` carries the published nominal value (0)."""
    world = load_world("earth_moon")
    true_error = 0.1
    off = world.with_true(dataclasses.replace(world.true, engine_pointing_error_rad=true_error))
    assert world.nominal.engine_pointing_error_rad != true_error
    after = []
    for flown in (world, off):
        env = RocketFlightEnv(world=flown)
        observation, info = env.reset(seed=3)
        seen = [(observation, info)]
        action = np.array([0.8, 0.0], dtype=np.float32)
        while True:
            observation, _, terminated, truncated, info = env.step(action)
            seen.append((observation, info))
            action = np.array([0.01, 0.0], dtype=np.float32)
            if terminated or truncated:
                break
        after.append(seen[1][0])
        assert len(seen) > 3  # reset, the departure, mid-flight decisions, the end
        for _, published in (seen[0], seen[-1]):  # the world's facts, at reset and the end
            assert published["world"]["nominal"] == world.nominal.as_dict()
        for observation, info in seen:
            numbers = [*observation.ravel().tolist(), *_numbers(info)]
            assert not any(math.isclose(x, true_error, rel_tol=1e-6) for x in numbers)
            for published in _named(info, "engine_pointing_error_rad"):
                assert published == world.nominal.engine_pointing_error_rad
    assert not np.allclose(after[0], after[1])


def test_the_moon_phase_is_drawn_from_its_sector():
    sector = make(world="super_earth", moon_phase_deg=(0.0, 90.0))
    phases = [math.degrees(sector.reset(seed=s)[1]["moon_phase_rad"]) for s in range(50)]
    assert 0.0 <= min(phases) and max(phases) <= 90.0 and max(phases) - min(phases) > 60.0
    # the whole circle by default, drawn as before the argument existed
    whole, default = make(moon_phase_deg=(0.0, 360.0)), make()
    for seed in range(5):
        np.testing.assert_array_equal(whole.reset(seed=seed)[0], default.reset(seed=seed)[0])
    _, info = sector.reset(seed=0, options={"moon_phase_rad": math.radians(200.0)})
    assert math.degrees(info["moon_phase_rad"]) == pytest.approx(200.0)  # any phase on request


def test_gravity_scale_and_pointing_error_fly_the_changed_world_unannounced():
    """The arguments fly what a world file with those true constants flies, and publish
    what the unchanged world does; the parking orbit is circular in the scaled gravity."""
    world = load_world("super_earth")
    true = world.true
    changed = world.with_true(
        dataclasses.replace(
            true.scaled(gm_earth=1.1),
            engine_pointing_error_rad=true.engine_pointing_error_rad + math.radians(5.0),
        )
    )
    actions = [(0.7, 0.0), (0.01, 0.0)]
    by_arguments, _, _, _ = fly_flight(
        make(world=world, gravity_scale=1.1, pointing_error_deg=5.0), actions, seed=4
    )
    by_world, _, _, _ = fly_flight(make(world=changed), actions, seed=4)
    unchanged, _, _, _ = fly_flight(make(world=world), actions, seed=4)
    assert [i["tracked"] for i in by_arguments] == [i["tracked"] for i in by_world]
    assert [i["tracked"] for i in by_arguments][1:] != [i["tracked"] for i in unchanged][1:]
    for end in (0, -1):
        assert by_arguments[end]["world"] == unchanged[end]["world"]
    speed = math.hypot(*by_arguments[0]["tracked"]["velocity_km_s"])
    assert speed**2 * world.parking_radius_km == pytest.approx(1.1 * true.gm_earth, rel=1e-3)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"moon_phase_deg": (0.0, 400.0)},
        {"moon_phase_deg": "north"},
        {"gravity_scale": 0.0},
        {"gravity_scale": math.inf},
        {"gravity_scale": 1e20},  # the planet's GM beyond a world's band
        {"pointing_error_deg": math.nan},
        {"pointing_error_deg": 95.0},  # past a right angle
    ],
)
def test_a_bad_sector_or_hidden_change_is_refused_in_one_line(kwargs):
    with pytest.raises(ValueError) as refused:
        make(**kwargs)
    message = str(refused.value)
    assert "\n" not in message and next(iter(kwargs)) in message
