"""Fixed-budget figures: one evaluation grid for every agent of a run, a Wilson interval for
every evaluation, and the fixed-budget table read at the right points, n/a beyond a budget,
with deaths at matched success censored where a seed never got there."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
from scipy.stats import norm

from sandbox import compare
from sandbox.outputs.fixed_budget import (
    first_reached,
    fixed_budget,
    fixed_budget_table,
    matched_cell,
    read_at,
)
from sandbox.outputs.run_data import RunData
from sandbox.outputs.stats import evaluation_grid, points_within, wilson_interval
from sandbox.studies import get_study
from sandbox.tasks import get_task, task_names

FULL_SIZES = {
    "rocket": get_task("rocket").full,
    "city": get_task("city").full,
    "rocket generalization": get_study("generalization", "rocket").full,
    "rocket decomposition": get_study("decomposition", "rocket").full,
    "flight": get_task("flight").full,
    "flight generalization": get_study("generalization", "flight").full,
}


# -- the grid -------------------------------------------------------------------------------


def test_the_grid_holds_the_powers_of_ten_at_its_density():
    assert evaluation_grid(5, 10_000) == [
        1, 2, 3, 4, 5, 6, 10, 16, 25, 40, 63, 100, 158, 251, 398, 631,
        1_000, 1_585, 2_512, 3_981, 6_310, 10_000,
    ]  # fmt: skip
    assert evaluation_grid(3, 300) == [1, 2, 3, 4, 5, 10, 22, 46, 100, 215, 300]
    assert evaluation_grid(3, 1) == [1]
    with pytest.raises(ValueError, match="at least 1"):
        evaluation_grid(0, 100)


def test_every_agent_of_a_run_is_evaluated_on_one_grid(tmp_path):
    """The default rocket run gives its agents budgets from 30 to 5,000 launches: each is
    evaluated at the run's points below its budget, and at its budget."""
    from sandbox.run.plan import plan_run

    tasks = [get_task(name) for name in task_names()]
    args = compare.build_parser(tasks).parse_args(["rocket", "--out", str(tmp_path)])
    args.argv = []
    plan = plan_run(get_task("rocket"), tasks, args)
    assert {config.eval_grid for config in plan.configs} == {tuple(plan.size.evaluation_grid())}
    grid = plan.size.evaluation_grid()
    budgets = {config.agent: config.budget for config in plan.configs}
    assert sorted(set(budgets.values())) == sorted(set(plan.size.agent_budgets.values()) | {1_000})
    for budget in budgets.values():
        points = points_within(grid, budget)
        assert points == [point for point in grid if point < budget] + [budget]
        assert {n for n in (100, 1_000) if n <= budget} <= set(points)


@pytest.mark.parametrize("name", FULL_SIZES)
def test_a_full_grid_has_five_points_a_decade_from_1000(name):
    size = FULL_SIZES[name]
    grid = size.evaluation_grid()
    assert {n for n in (100, 1_000, 10_000) if n <= size.largest_budget} <= set(grid)
    upper = [point for point in grid if point >= 1_000]
    assert all(later / point < 1.6 for point, later in zip(upper, upper[1:], strict=False))
    decade = evaluation_grid(size.eval_points_per_decade, 10_000)
    assert len([point for point in decade if 1_000 <= point < 10_000]) >= 5


# -- Wilson intervals -------------------------------------------------------------------------


def score_interval(successes: int, episodes: int) -> tuple[float, float]:
    """Wilson's (1927) score interval, written out."""
    z = norm.ppf(0.975)
    rate = successes / episodes
    centre = (rate + z * z / (2 * episodes)) / (1 + z * z / episodes)
    half = (
        z
        / (1 + z * z / episodes)
        * math.sqrt(rate * (1 - rate) / episodes + z * z / (4 * episodes**2))
    )
    return max(0.0, centre - half), min(1.0, centre + half)


def test_the_wilson_interval_is_the_score_interval():
    for successes in range(21):
        assert wilson_interval(successes, 20) == pytest.approx(
            score_interval(successes, 20), abs=1e-9
        )
    # Newcombe (1998), Statistics in Medicine 17, 857-872, Table II, method 3
    published = {
        (81, 263): (0.2553, 0.3662),
        (15, 148): (0.0624, 0.1605),
        (0, 20): (0.0, 0.1611),
        (1, 29): (0.0061, 0.1718),
    }
    for (successes, episodes), interval in published.items():
        assert wilson_interval(successes, episodes) == pytest.approx(interval, abs=5e-5)
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


