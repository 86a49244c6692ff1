"""The generalization study on the flight: registered for the task, a tiny run's tables and
plots in the task's words, and the planner still sealed from the world's hidden constants
while it flies the grid (the env's sector and hidden changes: tests/test_flight_env.py)."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np

import envs
from agents.base import TaskSpec
from agents.flight_planner import FlightPlanner
from envs.rocket.world import load_world
from sandbox import compare
from sandbox.studies import get_study
from sandbox.studies.generalization import GENERALIZATION
from sandbox.studies.generalization_flight import FLIGHT_GENERALIZATION
from sandbox.studies.generalization_grid import GridSpec, evaluate_grid
from sandbox.studies.generalization_misspecified import evaluate_misspecified
from sandbox.tasks import Task
from tests.commands import in_process
from tests.test_flight_planner import SealedFlightWorld
from tests.test_rocket_planner import SealedEnv


def test_the_study_is_registered_for_the_flight_beside_the_rocket_one():
    assert get_study("generalization", "flight") is FLIGHT_GENERALIZATION
    assert get_study("generalization", "rocket") is GENERALIZATION
    study = FLIGHT_GENERALIZATION
    for settings in (study.settings_default, study.settings_full):
        grid = GridSpec(**settings)  # a valid grid, trained on the study's own sector
        assert grid.training_sector_deg == study.env_kwargs["moon_phase_deg"]
    assert max(study.settings_full["identification_trials"]) == 32
    assert study.full.seeds == 5 and study.full.budget == 100_000
    assert study.full.agent_budgets["sac"] == 10_000
    assert study.transfer_env_kwargs["world"] == "super_earth"
    # the same machinery, not a copy of it
    assert study.after_training is GENERALIZATION.after_training
    assert study.tables is GENERALIZATION.tables


def test_help_lists_the_flights_study():
    done = in_process(compare.main, "--help")
    assert "flight: generalization" in " ".join(done.stdout.split())


WORLD = load_world("super_earth")  # the planner flies it in ~1 s of CPU, earth_moon in 3.5


class SealedFlightTask(Task):
    """The flight task on ``WORLD``, whose envs hide the world's secrets and themselves,
    whatever study arguments they are built with."""

    def make_env(self, **env_kwargs):
        env = gym.make(envs.FLIGHT_ID, **{**env_kwargs, "world": WORLD})
        env.unwrapped.world = SealedFlightWorld(WORLD)  # the simulator holds what it flies
        return SealedEnv(env)


SEALED = SealedFlightTask(
    name="flight", description="", env_id="", agents=(), default=None, full=None
)


def test_the_planner_flies_the_grid_and_a_misspecified_world_behind_the_seal():
    """Every flight of a small grid (two phase cells, gravity x1.1 after 0 and 1 flights of
    its own) and of a world whose engine points 5 deg off: the planner reads neither the
    true constants nor the dispersion, and still captures in the changed gravity."""
    task = SEALED
    probe = task.make_env()
    spec = TaskSpec(
        "flight", probe.observation_space, probe.action_space, {"world": SealedFlightWorld(WORLD)}
    )
    planner = FlightPlanner(spec, seed=0)
    grid = GridSpec(
        phase_cells=2,
        training_sector_deg=(0.0, 180.0),
        gravity_scales=(1.0, 1.1),
        episodes_per_cell=1,
        identification_trials=(0, 1),
        pointing_errors_deg=(0.0, 5.0),
        misspecified_episodes=1,
    )
    home = {"moon_phase_deg": (0.0, 180.0)}
    found = evaluate_grid(planner, task, home, grid, 1_000_000)
    assert found["per_k"]["1"]["trials"] == [0, 1]
    assert np.array(found["per_k"]["1"]["success"])[1].mean() >= 0.5
    misspecified = evaluate_misspecified(planner, task, home, grid, 1_000_000)
    assert misspecified["per_k"]["1"]["trials"] == [0, 1]


def test_a_tiny_run_writes_the_studys_tables_and_plots(tmp_path):
    """Random search, 2 training flights: the grid, the misspecified worlds and the
    transfer, with the tables in the task's words (flights)."""
    done = in_process(
        compare.main,
        "flight",
        "--study",
        "generalization",
        "--agents",
        "random",
        "--budget",
        "2",
        "--eval-episodes",
        "1",
        "--workers",
        "1",
        "--no-animations",
        "--out",
        str(tmp_path),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["task"] == "flight" and "random" in summary["generalization_radius"]
    assert summary["generalization_grid"]["training_region"]["moon_phase_deg"] == [0.0, 90.0]
    assert "misspecified_physics" in summary
    for picture in ("generalization_map.png", "misspecified_physics.png", "transfer.png"):
        assert (tmp_path / picture).stat().st_size > 0, picture
    assert "Generalization beyond the training region" in done.stdout
    text = " ".join(
        [title + table for title, table in FLIGHT_GENERALIZATION.tables(summary)]
        + FLIGHT_GENERALIZATION.findings(summary)
    )
    assert "flights per changed world" in text and "flights spent in changed worlds" in text
    assert "launch" not in text
