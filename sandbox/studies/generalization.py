"""The generalization study of the rocket: local versus extreme generalization.

Every agent trains only on a sector of Moon phases of the nominal world; then,
without further training, it flies a grid of all phases x gravity scales (the grid
and the radius are defined in ``sandbox.studies.generalization_grid``); last, it
moves to the ``super_earth`` world (zero-shot, continued, from scratch).

    python -m sandbox.compare rocket --study generalization
"""

from __future__ import annotations

from typing import Any

from agents.base import Agent
from sandbox.outputs.stats import format_rates
from sandbox.studies import Study, StudyContext
from sandbox.studies.generalization_grid import (
    GridSpec,
    evaluate_grid,
    format_radius,
    grid_figures_per_seed,
    grid_table,
    summarise_grid,
)
from sandbox.studies.generalization_plots import plot_generalization
from sandbox.tasks import Size


def after_training(agent: Agent, context: StudyContext) -> dict[str, Any]:
    grid = GridSpec(**context.settings)
    if grid.episodes_per_cell > context.eval_set_size:
        raise ValueError(
            f"episodes_per_cell={grid.episodes_per_cell} is more than the "
            f"{context.eval_set_size:,} situations of one seed's held-out set"
        )
    return evaluate_grid(
        agent,
        context.task,
        context.env_kwargs,
        grid,
        context.eval_seed_base,
    )


def tables(summary_file: dict[str, Any]) -> list[tuple[str, str]]:
    if "generalization_grid" not in summary_file:
        return []
    title = (
        "Generalization beyond the training region "
        "(no further training; planners identify each changed world)"
    )
    return [(title, grid_table(summary_file))]


def findings(summary_file: dict[str, Any]) -> list[str]:
    if "generalization_grid" not in summary_file:
        return []
    parts = []
    for agent, figures in grid_figures_per_seed(summary_file["generalization_grid"]).items():
        phase = format_radius(figures["radius_moon_phase_deg"], " deg")
        gravity = format_radius(figures["radius_gravity_scale"])
        parts.append(
            f"{agent} hit {format_rates(figures['success_in_region'])} in its training region and "
            f"{format_rates(figures['success_on_grid'])} of the whole grid (radius in phase: "
            f"{phase}; in "
            f"gravity scale: {gravity})"
        )
    low, high = summary_file["generalization_grid"]["training_region"]["moon_phase_deg"]
    return [
        "**Generalization** (medians over seeds with their intervals; trained on Moon phases "
        f"{low:g}-{high:g} deg at the nominal gravity, then flown "
        "without training over all phases and gravity scales): " + "; ".join(parts) + "."
    ]


GENERALIZATION = Study(
    name="generalization",
    task="rocket",
    description="train on Moon phases 0-60 deg of the nominal world; evaluate on a grid of all "
    "phases x "
    "gravity scales; then transfer to the super_earth world",
    env_kwargs={"moon_phase_deg": (0.0, 60.0)},
    transfer_env_kwargs={"world": "super_earth", "moon_phase_deg": (0.0, 60.0)},
    default=Size(
        budget=1000,
        seeds=2,
        eval_episodes=20,
        eval_points_per_decade=3,
        transfer_budget=500,
        agent_budgets={"planner": 30, "learned-model": 300, "sac": 600, "td3": 600},
    ),
    full=Size(
        budget=5_000,
        seeds=5,
        eval_episodes=40,
        eval_points_per_decade=5,
        transfer_budget=2_000,
        agent_budgets={"planner": 30, "learned-model": 1_500, "random": 1_500},
    ),
    settings_default={
        "phase_cells": 12,
        "training_sector_deg": (0.0, 60.0),
        "gravity_scales": (0.9, 0.95, 1.0, 1.05, 1.1),
        "episodes_per_cell": 3,
    },
    settings_full={
        "phase_cells": 24,
        "training_sector_deg": (0.0, 60.0),
        "gravity_scales": (0.8, 0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.15, 1.2),
        "episodes_per_cell": 4,
    },
    after_training=after_training,
    summarise=lambda jobs, agents, settings: summarise_grid(jobs, agents, settings),
    tables=tables,
    findings=findings,
    plots=(plot_generalization,),
)
