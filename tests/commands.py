"""Running a command's ``main`` in this process, as a test of bad input wants it.

A new interpreter pays a few seconds of imports (torch, Stable-Baselines3, scipy) before
it can refuse an argument; in this process they are paid once for the whole suite. What
only a process of its own shows (``python -m``, exit codes through the shell, pipes,
signals, worker processes, plug-ins that register themselves) is tested that way
elsewhere."""

from __future__ import annotations

import contextlib
import io
import subprocess
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def in_process(
    main: Callable[[list[str]], int], *args: str, cwd: Path = ROOT
) -> subprocess.CompletedProcess:
    """What ``python -m <command> *args`` would have returned and printed, from ``main``
    called here; an exception that the command does not handle fails the test as the
    traceback would."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.chdir(cwd), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exit:  # argparse's own exits (--help, usage errors)
            code = exit.code if isinstance(exit.code, int) else 1
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())
