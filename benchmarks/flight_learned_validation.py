"""How far the flight's learned-model agent gets on a budget, on VALIDATION situations.

    python benchmarks/flight_learned_validation.py --world super_earth --flights 100 \
        --set horizon=20

Trains one agent for ``--flights`` flights (its own training situations, from its seed)
and, every ``--every`` flights, flies ``--episodes`` validation situations (the job
path's validation set of the seed, never the test set) with ``act``. Prints, per block
of training flights and per evaluation: the share of flights that entered the Moon's
sphere of influence, the median closest approach to the Moon's surface (km), captures,
outcomes, and the wall seconds per training flight.
"""

from __future__ import annotations

import argparse
import collections
import json
import time
import tomllib

import numpy as np
import torch

from agents import Ledger, TaskSpec
from agents.flight_learned import FlightLearnedModel
from sandbox.run.job import VALIDATION_SEED_BASE, seed_set_base
from sandbox.tasks.flight import FLIGHT


def entered_sphere(info: dict) -> bool:
    """Whether any decision's tracked state lay inside the Moon's sphere of influence."""
    telemetry = info["telemetry"]
    relative = np.asarray(telemetry["position_km"]) - np.asarray(telemetry["moon_km"])
    return bool((np.hypot(relative[:, 0], relative[:, 1]) < info["sphere_of_influence_km"]).any())


def summary(infos: list[dict]) -> dict:
    return {
        "flights": len(infos),
        "in_sphere": sum(entered_sphere(i) for i in infos) / max(len(infos), 1),
        "closest_km_median": float(np.median([i["closest_approach_km"] for i in infos])),
        "closest_km_min": float(min(i["closest_approach_km"] for i in infos)),
        "captures": sum(bool(i["is_success"]) for i in infos),
        "outcomes": dict(collections.Counter(i["outcome"] for i in infos)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--world", default="super_earth")
    parser.add_argument("--flights", type=int, default=100)
    parser.add_argument("--every", type=int, default=25)
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], help="KEY=TOML value")
    args = parser.parse_args()
    torch.set_num_threads(1)
    overrides = {}
    for item in args.set:
        key, _, value = item.partition("=")
        overrides[key] = tomllib.loads(f"v = {value}")["v"]
    make = lambda: FLIGHT.make_env(world=args.world)  # noqa: E731
    probe = make()
    spec = TaskSpec("flight", probe.observation_space, probe.action_space, {"world": args.world})
    agent = FlightLearnedModel(
        spec, args.seed, FlightLearnedModel.resolve_settings("flight", overrides)
    )
    ledger = Ledger(make)
    base = seed_set_base(VALIDATION_SEED_BASE, args.seed)
    print(json.dumps({"world": args.world, "seed": args.seed, "overrides": overrides}))
    while ledger.n_trials < args.flights:
        start, started = ledger.n_trials, time.perf_counter()
        target = min(args.flights, start + args.every)
        infos = []
        while ledger.n_trials < target:
            agent.train(ledger, ledger.n_trials + 1)
            infos.append(agent.last_info)
        seconds = (time.perf_counter() - started) / (target - start)
        row = {"trials": target, "training": summary(infos), "s_per_flight": round(seconds, 2)}
        evaluated = []
        for i in range(args.episodes):
            observation, info = probe.reset(seed=base + i)
            agent.reset_episode()
            done = False
            while not done:
                observation, _, terminated, truncated, info = probe.step(
                    agent.act(observation, info)
                )
                done = terminated or truncated
            evaluated.append(info)
        row["validation"] = summary(evaluated)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
