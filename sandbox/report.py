"""Markdown tables of a run, from its saved files alone (the results pages in docs/ quote these).

python -m sandbox.report results/rocket/reference
"""

from __future__ import annotations

import sys

from sandbox.command_line import run_command, run_folder_command
from sandbox.outputs.tables import report


def main(argv: list[str] | None = None) -> int:
    return run_folder_command("sandbox.report", lambda folder: [report(folder)], argv, doc=__doc__)


if __name__ == "__main__":
    sys.exit(run_command(main))
