"""Markdown tables of a run, from its saved files alone (the results pages in docs/ quote these).

python -m sandbox.report results/rocket/reference

With ``--page docs/results/rocket.md`` it rewrites the page instead: each table there whose
header row is one of the run's tables (the fixed-budget table among them), or whose
columns a table of the run mostly keeps (a column gained or renamed since), becomes that
table as the run gives it now, the page's words left as they are; a table of the run that
the page does not quote yet is printed, for a place to be chosen by hand.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
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
        help="rewrite the tables this Markdown page quotes from the run (matched by header row, "
        "or by most columns kept), "
        "instead of printing them",
    )
    args = parser.parse_args(argv)
    action = (
        (lambda folder: [report(folder)])
        if args.page is None
        else (lambda folder: requote_page(folder, args.page))
    )
    return run_folder_command("sandbox.report", action, [str(args.run_folder)], doc=__doc__)


def requote_page(folder: Path, page: Path) -> Iterator[str]:
    """Rewrite the tables ``page`` quotes from the run in ``folder``; say how many, and give
    the run's tables the page lacks."""
    tables = quoted_tables(folder)
    text, unplaced = requote(page.read_text(), tables)
    page.write_text(text)
    yield f"{page}: {len(tables) - len(unplaced)} of the run's {len(tables)} tables quoted"
    for table in unplaced:
        yield f"\nnot on the page yet:\n\n{table}"


if __name__ == "__main__":
    sys.exit(run_command(main))
