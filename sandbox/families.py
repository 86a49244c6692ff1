"""Where the three families land, side by side: the best model-free learner, the agent
that learns its model of the world, and the planner handed an abstract model.

Read from saved runs (any mix of a task's standard run, its generalization study and
its transfer stage), one row per measure, one column per family:

    python -m sandbox.families results/rocket/reference results/rocket/generalization-reference \\
        results/city/reference --out results/families.png

prints the table (Markdown) and draws one panel per measure: the median over seeds
with its confidence interval (order statistics), censored medians as an arrow at the budget.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agents.base import first_paragraph
from sandbox.command_line import run_command
from sandbox.outputs.families import families, families_table
from sandbox.outputs.tables import markdown_table
from sandbox.pictures.families_plot import plot_families


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.families", description=first_paragraph(__doc__)
    )
    parser.add_argument("runs", nargs="+", type=Path, help="run folders (results/<task>/<run>)")
    parser.add_argument(
        "--out", type=Path, default=Path("results/families.png"), help="the plot (PNG)"
    )
    args = parser.parse_args(argv)
    try:
        measures = families(args.runs)
        if not measures:
            raise ValueError("no learner, learned-model agent or planner in these runs")
        plot_families(measures, args.out)
    except (OSError, ValueError, KeyError) as error:
        print(
            f"python -m sandbox.families: error: {type(error).__name__}: {error}", file=sys.stderr
        )
        return 2
    print(markdown_table(families_table(measures)))
    print(f"\nplot: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(run_command(main))
