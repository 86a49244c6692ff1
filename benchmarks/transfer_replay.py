"""What an off-policy learner should carry into a new world: its replay buffer or not.

SAC and TD3 train on the generalization study's training region of ``earth_moon``,
then keep training in ``super_earth`` (the study's transfer), once keeping the old
world's transitions in the replay buffer and once starting the new world with an
empty buffer (network, optimiser and exploration state kept both times). Launches
in the two worlds look the same to the learner (the same observation) but need
different actions; a buffer that still holds thousands of the old world's launches
keeps pulling the critic towards the old answer.

The harness clears the buffer (``SB3Learner.keep_replay_in_new_world = False``);
this benchmark is the measurement behind that choice. It prints a table and writes
``results/tuning/transfer_replay.json``.

    python benchmarks/transfer_replay.py [--seeds 2] [--workers 2]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import json
from typing import Any

from agents.plugins import load_agent
from sandbox.outputs.stats import format_censored
from sandbox.run.job import VALIDATION_SEED_BASE, JobConfig, run_job
from sandbox.run.runner import Job, run_jobs
from sandbox.studies import get_study

OUT = Path(__file__).resolve().parents[1] / "results" / "tuning" / "transfer_replay.json"
STUDY = get_study("generalization", "rocket")
ALGOS = ("sac", "td3")


def transfer_job(algo: str, keep_replay: bool, seed: int, on_evaluation=None) -> dict[str, Any]:
    size = STUDY.full
    settings = load_agent(algo).resolve_settings(
        "rocket", {"keep_replay_in_new_world": keep_replay}
    )
    config = JobConfig(
        task="rocket",
        agent=algo,
        seed=seed,
        budget=size.budget,
        eval_episodes=size.eval_episodes,
        eval_grid=tuple(size.evaluation_grid()),
        reliable_bar=0.9,
        env_kwargs={"world": "earth_moon", **STUDY.env_kwargs},
        transfer_env_kwargs=STUDY.transfer_env_kwargs,
        transfer_budget=size.transfer_budget,
        agent_settings=settings,
        eval_seed_base=VALIDATION_SEED_BASE,
    )
    job = run_job(config, on_evaluation)
    transfer = job["transfer"]
    return {
        "algo": algo,
        "replay": "kept" if keep_replay else "cleared",
        "seed": seed,
        "home_trials_to_reliable": job["trials_to_reliable"],
        "home_final_success_rate": job["final_success_rate"],
        "zero_shot_success": transfer["zero_shot_success"],
        "transfer_budget": transfer["budget"],
        "transfer_trials_to_reliable": transfer["trials_to_reliable"],
        "transfer_final_success_rate": transfer["final_success_rate"],
        "transfer_curve": [[row["trials"], row["success_rate"]] for row in transfer["evaluations"]],
        "wall_time_s": job["wall_time_s"],
    }


def table(runs: list[dict[str, Any]]) -> str:
    lines = [
        f"{'algo':5} {'replay':8} {'seed':>4} {'zero-shot':>9} {'trials to reliable there':>25} "
        f"{'final there':>11}"
    ]
    for run in sorted(runs, key=lambda r: (r["algo"], r["replay"], r["seed"])):
        reliable = format_censored([run["transfer_trials_to_reliable"]], run["transfer_budget"])
        lines.append(
            f"{run['algo']:5} {run['replay']:8} {run['seed']:>4} "
            f"{100 * run['zero_shot_success']:>8.0f}% "
            f"{reliable:>25} {100 * run['transfer_final_success_rate']:>10.0f}%"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--table", action="store_true", help="print the table of what the file holds"
    )
    args = parser.parse_args()
    if args.table:
        print(table(json.loads(OUT.read_text())["runs"]))
        return
    runs: list[dict[str, Any]] = []
    size = STUDY.full
    jobs = [
        Job(
            (algo, keep, seed), size.budget + size.transfer_budget, transfer_job, (algo, keep, seed)
        )
        for seed in range(args.seeds)
        for algo in ALGOS
        for keep in (True, False)
    ]
    run_jobs(jobs, runs.append, args.workers, "transfer replay")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(
        json.dumps(
            {
                "study": STUDY.name,
                "size": {
                    "budget": size.budget,
                    "transfer_budget": size.transfer_budget,
                    "eval_episodes": size.eval_episodes,
                },
                "runs": runs,
            },
            indent=1,
        )
    )
    print(table(runs))


if __name__ == "__main__":
    main()
