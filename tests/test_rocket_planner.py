"""The physics planner: hits at once when the textbook is right, identifies the hidden
constants within a few launches when it is not, and never reads them."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import gymnasium as gym
import numpy as np
import pytest

import envs
from agents.base import TaskSpec
from agents.ledger import Ledger
from agents.plugins import load_agent, plays
from agents.rocket_model import CONSTANT_NAMES
from agents.rocket_planner import PhysicsPlanner
from envs.rocket.world import RocketWorld, load_world

WIDE_DELTA_V_KM_S = (2.0, 4.8)  # a vehicle that can reach the Moon whatever the hidden constants


def perturbed(factors: tuple[float, float, float], base: str = "earth_moon") -> RocketWorld:
    world = load_world(base)
    true = world.nominal.scaled(**dict(zip(CONSTANT_NAMES, factors, strict=True)))
    return dataclasses.replace(world, true=true, delta_v_km_s=WIDE_DELTA_V_KM_S)


def planner_and_ledger(world: RocketWorld, seed: int = 0) -> tuple[PhysicsPlanner, Ledger, gym.Env]:
    def make() -> gym.Env:
        return gym.make(envs.ROCKET_ID, world=world)

    probe = make()
    spec = TaskSpec("rocket", probe.observation_space, probe.action_space, {"world": world})
    return PhysicsPlanner(spec, seed=seed), Ledger(make), probe


def train_until_hit(planner: PhysicsPlanner, ledger: Ledger, max_launches: int) -> int | None:
    while ledger.first_success() is None and ledger.n_trials < max_launches:
        planner.train(ledger, ledger.n_trials + 1)
    return ledger.first_success()


def fresh_hits(planner: PhysicsPlanner, env: gym.Env, situations: int, seed: int = 777) -> int:
    hits = 0
    for i in range(situations):
        observation, info = env.reset(seed=seed + i)
        hits += bool(env.step(planner.act(observation, info))[4]["is_success"])
    return hits


def test_registered_for_the_rocket():
    assert load_agent("planner", "rocket") is PhysicsPlanner
    assert plays(PhysicsPlanner, "rocket") and not plays(PhysicsPlanner, "city")


@pytest.mark.parametrize("base", ["earth_moon", "super_earth"])
def test_first_launch_hits_when_the_textbook_is_right(base):
    world = load_world(base)
    world = dataclasses.replace(world, true=world.nominal)
    for seed in range(3):
        planner, ledger, _ = planner_and_ledger(world, seed=seed)
        planner.train(ledger, 1)
        assert ledger.trials[0].success, f"seed {seed}: {planner.history[0].launch}"
    # and an untrained planner hits fresh situations from the textbook alone
    untrained, _, env = planner_and_ledger(world)
    assert fresh_hits(untrained, env, 4) == 4


@pytest.mark.slow
def test_hits_within_three_launches_when_constants_are_off_by_up_to_20_percent():
    rng = np.random.default_rng(2024)
    first_hits = []
    for k in range(12):
        factors = tuple(rng.uniform(0.8, 1.2, size=3))
        planner, ledger, _ = planner_and_ledger(perturbed(factors), seed=k)
        first_hits.append(train_until_hit(planner, ledger, max_launches=3))
        assert first_hits[-1] is not None, (
            f"no hit within 3 launches with true/nominal = {np.round(factors, 3)}"
        )
    assert len(planner.history) == ledger.n_trials == len(planner.estimates)


@pytest.mark.slow
@pytest.mark.parametrize("factors", [(1.2, 0.8, 0.8), (0.8, 1.2, 1.2), (1.1, 0.85, 1.15)])
def test_once_identified_fresh_situations_hit_on_the_first_try(factors):
    world = perturbed(factors)
    planner, ledger, env = planner_and_ledger(world)
    planner.train(ledger, 3)
    assert ledger.n_successes >= 1
    for name in CONSTANT_NAMES:
        true = getattr(world.true, name)
        assert planner.constants[name] == pytest.approx(true, rel=0.02), name
    assert fresh_hits(planner, env, 5) == 5
    assert len(ledger.trials) == 3  # evaluation launches are not training trials


class SealedWorld:
    """A world whose published facts are readable and whose true constants are not."""

    def __init__(self, world: RocketWorld):
        self._world = world

    @property
    def true(self):
        raise AssertionError("the planner read the world's true constants")

    def __getattr__(self, name):
        return getattr(self._world, name)


class SealedEnv(gym.Env):
    """Only reset, step and the spaces: no way through to the env underneath."""

    def __init__(self, env: gym.Env):
        self.__env = env
        self.observation_space = env.observation_space
        self.action_space = env.action_space

    def reset(self, *, seed=None, options=None):
        return self.__env.reset(seed=seed, options=options)

    def step(self, action):
        return self.__env.step(action)

    @property
    def unwrapped(self):
        raise AssertionError("the planner reached into the env")


def sealed_rocket(world) -> tuple[Callable[[], gym.Env], gym.Env, TaskSpec]:
    """An env factory whose envs hide the world's true constants and themselves, a probe
    env made by it, and the spec an agent gets: what every sealed-rocket test builds."""
    sealed = SealedWorld(world)

    def make() -> gym.Env:
        env = gym.make(envs.ROCKET_ID, world=world)
        env.unwrapped.world = sealed  # the simulator already holds what it flies
        return SealedEnv(env)

    probe = make()
    return (
        make,
        probe,
        TaskSpec("rocket", probe.observation_space, probe.action_space, {"world": sealed}),
    )


def test_never_reads_the_true_constants():
    make, probe, spec = sealed_rocket(perturbed((1.15, 0.9, 0.85)))
    planner = PhysicsPlanner(spec, seed=0)
    ledger = Ledger(make)
    assert train_until_hit(planner, ledger, max_launches=3) is not None
    observation, info = probe.reset(seed=5)
    assert probe.step(planner.act(observation, info))[4]["is_success"]
    # with no info at all it plans from the observation and the spec's published facts
    observation, info = probe.reset(seed=6)
    action = planner.act(observation, {})
    assert action.shape == (3,) and np.all(np.abs(action) <= 1.0)


def test_plans_from_the_observation_alone():
    world = load_world("earth_moon")
    world = dataclasses.replace(world, true=world.nominal)
    planner, _, env = planner_and_ledger(world)
    observation, info = env.reset(seed=3)
    from_info = planner.act(observation, info)
    from_observation = planner.act(observation, {"world": info["world"]})
    # the observation is float32: the same launch to within a fraction of a degree
    assert math.atan2(from_info[1], from_info[0]) == pytest.approx(
        math.atan2(from_observation[1], from_observation[0]), abs=1e-3
    )
    assert env.step(from_observation)[4]["is_success"]


@pytest.mark.slow
def test_same_seed_same_launches():
    world = perturbed((0.9, 1.1, 1.05))
    runs = []
    for _ in range(2):
        planner, ledger, env = planner_and_ledger(world, seed=7)
        planner.train(ledger, 2)
        observation, info = env.reset(seed=11)
        runs.append(
            (
                [record.launch["burn_angle_rad"] for record in planner.history],
                planner.act(observation, info),
            )
        )
    assert runs[0][0] == runs[1][0]
    np.testing.assert_array_equal(runs[0][1], runs[1][1])


def test_keeps_every_launch_for_plots_and_plans_quickly():
    planner, ledger, _ = planner_and_ledger(perturbed((1.05, 1.0, 0.95)))
    planner.train(ledger, 2)
    launch, telemetry, hit = planner.history[-1]
    assert {
        "burn_angle_rad",
        "delta_v_command_km_s",
        "moon_phase_rad",
        "moon_distance_km",
        "outcome",
    } <= launch.keys()
    assert telemetry["position_km"].shape == (len(telemetry["t_s"]), 2)
    assert hit == ledger.trials[-1].success
    assert np.median(planner.plan_seconds) < 1.0


def test_in_a_changed_world_k_zero_is_zero_shot_and_k_launches_identify():
    """The study's launches in a changed world (``sandbox.studies.adaptation``): with none the
    planner flies the constants it fitted at home; with two it has identified the new GM,
    and its fit explains them; the planner at home is left as it was."""
    from sandbox.studies.adaptation import adapt

    world = load_world("earth_moon")
    planner, ledger, _ = planner_and_ledger(world)
    planner.train(ledger, 2)
    home = planner.constants

    def changed() -> gym.Env:
        return gym.make(envs.ROCKET_ID, world=world, gravity_scale=1.1)

    found = {}
    for adapted in adapt(planner, changed, (0, 2)):
        hits = fresh_hits(adapted.agent, changed(), 2)
        found[adapted.k] = (adapted.trials, hits, adapted.agent.constants, adapted.residual)
    trials, hits, constants, residual = found[0]
    assert (trials, hits, constants, residual) == (0, 0, home, None)  # zero-shot: home fit
    trials, hits, constants, residual = found[2]
    assert trials == 2 and hits == 2
    assert constants["gm_earth"] == pytest.approx(1.1 * world.true.gm_earth, rel=0.02)
    assert residual <= planner.config.consistent_rms
    assert planner.constants == home and ledger.n_trials == 2


def test_an_engine_off_prograde_is_physics_the_model_cannot_fit():
    """A hidden pointing error (the model assumes a prograde burn) leaves a residual far
    above what the fit accepts, and the seal holds."""
    world = load_world("earth_moon")
    tilted = dataclasses.replace(
        world, true=dataclasses.replace(world.true, engine_pointing_error_rad=math.radians(10.0))
    )
    make, _, spec = sealed_rocket(tilted)
    planner = PhysicsPlanner(spec, seed=0)
    planner.train(Ledger(make), 2)
    assert planner.model_residual() > 3 * planner.config.consistent_rms
