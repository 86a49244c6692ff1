"""Each seed plays its own held-out situations, drawn from one fixed distribution: the
intervals over seeds include the noise of the sets, and agents stay paired seed by seed."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import ks_2samp

import envs  # noqa: F401  (registers sandbox/RocketLaunch-v0)
from agents.base import Agent
from envs.rocket.env import RocketLaunchEnv
from sandbox.run.job import (
    SEED_SET_SIZE,
    TEST_SEED_BASE,
    TEST_SETS,
    VALIDATION_SEED_BASE,
    JobConfig,
    run_job,
    seed_set_base,
)
from sandbox.studies import Study, register_study
from sandbox.tasks import Size
from sandbox.tasks.rocket import ROCKET


class Coast(Agent):
    """Never burns: an agent other than ``random`` that costs nothing to run."""

    def _train(self, ledger, until_trials):
        env = self.training_env(ledger)
        while ledger.n_trials < until_trials:
            env.reset()
            env.step(self.act(None, {}))
        env.close()

    def act(self, observation, info):
        return np.zeros(self.action_space.shape, np.float32)


def seed_range(set_base: int, seed: int) -> range:
    start = seed_set_base(set_base, seed)
    return range(start, start + SEED_SET_SIZE)


def test_every_seed_s_test_set_lies_apart_from_every_other_set():
    test = [seed_range(TEST_SEED_BASE, seed) for seed in range(TEST_SETS)]
    # the validation sets of the runs' seeds and of the searches' (1,000 and up)
    validation = [seed_range(VALIDATION_SEED_BASE, seed) for seed in (*range(TEST_SETS), 1000)]
    spans = sorted(test + validation, key=lambda span: span.start)
    assert all(a.stop <= b.start for a, b in zip(spans, spans[1:], strict=False))
    assert test[-1].stop <= VALIDATION_SEED_BASE and test[0].start == TEST_SEED_BASE
    for seed in (-1, TEST_SETS):
        with pytest.raises(ValueError, match="no test set"):
            seed_set_base(TEST_SEED_BASE, seed)


def test_two_seeds_draw_different_test_situations_from_the_same_distribution():
    env = ROCKET.make_env()
    phases = {}
    for seed in (0, 1):
        base = seed_set_base(TEST_SEED_BASE, seed)
        phases[seed] = [env.reset(seed=base + i)[1]["moon_phase_rad"] for i in range(300)]
    env.close()
    assert not set(phases[0]) & set(phases[1])
    assert all(0.0 <= phase < 2 * math.pi for phase in phases[0] + phases[1])
    assert ks_2samp(phases[0], phases[1]).pvalue > 0.05  # one distribution, two draws


def played_test_seeds(monkeypatch, agent_spec: str, seed: int, study: str | None = None) -> list:
    seeds: list[int] = []
    reset = RocketLaunchEnv.reset

    def spy(self, *, seed=None, options=None):
        if seed is not None and TEST_SEED_BASE <= seed < VALIDATION_SEED_BASE:
            seeds.append(seed)
        return reset(self, seed=seed, options=options)

    monkeypatch.setattr(RocketLaunchEnv, "reset", spy)
    config = JobConfig(
        task="rocket",
        agent="spy",
        agent_spec=agent_spec,
        seed=seed,
        budget=2,
        eval_episodes=3,
        eval_grid=(),
        reliable_bar=0.9,
        study=study,
    )
    job = run_job(config)
    monkeypatch.setattr(RocketLaunchEnv, "reset", reset)
    return seeds if study is None else job[study]["eval_seed_base"]


def test_a_seed_s_situations_are_the_same_for_every_agent(monkeypatch):
    coast = played_test_seeds(monkeypatch, "tests.test_held_out_per_seed:Coast", seed=1)
    random = played_test_seeds(monkeypatch, "random", seed=1)
    assert coast == random  # a comparison of two agents at one seed stays paired
    base = seed_set_base(TEST_SEED_BASE, 1)
    assert sorted(set(coast)) == [base, base + 1, base + 2]
    other_seed = played_test_seeds(monkeypatch, "random", seed=2)
    assert not set(other_seed) & set(random)


SEED_SPY = Study(
    name="seed-spy",
    task="rocket",
    description="records the held-out set it is given",
    default=Size(budget=1, seeds=1, eval_episodes=1, eval_points_per_decade=1),
    full=Size(budget=1, seeds=1, eval_episodes=1, eval_points_per_decade=1),
    after_training=lambda agent, context: {"eval_seed_base": context.eval_seed_base},
)


def test_a_study_evaluates_the_seed_s_own_held_out_set(monkeypatch):
    register_study(SEED_SPY)
    for seed in (0, 3):
        base = played_test_seeds(monkeypatch, "random", seed, study=SEED_SPY.name)
        assert base == seed_set_base(TEST_SEED_BASE, seed)


def test_a_run_asks_for_no_more_seeds_or_episodes_than_its_sets_hold():
    from argparse import Namespace

    from sandbox.command_line import UsageError
    from sandbox.run.plan import run_size

    assert run_size(ROCKET, Namespace(full=False, seeds=TEST_SETS, eval_episodes=None))
    with pytest.raises(UsageError, match=f"--seeds: at most {TEST_SETS}"):
        run_size(ROCKET, Namespace(full=False, seeds=TEST_SETS + 1, eval_episodes=None))
    with pytest.raises(UsageError, match="--eval-episodes: at most 10,000"):
        run_size(ROCKET, Namespace(full=False, seeds=None, eval_episodes=SEED_SET_SIZE + 1))
