"""The shape of the commands that take a run folder (``sandbox.plots``, ``sandbox.report``,
``sandbox.run_report``): one argument, and a one-line error with exit code 2 for a folder
that holds no run."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Iterable
from pathlib import Path

from agents.base import first_paragraph


def run_folder_command(
    prog: str,
    action: Callable[[Path], Iterable[object]],
    argv: list[str] | None = None,
    doc: str | None = None,
) -> int:
    """Print what ``action(folder)`` yields, line by line; ``-h``/``--help`` prints the
    usage and the first paragraph of ``doc`` (the command module's docstring)."""
    argv = sys.argv[1:] if argv is None else argv
    usage = f"usage: python -m {prog} RUN_FOLDER"
    if argv in (["-h"], ["--help"]):
        print(f"{usage}\n\n{textwrap.fill(first_paragraph(doc), 88)}".rstrip())
        return 0
    if len(argv) != 1:
        print(usage, file=sys.stderr)
        return 2
    try:
        for line in action(Path(argv[0])):
            print(line)
    except (
        OSError,
        ValueError,
        KeyError,
    ) as error:  # a folder that holds no run, or another's files
        print(
            f"python -m {prog}: error: {argv[0]}: {type(error).__name__}: {error}", file=sys.stderr
        )
        return 2
    return 0
