"""Markdown tables of a run, from its saved files alone (the results pages in docs/ quote these).

python -m sandbox.report results/rocket/reference

With ``--page docs/results/rocket.md`` it rewrites the page instead: each table there whose
header row is one of the run's tables (the fixed-budget table among them) becomes that
table as the run gives it now, the page's words left as they are; a table of the run that
the page does not quote yet is printed, for a place to be chosen by hand.
"""

from __future__ import annotations

import sys
from pathlib import Path

from agents.base import first_paragraph
from sandbox.command_line import OneLineParser, run_command, run_folder_command
from sandbox.outputs.tables import quoted_tables, report, requote


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="python -m sandbox.report", description=first_paragraph(__doc__))
    parser.add_argument("run_folder", type=Path, help="a run folder (results/<task>/<run>)")
    parser.add_argument(
        "--page",
        type=Path,
        help="rewrite the tables this Markdown page quotes from the run (matched by header row), "
        "instead of printing them",
    )
    args = parser.parse_args(argv)
    if args.page is None:
        return run_folder_command(
            "sandbox.report", lambda folder: [report(folder)], [str(args.run_folder)], doc=__doc__
        )
    try:
        tables = quoted_tables(args.run_folder)
        page, unplaced = requote(args.page.read_text(), tables)
        args.page.write_text(page)
    except (OSError, ValueError, KeyError) as error:
        print(
            f"python -m sandbox.report: error: {args.run_folder}: {type(error).__name__}: {error}",
            file=sys.stderr,
        )
        return 2
    print(f"{args.page}: {len(tables) - len(unplaced)} of the run's {len(tables)} tables quoted")
    for table in unplaced:
        print(f"\nnot on the page yet:\n\n{table}")
    return 0


if __name__ == "__main__":
    sys.exit(run_command(main))
