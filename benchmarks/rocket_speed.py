"""Speed against accuracy of the rocket simulator, on one core.

For several step factors ``ETA`` (``envs/rocket/flight.py``) it prints the mean
simulation steps per launch, the arrival error against the high-accuracy reference
(``envs/rocket/reference.py``) over a fixed set of hitting launches, in moon radii,
and launches per second on random launches: uniform situations and uniform actions,
what an RL agent sends early in training.

    python benchmarks/rocket_speed.py [--seconds 3] [--hits 20] [--seed 0]

The helpers that find hitting launches (``hit_interval``, ``hitting_launches``) are
shared with ``tests/test_rocket_env.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import math
import os
import statistics
import time
from dataclasses import replace

import gymnasium as gym
import numpy as np
from scipy.optimize import brentq, minimize_scalar

import envs
from envs.rocket.flight import ETA, Launch, fly
from envs.rocket.reference import reference_flight, reference_miss_km
from envs.rocket.world import Constants, RocketWorld, load_world

ETAS = (0.03, 0.02, 0.012, 0.008)
TARGET_LAUNCHES_PER_S = 150.0
TARGET_ERROR_MOON_RADII = 0.10
COARSE_AIMS = 90  # burn angles tried per situation when looking for a hit
COARSE_ETA = 0.03  # a rough flight is enough to see where the moon is


def hit_interval(world: RocketWorld, true: Constants, phase: float, distance: float, delta_v: float) -> tuple[float, float] | None:
    """The burn angles ``(low, high)``, rad, between which the reference hits the moon
    in this situation with this commanded delta-v, around the best of a coarse scan;
    None if no burn angle hits. ``high`` may exceed 2 pi."""
    point_moon = replace(world, moon_radius_km=1.0)  # closest approach to the centre, never stopped by a hit
    aims = np.linspace(0.0, 2.0 * math.pi, COARSE_AIMS, endpoint=False)
    span = 1.5 * (aims[1] - aims[0])

    def centre_km(angle: float, eta: float = ETA) -> float:
        return fly(point_moon, true, Launch(phase, distance, angle % (2.0 * math.pi), delta_v), eta=eta).closest_approach_km

    best = float(aims[int(np.argmin([centre_km(a, COARSE_ETA) for a in aims]))])
    aim = minimize_scalar(centre_km, bounds=(best - span, best + span), method="bounded", options={"xatol": 1e-5}).x

    def miss(angle: float) -> float:
        return reference_miss_km(world, true, Launch(phase, distance, angle % (2.0 * math.pi), delta_v))

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
        raise RuntimeError(f"world {world.name!r}: found only {len(launches)} hitting launches; does its delta-v range reach the moon?")
    return launches


def random_launches(world: RocketWorld, count: int, seed: int) -> list[Launch]:
    """Uniform situations and uniform actions, mapped as ``RocketLaunchEnv`` maps them."""
    rng = np.random.default_rng(seed)
    launches = []
    for _ in range(count):
        action = rng.uniform(-1.0, 1.0, 3)
        delta_v = world.delta_v_km_s[0] + 0.5 * (action[2] + 1.0) * (world.delta_v_km_s[1] - world.delta_v_km_s[0])
        launches.append(Launch(
            float(rng.uniform(0.0, 2.0 * math.pi)),
            float(rng.uniform(*world.moon_distance_km)),
            math.atan2(action[1], action[0]) % (2.0 * math.pi),
            float(delta_v),
        ))
    return launches


def launches_per_second(launch_once, seconds: float) -> tuple[float, float]:
    """Calls ``launch_once(i)`` for i = 0, 1, ... for about ``seconds`` of wall time;
    returns (launches per second, the share of a core this process had meanwhile)."""
    done, start, cpu_start = 0, time.perf_counter(), time.process_time()
    while (elapsed := time.perf_counter() - start) < seconds:
        launch_once(done)
        done += 1
    return done / elapsed, (time.process_time() - cpu_start) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="timing budget per row, s")
    parser.add_argument("--hits", type=int, default=20, help="hitting launches scored against the reference")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--world", default="earth_moon")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as the targets are stated

    world = load_world(args.world)
    true = world.true
    print(f"world {world.name}; finding {args.hits} hitting launches (seed {args.seed}) ...", flush=True)
    hits = hitting_launches(world, args.hits, args.seed)
    references = [reference_flight(world, true, launch) for launch in hits]
    randoms = random_launches(world, 4000, args.seed + 1)

    header = f"{'ETA':>7} {'steps/launch':>13} {'median err':>11} {'max err':>8} {'missed':>7} {'launches/s':>11}"
    print(f"\narrival error vs reference in moon radii over {len(hits)} hitting launches;"
          " steps and speed over random launches (fly)")
    print(header)
    print("-" * len(header))
    summary, core_shares = {}, []
    for eta in sorted({*ETAS, ETA}, reverse=True):
        errors, missed, worst = [], 0, None
        for launch, reference in zip(hits, references):
            flight = fly(world, true, launch, eta=eta)
            if not flight.hit:
                missed += 1
                continue
            errors.append(math.dist(flight.arrival_km, reference["arrival_km"]) / world.moon_radius_km)
            if errors[-1] == max(errors):
                worst = (launch, reference["t_s"])
        steps = []
        rate, core_share = launches_per_second(lambda i: steps.append(fly(world, true, randoms[i % len(randoms)], eta=eta).steps), args.seconds)
        core_shares.append(core_share)
        median_error = statistics.median(errors) if errors else math.nan
        max_error = max(errors) if errors else math.nan
        summary[eta] = (rate, max_error, missed, worst)
        print(f"{eta:>7.3f} {statistics.fmean(steps):>13.0f} {median_error:>11.3f} {max_error:>8.3f} {missed:>7d} {rate:>11.0f}")

    env = gym.make(envs.ROCKET_ID, world=world)
    rng = np.random.default_rng(args.seed + 2)
    env.reset(seed=args.seed + 2)

    def env_launch(_: int) -> None:
        env.reset()
        env.step(rng.uniform(-1.0, 1.0, 3).astype(np.float32))

    env_rate, core_share = launches_per_second(env_launch, args.seconds)
    core_shares.append(core_share)
    print(f"\nenv.step of {envs.ROCKET_ID} (reset + step, random actions): {env_rate:.0f} launches/s")
    if min(core_shares) < 0.9:
        print(f"warning: the machine is busy (this process had as little as {min(core_shares):.0%} of a core);"
              " the rates are low")
    _, max_error, missed, worst = summary[ETA]
    if worst is not None:
        launch, flight_time_s = worst
        print(f"largest error at ETA={ETA}: commanded delta-v {launch.delta_v_km_s:.3f} km/s,"
              f" moon at {launch.moon_distance_km:,.0f} km, {flight_time_s / 86400.0:.2f} days to arrival")
    ok = env_rate >= TARGET_LAUNCHES_PER_S and max_error < TARGET_ERROR_MOON_RADII and missed == 0
    missed_note = f", {missed} reference hits missed" if missed else ""
    print(f"default ETA={ETA}: {env_rate:.0f} launches/s, max error {max_error:.2f} moon radii{missed_note}"
          f" (target >= {TARGET_LAUNCHES_PER_S:.0f}/s at < {TARGET_ERROR_MOON_RADII:.2f}): {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
