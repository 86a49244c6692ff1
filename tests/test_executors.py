"""Where jobs run and what they log: Ray tasks give the same results as the local pool,
and --tensorboard writes each learner's SB3 log and every agent's ledger figures."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.test_extension import run

# a Ray runtime and small runs through the command line
pytestmark = pytest.mark.slow

SMALL = (
    "rocket",
    "--agents",
    "random,ppo",
    "--seeds",
    "1",
    "--budget",
    "12",
    "--no-animations",
    "--eval-episodes",
    "3",
    "--set",
    "ppo.n_steps=4",
    "--set",
    "ppo.batch_size=4",
)


@pytest.mark.xdist_group("ray")  # never beside the two-node cluster's test
def test_ray_tasks_give_the_results_of_the_local_pool():
    """The same job units through both executors (in this process: a Ray runtime starts
    once, without the command line's own start-up)."""
    pytest.importorskip("ray")
    from sandbox.run.job import JobConfig, run_job
    from sandbox.run.runner import Job, run_jobs

    configs = [
        JobConfig(
            task="rocket",
            agent=agent,
            seed=seed,
            budget=6,
            eval_episodes=3,
            eval_grid=(1, 2, 3),
            reliable_bar=0.9,
            env_kwargs={"world": "earth_moon"},
            agent_spec=agent,
            agent_settings={"n_steps": 4, "batch_size": 4} if agent == "ppo" else None,
        )
        for agent in ("random", "ppo")
        for seed in (0, 1)
    ]
    results: dict[str, list] = {"local": [], "ray": []}
    for executor in results:
        jobs = [Job((c.agent, c.seed), c.budget, run_job, (c,)) for c in configs]
        run_jobs(jobs, results[executor].append, 2, executor, executor=executor)

    def by_job(found: list[dict]) -> dict:
        return {(job["agent"], job["seed"]): job_files_strip(job) for job in found}

    assert by_job(results["ray"]) == by_job(results["local"]) and len(results["local"]) == 4


def job_files_strip(value):
    if isinstance(value, dict):
        return {k: job_files_strip(v) for k, v in value.items() if k != "wall_time_s"}
    if isinstance(value, list):
        return [job_files_strip(v) for v in value]
    return value


def test_tensorboard_logs_one_run_per_agent_and_seed(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    result = run(
        *SMALL,
        "--workers",
        "1",
        "--tensorboard",
        str(tmp_path / "tb"),
        "--out",
        str(tmp_path / "run"),
    )
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

    assert_one_line_error(
        run("rocket", "--ray-address", "localhost:6379", "--out", str(tmp_path)),
        "--ray-address",
        "--executor ray",
    )


@pytest.mark.parametrize(
    ("option", "module"), [(("--tensorboard", "tb"), "tensorboard"), (("--executor", "ray"), "ray")]
)
def test_an_option_whose_extra_is_not_installed_is_refused_before_the_run(
    tmp_path, monkeypatch, capsys, option, module
):
    import importlib.util

    from sandbox import compare

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == module else real(name, *a)
    )
    args = [str(tmp_path / a) if a == "tb" else a for a in option]
    assert compare.main([*SMALL, *args, "--out", str(tmp_path / "run")]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and f'pip install -e ".[{module}]"' in error, error
    assert not (tmp_path / "run").exists()


def test_a_worker_asks_to_end_with_its_parent():
    """A pool worker asks the kernel for SIGTERM when its parent dies (Linux), so a run
    killed outright leaves no worker behind."""
    if not sys.platform.startswith("linux"):
        pytest.skip("prctl is Linux's")
    code = (
        "import ctypes, signal; from sandbox.run.runner import end_with_parent; "
        "end_with_parent(); got = ctypes.c_int(); "
        "ctypes.CDLL(None).prctl(2, ctypes.byref(got)); print(got.value == signal.SIGTERM)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "True", done.stderr
