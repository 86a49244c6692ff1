"""``python -m sandbox.tune TASK --agent NAME``: search one agent family's settings with
Optuna on validation situations; every family of a task gets the same study.

Examples::

    python -m sandbox.tune rocket --agent sac              # 24 trials x 2 seeds x 3,000 launches
    python -m sandbox.tune city --agent dqn --workers 2    # a trial's seeds side by side
    python -m sandbox.tune rocket --agent sac --trials 30  # the same study, on to 30 trials

The defaults, the same for every family of a task: 24 trials (today's settings first) x 2
seeds, a budget of 3,000 launches (rocket) or 200 walks (city) per seed, 30 validation
episodes at 16 log-spaced points; a study of one family took 0.2 to 3.3 hours (rocket SAC) on
the shared 2-core machine (the times are in docs/configuring-learners.md), ``--workers 2``
running a trial's seeds side by side. The objective, sampler and files are described in
``sandbox/tuning/study.py``, the search spaces in ``sandbox/tuning/spaces.py``. The best
settings are written as an ``--agent-config`` file, ``results/tuning/<task>-<agent>.toml``;
nothing the agents use by default changes.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

from agents.plugins import PluginError
from sandbox.command_line import OneLineParser, UsageError, positive_int, run_command
from sandbox.tasks import get_task
from sandbox.tuning import BUDGETS, DEFAULT_SEEDS, DEFAULT_TRIALS, GRID_START
from sandbox.tuning.spaces import SPACES, space_of, tuned_agents

PROG = "python -m sandbox.tune"
OUT = Path("results") / "tuning"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = build_parser().parse_args(argv)
        return run(args)
    except (UsageError, PluginError) as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2


def run(args: argparse.Namespace) -> int:
    """Check what the arguments name, then run the study (Optuna is imported only then)."""
    agents = tuned_agents(args.task)
    if args.agent not in agents:
        raise UsageError(
            f"--agent {args.agent!r} has no search space for {args.task}; "
            f"valid agents: {', '.join(agents)}"
        )
    if importlib.util.find_spec("optuna") is None:
        raise UsageError('tuning needs Optuna, which is not installed: pip install -e ".[tune]"')
    from sandbox.run.runner import writable_dir
    from sandbox.tuning.study import StudyMismatch, StudySettings, run_study

    budget = args.budget if args.budget is not None else BUDGETS[args.task]
    if budget < GRID_START:
        raise UsageError(
            f"--budget must be at least {GRID_START} (the objective averages the validation "
            f"success from {GRID_START} trials on), got {budget}"
        )
    problem = writable_dir(args.out / "optuna")
    if problem:
        raise UsageError(f"cannot write the study to {args.out}: {problem}; choose another --out")
    space = space_of(args.task, args.agent)
    trials = args.trials if args.trials is not None else DEFAULT_TRIALS
    if space.exhaustive:
        if args.trials is not None and args.trials != space.size():
            raise UsageError(
                f"{args.agent}'s space on {args.task} holds {space.size()} configurations, "
                f"each tried once: --trials must be {space.size()} or left out"
            )
        trials = space.size()
    task = get_task(args.task)
    settings = StudySettings(
        task=task.name,
        agent=args.agent,
        seeds=args.seeds,
        budget=budget,
        env_kwargs=dict(task.env_kwargs),
    )
    try:
        run_study(settings, trials, args.out, args.workers, report=_line)
    except StudyMismatch as error:
        raise UsageError(str(error)) from None
    except KeyboardInterrupt:
        print(
            f"{PROG}: interrupted; the finished trials are kept: run the same command again "
            "to continue",
            file=sys.stderr,
        )
        return 130
    return 0


def _line(text: str) -> None:
    print(text, flush=True)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog=PROG,
        description="Tune one agent family's settings with Optuna on validation situations of "
        "the task's home world: the same trials, seeds, budget and objective for every family "
        "of a task. Writes results/tuning/<task>-<agent>.json (the study) and .toml (the best "
        "settings, for --agent-config).",
        epilog="Agents: "
        + "; ".join(f"{task}: {', '.join(agents)}" for task, agents in SPACES.items()),
    )
    parser.add_argument("task", choices=list(SPACES), help="which task")
    parser.add_argument("--agent", required=True, metavar="NAME", help="which agent family")
    parser.add_argument(
        "--trials",
        type=positive_int,
        metavar="N",
        help="configurations the study holds when done, today's settings first "
        f"(default {DEFAULT_TRIALS}; a space small enough to be tried whole, as sac-utd's, "
        "holds its size); a study in the folder already continues to N",
    )
    parser.add_argument(
        "--seeds",
        type=positive_int,
        default=DEFAULT_SEEDS,
        metavar="K",
        help=f"seeds per trial (default {DEFAULT_SEEDS})",
    )
    parser.add_argument(
        "--budget",
        type=positive_int,
        metavar="TRIALS",
        help="training trials per seed (default: "
        + ", ".join(f"{task} {budget:,}" for task, budget in BUDGETS.items())
        + ")",
    )
    parser.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        metavar="W",
        help="processes a trial's seeds run in (default 1)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=OUT,
        metavar="DIR",
        help="where the study goes: DIR/optuna/<task>-<agent>.log (the journal), "
        "DIR/<task>-<agent>.json and .toml (default results/tuning)",
    )
    return parser


if __name__ == "__main__":
    sys.exit(run_command(main))
