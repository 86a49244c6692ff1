"""How fast the physics planner finds the Moon on worlds it has not been told about.

Draws random worlds around ``earth_moon`` whose hidden constants (gm_earth, gm_moon,
engine_efficiency) are each off nominal by a uniform factor in [0.8, 1.2], with a
launch vehicle wide enough (2.0-4.8 km/s) that a hit is reachable on every one of
them. On each world a fresh planner launches until its first hit (up to a cap),
then plans a few fresh situations with what it has identified. Prints the fraction
of worlds hit within 1/2/3 launches, the mean launches to the first hit, the
first-try hit rate of the fresh situations, and planning and fitting time.

    PYTHONPATH=. python benchmarks/rocket_planner.py [--worlds 100] [--fresh 3] [--seed 0]
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import gymnasium as gym
import numpy as np

import envs
from agents.base import TaskSpec
from agents.ledger import Ledger
from agents.rocket_planner import PhysicsPlanner
from envs.rocket.world import RocketWorld, load_world

TEST_DELTA_V_KM_S = (2.0, 4.8)  # wide enough to reach the Moon whatever the hidden constants
MAX_LAUNCHES = 8


def perturbed_world(
    base: RocketWorld, rng: np.random.Generator, spread: float = 0.2
) -> RocketWorld:
    """``base`` with each hidden constant off nominal by a factor uniform in [1 - spread, 1 +
    spread]."""
    factors = rng.uniform(1.0 - spread, 1.0 + spread, size=3)
    true = base.nominal.scaled(
        gm_earth=factors[0], gm_moon=factors[1], engine_efficiency=factors[2]
    )
    return dataclasses.replace(
        base, name=f"{base.name}-perturbed", true=true, delta_v_km_s=TEST_DELTA_V_KM_S
    )


def run_world(world: RocketWorld, seed: int, fresh: int) -> dict:
    def make():
        return gym.make(envs.ROCKET_ID, world=world)

    probe = make()
    spec = TaskSpec("rocket", probe.observation_space, probe.action_space, {"world": world})
    planner = PhysicsPlanner(spec, seed=seed)
    ledger = Ledger(make)
    while ledger.first_success() is None and ledger.n_trials < MAX_LAUNCHES:
        planner.train(ledger, ledger.n_trials + 1)
    fresh_hits = 0
    for i in range(fresh):
        observation, info = probe.reset(seed=10_000 + i)
        fresh_hits += bool(probe.step(planner.act(observation, info))[4]["is_success"])
    probe.close()
    planner.close()
    return {
        "first_hit": ledger.first_success(),
        "fresh_hits": fresh_hits,
        "plan_s": planner.plan_seconds,
        "fit_s": planner.fit_seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--worlds", type=int, default=100, help="random worlds")
    parser.add_argument(
        "--fresh", type=int, default=3, help="fresh situations per world after the first hit"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the world draws")
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    base = load_world("earth_moon")
    started = time.perf_counter()
    results = []
    for k in range(args.worlds):
        world = perturbed_world(base, rng)
        result = run_world(world, seed=k, fresh=args.fresh)
        results.append(result)
        if result["first_hit"] is None or result["first_hit"] > 3:
            print(f"world {k}: first hit {result['first_hit']}, true {world.true}", flush=True)
    first = np.array([r["first_hit"] or np.inf for r in results], dtype=float)
    plan_s = np.concatenate([r["plan_s"] for r in results])
    fit_s = np.concatenate([r["fit_s"] for r in results])
    n = len(results)
    print(
        f"{n} worlds, hidden constants uniform in [0.8, 1.2] x nominal, delta-v "
        f"{TEST_DELTA_V_KM_S} km/s"
    )
    for k in (1, 2, 3):
        print(f"  hit within {k} launch{'es' if k > 1 else ''}: {np.mean(first <= k):.0%}")
    hit = np.isfinite(first)
    print(
        f"  mean launches to first hit: {first[hit].mean():.2f} (no hit within {MAX_LAUNCHES}: "
        f"{int(np.sum(~hit))})"
    )
    if args.fresh:
        fresh = sum(r["fresh_hits"] for r in results)
        print(
            "  fresh situations hit on the first try after identification: "
            f"{fresh}/{n * args.fresh}"
        )
    print(
        f"  planning: {1e3 * plan_s.mean():.0f} ms mean, {1e3 * np.percentile(plan_s, 95):.0f} ms "
        "95th percentile"
    )
    print(f"  fitting:  {1e3 * fit_s.mean():.0f} ms mean per launch")
    print(f"  wall time: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
