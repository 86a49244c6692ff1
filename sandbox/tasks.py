"""The tasks ``sandbox.compare`` knows: how to build their envs and what a run costs.

A task names its env, its default agents and two experiment sizes: the default
run (a few minutes on a 2-core machine, enough to show the contrast) and
``--full``, the reference experiment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

import envs  # noqa: F401  (registers the sandbox's env ids)


@dataclass(frozen=True)
class Size:
    """How big an experiment is."""

    budget: int  #: training trials per agent and seed
    seeds: int  #: seeds per agent
    eval_episodes: int  #: held-out evaluation episodes at each evaluation point
    eval_points: int  #: about this many log-spaced evaluation points from 1 to the budget
    agent_budgets: dict[str, int] = field(default_factory=dict)  #: per-agent budget overrides
    transfer_budget: int = 0  #: training trials in the transfer world, continued and from scratch


@dataclass(frozen=True)
class Study:
    """A variation of a task's protocol, chosen with ``--study NAME``."""

    name: str
    description: str
    env_kwargs: dict[str, Any]  #: added to the task's env arguments: the training region
    transfer_env_kwargs: dict[str, Any] | None  #: the new world, if the study measures transfer
    default: Size
    full: Size
    grid_default: dict[str, Any] = field(default_factory=dict)  #: GridSpec fields
    grid_full: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Task:
    name: str
    env_id: str
    agents: tuple[str, ...]  #: default agents, in table order
    default: Size
    full: Size
    trace: Callable[[list[dict[str, Any]]], dict[str, Any]]  #: what plots keep of an episode, from its infos
    #: what plots keep of a training trial, from its last info (None: nothing)
    trace_training: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    summary_keys: tuple[str, ...] = ()  #: per-seed keys beyond the common ones
    transfer_env_kwargs: dict[str, Any] | None = None  #: the new world of the standard protocol, if any
    studies: dict[str, Study] = field(default_factory=dict)

    def make_env(self, **env_kwargs: Any) -> gym.Env:
        return gym.make(self.env_id, **env_kwargs)


def rocket_trace(infos: list[dict[str, Any]]) -> dict[str, Any]:
    """A launch's path, from its infos (the last one holds the telemetry)."""
    return rocket_flight(infos[-1])


def rocket_flight(info: dict[str, Any]) -> dict[str, Any]:
    """The rocket's tracked positions and the Moon's last one, in thousands of km
    (rounded: results stay small)."""
    telemetry = info["telemetry"]
    return {
        "path": np.round(telemetry["position_km"] / 1e3, 2).tolist(),
        "moon_end": np.round(telemetry["moon_km"][-1] / 1e3, 2).tolist(),
    }


ROCKET = Task(
    name="rocket",
    env_id=envs.ROCKET_ID,
    agents=("planner", "random", "ppo", "sac", "td3"),
    # The default run shows the contrast in under 3 minutes on 2 cores; SAC and TD3 make a
    # gradient step per launch, so they get fewer launches than PPO and random search.
    default=Size(budget=1000, seeds=3, eval_episodes=30, eval_points=10,
                 agent_budgets={"planner": 30, "sac": 600, "td3": 600}),
    # The reference: SAC, the best learner, became reliable at about 5 000 trials in tuning.
    full=Size(budget=10_000, seeds=3, eval_episodes=50, eval_points=16,
              agent_budgets={"planner": 30, "random": 3_000}),
    trace=rocket_trace,
    trace_training=rocket_flight,
    studies={
        "generalization": Study(
            name="generalization",
            description="train on Moon phases 0-60 deg of the nominal world; evaluate on a grid of all phases x "
            "gravity scales; then transfer to the super_earth world",
            env_kwargs={"moon_phase_deg": (0.0, 60.0)},
            transfer_env_kwargs={"world": "super_earth", "moon_phase_deg": (0.0, 60.0)},
            default=Size(budget=1000, seeds=2, eval_episodes=20, eval_points=8, transfer_budget=500,
                         agent_budgets={"planner": 30, "sac": 600, "td3": 600}),
            full=Size(budget=5_000, seeds=2, eval_episodes=40, eval_points=12, transfer_budget=2_000,
                      agent_budgets={"planner": 30, "random": 1_500}),
            grid_default={"phase_cells": 12, "training_sector_deg": (0.0, 60.0),
                          "gravity_scales": (0.9, 0.95, 1.0, 1.05, 1.1), "episodes_per_cell": 3},
            grid_full={"phase_cells": 24, "training_sector_deg": (0.0, 60.0),
                       "gravity_scales": (0.8, 0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.15, 1.2), "episodes_per_cell": 4},
        )
    },
)

def city_trace(infos: list[dict[str, Any]]) -> dict[str, Any]:
    """The pedestrian's path (row, col per tick) and its goal."""
    return {"path": [list(map(int, info["position"])) for info in infos], "goal": list(map(int, infos[0]["goal"]))}


CITY = Task(
    name="city",
    env_id=envs.CITY_ID,
    agents=("traffic-planner", "random", "ppo", "dqn", "a2c"),
    # The default run shows the deaths in under 5 minutes on 2 cores; DQN makes a gradient
    # step per env step, so it gets fewer walks.
    default=Size(budget=100, seeds=2, eval_episodes=20, eval_points=6, transfer_budget=50,
                 agent_budgets={"dqn": 50}),
    # The reference: DQN, the best learner, became reliable at about 900 trials in tuning and
    # needed about 2,400 more in the new city, so both stages get 3,000.
    full=Size(budget=3_000, seeds=2, eval_episodes=50, eval_points=12, transfer_budget=3_000),
    trace=city_trace,
    summary_keys=("deaths_to_first_success", "deaths_to_reliable", "total_training_deaths",
                  "total_evaluation_deaths"),
    transfer_env_kwargs={"map": "new"},
)

TASKS: dict[str, Task] = {"rocket": ROCKET, "city": CITY}
