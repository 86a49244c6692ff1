"""One sight for both sides: nothing an agent is handed shows a car out of sight, the
traffic planner is safe seeing no more than that, and the progress shaping is
potential-based (so it leaves a learner's optimal policy alone)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401  (registers sandbox/CityNav-v1)
from agents.base import TaskSpec
from agents.city_planner import TrafficPlanner, sight_of
from envs.city.citymap import CityMap
from envs.city.env import DEFAULT_SIGHT, CityNavEnv
from envs.city.mapformat import MapError, Traffic
from envs.city.maploader import load_map

CITY_ID = "sandbox/CityNav-v1"
#: every key a reset's or a step's info may hold, and nothing else
INFO_KEYS = {
    "position",
    "goal",
    "city_map",
    "cars",
    "tick",
    "is_success",
    "death",
    "reward_components",
    "outcome",
}
BUSY = Traffic(entry_rate=0.3, speeds=(1, 2), speed_weights=(1.0, 1.0), turn_probability=0.4)


def map_file_with_sight(tmp_path: Path, sight: str) -> str:
    """The ``new`` city as a map file whose [city] section states ``sight``."""
    text = load_map("new").to_text().replace("[traffic]", f"sight = {sight}\n[traffic]", 1)
    path = tmp_path / "new_with_sight.txt"
    path.write_text(text)
    return str(path)


def in_window(cars: np.ndarray, position: tuple[int, int], sight: int) -> np.ndarray:
    """The rows of ``cars`` on cells within ``sight`` (Chebyshev) of ``position``."""
    cars = np.asarray(cars).reshape(-1, 4)
    near = (np.abs(cars[:, 0] - position[0]) <= sight) & (np.abs(cars[:, 1] - position[1]) <= sight)
    return cars[near]


def observed_cars(
    observation: np.ndarray, position: tuple[int, int], sight: int
) -> set[tuple[int, int, int, int]]:
    """The cars the observation's window shows, as (row, col, heading, speed)."""
    side = 2 * sight + 1
    window = observation[: side * side * 11].reshape(side, side, 11)
    shown = set()
    for wr, wc in zip(*np.nonzero(window[:, :, 6:10].any(axis=2)), strict=True):
        heading = int(np.argmax(window[wr, wc, 6:10]))
        speed = int(round(window[wr, wc, 10] * 2))
        shown.add((position[0] + wr - sight, position[1] + wc - sight, heading, speed))
    return shown


# -- the env shows nothing out of sight ---------------------------------------------------


@pytest.mark.parametrize(
    "sight, from_file", [(0, False), (1, False), (2, False), (4, False), (None, False), (3, True)]
)
def test_no_car_out_of_sight_is_shown(sight: int | None, from_file: bool, tmp_path: Path) -> None:
    """Random walks in busy traffic: the observation and ``info["cars"]`` show exactly the
    cars within the sight, checked against the env's own traffic; the other keys of
    ``info`` are the documented ones and hold nothing of the traffic."""
    if from_file:
        env = CityNavEnv(map_file_with_sight(tmp_path, str(sight)), traffic=BUSY, max_steps=60)
        assert env.sight == sight and env.city_map.sight == sight
    else:
        env = CityNavEnv("new", traffic=BUSY, max_steps=60, sight=sight)
    radius = DEFAULT_SIGHT if sight is None else sight
    assert env.sight == radius and sight_of(np.zeros(env.observation_space.shape)) == radius
    published = load_map("new").traffic
    rng = np.random.default_rng(radius)
    observation, info = env.reset(seed=radius)
    walk_ticks = hidden_cars = 0
    for _ in range(600):
        assert set(info) <= INFO_KEYS, set(info) - INFO_KEYS
        position = info["position"]
        every_car = env.all_cars()
        seen = in_window(every_car, position, radius)
        np.testing.assert_array_equal(info["cars"], seen)  # the same cars, oldest first
        assert observed_cars(observation, position, radius) == {tuple(car) for car in seen.tolist()}
        hidden_cars += len(every_car) - len(seen)
        # the rest is the walk's own: its clock, the published map, what it scored
        assert info["tick"] == walk_ticks
        assert (
            info["city_map"] is env.city_map
            and info["city_map"].traffic == published != env.traffic
        )
        observation, _, terminated, truncated, info = env.step(int(rng.integers(5)))
        walk_ticks += 1
        assert set(info["reward_components"]) == {"goal", "death", "step", "progress"}
        if terminated or truncated:
            assert info["outcome"] in ("success", "death", "time_limit")
            observation, info = env.reset()
            walk_ticks = 0
    assert hidden_cars > 1000  # there was traffic out of sight to give away


