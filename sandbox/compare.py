"""``python -m sandbox.compare TASK``: train every agent over several seeds, count what
each paid, print the table and write the results folder.

Examples::

    python -m sandbox.compare rocket                 # the default run, a few minutes
    python -m sandbox.compare rocket --full          # the reference experiment
    python -m sandbox.compare rocket --agents planner,ppo --seeds 2 --budget 500
    python -m sandbox.compare city --agents ./my_agent.py:MyAgent,dqn --set dqn.learning_rate=1e-3
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, NoReturn

from agents.plugins import PluginError, import_module
from sandbox.tasks import Task, get_task, task_names


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


def plugin_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m sandbox.compare", add_help=False)
    parser.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="MODULE",
        help="import a module (package.module or path/to/file.py) first, for the tasks, studies "
        "and agents it registers; repeatable",
    )
    return parser


def build_parser(tasks: list[Task]) -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="python -m sandbox.compare",
        parents=[plugin_parser()],
        description="Train learners and planners on a task, count their trials (and deaths), "
        "evaluate them on a fixed held-out set, print the table and write results/<task>/<run>/.",
        epilog="Tasks: "
        + "; ".join(f"{t.name}: {t.description}" for t in tasks)
        + ". `python -m sandbox.agents` lists the agents.",
    )
    parser.add_argument("task", choices=[t.name for t in tasks], help="which task to run")
    parser.add_argument(
        "--agents",
        help="comma-separated agents: names (python -m sandbox.agents lists them), "
        "package.module:Class or path/to/file.py:Class (default: the task's standard set)",
    )
    seeds = ", ".join(f"{t.name} {t.default.seeds}" for t in tasks)
    parser.add_argument(
        "--seeds",
        type=positive_int,
        help=f"seeds per agent (default: {seeds}; --full and studies: their own)",
    )
    parser.add_argument(
        "--budget",
        type=positive_int,
        help="training trials per agent and seed (default: the task's default budget)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="results folder (default: results/<task>/<date-time>[-<study>][-full])",
    )
    parser.add_argument(
        "--study",
        help="run a study instead of the standard protocol (the error for an unknown "
        "one lists the task's studies)",
    )
    parser.add_argument(
        "--full",
        action="store_true",
        help="run the reference experiment: larger budget, "
        "more evaluation points; takes much longer",
    )
    parser.add_argument(
        "--eval-episodes", type=positive_int, help="held-out evaluation episodes per point"
    )
    parser.add_argument(
        "--reliable-bar",
        type=fraction,
        default=0.9,
        help="evaluation success rate that counts as reliable (default 0.9)",
    )
    parser.add_argument(
        "--workers",
        type=positive_int,
        default=os.cpu_count() or 1,
        help="parallel worker processes (default: the number of cores); with --executor ray and no "
        "--ray-address, the CPUs of the local Ray runtime",
    )
    parser.add_argument(
        "--executor",
        choices=("local", "ray"),
        default="local",
        help='where jobs run: a local process pool (default) or Ray tasks (pip install -e ".[ray]")',
    )
    parser.add_argument(
        "--ray-address",
        help="with --executor ray: the cluster's address (default: a local Ray runtime)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="AGENT.KEY=VALUE",
        dest="settings",
        help="override one setting of one agent, e.g. ppo.learning_rate=3e-4 or "
        "ppo.policy_kwargs.net_arch=[32,32] (values are TOML); repeatable",
    )
    parser.add_argument(
        "--agent-config",
        type=Path,
        metavar="FILE.toml",
        help="agents' settings from a TOML file: one table per agent, e.g. [ppo] learning_rate = 3e-4",
    )
    parser.add_argument(
        "--tensorboard",
        type=Path,
        metavar="DIR",
        help="log to TensorBoard in DIR: each learner through SB3's logger, and every agent's "
        "trials, deaths and held-out success, one run per (phase, agent, seed)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="resume in a folder whose recorded run differs from this one",
    )
    seen: dict[str, str] = {}
    for task in tasks:
        for option in task.options:
            if option.flag in seen:
                continue
            seen[option.flag] = task.name
            parser.add_argument(
                option.flag, dest=_dest(option.flag), help=f"{task.name}: {option.help}"
            )
    return parser


def _dest(flag: str) -> str:
    return "task_option_" + flag.lstrip("-").replace("-", "_")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        known, _ = plugin_parser().parse_known_args(argv)
        for plugin in known.plugin:
            import_module(plugin)
        tasks = [get_task(name) for name in task_names()]
        args = build_parser(tasks).parse_args(argv)
        args.argv = argv
        return run(get_task(args.task), tasks, args)
    except (UsageError, PluginError) as error:
        print(f"python -m sandbox.compare: error: {error}", file=sys.stderr)
        return 2


def task_env_kwargs(
    task: Task, tasks: list[Task], args: argparse.Namespace
) -> tuple[dict[str, Any], dict | None]:
    """The training world's and the transfer world's env keyword arguments from the task's
    defaults and its options; an option of another task is refused."""
    own = {option.flag for option in task.options}
    for other in tasks:
        for option in other.options:
            if option.flag not in own and getattr(args, _dest(option.flag), None) is not None:
                takes = ", ".join(sorted(own)) or "no world options"
                raise UsageError(
                    f"{option.flag} is for the {other.name}; the {task.name} takes {takes}"
                )
    home = dict(task.env_kwargs)
    transfer = dict(task.transfer_env_kwargs) if task.transfer_env_kwargs is not None else None
    for option in task.options:
        text = getattr(args, _dest(option.flag), None)
        if text is None:
            continue
        if option.worlds == ("transfer",) and transfer is None:
            raise UsageError(f"{option.flag}: the {task.name} has no transfer stage")
        try:
            value = option.parse(text)
        except (ValueError, OSError) as error:
            raise UsageError(f"{option.flag}: {error}") from None
        if "training" in option.worlds:
            home[option.env_key] = value
        if "transfer" in option.worlds and transfer is not None:
            transfer[option.env_key] = value
    return home, transfer


def check_envs(task: Task, worlds: dict[str, dict[str, Any] | None]) -> Any:
    """Build each env once, so a world that loads but cannot run fails here, in one line,
    before any job starts; the first env's action space."""
    action_space = None
    for where, env_kwargs in worlds.items():
        if env_kwargs is None:
            continue
        try:
            env = task.make_env(**env_kwargs)
            env.reset(seed=0)
            action_space = action_space or env.action_space
            env.close()
        except Exception as error:  # any failure to build the env is the input's fault here
            raise UsageError(
                f"the {where} ({_describe_world(env_kwargs)}) cannot run: {error}"
            ) from None
    return action_space


