"""The city's learned-model agent: it learns how cars move from the cars in sight alone,
crosses on a tiny budget where a random walker does not, never reads the traffic rules,
keeps what it learned in a new city, and repeats itself."""

from __future__ import annotations

import ast
import statistics
from collections import deque
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401  (registers sandbox/CityNav-v1)
from agents import Agent, Ledger, TaskSpec
from agents.learned_car_moves import GONE, HEADING_STEPS
from agents.learned_city import LearnedCityModel, Sighting, match_cars
from sandbox.run.job import JobConfig, run_job
from sandbox.tasks.city import CITY
from tests.test_city_sight import SightOnly, walk
from tests.test_harness import final_success

SPEC = "agents.learned_city:LearnedCityModel"
BUSY = {"entry_rate": 0.3, "speeds": (1, 2), "speed_weights": (1.0, 1.0), "turn_probability": 0.4}


def agent_for(map_name: str = "train", seed: int = 0, **settings) -> LearnedCityModel:
    probe = CITY.make_env(map=map_name)
    spec = TaskSpec("city", probe.observation_space, probe.action_space, {"map": map_name})
    probe.close()
    return LearnedCityModel(spec, seed, LearnedCityModel.resolve_settings("city", settings))


def counts(agent: LearnedCityModel) -> dict[Any, dict]:
    """Everything the agent has counted, as plain data."""
    model = agent.model
    return {
        "moves": {key: dict(c) for key, c in model.moves.items()},
        "exposed": dict(model.exposed),
        "occupied": dict(model.occupied),
        "appeared": dict(model.appeared),
        "appear_exposed": dict(model.appear_exposed),
    }


# -- the interface -----------------------------------------------------------------------


