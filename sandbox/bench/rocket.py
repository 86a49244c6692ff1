"""The rocket: launches per second through ``env.step``, and where the simulator lands
the rocket on the Moon against an independent high-accuracy integrator.

The accuracy is scored on launches that the reference (``envs/rocket/reference.py``,
solve_ivp DOP853, rtol 1e-10) puts on the Moon: uniform situations, uniform commanded
delta-v, and a burn angle in the middle 90 % of the hitting angles. The speed is
measured on random launches (uniform situations, uniform actions), what an RL agent
sends early in training. ``benchmarks/rocket_speed.py`` uses the same helpers to print
the trade-off between the simulator's step factor, its accuracy and its speed.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import replace

import gymnasium as gym
import numpy as np
from scipy.optimize import brentq, minimize_scalar

import envs
from envs.rocket.flight import ETA, Launch, fly
from envs.rocket.reference import reference_flight, reference_miss_km
from envs.rocket.world import Constants, RocketWorld, load_world
from sandbox.bench.targets import (
    ROCKET_ARRIVAL_ERROR,
    ROCKET_LAUNCHES_PER_S,
    ROCKET_REFERENCE_HITS_LANDED,
    Figure,
)
from sandbox.bench.timing import Rate, rate_over

COARSE_AIMS = 90  # burn angles tried per situation when looking for a hit
COARSE_ETA = 0.03  # a rough flight is enough to see where the moon is


def hit_interval(
    world: RocketWorld, true: Constants, phase: float, distance: float, delta_v: float
) -> tuple[float, float] | None:
    """The burn angles ``(low, high)``, rad, between which the reference hits the moon
    in this situation with this commanded delta-v, around the best of a coarse scan;
    None if no burn angle hits. ``high`` may exceed 2 pi."""
    point_moon = replace(
        world, moon_radius_km=1.0
    )  # closest approach to the centre, never stopped by a hit
    aims = np.linspace(0.0, 2.0 * math.pi, COARSE_AIMS, endpoint=False)
    span = 1.5 * (aims[1] - aims[0])

    def centre_km(angle: float, eta: float = ETA) -> float:
        return fly(
            point_moon, true, Launch(phase, distance, angle % (2.0 * math.pi), delta_v), eta=eta
        ).closest_approach_km

    best = float(aims[int(np.argmin([centre_km(a, COARSE_ETA) for a in aims]))])
    aim = minimize_scalar(
        centre_km, bounds=(best - span, best + span), method="bounded", options={"xatol": 1e-5}
    ).x

    def miss(angle: float) -> float:
        return reference_miss_km(
            world, true, Launch(phase, distance, angle % (2.0 * math.pi), delta_v)
        )

    if miss(aim) >= 0.0 or miss(aim - span) <= 0.0 or miss(aim + span) <= 0.0:
        return None
    return brentq(miss, aim - span, aim, xtol=1e-10), brentq(miss, aim, aim + span, xtol=1e-10)


def hitting_launches(world: RocketWorld, count: int, seed: int) -> list[Launch]:
    """``count`` launches that the reference puts on the moon: uniform situations,
    uniform commanded delta-v, and a burn angle uniform over the middle 90 % of the
    hitting angles (the outer 5 % on each side are grazes too fine to score an
    arrival point by)."""
    rng = np.random.default_rng(seed)
    launches: list[Launch] = []
    for _ in range(50 * count):
        if len(launches) == count:
            break
        phase = float(rng.uniform(0.0, 2.0 * math.pi))
        distance = float(rng.uniform(*world.moon_distance_km))
        delta_v = float(rng.uniform(*world.delta_v_km_s))
        interval = hit_interval(world, world.true, phase, distance, delta_v)
        if interval is None:
            continue
        low, high = interval
        angle = float(rng.uniform(low + 0.05 * (high - low), high - 0.05 * (high - low)))
        launches.append(Launch(phase, distance, angle % (2.0 * math.pi), delta_v))
    if len(launches) < count:
        raise RuntimeError(
            f"world {world.name!r}: found only {len(launches)} hitting launches; does its delta-v "
            "range reach the moon?"
        )
    return launches


def random_launches(world: RocketWorld, count: int, seed: int) -> list[Launch]:
    """Uniform situations and uniform actions, mapped as ``RocketLaunchEnv`` maps them."""
    rng = np.random.default_rng(seed)
    launches = []
    for _ in range(count):
        action = rng.uniform(-1.0, 1.0, 3)
        delta_v = world.delta_v_km_s[0] + 0.5 * (action[2] + 1.0) * (
            world.delta_v_km_s[1] - world.delta_v_km_s[0]
        )
        launches.append(
            Launch(
                float(rng.uniform(0.0, 2.0 * math.pi)),
                float(rng.uniform(*world.moon_distance_km)),
                math.atan2(action[1], action[0]) % (2.0 * math.pi),
                float(delta_v),
            )
        )
    return launches


def arrival_errors(
    world: RocketWorld, launches: list[Launch], references: list[dict], eta: float = ETA
) -> list[float | None]:
    """Per launch, how far (in moon radii) the simulator's point of arrival on the moon
    lies from the reference's; None where the simulator misses the moon."""
    errors: list[float | None] = []
    for launch, reference in zip(launches, references, strict=True):
        flight = fly(world, world.true, launch, eta=eta)
        errors.append(
            math.dist(flight.arrival_km, reference["arrival_km"]) / world.moon_radius_km
            if flight.hit
            else None
        )
    return errors


