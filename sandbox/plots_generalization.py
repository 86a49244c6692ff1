"""The generalization map: one heatmap of success per agent over the grid, the
training region outlined, all on one colour scale."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle


def plot_generalization(run_dir: Path, summary_file: dict[str, Any]) -> Path:
    grid = summary_file["generalization_grid"]
    radii = summary_file["generalization_radius"]
    agents = list(grid["success"])
    phase_edges = np.array(grid["cell_edges"]["moon_phase_deg"])
    gravity_edges = np.array(grid["cell_edges"]["gravity_scale"])
    x_edges = np.append(phase_edges[:, 0], phase_edges[-1, 1])
    y_edges = np.append(gravity_edges[:, 0], gravity_edges[-1, 1])
    columns = min(len(agents), 3)
    rows = -(-len(agents) // columns)
    figure, axes_grid = plt.subplots(rows, columns, figsize=(5.2 * columns, 3.6 * rows + 0.8), squeeze=False,
                                     layout="constrained")
    image = None
    for axes, agent in zip(axes_grid.flat, agents):
        success = np.array(grid["success"][agent])
        image = axes.pcolormesh(x_edges, y_edges, success, vmin=0, vmax=1, cmap="viridis", shading="flat")
        low, high = grid["training_region"]["moon_phase_deg"]
        g_low, g_high = gravity_edges[list(grid["axes"]["gravity_scale"]).index(1.0)]
        axes.add_patch(Rectangle((low, g_low), high - low, g_high - g_low, fill=False, ec="red", lw=2.5))
        launches = np.mean(grid["identification_launches_per_cell"][agent])
        extra = f"; {launches:.2f} launches/cell" if launches else ""
        axes.set_title(f"{agent}: radius {_fmt(radii[agent]['moon_phase_deg'], 'deg')}, "
                       f"{_fmt(radii[agent]['gravity_scale'], 'x g')}{extra}", fontsize=9)
        axes.set_xlabel("Moon phase at launch (deg)")
        axes.set_ylabel("gravity scale (planet's GM)")
        axes.set_xticks(np.arange(0, 361, 60))
    for axes in list(axes_grid.flat)[len(agents):]:
        axes.axis("off")
    figure.colorbar(image, ax=axes_grid, shrink=0.8, label="success rate (mean over seeds)")
    figure.suptitle(headline(radii) + "  (red box: training region)", fontsize=10)
    path = run_dir / "generalization_map.png"
    figure.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(figure)
    return path


def _fmt(value: float | str, unit: str) -> str:
    if value == "unbounded":
        return "unbounded"
    return f"{value:g} deg" if unit == "deg" else f"+/-{value:.3g} g"


def headline(radii: dict[str, dict[str, Any]]) -> str:
    """The finding in numbers: each agent's radius along the phase axis."""
    parts = [f"{agent} {_fmt(r['moon_phase_deg'], 'deg')}" for agent, r in radii.items()]
    return "Success stays above 50 % up to this far from the training region's centre: " + ", ".join(parts)
