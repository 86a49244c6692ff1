"""The families' plot: one panel per measure, each family's median over seeds with its
confidence interval (order statistics), censored medians as an arrow at the budget."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt

from sandbox.outputs.families import FAMILIES, Figure, Measure
from sandbox.outputs.stats import (
    Bounds,
    bounds_interval,
    bounds_median,
    censored_median,
    coverage_words,
    median_interval,
)
from sandbox.pictures.drawing import color, save_figure, wrap_to_width


def plot_families(measures: Sequence[Measure], path: Path) -> Path:
    """One panel per measure: each family's median over seeds with its interval."""
    columns = 3
    rows = -(-len(measures) // columns)
    figure, axes_grid = plt.subplots(
        rows,
        columns,
        figsize=(4.6 * columns, 2.0 * rows + 0.8),
        squeeze=False,
        layout="constrained",
    )
    for axes, measure in zip(axes_grid.flat, measures, strict=False):  # more panels than measures
        _panel(axes, measure)
    for axes in list(axes_grid.flat)[len(measures) :]:
        axes.axis("off")
    legend = (
        "median over seeds; bar: confidence interval of the median ("
        + coverage_words(len(f.values) for m in measures for f in m.figures.values())
        + "); arrow: censored (not reached within the budget) or unbounded"
    )
    figure.suptitle(
        "Where the three families land (rows: the best model-free learner, the learned model, the "
        "planner)\n" + wrap_to_width(legend, figure, 10),
        fontsize=10,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    return save_figure(figure, path, dpi=100)


def _panel(axes, measure: Measure) -> None:
    labels, right = [], 1.0
    for y, (family, title) in enumerate(FAMILIES):
        figure = measure.figures.get(family)
        labels.append(figure.agent if figure else f"({title}: none)")
        if figure is None:
            continue
        colour = color(figure.agent)
        axes.text(
            0.01,
            y - 0.22,
            figure.text,
            transform=axes.get_yaxis_transform(),
            va="bottom",
            fontsize=7,
            color=colour,
        )
        point = _point(measure.scale, figure)
        if point is None:  # nothing measured to draw (every seed censored, for a ratio)
            continue
        value, interval, censored = point
        right = max(right, value, *(interval or ()))
        if interval is not None:
            axes.plot(
                interval,
                [y + 0.12, y + 0.12],
                color=colour,
                lw=2.5,
                alpha=0.6,
                solid_capstyle="butt",
            )
        if censored:
            axes.annotate(
                "",
                xy=(value * 1.8 if measure.scale == "count" else value * 1.07, y + 0.12),
                xytext=(value, y + 0.12),
                arrowprops=dict(arrowstyle="->", color=colour, lw=2),
            )
        else:
            axes.plot([value], [y + 0.12], marker="o", color=colour, markersize=6)
    axes.set_yticks(range(len(FAMILIES)), labels, fontsize=8)
    axes.set_ylim(len(FAMILIES) - 0.5, -0.6)
    if measure.scale == "count":
        axes.set_xscale("symlog", linthresh=1)
        axes.set_xlim(0, right * 3)
    elif measure.scale == "rate":
        axes.set_xlim(-2, 102)
        axes.set_xlabel("%", fontsize=7, labelpad=0)
    elif (
        measure.scale == "radius"
    ):  # unbounded is drawn at the farthest a radius reaches on the grid
        reach = max(figure.limit or 0.0 for figure in measure.figures.values())
        axes.set_xlim(-0.03 * reach, 1.12 * reach)
    else:
        axes.set_xlim(0, max(1.0, right) * 1.15)
    axes.tick_params(axis="x", labelsize=7)
    axes.set_title(wrap_to_width(measure.label, axes, 8), fontsize=8)
    axes.grid(alpha=0.3, axis="x")


def _point(scale: str, figure: Figure) -> tuple[float, tuple[float, float] | None, bool] | None:
    """(median, interval, censored) on the panel's axis; a censored median or bound sits at
    the limit. ``None`` when there is nothing to draw."""
    if figure.bounds is not None:
        return _bounded_point(figure.bounds)
    factor = 100.0 if scale == "rate" else 1.0
    values = figure.values
    limit = figure.limit if figure.limit is not None else 0.0

    def at(v):
        return limit if v is None else factor * float(v)

    median = censored_median(values)
    interval = median_interval(values)
    return (
        at(median),
        None if interval is None else (at(interval[0]), at(interval[1])),
        median is None and figure.limit is not None,
    )


def _bounded_point(bounds: list[Bounds]) -> tuple[float, tuple[float, float] | None, bool] | None:
    """(median, interval, censored) of a figure known per seed as (low, high) bounds, read as
    the table reads them (``format_fractions``, ``format_count_bounds``): the median and each
    end of the interval on the lows and on the highs alike. Where the highs' median is
    unbounded, the point is the lows' median and the arrow says "more than this"; where the
    two medians differ (some seeds known only from above), the point is the highs' median,
    the most it can be. ``None`` when nothing bounds it (every seed censored both ways)."""
    low, high = bounds_median(bounds)
    if high is None and not low:
        return None
    value = low if high is None else high
    extent = bounds_interval(bounds)
    interval = None
    if extent is not None:
        # from the least it can be to the most (where the most is unbounded, as far as the
        # lows reach: the arrow at the point says the rest)
        (least, _), (reach, most) = extent
        interval = (float(least), max(float(reach if most is None else most), float(value)))
    return float(value), interval, high is None
