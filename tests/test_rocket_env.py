"""``sandbox/RocketLaunch-v0``: the Gymnasium and SB3 contracts, determinism, and the
simulator against a high-accuracy reference of the same equations (where the rocket
lands on the moon, and that no hit slips between two steps)."""

from __future__ import annotations

import math
from functools import cache

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gymnasium_check_env
from scipy.optimize import brentq
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import envs
from benchmarks.rocket_speed import hit_interval
from envs.rocket.flight import Launch, _sweep, fly
from envs.rocket.reference import reference_flight, reference_miss_km
from envs.rocket.world import load_world

WORLD = load_world("earth_moon")
MOON_RADIUS_KM = WORLD.moon_radius_km
ARRIVAL_TOLERANCE = 0.10  # of the moon's radius: the simulator's accuracy target
GRAZE_BAND = (
    0.05  # of the moon's radius: reference passes this close to the surface may go either way
)
GRAZE_DEPTH = 0.05  # of the moon's radius: how deep the grazing hits of the accuracy test go

# Launch situations (moon phase rad, moon distance km, commanded delta-v km/s) spread over
# near and far moons and slow and fast transfers.
SITUATIONS = [
    (0.0, 384_400.0, 3.30),
    (2.5, 405_500.0, 3.45),
    (4.0, 363_300.0, 3.60),
    (5.5, 372_000.0, 3.37),
]
# Just above the least delta-v that reaches the moon, the rocket drifts near its
# highest point for days (arrival after 7.7 days) and the arrival point is several
# times more sensitive to integration error than on faster transfers.
SLOW_SITUATION = (1.0, 363_300.0, 3.27)


def make_env(**kwargs) -> gym.Env:
    return gym.make(envs.ROCKET_ID, **kwargs)


# ---------------------------------------------------------------- the env's contracts


def test_gymnasium_env_checker():
    env = make_env()
    gymnasium_check_env(env.unwrapped, skip_render_check=True)


def test_sb3_env_checker():
    sb3_check_env(make_env(), warn=True)


def test_render_rgb_array():
    env = make_env(render_mode="rgb_array")
    env.reset(seed=0)
    for _ in range(2):  # before and after a launch
        frame = env.render()
        assert isinstance(frame, np.ndarray) and frame.dtype == np.uint8
        assert (
            frame.ndim == 3 and frame.shape[2] == 3 and frame.shape[0] > 50 and frame.shape[1] > 50
        )
        env.step(env.action_space.sample())


def test_one_launch_is_one_terminal_step():
    env = make_env()
    observation, info = env.reset(seed=1)
    assert "true" not in info["world"], "the world's hidden constants must not leak through info"
    observation, reward, terminated, truncated, info = env.step(
        np.array([1.0, 0.0, 0.0], dtype=np.float32)
    )
    assert terminated and not truncated
    assert info["outcome"] in ("moon", "earth", "escaped", "fell_back", "time_limit")
    assert info["is_success"] == (info["outcome"] == "moon")
    assert "true" not in info["world"]
    telemetry = info["telemetry"]
    assert len(telemetry["t_s"]) == len(telemetry["position_km"]) == len(telemetry["moon_km"]) >= 2
    assert np.all(np.diff(telemetry["t_s"]) > 0)
    assert math.isclose(telemetry["t_s"][-1], info["flight_time_s"])
    assert -7.0 < reward <= 10.0


def test_reset_options_set_the_situation():
    env = make_env()
    low, high = WORLD.moon_distance_km
    observation, info = env.reset(
        seed=0, options={"moon_phase_rad": 1.0 + 2.0 * math.pi, "moon_distance_km": high}
    )
    assert env.observation_space.contains(observation)
    assert math.isclose(info["moon_phase_rad"], 1.0) and info["moon_distance_km"] == high
    np.testing.assert_allclose(observation, [math.cos(1.0), math.sin(1.0), 1.0], atol=1e-6)
    observation, info = env.reset(options={"moon_distance_km": low})
    assert env.observation_space.contains(observation)
    assert observation[2] == pytest.approx(-1.0)
    _, _, _, _, info = env.step(env.action_space.sample())
    assert info["moon_distance_km"] == low
    assert math.hypot(*info["telemetry"]["moon_km"][0]) == pytest.approx(low)


