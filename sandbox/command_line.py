"""What the commands share: a parser whose errors are one line (exit code 2), the
error for bad input found after parsing, the argument types they check, and the shape
of the commands that take a run folder (``sandbox.plots``, ``sandbox.report``,
``sandbox.run_report``)."""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import NoReturn

from agents.base import first_paragraph

#: the exit code of a command whose reader closed the pipe early (``| head``): 128 + SIGPIPE,
#: what a shell reports for a command that signal ended
CLOSED_PIPE = 141


def run_command(main: Callable[[], int]) -> int:
    """``main()``'s exit code; if the reader of its output closes the pipe early
    (``python -m sandbox.report RUN | head``), the command ends quietly with
    ``CLOSED_PIPE`` instead of a BrokenPipeError (the recipe of Python's ``signal`` docs)."""
    try:
        code = main()
        sys.stdout.flush()  # a closed pipe shows here at the latest, where it can be caught
        return code
    except BrokenPipeError:
        # Python flushes stdout once more at exit: send that to devnull, so it is quiet too.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return CLOSED_PIPE


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


def option_dest(flag: str) -> str:
    """Where the parsed value of a task's option (``--map``) is kept."""
    return "task_option_" + flag.lstrip("-").replace("-", "_")


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
    except BrokenPipeError:
        raise  # the reader left (| head): run_command ends quietly
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
