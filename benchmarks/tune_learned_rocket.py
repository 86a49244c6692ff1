"""A small hyperparameter search for the learned-model agent (agents/learned_rocket.py).

Each configuration changes one or two of the agent's default settings. Every run
trains on ledger-counted launches and is evaluated, like the harness does it, at
log-spaced points on held-out situations, but on the VALIDATION set
(``sandbox.run.job.VALIDATION_SEED_BASE``), never on the test set the tables
report; it stops once reliable (90 %) at two points in a row. A run is scored by

- trials to reliable (censored: "> budget") and held-out success at the end,
- trials to the first hit,
- seconds of training per launch (the model's refits and plans, and the flight).

It runs in three worlds, so that nothing is tuned to one preset: ``earth_moon``,
``super_earth``, and ``off_nominal``, a world not in the repository (``earth_moon``
with the planet's GM 15 % above nominal, the Moon's 10 % below, the engine 15 %
weaker and a wider delta-v range, 2.0-4.8 km/s, so that most commands do not reach
the Moon's distance or pass it fast), written to a temporary file.

    python benchmarks/tune_learned_rocket.py --seeds 3 --out /tmp/lm.json \
        --configs base,steps500-batch256,steps500-batch256-soft50,steps500-batch256-soft50-lr3e-3,\
steps500-batch256-soft200,steps500-batch256-soft50-every20                           # round 2
    python benchmarks/tune_learned_rocket.py --seeds 3 --eval-points 24 --out /tmp/lm3.json \
        --configs base,soft50,soft50-random4,soft50-random16,soft50-veto3,soft50-veto30,\
steps500-batch256-soft50
    python benchmarks/tune_learned_rocket.py --configs absolute --worlds earth_moon,super_earth \
        --budget 1000 --eval-points 16
    python benchmarks/tune_learned_rocket.py --table --out /tmp/lm.json

Seconds per launch depend on what else the machine runs: the rounds ran beside other
jobs on 2 cores, at about three times the seconds of a quiet machine.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import dataclasses
import json
import statistics
import tempfile
import time
from typing import Any

from agents.base import TaskSpec
from agents.learned_rocket import LearnedRocketModel
from agents.ledger import Ledger
from envs.rocket.world import load_world
from sandbox.outputs.stats import format_censored, log_spaced_points
from sandbox.run.job import RELIABLE_CHECKS, VALIDATION_SEED_BASE, evaluate
from sandbox.run.runner import Job, run_jobs
from sandbox.tasks.rocket import ROCKET

RELIABLE_BAR = 0.9

#: Round 1 ran the first eight with 2 seeds and 12 evaluation points, before the agent had
#: its distance veto (the "base" agent then lost one off_nominal seed, 3 % after 300
#: launches, at the false hit a smoothed far-side jump makes); rounds 2 and 3 ran with the
#: veto, 3 seeds, and 12 and 22 (``--eval-points 24``) evaluation points. "base" is the
#: agent's defaults; agents/learned_rocket.py quotes the figures beside each default.
SEARCH: dict[str, dict[str, Any]] = {
    "base": {},
    "steps500": {"fit_steps": 500},
    "steps500-batch256": {"fit_steps": 500, "batch_size": 256},
    "steps500-batch256-soft50": {
        "fit_steps": 500,
        "batch_size": 256,
        "miss_softening_moon_radii": 50.0,
    },
    "steps500-batch256-soft5": {
        "fit_steps": 500,
        "batch_size": 256,
        "miss_softening_moon_radii": 5.0,
    },
    "steps500-batch256-lr3e-3": {"fit_steps": 500, "batch_size": 256, "learning_rate": 3e-3},
    "steps1000-batch256": {"fit_steps": 1000, "batch_size": 256},
    "steps500-batch256-hidden128": {"fit_steps": 500, "batch_size": 256, "hidden": [128, 128]},
    # round 2
    "steps500-batch256-soft50-lr3e-3": {
        "fit_steps": 500,
        "batch_size": 256,
        "miss_softening_moon_radii": 50.0,
        "learning_rate": 3e-3,
    },
    "steps500-batch256-soft200": {
        "fit_steps": 500,
        "batch_size": 256,
        "miss_softening_moon_radii": 200.0,
    },
    "steps500-batch256-soft50-every20": {
        "fit_steps": 500,
        "batch_size": 256,
        "miss_softening_moon_radii": 50.0,
        "refit_every_launch_until": 20,
    },
    # round 3: the cheap fits of "base" with a softening of 50, and the veto's and the
    # seeding's sizes
    "soft50": {"miss_softening_moon_radii": 50.0},
    "soft50-random4": {"miss_softening_moon_radii": 50.0, "random_launches": 4},
    "soft50-random16": {"miss_softening_moon_radii": 50.0, "random_launches": 16},
    "soft50-veto3": {"miss_softening_moon_radii": 50.0, "distance_veto_moon_radii": 3.0},
    "soft50-veto30": {"miss_softening_moon_radii": 50.0, "distance_veto_moon_radii": 30.0},
    # what the burn point relative to the Moon's phase is worth: the two angles apart, as an SB3
    # learner sees them (2 seeds, 1,000 launches, 16 evaluation points, earth_moon and super_earth)
    "absolute": {"burn_angle_input": "absolute"},
}


def off_nominal_world(folder: Path) -> Path:
    """``earth_moon`` with hidden constants far from nominal and a wider delta-v range, as a TOML
    file."""
    world = load_world("earth_moon")
    true = world.nominal.scaled(gm_earth=1.15, gm_moon=0.9, engine_efficiency=0.85)
    world = dataclasses.replace(world, name="off_nominal", true=true, delta_v_km_s=(2.0, 4.8))
    lines = [f'name = "{world.name}"']
    for field in dataclasses.fields(world):
        value = getattr(world, field.name)
        if field.name in ("name", "nominal", "true"):
            continue
        if isinstance(value, str):
            lines.append(f'{field.name} = "{value}"')
        elif isinstance(value, tuple):
            lines.append(f"{field.name} = [{', '.join(repr(float(v)) for v in value)}]")
        else:
            lines.append(f"{field.name} = {float(value)!r}")
    for table in ("nominal", "true"):
        lines.append(f"[{table}]")
        lines += [f"{key} = {value!r}" for key, value in getattr(world, table).as_dict().items()]
    path = folder / "off_nominal.toml"
    path.write_text("\n".join(lines) + "\n")
    load_world(path)  # fails here, naming the line, if the file is not a valid world
    return path


def tuning_job(
    config: str,
    settings: dict[str, Any],
    world: str,
    seed: int,
    budget: int,
    eval_episodes: int,
    eval_points: int,
    on_evaluation=None,
) -> dict[str, Any]:
    """Train one configuration in one world with one seed; evaluate on the validation set."""

    def make():
        return ROCKET.make_env(world=world)

    probe = make()
    spec = TaskSpec("rocket", probe.observation_space, probe.action_space, {"world": world})
    probe.close()
    agent = LearnedRocketModel(spec, seed, LearnedRocketModel.resolve_settings("rocket", settings))
    ledger = Ledger(make, limit=budget)
    evaluations, streak, training_s = [], 0, 0.0
    for point in log_spaced_points(budget, eval_points):
        if streak >= RELIABLE_CHECKS:
            break
        started = time.perf_counter()
        agent.train(ledger, point)
        training_s += time.perf_counter() - started
        success = evaluate(agent, make, eval_episodes, seed_base=VALIDATION_SEED_BASE).success_rate
        evaluations.append({"trials": ledger.n_trials, "success_rate": success})
        if on_evaluation is not None:
            on_evaluation(evaluations[-1])
        streak = streak + 1 if success >= RELIABLE_BAR else 0
    reliable = next(
        (row["trials"] for row in evaluations if row["success_rate"] >= RELIABLE_BAR), None
    )
    return {
        "config": config,
        "world": Path(world).stem,
        "seed": seed,
        "budget": budget,
        "eval_points": eval_points,
        "settings": agent.settings,
        "trials_to_first_success": ledger.first_success(),
        "trials_to_reliable": reliable,
        "final_success_rate": evaluations[-1]["success_rate"],
        "trials_spent": ledger.n_trials,
        "training_hits": ledger.n_successes,
        "seconds_per_launch": training_s / max(1, ledger.n_trials),
        "evaluations": evaluations,
    }


def table(runs: list[dict[str, Any]]) -> str:
    """Per configuration and world: medians over seeds."""
    rows = [
        "| config | world | seeds | first hit | trials to reliable | final success | s/launch |",
        "|---|---|---|---|---|---|---|",
    ]
    keys = sorted({(r["config"], r["world"]) for r in runs})
    for config, world in keys:
        group = [r for r in runs if (r["config"], r["world"]) == (config, world)]
        budget = group[0]["budget"]
        rows.append(
            f"| {config} | {world} | {len(group)} | "
            f"{format_censored([r['trials_to_first_success'] for r in group], budget)} | "
            f"{format_censored([r['trials_to_reliable'] for r in group], budget)} | "
            f"{100 * statistics.mean(r['final_success_rate'] for r in group):.0f} % | "
            f"{statistics.median(r['seconds_per_launch'] for r in group):.3f} |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", help="comma-separated configuration names (default: all)")
    parser.add_argument("--worlds", default="earth_moon,super_earth,off_nominal")
    parser.add_argument("--budget", type=int, default=300, help="training launches per run")
    parser.add_argument("--seeds", type=int, default=2, help="seeds per configuration and world")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument(
        "--eval-episodes", type=int, default=30, help="validation episodes per evaluation point"
    )
    parser.add_argument(
        "--eval-points", type=int, default=12, help="log-spaced evaluation points per run"
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="parallel processes (one torch thread each)"
    )
    parser.add_argument(
        "--out", type=Path, help="a JSON file the runs are added to (default: print only)"
    )
    parser.add_argument(
        "--table", action="store_true", help="only print the table of what --out holds"
    )
    args = parser.parse_args()
    if args.table:
        print(table(json.loads(args.out.read_text())["runs"]))
        return
    folder = Path(tempfile.mkdtemp(prefix="tune-learned-rocket-"))
    worlds = [
        str(off_nominal_world(folder)) if w == "off_nominal" else w for w in args.worlds.split(",")
    ]
    wanted = args.configs.split(",") if args.configs else list(SEARCH)
    jobs = [
        Job(
            f"{config}:{Path(world).stem}:{seed}",
            args.budget,
            tuning_job,
            (
                config,
                SEARCH[config],
                world,
                seed,
                args.budget,
                args.eval_episodes,
                args.eval_points,
            ),
        )
        for config in wanted
        for world in worlds
        for seed in range(args.first_seed, args.first_seed + args.seeds)
    ]
    finished: list[dict[str, Any]] = []

    def keep(run: dict[str, Any]) -> None:
        finished.append(run)
        print(
            f"{run['config']} {run['world']} seed {run['seed']}: "
            f"reliable at {run['trials_to_reliable']}, "
            f"final {100 * run['final_success_rate']:.0f} %, "
            f"{run['seconds_per_launch']:.3f} s/launch",
            flush=True,
        )
        if args.out is not None:
            saved = json.loads(args.out.read_text()) if args.out.exists() else {"runs": []}
            same = (run["config"], run["world"], run["seed"], run["budget"])
            saved["runs"] = [
                r
                for r in saved["runs"]
                if (r["config"], r["world"], r["seed"], r["budget"]) != same
            ] + [run]
            saved["eval_seed_base"] = VALIDATION_SEED_BASE
            args.out.write_text(json.dumps(saved, indent=1))

    run_jobs(jobs, keep, workers=args.workers, description="learned-model search")
    print(table(finished))


if __name__ == "__main__":
    main()
