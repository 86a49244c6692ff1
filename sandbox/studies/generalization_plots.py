"""The generalization map: one heatmap of success per agent over the grid, the
training region outlined, all on one colour scale."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from sandbox.outputs.run_data import RunData
from sandbox.outputs.stats import format_rates
from sandbox.pictures.drawing import wrap_to_width
from sandbox.studies.generalization_grid import format_radius, grid_figures_per_seed


def plot_generalization(run: RunData) -> Path | None:
    summary_file = run.summary_file
    if "generalization_grid" not in summary_file:
        return None
    grid = summary_file["generalization_grid"]
    figures = grid_figures_per_seed(grid)
    agents = list(grid["success"])
    phase_edges = np.array(grid["cell_edges"]["moon_phase_deg"])
    gravity_edges = np.array(grid["cell_edges"]["gravity_scale"])
    x_edges = np.append(phase_edges[:, 0], phase_edges[-1, 1])
    y_edges = np.append(gravity_edges[:, 0], gravity_edges[-1, 1])
    columns = min(len(agents), 3)
    rows = -(-len(agents) // columns)
    figure, axes_grid = plt.subplots(
        rows,
        columns,
        figsize=(5.2 * columns, 3.6 * rows + 0.8),
        squeeze=False,
        layout="constrained",
    )
    image = None
    for axes, agent in zip(axes_grid.flat, agents, strict=False):  # more panels than agents
        success = np.array(grid["success"][agent])
        image = axes.pcolormesh(
            x_edges, y_edges, success, vmin=0, vmax=1, cmap="viridis", shading="flat"
        )
        low, high = grid["training_region"]["moon_phase_deg"]
        g_low, g_high = gravity_edges[list(grid["axes"]["gravity_scale"]).index(1.0)]
        axes.add_patch(
            Rectangle((low, g_low), high - low, g_high - g_low, fill=False, ec="red", lw=2.5)
        )
        launches = np.mean(grid["identification_launches_per_cell"][agent])
        extra = f"; {launches:.2f} launches/cell" if launches else ""
        mine = figures[agent]
        title = (
            f"{agent}: radius {format_radius(mine['radius_moon_phase_deg'], ' deg')} in phase,\n"
            f"{format_radius(mine['radius_gravity_scale'])} in gravity scale{extra}"
        )
        axes.set_title(wrap_to_width(title, axes, 9, share=1.1), fontsize=9)
        axes.set_xlabel("Moon phase at launch (deg)")
        axes.set_ylabel("gravity scale (planet's GM)")
        axes.set_xticks(np.arange(0, 361, 60))
    for axes in list(axes_grid.flat)[len(agents) :]:
        axes.axis("off")
    figure.colorbar(image, ax=axes_grid, shrink=0.8, label="success rate (mean over seeds)")
    figure.suptitle(wrap_to_width(headline(grid, figures), figure, 10), fontsize=10)
    path = run.folder / "generalization_map.png"
    figure.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(figure)
    return path


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
