"""Decisions per second of ``sandbox/RocketFlight-v0`` on one core, and where they go.

Three kinds of flight, per world: *uniform* (every action uniform over the action
space, as an untrained learner's: most flights end at the first or second decision, on
the planet or out of propellant, after long coasts near it), *random* (the departure of
the episode's own transfer, then small random corrections: flights that leave, and
crash, escape or run out of time) and *guided* (the flight planner's own burns, recorded once,
then replayed: whole flights to the Moon, as a capable policy flies them). It prints
decisions a second, decisions a flight, simulation steps a decision, and the share of
the time spent coasting (the integrator) against the env's own bookkeeping.

    python benchmarks/flight_speed.py [--flights 50] [--seed 0]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import time
from dataclasses import replace
from typing import Any

import gymnasium as gym
import numpy as np

import envs
from envs.rocket.coast import Coaster
from sandbox.bench.flight import planned_flights
from sandbox.tasks.flight import FLIGHT


def timed_coasts():
    """Wrap ``Coaster.coast`` to count its wall time and steps."""
    spent = {"seconds": 0.0, "steps": 0}
    original = Coaster.coast

    def coast(self, *args):
        started = time.perf_counter()
        end = original(self, *args)
        spent["seconds"] += time.perf_counter() - started
        spent["steps"] += end.steps
        return end

    Coaster.coast = coast
    return spent, lambda: setattr(Coaster, "coast", original)


def run(env, flights: list[tuple[int, Any]], rng) -> tuple[int, float, dict]:
    """Fly each (seed, recorded actions, "uniform" or None for small random corrections);
    decisions, seconds and the coasts' share."""
    spent, restore = timed_coasts()
    decisions, started = 0, time.perf_counter()
    try:
        for seed, actions in flights:
            env.reset(seed=seed)
            done, k = False, 0
            while not done:
                if isinstance(actions, str):
                    action = rng.uniform(-1.0, 1.0, 2)
                elif actions is not None:
                    action = actions[min(k, len(actions) - 1)]
                elif k == 0:
                    action = np.array([env._situation[2] / env.departure_max_km_s, 0.0])
                else:
                    action = rng.uniform(-0.02, 0.02, 2)
                _, _, terminated, truncated, _ = env.step(action)
                decisions, k, done = decisions + 1, k + 1, terminated or truncated
    finally:
        restore()
    return decisions, time.perf_counter() - started, spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flights", type=int, default=50)
    parser.add_argument("--guided", type=int, default=5, help="planner flights to replay")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(
        f"{'world':12} {'flights':8} {'decisions/s':>12} {'per flight':>11} "
        f"{'steps/decision':>15} {'coasting':>9}"
    )
    for world in ("earth_moon", "super_earth"):
        env = gym.make(envs.FLIGHT_ID, world=world).unwrapped
        replayed = planned_flights(
            replace(FLIGHT, env_kwargs={"world": world}), args.guided, args.seed
        )
        kinds = {
            "uniform": [(args.seed + i, "uniform") for i in range(args.flights)],
            "random": [(args.seed + i, None) for i in range(args.flights)],
            "guided": (replayed * (args.flights // len(replayed) + 1))[: args.flights],
        }
        for kind, flights in kinds.items():
            rng = np.random.default_rng(args.seed)
            decisions, seconds, spent = run(env, flights, rng)
            print(
                f"{world:12} {kind:8} {decisions / seconds:12,.0f} "
                f"{decisions / len(flights):11.1f} {spent['steps'] / decisions:15.1f} "
                f"{spent['seconds'] / seconds:9.0%}"
            )


if __name__ == "__main__":
    main()
