"""Decisions read the validation set, figures the test set: training stops and "reliable" is
read on validation situations, disjoint from the test situations the tables report."""

from __future__ import annotations

import pytest

import envs  # noqa: F401  (registers sandbox/RocketLaunch-v0)
from agents.base import TaskSpec
from agents.plugins import load_agent
from sandbox.run import job as job_module
from sandbox.run.job import (
    SEED_SET_SIZE,
    TEST_SEED_BASE,
    TEST_SETS,
    VALIDATION_SEED_BASE,
    Evaluation,
    JobConfig,
    train_stage,
)
from sandbox.tasks import get_task


def stage_where(monkeypatch, good_on: int, budget: int = 40):
    """A stage whose agent succeeds on every situation of one set and on none of the other,
    and which records which sets were played."""
    played = []

    def evaluate(agent, make_env, episodes, trace=None, traces_kept=3, seed_base=TEST_SEED_BASE):
        played.append(seed_base)
        return Evaluation(1.0 if seed_base == good_on else 0.0, 0, episodes, [])

    monkeypatch.setattr(job_module, "evaluate", evaluate)
    task = get_task("rocket")
    config = JobConfig(
        task="rocket",
        agent="random",
        seed=0,
        budget=budget,
        eval_episodes=2,
        eval_grid=(1, 2, 3, 4, 5, 10, 22, 46, 100),
        reliable_bar=0.9,
    )
    probe = task.make_env()
    spec = TaskSpec("rocket", probe.observation_space, probe.action_space, {}, None)
    probe.close()
    agent = load_agent("random", "rocket")(spec, 0, None)
    stage = train_stage(agent, task, task.make_env, budget, config, 0.0, None)
    return stage, played


def test_stopping_reads_the_validation_set_only(monkeypatch):
    stage, played = stage_where(monkeypatch, good_on=VALIDATION_SEED_BASE)
    assert set(played) == {TEST_SEED_BASE, VALIDATION_SEED_BASE}
    # reliable on validation at the first two points: it stops there, whatever the test says
    assert [row["trials"] for row in stage.evaluations] == [1, 2]
    figures = stage.figures(0.9)
    assert figures["trials_to_reliable"] == 1
    assert figures["reliable_held_on_test"] is False  # said plainly when the test disagrees
    assert figures["final_success_rate"] == 0.0  # the figure is the test set's


def test_success_on_the_test_set_alone_decides_nothing(monkeypatch):
    stage, _ = stage_where(monkeypatch, good_on=TEST_SEED_BASE)
    assert stage.evaluations[-1]["trials"] == 40  # trained to its budget
    figures = stage.figures(0.9)
    assert figures["trials_to_reliable"] is None
    assert figures["final_success_rate"] == 1.0


@pytest.mark.parametrize("rows", [[0.95, 0.5, 0.95, 0.95], [0.95]])
def test_a_single_crossing_is_not_reliable(rows):
    """Reliable is the first point of a streak of two on validation."""
    from sandbox.run.job import Stage

    evaluations = [
        {"trials": 10 * (i + 1), "success_rate": rate, "validation_success_rate": rate}
        for i, rate in enumerate(rows)
    ]
    reliable = Stage(None, evaluations, []).first_reliable(0.9)
    assert (reliable["trials"] if reliable else None) == (30 if len(rows) > 1 else None)


def test_the_validation_and_test_situations_are_disjoint():
    # every seed's test set lies below every seed's validation set (tests/test_held_out_per_seed.py)
    assert TEST_SEED_BASE + TEST_SETS * SEED_SET_SIZE <= VALIDATION_SEED_BASE
    config = JobConfig(
        task="rocket",
        agent="ppo",
        seed=0,
        budget=1,
        eval_episodes=1,
        eval_grid=(),
        reliable_bar=0.9,
    )
    assert config.decision_seed_base == VALIDATION_SEED_BASE != config.eval_seed_base
