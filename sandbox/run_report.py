"""A report per run: ``report.md`` and a self-contained ``report.html`` beside the
results, from the run's saved files alone. What was run (command, agents, seeds,
budgets, versions, machine), every table, every plot and animation, and one paragraph
per finding, each sentence generated from the numbers (no hand-written claims).

    python -m sandbox.run_report results/city/<run>
"""

from __future__ import annotations

import sys

from sandbox.command_line import run_command, run_folder_command
from sandbox.outputs.report import write_report


def main(argv: list[str] | None = None) -> int:
    return run_folder_command("sandbox.run_report", write_report, argv, doc=__doc__)


if __name__ == "__main__":
    sys.exit(run_command(main))
