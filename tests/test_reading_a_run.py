"""A run at the demo budgets is read against the committed reference: its plots draw the
reference's curves beside its own (or say there is none for its world), its report and
console say these are demo budgets, and every picture names one best learner.

The runs here are made from the committed rocket reference's files (three seeds, recorded
as a demo run), so nothing trains."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

from sandbox.outputs.reference import demo_note, reference_of
from sandbox.outputs.report import sections
from sandbox.outputs.results import summarise, without_episodes, write_json
from sandbox.outputs.run_data import RunData, best_learner, best_learner_line, headline
from sandbox.pictures import animation
from sandbox.pictures.run_plots import success_figure
from sandbox.tasks import get_task
from sandbox.tasks.rocket import trajectories_figure

SAC_BUDGET = get_task("rocket").default.agent_budgets["sac"]  #: the demo runs' budget of SAC

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "results" / "rocket" / "reference"
#: per learner, final held-out success on seeds 0, 1, 2: the best by the median (sac) is not
#: the best on seed 0 (td3), and none is reliable
FINAL_SUCCESS = {"ppo": [0.1, 0.1, 0.1], "sac": [0.3, 0.6, 0.6], "td3": [0.7, 0.2, 0.2]}


def demo_run(folder: Path, **config: object) -> RunData:
    """The reference's first three seeds cut at the default budgets, saved as a run at the
    demo budgets (``config``: keys of ``config.json`` to change), with the learners' figures
    of ``FINAL_SUCCESS``."""
    (folder / "jobs").mkdir(parents=True)
    recorded = json.loads((REFERENCE / "config.json").read_text())
    recorded.update({"full": False, "seeds": [0, 1, 2], **config})
    write_json(folder / "config.json", recorded)
    jobs = []
    default = get_task("rocket").default
    for path in sorted((REFERENCE / "jobs").glob("train-*-seed[012].json")):
        job = json.loads(path.read_text())
        job["budget"] = default.agent_budgets.get(job["agent"], default.budget)
        job["evaluations"] = [row for row in job["evaluations"] if row["trials"] <= job["budget"]]
        job["trials_spent"] = min(job["trials_spent"], job["budget"])
        if job["agent"] in FINAL_SUCCESS:
            job["final_success_rate"] = FINAL_SUCCESS[job["agent"]][job["seed"]]
            job["trials_to_reliable"] = None
        write_json(folder / "jobs" / path.name, job)
        jobs.append(job)
    summary = {"task": "rocket", "complete": True, "agents": summarise(jobs, recorded["agents"])}
    write_json(folder / "summary.json", summary)
    return RunData.load(folder)


def drawn_references(figure) -> set[str]:
    return {
        line.get_gid().partition(":")[2]
        for axes in figure.axes
        for line in axes.lines
        if (line.get_gid() or "").startswith("reference:")
    }


def notes(figure) -> list[str]:
    return [
        t.get_text() for axes in figure.axes for t in axes.texts if t.get_gid() == "reference-note"
    ]


@pytest.fixture
def run(tmp_path) -> RunData:
    return demo_run(tmp_path / "run")


def test_a_demo_run_draws_the_reference_beside_its_own_curves(run):
    figure = success_figure(run)
    try:
        assert drawn_references(figure) == set(run.summary)
        labels = figure.axes[0].get_legend_handles_labels()[1]
        seeds = len(json.loads((REFERENCE / "config.json").read_text())["seeds"])
        assert f"dashed: reference (--full, {seeds} seeds)" in labels
        assert figure.axes[0].get_xlim()[1] >= 10_000  # out to the reference's budget
        assert notes(figure) == []
    finally:
        plt.close(figure)


def test_a_run_in_another_world_says_it_has_no_reference(tmp_path):
    run = demo_run(tmp_path / "run", env_kwargs={"world": "super_earth"})
    figure = success_figure(run)
    try:
        assert drawn_references(figure) == set()
        assert notes(figure) == ["no committed reference for this world (super_earth)"]
    finally:
        plt.close(figure)
    assert "no committed reference for this world" in demo_note(run)


def curves_with_a_changed_setting(tmp_path: Path, agent: str, key: str, value) -> tuple:
    """The reference curves and notes of a demo run's success plot when ``agent`` ran with
    ``key`` set to ``value`` and every other setting as the reference recorded."""
    recorded = json.loads((REFERENCE / "config.json").read_text())["agent_details"]
    recorded[agent]["settings"] = {**recorded[agent]["settings"], key: value}
    run = demo_run(tmp_path / "run", agent_details=recorded)
    figure = success_figure(run)
    try:
        return set(run.summary), drawn_references(figure), notes(figure)
    finally:
        plt.close(figure)


def test_an_agent_with_other_settings_than_the_reference_gets_no_reference_curve(tmp_path):
    agents, drawn, said = curves_with_a_changed_setting(tmp_path, "ppo", "learning_rate", 0.5)
    assert drawn == agents - {"ppo"}
    assert said == ["no committed reference for ppo"]


def test_a_setting_that_acts_only_in_a_new_world_keeps_the_reference_curve(tmp_path):
    _, drawn, said = curves_with_a_changed_setting(
        tmp_path, "sac", "learning_starts_in_new_world", 9
    )
    assert "sac" in drawn and said == []


def test_a_full_run_and_the_reference_itself_draw_no_reference(tmp_path):
    assert reference_of(demo_run(tmp_path / "full", full=True)) is None
    assert reference_of(RunData.load(REFERENCE)) is None
    assert demo_note(RunData.load(REFERENCE)) is None


def test_the_demo_note_gives_the_budgets_and_the_command_of_the_reference(run):
    note = demo_note(run)
    assert re.match(
        rf"Demo budgets \(3 seeds, [\d,]+ launches; [^)]*sac {SAC_BUDGET:,}[^)]*\): the learners "
        r"have only started, where the reference gives them up to 10,000\. ",
        note,
    ), note
    assert "`python -m sandbox.compare rocket --full` reproduces the reference" in note
    assert "(results/rocket/reference, docs/results/rocket.md)" in note
    first = sections(run)[0]
    assert first.title == "In brief" and first.paragraphs[0] == note


def test_the_demo_note_names_every_budget_where_no_two_agents_share_one(run):
    """The flight's default gives the planner 3 flights, random search 300, PPO 10,000 and
    SAC 500: no budget stands for the others, so each agent's is given."""
    for number, entry in enumerate(run.summary.values()):
        entry["budget"] = (3, 300, 10_000, 500)[number] if number < 4 else 40 + number
    note = demo_note(run)
    each = ", ".join(f"{agent} {entry['budget']:,}" for agent, entry in run.summary.items())
    assert note.startswith(f"Demo budgets (3 seeds; launches: {each})"), note