def run_worlds(
    env_kwargs: dict[str, Any],
    transfer_env_kwargs: dict[str, Any] | None,
    variants: dict[str, dict[str, Any]],
) -> dict[str, dict[str, Any] | None]:
    """Every world a run builds, by a name for errors: training and transfer, per variant."""
    worlds: dict[str, dict[str, Any] | None] = {}
    for name, extra in variants.items():
        suffix = f" ({name})" if name else ""
        worlds[f"training world{suffix}"] = {**env_kwargs, **extra}
        worlds[f"transfer world{suffix}"] = (
            None if transfer_env_kwargs is None else {**transfer_env_kwargs, **extra}
        )
    return worlds


def check_executor(args: argparse.Namespace) -> None:
    """Where jobs run and what they log: the options' rules, and their extras installed."""
    if args.ray_address and args.executor != "ray":
        raise UsageError("--ray-address is for --executor ray")
    if args.executor == "ray":
        require_extra("ray", "--executor ray", "Ray")
    if args.tensorboard is not None:
        require_extra("tensorboard", "--tensorboard", "TensorBoard")


def require_extra(module: str, option: str, name: str) -> None:
    """An option whose package is one of the project's extras (same name): missing, it is a usage error."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise UsageError(
            f'{option} needs {name}, which is not installed: pip install -e ".[{module}]"'
        )


def _describe_world(env_kwargs: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value}" for key, value in env_kwargs.items()) or "defaults"


def run(task: Task, tasks: list[Task], args: argparse.Namespace) -> int:
    from sandbox.run.agent_specs import resolve_agents
    from sandbox.run.job import JobConfig, run_job
    from sandbox.run.provenance import provenance
    from sandbox.run.resume import ResumeError, finished_jobs
    from sandbox.run.runner import Job, JobFailed, run_jobs, writable_dir
    from sandbox.run.workers import ExecutorUnavailable
    from sandbox.studies import get_study

    study = None
    if args.study is not None:
        try:
            study = get_study(args.study, task.name)
        except PluginError as error:
            raise UsageError(str(error)) from None
    size = (study or task).full if args.full else (study or task).default
    if args.seeds is not None:
        size = replace(size, seeds=args.seeds)
    if args.eval_episodes is not None:
        size = replace(size, eval_episodes=args.eval_episodes)
    env_kwargs, transfer_env_kwargs = task_env_kwargs(task, tasks, args)
    study_settings = None
    if study is not None:
        env_kwargs = {**env_kwargs, **study.env_kwargs}
        transfer_env_kwargs = study.transfer_env_kwargs
        study_settings = study.settings_full if args.full else study.settings_default
    variants = study.variants if study is not None and study.variants else {"": {}}
    action_space = check_envs(task, run_worlds(env_kwargs, transfer_env_kwargs, variants))
    default_agents = (
        ",".join(study.agents)
        if study is not None and study.agents and args.agents is None
        else None
    )
    try:
        agents = resolve_agents(
            task, args.agents or default_agents, args.settings, args.agent_config, action_space
        )
    except ValueError as error:
        raise UsageError(str(error)) from None
    check_executor(args)
    run_name = (
        time.strftime("%Y%m%d-%H%M%S")
        + (f"-{study.name}" if study else "")
        + ("-full" if args.full else "")
    )
    out = args.out if args.out is not None else Path("results") / task.name / run_name
    problem = writable_dir(out / "jobs")
    if problem:
        raise UsageError(
            f"cannot write results to {out}: {problem}; choose another folder with --out"
        )
    tensorboard = None
    if args.tensorboard is not None:
        problem = writable_dir(args.tensorboard)
        if problem:
            raise UsageError(f"cannot write TensorBoard logs to {args.tensorboard}: {problem}")
        tensorboard = str(args.tensorboard.resolve())

    def budget_for(agent: str) -> int:
        return (
            args.budget if args.budget is not None else size.agent_budgets.get(agent, size.budget)
        )

    transfer_budget = args.budget if args.budget is not None else size.transfer_budget
    phases = ("train", "scratch") if transfer_env_kwargs is not None else ("train",)
    plugins = tuple(str(Path(p).resolve()) if p.endswith(".py") else p for p in args.plugin)
    configs = [
        JobConfig(
            task.name,
            agent.label + (f"@{variant}" if variant else ""),
            seed,
            budget_for(agent.label),
            size.eval_episodes,
            size.eval_points,
            args.reliable_bar,
            {**env_kwargs, **extra},
            {**transfer_env_kwargs, **extra} if transfer_env_kwargs is not None else None,
            transfer_budget,
            phase,
            study.name if study else None,
            study_settings,
            agent.spec,
            agent.settings,
            plugins,
            tensorboard_dir=tensorboard,
        )
        for seed in range(size.seeds)
        for phase in phases
        for agent in agents
        for variant, extra in variants.items()
    ]
    labels = list(dict.fromkeys(config.agent for config in configs))
    details = {agent.label: agent.details() for agent in agents}
    run_config = {
        "task": task.name,
        "command": " ".join(["python -m sandbox.compare", *args.argv]),
        "full": args.full,
        "agents": labels,
        "agent_details": {label: details[label.partition("@")[0]] for label in labels},
        "plugins": list(plugins),
        "seeds": list(range(size.seeds)),
        "size": asdict(size),
        "reliable_bar": args.reliable_bar,
        "study": study.name if study else None,
        "study_settings": study_settings,
        "env_kwargs": env_kwargs,
        "transfer_env_kwargs": transfer_env_kwargs,
        "provenance": provenance(task, [env_kwargs, transfer_env_kwargs]),
        "jobs": [asdict(c) for c in configs],
    }
    try:
        already = finished_jobs(out, run_config, args.force)
    except ResumeError as error:
        raise UsageError(str(error)) from None
    from sandbox.outputs.results import write_json

    if not already or args.force:
        write_json(out / "config.json", run_config)
    else:  # the jobs are the same; record who resumed them, with which code, on which machine
        recorded = json.loads((out / "config.json").read_text())
        recorded.setdefault("resumes", []).append(
            {"command": run_config["command"], "provenance": run_config["provenance"]}
        )
        write_json(out / "config.json", recorded)
    print(f"{task.name}: {len(agents)} agents x {size.seeds} seeds -> {out}")
    if already:
        print(f"resuming: {len(already)} of {len(configs)} jobs already finished in {out}")
    todo = [c for c in configs if (c.phase, c.agent, c.seed) not in already]
    jobs = [Job((c.phase, c.agent, c.seed), planned_trials(c), run_job, (c,)) for c in todo]
    finished = 0

    def keep(result: dict[str, Any]) -> None:
        nonlocal finished
        from sandbox.outputs.results import job_path

        write_json(
            job_path(out, result["phase"], result["agent"], result["seed"]), result, compact=True
        )
        finished += 1

    interrupted = False
    try:
        run_jobs(jobs, keep, args.workers, f"{task.name} training", args.executor, args.ray_address)
    except KeyboardInterrupt:
        interrupted = True
    except ExecutorUnavailable as error:
        raise UsageError(str(error)) from None
    except JobFailed as failure:
        # A job's own error (a policy that diverged to NaN, a plug-in's bug): keep what
        # finished, save the traceback, and say it in one line.
        errors = out / "errors"
        errors.mkdir(exist_ok=True)
        saved = errors / (
            re.sub(r"[^A-Za-z0-9_.@-]+", "-", "-".join(map(str, failure.key))) + ".txt"
        )
        saved.write_text(failure.details)
        write_summary(out, task, study, labels, study_settings, complete=False)
        raise UsageError(
            f"{failure}; traceback in {saved}; kept {finished + len(already)} finished results "
            f"of {len(configs)} in {out}"
        ) from None
    write_summary(out, task, study, labels, study_settings, complete=not interrupted)
    if interrupted:
        print(
            f"Interrupted: kept {finished + len(already)} finished (agent, seed) results of {len(configs)} in "
            f"{out}; run the same command again to finish the rest",
            file=sys.stderr,
        )
        return 130
    print(f"Results, table data and plots: {out}")
    return 0


def planned_trials(config: Any) -> int:
    """The most training trials a job may spend (it stops early once reliable)."""
    if config.phase == "scratch":
        return config.transfer_budget
    return config.budget + (config.transfer_budget if config.transfer_env_kwargs is not None else 0)


def write_summary(
    out: Path,
    task: Task,
    study: Any,
    labels: list[str],
    study_settings: dict | None,
    complete: bool,
) -> None:
    """summary.json, evaluations.csv, the plots and the printed tables, from the job files."""
    from sandbox.outputs.results import load_jobs, summarise, write_csv, write_json
    from sandbox.outputs.tables import run_tables
    from sandbox.pictures.run_plots import plot_run

    results = load_jobs(out)
    summary_file = {
        "task": task.name,
        "complete": complete,
        "agents": summarise(results, labels, task.summary_keys),
    }
    if study is not None and study.summarise is not None:
        summary_file.update(study.summarise(results, labels, study_settings or {}))
    write_json(out / "summary.json", summary_file)
    write_csv(out / "evaluations.csv", results)
    if not results:
        return
    plot_run(out)
    from sandbox.outputs.report import write_report
    from sandbox.outputs.run_data import RunData
    from sandbox.pictures.animation import write_animations

    write_animations(RunData.load(out))
    from sandbox.outputs.stats import INTERVAL_NOTE

    write_report(out)
    for title, text in run_tables(summary_file, study.name if study else None):
        print()
        if title:
            print(title)
        print(text)
        if not title:
            from sandbox.outputs.results import censored_note

            print(censored_note(summary_file["agents"]))
    print(INTERVAL_NOTE)


if __name__ == "__main__":
    sys.exit(main())
