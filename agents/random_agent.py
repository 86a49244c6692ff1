"""The random baseline: uniform actions, no learning.

On the city it wanders; on the rocket it is random search over the launch
parameters (each launch drawn uniformly from the action space). It is the floor
every other agent must beat, and it plays any task.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from agents.base import Agent, TaskSpec, register
from agents.ledger import Ledger


@register("random")
class RandomAgent(Agent):
    """Uniform random actions (on the rocket: random search over launch parameters);
    learns nothing."""

    # Wall seconds per trial in the default runs (2 cores, load about 3), evaluations included.
    seconds_per_trial = {"rocket": 0.01, "city": 0.015}

    kind = "baseline"
    tasks = ()

    def __init__(self, spec: TaskSpec, seed: int, settings: dict[str, Any] | None = None):
        super().__init__(spec, seed, settings)
        # A private copy: seeding the spec's space would change every other agent's draws.
        self.action_space = copy.deepcopy(spec.action_space)
        self.action_space.seed(int(self.rng.integers(2**32)))

    def _train(self, ledger: Ledger, until_trials: int) -> None:
        self.play(ledger, until_trials)

    def act(self, observation: np.ndarray, info: dict[str, Any]) -> Any:
        return self.action_space.sample()
