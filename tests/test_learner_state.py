"""A learner saved and taken back goes on where it stood: its model, SB3's counters and
schedules, its replay buffer and its random generators; and the ledger goes on counting
from its state. What a job's checkpoint holds (``Agent.save_state``, ``Ledger.state``)."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest
import torch

from agents.base import TaskSpec
from agents.ledger import Ledger
from agents.plugins import load_agent
from sandbox.tasks.rocket import ROCKET

SMALL = {"policy_kwargs": {"net_arch": [8]}}


def cartpole_learner(name: str, **settings):
    probe = gym.make("CartPole-v1")
    spec = TaskSpec("cartpole", probe.observation_space, probe.action_space)
    probe.close()
    return load_agent(name)(spec, seed=0, settings={**SMALL, **settings})


def rocket_learner(name: str, **settings):
    probe = ROCKET.make_env(world="earth_moon")
    spec = TaskSpec("rocket", probe.observation_space, probe.action_space, {"world": "earth_moon"})
    probe.close()
    return load_agent(name)(spec, seed=0, settings={**SMALL, **settings})


def same(a, b) -> bool:
    """Whether two nests of state dicts hold the same tensors and values."""
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[key], b[key]) for key in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, torch.Tensor):
        return torch.equal(a, b)
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b)
    return a == b


#: what SB3 keeps between two ``learn`` calls and must find again on load
COUNTERS = ("num_timesteps", "_n_updates", "_episode_num", "learning_starts")


@pytest.mark.parametrize(
    ("name", "settings", "make"),
    [
        ("ppo", {"n_steps": 16, "batch_size": 16}, cartpole_learner),
        ("a2c", {"n_steps": 8}, cartpole_learner),
        (
            "dqn",
            {"learning_starts": 20, "exploration_steps": 300, "train_freq": 4},
            cartpole_learner,
        ),
        ("sac", {"learning_starts": 4, "batch_size": 4}, rocket_learner),
        ("td3", {"learning_starts": 4, "batch_size": 4}, rocket_learner),
    ],
)
def test_a_learner_saved_and_loaded_goes_on_where_it_stood(tmp_path, name, settings, make):
    env = "CartPole-v1" if make is cartpole_learner else None

    def new_ledger() -> Ledger:
        if env is not None:
            return Ledger(lambda: gym.make(env))
        return Ledger(lambda: ROCKET.make_env(world="earth_moon"))

    learner, ledger = make(name, **settings), new_ledger()
    learner.train(ledger, 6)
    assert learner.save_state(tmp_path)
    model = learner.model
    loaded, resumed = make(name, **settings), new_ledger()
    loaded.load_state(tmp_path, resumed)
    resumed.restore(ledger.state())
    again = loaded.model
    for counter in COUNTERS:
        assert getattr(again, counter, None) == getattr(model, counter, None), counter
    assert again._current_progress_remaining == model._current_progress_remaining
    assert same(again.get_parameters(), model.get_parameters())  # networks and optimisers
    if hasattr(model, "replay_buffer"):
        assert again.replay_buffer.size() == model.replay_buffer.size() > 0
        assert np.array_equal(again.replay_buffer.observations, model.replay_buffer.observations)
    if name == "sac":
        assert torch.equal(again.log_ent_coef, model.log_ent_coef)
    if name == "dqn":
        assert again._n_calls == model._n_calls and again.exploration_rate == model.exploration_rate
    # Training goes on with the new envs (SB3 resets them first) and the same counters.
    steps = model.num_timesteps
    loaded.train(resumed, 12)
    assert resumed.n_trials >= 12 and [t.index for t in resumed.trials] == list(
        range(1, resumed.n_trials + 1)
    )
    assert again.num_timesteps > steps
    if name == "dqn":  # epsilon decays over the steps of the whole job, not this process's
        start, end = again.exploration_initial_eps, again.exploration_final_eps
        expected = max(end, start + (end - start) * again.num_timesteps / 300)
        # SB3 sets it at each step but the one learn() stops on
        assert again.exploration_rate == pytest.approx(expected, abs=1.01 * (start - end) / 300)
    learner.close()
    loaded.close()


def test_a_warm_up_neither_starts_again_nor_is_cut_short_by_a_resume(tmp_path):
    learner, ledger = (
        rocket_learner("sac", learning_starts=5, batch_size=4),
        Ledger(lambda: ROCKET.make_env(world="earth_moon")),
    )
    learner.train(ledger, 3)
    learner.save_state(tmp_path)
    loaded = rocket_learner("sac", learning_starts=5, batch_size=4)
    resumed = Ledger(lambda: ROCKET.make_env(world="earth_moon"))
    loaded.load_state(tmp_path, resumed)
    resumed.restore(ledger.state())
    loaded.train(resumed, 8)
    assert [t.warm_up for t in resumed.trials] == [True] * 5 + [False] * 3
    learner.close()
    loaded.close()


def test_a_loaded_learner_draws_from_its_generators_where_they_stood(tmp_path):
    """The new envs go on with the old envs' generators (the launches after a resume are not
    the job's first ones again), and so do the action space's and SB3's global ones."""
    learner = rocket_learner("sac", learning_starts=100)
    learner.train(Ledger(lambda: ROCKET.make_env(world="earth_moon")), 4)
    learner.save_state(tmp_path)
    numpy_state, torch_state = np.random.get_state(), torch.get_rng_state()
    loaded = rocket_learner("sac", learning_starts=100)
    loaded.load_state(tmp_path, Ledger(lambda: ROCKET.make_env(world="earth_moon")))

    def generators(agent) -> list:
        return [
            agent.model.get_env().envs[0].unwrapped.np_random.bit_generator.state,
            agent.model.action_space.np_random.bit_generator.state,
            agent.rng.bit_generator.state,
        ]

    assert generators(loaded) == generators(learner)
    assert same(np.random.get_state(), numpy_state)
    assert torch.equal(torch.get_rng_state(), torch_state)
    learner.close()
    loaded.close()


def test_the_ledger_goes_on_counting_from_its_state():
    ledger = Ledger(lambda: ROCKET.make_env(world="earth_moon"), trace=ROCKET.trace_training)
    env = ledger.make_env()
    env.reset(seed=0)
    for _ in range(7):
        env.reset()
        env.step(env.action_space.sample())
    ledger.start_warm_up(3)
    state = json.loads(json.dumps(ledger.state()))  # plain data
    again = Ledger(lambda: ROCKET.make_env(world="earth_moon"), trace=ROCKET.trace_training)
    again.restore(state)
    assert again.trials == ledger.trials and again.steps == ledger.steps == 7
    assert again.first_traces == ledger.first_traces
    assert json.dumps(again.last_trace) == json.dumps(ledger.last_trace)
    assert again.warm_up_steps == (7, 10)
    env = again.make_env()
    env.reset(seed=1)
    _, _, _, _, info = env.step(env.action_space.sample())
    assert info["trial"].index == 8 and info["trial"].warm_up and again.last_trace["trial"] == 8