def test_random_situations_are_in_the_observation_space():
    env = make_env()
    env.reset(seed=5)
    for _ in range(50):
        observation, _ = env.reset()
        assert env.observation_space.contains(observation)


def test_same_seed_same_launches():
    def run(seed: int) -> list:
        env = make_env()
        actions = np.random.default_rng(seed).uniform(-1.0, 1.0, (5, 3)).astype(np.float32)
        record = [env.reset(seed=seed)[0]]
        for action in actions:
            observation, reward, _, _, info = env.step(action)
            record += [
                observation,
                reward,
                info["outcome"],
                info["closest_approach_km"],
                *info["telemetry"].values(),
            ]
            record.append(env.reset()[0])
        return record

    first, second, other = run(7), run(7), run(8)
    assert len(first) == len(second)
    for a, b in zip(first, second, strict=True):
        assert np.array_equal(a, b)
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=False))


# ------------------------------------------------------------------- hit detection


def test_sweep_finds_a_pass_between_two_steps():
    """Both ends of the step lie outside the disc; the straight path between them
    crosses it."""
    radius = 1_000.0
    fraction, distance = _sweep(-3_000.0, 500.0, 3_000.0, 500.0, radius)
    assert fraction == pytest.approx((3_000.0 - math.sqrt(radius**2 - 500.0**2)) / 6_000.0)
    assert distance == pytest.approx(500.0)
    fraction, distance = _sweep(-3_000.0, 1_200.0, 3_000.0, 1_200.0, radius)  # passes by
    assert fraction is None and distance == pytest.approx(1_200.0)
    fraction, distance = _sweep(-3_000.0, 500.0, -2_000.0, 500.0, radius)  # stops short
    assert fraction is None and distance == pytest.approx(math.hypot(2_000.0, 500.0))


@cache
def hits_in(situation: tuple[float, float, float]) -> tuple[float, float]:
    interval = hit_interval(WORLD, WORLD.true, *situation)
    assert interval is not None, f"no burn angle reaches the moon in situation {situation}"
    return interval


def launch_at(situation: tuple[float, float, float], angle: float) -> Launch:
    phase, distance, delta_v = situation
    return Launch(phase, distance, angle % (2.0 * math.pi), delta_v)


def aim_at_depth(
    situation: tuple[float, float, float], edge: float, centre: float, depth_km: float
) -> float:
    """The burn angle between a hit interval's edge and its centre where the
    reference passes ``depth_km`` below the moon's surface."""
    return brentq(
        lambda a: reference_miss_km(WORLD, WORLD.true, launch_at(situation, a)) + depth_km,
        edge,
        centre,
        xtol=1e-10,
    )


def arrival_errors(situation: tuple[float, float, float]) -> list[str]:
    """Launches into the middle and onto both limbs of the moon; a line for each
    arrival further than the tolerance from the reference's."""
    low, high = hits_in(situation)
    centre = 0.5 * (low + high)
    graze = GRAZE_DEPTH * MOON_RADIUS_KM
    aims = {
        "centre": centre,
        "graze low": aim_at_depth(situation, low, centre, graze),
        "graze high": aim_at_depth(situation, high, centre, graze),
    }
    failures = []
    for name, angle in aims.items():
        launch = launch_at(situation, angle)
        reference = reference_flight(WORLD, WORLD.true, launch)
        assert reference["hit"], f"{situation} {name}: the reference missed the moon"
        flight = fly(WORLD, WORLD.true, launch)
        if not flight.hit:
            failures.append(f"{situation} {name}: the simulator missed ({flight.outcome})")
            continue
        error = math.dist(flight.arrival_km, reference["arrival_km"]) / MOON_RADIUS_KM
        if error >= ARRIVAL_TOLERANCE:
            failures.append(
                f"{situation} {name}: arrival {error:.3f} moon radii from the reference's"
            )
    return failures


