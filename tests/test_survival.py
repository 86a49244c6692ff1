"""Survival data of a run: censored seeds wait their whole budget, and every run with two
seeds or more draws the Kaplan-Meier plot and records the log-rank tests."""

from __future__ import annotations

import json

import pytest

from sandbox.outputs.run_data import RunData
from sandbox.outputs.survival import kaplan_meier, log_rank_tests, waits
from sandbox.pictures.survival_plot import plot_survival


def entry(reliable: list[int | None], budget: int) -> dict:
    return {
        "seeds": list(range(len(reliable))),
        "budget": budget,
        "trials_to_reliable": reliable,
        "trials_to_first_success": [1 if r is not None else 3 for r in reliable],
        "final_success_rate": [1.0 if r is not None else 0.2 for r in reliable],
    }


SUMMARY = {
    "planner": entry([1, 1, 1, 1, 1], 30),
    "sac": entry([800, None, 1000, None, None], 1000),
}


def test_a_censored_seed_waits_its_budget_and_is_not_an_event():
    wait = waits(SUMMARY, "trials_to_reliable")["sac"]
    assert wait.trials.tolist() == [800, 1000, 1000, 1000, 1000]
    assert wait.reached.tolist() == [True, False, True, False, False]
    curve = kaplan_meier(wait)
    # Kaplan-Meier: one of five seeds reliable at 800, one of the four left at 1,000.
    assert curve.waiting[curve.trials.tolist().index(800)] == pytest.approx(0.8)
    assert curve.waiting[-1] == pytest.approx(0.6)


def test_log_rank_tells_the_planner_from_the_learner():
    (test,) = log_rank_tests(waits(SUMMARY, "trials_to_reliable"))
    assert {test.first, test.second} == {"planner", "sac"}
    assert test.p_value < 0.01


def test_a_run_draws_its_survival_plot(tmp_path):
    run = RunData(
        tmp_path,
        {"agent_details": {"planner": {"kind": "planner"}, "sac": {"kind": "learner"}}},
        {"task": "rocket", "agents": SUMMARY},
        [],
    )
    path = plot_survival(run)
    assert path == tmp_path / "survival.png" and path.stat().st_size > 10_000
    tests = json.loads((tmp_path / "survival.json").read_text())["log_rank"]
    assert {t["first"] for t in tests["trials_to_reliable"]} == {"planner"}