# -- reading a job after N trials -------------------------------------------------------------


def job(
    trials: list[int],
    rates: list[float],
    budget: int,
    deaths: list[int] | None = None,
    reliable: int | None = None,
    seed: int = 0,
    agent: str = "learner",
) -> dict:
    """A train job's file as far as the fixed-budget figures read it (20 episodes a point)."""
    deaths = deaths or [0] * len(trials)
    rows = [
        {"trials": t, "success_rate": r, "eval_episodes": 20, "training_deaths": d}
        for t, r, d in zip(trials, rates, deaths, strict=True)
    ]
    return {
        "agent": agent,
        "seed": seed,
        "phase": "train",
        "budget": budget,
        "trials_spent": trials[-1],
        "trials_to_reliable": reliable,
        "evaluations": rows,
    }


def test_a_job_is_read_at_n_on_the_grid_and_not_beyond_its_budget():
    grid = evaluation_grid(5, 1_000)
    on_grid = job(grid, [0.5] * len(grid), 1_000)
    assert read_at(on_grid, 100, grid)["status"] == "exact"
    assert read_at(on_grid, 100, grid)["read_at"] == 100
    assert read_at(on_grid, 10_000, grid) == {"status": "beyond budget"}


def test_a_rollout_bound_learner_is_read_at_its_evaluation_for_the_point_before():
    grid = evaluation_grid(5, 2_000)
    # 64-trial rollouts: each point is evaluated at the first boundary at or after it
    rollouts = job([64, 128, 192, 256, 448, 640, 1_024, 1_600, 2_000], [0.1] * 9, 2_000)
    reading = read_at(rollouts, 100, grid)
    assert (reading["status"], reading["read_at"]) == ("earlier", 64)  # for the point 63
    assert read_at(rollouts, 1_000, grid)["read_at"] == 640  # for the point 631
    # no evaluation between the point before N (631) and N: n/a, not a reading from 448
    gap = job([64, 128, 448, 1_024, 2_000], [0.1] * 5, 2_000)
    assert read_at(gap, 1_000, grid) == {"status": "no evaluation near"}
    late = job([130, 2_000], [0.1, 0.2], 2_000)
    assert read_at(late, 100, grid) == {"status": "no evaluation near"}


def test_an_agent_that_stopped_reliable_keeps_its_last_evaluation():
    grid = evaluation_grid(5, 30)
    reliable = job([1, 2], [0.95, 1.0], 30, reliable=1)
    for trials in (100, 10_000):  # beyond its budget too: it had stopped training
        reading = read_at(reliable, trials, grid)
        assert (reading["status"], reading["read_at"], reading["successes"]) == ("stopped", 2, 20)
    spent = job(grid, [0.0] * len(grid), 30)
    assert read_at(spent, 100, grid) == {"status": "beyond budget"}


def test_matched_success_is_the_first_evaluation_at_the_bar_or_censored():
    learner = job([10, 100, 1_000, 3_000], [0.0, 0.3, 0.6, 0.95], 3_000, deaths=[5, 9, 14, 20])
    half, reliable = first_reached(learner, 0.5), first_reached(learner, 0.9)
    assert (half["read_at"], half["training_deaths"]) == (1_000, 14)
    assert (reliable["read_at"], reliable["training_deaths"]) == (3_000, 20)
    never = job([10, 100, 3_000], [0.0, 0.55, 0.7], 3_000, deaths=[3, 8, 30])
    assert first_reached(never, 0.9) == {"status": "never reached", "training_deaths": 30}
    cheap = job([10, 3_000], [0.92, 0.9], 3_000, deaths=[10, 10])
    seeds = [first_reached(j, 0.9) for j in (cheap, learner, never)]
    # seeds at 10, 20 and above 30: the median is 20, the upper end censored
    assert matched_cell(seeds) == "20 [10 to > 30] (1 censored)"
    assert matched_cell([first_reached(never, 0.9)] * 3) == "> 30 [> 30 to > 30] (3 censored)"