def test_written_against_the_public_interface_with_settings_as_data():
    assert issubclass(LearnedCityModel, Agent) and LearnedCityModel.name == "learned-model"
    assert LearnedCityModel.kind == "learned-model" and LearnedCityModel.tasks == ("city",)
    assert LearnedCityModel.summary_line().startswith("Learns how cars move")
    settings = LearnedCityModel.resolve_settings("city", {"trust_moves": 5})
    assert settings["trust_moves"] == 5 and set(settings) == set(
        LearnedCityModel.default_settings("city")
    )
    assert agent_for(trust_moves=5).config.trust_moves == 5
    # it imports nothing of the envs: no traffic code, only the agent interface and the search
    source = Path(LearnedCityModel.__module__.replace(".", "/") + ".py")
    tree = ast.parse(Path(__file__).parents[1].joinpath(source).read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert not any(name.split(".")[0] in ("envs", "sandbox") for name in imported), imported
    assert {"agents", "agents.city_planner"} <= imported


# -- what it sees, and nothing more ------------------------------------------------------


class StreetMapOnly:
    """A city map that shows what a pedestrian's street map does, cell by cell (where one
    may walk, the lanes' directions, the intersections), and nothing of how cars drive:
    no lane graph, turn rules, entries or traffic."""

    SHOWN = ("name", "shape", "grid", "walkable", "lane_heading", "intersection")

    def __init__(self, city: Any):
        self._city = city

    def __getattr__(self, name: str) -> Any:
        if name in StreetMapOnly.SHOWN:
            return getattr(self._city, name)
        raise AttributeError(f"a pedestrian's street map shows no {name}")


class PedestrianView(SightOnly):
    """What the sight shows (the cars in the window, the walk's own keys), with the street
    map in place of the city map, and nothing of the env behind it."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self._maps: dict[int, StreetMapOnly] = {}

    def _seen(self, observation: np.ndarray, info: dict[str, Any]) -> dict[str, Any]:
        seen = super()._seen(observation, info)
        seen["city_map"] = self._maps.setdefault(
            id(seen["city_map"]), StreetMapOnly(seen["city_map"])
        )
        return seen


@pytest.mark.slow
def test_learns_behind_a_seal_from_the_cars_in_sight_and_the_street_map():
    # hidden traffic far busier and faster than the map publishes
    def make() -> gym.Env:
        return PedestrianView(CITY.make_env(map="new", traffic=BUSY))

    probe = make()
    agent = LearnedCityModel(
        TaskSpec("city", probe.observation_space, probe.action_space, {}), seed=0
    )
    ledger = Ledger(make)
    agent.train(ledger, 60)
    assert ledger.n_trials == 60 and ledger.n_deaths == 0
    assert ledger.n_successes >= 50  # 57 of 60
    assert agent.model.fastest == 2 and agent.model.n_moves > 1000


def true_moves(city: Any, row: int, col: int, heading: int, speed: int) -> set:
    """The moves the env's rules allow a car in one tick (held up anywhere on the way),
    seen from the car: the test's check, never the agent's."""
    forward, right = HEADING_STEPS[heading], HEADING_STEPS[(heading + 1) % 4]
    allowed, frontier = {(0, 0, 0, speed)}, [((row, col), heading, 0)]
    while frontier:
        cell, h, driven = frontier.pop()
        if driven == speed:
            continue
        for nxt, h2 in city.successors(cell, h):
            if nxt is None:
                allowed.add(GONE)
                continue
            dr, dc = nxt[0] - row, nxt[1] - col
            allowed.add(
                (
                    dr * forward[0] + dc * forward[1],
                    dr * right[0] + dc * right[1],
                    (h2 - heading) % 4,
                    speed,
                )
            )
            frontier.append((nxt, h2, driven + 1))
    return allowed


@pytest.mark.slow
def test_its_predictions_come_from_its_counts():
    agent = agent_for("train")
    city = CITY.make_env(map="train").unwrapped.city_map
    where = agent.surroundings(city)
    # an eastbound lane cell in the middle of the map (row 7 of 'train' drives east)
    state = where.state_of(7, 9, 1)

    def predicted(state: int) -> set[tuple[int, int]]:
        graph, *_ = where.graph(agent.model, agent.top_speed())
        targets = graph[state].indices % where.n_states  # as a car of speed 1
        return {divmod(int(where.state_cell[t]), where.cols) for t in targets}

    # an empty model knows nothing of lanes: a car may drive anywhere along the road
    assert agent.model.n_moves == 0 and agent.model.support(where.move_key(state, 1)) is None
    assert predicted(state) == {
        (7, 8),
        (7, 9),
        (7, 10),
        (6, 9),
    }  # back, stay, ahead, the other lane
    agent.train(Ledger(lambda: CITY.make_env(map="train")), 20)
    support = agent.model.support(where.move_key(state, 1))
    assert support is not None and (1, 0, 0, 1) in support
    assert predicted(state) <= {(7, 9), (7, 10)}  # it learned where this lane goes
    # and what it counted is what cars do: every move it learned, the env's rules allow
    reachable, queue = (
        set(),
        deque((r, c, int(city.lane_heading[r, c])) for r, c in city.entry_cells),
    )
    while queue:
        r, c, h = queue.popleft()
        if (r, c, h) not in reachable:
            reachable.add((r, c, h))
            queue.extend(
                (nxt[0], nxt[1], h2) for nxt, h2 in city.successors((r, c), h) if nxt is not None
            )
    allowed: dict[tuple[int, int], set] = {}
    for r, c, h in reachable:
        for speed in (1, 2):
            allowed.setdefault(where.move_key(where.state_of(r, c, h), speed), set()).update(
                true_moves(city, r, c, h, speed)
            )
    learned = [(key, move) for key, moves in agent.model.moves.items() for move in moves]
    assert len(learned) > 30
    assert all(move in allowed.get(key, ()) for key, move in learned)


def test_matching_keeps_the_order_and_learns_only_what_is_sure():
    # one car drives on: matched
    assert match_cars([[5, 5, 1, 1]], [[5, 6, 1, 1]]) == ([(0, 0)], set(), set())
    # a queue of two (the older ahead): the order of info["cars"] tells them apart
    before, after = [[5, 6, 1, 1], [5, 5, 1, 1]], [[5, 7, 1, 1], [5, 6, 1, 1]]
    assert match_cars(before, after)[0] == [(0, 0), (1, 1)]
    # one car, two candidates (another drove in): nothing is learned
    assert match_cars([[5, 5, 1, 1]], [[5, 6, 1, 1], [5, 5, 1, 1]])[0] == []
    # gone and appeared: no candidate; another speed is another car
    assert match_cars([[5, 5, 1, 2]], [[9, 9, 0, 1]]) == ([], {0}, {0})


def test_a_car_held_up_behind_another_teaches_nothing_of_how_far_it_may_drive():
    agent = agent_for("train")
    where = agent.surroundings(CITY.make_env(map="train").unwrapped.city_map)

    # row 7 of 'train' drives east: a fast car behind a slow one gets one cell on, not two
    def learn(before: list[list[int]], after: list[list[int]]) -> None:
        agent.learn(
            where, Sighting(8, 9, 5, before), Sighting(8, 9, 5, after)
        )  # standing at (8, 9), sight 5

    learn([[7, 9, 1, 1], [7, 8, 1, 2]], [[7, 10, 1, 1], [7, 9, 1, 2]])
    slow, fast = (
        where.move_key(where.state_of(7, 9, 1), 1),
        where.move_key(where.state_of(7, 8, 1), 2),
    )
    assert {key: dict(moves) for key, moves in agent.model.moves.items()} == {
        slow: {(1, 0, 0, 1): 1}
    }
    # alone, a short move is the road's doing, and is learned; a full one always is
    learn([[7, 8, 1, 2]], [[7, 9, 1, 2]])
    learn([[7, 8, 1, 2], [6, 9, 3, 1]], [[7, 10, 1, 2], [6, 8, 3, 1]])
    assert dict(agent.model.moves[fast]) == {(1, 0, 0, 2): 1, (2, 0, 0, 2): 1}


def test_with_no_data_it_stays_on_the_sidewalk():
    agent = agent_for("train")
    env = CITY.make_env(map="train")
    city = env.unwrapped.city_map

    def on_the_sidewalk(info: dict) -> None:
        assert not city.road[info["position"]], info["position"]

    for i in range(3):
        walk(env, agent, 700 + i, each_step=on_the_sidewalk)
    assert agent.model.n_moves == 0  # and act learned nothing


@pytest.mark.slow
def test_it_learns_on_a_tiny_budget_where_random_walks_do_not():
    budget, seeds = 5, (0, 1, 2)
    world = {"map": "train"}
    learned = [
        final_success("city", "learned-model", SPEC, seed, budget, 10, world) for seed in seeds
    ]
    random = [final_success("city", "random", "", seed, budget, 10, world) for seed in seeds]
    assert statistics.mean(learned) >= 0.8, learned
    assert min(learned) > max(random), (learned, random)


# -- a new city ---------------------------------------------------------------------------


@pytest.mark.slow
def test_a_new_city_keeps_what_cars_do_and_drops_what_belongs_to_a_map():
    agent = agent_for("train")
    agent.train(Ledger(lambda: CITY.make_env(map="train")), 20)
    learned = counts(agent)
    home = agent.surroundings(CITY.make_env(map="train").unwrapped.city_map)
    # zero-shot in the new city: it acts on what it learned and learns nothing while it acts
    env = CITY.make_env(map="new")
    successes = 0
    for i in range(10):
        successes += walk(env, agent, 500 + i)["is_success"]
    assert counts(agent) == learned
    assert successes >= 8
    # training there: a new ledger, a new env and the new map's tables; every count kept
    ledger = Ledger(lambda: CITY.make_env(map="new"))
    agent.train(ledger, 5)
    assert agent._env_ledger is ledger and ledger.n_trials == 5
    there = agent.surroundings(CITY.make_env(map="new").unwrapped.city_map)
    assert there is not home and there.rows == 24
    now = counts(agent)
    for table, before in learned.items():
        for key, value in before.items():
            after = now[table][key]
            if isinstance(value, dict):
                assert all(after[move] >= n for move, n in value.items())
            else:
                assert after >= value
    assert agent.model.n_moves > sum(sum(c.values()) for c in learned["moves"].values())


# -- determinism ----------------------------------------------------------------------------


@pytest.mark.slow
def test_same_seed_same_results():
    config = JobConfig(
        task="city",
        agent="learned-model",
        seed=2,
        budget=6,
        eval_episodes=4,
        eval_grid=(1, 2, 3),
        reliable_bar=0.9,
        env_kwargs={"map": "train"},
        agent_spec=SPEC,
    )
    first, second = run_job(config), run_job(config)

    def strip(job: dict) -> list[dict]:
        return [{k: v for k, v in row.items() if k != "wall_time_s"} for row in job["evaluations"]]

    assert strip(first) == strip(second)
    assert first["traces"] == second["traces"]
    assert first["settings"] == LearnedCityModel.default_settings("city")
