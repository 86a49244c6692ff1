"""``python -m sandbox.compare rocket|city``: train every agent over several seeds,
count what each paid, print the table and write the results folder.

Examples::

    python -m sandbox.compare rocket                 # the default run, a few minutes
    python -m sandbox.compare rocket --full          # the reference experiment
    python -m sandbox.compare rocket --agents planner,ppo --seeds 2 --budget 500
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, NoReturn

from sandbox.tasks import TASKS, Task


class UsageError(Exception):
    """Bad input from the command line: reported in one line, exit code 2."""


class OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got {text!r}")
    return value


def fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number in (0, 1], got {text!r}") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be a number in (0, 1], got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="python -m sandbox.compare",
        description="Train learners and planners on a task, count their trials (and deaths), "
        "evaluate them on a fixed held-out set, print the table and write results/<task>/<run>/.",
    )
    parser.add_argument("task", choices=sorted(TASKS), help="which task to run")
    parser.add_argument("--agents", help="comma-separated agent names (default: the task's standard set; "
                        "the valid names are listed in the error if one is wrong)")
    seeds = ", ".join(f"{t.name} {t.default.seeds}" for t in TASKS.values())
    parser.add_argument("--seeds", type=positive_int, help=f"seeds per agent (default: {seeds}; --full and studies: "
                        "their own, in sandbox/tasks.py)")
    parser.add_argument("--budget", type=positive_int, help="training trials per agent and seed "
                        "(default: the task's default budget)")
    parser.add_argument("--out", type=Path, help="results folder (default: results/<task>/<date-time>)")
    parser.add_argument("--world", help="rocket: a world preset name or a path to a world TOML file "
                        "(default: earth_moon)")
    parser.add_argument("--map", help="city: the training city, a built-in map name (train, new, random:SEED) "
                        "or a path to a map file (default: train)")
    parser.add_argument("--transfer-map", help="city: the new city for the transfer study (default: new)")
    parser.add_argument("--study", help="run a study instead of the standard protocol; rocket: 'generalization' "
                        "(train on a sector of Moon phases, evaluate on a grid of phases x gravity scales "
                        "without further training, then transfer to the super_earth world)")
    parser.add_argument("--full", action="store_true", help="run the reference experiment: larger budget, "
                        "more evaluation points; takes much longer")
    parser.add_argument("--eval-episodes", type=positive_int, help="held-out evaluation episodes per point")
    parser.add_argument("--reliable-bar", type=fraction, default=0.9,
                        help="evaluation success rate that counts as reliable (default 0.9)")
    parser.add_argument("--workers", type=positive_int, default=2, help="parallel worker processes (default 2)")
    return parser


def resolve_env_kwargs(task: Task, args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The env keyword arguments of the task's world and of its transfer world (or None)."""
    if task.name == "rocket":
        if args.map or args.transfer_map:
            raise UsageError("--map and --transfer-map are for the city; the rocket takes --world")
        from envs.rocket.world import WorldError, load_world

        world = args.world or "earth_moon"
        try:
            load_world(world)
        except WorldError as error:
            raise UsageError(str(error)) from None
        return {"world": world}, task.transfer_env_kwargs
    if args.world:
        raise UsageError("--world is for the rocket; the city takes --map and --transfer-map")
    from envs.city.citymap import load_map

    chosen = []
    for flag, value, default in (("--map", args.map, "train"), ("--transfer-map", args.transfer_map, "new")):
        try:
            load_map(value or default)
        except (ValueError, OSError) as error:  # MapError (malformed) is a ValueError, as is an unknown name
            raise UsageError(f"{flag}: {error}") from None
        chosen.append(value or default)
    return {"map": chosen[0]}, {"map": chosen[1]}


def resolve_agents(task: Task, text: str | None) -> list[str]:
    from agents import agents_for

    valid = agents_for(task.name)
    if text is None:
        return [a for a in task.agents if a in valid]
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise UsageError(f"--agents is empty; valid agents for {task.name}: {', '.join(valid)}")
    unknown = [name for name in names if name not in valid]
    if unknown:
        raise UsageError(f"unknown agent {unknown[0]!r} for {task.name}; valid agents: {', '.join(valid)}")
    return list(dict.fromkeys(names))


def print_tables(task: Task, summary_file: dict[str, Any]) -> None:
    from sandbox.results import DEATH_COLUMNS, TRAINING_COLUMNS, TRANSFER_COLUMNS, censored_note, table

    summary = summary_file["agents"]
    deaths = "deaths_to_reliable" in task.summary_keys
    print(table(summary, DEATH_COLUMNS if deaths else TRAINING_COLUMNS))
    print(censored_note(summary))
    transfer = {agent: entry for agent, entry in summary.items() if "relearn_fraction" in entry}
    if transfer:
        print()
        print("Transfer to the new world: zero-shot, then continued training there, against a fresh agent there")
        columns = [c for c in TRANSFER_COLUMNS if deaths or "deaths" not in c[1]]
        print(table(transfer, columns))
    if "generalization_grid" in summary_file:
        from sandbox.generalization import grid_table

        print()
        print("Generalization beyond the training region (no further training; planners identify each changed world)")
        print(grid_table(summary_file))