def test_a_map_file_states_the_default_sight(tmp_path: Path) -> None:
    path = map_file_with_sight(tmp_path, "2")
    city = load_map(path)
    assert city.sight == 2
    assert CityMap.from_text(city.to_text()) == city and CityMap.from_dict(city.to_dict()) == city
    assert CityNavEnv(path).observation_space.shape == (5 * 5 * 11 + 3,)
    assert CityNavEnv(path, sight=4).sight == 4  # the argument wins over the file
    full = CityNavEnv(map_file_with_sight(tmp_path, "full"))
    rows, cols = full.city_map.shape
    assert full.sight == max(rows, cols) - 1 == CityNavEnv("new", sight="full").sight
    assert load_map("new").sight is None and CityNavEnv("new").sight == DEFAULT_SIGHT
    bad = tmp_path / "bad_sight.txt"
    bad.write_text(load_map("new").to_text().replace("[traffic]", "sight = far\n[traffic]", 1))
    with pytest.raises(MapError, match=r"bad_sight.txt:4:9: sight = 'far': expected a radius"):
        load_map(str(bad))
    with pytest.raises(ValueError, match="sight = -1"):
        CityMap(name="x", grid=load_map("new").grid, sight=-1)


def test_full_sight_shows_every_car() -> None:
    env = CityNavEnv("random:4", traffic=BUSY, sight="full")
    _, info = env.reset(seed=0)
    for _ in range(50):
        np.testing.assert_array_equal(info["cars"], env.all_cars())
        assert len(info["cars"])
        _, _, terminated, truncated, info = env.step(0)
        if terminated or truncated:
            _, info = env.reset()


# -- the planner is safe seeing what a learner sees -----------------------------------------


class SightOnly(gym.Wrapper):
    """Hands its player the observation and an ``info`` cut to what the sight shows (the
    cars in the window, worked out here from the observation's size, and the walk's own
    keys), and nothing of the env behind it."""

    WALK_KEYS = ("position", "goal", "city_map", "tick", "is_success", "death", "outcome")

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self.observation_space, self.action_space = env.observation_space, env.action_space
        self._reset, self._step = env.reset, env.step
        del self.env  # from here on nothing reaches it
        self.cars_cut = 0  #: cars the env listed out of sight (there must be none)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        observation, info = self._reset(seed=seed, options=options)
        return observation, self._seen(observation, info)

    def step(self, action):
        observation, reward, terminated, truncated, info = self._step(action)
        return observation, reward, terminated, truncated, self._seen(observation, info)

    def _seen(self, observation: np.ndarray, info: dict[str, Any]) -> dict[str, Any]:
        seen = in_window(info["cars"], info["position"], sight_of(observation))
        self.cars_cut += len(info["cars"]) - len(seen)
        return {"cars": seen.copy(), **{key: info[key] for key in self.WALK_KEYS if key in info}}

    @property
    def unwrapped(self) -> gym.Env:
        raise AttributeError("the player may not look inside the env")

    def __getattr__(self, name: str):
        raise AttributeError(f"the player may not read env.{name}")