def test_the_headline_the_report_the_animation_and_the_trajectories_name_one_learner(
    run, monkeypatch
):
    assert best_learner(run) == "sac"  # by the median over seeds; td3 is the best on seed 0
    assert f"(best: sac, 60% after {SAC_BUDGET:,} trials)" in headline(run)
    assert best_learner_line(run) == (
        "Best learner of this run: sac (median held-out success 60 % over 3 seeds, not "
        f"reliable within {SAC_BUDGET:,} trials)."
    )
    assert best_learner_line(run) in sections(run)[0].paragraphs
    plan = animation.planner_beside_learner(run, list(run.summary))
    assert plan.name == "planner-vs-sac"
    (run.folder / "planner-vs-td3.gif").write_bytes(b"")  # from before a resume, say
    animation.remove_stale_side_by_sides(run.folder, [plan.name])
    assert not (run.folder / "planner-vs-td3.gif").exists()
    figure = trajectories_figure(run)
    try:
        titles = [axes.get_title() for axes in figure.axes]
    finally:
        plt.close(figure)
    assert titles[0].startswith("planner: its first ") and " training launches" in titles[0]
    assert titles[1].startswith("best learner sac: its first ")


def test_a_tie_goes_to_the_learner_listed_first(tmp_path):
    FINAL_SUCCESS["td3"], saved = FINAL_SUCCESS["sac"], FINAL_SUCCESS["td3"]
    try:
        run = demo_run(tmp_path / "run")
    finally:
        FINAL_SUCCESS["td3"] = saved
    assert [a for a in run.summary if a in FINAL_SUCCESS] == ["ppo", "sac", "td3"]
    assert best_learner(run) == "sac"


def test_a_copy_of_the_reference_elsewhere_is_read_against_it(tmp_path):
    """A ``--full`` run copied out of ``results/`` is still a reference: it draws none."""
    shutil.copytree(REFERENCE, tmp_path / "copy", ignore=shutil.ignore_patterns("animations"))
    assert reference_of(RunData.load(tmp_path / "copy")) is None


def test_written_json_reads_back_as_json_writes_it(tmp_path):
    """A summary or config is written indented, each list of plain values on one line, and
    reads back as ``json`` would have written it: keys, empty containers and non-finite
    numbers included."""
    data = {
        "seeds": [0, 1, 2],
        "grid": [[0.0, 0.5], [], [1.0, None]],
        "per_k": {"0": {"success": {"planner": [1.0, float("inf")]}}, "1": {}},
        3: True,
        None: "text, with ] and [",
    }
    path = tmp_path / "summary.json"
    write_json(path, data)
    text = path.read_text()
    assert json.loads(text) == json.loads(json.dumps(data))
    assert ' "seeds": [0, 1, 2],' in text.splitlines()
    assert "  [0.0, 0.5]," in text.splitlines()
    with pytest.raises(TypeError):
        write_json(tmp_path / "bad.json", {(1, 2): 3})


def test_a_job_without_its_episodes_keeps_every_figure():
    job = {
        "seed": 1,
        "trials_to_reliable": 42,
        "traces": {"evaluation": [{"path": [[0, 0]]}]},
        "transfer": {"zero_shot_success": 0.5, "traces": [1], "zero_shot_traces": [2]},
    }
    assert without_episodes(job) == {
        "seed": 1,
        "trials_to_reliable": 42,
        "transfer": {"zero_shot_success": 0.5},
    }
    assert "traces" in job and "zero_shot_traces" in job["transfer"]  # the job is kept whole
