"""The tables of a run, from its saved files alone: the training and transfer tables,
the study's own, and each as Markdown (what ``python -m sandbox.report`` prints and the
README quotes)."""

from __future__ import annotations

import json
from pathlib import Path

from sandbox.outputs.fixed_budget import fixed_budget_table
from sandbox.outputs.results import load_plugins, table
from sandbox.studies import get_study
from sandbox.tasks import get_task


def run_tables(summary_file: dict, study_name: str | None) -> list[tuple[str, str]]:
    """(title, text table) of a run: training, transfer (if any), then the study's own."""
    task = get_task(summary_file["task"])
    summary = summary_file["agents"]
    tables = [("", table(summary, task.columns))]
    transfer = {agent: entry for agent, entry in summary.items() if "relearn_fraction" in entry}
    if transfer:
        tables.append(
            (
                "Transfer to the new world: zero-shot, then continued training there, against a "
                "fresh "
                "agent there",
                table(transfer, task.transfer_columns),
            )
        )
    if study_name:
        tables += get_study(study_name, task.name).tables(summary_file)
    return tables


def markdown_table(text_table: str) -> str:
    """The printed table, turned into a Markdown table."""
    lines = text_table.splitlines()
    header, rows = lines[0], lines[2:]
    starts = _column_starts(lines[1])

    def cells(line):
        return [line[a:b].strip() for a, b in zip(starts, starts[1:] + [None], strict=True)]

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
    run_dir = Path(run_dir)
    summary_file = json.loads((run_dir / "summary.json").read_text())
    config = json.loads((run_dir / "config.json").read_text())
    load_plugins(config)
    return "\n\n".join(
        markdown_table(text) for _, text in run_tables(summary_file, config.get("study"))
    )


def quoted_tables(run_dir: Path) -> list[str]:
    """Every Markdown table a results page quotes from a run: ``report``'s, then the
    fixed-budget table where the run wrote one."""
    tables = report(run_dir).split("\n\n")
    fixed = Path(run_dir) / "fixed_budget.json"
    if fixed.is_file():
        tables.append(markdown_table(fixed_budget_table(json.loads(fixed.read_text()))))
    return tables


def _cells(row: str) -> list[str]:
    """The cells of one Markdown table row, stripped."""
    return [cell.strip() for cell in row.strip().strip("|").split("|")]


def requote(page: str, tables: list[str]) -> tuple[str, list[str]]:
    """``page`` (Markdown) with each of its tables replaced by the table of ``tables`` that
    has the same header row, in order where several share one; then, for the tables left,
    the page's table of the same first column whose columns the new one mostly keeps (a
    column gained, dropped or renamed since the page quoted it): the most columns in common,
    at least two thirds of the page's. Returns the page and the tables of ``tables`` that
    found no table of the page to replace. The page's other lines are kept as they are."""
    lines = page.split("\n")
    blocks, start = [], None  # (first line, past the last line) of each table of the page
    for number, line in enumerate([*lines, ""]):
        if line.startswith("|") and start is None:
            start = number
        elif not line.startswith("|") and start is not None:
            blocks.append((start, number))
            start = None
    replaced: dict[tuple[int, int], list[str]] = {}
    left = []
    for quoted in tables:
        rows = quoted.split("\n")
        free = [b for b in blocks if lines[b[0]] == rows[0] and b not in replaced]
        if free:
            replaced[free[0]] = rows
        else:
            left.append(quoted)
    unplaced = []
    headers = {block: _cells(lines[block[0]]) for block in blocks}
    for quoted in left:
        rows = quoted.split("\n")
        header = _cells(rows[0])
        shared = {  # the page's free tables of the same first column: columns in common
            block: len(set(cells) & set(header))
            for block, cells in headers.items()
            if block not in replaced and cells[0] == header[0]
        }
        near = {block: n for block, n in shared.items() if 3 * n >= 2 * len(headers[block])}
        if near:
            replaced[max(near, key=near.__getitem__)] = rows  # max keeps the first of equals
        else:
            unplaced.append(quoted)
    for (first, past), rows in sorted(replaced.items(), reverse=True):
        lines[first:past] = rows
    return "\n".join(lines), unplaced
