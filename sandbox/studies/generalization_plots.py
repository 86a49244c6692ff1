"""The generalization map: one heatmap of success per agent over the grid (per agent and
per ``k``, the launches allowed in each changed world, in runs that record it), the
training region outlined, all on one colour scale; and success against the engine's
pointing error, the physics the planner's model lacks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from sandbox.outputs.run_data import RunData
from sandbox.outputs.stats import format_rates
from sandbox.pictures.drawing import save_figure, wrap_to_width
from sandbox.studies.generalization_grid import (
    at_k,
    format_radius,
    grid_figures_per_seed,
    trial_words,
)


def plot_generalization(run: RunData) -> Path | None:
    summary_file = run.summary_file
    if "generalization_grid" not in summary_file:
        return None
    grid = summary_file["generalization_grid"]
    trials = trial_words(summary_file)[1]
    figures = grid_figures_per_seed(grid)
    agents = list(grid["success"])
    # one panel per agent, or per agent (rows) and k (columns)
    panels = [(agent, None) for agent in agents]
    if "per_k" in grid:
        panels = [(agent, k) for agent in agents for k in grid["per_k"]]
    phase_edges = np.array(grid["cell_edges"]["moon_phase_deg"])
    gravity_edges = np.array(grid["cell_edges"]["gravity_scale"])
    x_edges = np.append(phase_edges[:, 0], phase_edges[-1, 1])
    y_edges = np.append(gravity_edges[:, 0], gravity_edges[-1, 1])
    columns = min(len(agents), 3) if "per_k" not in grid else len(grid["per_k"])
    rows = -(-len(panels) // columns)
    figure, axes_grid = plt.subplots(
        rows,
        columns,
        # smaller panels for the agent x k grid, which has four times as many
        figsize=(5.2 * columns, 3.6 * rows + 0.8)
        if "per_k" not in grid
        else (4.2 * columns, 3.0 * rows + 0.8),
        squeeze=False,
        layout="constrained",
    )
    image = None
    for axes, (agent, k) in zip(axes_grid.flat, panels, strict=False):  # spare axes: off
        shown = grid if k is None else at_k(grid, k)
        success = np.array(shown["success"][agent])
        image = axes.pcolormesh(
            x_edges, y_edges, success, vmin=0, vmax=1, cmap="viridis", shading="flat"
        )
        low, high = grid["training_region"]["moon_phase_deg"]
        g_low, g_high = gravity_edges[list(grid["axes"]["gravity_scale"]).index(1.0)]
        axes.add_patch(
            Rectangle((low, g_low), high - low, g_high - g_low, fill=False, ec="red", lw=2.5)
        )
        if k is None:
            launches = np.mean(grid["identification_launches_per_cell"][agent])
            extra = f"; {launches:.2f} {trials}/cell" if launches else ""
            mine = figures[agent]
            name = agent
        else:
            extra = ""
            mine = grid_figures_per_seed(shown)[agent]
            name = f"{agent}, k = {k}"
        title = (
            f"{name}: radius {format_radius(mine['radius_moon_phase_deg'], ' deg')} in phase,\n"
            f"{format_radius(mine['radius_gravity_scale'])} in gravity scale{extra}"
        )
        axes.set_title(wrap_to_width(title, axes, 9, share=1.1), fontsize=9)
        axes.set_xlabel("Moon phase at launch (deg)")
        axes.set_ylabel("gravity scale (planet's GM)")
        axes.set_xticks(np.arange(0, 361, 60))
    for axes in list(axes_grid.flat)[len(panels) :]:
        axes.axis("off")
    figure.colorbar(image, ax=axes_grid, shrink=0.8, label="success rate (mean over seeds)")
    figure.suptitle(wrap_to_width(headline(grid, figures), figure, 10), fontsize=10)
    path = run.folder / "generalization_map.png"
    # the agent x k grid at a lower resolution, to stay a small file with 7 agents
    return save_figure(figure, path, dpi=100 if "per_k" not in grid else 72, bbox_inches="tight")


def headline(grid: dict[str, Any], figures: dict[str, dict[str, list]]) -> str:
    """The finding in numbers: per agent, how far from the training region's centre
    success stays above 50 % (median over seeds, its interval), and its success in the
    region and over the whole grid."""
    low, high = grid["training_region"]["moon_phase_deg"]
    parts = [
        f"{agent} {format_radius(mine['radius_moon_phase_deg'], ' deg')} "
        f"({format_rates(mine['success_in_region'])} "
        f"in region, {format_rates(mine['success_on_grid'])} on grid)"
        for agent, mine in figures.items()
    ]
    return (
        "Success above 50 % reaches this far in phase from the training region's centre, median "
        "over seeds "
        f"[interval]\n(red box: phases {low:g}-{high:g} deg, half-width {(high - low) / 2:g} "
        "deg, "
        "nominal gravity): " + ", ".join(parts)
    )


def plot_misspecified(run: RunData) -> Path | None:
    """Success in the training sector against the engine's hidden pointing error: one panel
    per ``k`` (launches allowed in each such world first), one line per agent."""
    found = run.summary_file.get("misspecified_physics")
    if found is None:
        return None
    trials = trial_words(run.summary_file)[1]
    errors = found["pointing_errors_deg"]
    ks = list(found["per_k"])
    figure, axes_row = plt.subplots(
        1, len(ks), figsize=(3.6 * len(ks), 3.4), squeeze=False, sharey=True, layout="constrained"
    )
    for axes, k in zip(axes_row[0], ks, strict=True):
        for agent, success in found["per_k"][k]["success"].items():
            axes.plot(errors, np.array(success) * 100, marker="o", label=agent)
        axes.set_title(f"k = {k} {trials} in each such world first", fontsize=9)
        axes.set_xlabel("engine pointing error (deg, hidden)")
        axes.set_ylim(-5, 105)
    axes_row[0][0].set_ylabel("success (%, mean over seeds)")
    axes_row[0][-1].legend(fontsize=8)
    figure.suptitle(
        "Physics the planner's model lacks: the engine fires off prograde "
        f"(Moon phases {found['training_sector_deg'][0]:g}-{found['training_sector_deg'][1]:g} "
        "deg, nominal gravity)",
        fontsize=10,
    )
    path = run.folder / "misspecified_physics.png"
    return save_figure(figure, path, dpi=100, bbox_inches="tight")
