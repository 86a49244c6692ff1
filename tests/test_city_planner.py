"""The traffic planner crosses every city without dying, from what a pedestrian sees.

Speed (ms per decision) is measured by ``benchmarks/city_planner.py``, not here.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401  (registers sandbox/CityNav-v1)
from agents.base import TaskSpec
from agents.city_planner import TrafficPlanner
from agents.ledger import Ledger
from agents.plugins import load_agent
from agents.random_agent import RandomAgent
from envs.city.mapformat import Traffic

CITY_ID = "sandbox/CityNav-v1"
RANDOM_MAPS = [f"random:{n}" for n in range(25)]


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


def play(
    planner: TrafficPlanner, env: gym.Env, episodes: int, seed: int, living_city: bool = False
) -> tuple[int, int, list[int]]:
    """Successes, deaths and every action taken over ``episodes`` evaluation episodes,
    each in a fresh city, or all in one city whose traffic runs on between walks."""
    successes = deaths = 0
    actions: list[int] = []
    for episode in range(episodes):
        fresh = not living_city or episode == 0
        observation, info = env.reset(seed=seed + episode if fresh else None)
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
    assert load_agent("traffic-planner") is TrafficPlanner
    assert TrafficPlanner.tasks == ("city",)
    assert load_agent("random") is RandomAgent
    assert RandomAgent.tasks == ()


@pytest.mark.slow
@pytest.mark.parametrize("map_name, episodes", [("train", 500), ("new", 500)])
def test_built_in_maps_without_a_death(map_name: str, episodes: int) -> None:
    planner = TrafficPlanner(city_spec(map_name), seed=0)
    env = OnlyObservations(gym.make(CITY_ID, map=map_name))
    successes, deaths, _ = play(planner, env, episodes, seed=1000)
    assert deaths == 0
    assert successes >= 0.99 * episodes


@pytest.mark.slow
def test_procedural_maps_without_a_death() -> None:
    episodes = 100
    planner = TrafficPlanner(city_spec("train"), seed=0)
    failures = {}
    for map_name in RANDOM_MAPS:
        env = OnlyObservations(gym.make(CITY_ID, map=map_name))
        successes, deaths, _ = play(planner, env, episodes, seed=2000)
        if deaths or successes < 0.99 * episodes:
            failures[map_name] = (successes, deaths)
    assert not failures, f"(successes of {episodes}, deaths) per failing map: {failures}"


@pytest.mark.slow
def test_hidden_traffic_unlike_the_published() -> None:
    """Denser, faster and turnier traffic than the map says: still no death."""
    hidden = Traffic(entry_rate=0.25, speeds=(2,), speed_weights=(1.0,), turn_probability=0.6)
    planner = TrafficPlanner(city_spec("new"), seed=0)
    env = OnlyObservations(gym.make(CITY_ID, map="new", traffic=hidden))
    successes, deaths, _ = play(planner, env, 200, seed=3000, living_city=True)
    assert deaths == 0
    assert successes >= 0.9 * 200


@pytest.mark.slow
@pytest.mark.parametrize(
    "map_name, sight", [("train", 2), ("new", 3), ("random:3", None), ("random:11", None)]
)
def test_predicted_closings_cover_every_car_move(map_name: str, sight: int | None) -> None:
    """Whatever the traffic does next, no car centre is on a cell before the planner
    said it might be: cars in sight, cars out of sight (which it never saw), cars still
    to come, turns, queues, speed 2, as it walks and its window moves."""
    hidden = Traffic(entry_rate=0.3, speeds=(1, 2), speed_weights=(1.0, 1.0), turn_probability=0.5)
    env = gym.make(CITY_ID, map=map_name, traffic=hidden, sight=sight)
    env.unwrapped.record_car_paths = True  # the test looks inside; the planner never does
    planner = TrafficPlanner(city_spec(map_name), seed=0)
    horizon = planner.config.horizon_ticks
    observation, info = env.reset(seed=5)
    model = planner.street_model(info["city_map"])
    closings: list[
        np.ndarray
    ] = []  # what the planner predicted at each tick of this walk, latest last
    checked = out_of_sight = 0
    for _ in range(400):
        action = planner.act(observation, info)  # brings its belief up to date with what it sees
        closings.append(model.closing_ticks(planner.belief, horizon))
        closings = closings[-horizon:]
        observation, _, terminated, truncated, info = env.step(action)
        assert not info["death"]
        in_sight = {tuple(car[:2]) for car in info["cars"].tolist()}
        for ticks_ago, closing in enumerate(reversed(closings), start=1):
            # predicted ticks_ago ticks back: this tick runs from time ticks_ago - 1 to ticks_ago
            for speed, path in env.unwrapped.car_paths:
                for j, (row, col) in enumerate(path):
                    if 0 <= row < model.rows and 0 <= col < model.cols:
                        at_time = (ticks_ago - 1) + j / speed
                        assert closing[row * model.cols + col] <= int(np.ceil(at_time)), (
                            ticks_ago,
                            row,
                            col,
                        )
                        checked += 1
                        out_of_sight += (
                            ticks_ago == 1 and (row, col) not in in_sight and j == len(path) - 1
                        )
        if terminated or truncated:
            observation, info = env.reset()
            planner.reset_episode()
            closings = []
    assert checked > 10_000
    assert out_of_sight > 1000  # cars it could not see were covered too


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


def test_the_padded_layout_holds_the_map():
    """Kerbs alike share their crossings by their layout: padding must not lose it."""
    planner = TrafficPlanner(city_spec("new"), seed=0)
    env = gym.make(CITY_ID, map="new")
    _, info = env.reset(seed=0)
    model = planner.street_model(info["city_map"])
    plain = model._layout(0).copy()
    padded = model._layout(3)
    assert plain.any() and (padded[3:-3, 3:-3] == plain).all() and not padded[:3].any()
