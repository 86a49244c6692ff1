"""A small hyperparameter search for the SB3 learners (PPO, DQN, A2C) on the city task.

Each configuration starts from the RL Baselines3 Zoo values for the nearest Zoo tasks
(PPO: MiniGrid; DQN: LunarLander and CartPole; A2C: the SB3 defaults and LunarLander)
and changes one or two things. The harness runs one learner with one env, so the
Zoo's ``n_envs x n_steps`` rollouts become ``n_steps`` alone. Episodes here are tens
of steps and the budget is thousands of trials (about 10^5 steps, the size of a whole
Zoo MiniGrid run), so the search leans towards short rollouts, early learning and
gamma 0.95 to 0.99.

Every configuration runs through ``sandbox.run.job.run_job`` on map "train": the
harness's ledger counts the trials and deaths, its held-out set (the same for every
agent) is evaluated at its log-spaced points, and it stops once the agent is reliable
at two points in a row. Each run is scored by

- held-out success at the end of its budget (the ranking key),
- trials to 50 % and to 90 % held-out success (censored: "> budget"),
- training deaths: in all, and before the first success.

    python benchmarks/tune_city_learners.py   # the search, writes results/tuning/city.json
    python benchmarks/tune_city_learners.py --algos dqn --configs zoo-lunar,gamma0.95
    python benchmarks/tune_city_learners.py --long ppo:zoo-minigrid --budget 15000 \
        --transfer-budget 5000

``--long`` runs the named configurations with a larger budget, then (with
``--transfer-budget``) evaluates them zero-shot on map "new" and keeps training
there; the runs are stored under ``long_runs`` in the same file, to size the
reference experiment.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import functools
import json
from typing import Any

import torch

from sandbox.outputs.stats import format_count, log_spaced_points
from sandbox.run.job import VALIDATION_SEED_BASE, JobConfig, run_job
from sandbox.tasks.city import CITY

OUT = Path(__file__).resolve().parents[1] / "results" / "tuning" / "city.json"
SEED_BASE = (
    VALIDATION_SEED_BASE  #: configurations are scored on the validation set, never on the test set
)
BARS = (0.5, 0.9)  #: held-out success rates whose first crossing is reported
RELIABLE_BAR = 0.9

# PPO: Zoo MiniGrid (n_envs 8 x n_steps 128 = 1024 steps per rollout, batch 64,
# 10 epochs, lr 2.5e-4, gamma 0.99, gae 0.95, no entropy bonus, SB3's [64, 64]).
_PPO_BASE = dict(
    n_steps=1024,
    batch_size=64,
    n_epochs=10,
    learning_rate=2.5e-4,
    gamma=0.99,
    gae_lambda=0.95,
    ent_coef=0.0,
    clip_range=0.2,
    policy_kwargs=dict(net_arch=[64, 64]),
)
_PPO_SHORT = {**_PPO_BASE, "n_steps": 256}  # four times the updates in a budget of ~10^5 steps
# Adam's fused kernel: the same update, about 1.6 times faster on this CPU for DQN's
# one gradient step per env step (the search and the reference run use it alike).
_FUSED = dict(fused=True)
# DQN: Zoo LunarLander (lr 6.3e-4, batch 128, buffer 50k, target every 250 steps,
# one gradient step per env step, epsilon to 0.1 over 12 % of 10^5 steps, [256, 256]);
# learning starts after 1 000 steps so the first batches are not one episode.
_DQN_BASE = dict(
    learning_rate=6.3e-4,
    buffer_size=50_000,
    learning_starts=1_000,
    batch_size=128,
    gamma=0.99,
    target_update_interval=250,
    train_freq=4,
    gradient_steps=-1,
    exploration_steps=12_000,
    exploration_final_eps=0.1,
    policy_kwargs=dict(net_arch=[256, 256], optimizer_kwargs=_FUSED),
)
# A2C: SB3's defaults (the Zoo's CartPole entry: n_steps 5, lr 7e-4, RMSprop, gae 1.0)
# with Zoo LunarLander's small entropy bonus; SB3's [64, 64].
_A2C_BASE = dict(
    n_steps=5,
    learning_rate=7e-4,
    gamma=0.99,
    gae_lambda=1.0,
    ent_coef=1e-5,
    policy_kwargs=dict(net_arch=[64, 64]),
)

SEARCH: dict[str, dict[str, dict[str, Any]]] = {
    "ppo": {
        "zoo-minigrid": _PPO_BASE,
        "n_steps256": _PPO_SHORT,
        "n_steps256-lr1e-3": {**_PPO_SHORT, "learning_rate": 1e-3},
        "n_steps256-gamma0.95": {**_PPO_SHORT, "gamma": 0.95},
        "n_steps256-ent0.01": {**_PPO_SHORT, "ent_coef": 0.01},  # Zoo LunarLander's bonus
        "n_steps256-net128": {**_PPO_SHORT, "policy_kwargs": dict(net_arch=[128, 128])},
        "n_steps128-batch32": {**_PPO_BASE, "n_steps": 128, "batch_size": 32},
    },
    "dqn": {
        "zoo-lunar": _DQN_BASE,
        "zoo-cartpole": dict(
            learning_rate=2.3e-3,
            buffer_size=100_000,
            learning_starts=1_000,
            batch_size=64,
            gamma=0.99,
            target_update_interval=10,
            train_freq=256,
            gradient_steps=128,
            exploration_steps=16_000,
            exploration_final_eps=0.04,
            policy_kwargs=dict(net_arch=[256, 256]),
        ),
        "grad1": {
            **_DQN_BASE,
            "gradient_steps": 1,
        },  # a quarter of the updates, four times the speed
        "explore30k": {**_DQN_BASE, "exploration_steps": 30_000},
        "explore5k": {**_DQN_BASE, "exploration_steps": 5_000, "exploration_final_eps": 0.05},
        "gamma0.95": {**_DQN_BASE, "gamma": 0.95},
        "target1000": {**_DQN_BASE, "target_update_interval": 1_000},
        "lr1e-4": {**_DQN_BASE, "learning_rate": 1e-4},
    },
    "a2c": {
        "sb3-default": _A2C_BASE,
        "n_steps16": {**_A2C_BASE, "n_steps": 16, "gae_lambda": 0.95},
        "n_steps16-lr3e-4": {**_A2C_BASE, "n_steps": 16, "gae_lambda": 0.95, "learning_rate": 3e-4},
        "gamma0.95": {**_A2C_BASE, "gamma": 0.95},
        "ent0.01": {**_A2C_BASE, "ent_coef": 0.01},
        "net128": {**_A2C_BASE, "policy_kwargs": dict(net_arch=[128, 128])},
    },
}


def tuning_job(
    algo: str,
    config: str,
    hyperparameters: dict[str, Any],
    seed: int,
    budget: int,
    eval_points: int,
    eval_episodes: int,
    transfer_budget: int = 0,
    on_evaluation=None,
) -> dict[str, Any]:
    """One run of ``algo`` with these hyperparameters through the harness, reduced to its
    figures."""
    torch.set_num_threads(1)
    job = run_job(
        JobConfig(
            task=CITY.name,
            agent=f"{algo}:{config}",
            agent_spec=algo,
            agent_settings=hyperparameters,
            seed=seed,
            budget=budget,
            eval_episodes=eval_episodes,
            eval_grid=tuple(log_spaced_points(max(budget, transfer_budget), eval_points)),
            reliable_bar=RELIABLE_BAR,
            env_kwargs={"map": "train"},
            transfer_env_kwargs={"map": "new"} if transfer_budget else None,
            transfer_budget=transfer_budget,
            eval_seed_base=SEED_BASE,
        ),
        on_evaluation=on_evaluation,
    )
    run = {
        "algo": algo,
        "config": config,
        "hyperparameters": hyperparameters,
        "seed": seed,
        "budget": budget,
        "eval_episodes": eval_episodes,
        "eval_points": eval_points,
        **figures(job),
        "wall_time_s": job["wall_time_s"],
    }
    if "transfer" in job:
        transfer = job["transfer"]
        run["transfer"] = {
            "map": "new",
            "budget": transfer_budget,
            "zero_shot_success": transfer["zero_shot_success"],
            "zero_shot_deaths_per_episode": transfer["zero_shot_deaths_per_episode"],
            **figures(transfer),
        }
    return run


def figures(stage: dict[str, Any]) -> dict[str, Any]:
    """What the search reads of one stage of a job (no traces: the file stays small)."""
    rows = stage["evaluations"]
    trained = [
        row for row in rows if row["trials"] > 0
    ]  # a transfer stage starts with its zero-shot row
    steps = trained[-1]["training_steps"] if trained else 0
    seconds = trained[-1]["wall_time_s"] - (
        rows[0]["wall_time_s"] if rows[0]["trials"] == 0 else 0.0
    )
    return {
        "trials_spent": stage["trials_spent"],
        "final_success_rate": stage["final_success_rate"],
        "trials_to_first_success": stage["trials_to_first_success"],
        "deaths_to_first_success": stage["deaths_to_first_success"],
        **{
            f"trials_to_{round(100 * bar)}pct": next(
                (row["trials"] for row in rows if row["success_rate"] >= bar), None
            )
            for bar in BARS
        },
        "deaths_to_reliable": stage["deaths_to_reliable"],
        "total_training_deaths": stage["total_training_deaths"],
        "training_steps": steps,
        "steps_per_s": round(steps / seconds, 0)
        if seconds > 0
        else None,  # training and evaluation wall time
        # [trials, held-out success, held-out deaths, training deaths, training steps, wall time s]
        "curve": [
            [
                row["trials"],
                row["success_rate"],
                row["eval_deaths"],
                row["training_deaths"],
                row["training_steps"],
                row["wall_time_s"],
            ]
            for row in rows
        ],
    }


def score(run: dict[str, Any]) -> tuple:
    """Sort key, best first: final success, then earlier 90 % and 50 %, then fewer deaths."""
    never = float("inf")
    return (
        -run["final_success_rate"],
        run["trials_to_90pct"] or never,
        run["trials_to_50pct"] or never,
        run["total_training_deaths"],
    )


def table(runs: list[dict[str, Any]]) -> str:
    """One line per run, best first within each algorithm; censored counts as "> budget"."""
    header = (
        f"{'algo':<5} {'config':<22} {'final':>6} {'to 50 %':>9} {'to 90 %':>9} "
        f"{'1st success':>11} "
        f"{'deaths':>7} {'deaths to 1st':>13} {'steps':>8} {'steps/s':>7} {'wall s':>7}"
    )
    lines = [header, "-" * len(header)]
    for run in sorted(runs, key=lambda r: (r["algo"], r["budget"], score(r))):
        budget = run["budget"]
        lines.append(
            f"{run['algo']:<5} {run['config']:<22} {100 * run['final_success_rate']:>5.0f}% "
            f"{format_count(run['trials_to_50pct'], budget):>9} "
            f"{format_count(run['trials_to_90pct'], budget):>9} "
            f"{format_count(run['trials_to_first_success'], budget):>11} "
            f"{run['total_training_deaths']:>7} "
            f"{format_count(run['deaths_to_first_success'], None):>13} {run['training_steps']:>8} "
            f"{run['steps_per_s'] or 0:>7.0f} {run['wall_time_s']:>7.0f}"
        )
        if "transfer" in run:
            t = run["transfer"]
            lines.append(
                f"{'':<5} "
                f"{'-> new (zero-shot ' + format(100 * t['zero_shot_success'], '.0f') + '%)':<22} "
                f"{100 * t['final_success_rate']:>5.0f}% "
                f"{format_count(t['trials_to_50pct'], t['budget']):>9} "
                f"{format_count(t['trials_to_90pct'], t['budget']):>9} "
                f"{format_count(t['trials_to_first_success'], t['budget']):>11} "
                f"{t['total_training_deaths']:>7} "
                f"{format_count(t['deaths_to_first_success'], None):>13} {t['training_steps']:>8} "
                f"{t['steps_per_s'] or 0:>7.0f}"
            )
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--algos", default="ppo,dqn,a2c", help="comma-separated, from: " + ", ".join(SEARCH)
    )
    parser.add_argument(
        "--configs", help="comma-separated configuration names (default: all of each algo)"
    )
    parser.add_argument(
        "--long", help="comma-separated algo:config pairs for a long run instead of the search"
    )
    parser.add_argument(
        "--budget", type=int, default=2000, help="training trials per run on map 'train'"
    )
    parser.add_argument(
        "--transfer-budget",
        type=int,
        default=0,
        help="--long only: training trials on map 'new' after the zero-shot evaluation",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--eval-episodes", type=int, default=40, help="held-out episodes per evaluation point"
    )
    parser.add_argument(
        "--eval-points", type=int, default=14, help="about this many log-spaced evaluation points"
    )
    parser.add_argument("--out", type=Path, default=OUT)
    return parser


def chosen_configs(args: argparse.Namespace) -> list[tuple[str, str, dict[str, Any]]]:
    """(algo, configuration name, hyperparameters) of each configuration to run."""
    if args.long:
        pairs = [pair.split(":", 1) for pair in args.long.split(",")]
        return [(algo, config, SEARCH[algo][config]) for algo, config in pairs]
    wanted = set(args.configs.split(",")) if args.configs else None
    return [
        (algo, config, hyperparameters)
        for algo in args.algos.split(",")
        for config, hyperparameters in SEARCH[algo].items()
        if wanted is None or config in wanted
    ]


def progress(row: dict[str, Any], name: str) -> None:
    """One line per evaluation point of a run."""
    print(
        f"  {name} trial {row['trials']:>6}: "
        f"held-out success {100 * row['success_rate']:3.0f} %, "
        f"{row['training_successes']} training successes, {row['training_deaths']} deaths, "
        f"{row['training_steps']} steps, "
        f"{row['wall_time_s']:.0f} s",
        flush=True,
    )


def save_run(out: Path, saved: dict[str, Any], section: str, run: dict[str, Any]) -> None:
    """Add ``run`` to ``saved[section]`` and write ``saved`` to ``out``; a rerun of the same
    (algo, config, seed, budget) replaces the old one."""
    same = (run["algo"], run["config"], run["seed"], run["budget"])
    runs = [
        r
        for r in saved.get(section, [])
        if (r["algo"], r["config"], r["seed"], r["budget"]) != same
    ]
    saved[section] = sorted([*runs, run], key=lambda r: (r["algo"], r["budget"], score(r)))
    saved["settings"] = {
        "task": CITY.name,
        "map": "train",
        "transfer_map": "new",
        "bars": list(BARS),
        "reliable_bar": RELIABLE_BAR,
        "eval_seed_base": SEED_BASE,
        "env": CITY.env_id,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(saved, indent=1) + "\n")


def main() -> None:
    args = build_parser().parse_args()
    chosen = chosen_configs(args)
    transfer_budget = args.transfer_budget if args.long else 0

    saved = json.loads(args.out.read_text()) if args.out.exists() else {}
    section = "long_runs" if args.long else "search"
    # One process at a time: the machine's other core is someone else's.
    for algo, config, hyperparameters in chosen:
        run = tuning_job(
            algo,
            config,
            hyperparameters,
            args.seed,
            args.budget,
            args.eval_points,
            args.eval_episodes,
            transfer_budget,
            on_evaluation=functools.partial(progress, name=f"{algo}:{config}"),
        )
        save_run(args.out, saved, section, run)
        print(table([run]).splitlines()[-1 - ("transfer" in run)], flush=True)
        if "transfer" in run:
            print(table([run]).splitlines()[-1], flush=True)
    shown = [
        r for r in saved[section] if (r["algo"], r["config"]) in {(a, c) for a, c, _ in chosen}
    ]
    print(table(shown))


if __name__ == "__main__":
    main()
