"""The ledger, the statistics and the jobs: counting is right and runs repeat."""

from __future__ import annotations

import gymnasium as gym
import pytest

import agents  # noqa: F401
import envs  # noqa: F401
from sandbox.experiment import JobConfig, run_job
from sandbox.ledger import Ledger
from sandbox.stats import censored_median, format_censored, log_spaced_points
from sandbox.tasks import ROCKET


def test_ledger_counts_every_finished_episode():
    ledger = Ledger(lambda: gym.make("sandbox/RocketLaunch-v0"))
    env = ledger.make_env()
    env.reset(seed=0)
    for _ in range(7):
        env.reset()
        _, _, terminated, _, info = env.step(env.action_space.sample())
        assert terminated and info["trial"].index == ledger.n_trials
    assert ledger.n_trials == 7 and ledger.steps == 7
    assert [t.index for t in ledger.trials] == list(range(1, 8))


def test_censored_median():
    assert censored_median([3, 1, 2]) == 2
    assert censored_median([3, None, 1]) == 3
    assert censored_median([None, None, 1]) is None
    assert censored_median([1, 2, None, None]) is None
    assert censored_median([1, 2, 4, None]) == 3
    assert format_censored([None, None], 500) == "> 500"
    assert format_censored([2, None, 3], 500) == "3 [2 to > 500]"


def test_log_spaced_points():
    points = log_spaced_points(1000, 8)
    assert points[0] == 1 and points[-1] == 1000
    assert points == sorted(set(points))
    assert {1, 2, 3, 4, 5} <= set(points)
    assert log_spaced_points(1, 8) == [1]
    with pytest.raises(ValueError):
        log_spaced_points(0, 3)


@pytest.mark.parametrize("agent", ["random", "ppo"])
def test_same_seed_same_results(agent):
    config = JobConfig("rocket", agent, seed=3, budget=12, eval_episodes=3, eval_points=4, reliable_bar=0.9,
                       env_kwargs={"world": "earth_moon"})
    first, second = run_job(ROCKET, config), run_job(ROCKET, config)
    strip = lambda job: [{k: v for k, v in row.items() if k != "wall_time_s"} for row in job["evaluations"]]  # noqa: E731
    assert strip(first) == strip(second)
    assert first["traces"] == second["traces"]
    assert first["trials_to_first_success"] == second["trials_to_first_success"]
