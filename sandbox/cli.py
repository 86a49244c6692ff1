"""``sandbox COMMAND [ARGS]``: one front door to every command of the sandbox. Each
command is the same ``main`` that ``python -m sandbox.<module>`` runs, handed the rest of
the arguments::

    sandbox compare rocket --agents planner,ppo --seeds 2
    sandbox report results/rocket/reference
    sandbox --version

``python -m sandbox`` is the same front door.
"""

from __future__ import annotations

import importlib
import sys
from importlib.metadata import PackageNotFoundError, version

DISTRIBUTION = "model-vs-learn-sandbox"  #: the package name in pyproject.toml

#: command -> (the module whose ``main(argv)`` runs it, what it does in one line)
COMMANDS = {
    "compare": ("sandbox.compare", "train agents on a task, count their trials, write a run"),
    "agents": ("sandbox.agents", "list the agents the sandbox can run by name"),
    "report": ("sandbox.report", "print a run's tables as Markdown, or requote a results page's"),
    "plots": ("sandbox.plots", "draw a run's plots again from its saved files"),
    "run-report": ("sandbox.run_report", "write a run's report.md and report.html again"),
    "watch": ("sandbox.watch", "animate more held-out episodes of one agent of a run"),
    "families": ("sandbox.families", "compare the three families across saved runs"),
    "bench": ("sandbox.bench.cli", "measure this machine's speed against the targets"),
    "tune": ("sandbox.tune", "search an agent family's settings on validation situations"),
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [f"  {name.ljust(width)}  {about}" for name, (_, about) in COMMANDS.items()]
    return "\n".join(
        [
            "usage: sandbox COMMAND [ARGS]  (or: python -m sandbox COMMAND [ARGS])",
            "",
            "Learning versus modelling: learned and model-based agents side by side.",
            "",
            "commands:",
            *lines,
            "",
            "sandbox COMMAND --help describes a command; sandbox --version prints the version.",
        ]
    )


def package_version() -> str:
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def main(argv: list[str] | None = None) -> int:
    """Run the command ``argv`` names with the rest of ``argv``; its exit code."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] in (["-h"], ["--help"]):
        print(usage())
        return 0
    if argv[:1] == ["--version"]:
        print(f"sandbox {package_version()}")
        return 0
    if not argv:
        print(usage(), file=sys.stderr)
        return 2
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS and names_a_task(name):
        name, rest = "compare", argv  # ``python -m sandbox rocket``, as before the commands
    if name not in COMMANDS:
        print(
            f"sandbox: error: unknown command {name!r} (choose from {', '.join(COMMANDS)})",
            file=sys.stderr,
        )
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    from sandbox.command_line import run_command

    return run_command(lambda: module.main(rest))


def names_a_task(name: str) -> bool:
    """Whether ``name`` is a built-in task (``python -m sandbox`` once ran compare alone)."""
    if name.startswith("-"):
        return False
    from sandbox.tasks import task_names

    return name in task_names()


if __name__ == "__main__":
    sys.exit(main())
