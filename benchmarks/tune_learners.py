"""A small hyperparameter search for the SB3 learners on the rocket task.

Each configuration starts from the RL Baselines3 Zoo values for the nearest Zoo
tasks (Pendulum, LunarLanderContinuous) and changes one or two things, adapted to
one-step episodes (a contextual bandit: gamma, gae_lambda, tau and target-policy
smoothing have no effect, because every target is the launch's own reward). Every
configuration is trained on the harness's ledger-counted trials and measured by its
``sandbox.run.job.evaluate`` on the fixed held-out set, every ``--eval-every``
trials, and scored by

- held-out success at the end, and its mean over the last quarter of the trials
  (one evaluation of 50 episodes swings by +-10 points),
- trials to 50 % and to 90 % held-out success (censored: "> budget"),
- the training hit rate over the last quarter of the trials (what separates
  configurations that are all still far from reliable).

    python benchmarks/tune_learners.py --seeds 1   # the search, into results/tuning/rocket.json
    python benchmarks/tune_learners.py --configs ent0.01,noise0.02,n_steps64-logstd-1 \
        --first-seed 1 --seeds 1
    python benchmarks/tune_learners.py --long sac:ent0.01 --budget 30000 --seeds 1 \
        --eval-every 500 --workers 1
    python benchmarks/tune_learners.py --table     # the table of what the file holds

``--long`` runs the named configurations with a larger budget and stores them under
``long_runs`` in the same file, to size the reference experiment. Like the harness, a
run stops once it is reliable at two evaluations in a row.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import copy
import json
import re
import time
from collections.abc import Callable
from typing import Any

from agents.base import TaskSpec
from agents.ledger import Ledger
from agents.plugins import load_agent
from sandbox.outputs.stats import format_censored
from sandbox.run.job import RELIABLE_CHECKS, VALIDATION_SEED_BASE, evaluate
from sandbox.run.runner import Job, run_jobs
from sandbox.tasks.rocket import ROCKET

OUT = Path(__file__).resolve().parents[1] / "results" / "tuning" / "rocket.json"
SEED_BASE = (
    VALIDATION_SEED_BASE  #: configurations are scored on the validation set, never on the test set
)
BARS = (0.5, 0.9)  #: held-out success rates whose first crossing is reported
LATE_FRACTION = (
    0.25  #: late hit rate and late held-out success cover this last fraction of a run's trials
)

# Zoo values with a budget of thousands of steps in mind: learning_starts of 10 000
# (Zoo LunarLander) would be the whole budget, so warm-up is 100 to 1 000 trials.
_SAC_BASE = dict(
    learning_rate=1e-3,
    buffer_size=100_000,
    learning_starts=100,
    batch_size=256,
    tau=0.005,
    train_freq=1,
    gradient_steps=1,
    gamma=0.99,
    ent_coef="auto",
    policy_kwargs=dict(net_arch=[256, 256]),
)  # Zoo Pendulum: SB3 defaults with lr 1e-3
_TD3_BASE = dict(
    learning_rate=1e-3,
    buffer_size=200_000,
    learning_starts=100,
    batch_size=256,
    train_freq=1,
    gradient_steps=1,
    gamma=0.98,
    action_noise_sigma=0.1,
    policy_kwargs=dict(net_arch=[400, 300]),
)  # Zoo Pendulum / LunarLanderContinuous
_PPO_BASE = dict(
    n_steps=256,
    batch_size=64,
    n_epochs=10,
    learning_rate=1e-3,
    gamma=0.9,
    gae_lambda=0.95,
    ent_coef=0.0,
    clip_range=0.2,
    policy_kwargs=dict(net_arch=[64, 64]),
)  # Zoo Pendulum, shorter rollouts

SEARCH: dict[str, dict[str, dict[str, Any]]] = {
    "ppo": {
        "zoo-pendulum": _PPO_BASE,
        "n_steps64": {**_PPO_BASE, "n_steps": 64, "batch_size": 32},
        "n_steps1024": {**_PPO_BASE, "n_steps": 1024},
        "lr3e-4": {**_PPO_BASE, "learning_rate": 3e-4},
        "ent0.01": {**_PPO_BASE, "ent_coef": 0.01},  # Zoo LunarLanderContinuous
        "net256": {**_PPO_BASE, "policy_kwargs": dict(net_arch=[256, 256])},
        "logstd-1": {**_PPO_BASE, "policy_kwargs": dict(net_arch=[64, 64], log_std_init=-1.0)},
        "sde": {**_PPO_BASE, "use_sde": True, "sde_sample_freq": 4},  # Zoo Pendulum's gSDE
        # second round: the two with most training hits, together
        "n_steps64-logstd-1": {
            **_PPO_BASE,
            "n_steps": 64,
            "batch_size": 32,
            "policy_kwargs": dict(net_arch=[64, 64], log_std_init=-1.0),
        },
    },
    "sac": {
        "zoo-pendulum": _SAC_BASE,
        "zoo-lunar": {
            **_SAC_BASE,
            "learning_rate": 7.3e-4,
            "tau": 0.01,
            "learning_starts": 1_000,
            "policy_kwargs": dict(net_arch=[400, 300]),
        },
        "net64": {**_SAC_BASE, "batch_size": 128, "policy_kwargs": dict(net_arch=[64, 64])},
        "lr3e-4": {**_SAC_BASE, "learning_rate": 3e-4},
        "batch64": {**_SAC_BASE, "batch_size": 64},
        "entropy-6": {**_SAC_BASE, "target_entropy": -6.0},  # narrower exploration than -dim(A)
        "ent0.01": {**_SAC_BASE, "ent_coef": 0.01},
        "starts1000": {**_SAC_BASE, "learning_starts": 1_000},
        # second round: less entropy was what helped
        "ent0.001": {**_SAC_BASE, "ent_coef": 0.001},
        "ent0.01-net64": {
            **_SAC_BASE,
            "ent_coef": 0.01,
            "batch_size": 128,
            "policy_kwargs": dict(net_arch=[64, 64]),
        },
    },
    "td3": {
        "zoo-pendulum": _TD3_BASE,
        "net256": {**_TD3_BASE, "policy_kwargs": dict(net_arch=[256, 256])},
        "net64": {**_TD3_BASE, "batch_size": 128, "policy_kwargs": dict(net_arch=[64, 64])},
        "lr3e-4": {**_TD3_BASE, "learning_rate": 3e-4},
        "noise0.2": {**_TD3_BASE, "action_noise_sigma": 0.2},
        "noise0.05": {**_TD3_BASE, "action_noise_sigma": 0.05},
        "delay1": {**_TD3_BASE, "policy_delay": 1},  # no critic bootstrap to wait for in a bandit
        "starts1000": {**_TD3_BASE, "learning_starts": 1_000},
        # second round: less exploration noise was what helped
        "noise0.02": {**_TD3_BASE, "action_noise_sigma": 0.02},
    },
}


def tuning_job(
    algo: str,
    config_name: str,
    hyperparameters: dict[str, Any],
    seed: int,
    budget: int,
    eval_every: int,
    eval_episodes: int,
    on_evaluation=None,
) -> dict[str, Any]:
    """Train ``algo`` with these hyperparameters on ledger-counted trials and evaluate it on the
    harness's held-out set every ``eval_every`` trials (a linear grid: the search needs its
    resolution in the thousands, where ``run_job``'s log-spaced points are far apart)."""
    started = time.perf_counter()
    probe = ROCKET.make_env()
    spec = TaskSpec(ROCKET.name, probe.observation_space, probe.action_space)
    probe.close()
    # A deep copy: SB3 writes into policy_kwargs, and the record should show what was asked for.
    agent = load_agent(algo)(spec, seed, settings=copy.deepcopy(hyperparameters))
    ledger = Ledger(ROCKET.make_env, limit=budget)
    curve: list[list[float]] = []
    training_s = 0.0
    reliable_streak = 0
    try:
        for point in range(eval_every, budget + 1, eval_every):
            if point <= ledger.n_trials:
                continue  # a PPO with rollouts longer than eval_every ran past this point
            tick = time.perf_counter()
            agent.train(ledger, point)
            training_s += time.perf_counter() - tick
            success_rate = evaluate(
                agent, ROCKET.make_env, eval_episodes, seed_base=SEED_BASE
            ).success_rate
            curve.append(
                [
                    ledger.n_trials,
                    success_rate,
                    ledger.n_successes,
                    round(time.perf_counter() - started, 1),
                ]
            )
            if on_evaluation is not None:
                on_evaluation({"trials": ledger.n_trials})
            reliable_streak = reliable_streak + 1 if success_rate >= BARS[-1] else 0
            if reliable_streak >= RELIABLE_CHECKS:  # the harness stops here too
                break
    finally:
        agent.close()
    reached = {
        f"trials_to_{round(100 * bar)}pct": next((row[0] for row in curve if row[1] >= bar), None)
        for bar in BARS
    }
    late_from = (1 - LATE_FRACTION) * ledger.n_trials
    late = [trial.success for trial in ledger.trials if trial.index > late_from]
    return {
        "algo": algo,
        "config": config_name,
        "hyperparameters": hyperparameters,
        "seed": seed,
        "budget": budget,
        "trials_spent": ledger.n_trials,
        "final_success_rate": curve[-1][1],
        "trials_to_first_success": ledger.first_success(),
        **reached,
        "late_training_hit_rate": round(sum(late) / len(late), 4),
        "wall_time_s": round(time.perf_counter() - started, 1),
        "training_trials_per_s": round(ledger.n_trials / training_s, 1),
        "curve": curve,  # [trials, held-out success rate, training successes so far, wall time s]
    }


