"""Survival data of a run: censored seeds wait the trials they spent (their budget unless
they stopped early), and every run with two seeds or more draws the Kaplan-Meier plot and
records the log-rank tests."""

from __future__ import annotations

import json

import pytest

from sandbox.outputs.profiles import TAUS, final_success, performance_profiles
from sandbox.outputs.run_data import RunData
from sandbox.outputs.survival import kaplan_meier, log_rank_tests, waits
from sandbox.pictures.profile_plot import plot_profiles
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


def test_a_seed_that_stopped_early_without_the_event_is_censored_where_it_stopped():
    """Reliable on validation after 2 trials with no success of its own in training: its wait
    for a first success is censored at the 2 trials it spent, not at its budget of 30."""
    summary = {"planner": {**entry([2, 2, 2], 30), "trials_spent": [2, 2, 2]}}
    summary["planner"]["trials_to_first_success"] = [2, 2, None]
    wait = waits(summary, "trials_to_first_success")["planner"]
    assert wait.trials.tolist() == [2, 2, 2]
    assert wait.reached.tolist() == [True, True, False]


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


def test_a_run_draws_its_performance_profiles(tmp_path):
    """The share of seeds above each threshold of final held-out success, as rliable gives
    it: the planner's five seeds at 100 % stay above every threshold below 100 %, SAC's two
    reliable seeds (100 %) and three at 20 % fall to 0.4 past 20 %; the band is the exact
    binomial interval, with width even where all five seeds lie on one side."""
    run = RunData(tmp_path, {}, {"task": "rocket", "agents": SUMMARY}, [])
    profiles = performance_profiles(final_success(run.summary))
    at = {tau: i for i, tau in enumerate(TAUS.round(2))}
    planner, sac = profiles["planner"], profiles["sac"]
    assert planner.share[at[0.99]] == 1.0 and planner.high[at[0.99]] == 1.0
    assert planner.low[at[0.99]] == pytest.approx(0.025 ** (1 / 5))  # 5 of 5: 0.478
    assert sac.share[at[0.1]] == 1.0 and sac.share[at[0.5]] == 0.4
    assert (sac.low <= sac.share).all() and (sac.share <= sac.high).all()
    assert sac.low[at[0.5]] == pytest.approx(0.0527, abs=1e-3)  # 2 of 5
    assert sac.high[at[0.5]] == pytest.approx(0.8534, abs=1e-3)
    path = plot_profiles(run)
    assert path == tmp_path / "performance_profile.png" and path.stat().st_size > 10_000