# one situation in the fast subset, every one in the full suite
@pytest.mark.parametrize(
    "situation", [SITUATIONS[0], *(pytest.param(s, marks=pytest.mark.slow) for s in SITUATIONS[1:])]
)
def test_arrival_point_matches_the_reference(situation):
    failures = arrival_errors(situation)
    assert not failures, "\n".join(failures)


@pytest.mark.slow
def test_arrival_point_matches_the_reference_on_a_slow_transfer():
    """The slowest transfers (7.7 days, just above the least delta-v that reaches the
    moon) accumulate the most integration error; a hit through the middle still
    arrives within the tolerance."""
    failures = [f for f in arrival_errors(SLOW_SITUATION) if "centre" in f]
    assert not failures, "\n".join(failures)


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="on the slowest transfer the simulated path is 0.06-0.11 moon radii "
    "off the reference, so a graze 5 % of a radius deep can miss, and a "
    "grazing contact point moves ~3x the path error along the limb",
)
def test_grazing_arrivals_on_a_slow_transfer():
    failures = arrival_errors(SLOW_SITUATION)
    assert not failures, "\n".join(failures)


@pytest.mark.slow
def test_no_hit_slips_between_steps():
    """Launches scattered around each hit interval, so that the reference's closest
    approach spans from the moon's centre (-R) to two radii off (+2R). Whenever the
    reference passes deeper than the graze band below the surface, the simulator must
    report a hit; whenever the reference misses by more than the band, it must not.
    Inside the band (within 5 % of the moon's radius of the surface) the two may
    disagree: the simulator's path is a few tens of km off the reference's there.
    The slow transfer is left out: its arrival is off by more than the band (see the
    test above), which is an accuracy limit, not a missed collision."""
    rng = np.random.default_rng(11)
    band = GRAZE_BAND * MOON_RADIUS_KM
    misses_km, disagreements = [], []
    for situation in SITUATIONS:
        low, high = hits_in(situation)
        width = high - low
        phase, distance, delta_v = situation
        # Half over the whole span, half near an edge, where the path's chord through
        # the disc is short and a coarse step could jump it.
        edges = [rng.choice([low, high]) + rng.uniform(-0.15, 0.15) * width for _ in range(20)]
        for angle in [*rng.uniform(low - width, high + width, 20), *edges]:
            launch = Launch(
                (phase + rng.normal(0.0, 0.1 * width)) % (2.0 * math.pi),
                distance,
                float(angle) % (2.0 * math.pi),
                delta_v + float(rng.normal(0.0, 1e-4)),
            )
            miss_km = reference_miss_km(WORLD, WORLD.true, launch)
            flight = fly(WORLD, WORLD.true, launch)
            misses_km.append(miss_km)
            if miss_km < -band and not flight.hit:
                disagreements.append(
                    f"{launch}: reference {-miss_km:.0f} km deep, simulator {flight.outcome}"
                )
            if miss_km > band and flight.hit:
                disagreements.append(
                    f"{launch}: reference misses by {miss_km:.0f} km, simulator hits"
                )
            if miss_km > band and flight.closest_approach_km > 0.0:
                assert flight.closest_approach_km == pytest.approx(
                    miss_km, abs=ARRIVAL_TOLERANCE * MOON_RADIUS_KM
                )
    misses = np.array(misses_km) / MOON_RADIUS_KM
    assert misses.min() < -0.8 and misses.max() > 1.5, (
        "the launches should span deep hits to clear misses"
    )
    assert (misses < -GRAZE_BAND).sum() >= 40 and (misses > GRAZE_BAND).sum() >= 40
    assert (np.abs(misses) < 0.3).sum() >= 30, "the launches should include many near the limb"
    assert not disagreements, "\n".join(disagreements)
