"""Markdown tables of a run, from its ``summary.json`` alone (the README quotes these).

    python -m sandbox.report results/rocket/reference
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from sandbox.results import DEATH_COLUMNS, TRAINING_COLUMNS, TRANSFER_COLUMNS, table


def markdown_table(text_table: str) -> str:
    """The printed table, turned into a Markdown table."""
    lines = text_table.splitlines()
    header, rows = lines[0], lines[2:]
    starts = _column_starts(lines[1])
    cells = lambda line: [line[a:b].strip() for a, b in zip(starts, starts[1:] + [None])]  # noqa: E731
    out = ["| " + " | ".join(cells(header)) + " |", "|" + "---|" * len(starts)]
    out += ["| " + " | ".join(cells(row)) + " |" for row in rows]
    return "\n".join(out)


def _column_starts(rule: str) -> list[int]:
    starts, previous = [], " "
    for i, ch in enumerate(rule):
        if ch == "-" and previous == " ":
            starts.append(i)
        previous = ch
    return starts


def report(run_dir: Path) -> str:
    summary_file = json.loads((Path(run_dir) / "summary.json").read_text())
    summary = summary_file["agents"]
    deaths = summary_file["task"] == "city"
    parts = [markdown_table(table(summary, DEATH_COLUMNS if deaths else TRAINING_COLUMNS))]
    transfer = {agent: entry for agent, entry in summary.items() if "relearn_fraction" in entry}
    if transfer:
        columns = [c for c in TRANSFER_COLUMNS if deaths or "deaths" not in c[1]]
        parts.append(markdown_table(table(transfer, columns)))
    if "generalization_grid" in summary_file:
        from sandbox.generalization import grid_table

        parts.append(markdown_table(grid_table(summary_file)))
    return "\n\n".join(parts)


if __name__ == "__main__":
    print(report(Path(sys.argv[1])))
