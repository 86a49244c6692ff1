"""The neural contextual bandit: the learned model's machinery on the reward, in the SB3
learners' frame, listed and run by name like every built-in agent."""

from __future__ import annotations

import numpy as np
import pytest

from agents.bandit_rocket import SIGNED_MISS_ONLY, RocketBandit
from agents.base import SettingsError
from agents.learned_rocket import LearnedRocketModel, RewardFeedback, SplitRewardFeedback
from agents.plugins import load_agent
from sandbox.run.job import JobConfig, run_job
from tests.test_learned_rocket import agent_for


def test_it_is_a_named_learner_on_the_reward_in_the_learners_frame():
    assert load_agent("bandit", "rocket") is RocketBandit
    assert RocketBandit.kind == "learner" and RocketBandit.tasks == ("rocket",)
    bandit = RocketBandit.default_settings("rocket")
    learned = LearnedRocketModel.default_settings("rocket")
    assert bandit["feedback"] == "reward" and bandit["burn_angle_input"] == "absolute"
    # the learned model's settings, less the two that shape the signed miss; the values
    # each family's own study chose
    assert set(bandit) == set(learned) - set(SIGNED_MISS_ONLY) | {"reward_target"}
    assert bandit["reward_target"] in ("scaled", "split")


def test_it_refuses_what_would_read_the_telemetry():
    with pytest.raises(SettingsError, match="miss_softening_moon_radii"):
        RocketBandit.resolve_settings("rocket", {"miss_softening_moon_radii": 20.0})
    spec = agent_for("earth_moon").spec
    # refused as the run is planned, and by the constructor given such settings directly
    with pytest.raises(SettingsError) as error:
        RocketBandit.resolve_settings("rocket", {"feedback": "signed_miss"})
    assert len(str(error.value).splitlines()) == 1 and "'reward'" in str(error.value)
    settings = {**RocketBandit.default_settings("rocket"), "feedback": "signed_miss"}
    with pytest.raises(SettingsError):
        RocketBandit(spec, 0, settings)
    bandit = RocketBandit(spec, 0)
    assert isinstance(bandit.feedback, RewardFeedback) and not bandit.relative
    assert bandit.ensemble.weights[0].shape[1] == 6  # both angles apart, as SB3 sees them


def test_a_tiny_run_through_the_job_path():
    config = JobConfig(
        task="rocket",
        agent="bandit",
        seed=0,
        budget=12,
        eval_episodes=3,
        eval_grid=(4, 12),
        reliable_bar=0.9,
        env_kwargs={"world": "earth_moon"},
        agent_settings=RocketBandit.resolve_settings(
            "rocket", {"members": 2, "hidden": [16], "random_launches": 4, "fit_steps": 20}
        ),
    )
    job = run_job(config)
    assert job["trials_spent"] == 12
    assert [row["trials"] for row in job["evaluations"]] == [4, 12]


def test_the_split_target_reads_the_reward_as_its_two_modes():
    spec = agent_for("earth_moon").spec
    bandit = RocketBandit(
        spec, 0, RocketBandit.resolve_settings("rocket", {"reward_target": "split"})
    )
    assert isinstance(bandit.feedback, SplitRewardFeedback)
    assert bandit.ensemble.weights[-1].shape[2] == 4  # two outputs, each a mean and a variance
    targets = bandit.feedback.targets(np.array([10.0, -2.0, 0.0]))
    np.testing.assert_allclose(targets, [[1.0, 0.0], [0.0, -0.2], [0.0, 0.0]])
    # a sure hit costs less than a near miss, which costs less than a far one
    mean = np.array([[[1.0, 0.0], [0.0, -0.05], [0.0, -0.5]]])
    cost = bandit.feedback.cost(mean, np.zeros_like(mean))
    assert cost[0] < cost[1] < cost[2]
    with pytest.raises(ValueError) as error:
        RocketBandit(spec, 0, RocketBandit.resolve_settings("rocket", {"reward_target": "x"}))
    assert len(str(error.value).splitlines()) == 1 and "'split'" in str(error.value)
