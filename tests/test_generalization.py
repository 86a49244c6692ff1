"""The generalization study: the grid, the radius, launches in changed worlds counted like
for like, the misspecified-physics axis, and honest transfer keys."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from agents.base import Agent, TaskSpec
from sandbox.studies.generalization import GENERALIZATION, after_training_launches
from sandbox.studies.generalization_grid import GridSpec, evaluate_grid, radius, summarise_grid
from sandbox.studies.generalization_misspecified import evaluate_misspecified
from sandbox.tasks import Task

ROOT = Path(__file__).resolve().parents[1]


class SituationEnv(gym.Env):
    """A one-step stand-in for the rocket env that shows the situation in its observation:
    (phase in degrees, gravity scale, pointing error in degrees); a positive action
    succeeds."""

    def __init__(
        self, moon_phase_deg=(0.0, 360.0), gravity_scale=1.0, pointing_error_deg=0.0, world=None
    ):
        self.observation_space = spaces.Box(-1e3, 1e3, (3,), np.float32)
        self.action_space = spaces.Box(-1, 1, (1,), np.float32)
        self.range, self.gravity, self.pointing = moon_phase_deg, gravity_scale, pointing_error_deg

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        phase = math.radians(self.np_random.uniform(*self.range))
        phase = (options or {}).get("moon_phase_rad", phase)
        self.obs = np.array([math.degrees(phase), self.gravity, self.pointing], np.float32)
        return self.obs, {}

    def step(self, action):
        hit = bool(action[0] > 0)
        return self.obs, float(hit), True, False, {"is_success": hit}


class SituationTask(Task):
    def make_env(self, **env_kwargs):
        return SituationEnv(**env_kwargs)


FAKE = SituationTask(name="fake", description="", env_id="", agents=(), default=None, full=None)


class Perfect(Agent):
    def _train(self, ledger, until_trials):
        pass

    def act(self, observation, info):
        return np.array([1.0])


class OnlyInRegion(Perfect):
    def act(self, observation, info):
        phase, gravity, pointing = observation
        inside = 0 <= phase <= 60 and gravity == 1.0 and pointing == 0.0
        return np.array([1.0 if inside else -1.0])


GRID = GridSpec(
    phase_cells=24,
    training_sector_deg=(0.0, 60.0),
    gravity_scales=(0.8, 0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.15, 1.2),
    episodes_per_cell=2,
)


def spec():
    env = SituationEnv()
    return TaskSpec("fake", env.observation_space, env.action_space)


def test_grid_covers_training_region_and_beyond():
    axes = GRID.as_dict()["axes"]
    phase_edges = GRID.phase_edges_deg
    assert phase_edges[0][0] == 0 and phase_edges[-1][1] == 360  # all the way around the orbit
    assert [phase_edges[i] for i in GRID.training_phase_cells()] == [
        (0, 15),
        (15, 30),
        (30, 45),
        (45, 60),
    ]
    assert min(axes["gravity_scale"]) < 1.0 < max(axes["gravity_scale"])
    assert GRID.training_gravity_cells() == [axes["gravity_scale"].index(1.0)]
    with pytest.raises(ValueError):
        GridSpec(phase_cells=24, training_sector_deg=(0.0, 50.0))  # not on a cell edge


def test_perfect_agent_has_unbounded_radius_and_full_map():
    result = evaluate_grid(Perfect(spec(), 0), FAKE, {}, GRID, 1_000_000)
    assert np.array(result["success"]).min() == 1.0
    assert radius(result["success"], GRID) == {
        "moon_phase_deg": math.inf,
        "gravity_scale": math.inf,
    }


def test_agent_good_only_in_region_gets_the_region_radius():
    result = evaluate_grid(OnlyInRegion(spec(), 0), FAKE, {}, GRID, 1_000_000)
    success = np.array(result["success"])
    assert success[4, :4].min() == 1.0 and success.sum() == 4.0  # exactly the four training cells
    found = radius(success, GRID)
    assert found["moon_phase_deg"] == pytest.approx(30.0)  # half the 60 degree sector
    assert found["gravity_scale"] == pytest.approx(0.025)  # half a gravity cell around 1.0


def test_summary_reports_unbounded_as_text():
    jobs = [
        {
            "agent": "perfect",
            "phase": "train",
            "seed": 0,
            "generalization": evaluate_grid(Perfect(spec(), 0), FAKE, {}, GRID, 1_000_000),
        }
    ]
    summary = summarise_grid(jobs, ["perfect"], GRID.__dict__)
    assert summary["generalization_radius"]["perfect"] == {
        "moon_phase_deg": "unbounded",
        "gravity_scale": "unbounded",
    }
    assert np.array(summary["generalization_grid"]["success"]["perfect"]).shape == (9, 24)
    json.dumps(summary)  # plain JSON, no infinities


class LearnsFromItsLaunches(Agent):
    """Succeeds everywhere it has launched at least twice in the world it trains in (its
    state: the launches it counted), and in the training world from the start."""

    def __init__(self, spec, seed, settings=None):
        super().__init__(spec, seed, settings)
        self.launches_here = 0
        self.train_calls = 0

    def _train(self, ledger, until_trials):
        self.train_calls += 1
        before = ledger.n_trials
        self.play(ledger, until_trials)
        self.launches_here += ledger.n_trials - before

    def act(self, observation, info):
        phase, gravity, pointing = observation
        home = gravity == 1.0 and pointing == 0.0
        return np.array([1.0 if home or self.launches_here >= 2 else -1.0])

    def model_residual(self):
        return float(self.launches_here)


SMALL = GridSpec(
    phase_cells=6,
    training_sector_deg=(0.0, 60.0),
    gravity_scales=(0.9, 1.0, 1.1),
    episodes_per_cell=1,
    identification_trials=(0, 1, 5),
    pointing_errors_deg=(0.0, 5.0),
    misspecified_episodes=2,
)


def test_every_agent_gets_k_launches_in_each_changed_world_counted_as_its_trials():
    agent = LearnsFromItsLaunches(spec(), 0)
    result = evaluate_grid(agent, FAKE, {"moon_phase_deg": (0.0, 60.0)}, SMALL, 1_000_000)
    assert result["identification_trials"] == [0, 1, 5]
    for k in (0, 1, 5):
        found = result["per_k"][str(k)]
        assert found["trials"] == [k, 0, k]  # the training world (1.0) is scored as it is
        success = np.array(found["success"])
        assert success[1].min() == 1.0
        assert success[[0, 2]].min() == success[[0, 2]].max() == float(k >= 2)
        # the residual a model reports after its k launches there; none at k = 0
        assert found["residual"] == ([None, None, None] if k == 0 else [k, None, k])
    assert result["success"] == result["per_k"]["0"]["success"]  # zero-shot, as before
    # every k started from the same agent, which was never trained in a changed world
    assert agent.train_calls == 0 and agent.launches_here == 0


def test_k_zero_spends_no_launches_and_misspecified_worlds_are_scored_per_k():
    agent = LearnsFromItsLaunches(spec(), 0)
    only_zero = GridSpec(**{**SMALL.__dict__, "identification_trials": (0,)})
    result = evaluate_grid(agent, FAKE, {}, only_zero, 1_000_000)
    assert result["per_k"]["0"]["trials"] == [0, 0, 0] and agent.train_calls == 0
    found = evaluate_misspecified(agent, FAKE, {"moon_phase_deg": (0.0, 60.0)}, SMALL, 1_000_000)
    assert found["pointing_errors_deg"] == [0.0, 5.0]
    assert [found["per_k"][k]["success"] for k in ("0", "1", "5")] == [[1, 0], [1, 0], [1, 1]]
    assert [found["per_k"][k]["trials"] for k in ("0", "1", "5")] == [[0, 0], [0, 1], [0, 5]]
    assert found["per_k"]["5"]["residual"] == [None, 5.0]
    assert agent.train_calls == 0


def test_tables_show_each_k_and_the_misspecified_axis():
    settings = SMALL.__dict__
    jobs = []
    for seed in (0, 1):
        agent = LearnsFromItsLaunches(spec(), seed)
        found = evaluate_grid(agent, FAKE, {"moon_phase_deg": (0.0, 60.0)}, SMALL, 1_000_000)
        found["misspecified"] = evaluate_misspecified(agent, FAKE, {}, SMALL, 1_000_000)
        jobs.append({"agent": "learner", "phase": "train", "seed": seed, "generalization": found})
    # a summary file names its task, whose words the tables use ("launches")
    summary = {"task": "rocket", **GENERALIZATION.summarise(jobs, ["learner"], settings)}
    json.dumps(summary)
    assert summary["generalization_grid"]["per_k"]["5"]["trials"]["learner"] == [5, 0, 5]
    assert summary["misspecified_physics"]["per_k"]["1"]["success"]["learner"] == [1, 0]
    tables = dict(GENERALIZATION.tables(summary))
    assert len(tables) == 3
    grid, misspecified, residuals = tables.values()
    header, _, *rows = grid.splitlines()
    assert "launches per changed world" in header and "launches spent" in header
    assert [row.split()[:2] for row in rows] == [["learner", k] for k in ("0", "1", "5")]
    # the radius along the phase and the success in region, read at nominal gravity, are
    # written on the first row and left blank below it where the same
    phase, region = header.index("radius: phase"), header.index("success in region")
    assert rows[0][phase:].strip() and rows[0][region:].strip()
    for row in rows[1:]:
        assert row[phase : phase + 5].strip() == "" and row[region : region + 5].strip() == ""
    assert "a blank radius along the phase or success in region" in list(tables)[0]
    header, _, *rows = misspecified.splitlines()
    assert "success at 0 deg" in header and "success at 5 deg" in header
    assert rows[0].split()[:3] == ["learner", "0", "2"] and rows[-1].split()[-1] == "5"
    at_zero = header.index("success at 0 deg")
    assert rows[0][at_zero:].strip() and all(not r[at_zero : at_zero + 5].strip() for r in rows[1:])
    assert "gravity x0.9" in residuals and "pointing 5 deg" in residuals
    findings = GENERALIZATION.findings(summary)
    assert "Misspecified physics" in findings[-1]


def test_the_titles_say_which_on_policy_learner_makes_no_update_within_k():
    """A learner updates after a whole rollout: with 64 launches a rollout (its jobs' n_steps
    x n_envs) it makes none within k <= 5, and the titles say its rows equal k = 0; with 2
    (A2C) or 4 (SAC's train_freq) it makes none at k = 1 only, and the titles say so; with
    1 (TD3) nothing is said of it."""
    jobs = []
    for name, settings in (
        ("ppo", {"n_steps": 64}),
        ("a2c", {"n_steps": 1, "n_envs": 2}),
        ("sac", {"train_freq": 4, "gradient_steps": 4}),
        ("td3", {"train_freq": 1}),
    ):
        agent = LearnsFromItsLaunches(spec(), 0)
        found = evaluate_grid(agent, FAKE, {"moon_phase_deg": (0.0, 60.0)}, SMALL, 1_000_000)
        found["misspecified"] = evaluate_misspecified(agent, FAKE, {}, SMALL, 1_000_000)
        jobs.append(
            {
                "agent": name,
                "phase": "train",
                "seed": 0,
                "settings": settings,
                "generalization": found,
            }
        )
    agents = ["ppo", "a2c", "sac", "td3"]
    summary = {"task": "rocket", **GENERALIZATION.summarise(jobs, agents, SMALL.__dict__)}
    assert summary["generalization_grid"]["rollout_launches"] == {"ppo": 64, "a2c": 2, "sac": 4}
    titles = [title for title, _ in GENERALIZATION.tables(summary)]
    said = "a learner (ppo: 64 launches a rollout) updates only after a whole rollout"
    assert said in titles[0] and said in titles[1]
    assert "a2c updates after every 2 launches: its rows at k = 1 equal k = 0" in titles[0]
    assert "within k <= 5 launches: its rows equal k = 0" in titles[0]
    # SAC's rollouts of 4 launches: nothing learned from 1 launch, something from 5
    assert "sac updates after every 4 launches: its rows at k = 1 equal k = 0" in titles[0]
    assert "td3" not in titles[0]
    finding = GENERALIZATION.findings(summary)[-1]
    assert "after 0 launches in that world" in finding and "after 5 launches" in finding


def test_learners_copy_cleanly_for_each_k(tmp_path):
    """SB3's models (logging to TensorBoard too) and the learned model's networks deep-copy:
    the agent given is not trained by the launches in a changed world, its copy is."""
    import envs
    from agents.plugins import load_agent
    from sandbox.studies.adaptation import adapt

    def make(**kwargs):
        return gym.make(envs.ROCKET_ID, moon_phase_deg=(0.0, 60.0), **kwargs)

    probe = make()
    for name in ("sac", "learned-model"):
        rocket = TaskSpec(
            "rocket", probe.observation_space, probe.action_space, {}, str(tmp_path / name)
        )
        agent = load_agent(name, "rocket")(rocket, 0)
        from agents.ledger import Ledger

        agent.train(Ledger(make, limit=2), 2)
        observation, info = probe.reset(seed=3)
        before = np.array(agent.act(observation, info))
        spent = [
            (adapted.k, adapted.trials, adapted.agent is agent)
            for adapted in adapt(agent, lambda: make(gravity_scale=1.1), (0, 3))
        ]
        assert spent == [(0, 0, True), (3, 3, False)], name
        np.testing.assert_array_equal(np.array(agent.act(observation, info)), before)
        agent.close()


def test_an_adaptation_moves_no_global_generator_and_draws_its_worlds_own():
    """SB3 draws from Python's, NumPy's and torch's global generators as it acts and samples
    its replay buffer. Adapting a copy leaves them as they were (the agent's later training
    draws what it would have drawn), and a world's adaptation is the same whatever was drawn
    before it (its own draws, seeded by the agent's seed and the world's key)."""
    import random

    import torch

    import envs
    from agents.ledger import Ledger
    from agents.plugins import load_agent
    from sandbox.studies.adaptation import adapt, global_state

    def make(**kwargs):
        return gym.make(envs.ROCKET_ID, moon_phase_deg=(0.0, 60.0), **kwargs)

    probe = make()
    rocket = TaskSpec("rocket", probe.observation_space, probe.action_space)
    # gradient steps from the second launch on: the copy samples its buffer and its policy
    agent = load_agent("sac", "rocket")(rocket, 0, {"learning_starts": 1, "batch_size": 2})
    agent.train(Ledger(make, limit=2), 2)
    observation, info = probe.reset(seed=3)

    def adapted_action(world):
        for adapted in adapt(agent, lambda: make(gravity_scale=1.1), (0, 3), world):
            action = np.array(adapted.agent.act(observation, info))
        return action

    python, numpy, torch_state = global_state()
    first = adapted_action((0, 1))
    python_after, numpy_after, torch_after = global_state()
    assert python_after == python
    assert numpy_after[0] == numpy[0] and np.array_equal(numpy_after[1], numpy[1])
    assert numpy_after[2:] == numpy[2:]
    assert torch.equal(torch_after, torch_state)
    random.random(), np.random.random(), torch.rand(1)  # every global generator moves on
    np.testing.assert_array_equal(adapted_action((0, 1)), first)
    agent.close()


@pytest.mark.slow
def test_study_writes_transfer_keys_and_censored_values_are_null(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sandbox.compare",
            "rocket",
            "--study",
            "generalization",
            "--agents",
            "random",
            "--seeds",
            "1",
            "--budget",
            "3",
            "--no-animations",
            "--eval-episodes",
            "2",
            "--workers",
            "1",
            "--out",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    entry = summary["agents"]["random"]
    for key in ("transfer_zero_shot_success", "transfer_trials_to_reliable", "relearn_fraction"):
        assert key in entry and len(entry[key]) == 1
    assert entry["transfer_trials_to_reliable"] == [None] and entry["relearn_fraction"] == [None]
    assert "random" in summary["generalization_radius"]
    assert (tmp_path / "generalization_map.png").exists() and (tmp_path / "transfer.png").exists()
    assert "Generalization beyond the training region" in result.stdout


class CountingTask(SituationTask):
    """The stand-in task, counting every launch flown in any of its envs."""

    launches = 0

    def make_env(self, **env_kwargs):
        env = SituationEnv(**env_kwargs)
        step = env.step

        def counted(action):
            CountingTask.launches += 1
            return step(action)

        env.step = counted
        return env


def test_the_progress_reports_count_every_launch_the_study_step_flies():
    """The progress bar counts a study step's launches as the job's trials: the grid's and
    the misspecified worlds' counts are the launches flown, and the reports rise to them."""
    task = CountingTask(name="fake", description="", env_id="", agents=(), default=None, full=None)
    agent = LearnsFromItsLaunches(spec(), 0)
    reports: list[int] = []
    CountingTask.launches = 0
    evaluate_grid(agent, task, {"moon_phase_deg": (0.0, 60.0)}, SMALL, 1_000_000, reports.append)
    assert CountingTask.launches == SMALL.grid_launches() == reports[-1]
    assert reports == sorted(reports) and len(reports) == len(SMALL.gravity_scales)
    CountingTask.launches, reports = 0, []
    evaluate_misspecified(agent, task, {}, SMALL, 1_000_000, reports.append)
    assert CountingTask.launches == SMALL.misspecified_launches() == reports[-1]
    settings = {**SMALL.__dict__}
    assert after_training_launches(settings) == SMALL.grid_launches() + reports[-1]


def test_a_study_jobs_planned_trials_hold_its_step_after_training():
    from sandbox import compare
    from sandbox.run.plan import plan_run, planned_trials
    from sandbox.tasks import get_task, task_names

    tasks = [get_task(name) for name in task_names()]
    args = compare.build_parser(tasks).parse_args(["rocket", "--study", "generalization"])
    args.argv = ["--study", "generalization"]
    plan = plan_run(get_task("rocket"), tasks, args)
    step = after_training_launches(GENERALIZATION.settings_default)
    for config in plan.configs:
        transfer = config.transfer_budget if config.transfer_env_kwargs is not None else 0
        if config.phase == "train":
            assert planned_trials(config) == config.budget + step + transfer
        else:
            assert planned_trials(config) == config.transfer_budget
