"""Speed against accuracy of the rocket simulator, for several step factors.

For each step factor ``ETA`` (``envs/rocket/flight.py``) it prints the mean simulation
steps per launch, the arrival error against the high-accuracy reference
(``envs/rocket/reference.py``) over a fixed set of hitting launches, in moon radii,
and launches per second of ``fly`` on random launches, on one core. It is how the
default ``ETA`` was chosen; the default's own figures, against their targets, come from
``python -m sandbox.bench`` (``sandbox/bench/rocket.py``, whose helpers this script uses).

    python benchmarks/rocket_speed.py [--seconds 3] [--hits 20] [--seed 0]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import math
import os
import statistics

from envs.rocket.flight import ETA, fly
from envs.rocket.reference import reference_flight
from envs.rocket.world import load_world
from sandbox.bench.rocket import (
    arrival_errors,
    hit_interval,  # noqa: F401  (tests import it from here)
    hitting_launches,
    random_launches,
)
from sandbox.bench.timing import rate_over

ETAS = (0.03, 0.02, 0.012, 0.008)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="timing budget per row, s")
    parser.add_argument(
        "--hits", type=int, default=20, help="hitting launches scored against the reference"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--world", default="earth_moon")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(
            0, {min(os.sched_getaffinity(0))}
        )  # one core, so the rows compare alike

    world = load_world(args.world)
    print(
        f"world {world.name}; finding {args.hits} hitting launches (seed {args.seed}) ...",
        flush=True,
    )
    hits = hitting_launches(world, args.hits, args.seed)
    references = [reference_flight(world, world.true, launch) for launch in hits]
    randoms = random_launches(world, 4000, args.seed + 1)

    header = (
        f"{'ETA':>7} {'steps/launch':>13} {'median err':>11} {'max err':>8} {'missed':>7} "
        f"{'launches/s':>11}"
    )
    print(
        f"\narrival error vs reference in moon radii over {len(hits)} hitting launches;"
        " steps and speed over random launches (fly)"
    )
    print(header)
    print("-" * len(header))
    core_shares, worst_at_default = [], None
    for eta in sorted({*ETAS, ETA}, reverse=True):
        errors = arrival_errors(world, hits, references, eta)
        landed = [error for error in errors if error is not None]
        steps: list[int] = []
        rate = rate_over(
            lambda i, steps=steps, eta=eta: steps.append(
                fly(world, world.true, randoms[i % len(randoms)], eta=eta).steps
            ),
            args.seconds,
        )
        core_shares.append(rate.core_share)
        median_error = statistics.median(landed) if landed else math.nan
        max_error = max(landed) if landed else math.nan
        if eta == ETA and landed:
            worst = max(range(len(errors)), key=lambda i: -1.0 if errors[i] is None else errors[i])
            worst_at_default = (hits[worst], references[worst]["t_s"])
        print(
            f"{eta:>7.3f} {statistics.fmean(steps):>13.0f} {median_error:>11.3f} {max_error:>8.3f}"
            f" {len(errors) - len(landed):>7d} {rate.per_s:>11.0f}"
        )
    if min(core_shares) < 0.9:
        print(
            f"warning: the machine is busy (this process had as little as {min(core_shares):.0%} "
            "of a core);"
            " the rates are low"
        )
    if worst_at_default is not None:
        launch, flight_time_s = worst_at_default
        print(
            f"largest error at ETA={ETA}: commanded delta-v {launch.delta_v_km_s:.3f} km/s,"
            f" moon at {launch.moon_distance_km:,.0f} km, {flight_time_s / 86400.0:.2f} days to "
            "arrival"
        )


if __name__ == "__main__":
    main()
