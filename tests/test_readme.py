"""The README quotes the committed reference results verbatim."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.report import report

ROOT = Path(__file__).resolve().parents[1]
REFERENCES = ["results/rocket/reference", "results/city/reference", "results/rocket/generalization-reference"]


@pytest.mark.parametrize("reference", REFERENCES)
def test_readme_tables_come_from_the_committed_summary(reference):
    run = ROOT / reference
    if not (run / "summary.json").exists():
        pytest.skip(f"{reference} is not committed")
    readme = (ROOT / "README.md").read_text()
    for table in report(run).split("\n\n"):
        assert table in readme, f"README does not quote this table of {reference}:\n{table}"
    for plot in sorted(run.glob("*.png")):
        assert plot.stat().st_size < 400_000
