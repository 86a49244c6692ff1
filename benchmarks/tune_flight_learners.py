"""A check that the SB3 learners learn something on the flight, scored on validation only.

Each learner trains with its ``[flight]`` settings (``agents/settings/<algo>.toml``,
overridden with ``--set key=value``) on ledger-counted flights and is evaluated every
``--eval-every`` flights on the harness's validation situations (``VALIDATION_SEED_BASE``,
never the test set the tables report). Besides the capture rate it prints what the shaped
reward pays for on the way, over the training flights: the share that enter the moon's
sphere of influence, and the decisions a flight.

    python benchmarks/tune_flight_learners.py ppo --budget 5000 --eval-every 1000
    python benchmarks/tune_flight_learners.py sac --budget 500 --set gamma=0.99
    python benchmarks/tune_flight_learners.py ppo --env correction_exponent=1
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import ast
import time
from collections import Counter
from typing import Any

import gymnasium as gym

from agents.base import TaskSpec
from agents.ledger import Ledger
from agents.plugins import load_agent
from sandbox.run.job import VALIDATION_SEED_BASE, evaluate
from sandbox.tasks.flight import FLIGHT


class SphereCounter(gym.Wrapper):
    """Counts finished flights and those that came within the moon's sphere of influence."""

    def __init__(self, env: gym.Env, tally: dict[str, int]):
        super().__init__(env)
        self.tally = tally

    def step(self, action):
        observation, reward, terminated, truncated, info = self.env.step(action)
        self.tally["decisions"] += 1
        if terminated or truncated:
            reached = (
                info["closest_approach_km"] + self.env.unwrapped.world.moon_radius_km
                < info["sphere_of_influence_km"]
            )
            self.tally["flights"] += 1
            self.tally["in_sphere"] += int(reached)
        return observation, reward, terminated, truncated, info


def parsed(pairs: list[str]) -> dict[str, Any]:
    settings = {}
    for pair in pairs:
        key, _, text = pair.partition("=")
        try:
            settings[key] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            settings[key] = text
    return settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("algo", help="ppo, sac or td3")
    parser.add_argument("--budget", type=int, default=2_000, help="training flights")
    parser.add_argument("--eval-every", type=int, default=500)
    parser.add_argument("--eval-episodes", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", nargs="*", default=[], help="key=value overrides")
    parser.add_argument("--env", nargs="*", default=[], help="key=value env arguments")
    args = parser.parse_args()
    env_kwargs = {**FLIGHT.env_kwargs, **parsed(args.env)}
    probe = FLIGHT.make_env(**env_kwargs)
    spec = TaskSpec(FLIGHT.name, probe.observation_space, probe.action_space, env_kwargs)
    probe.close()
    cls = load_agent(args.algo, FLIGHT.name)
    settings = {**cls.default_settings(FLIGHT.name), **parsed(args.set)}
    agent = cls(spec, args.seed, settings=settings)
    tally = {"decisions": 0, "flights": 0, "in_sphere": 0}
    ledger = Ledger(lambda: SphereCounter(FLIGHT.make_env(**env_kwargs), tally), limit=args.budget)
    print(f"{args.algo} {settings} env {env_kwargs}")
    print(
        f"{'flights':>8} {'captured (val)':>15} {'train: in sphere':>17} "
        f"{'decisions/flight':>17} {'flights/s':>10} {'return':>7}  outcomes"
    )
    started, seen = time.perf_counter(), dict(tally)
    for point in range(args.eval_every, args.budget + 1, args.eval_every):
        if point <= ledger.n_trials:
            continue
        tick = time.perf_counter()
        agent.train(ledger, point)
        training_s = time.perf_counter() - tick
        validation = evaluate(
            agent,
            lambda: FLIGHT.make_env(**env_kwargs),
            args.eval_episodes,
            seed_base=VALIDATION_SEED_BASE + args.seed * 10_000,
        )
        flights = tally["flights"] - seen["flights"]
        window = ledger.trials[seen["flights"] :]
        outcomes = Counter(trial.outcome for trial in window)
        mean_return = sum(trial.episode_return for trial in window) / max(1, len(window))
        print(
            f"{ledger.n_trials:8,} {validation.success_rate:15.0%} "
            f"{(tally['in_sphere'] - seen['in_sphere']) / max(1, flights):17.0%} "
            f"{(tally['decisions'] - seen['decisions']) / max(1, flights):17.1f} "
            f"{flights / training_s:10.1f} {mean_return:7.2f}  "
            + ", ".join(f"{key} {count / len(window):.0%}" for key, count in outcomes.items()),
            flush=True,
        )
        seen = dict(tally)
    agent.close()
    print(f"{time.perf_counter() - started:.0f} s, {ledger.n_successes} captures in training")


if __name__ == "__main__":
    main()
