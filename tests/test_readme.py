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


@pytest.mark.parametrize("reference", REFERENCES)
def test_committed_summary_is_what_the_job_files_give(reference):
    """Re-summarised from its job files by the code as it stands, a reference gives its summary."""
    import json

    from sandbox.results import load_jobs, summarise
    from sandbox.studies import get_study
    from sandbox.tasks import get_task

    run = ROOT / reference
    committed = json.loads((run / "summary.json").read_text())
    config = json.loads((run / "config.json").read_text())
    task = get_task(committed["task"])
    jobs = load_jobs(run)
    again = {"task": task.name, "complete": committed["complete"],
             "agents": summarise(jobs, config["agents"], task.summary_keys)}
    if config.get("study"):
        settings = config.get("study_settings") or config.get("grid")
        again.update(get_study(config["study"], task.name).summarise(jobs, config["agents"], settings))
    assert json.loads(json.dumps(again)) == committed