def dump(data: dict[str, Any]) -> str:
    """JSON with one line per innermost list (curve rows, net sizes), so the file stays short."""
    text = json.dumps(data, indent=1)
    return (
        re.sub(r"\[\s+([^\[\]{}]*?)\s+\]", lambda m: "[" + " ".join(m.group(1).split()) + "]", text)
        + "\n"
    )


def late_success_rate(run: dict[str, Any]) -> float:
    """Mean held-out success over the evaluations in the last quarter of the run's trials: one
    evaluation of 50 episodes swings by +-10 points, and a policy still moving swings more."""
    rates = [row[1] for row in run["curve"] if row[0] > (1 - LATE_FRACTION) * run["trials_spent"]]
    return sum(rates) / len(rates)


def table(runs: list[dict[str, Any]]) -> str:
    """One line per (algo, config) and budget; per seed where there are few, censored values as ">
    budget"."""
    groups: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for run in runs:
        groups.setdefault((run["algo"], run["config"], run["budget"]), []).append(run)
    header = (
        f"{'algo':<5} {'config':<18} {'budget':>7} {'seeds':>5} {'final':>9} {'late held-out':>14} "
        f"{'late hits':>10} {'first hit':>10} {'to 50 %':>18} {'to 90 %':>18} {'trials/s':>9}"
    )
    lines = [header, "-" * len(header)]

    def per_seed(values: list[float], spec: str) -> str:
        return " ".join(format(100 * v, spec) for v in values) + " %"

    for (algo, config, budget), group in sorted(groups.items()):
        speed = sum(g["training_trials_per_s"] for g in group) / len(group)
        lines.append(
            f"{algo:<5} {config:<18} {budget:>7} {len(group):>5} "
            f"{per_seed([g['final_success_rate'] for g in group], '.0f'):>9} "
            f"{per_seed([late_success_rate(g) for g in group], '.0f'):>14} "
            f"{per_seed([g['late_training_hit_rate'] for g in group], '.0f'):>10} "
            f"{format_censored([g['trials_to_first_success'] for g in group], budget):>10} "
            f"{format_censored([g['trials_to_50pct'] for g in group], budget):>18} "
            f"{format_censored([g['trials_to_90pct'] for g in group], budget):>18} {speed:>9.0f}"
        )
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--algos", default="ppo,sac,td3", help="comma-separated, from: " + ", ".join(SEARCH)
    )
    parser.add_argument(
        "--configs", help="comma-separated configuration names (default: all of each algo)"
    )
    parser.add_argument(
        "--long", help="comma-separated algo:config pairs for a long run instead of the search"
    )
    parser.add_argument("--budget", type=int, default=4000, help="training trials per run")
    parser.add_argument("--seeds", type=int, default=2, help="seeds per configuration")
    parser.add_argument(
        "--first-seed", type=int, default=0, help="seeds are first-seed, first-seed + 1, ..."
    )
    parser.add_argument(
        "--eval-episodes", type=int, default=50, help="held-out episodes per evaluation point"
    )
    parser.add_argument(
        "--eval-every", type=int, default=250, help="training trials between evaluations"
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="parallel processes (one torch thread each)"
    )
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument(
        "--table", action="store_true", help="only print the table of what --out holds"
    )
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


