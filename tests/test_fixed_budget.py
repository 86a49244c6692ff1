"""Fixed-budget figures: one evaluation grid for every agent of a run."""

from __future__ import annotations

import pytest

from sandbox import compare
from sandbox.outputs.stats import evaluation_grid, points_within
from sandbox.studies import get_study
from sandbox.tasks import get_task, task_names

FULL_SIZES = {
    "rocket": get_task("rocket").full,
    "city": get_task("city").full,
    "rocket generalization": get_study("generalization", "rocket").full,
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
    """The default rocket run gives its agents budgets from 30 to 4,000 launches: each is
    evaluated at the run's points below its budget, and at its budget."""
    from sandbox.run.plan import plan_run

    tasks = [get_task(name) for name in task_names()]
    args = compare.build_parser(tasks).parse_args(["rocket", "--out", str(tmp_path)])
    args.argv = []
    plan = plan_run(get_task("rocket"), tasks, args)
    assert {config.eval_grid for config in plan.configs} == {tuple(plan.size.evaluation_grid())}
    grid = plan.size.evaluation_grid()
    budgets = {config.agent: config.budget for config in plan.configs}
    assert sorted(set(budgets.values())) == [30, 300, 1_000, 4_000]
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
