"""The decomposition study's plot, from a run's summary alone: each cell's trials to
reliable on a log axis (left) and each pair of neighbours' ratio (right), with their
intervals, censored figures drawn as arrows from their bound."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from sandbox.outputs.run_data import RunData, seeds_label
from sandbox.outputs.stats import bounds_interval, bounds_median, censored_median, median_interval
from sandbox.pictures.drawing import color, save_figure, wrap_to_width

#: how far an arrow for a censored figure reaches, as a factor on the log axis
ARROW_FACTOR = 2.2


def ratio_number(value: float) -> str:
    """A ratio of trial counts as the table and the plot write it: 0.52, 3.26, 48, 1,250."""
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}".removesuffix(".0")
    return f"{value:.2f}"


def plot_decomposition(run: RunData) -> Path | None:
    found = run.summary_file.get("decomposition")
    if not found or not found["cells"]:
        return None
    cells, pairs = found["cells"], found["pairs"]
    rows = max(len(cells), len(pairs), 1)
    figure, (left, right) = plt.subplots(
        1, 2, figsize=(13, max(4.5, 1.8 + 0.5 * rows)), layout="constrained", width_ratios=(1, 1.2)
    )
    draw_cells(left, cells)
    if pairs:
        draw_pairs(right, pairs)
    else:
        right.set_axis_off()
        right.text(0.5, 0.5, "no pair of neighbouring cells ran", ha="center", va="center")
    seeds = max(len(cell["seeds"]) for cell in cells.values())
    title = (
        "SAC to the planner, one factor at a time: each cell's trials to reliable and what each "
        f"change of a factor is worth ({seeds_label(seeds)}; the same test situations seed by "
        "seed; the reward-model and tuning factors each change a group of settings)"
    )
    figure.suptitle(wrap_to_width(title, figure, 10), fontsize=10)
    path = run.folder / "decomposition.png"
    return save_figure(figure, path, dpi=100)


def draw_cells(axes, cells: dict[str, dict[str, Any]]) -> None:
    """Per cell, a row: its budget as a grey line, each seed (a dot, or ">" at the budget where
    it never got there), the median (a diamond, hollow with an arrow when censored) and its
    interval."""
    for row, cell in enumerate(cells.values()):
        y, budget, values = -row, cell["budget"], cell["trials_to_reliable"]
        shade = color(cell["agent"])
        axes.plot([1, budget], [y, y], color="0.85", lw=5, solid_capstyle="butt", zorder=1)
        spread = np.linspace(-0.12, 0.12, len(values)) if len(values) > 1 else [0.0]
        for value, dy in zip(values, spread, strict=True):
            if value is None:
                axes.plot(budget, y + dy, ">", color=shade, ms=4, alpha=0.6)
            else:
                axes.plot(value, y + dy, "o", color=shade, ms=3, alpha=0.6)
        interval = median_interval(values)
        if interval is not None:
            low = interval[0] if interval[0] is not None else budget
            high = interval[1] if interval[1] is not None else budget
            axes.plot([low, high], [y, y], color=shade, lw=1.5)
        median = censored_median(values)
        if median is None:
            axes.plot(budget, y, "D", mfc="white", mec=shade, ms=8, zorder=3)
            axes.annotate(
                "",
                xy=(budget * ARROW_FACTOR, y),
                xytext=(budget, y),
                arrowprops={"arrowstyle": "->", "color": shade},
            )
            axes.text(budget * ARROW_FACTOR, y + 0.22, f"> {budget:,}", fontsize=7, ha="center")
        else:
            axes.plot(median, y, "D", color=shade, ms=8, zorder=3)
            axes.text(median, y + 0.22, f"{median:,.0f}", fontsize=7, ha="center")
    axes.set_yticks([-row for row in range(len(cells))], list(cells))
    axes.set_ylim(-len(cells) + 0.4, 0.6)
    axes.set_xscale("log")
    most = max(cell["budget"] for cell in cells.values())
    axes.set_xlim(0.7, most * ARROW_FACTOR * 1.8)
    axes.set_xlabel("training launches to reliable (log scale)")
    title = (
        "Trials to reliable per cell: diamond the median over seeds, line its interval, dots "
        "the seeds; grey: the budget, '>' never reliable within it"
    )
    axes.set_title(wrap_to_width(title, axes, 8), fontsize=8)
    axes.grid(alpha=0.3, which="both", axis="x")


def draw_pairs(axes, pairs: list[dict[str, Any]]) -> None:
    """Per pair, a row: the median ratio (a point, or an arrow from its bound when a censored
    cell bounds it, or the words when nothing bounds it) and its interval."""
    finite = [v for pair in pairs for b in pair["ratio_bounds"] for v in b if v]
    low_edge = min([0.5, *finite]) / 3
    high_edge = max([2.0, *finite]) * 3
    for row, pair in enumerate(pairs):
        y = -row
        extent = bounds_interval(pair["ratio_bounds"])
        if extent is not None:
            (least, _), (_, most) = extent
            start = least if least else low_edge
            end = most if most is not None else high_edge
            axes.plot([start, end], [y, y], color="0.45", lw=1.5)
        low, high = bounds_median(pair["ratio_bounds"])
        if high is not None and low is not None and abs(high - low) < 5e-5 and low > 0:
            axes.plot(low, y, "o", color="k", ms=7, zorder=3)
            axes.text(low, y + 0.22, ratio_number(low), fontsize=7, ha="center")
        elif high is None and low is not None and low > 0:
            arrow(axes, low, y, low * ARROW_FACTOR, f"> {ratio_number(low)}")
        elif high is not None and (low is None or low <= 0):
            arrow(axes, high, y, high / ARROW_FACTOR, f"< {ratio_number(high)}")
        elif high is not None and low is not None:
            axes.plot([low, high], [y, y], color="k", lw=4, zorder=3)
            axes.text(
                high,
                y + 0.22,
                f"{ratio_number(low)}..{ratio_number(high)}",
                fontsize=7,
                ha="center",
            )
        else:
            axes.text(1.0, y, " unknown: neither cell reliable", fontsize=7, va="center")
    axes.axvline(1.0, color="k", ls=":", lw=1)
    axes.set_yticks(
        [-row for row in range(len(pairs))],
        [f"{pair['start']} -> {pair['end']}\n({pair['factor']})" for pair in pairs],
        fontsize=8,
    )
    axes.set_ylim(-len(pairs) + 0.4, 0.6)
    axes.set_xscale("log")
    axes.set_xlim(low_edge, high_edge)
    axes.set_xlabel("trials to reliable, from / to (log scale)")
    title = (
        "What each factor is worth: the ratio of neighbouring cells, paired by seed, above 1 "
        "where the change saved trials (dot: median; arrow: a bound, where a cell never got "
        "there; line: its interval)"
    )
    axes.set_title(wrap_to_width(title, axes, 8), fontsize=8)
    axes.grid(alpha=0.3, which="both", axis="x")


def arrow(axes, start: float, y: float, end: float, text: str) -> None:
    axes.plot(start, y, "o", mfc="white", mec="k", ms=7, zorder=3)
    axes.annotate("", xy=(end, y), xytext=(start, y), arrowprops={"arrowstyle": "->"})
    axes.text(start, y + 0.22, text, fontsize=7, ha="center")
