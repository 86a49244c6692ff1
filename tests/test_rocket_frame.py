"""The Moon's frame for the model-free learners (``burn_angle_input = "relative"``): the
wrapper flies what the absolute action flies, ``act`` answers the evaluator in absolute
terms, only the rocket takes the setting, and a learner trains in it through a job."""

from __future__ import annotations

import math

import numpy as np
import pytest

from agents import Ledger, TaskSpec
from agents.base import SettingsError
from agents.learners import PPOLearner, SACLearner, SACUTDLearner, TD3Learner
from agents.rocket_frame import (
    MoonRelativeFrame,
    frame_turn,
    moon_phase_rad,
    to_absolute_action,
    to_relative_observation,
)
from agents.rocket_planner import PhysicsPlanner
from sandbox.run.job import JobConfig, run_job
from sandbox.tasks.rocket import ROCKET
from tests.commands import in_process

WORLD = {"world": "earth_moon"}
RELATIVE = {"burn_angle_input": "relative"}


def spec() -> TaskSpec:
    probe = ROCKET.make_env(**WORLD)
    spec = TaskSpec("rocket", probe.observation_space, probe.action_space, WORLD)
    probe.close()
    return spec


def wrapped_angle(angle: float) -> float:
    """``angle`` in [-pi, pi)."""
    return (angle + math.pi) % (2.0 * math.pi) - math.pi


def test_the_wrapper_observes_the_distance_and_takes_a_three_number_action():
    env = MoonRelativeFrame(ROCKET.make_env(**WORLD))
    assert env.observation_space.shape == (1,) and env.action_space.shape == (3,)
    assert (env.observation_space.low == -1.0).all() and (env.observation_space.high == 1.0).all()
    observation, info = env.reset(seed=3)
    absolute = env.unwrapped._observation()
    assert env.observation_space.contains(observation)
    assert observation[0] == absolute[2] and "moon_phase_rad" in info
    relative, _, terminated, _, info = env.step(np.array([1.0, 0.0, 0.0], dtype=np.float32))
    assert terminated and relative.shape == (1,)
    # a burn straight at the Moon's phase: the launch is flown there
    assert wrapped_angle(
        info["launch"]["burn_angle_rad"] - info["moon_phase_rad"]
    ) == pytest.approx(0.0, abs=1e-6)


def test_relative_and_absolute_round_trip():
    rng = np.random.default_rng(0)
    for _ in range(200):
        phase, relative = rng.uniform(-math.pi, math.pi, 2)
        distance, throttle = rng.uniform(-1.0, 1.0, 2)
        observation = np.array([math.cos(phase), math.sin(phase), distance], dtype=np.float32)
        assert to_relative_observation(observation) == pytest.approx([distance], abs=1e-7)
        scale = rng.uniform(0.1, 1.0)  # the direction is what counts, not its length
        action = np.array([scale * math.cos(relative), scale * math.sin(relative), throttle])
        absolute = to_absolute_action(action, observation)
        burn = math.atan2(absolute[1], absolute[0])
        assert wrapped_angle(burn - phase - relative) == pytest.approx(0.0, abs=1e-6)
        assert absolute[2] == pytest.approx(throttle, abs=1e-7)
        # and back: the burn relative to the phase the observation shows is the action's
        back = burn - moon_phase_rad(observation)
        assert wrapped_angle(back - relative) == pytest.approx(0.0, abs=1e-6)
    # clipped first, as the env clips: (2, 1) is read as (1, 1), 45 degrees from the Moon
    east = np.array([1.0, 0.0, 0.0], dtype=np.float32)
    assert to_absolute_action([2.0, 1.0, 3.0], east) == pytest.approx(
        [math.sqrt(0.5), math.sqrt(0.5), 1.0], abs=1e-7
    )
    # (0, 0) has no direction: the env reads it as angle 0, so here it is the Moon's phase
    north = np.array([0.0, 1.0, 0.5], dtype=np.float32)
    assert to_absolute_action([0.0, 0.0, -0.2], north) == pytest.approx([0.0, 1.0, -0.2], abs=1e-7)


@pytest.fixture(scope="module")
def planner() -> PhysicsPlanner:
    """The planner after the three launches that identify earth_moon's constants: it hits."""
    planner = PhysicsPlanner(spec(), seed=0)
    planner.train(Ledger(lambda: ROCKET.make_env(**WORLD)), 3)
    return planner


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_planner_s_relative_burn_flies_the_planner_s_flight(planner, seed):
    """The frame is exact: given the burn relative to the Moon that the planner chose, the
    wrapper flies the planner's launch, to the float32 precision of the actions and of the
    observation the phase is read from (about 1e-7 rad; measured: within 5e-8 rad, the
    flights within 0.01 s and 2e-5 km/s of each other)."""
    absolute_env = ROCKET.make_env(**WORLD)
    relative_env = MoonRelativeFrame(ROCKET.make_env(**WORLD))
    observation, info = absolute_env.reset(seed=100 + seed)
    action, plan = planner.plan(observation, info)
    _, _, _, _, flown = absolute_env.step(action)

    relative_env.reset(seed=100 + seed)
    relative = plan.burn_angle_rad - info["moon_phase_rad"]
    _, _, _, _, wrapped = relative_env.step(
        np.array([math.cos(relative), math.sin(relative), action[2]], dtype=np.float32)
    )
    assert flown["outcome"] == wrapped["outcome"] == "moon"
    assert wrapped["moon_phase_rad"] == flown["moon_phase_rad"]
    assert wrapped_angle(
        wrapped["launch"]["burn_angle_rad"] - flown["launch"]["burn_angle_rad"]
    ) == pytest.approx(0.0, abs=3e-7)
    assert wrapped["launch"]["delta_v_command_km_s"] == flown["launch"]["delta_v_command_km_s"]
    assert wrapped["flight_time_s"] == pytest.approx(flown["flight_time_s"], abs=0.1)
    assert wrapped["impact_speed_km_s"] == pytest.approx(flown["impact_speed_km_s"], abs=1e-4)


