"""Misspecified physics: worlds whose law the planner's model lacks.

The gravity axis of the generalization grid varies a constant the planner's model fits
(the planet's GM), so it cannot show what happens when the model's abstraction is wrong.
This axis can: the engine fires at a hidden steady angle off prograde (the world's true
``engine_pointing_error_rad``, published as 0; the planner's model assumes a prograde
burn). Only that changes: the nominal gravity, the training sector's Moon phases. Every
agent may spend the same ``k`` launches in each such world before it is scored
(``sandbox.studies.adaptation``), and its model's residual after them is kept, so the
report can say whether the planner noticed that no constants of its model explain the
tracking.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from agents.base import Agent
from sandbox.outputs.results import text_table
from sandbox.outputs.stats import format_rates
from sandbox.studies.adaptation import adapt
from sandbox.studies.generalization_grid import (
    GridSpec,
    add_per_k,
    blank_repeats,
    fly_once,
    trial_words,
)
from sandbox.tasks import Task

#: the first number of a pointing error's ``world`` key in ``adapt`` (the grid's is 0)
MISSPECIFIED_AXIS = 1


def evaluate_misspecified(
    agent: Agent,
    task: Task,
    env_kwargs: dict[str, Any],
    grid: GridSpec,
    eval_seed_base: int,
    report: Callable[[int], None] = lambda launches: None,
) -> dict[str, Any]:
    """Per ``k``: per pointing error, the success over ``grid.misspecified_episodes``
    launches spread over the training sector (launch ``i`` resets with seed
    ``eval_seed_base + i``), the launches spent in that world and the model residual after
    them (None at 0 deg, the training world, and at k = 0). ``report`` is told the launches
    flown so far after each pointing error."""
    errors = sorted(grid.pointing_errors_deg)
    ks = sorted(set(grid.identification_trials))
    flown = 0
    success = {k: [0.0] * len(errors) for k in ks}
    trials = {k: [0] * len(errors) for k in ks}
    residuals: dict[int, list[float | None]] = {k: [None] * len(errors) for k in ks}
    for column, error in enumerate(errors):
        kwargs = {**env_kwargs, "gravity_scale": 1.0, "pointing_error_deg": error}
        if error == 0.0:  # the training world: nothing to adapt to
            rate = fly_sector(agent, task, kwargs, grid, eval_seed_base)
            for k in ks:
                success[k][column] = rate
            flown += grid.misspecified_episodes
            report(flown)
            continue
        for adapted in adapt(
            agent,
            lambda kwargs=kwargs: task.make_env(**kwargs),
            tuple(ks),
            (MISSPECIFIED_AXIS, column),
        ):
            success[adapted.k][column] = fly_sector(
                adapted.agent, task, kwargs, grid, eval_seed_base
            )
            trials[adapted.k][column] = adapted.trials
            residuals[adapted.k][column] = (
                None if adapted.residual is None else round(float(adapted.residual), 4)
            )
        flown += max(ks) + len(ks) * grid.misspecified_episodes
        report(flown)
    return {
        "pointing_errors_deg": errors,
        "per_k": {
            str(k): {"success": success[k], "trials": trials[k], "residual": residuals[k]}
            for k in ks
        },
    }


def fly_sector(
    agent: Agent, task: Task, env_kwargs: dict[str, Any], grid: GridSpec, eval_seed_base: int
) -> float:
    """Success rate over ``grid.misspecified_episodes`` launches at Moon phases spread evenly
    over the training sector, ``act`` only."""
    low, high = grid.training_sector_deg
    episodes = grid.misspecified_episodes
    env = task.make_env(**{**env_kwargs, "moon_phase_deg": (0.0, 360.0)})
    try:
        phases = [math.radians(low + (i + 0.5) / episodes * (high - low)) for i in range(episodes)]
        hits = sum(fly_once(agent, env, eval_seed_base + i, p) for i, p in enumerate(phases))
    finally:
        env.close()
    return round(hits / episodes, 4)


def summarise_misspecified(
    jobs: list[dict[str, Any]], agent_order: list[str], grid: GridSpec
) -> dict[str, Any]:
    """``misspecified_physics``: the pointing errors, and per ``k`` and agent the success per
    pointing error (the mean over seeds, and per seed), the launches spent and the model
    residual (means over seeds; None where no seed has one)."""
    ks = [str(k) for k in sorted(set(grid.identification_trials))]
    per_k: dict[str, dict[str, dict[str, Any]]] = {
        k: {"success": {}, "success_per_seed": {}, "trials": {}, "residual": {}} for k in ks
    }
    errors = sorted(grid.pointing_errors_deg)
    for agent in agent_order:
        mine = sorted(
            (
                j
                for j in jobs
                if j["agent"] == agent
                and j["phase"] == "train"
                and "misspecified" in j.get("generalization", {})
            ),
            key=lambda j: j["seed"],
        )
        if not mine:
            continue
        for k in ks:
            found = [j["generalization"]["misspecified"]["per_k"][k] for j in mine]
            add_per_k(per_k[k], agent, mine, found)
    if not any(per_k[k]["success"] for k in ks):
        return {}
    return {
        "misspecified_physics": {
            "pointing_errors_deg": errors,
            "training_sector_deg": list(grid.training_sector_deg),
            "episodes": grid.misspecified_episodes,
            "identification_trials": [int(k) for k in ks],
            "per_k": per_k,
        }
    }


def misspecified_table(summary_file: dict[str, Any]) -> str:
    """Success per pointing error, one row per agent and ``k``, with the trials spent in
    the misspecified worlds."""
    found = summary_file["misspecified_physics"]
    errors = found["pointing_errors_deg"]
    trials = trial_words(summary_file)[1]
    header = [
        "agent",
        f"{trials} per changed world",
        "seeds",
        *(f"success at {e:g} deg" for e in errors),
        f"{trials} spent in changed worlds",
    ]
    # the column of no pointing error is the training world, where no agent spends launches:
    # written once per agent (``blank_repeats``)
    nominal = [3 + i for i, e in enumerate(errors) if e == 0.0]
    rows = []
    agents = next(iter(found["per_k"].values()))["success"]
    for agent in agents:
        for k, entry in found["per_k"].items():
            seeds = entry["success_per_seed"][agent]
            per_seed = np.array([seeds[s] for s in sorted(seeds, key=int)], dtype=float)
            row = [
                agent,
                k,
                str(len(per_seed)),
                *(format_rates(per_seed[:, i].tolist()) for i in range(len(errors))),
                f"{sum(entry['trials'][agent]):g}",
            ]
            rows.append(row)
    return text_table(header, blank_repeats(rows, nominal))


def residual_table(summary_file: dict[str, Any]) -> str | None:
    """The model residual after the launches in each changed world (mean over seeds), for
    the agents that report one: gravity scales (a constant the model fits) beside pointing
    errors (physics it lacks). None when no agent reports one."""
    grid = summary_file.get("generalization_grid", {})
    found = summary_file.get("misspecified_physics", {})
    gravities = grid.get("axes", {}).get("gravity_scale", [])
    errors = found.get("pointing_errors_deg", [])
    header = ["agent", f"{trial_words(summary_file)[1]} per changed world"]
    header += [f"gravity x{g:g}" for g in gravities if g != 1.0]
    header += [f"pointing {e:g} deg" for e in errors if e != 0.0]
    rows = []
    for k in found.get("per_k", {}):
        gravity_residuals = grid.get("per_k", {}).get(k, {}).get("residual", {})
        for agent, residuals in found["per_k"][k]["residual"].items():
            on_grid = gravity_residuals.get(agent, [None] * len(gravities))
            values = [r for g, r in zip(gravities, on_grid, strict=True) if g != 1.0]
            values += [r for e, r in zip(errors, residuals, strict=True) if e != 0.0]
            if all(v is None for v in values):
                continue
            rows.append([agent, k, *("-" if v is None else f"{v:.2f}" for v in values)])
    if not rows:
        return None
    rows.sort(key=lambda row: row[0])  # by agent, k ascending within it (a stable sort)
    return text_table(header, rows)
