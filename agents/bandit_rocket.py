"""A neural contextual bandit for the rocket: the model-free learner of a one-step task.

    python -m sandbox.compare rocket --agents bandit,learned-model,sac

A launch is one step, so the value of an action is its expected reward, Q(s, a) =
E[r | s, a], and nothing is bootstrapped. Learning that reward with an ensemble of
networks and choosing launches by Thompson sampling over it is the model-free answer
to such a task; SAC, TD3 and PPO spend machinery on returns that have one step.

It is the learned-model agent (``agents/learned_rocket.py``) with ``feedback =
"reward"``: the ensemble predicts the reward the env returned and the cross-entropy
method plans the launch that maximises it; nothing is read from ``info``, neither the
telemetry nor the closest approach. Its inputs by default are those of the SB3
learners (``burn_angle_input = "absolute"``: the burn point and the Moon's phase
apart). It differs from the learned model only in what it predicts, so the two side by
side measure what the signed miss is worth over the reward.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agents import SettingsError
from agents.learned_rocket import LearnedRocketModel

#: the learned model's settings that shape the signed miss, which the bandit never sees
SIGNED_MISS_ONLY = ("miss_softening_moon_radii", "distance_veto_moon_radii")


class RocketBandit(LearnedRocketModel):
    """A neural contextual bandit: an ensemble of small networks learns a launch's reward
    from the situation and the launch, and Thompson sampling over it chooses the next
    launch; no telemetry, no physics. The model-free learner of a one-step task.
    """

    # Wall seconds per planned trial: a 500-launch job in earth_moon took 142 s, evaluations
    # included, on 2 cores at a load of 4 to 7; it seldom stops early (not reliable by 500).
    seconds_per_trial = {"rocket": 0.25}

    name = "bandit"
    kind = "learner"
    tasks = ("rocket",)
    identifies_worlds = False

    @classmethod
    def default_settings(cls, task: str) -> dict[str, Any]:
        # The learned model's, in the SB3 learners' frame and on the reward; a study
        # (sandbox/tuning/spaces.py) is to choose them on the validation situations.
        settings = super().default_settings(task)
        for key in SIGNED_MISS_ONLY:
            del settings[key]
        settings.update(burn_angle_input="absolute", feedback="reward")
        # how the reward is predicted: "scaled" (one output, reward / 10) or "split" (the hit
        # and the miss term apart: the reward's two modes); the study chooses
        settings["reward_target"] = "scaled"
        return settings

    @classmethod
    def check_settings(cls, task: str, settings: Mapping[str, Any]) -> dict[str, Any]:
        feedback = settings.get("feedback", "reward")
        if feedback != "reward":
            raise SettingsError(
                f"the bandit learns the reward alone: feedback must be 'reward', got {feedback!r}"
            )
        return super().check_settings(task, settings)