def walk(
    env: gym.Env, agent: Any, seed: int, each_step: Callable[[dict], None] | None = None
) -> dict:
    """One walk of ``agent`` from ``env.reset(seed=seed)`` to its end; ``each_step`` sees
    every step's info. Returns the last info."""
    observation, info = env.reset(seed=seed)
    agent.reset_episode()
    done = False
    while not done:
        observation, _, terminated, truncated, info = env.step(agent.act(observation, info))
        if each_step is not None:
            each_step(info)
        done = terminated or truncated
    return info


@pytest.mark.slow
@pytest.mark.parametrize(
    "map_name, walks", [("train", 100), ("new", 200), ("random:7", 100), ("random:20", 100)]
)
def test_the_planner_never_dies_at_the_default_sight(map_name: str, walks: int) -> None:
    env = SightOnly(gym.make(CITY_ID, map=map_name))
    with pytest.raises(AttributeError):
        _ = env.unwrapped
    with pytest.raises(AttributeError):
        _ = env.env
    planner = TrafficPlanner(
        TaskSpec("city", env.observation_space, env.action_space, {"map": map_name}), seed=0
    )
    successes = deaths = 0
    for i in range(walks):
        info = walk(env, planner, 4000 + i)
        successes += info["is_success"]
        deaths += info["death"]
    assert env.cars_cut == 0
    assert deaths == 0
    assert successes >= 0.97 * walks


# -- the shaping is potential-based -------------------------------------------------------


def walking_distances(city: CityMap, goal: tuple[int, int]) -> dict[tuple[int, int], int]:
    """Fewest steps from every walkable cell to ``goal``, cars ignored (worked out here)."""
    distance = {goal: 0}
    frontier = deque([goal])
    while frontier:
        row, col = frontier.popleft()
        for nxt in ((row - 1, col), (row, col + 1), (row + 1, col), (row, col - 1)):
            if city.in_bounds(nxt) and city.walkable[nxt] and nxt not in distance:
                distance[nxt] = distance[(row, col)] + 1
                frontier.append(nxt)
    return distance


@pytest.mark.parametrize("gamma", [0.95, 0.8])
def test_the_shaping_is_potential_based(gamma: float) -> None:
    """Over every walk the discounted progress terms sum to gamma**T Phi(s_T) - Phi(s_0),
    Phi = -0.1 x walking distance, and Phi = 0 once a walk has ended (goal or death;
    a walk cut by the time limit keeps its last state's potential)."""
    env = CityNavEnv("new", traffic=BUSY, max_steps=25, shaping_gamma=gamma)
    rng = np.random.default_rng(0)
    outcomes = set()
    _, info = env.reset(seed=1)
    for _ in range(120):
        distance = walking_distances(env.city_map, info["goal"])
        potential = {cell: -0.1 * steps for cell, steps in distance.items()}
        start_potential, shaped, discount = potential[info["position"]], 0.0, 1.0
        done = False
        while not done:
            here = info["position"]
            # mostly towards the goal, cars ignored, so walks end all three ways
            towards = [
                a
                for a, (dr, dc) in enumerate(((0, 0), (-1, 0), (0, 1), (1, 0), (0, -1)))
                if distance.get((here[0] + dr, here[1] + dc), 1 << 20) < distance[here]
            ]
            action = (
                int(rng.choice(towards)) if towards and rng.random() < 0.7 else int(rng.integers(5))
            )
            _, reward, terminated, truncated, info = env.step(action)
            assert reward == pytest.approx(sum(info["reward_components"].values()))
            shaped += discount * info["reward_components"]["progress"]
            discount *= gamma
            done = terminated or truncated
        end_potential = 0.0 if terminated else potential[info["position"]]
        assert shaped == pytest.approx(discount * end_potential - start_potential, abs=1e-9), info[
            "outcome"
        ]
        outcomes.add(info["outcome"])
        _, info = env.reset()
    assert outcomes == {"success", "death", "time_limit"}
