"""Deaths of a warm-up are the protocol's, not learning's: the ledger counts the trials that
end in an agent's declared warm-up apart, and the transfer table shows the two."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from agents.ledger import Ledger
from sandbox.outputs.results import summarise, table
from sandbox.run.job import JobConfig, run_job
from sandbox.tasks.city import CITY


class Doomed(gym.Env):
    """Every walk is ``length`` steps and ends in a death."""

    observation_space = gym.spaces.Box(0, 1, (1,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, length: int = 1):
        self.length = length
        self.t = 0

    def reset(self, *, seed=None, options=None):
        self.t = 0
        return np.zeros(1, np.float32), {}

    def step(self, action):
        self.t += 1
        done = self.t == self.length
        return np.zeros(1, np.float32), 0.0, done, False, {"death": done, "is_success": False}


def walk(env: gym.Env, walks: int) -> None:
    for _ in range(walks):
        env.reset()
        done = False
        while not done:
            _, _, done, _, _ = env.step(0)


def test_deaths_in_a_declared_warm_up_are_counted_apart_and_still_counted():
    ledger = Ledger(Doomed)
    env = ledger.make_env()
    ledger.start_warm_up(2)
    walk(env, 5)
    ledger.start_warm_up(1)  # a second warm-up, from where the ledger stands
    walk(env, 2)
    assert [t.warm_up for t in ledger.trials] == [True, True, False, False, False, True, False]
    assert ledger.n_deaths == 7 and ledger.n_warm_up_deaths == 3 and ledger.n_warm_up_trials == 3
    with pytest.raises(ValueError, match="0 or more"):
        ledger.start_warm_up(-1)


def test_a_walk_belongs_to_the_warm_up_if_it_ended_in_it():
    ledger = Ledger(lambda: Doomed(length=3))
    env = ledger.make_env()
    ledger.start_warm_up(4)  # the second walk's first step is random, its death is not
    walk(env, 2)
    assert [t.warm_up for t in ledger.trials] == [True, False]


def test_with_no_warm_up_declared_every_death_is_learning_s():
    ledger = Ledger(Doomed)
    walk(ledger.make_env(), 3)
    assert ledger.n_warm_up_deaths == 0 and ledger.n_deaths == 3


def transfer_job(warm_up: int) -> dict:
    settings = {"learning_starts_in_new_world": warm_up}
    return run_job(
        JobConfig(
            task="city",
            agent="dqn",
            seed=0,
            budget=3,
            eval_episodes=1,
            eval_grid=(),
            reliable_bar=0.9,
            env_kwargs={"map": "train"},
            transfer_env_kwargs={"map": "new"},
            transfer_budget=6,
            agent_settings={**CITY_DQN, **settings},
        )
    )


CITY_DQN = {"learning_starts": 1_000, "policy_kwargs": {"net_arch": [16]}, "gradient_steps": 1}


@pytest.mark.parametrize("warm_up", [0, 10_000])
def test_a_job_splits_the_training_deaths_of_the_new_city(warm_up):
    job = transfer_job(warm_up)
    # At home DQN's first learning_starts steps are random: every walk of this tiny budget.
    assert job["warm_up_trials"] == job["trials_spent"]
    there = job["transfer"]
    assert (
        there["warm_up_training_deaths"] + there["learning_training_deaths"]
        == (there["total_training_deaths"])
    )
    assert there["warm_up_trials"] == (there["trials_spent"] if warm_up else 0)


def entry_of(transfer: dict) -> dict:
    keys = ("warm_up_trials", "warm_up_training_deaths", "learning_training_deaths")
    job = {
        "agent": "dqn",
        "phase": "train",
        "seed": 0,
        "budget": 10,
        "reliable_bar": 0.9,
        "trials_spent": 10,
        "trials_to_first_success": 1,
        "trials_to_reliable": None,
        "final_success_rate": 0.5,
        **{key: 0 for key in CITY.summary_keys},
        "transfer": {
            "budget": 10,
            "zero_shot_success": 0.1,
            "zero_shot_deaths_per_episode": 0.5,
            "trials_to_reliable": None,
            "final_success_rate": 0.4,
            "deaths_to_reliable": None,
            "total_training_deaths": 9,
            "total_evaluation_deaths": 2,
            "evaluations": [{"trials": 0, "success_rate": 0.1}],
            **{key: value for key, value in transfer.items() if key in keys},
        },
    }
    return summarise([job], ["dqn"], CITY.summary_keys)


def test_the_transfer_table_shows_warm_up_and_learning_deaths_apart():
    summary = entry_of(
        {"warm_up_trials": 8, "warm_up_training_deaths": 7, "learning_training_deaths": 2}
    )
    header, _, row = table(summary, CITY.transfer_columns).splitlines()
    assert "training deaths there: warm-up" in header
    assert "training deaths there: learning" in header
    assert row.split()[-2:] == ["7", "2"]


def test_a_run_saved_before_the_split_shows_no_such_columns():
    summary = entry_of({})
    assert "warm-up" not in table(summary, CITY.transfer_columns)
