"""Plots of a run, drawn from its saved files only: the success curves every run has,
the transfer plots when it moved agents to a new world, then the task's and the
study's own plots.

Any past run can be re-plotted::

    python -m sandbox.plots results/rocket/<run>
"""

from __future__ import annotations

import sys

from sandbox.command_line import run_command, run_folder_command
from sandbox.pictures.run_plots import plot_run


def main(argv: list[str] | None = None) -> int:
    return run_folder_command("sandbox.plots", plot_run, argv, doc=__doc__)


if __name__ == "__main__":
    sys.exit(run_command(main))