def finished_jobs(out: Path, run_config: dict[str, Any]) -> set[tuple[str, int]]:
    """(phase, agent, seed) of jobs already finished in ``out`` by the same run; a folder
    holding a different run is refused."""
    import json

    config_file = out / "config.json"
    if not config_file.exists():
        if any((out / "jobs").glob("*.json")):
            raise UsageError(f"{out} holds job results but no config.json; choose an empty folder with --out")
        return set()
    try:
        previous = json.loads(config_file.read_text())
    except (OSError, ValueError):
        raise UsageError(f"{out}/config.json is unreadable; choose another folder with --out") from None
    normalise = lambda jobs: json.loads(json.dumps(jobs))  # noqa: E731
    if normalise(previous.get("jobs")) != normalise(run_config["jobs"]):
        raise UsageError(f"{out} holds results of a different run (its config.json differs); "
                         "choose another folder with --out")
    from sandbox.results import load_jobs

    return {(job["phase"], job["agent"], job["seed"]) for job in load_jobs(out)}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    args.argv = argv
    task = TASKS[args.task]
    try:
        return run(task, args)
    except UsageError as error:
        print(f"python -m sandbox.compare: error: {error}", file=sys.stderr)
        return 2


def run(task: Task, args: argparse.Namespace) -> int:
    from sandbox import plots
    from sandbox.experiment import JobConfig, run_job
    from sandbox.results import job_path, load_jobs, summarise, write_csv, write_json
    from sandbox.runner import run_jobs, writable_dir

    study = None
    if args.study is not None:
        if args.study not in task.studies:
            valid = ", ".join(task.studies) or "none"
            raise UsageError(f"unknown study {args.study!r} for {task.name}; valid studies: {valid}")
        study = task.studies[args.study]
    size = (study or task).full if args.full else (study or task).default
    if args.seeds is not None:
        size = replace(size, seeds=args.seeds)
    if args.eval_episodes is not None:
        size = replace(size, eval_episodes=args.eval_episodes)
    agent_names = resolve_agents(task, args.agents)
    env_kwargs, transfer_env_kwargs = resolve_env_kwargs(task, args)
    grid = None
    if study is not None:
        env_kwargs = {**env_kwargs, **study.env_kwargs}
        transfer_env_kwargs = study.transfer_env_kwargs
        grid = study.grid_full if args.full else study.grid_default
    run_name = time.strftime("%Y%m%d-%H%M%S") + (f"-{study.name}" if study else "") + ("-full" if args.full else "")
    out = args.out if args.out is not None else Path("results") / task.name / run_name
    problem = writable_dir(out / "jobs")
    if problem:
        raise UsageError(f"cannot write results to {out}: {problem}; choose another folder with --out")

    def budget_for(agent: str) -> int:
        return args.budget if args.budget is not None else size.agent_budgets.get(agent, size.budget)

    transfer_budget = args.budget if args.budget is not None else size.transfer_budget
    phases = ("train", "scratch") if transfer_env_kwargs is not None else ("train",)
    configs = [
        JobConfig(task.name, agent, seed, budget_for(agent), size.eval_episodes, size.eval_points,
                  args.reliable_bar, env_kwargs, transfer_env_kwargs, transfer_budget, phase, grid)
        for seed in range(size.seeds)
        for phase in phases
        for agent in agent_names
    ]
    run_config = {
        "task": task.name,
        "command": " ".join(["python -m sandbox.compare", *args.argv]),
        "full": args.full,
        "agents": agent_names,
        "seeds": list(range(size.seeds)),
        "size": asdict(size),
        "reliable_bar": args.reliable_bar,
        "study": study.name if study else None,
        "env_kwargs": env_kwargs,
        "transfer_env_kwargs": transfer_env_kwargs,
        "grid": grid,
        "jobs": [asdict(c) for c in configs],
    }
    already = finished_jobs(out, run_config)
    if not already:
        write_json(out / "config.json", run_config)
    print(f"{task.name}: {len(agent_names)} agents x {size.seeds} seeds -> {out}")
    if already:
        print(f"resuming: {len(already)} of {len(configs)} jobs already finished in {out}")
    finished = 0

    def keep(result: dict[str, Any]) -> None:
        nonlocal finished
        write_json(job_path(out, result["phase"], result["agent"], result["seed"]), result)
        finished += 1

    todo = [c for c in configs if (c.phase, c.agent, c.seed) not in already]
    jobs = [(run_job, (task, config, (config.phase, config.agent, config.seed))) for config in todo]
    planned_trials = sum(
        (c.budget + (c.transfer_budget if transfer_env_kwargs else 0)) if c.phase == "train" else c.transfer_budget
        for c in todo
    )
    interrupted = False
    try:
        run_jobs(jobs, keep, planned_trials, args.workers, f"{task.name} training")
    except KeyboardInterrupt:
        interrupted = True

    results = load_jobs(out)
    summary = summarise(results, agent_names, task.summary_keys)
    summary_file = {"task": task.name, "complete": not interrupted, "agents": summary}
    if grid is not None:
        from sandbox.generalization import summarise_grid

        summary_file.update(summarise_grid(results, agent_names, grid))
    write_json(out / "summary.json", summary_file)
    write_csv(out / "evaluations.csv", results)
    if results:
        plots.plot_run(out)
        print()
        print_tables(task, summary_file)
    if interrupted:
        kept = finished + len(already)
        print(f"Interrupted: kept {kept} finished (agent, seed) results of {len(configs)} in {out}; "
              "run the same command again to finish the rest", file=sys.stderr)
        return 130
    print(f"Results, table data and plots: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
