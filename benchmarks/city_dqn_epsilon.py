"""DQN's final epsilon on the city, chosen on validation situations.

DQN explores with probability epsilon to the end of training. How many of its training
deaths are that exploration rather than what it has not learned? Each value of
``exploration_final_eps`` trains DQN (with its other city settings) on map
"train" for the whole budget, on seeds 1,000 and up (apart from the runs' seeds 0, 1,
...), and is scored on each seed's validation situations only, never on a test set:

- validation success at the end of the budget, and deaths per validation walk (greedy);
- trials to reliable: the first of two evaluation points in a row at 90 % validation
  success (the harness's rule; training here does not stop there, so that the late
  training walks, where epsilon is at its final value, are counted too);
- training deaths in all, and in the last half of the budget.

    python benchmarks/city_dqn_epsilon.py             # results/tuning/city-dqn-epsilon.json
    python benchmarks/city_dqn_epsilon.py --eps 0.05  # another value, kept beside the others
    python benchmarks/city_dqn_epsilon.py --table     # the table of what the file holds
    python benchmarks/city_dqn_epsilon.py --eps 0.117 0.01 \
        --out results/tuning/city-dqn-epsilon-symmetric.json  # the symmetric study's settings

Runs already in the file at the same size are kept (the command resumes); one process, one
run at a time.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import json
import time
from typing import Any

import torch

from agents.base import TaskSpec
from agents.plugins import load_agent
from sandbox.outputs.stats import format_censored, log_spaced_points
from sandbox.run.job import VALIDATION_SEED_BASE, JobConfig, train_stage
from sandbox.tasks.city import CITY
from sandbox.tuning import FIRST_SEED

OUT = Path(__file__).resolve().parents[1] / "results" / "tuning" / "city-dqn-epsilon.json"
EPSILONS = (0.1, 0.01)  #: the earlier value and the Zoo's Atari end point (--eps adds others)
RELIABLE_BAR = 0.9
#: a bar no success rate reaches: training runs the whole budget
NEVER_STOP = 1.01


def epsilon_run(epsilon: float, seed: int, budget: int, eval_points: int, episodes: int) -> dict:
    """One DQN run on map "train" with this final epsilon, reduced to its figures."""
    torch.set_num_threads(1)
    settings = load_agent("dqn", CITY.name).resolve_settings(
        CITY.name, {"exploration_final_eps": epsilon}
    )
    config = JobConfig(
        task=CITY.name,
        agent=f"dqn:eps{epsilon}",
        seed=seed,
        budget=budget,
        eval_episodes=episodes,
        eval_grid=tuple(log_spaced_points(budget, eval_points)),
        reliable_bar=NEVER_STOP,
        env_kwargs={"map": "train"},
        eval_seed_base=VALIDATION_SEED_BASE,
        decision_seed_base=VALIDATION_SEED_BASE,
    )

    def make_env():
        return CITY.make_env(**config.env_kwargs)

    probe = make_env()
    spec = TaskSpec(CITY.name, probe.observation_space, probe.action_space, config.env_kwargs)
    probe.close()
    agent = load_agent("dqn", CITY.name)(spec, seed, settings)
    started = time.perf_counter()
    try:
        stage = train_stage(agent, CITY, make_env, budget, config, started, None)
    finally:
        agent.close()
    trials = stage.ledger.trials
    reliable = stage.first_reliable(RELIABLE_BAR)
    last = stage.evaluations[-1]
    return {
        "exploration_final_eps": epsilon,
        "seed": seed,
        "budget": budget,
        "final_validation_success": last["success_rate"],
        "final_validation_deaths_per_walk": last["eval_deaths"] / last["eval_episodes"],
        "trials_to_reliable": reliable["trials"] if reliable else None,
        "training_deaths": stage.ledger.n_deaths,
        "training_deaths_last_half": sum(t.death for t in trials[len(trials) // 2 :]),
        "training_walks_last_half": len(trials) - len(trials) // 2,
        "validation_curve": [[row["trials"], row["success_rate"]] for row in stage.evaluations],
        "wall_time_s": round(time.perf_counter() - started, 1),
    }


def table(runs: list[dict[str, Any]]) -> str:
    lines = [
        f"{'final eps':>9} {'seed':>5} {'validation success':>18} {'trials to reliable':>18} "
        f"{'training deaths':>15} {'last half':>9} {'last half/walk':>14}"
    ]
    for run in sorted(runs, key=lambda r: (-r["exploration_final_eps"], r["seed"])):
        reliable = format_censored([run["trials_to_reliable"]], run["budget"])
        lines.append(
            f"{run['exploration_final_eps']:>9g} {run['seed']:>5} "
            f"{100 * run['final_validation_success']:>17.0f}% {reliable:>18} "
            f"{run['training_deaths']:>15} {run['training_deaths_last_half']:>9} "
            f"{run['training_deaths_last_half'] / run['training_walks_last_half']:>14.3f}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--eps", type=float, nargs="+", default=list(EPSILONS))
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--budget", type=int, default=1_000, help="training walks per run")
    parser.add_argument("--eval-points", type=int, default=16)
    parser.add_argument("--eval-episodes", type=int, default=50)
    parser.add_argument(
        "--table", action="store_true", help="print the table of what the file holds"
    )
    parser.add_argument("--out", type=Path, default=OUT, help=f"the file (default {OUT.name})")
    args = parser.parse_args()
    out = args.out
    saved = json.loads(out.read_text()) if out.exists() else {"runs": []}
    if not args.table:
        size = {
            "budget": args.budget,
            "eval_points": args.eval_points,
            "eval_episodes": args.eval_episodes,
        }
        runs = [run for run in saved["runs"] if saved.get("size") == size]
        done = {(run["exploration_final_eps"], run["seed"]) for run in runs}
        for epsilon in args.eps:
            for seed in range(FIRST_SEED, FIRST_SEED + args.seeds):
                if (epsilon, seed) in done:
                    continue
                runs.append(
                    epsilon_run(epsilon, seed, args.budget, args.eval_points, args.eval_episodes)
                )
                saved = {
                    "map": "train",
                    "settings": "agents/settings/dqn.toml [city], exploration_final_eps varied",
                    "resolved_settings": load_agent("dqn", CITY.name).resolve_settings(
                        CITY.name, {}
                    ),
                    "scored_on": "each seed's validation situations, never a test set",
                    "size": size,
                    "runs": runs,
                }
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_text(json.dumps(saved, indent=1) + "\n")
                print(table([runs[-1]]).splitlines()[-1], flush=True)
    print(table(saved["runs"]))


if __name__ == "__main__":
    main()