def keeper(args: argparse.Namespace, section: str) -> Callable[[dict[str, Any]], None]:
    """What keeps each finished run: written into ``--out`` under ``section`` at once."""

    def keep(run: dict[str, Any]) -> None:
        # Read again before writing: another invocation may have added runs meanwhile.
        # A rerun of the same (algo, config, seed, budget) replaces the old one.
        saved = json.loads(args.out.read_text()) if args.out.exists() else {}
        same = (run["algo"], run["config"], run["seed"], run["budget"])
        runs = [
            r
            for r in saved.get(section, [])
            if (r["algo"], r["config"], r["seed"], r["budget"]) != same
        ]
        saved[section] = sorted(
            [*runs, run], key=lambda r: (r["algo"], r["config"], r["budget"], r["seed"])
        )
        saved["settings"] = {
            "task": ROCKET.name,
            "eval_seed_base": SEED_BASE,
            "eval_episodes": args.eval_episodes,
            "eval_every": args.eval_every,
            "bars": list(BARS),
            "late_fraction": LATE_FRACTION,
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(dump(saved))
        print(
            f"{run['algo']}:{run['config']} seed {run['seed']}: "
            f"final {100 * run['final_success_rate']:.0f} %, "
            f"{run['training_trials_per_s']:.0f} trials/s in training",
            flush=True,
        )

    return keep


def main() -> None:
    args = build_parser().parse_args()
    if args.table:
        saved = json.loads(args.out.read_text())
        for section in ("search", "long_runs"):
            if saved.get(section):
                print(f"{section}:\n{table(saved[section])}\n")
        return

    chosen = chosen_configs(args)
    jobs = [
        Job(
            f"{algo}:{config}:{seed}",
            args.budget,
            tuning_job,
            (algo, config, hyperparameters, seed, args.budget, args.eval_every, args.eval_episodes),
        )
        for algo, config, hyperparameters in chosen
        for seed in range(args.first_seed, args.first_seed + args.seeds)
    ]

    section = "long_runs" if args.long else "search"
    run_jobs(jobs, keeper(args, section), workers=args.workers, description=section)
    saved = json.loads(args.out.read_text())
    shown = [
        r for r in saved[section] if (r["algo"], r["config"]) in {(a, c) for a, c, _ in chosen}
    ]
    print(table(shown))


if __name__ == "__main__":
    main()
