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
import os
import sys
from pathlib import Path

from agents.plugins import PluginError, import_module
from sandbox.command_line import (
    OneLineParser,
    UsageError,
    fraction,
    option_dest,
    positive_int,
    run_command,
)
from sandbox.tasks import Task, get_task, task_names

PROG = "python -m sandbox.compare"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        known, _ = plugin_parser().parse_known_args(argv)
        for plugin in known.plugin:
            import_module(plugin)
        tasks = [get_task(name) for name in task_names()]
        args = build_parser(tasks, studies_by_task(tasks) if asks_help(argv) else None).parse_args(
            argv
        )
        args.argv = argv
        return run(get_task(args.task), tasks, args)
    except (UsageError, PluginError) as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2


def run(task: Task, tasks: list[Task], args: argparse.Namespace) -> int:
    """Plan the run from the arguments, then carry it out (the heavy imports wait until
    the arguments are known)."""
    from sandbox.run.execute import execute
    from sandbox.run.plan import plan_run

    return execute(plan_run(task, tasks, args))


def plugin_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog=PROG, add_help=False)
    parser.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="MODULE",
        help="import a module (package.module or path/to/file.py) first, for the tasks, studies "
        "and agents it registers; repeatable",
    )
    return parser


def asks_help(argv: list[str]) -> bool:
    return any(arg in ("-h", "--help") for arg in argv)


def studies_by_task(tasks: list[Task]) -> dict[str, list[str]]:
    """Each task's studies, by name (importing them takes a second: only for ``--help``)."""
    from sandbox.studies import studies_for

    return {task.name: list(studies_for(task.name)) for task in tasks}


def build_parser(
    tasks: list[Task], studies: dict[str, list[str]] | None = None
) -> argparse.ArgumentParser:
    """The command's parser; ``studies`` (each task's, by name) are listed in ``--study``'s help."""
    parser = OneLineParser(
        prog=PROG,
        parents=[plugin_parser()],
        description="Train learners and planners on a task, count their trials (and deaths), "
        "evaluate them on a fixed held-out set, print the table and write results/<task>/<run>/.",
        epilog="Tasks: "
        + "; ".join(f"{t.name}: {t.description}" for t in tasks)
        + ". `python -m sandbox.agents` lists the agents.",
    )
    parser.add_argument("task", choices=[t.name for t in tasks], help="which task to run")
    add_agent_options(parser)
    add_size_options(parser, tasks, studies)
    add_results_options(parser)
    add_executor_options(parser)
    add_world_options(parser, tasks)
    return parser


def add_agent_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("agents", "which agents run, and their settings")
    group.add_argument(
        "--agents",
        help="comma-separated agents: names (python -m sandbox.agents lists them), "
        "package.module:Class or path/to/file.py:Class (default: the task's standard set); "
        "with a study of cells (decomposition), some of its cells by label (default: all)",
    )
    group.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="AGENT.KEY=VALUE",
        dest="settings",
        help="override one setting of one agent, e.g. ppo.learning_rate=3e-4 or "
        "ppo.policy_kwargs.net_arch=[32,32] (values are TOML); repeatable",
    )
    group.add_argument(
        "--agent-config",
        type=Path,
        metavar="FILE.toml",
        help="agents' settings from a TOML file: one table per agent, "
        "e.g. [ppo] learning_rate = 3e-4",
    )


def add_size_options(
    parser: argparse.ArgumentParser, tasks: list[Task], studies: dict[str, list[str]] | None
) -> None:
    group = parser.add_argument_group("run size", "how much each agent trains, how it is evaluated")
    seeds = ", ".join(f"{t.name} {t.default.seeds}" for t in tasks)
    group.add_argument(
        "--seeds",
        metavar="N",
        type=positive_int,
        help=f"seeds per agent (default: {seeds}; --full and studies: their own)",
    )
    group.add_argument(
        "--budget",
        metavar="TRIALS",
        type=positive_int,
        help="training trials per agent and seed (default: the task's default budget)",
    )
    group.add_argument(
        "--full",
        action="store_true",
        help="run the reference experiment: larger budget, "
        "more evaluation points; takes much longer",
    )
    listed = "; ".join(
        f"{task}: {', '.join(names) or 'none'}" for task, names in (studies or {}).items()
    )
    group.add_argument(
        "--study",
        metavar="STUDY",
        help="run a study instead of the standard protocol" + (f" ({listed})" if listed else ""),
    )
    group.add_argument(
        "--eval-episodes",
        type=positive_int,
        metavar="N",
        help="held-out evaluation episodes per point",
    )
    group.add_argument(
        "--reliable-bar",
        metavar="RATE",
        type=fraction,
        default=0.9,
        help="evaluation success rate that counts as reliable (default 0.9)",
    )


def add_results_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("results", "where the results and logs go")
    group.add_argument(
        "--out",
        metavar="DIR",
        type=Path,
        help="results folder (default: results/<task>/<date-time>[-<study>][-full])",
    )
    group.add_argument(
        "--force",
        action="store_true",
        help="resume in a folder whose recorded run differs from this one",
    )
    group.add_argument(
        "--no-animations",
        dest="animations",
        action="store_false",
        help="do not draw the animations (GIF, MP4), the slowest part of the results: the "
        "tables, plots and report are written as always",
    )
    group.add_argument(
        "--tensorboard",
        type=Path,
        metavar="DIR",
        help="log to TensorBoard in DIR: each learner through SB3's logger, and every agent's "
        "trials, deaths and held-out success, one run per (phase, agent, seed)",
    )


def add_executor_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("where jobs run")
    group.add_argument(
        "--workers",
        metavar="N",
        type=positive_int,
        default=os.cpu_count() or 1,
        help="parallel worker processes (default: the number of cores); with --executor ray and no "
        "--ray-address, the CPUs of the local Ray runtime",
    )
    group.add_argument(
        "--executor",
        choices=("local", "ray"),
        default="local",
        help="where jobs run: a local process pool (default) "
        'or Ray tasks (pip install -e ".[ray]")',
    )
    group.add_argument(
        "--ray-address",
        metavar="HOST:PORT",
        help="with --executor ray: the cluster's address (default: a local Ray runtime)",
    )


def add_world_options(parser: argparse.ArgumentParser, tasks: list[Task]) -> None:
    """Each task's own options (its world or map), once per flag however many tasks take it."""
    group = parser.add_argument_group("worlds", "each task's own options")
    seen: dict[str, str] = {}
    for task in tasks:
        for option in task.options:
            if option.flag in seen:
                continue
            seen[option.flag] = task.name
            group.add_argument(
                option.flag,
                dest=option_dest(option.flag),
                metavar=option.metavar or option.flag.lstrip("-").upper().replace("-", "_"),
                help=f"{task.name}: {option.help}",
            )


if __name__ == "__main__":
    sys.exit(run_command(main))
