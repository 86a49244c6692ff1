"""The traffic planner crosses every city without dying, from what a pedestrian sees.

Speed (ms per decision) is measured by ``benchmarks/city_planner.py``, not here.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401  (registers sandbox/CityNav-v0)
from agents.base import AGENTS, TaskSpec
from agents.city_planner import TrafficPlanner
from agents.random_agent import RandomAgent
from envs.city.citymap import Traffic
from sandbox.ledger import Ledger

CITY_ID = "sandbox/CityNav-v0"
RANDOM_MAPS = [f"random:{n}" for n in range(22)]


class OnlyObservations(gym.Env):
    """An env that shows its player the spaces, observations and infos, nothing else."""

    def __init__(self, env: gym.Env):
        self._hidden = env
        self.observation_space = env.observation_space
        self.action_space = env.action_space

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        return self._hidden.reset(seed=seed, options=options)

    def step(self, action):
        return self._hidden.step(action)

    @property
    def unwrapped(self) -> gym.Env:
        raise AttributeError("the planner may not look inside the env")

    def __getattr__(self, name: str):
        raise AttributeError(f"the planner may not read env.{name}")


def city_spec(map_name: str) -> TaskSpec:
    env = gym.make(CITY_ID, map=map_name)
    spec = TaskSpec("city", env.observation_space, env.action_space, {"map": map_name})
    env.close()
    return spec


def play(planner: TrafficPlanner, env: gym.Env, episodes: int, seed: int) -> tuple[int, int, list[int]]:
    """Successes, deaths and every action taken over ``episodes`` evaluation episodes."""
    successes = deaths = 0
    actions: list[int] = []
    for episode in range(episodes):
        observation, info = env.reset(seed=seed + episode)
        planner.reset_episode()
        done = False
        while not done:
            action = planner.act(observation, info)
            actions.append(int(action))
            observation, _, terminated, truncated, info = env.step(action)
            done = terminated or truncated
        successes += bool(info["is_success"])
        deaths += bool(info["death"])
    return successes, deaths, actions


def test_registered_by_name() -> None:
    assert AGENTS["traffic-planner"] is TrafficPlanner
    assert TrafficPlanner.tasks == ("city",)
    assert AGENTS["random"] is RandomAgent
    assert RandomAgent.tasks == ()


@pytest.mark.parametrize("map_name, episodes", [("train", 300), ("new", 300)])
def test_built_in_maps_without_a_death(map_name: str, episodes: int) -> None:
    planner = TrafficPlanner(city_spec(map_name), seed=0)
    env = OnlyObservations(gym.make(CITY_ID, map=map_name))
    successes, deaths, _ = play(planner, env, episodes, seed=1000)
    assert deaths == 0
    assert successes >= 0.99 * episodes


def test_procedural_maps_without_a_death() -> None:
    episodes = 40
    planner = TrafficPlanner(city_spec("train"), seed=0)
    failures = {}
    for map_name in RANDOM_MAPS:
        env = OnlyObservations(gym.make(CITY_ID, map=map_name))
        successes, deaths, _ = play(planner, env, episodes, seed=2000)
        if deaths or successes < 0.99 * episodes:
            failures[map_name] = (successes, deaths)
    assert not failures, f"(successes of {episodes}, deaths) per failing map: {failures}"


def test_hidden_traffic_unlike_the_published() -> None:
    """Denser, faster and turnier traffic than the map says: still no death."""
    hidden = Traffic(entry_rate=0.25, speeds=(2,), speed_weights=(1.0,), turn_probability=0.6)
    planner = TrafficPlanner(city_spec("new"), seed=0)
    env = OnlyObservations(gym.make(CITY_ID, map="new", traffic=hidden))
    successes, deaths, _ = play(planner, env, 100, seed=3000)
    assert deaths == 0
    assert successes >= 0.9 * 100


def test_training_plays_counted_trials_through_an_opaque_env() -> None:
    planner = TrafficPlanner(city_spec("train"), seed=0)
    ledger = Ledger(lambda: OnlyObservations(gym.make(CITY_ID, map="train")))
    planner.train(ledger, 20)
    assert ledger.n_trials == 20
    assert ledger.n_deaths == 0
    assert ledger.n_successes >= 19
    planner.close()


def test_same_seed_same_actions() -> None:
    runs = []
    for _ in range(2):
        planner = TrafficPlanner(city_spec("random:5"), seed=7)
        env = gym.make(CITY_ID, map="random:5")
        runs.append(play(planner, env, 10, seed=7))
    assert runs[0] == runs[1]


def test_random_agent_is_seeded_and_counted() -> None:
    spec = city_spec("train")
    first, second = RandomAgent(spec, seed=3), RandomAgent(spec, seed=3)
    draws = [(first.act(None, {}), second.act(None, {})) for _ in range(50)]
    assert all(a == b for a, b in draws)
    assert {int(a) for a, _ in draws} <= set(range(5))
    ledger = Ledger(lambda: gym.make(CITY_ID, map="train"))
    first.train(ledger, 3)
    assert ledger.n_trials == 3
    first.close()
    # seeding the agent's space leaves the spec's own space alone
    assert spec.action_space is not first.action_space
    assert isinstance(np.asarray(first.act(None, {})).item(), int)
