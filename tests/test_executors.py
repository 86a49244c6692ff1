"""Where jobs run and what they log: Ray tasks give the same results as the local pool,
and --tensorboard writes each learner's SB3 log and every agent's ledger figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_extension import run

SMALL = ("rocket", "--agents", "random,ppo", "--seeds", "1", "--budget", "12", "--eval-episodes", "3",
         "--set", "ppo.n_steps=4", "--set", "ppo.batch_size=4")


def job_files(folder: Path) -> dict[str, dict]:
    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k != "wall_time_s"}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return {path.name: strip(json.loads(path.read_text())) for path in sorted((folder / "jobs").glob("*.json"))}


def test_ray_tasks_give_the_results_of_the_local_pool(tmp_path):
    pytest.importorskip("ray")
    local = run(*SMALL, "--workers", "2", "--out", str(tmp_path / "local"))
    assert local.returncode == 0, local.stderr
    ray = run(*SMALL, "--executor", "ray", "--workers", "2", "--out", str(tmp_path / "ray"))
    assert ray.returncode == 0, ray.stderr
    assert job_files(tmp_path / "ray") == job_files(tmp_path / "local") != {}


def test_tensorboard_logs_one_run_per_agent_and_seed(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    result = run(*SMALL, "--workers", "1", "--tensorboard", str(tmp_path / "tb"), "--out", str(tmp_path / "run"))
    assert result.returncode == 0, result.stderr
    runs = sorted(path.name for path in (tmp_path / "tb").iterdir())
    assert runs == ["train-ppo-seed0", "train-random-seed0"]
    tags = {}
    for name in runs:
        events = EventAccumulator(str(tmp_path / "tb" / name))
        events.Reload()
        tags[name] = set(events.Tags()["scalars"])
    assert {"ledger/held_out_success", "ledger/training_deaths"} <= tags["train-random-seed0"]
    assert any(tag.startswith("train/") for tag in tags["train-ppo-seed0"])  # SB3's own logger
    assert "ledger/held_out_success" in tags["train-ppo-seed0"]


def test_ray_address_without_the_ray_executor_is_refused(tmp_path):
    from tests.test_compare_cli import assert_one_line_error

    assert_one_line_error(run("rocket", "--ray-address", "localhost:6379", "--out", str(tmp_path)),
                          "--ray-address", "--executor ray")
