"""An interrupted job goes on from its last checkpoint (its last evaluation point, or a stop
between two far apart): a learner's state and the ledger's counts come back whole, every
trial is counted once, no evaluation point is evaluated twice, and a job that cannot go on
starts over."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

import sandbox.run.execute
import sandbox.run.job
from agents.plugins import load_agent
from sandbox.outputs.results import job_path
from sandbox.run.checkpoint import Checkpoints, checkpoint_folder, point_order
from sandbox.run.job import JobConfig, config_digest, run_job
from sandbox.run.provenance import git_state
from tests.commands import in_process

ROOT = Path(__file__).resolve().parents[1]
SMALL = {"policy_kwargs": {"net_arch": [8]}}
#: settings that make each learner's job cheap and evaluated at many points
CHEAP = {
    "ppo": {**SMALL, "n_steps": 8, "batch_size": 8},
    "sac": {**SMALL, "learning_starts": 3, "batch_size": 4},
}


class Interrupted(Exception):
    """Stands for Ctrl-C or a killed process: the job stops between two points."""


def rocket_job(agent: str, budget: int = 30, **changes) -> JobConfig:
    settings = load_agent(agent).resolve_settings("rocket", CHEAP.get(agent))
    return JobConfig(
        task="rocket",
        agent=agent,
        seed=1,
        budget=budget,
        eval_episodes=2,
        eval_grid=(1, 2, 3, 4, 5, 10, 22),
        reliable_bar=1.0,
        env_kwargs={"world": "earth_moon"},
        agent_settings=settings,
        **changes,
    )


def stopped_after(points: int, rows: list[dict]):
    """An ``on_evaluation`` that interrupts the job after its ``points``-th point."""

    def report(row: dict) -> None:
        rows.append(row)
        if len(rows) == points:
            raise Interrupted

    return report


def interrupted(config: JobConfig, folder: Path, points: int = 2) -> list[dict]:
    rows: list[dict] = []
    with pytest.raises(Interrupted):
        run_job(config, stopped_after(points, rows), folder)
    return rows


def assert_counted_once(job: dict, budget: int) -> None:
    """Every launch is one step and one trial: a trial counted twice, or lost, or a step of
    an episode left unfinished, would show in the rows."""
    rows = job["evaluations"]
    trials = [row["trials"] for row in rows]
    assert trials == sorted(set(trials)) and trials[-1] == job["trials_spent"] == budget
    assert all(row["training_steps"] == row["trials"] for row in rows)
    assert rows[-1]["training_deaths"] == job["total_training_deaths"]
    successes = [row["training_successes"] for row in rows]
    assert successes == sorted(successes)
    first = job["trials_to_first_success"]
    assert (first is None) == (successes[-1] == 0)
    assert [trace["trial"] for trace in job["traces"]["training_first"]] == [1, 2, 3, 4, 5]
    assert job["traces"]["training_last"]["trial"] == budget


@pytest.mark.parametrize("agent", ["ppo", "sac"])
def test_an_interrupted_job_goes_on_from_its_last_evaluation_point(tmp_path, agent):
    config = rocket_job(agent)
    folder = tmp_path / "train-job-seed1.partial"
    before = interrupted(config, folder)
    assert [p.name for p in folder.iterdir()] == ["point-002"]  # the latest point only
    after: list[dict] = []
    job = run_job(config, after.append, folder)
    assert job["resumed_from_trials"] == [before[1]["trials"]]
    assert job["evaluations"][:2] == before  # kept as they were, not evaluated again
    assert [row["trials"] for row in after] == [row["trials"] for row in job["evaluations"][2:]]
    assert_counted_once(job, config.budget)
    # the job's seconds include those before the interruption
    assert job["wall_time_s"] >= job["evaluations"][-1]["wall_time_s"] >= before[1]["wall_time_s"]
    # and it records the code it ran at, as a checkpoint is taken back only by the same code
    assert job["code"] == git_state() and set(job["code"]) == {"commit", "dirty"}


def test_between_points_far_apart_it_keeps_a_checkpoint_and_goes_on_from_it(tmp_path, monkeypatch):
    """Points further apart than CHECKPOINT_TRIALS get stops between them, each with a
    checkpoint: a job stopped after one goes on from it, not from the point before."""
    monkeypatch.setattr(sandbox.run.job, "CHECKPOINT_TRIALS", 4)
    config = rocket_job("sac")  # points 1, 2, 3, 4, 5, 10, 22 and its budget, 30
    folder = tmp_path / "job.partial"
    kept: list[tuple[int, list[str]]] = []
    save = Checkpoints.save

    def save_and_stop_at_14(self, agent, ledger, *rest):
        save(self, agent, ledger, *rest)
        kept.append((ledger.n_trials, sorted(path.name for path in folder.iterdir())))
        if ledger.n_trials == 14:
            raise Interrupted

    monkeypatch.setattr(Checkpoints, "save", save_and_stop_at_14)
    with pytest.raises(Interrupted):
        run_job(config, None, folder)
    # 10 - 5 > 4: a stop at 9; 22 - 10 > 4: stops at 14 and 18
    assert [trials for trials, _ in kept] == [1, 2, 3, 4, 5, 9, 10, 14]
    assert kept[5][1] == ["point-005-9"] and kept[6][1] == ["point-006"]
    assert kept[-1][1] == ["point-006-14"]
    monkeypatch.setattr(Checkpoints, "save", save)
    job = run_job(config, None, folder)
    assert job["resumed_from_trials"] == [14]
    assert [row["trials"] for row in job["evaluations"]] == [1, 2, 3, 4, 5, 10, 22, 30]
    assert_counted_once(job, config.budget)

    # the stops are made whether or not checkpoints are kept: a job that ran through
    # measures the same either way
    def measured(job: dict) -> list[tuple]:
        keys = ("trials", "success_rate", "validation_success_rate", "training_deaths")
        return [tuple(row[key] for key in keys) for row in job["evaluations"]]

    assert measured(run_job(config)) == measured(run_job(config, None, tmp_path / "b.partial"))
    assert [point_order(name) for name in ("point-006", "point-006-14", "x", "point-6-a")] == [
        (6, 0),
        (6, 14),
        None,
        None,
    ]


def test_a_batch_learner_past_the_next_point_at_a_stop_is_evaluated_where_it_stopped(
    tmp_path, monkeypatch
):
    """PPO ends a stop at its rollout's end (8 launches here), which may pass the next point:
    it is evaluated where it stopped, whether it ran through or went on from that stop."""
    monkeypatch.setattr(sandbox.run.job, "CHECKPOINT_TRIALS", 3)
    config = rocket_job("ppo")
    through = run_job(config)
    assert [row["trials"] for row in through["evaluations"]] == [9, 18, 27, 30]
    folder = tmp_path / "job.partial"
    save = Checkpoints.save

    def save_and_stop_past_22(self, agent, ledger, evaluations, *rest):
        save(self, agent, ledger, evaluations, *rest)
        if ledger.n_trials > 22 > evaluations[-1]["trials"]:
            raise Interrupted

    monkeypatch.setattr(Checkpoints, "save", save_and_stop_past_22)
    with pytest.raises(Interrupted):
        run_job(config, None, folder)
    assert [path.name for path in folder.iterdir()] == ["point-002-27"]
    monkeypatch.setattr(Checkpoints, "save", save)
    job = run_job(config, None, folder)
    assert job["resumed_from_trials"] == [27]
    assert [row["trials"] for row in job["evaluations"]] == [9, 18, 27, 30]
    assert_counted_once(job, config.budget)


def test_a_job_stopped_twice_says_so_and_one_that_ran_through_says_nothing(tmp_path):
    config = rocket_job("sac")
    folder = tmp_path / "job.partial"
    first = interrupted(config, folder, points=2)
    second = interrupted(config, folder, points=3)  # three more points, then stopped again
    job = run_job(config, None, folder)
    assert job["resumed_from_trials"] == [first[1]["trials"], second[2]["trials"]]
    assert_counted_once(job, config.budget)
    assert run_job(config)["resumed_from_trials"] == []


def test_an_agent_that_cannot_save_its_state_starts_over(tmp_path):
    config = rocket_job("random")
    folder = tmp_path / "job.partial"
    interrupted(config, folder)
    assert not folder.exists()
    job = run_job(config, None, folder)
    assert job["resumed_from_trials"] == []
    assert [row["trials"] for row in job["evaluations"]] == [1, 2, 3, 4, 5, 10, 22, 30]
    assert_counted_once(job, config.budget)


def test_a_checkpoint_of_another_configuration_is_not_used(tmp_path, capsys):
    folder = tmp_path / "job.partial"
    interrupted(rocket_job("sac"), folder)
    other = rocket_job("sac", budget=25)
    job = run_job(other, None, folder)
    assert "another configuration's; it starts over" in capsys.readouterr().err
    assert job["resumed_from_trials"] == []
    assert_counted_once(job, other.budget)
    # Where a job reports is no part of what it measures.
    assert config_digest(replace(other, tensorboard_dir="/elsewhere")) == config_digest(other)
    assert config_digest(replace(other, seed=2)) != config_digest(other)


def test_an_unreadable_checkpoint_is_a_note_and_the_job_starts_over(tmp_path, capsys):
    config = rocket_job("sac", budget=10)
    folder = tmp_path / "job.partial"
    interrupted(config, folder)
    (folder / "point-002" / "agent" / "model.zip").write_bytes(b"cut short")
    job = run_job(config, None, folder)
    assert "cannot go on from" in capsys.readouterr().err
    assert job["resumed_from_trials"] == []
    assert_counted_once(job, config.budget)


def test_a_job_stopped_in_the_transfer_world_goes_on_from_the_end_of_its_home_stage(tmp_path):
    config = rocket_job(
        "sac", budget=10, transfer_env_kwargs={"world": "super_earth"}, transfer_budget=5
    )
    folder = tmp_path / "job.partial"
    rows = interrupted(config, folder, points=7)  # the home stage's 6 points, then 1 more
    assert rows[-1]["trials"] == 10 + 1
    job = run_job(config, None, folder)
    assert job["resumed_from_trials"] == [10]
    assert_counted_once(job, 10)
    transfer = job["transfer"]
    assert [row["trials"] for row in transfer["evaluations"]] == [0, 1, 2, 3, 4, 5]


# -- a run ---------------------------------------------------------------------------


def compare(*args: str):
    from sandbox.compare import main

    return in_process(main, *args)


def test_a_run_goes_on_with_an_interrupted_job_and_deletes_its_checkpoint(tmp_path, monkeypatch):
    """Ctrl-C in a run of one worker lands in the job; the same command again goes on from
    the job's last point, writes its result and deletes the checkpoint."""
    args = ("rocket", "--agents", "sac", "--seeds", "1", "--budget", "12", "--eval-episodes")
    args += ("2", "--no-animations", "--set", "sac.learning_starts=3", "--out", str(tmp_path))

    def stopped_by_ctrl_c(config, on_evaluation=None, checkpoint_dir=None):
        def report(row):
            on_evaluation(row)
            if row["trials"] == 3:
                raise KeyboardInterrupt

        return run_job(config, report, checkpoint_dir)

    monkeypatch.setattr(sandbox.run.execute, "run_job", stopped_by_ctrl_c)
    stopped = compare(*args)
    assert stopped.returncode == 130, stopped.stderr
    assert "and 1 unfinished ones at their last checkpoint" in stopped.stderr
    folder = checkpoint_folder(job_path(tmp_path, "train", "sac", 0))
    assert [p.name for p in folder.iterdir()] == ["point-003"]
    monkeypatch.undo()
    again = compare(*args)
    assert again.returncode == 0, again.stderr
    assert "1 more go on from their last checkpoint" in again.stdout
    assert not folder.exists()
    job = json.loads(job_path(tmp_path, "train", "sac", 0).read_text())
    assert job["resumed_from_trials"] == [3]
    assert [row["trials"] for row in job["evaluations"]] == [1, 2, 3, 4, 5, 10, 12]