def test_the_table_reads_the_shared_grid_and_says_n_a_beyond_a_budget(tmp_path):
    """A city-like run: a planner reliable at once (budget 30), and a learner of 1,000 walks on
    the shared grid, two seeds each."""
    grid = evaluation_grid(5, 1_000)
    jobs = [job([1, 2], [1.0, 1.0], 30, reliable=1, seed=s, agent="planner") for s in (0, 1)]
    jobs += [
        job(grid, [min(1.0, p / 1_000) for p in grid], 1_000, deaths=list(grid), seed=s)
        for s in (0, 1)
    ]
    size = {"eval_points_per_decade": 5, "budget": 1_000}
    summary = {"task": "city", "agents": {"planner": {}, "learner": {}}}
    data = fixed_budget(RunData(tmp_path, {"size": size}, summary, jobs))
    assert data["shared_grid"] and data["counts_deaths"]
    learner = data["agents"]["learner"]["after"]
    assert learner["10000"]["pooled"] is None  # beyond its budget
    assert learner["100"]["pooled"]["successes"] == 4 and learner["100"]["pooled"]["episodes"] == 40
    table = fixed_budget_table(data)
    header, _, planner, learner_row = table.splitlines()
    assert "success after 10,000" not in header  # beyond every budget of the run
    low, high = wilson_interval(4, 40)
    assert f"10 % [10 to 10]; pooled {100 * low:.0f}-{100 * high:.0f} %  " in learner_row
    assert "(at 2)" in planner and "(at" not in learner_row
    assert "0 [0 to 0]" in planner
    assert "100 [100 to 100]" in learner_row  # deaths after 100
    assert "631 [631 to 631]" in learner_row and "1,000 [1,000 to 1,000]" in learner_row


def test_a_run_of_planners_alone_is_read_at_the_first_fixed_budget(tmp_path):
    """Every budget of the run below 100 (the planner's 30): the table still reads the first
    fixed budget, where the reliable planner stopped, not an empty table."""
    jobs = [job([1, 2], [1.0, 1.0], 30, reliable=1, seed=s, agent="planner") for s in (0, 1)]
    size = {"eval_points_per_decade": 5, "budget": 30}
    summary = {"task": "rocket", "agents": {"planner": {}}}
    data = fixed_budget(RunData(tmp_path, {"size": size}, summary, jobs))
    header, _, planner = fixed_budget_table(data).splitlines()
    assert header.split("  ")[-1].strip() == "success after 100"
    assert "100 % [100 to 100]" in planner and "(at 2)" in planner


# -- a run writes them ------------------------------------------------------------------------


def test_a_run_writes_and_prints_its_fixed_budget_figures(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["rocket", "--agents", "random", "--seeds", "2", "--budget", "120", "--workers", "1"]
    assert compare.main([*argv, "--eval-episodes", "2", "--no-animations", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "success after 100" in printed and "pooled" in printed
    grid = [1, 2, 3, 4, 5, 10, 22, 46, 100, 120]  # the default's three a decade, to --budget
    config = json.loads((out / "config.json").read_text())
    assert {tuple(job["eval_grid"]) for job in config["jobs"]} == {tuple(grid)}
    for path in (out / "jobs").glob("*.json"):
        assert [row["trials"] for row in json.loads(path.read_text())["evaluations"]] == grid
    data = json.loads((out / "fixed_budget.json").read_text())
    after = data["agents"]["random"]["after"]
    assert [r["status"] for r in after["100"]["seeds"]] == ["exact", "exact"]
    assert [r["status"] for r in after["1000"]["seeds"]] == ["beyond budget"] * 2
    with (out / "fixed_budget.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2 * 5  # seeds x (3 budgets + 2 bars)
    assert {row["moment"] for row in rows} == {
        "100 trials",
        "1000 trials",
        "10000 trials",
        "50 % success",
        "90 % success",
    }
    with (out / "evaluations.csv").open() as handle:
        evaluation = next(csv.DictReader(handle))
    low, high = wilson_interval(round(float(evaluation["success_rate"]) * 2), 2)
    assert float(evaluation["success_low"]) == pytest.approx(low, abs=1e-4)
    assert float(evaluation["success_high"]) == pytest.approx(high, abs=1e-4)
    assert "## Fixed budgets" in Path(out / "report.md").read_text()


def test_a_run_past_10000_trials_is_also_read_at_each_power_of_ten_it_reaches():
    """The flight's PPO (100,000 flights) and its long run (1,000,000) are read at every
    order of magnitude; runs within 10,000 trials keep the three budgets."""
    from sandbox.outputs.fixed_budget import fixed_budgets

    assert fixed_budgets(3_000) == fixed_budgets(10_000) == [100, 1_000, 10_000]
    assert fixed_budgets(99_999) == [100, 1_000, 10_000]
    assert fixed_budgets(100_000) == [100, 1_000, 10_000, 100_000]
    assert fixed_budgets(1_000_000) == [100, 1_000, 10_000, 100_000, 1_000_000]
