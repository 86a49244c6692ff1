"""The agent interface and the registry of agents by name.

An agent is one class and one registration line::

    @register("my-agent")
    class MyAgent(Agent):
        def _train(self, ledger, until_trials):
            env = self.training_env(ledger)
            while ledger.n_trials < until_trials:
                observation, info = env.reset()
                ...                     # act, look, learn
        def act(self, observation, info):
            return self.action_space.sample()

The harness owns the counting: agents only ever touch environments made by a
``Ledger``, which counts every finished episode.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from sandbox.ledger import Ledger


@dataclass(frozen=True)
class TaskSpec:
    """What an agent is told about its task before it starts."""

    task: str  #: "rocket" or "city"
    observation_space: gym.Space
    action_space: gym.Space
    env_kwargs: dict[str, Any] = field(default_factory=dict)  #: how the harness builds the env (world, map)


class Agent(ABC):
    """Base class of every agent.

    ``train(ledger, until_trials)`` continues training until the ledger has counted
    ``until_trials`` training trials in all; it is called repeatedly with growing
    targets, so an agent keeps its state between calls. ``act`` is the evaluation
    policy: deterministic, no learning.
    """

    name: ClassVar[str] = ""
    #: tasks the agent can play; empty means any
    tasks: ClassVar[tuple[str, ...]] = ()
    #: True for agents that identify a changed world from a few trials of their own
    #: (a planner fitting its model): studies let them spend those trials, counted.
    identifies_worlds: ClassVar[bool] = False

    def __init__(self, spec: TaskSpec, seed: int):
        self.spec = spec
        self.seed = seed
        self.observation_space = spec.observation_space
        self.action_space = spec.action_space
        self.rng = np.random.default_rng(seed)
        self._env: gym.Env | None = None
        self._env_ledger: Ledger | None = None

    def train(self, ledger: Ledger, until_trials: int) -> None:
        """Train until the ledger has counted ``until_trials`` trials. A learner that
        learns from fixed-size batches of steps may finish its batch a little past
        ``until_trials``, never past ``ledger.limit``; evaluations record the trials
        actually spent."""
        if until_trials < ledger.n_trials:
            raise ValueError(f"until_trials={until_trials} is below the {ledger.n_trials} trials already spent")
        if until_trials > ledger.n_trials:
            self._train(ledger, until_trials)

    def training_env(self, ledger: Ledger) -> gym.Env:
        """The agent's own training env, made by the ledger (which counts its trials).

        The same env while the ledger is the same; a new one when training moves to a
        new world (a new ledger).
        """
        if self._env is None or self._env_ledger is not ledger:
            if self._env is not None:
                self._env.close()
            self._env, self._env_ledger = ledger.make_env(), ledger
            self._env.reset(seed=self.seed)
        return self._env

    def play(self, ledger: Ledger, until_trials: int) -> None:
        """Play whole episodes with ``act`` until the ledger has counted ``until_trials``:
        training for agents that learn nothing from trials (they still pay for them)."""
        env = self.training_env(ledger)
        while ledger.n_trials < until_trials:
            observation, info = env.reset()
            done = False
            while not done:
                observation, _, terminated, truncated, info = env.step(self.act(observation, info))
                done = terminated or truncated

    @abstractmethod
    def _train(self, ledger: Ledger, until_trials: int) -> None:
        """Spend training trials until ``ledger.n_trials >= until_trials``."""

    @abstractmethod
    def act(self, observation: np.ndarray, info: dict[str, Any]) -> Any:
        """The action for this observation (``info`` is the latest from reset or step)."""

    def reset_episode(self) -> None:
        """Called before each evaluation episode; agents with per-episode state clear it."""

    def close(self) -> None:
        if self._env is not None:
            self._env.close()
            self._env = None


AGENTS: dict[str, type[Agent]] = {}


def register(name: str):
    """Class decorator: make an agent available to ``sandbox.compare`` by ``name``."""

    def decorate(cls: type[Agent]) -> type[Agent]:
        if name in AGENTS:
            raise ValueError(f"agent name {name!r} is already registered by {AGENTS[name].__name__}")
        cls.name = name
        AGENTS[name] = cls
        return cls

    return decorate


def agents_for(task: str) -> list[str]:
    """Registered agent names that can play ``task``."""
    return [name for name, cls in AGENTS.items() if not cls.tasks or task in cls.tasks]