@pytest.mark.parametrize("learner", [SACLearner, PPOLearner])
def test_act_answers_in_absolute_terms_as_the_wrapper_flies(learner):
    small = {"policy_kwargs": {"net_arch": [8]}}
    if learner is SACLearner:
        small |= {"learning_starts": 3, "batch_size": 4}
    else:
        small |= {"n_steps": 4, "batch_size": 4}
    agent = learner(spec(), 0, learner.resolve_settings("rocket", {**small, **RELATIVE}))
    agent.train(Ledger(lambda: ROCKET.make_env(**WORLD)), 6)
    assert agent.model.observation_space.shape == (1,)

    env = ROCKET.make_env(**WORLD)
    wrapped = MoonRelativeFrame(ROCKET.make_env(**WORLD), agent.frame_turn)
    observation, _ = env.reset(seed=7)
    relative_observation, _ = wrapped.reset(seed=7)
    absolute = agent.act(observation, {})
    relative, _ = agent.model.predict(relative_observation, deterministic=True)
    assert absolute.shape == (3,) and np.array_equal(
        absolute, to_absolute_action(relative, observation, agent.frame_turn)
    )
    assert env.step(absolute)[4]["launch"] == wrapped.step(relative)[4]["launch"]
    # the symmetry is given: the same distance at another phase, the same burn turned with it
    turned = np.array([0.6, -0.8, observation[2]], dtype=np.float32)
    turned_action = agent.act(turned, {})
    burn = math.atan2(absolute[1], absolute[0]) - moon_phase_rad(observation)
    turned_burn = math.atan2(turned_action[1], turned_action[0]) - moon_phase_rad(turned)
    assert wrapped_angle(turned_burn - burn) == pytest.approx(0.0, abs=1e-6)
    assert turned_action[2] == absolute[2]
    agent.close()


def test_the_learners_that_act_on_the_rocket_take_it_there_alone():
    for learner in (PPOLearner, SACLearner, TD3Learner, SACUTDLearner):
        assert "burn_angle_input" in learner.settings_keys("rocket")
        assert "burn_angle_input" not in learner.settings_keys("city")
        assert learner.resolve_settings("rocket", RELATIVE)["burn_angle_input"] == "relative"
    with pytest.raises(SettingsError) as refused:
        PPOLearner.resolve_settings("city", RELATIVE)
    message = str(refused.value)
    assert "\n" not in message and "rocket only" in message and "city" in message
    assert "'absolute' or 'relative'" in message
    for value in ("polar", 1, True):
        with pytest.raises(SettingsError, match=r"must be 'absolute' or 'relative', not "):
            SACLearner.resolve_settings("rocket", {"burn_angle_input": value})


def test_the_city_run_refuses_it_in_one_line(tmp_path):
    from sandbox.compare import main

    out = tmp_path / "run"
    result = in_process(
        main, "city", "--agents", "ppo", "--set", "ppo.burn_angle_input=relative", "--out", str(out)
    )
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "burn_angle_input" in line and "'absolute' or 'relative'" in line
    assert not out.exists()


@pytest.mark.parametrize("agent", ["sac", "ppo"])
def test_a_learner_trains_in_the_moon_s_frame_through_a_job(agent):
    cls = {"sac": SACLearner, "ppo": PPOLearner}[agent]
    small = {"policy_kwargs": {"net_arch": [16]}}
    if agent == "sac":
        small |= {"learning_starts": 20, "batch_size": 16}  # some gradient steps in 50 launches
    settings = cls.resolve_settings("rocket", {**RELATIVE, **small})
    job = run_job(
        JobConfig(
            task="rocket",
            agent=agent,
            seed=0,
            budget=50,
            eval_episodes=5,
            eval_grid=(20,),
            reliable_bar=0.9,
            env_kwargs=WORLD,
            agent_settings=settings,
        )
    )
    assert job["settings"]["burn_angle_input"] == "relative"
    assert job["trials_spent"] == 50
    assert [row["trials"] for row in job["evaluations"]][-1] == 50


def test_a_learner_s_frame_is_turned_by_an_angle_its_seed_draws():
    """The square of a learner's direction outputs has corners a squashed policy piles into;
    each seed turns the frame by its own angle, so that no corner is where the answer is by
    construction. The turn adds to the direction; the learned model's frame is not turned."""
    turns = [frame_turn(seed) for seed in range(10)]
    assert len(set(turns)) == 10 and all(-math.pi <= t < math.pi for t in turns)
    assert frame_turn(3) == frame_turn(3)
    east = np.array([1.0, 0.0, 0.0], dtype=np.float32)
    corner = np.array([-1.0, -1.0, 0.5])
    for turn in (0.0, *turns):
        burn = to_absolute_action(corner, east, turn)
        angle = math.atan2(burn[1], burn[0])
        assert wrapped_angle(angle - (-0.75 * math.pi + turn)) == pytest.approx(0.0, abs=1e-6)
    agent = SACLearner(spec(), 4, SACLearner.resolve_settings("rocket", RELATIVE))
    assert agent.frame_turn == frame_turn(4)
    # and it trains in that frame, as it acts in it
    assert agent._make_env(Ledger(lambda: ROCKET.make_env(**WORLD))).turn == frame_turn(4)
    assert SACLearner(spec(), 4, SACLearner.resolve_settings("rocket", {})).frame_turn == 0.0