@pytest.mark.slow
def test_a_run_killed_outright_goes_on_from_each_jobs_last_point(tmp_path):
    """SIGKILL leaves no time to clean up: the jobs two workers were running go on from the
    points they had written (here in one process: the workers are no part of the run's
    configuration), and the run ends as one that ran through."""
    args = ["rocket", "--agents", "sac", "--seeds", "2", "--budget", "60", "--eval-episodes"]
    args += ["2", "--no-animations", "--out", str(tmp_path)]
    # In a session of its own: the run, its workers and their manager are stopped together,
    # as when the machine stops.
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox.compare", *args, "--workers", "2"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    folders = [checkpoint_folder(job_path(tmp_path, "train", "sac", seed)) for seed in (0, 1)]
    deadline = time.time() + 240
    try:
        while time.time() < deadline and not all(
            folder.is_dir() and any(p.name.startswith("point-") for p in folder.iterdir())
            for folder in folders
        ):
            time.sleep(0.1)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    assert not list((tmp_path / "jobs").glob("*.json"))
    again = compare(*args, "--workers", "1")
    assert again.returncode == 0, again.stderr
    assert "2 more go on from their last checkpoint" in again.stdout
    for seed, folder in enumerate(folders):
        job = json.loads(job_path(tmp_path, "train", "sac", seed).read_text())
        assert len(job["resumed_from_trials"]) == 1 and not folder.exists()
        assert_counted_once(job, 60)
