"""Tuning is not testing: searches score on validation situations disjoint from the
held-out test set that the tables report."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from agents.base import Agent, TaskSpec
from sandbox.run.job import (
    SEED_SET_SIZE,
    TEST_SEED_BASE,
    TEST_SETS,
    VALIDATION_SEED_BASE,
    JobConfig,
    evaluate,
)

ROOT = Path(__file__).resolve().parents[1]
SEARCHES = [
    "benchmarks/tune_learners.py",
    "benchmarks/tune_city_learners.py",
    "benchmarks/transfer_replay.py",
]


def load_script(path: str):
    spec = importlib.util.spec_from_file_location(Path(path).stem, ROOT / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_validation_and_test_seeds_are_disjoint():
    test = range(TEST_SEED_BASE, TEST_SEED_BASE + TEST_SETS * SEED_SET_SIZE)  # every seed's
    validation = range(VALIDATION_SEED_BASE, VALIDATION_SEED_BASE + TEST_SETS * SEED_SET_SIZE)
    assert not set(range(test.start, test.stop, 997)) & set(validation)
    assert test.stop <= validation.start or validation.stop <= test.start
    assert (
        JobConfig(
            task="rocket",
            agent="ppo",
            seed=0,
            budget=1,
            eval_episodes=1,
            eval_grid=(),
            reliable_bar=0.9,
        ).eval_seed_base
        == TEST_SEED_BASE
    )  # runs report the test set


@pytest.mark.parametrize("script", SEARCHES[:2])
def test_searches_score_on_the_validation_set(script):
    assert load_script(script).SEED_BASE == VALIDATION_SEED_BASE


@pytest.mark.parametrize("script", [SEARCHES[2], "benchmarks/city_dqn_epsilon.py"])
def test_transfer_replay_and_epsilon_measure_on_the_validation_set(script):
    assert "eval_seed_base=VALIDATION_SEED_BASE" in (ROOT / script).read_text()


class SeedSpy(gym.Env):
    """A one-step env that records the seed of every reset."""

    seeds: list[int | None] = []

    def __init__(self):
        self.observation_space = gym.spaces.Box(0, 1, (1,), np.float32)
        self.action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        SeedSpy.seeds.append(seed)
        return np.zeros(1, np.float32), {}

    def step(self, action):
        return np.zeros(1, np.float32), 0.0, True, False, {"is_success": False}


class Idle(Agent):
    def _train(self, ledger, until_trials):
        pass

    def act(self, observation, info):
        return 0


@pytest.mark.parametrize("base", [TEST_SEED_BASE, VALIDATION_SEED_BASE])
def test_evaluation_resets_from_its_seed_base(base):
    SeedSpy.seeds = []
    env = SeedSpy()
    agent = Idle(TaskSpec("spy", env.observation_space, env.action_space), seed=0)
    evaluate(agent, SeedSpy, 4, seed_base=base)
    assert SeedSpy.seeds == [base + i for i in range(4)]
