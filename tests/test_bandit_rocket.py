"""The neural contextual bandit: the learned model's machinery on the reward, in the SB3
learners' frame, listed and run by name like every built-in agent."""

from __future__ import annotations

import pytest

from agents.bandit_rocket import SIGNED_MISS_ONLY, RocketBandit
from agents.base import SettingsError
from agents.learned_rocket import LearnedRocketModel, RewardFeedback
from agents.plugins import load_agent
from sandbox.run.job import JobConfig, run_job
from tests.test_learned_rocket import agent_for


def test_it_is_a_named_learner_on_the_reward_in_the_learners_frame():
    assert load_agent("bandit", "rocket") is RocketBandit
    assert RocketBandit.kind == "learner" and RocketBandit.tasks == ("rocket",)
    bandit = RocketBandit.default_settings("rocket")
    learned = LearnedRocketModel.default_settings("rocket")
    assert bandit["feedback"] == "reward" and bandit["burn_angle_input"] == "absolute"
    # the learned model's settings, less the two that shape the signed miss
    assert set(bandit) == set(learned) - set(SIGNED_MISS_ONLY)
    for key in set(bandit) - {"feedback", "burn_angle_input"}:
        assert bandit[key] == learned[key], key


def test_it_refuses_what_would_read_the_telemetry():
    with pytest.raises(SettingsError, match="miss_softening_moon_radii"):
        RocketBandit.resolve_settings("rocket", {"miss_softening_moon_radii": 20.0})
    spec = agent_for("earth_moon").spec
    settings = RocketBandit.resolve_settings("rocket", {"feedback": "signed_miss"})
    with pytest.raises(ValueError) as error:
        RocketBandit(spec, 0, settings)
    assert len(str(error.value).splitlines()) == 1 and "'reward'" in str(error.value)
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
