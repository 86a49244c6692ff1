"""The README quotes the committed reference results verbatim."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.outputs.tables import markdown_table, report

ROOT = Path(__file__).resolve().parents[1]
REFERENCES = [
    "results/rocket/reference",
    "results/city/reference",
    "results/rocket/generalization-reference",
    "results/city/sight-reference",
]
FAMILY_RUNS = [
    "results/rocket/reference",
    "results/rocket/generalization-reference",
    "results/city/reference",
]


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

    from sandbox.outputs.results import load_jobs, summarise
    from sandbox.studies import get_study
    from sandbox.tasks import get_task

    run = ROOT / reference
    committed = json.loads((run / "summary.json").read_text())
    config = json.loads((run / "config.json").read_text())
    task = get_task(committed["task"])
    jobs = load_jobs(run)
    again = {
        "task": task.name,
        "complete": committed["complete"],
        "agents": summarise(jobs, config["agents"], task.summary_keys),
    }
    if config.get("study"):
        settings = config.get("study_settings") or config.get("grid")
        again.update(
            get_study(config["study"], task.name).summarise(jobs, config["agents"], settings)
        )
    assert json.loads(json.dumps(again)) == committed


def test_readme_families_table_comes_from_the_references():
    """The table that places the learned models between the learners and the planners,
    as ``python -m sandbox.families`` prints it from the committed references."""
    from sandbox.outputs.families import families, families_table

    readme = (ROOT / "README.md").read_text()
    table = markdown_table(families_table(families([ROOT / r for r in FAMILY_RUNS])))
    assert table in readme, f"README does not quote the families table:\n{table}"
    assert (
        f"python -m sandbox.families {' '.join(FAMILY_RUNS)} --out results/families.png" in readme
    )
    assert (ROOT / "results" / "families.png").stat().st_size < 400_000