def env_launch_rate(world: RocketWorld, seconds: float, seed: int) -> Rate:
    """Launches per second through ``env.step`` (a reset and one step each), random actions."""
    env = gym.make(envs.ROCKET_ID, world=world)
    rng = np.random.default_rng(seed)
    actions = rng.uniform(-1.0, 1.0, (4096, 3)).astype(np.float32)
    env.reset(seed=seed)

    def launch(i: int) -> None:
        env.reset()
        env.step(actions[i % len(actions)])

    rate = rate_over(launch, seconds)
    env.close()
    return rate


def measure(world_name: str, quick: bool, seed: int = 0) -> list[Figure]:
    world = load_world(world_name)
    hits = hitting_launches(world, 3 if quick else 20, seed)
    references = [reference_flight(world, world.true, launch) for launch in hits]
    errors = arrival_errors(world, hits, references)
    landed = [error for error in errors if error is not None]
    rate = env_launch_rate(world, 1.0 if quick else 10.0, seed + 1)
    scored = {
        "world": world.name,
        "eta": ETA,
        "hitting_launches": len(hits),
        "landed_by_simulator": len(landed),
        "seed": seed,
    }
    # with no landed launch there is no arrival error to report: infinite, and "below target"
    median_error = statistics.median(landed) if landed else math.inf
    max_error = max(landed) if landed else math.inf
    return [
        Figure(
            "rocket_launches_per_s",
            "rocket: launches/s through env.step",
            rate.per_s,
            "launches/s",
            ROCKET_LAUNCHES_PER_S,
            {
                "world": world.name,
                "launches": rate.calls,
                "seconds": rate.wall_s,
                "core_share": rate.core_share,
                "actions": "uniform random",
                "seed": seed + 1,
            },
        ),
        Figure(
            "rocket_arrival_error_median",
            "rocket: arrival error, median",
            median_error,
            "moon radii",
            ROCKET_ARRIVAL_ERROR,
            scored,
        ),
        Figure(
            "rocket_arrival_error_max",
            "rocket: arrival error, max",
            max_error,
            "moon radii",
            ROCKET_ARRIVAL_ERROR,
            scored,
            note=f"over {len(hits)} launches the reference lands ({world.name}, step factor {ETA})",
        ),
        Figure(
            "rocket_reference_hits_landed",
            "rocket: reference hits landed too",
            len(landed) / len(hits),
            "fraction",
            ROCKET_REFERENCE_HITS_LANDED,
            scored,
        ),
    ]
