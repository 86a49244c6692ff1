r"""A small hyperparameter search for the city's learned-model agent (agents/learned_city.py),
scored on validation situations, never the test set.

    PYTHONPATH=. python benchmarks/tune_learned_city.py --seeds 3 --checkpoints 5,20,100 \
        --episodes 50 --workers 2

Each candidate changes one setting of the defaults. Per candidate and seed, a fresh agent
trains in the training city (a ledger counts every walk and death) and, at each of
``--checkpoints`` (training walks so far), walks held-out walks from the validation set
(reset seeds ``VALIDATION_SEED_BASE + i``): ``--episodes`` in the training city, as many
zero-shot in the new city and in the training city with hidden traffic far busier and
faster than published, and ``--episodes // 5`` in each of ``--random-maps`` generated
cities it has never seen. It prints, per candidate and checkpoint (sums over seeds):
training deaths, the median walk of the first success, validation success and deaths per
kind of city, and milliseconds per decision; ``--out`` writes every row as JSON. The
figures behind the defaults are quoted beside them in ``LearnedCityConfig`` (3 seeds,
about 15 minutes on two busy cores).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from typing import Any

import envs  # noqa: F401  (registers sandbox/CityNav-v1)
from agents import Ledger, TaskSpec
from agents.learned_car_moves import LearnedCityConfig
from agents.learned_city import LearnedCityModel
from sandbox.run.job import VALIDATION_SEED_BASE, evaluate
from sandbox.tasks.city import CITY

#: one setting changed at a time from the defaults
CANDIDATES: dict[str, list[Any]] = {
    "horizon_ticks": [8, 16],
    "trust_moves": [10, 40],
    "max_unseen_share": [0.0, 0.1],
    "trust_exposures": [30, 120],
    "narrowest_vouching": [0, 2],
}


class TimedAgent:
    """Passes ``act`` through to the agent and times it."""

    def __init__(self, agent: LearnedCityModel):
        self.agent, self.seconds, self.decisions = agent, 0.0, 0

    def act(self, observation, info):
        started = time.perf_counter()
        action = self.agent.act(observation, info)
        self.seconds += time.perf_counter() - started
        self.decisions += 1
        return action

    def reset_episode(self) -> None:
        self.agent.reset_episode()


#: validation cities: the training city, the new one (zero-shot), generated ones never
#: seen, and the training city with traffic far busier and faster than published
BUSY_TRAFFIC = {
    "entry_rate": 0.3,
    "speeds": (1, 2),
    "speed_weights": (1.0, 1.0),
    "turn_probability": 0.4,
}


def validation_cities(episodes: int, random_maps: int) -> list[tuple[str, dict[str, Any], int]]:
    cities = [
        ("train", {"map": "train"}, episodes),
        ("new", {"map": "new"}, episodes),
        ("busy", {"map": "train", "traffic": BUSY_TRAFFIC}, episodes),
    ]
    return cities + [
        ("random", {"map": f"random:{1000 + i}"}, max(1, episodes // 5)) for i in range(random_maps)
    ]


def run(job: dict[str, Any]) -> dict[str, Any]:
    """Train one agent with ``job["settings"]`` and seed, scoring it on the validation set
    at each of ``job["checkpoints"]`` (training walks)."""
    probe = CITY.make_env(map="train")
    spec = TaskSpec("city", probe.observation_space, probe.action_space, {"map": "train"})
    probe.close()
    agent = LearnedCityModel(
        spec, job["seed"], LearnedCityModel.resolve_settings("city", job["settings"])
    )
    ledger = Ledger(lambda: CITY.make_env(map="train"))
    row = {**job, "checkpoints": {}}
    for walks in job["checkpoints"]:
        agent.train(ledger, walks)
        point = {
            "training_deaths": ledger.n_deaths,
            "training_successes": ledger.n_successes,
            "first_success": ledger.first_success(),
            "cities": {},
        }
        timed = TimedAgent(agent)
        for name, kwargs, episodes in validation_cities(job["episodes"], job["random_maps"]):
            result = evaluate(
                timed,
                lambda kwargs=kwargs: CITY.make_env(**kwargs),
                episodes,
                seed_base=VALIDATION_SEED_BASE,
            )
            tally = point["cities"].setdefault(name, {"episodes": 0, "successes": 0, "deaths": 0})
            tally["episodes"] += episodes
            tally["successes"] += round(result.success_rate * episodes)
            tally["deaths"] += result.deaths
        point["ms_per_decision"] = round(1000 * timed.seconds / max(1, timed.decisions), 3)
        row["checkpoints"][walks] = point
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--checkpoints",
        default="5,20,100",
        help="training walks at which to score (comma-separated)",
    )
    parser.add_argument(
        "--episodes", type=int, default=50, help="validation walks in each built-in city"
    )
    parser.add_argument("--random-maps", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only-defaults", action="store_true", help="score the defaults alone")
    parser.add_argument("--out", help="write the rows as JSON here")
    args = parser.parse_args()

    defaults = asdict(LearnedCityConfig())
    checkpoints = [int(n) for n in args.checkpoints.split(",")]
    settings = [{}] + (
        [] if args.only_defaults else [{k: v} for k, values in CANDIDATES.items() for v in values]
    )
    jobs = [
        {
            "settings": s,
            "seed": seed,
            "checkpoints": checkpoints,
            "episodes": args.episodes,
            "random_maps": args.random_maps,
        }
        for s in settings
        for seed in range(args.seeds)
    ]
    with ProcessPoolExecutor(args.workers) as pool:
        rows = list(pool.map(run, jobs))
    print(
        f"defaults: {defaults}\n{args.seeds} seeds; validation walks per seed and checkpoint: "
        f"{args.episodes} in "
        f"train, new and busy, {max(1, args.episodes // 5)} in each of {args.random_maps} "
        "generated cities"
    )
    for s in settings:
        mine = [r for r in rows if r["settings"] == s]
        label = json.dumps(s) if s else "defaults"
        for walks in checkpoints:
            points = [r["checkpoints"][walks] for r in mine]
            firsts = [p["first_success"] for p in points if p["first_success"] is not None]
            cells = []
            for name in ("train", "new", "busy", "random"):
                tallies = [p["cities"][name] for p in points if name in p["cities"]]
                if tallies:
                    walked = sum(t["episodes"] for t in tallies)
                    rate = 100 * sum(t["successes"] for t in tallies) / walked
                    cells.append(
                        f"{name} {rate:5.1f} % ({sum(t['deaths'] for t in tallies)} deaths)"
                    )
            print(
                f"{label:>30} {walks:4d} walks  training deaths "
                f"{sum(p['training_deaths'] for p in points):3d}  "
                f"first success {statistics.median(firsts) if firsts else '-':>4}  "
                + "  ".join(cells)
                + f"  {statistics.mean(p['ms_per_decision'] for p in points):5.2f} ms/decision"
            )
    if args.out:
        with open(args.out, "w") as file:
            json.dump({"defaults": defaults, "args": vars(args), "rows": rows}, file, indent=1)


if __name__ == "__main__":
    main()
