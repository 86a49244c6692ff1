"""The generalization study: the grid, the radius, and honest transfer keys."""

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
from sandbox.studies.generalization_grid import GridSpec, evaluate_grid, radius, summarise_grid
from sandbox.tasks import Task

ROOT = Path(__file__).resolve().parents[1]


class SituationEnv(gym.Env):
    """A one-step stand-in for the rocket env that shows the situation in its observation:
    (phase in degrees, gravity scale); a positive action succeeds."""

    def __init__(self, moon_phase_deg=(0.0, 360.0), gravity_scale=1.0, world=None):
        self.observation_space = spaces.Box(-1e3, 1e3, (2,), np.float32)
        self.action_space = spaces.Box(-1, 1, (1,), np.float32)
        self.range, self.gravity = moon_phase_deg, gravity_scale

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        phase = math.radians(self.np_random.uniform(*self.range))
        phase = (options or {}).get("moon_phase_rad", phase)
        self.obs = np.array([math.degrees(phase), self.gravity], np.float32)
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
        phase, gravity = observation
        inside = 0 <= phase <= 60 and gravity == 1.0
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
