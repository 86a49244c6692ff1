"""What every picture of a run shares: each agent's colour (the same in every run), the
interval of a median drawn as a band, and the success curves."""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties

from sandbox.outputs.run_data import RunData, seeds_label, value_at
from sandbox.outputs.stats import median_interval

#: colours of the built-in agents; any other agent gets one from its name (the same in every run)
COLORS = {
    "planner": "tab:green",
    "traffic-planner": "tab:green",
    "random": "0.5",
    "ppo": "tab:blue",
    "sac": "tab:orange",
    "td3": "tab:red",
    "dqn": "tab:purple",
    "a2c": "tab:brown",
    "learned-model": "tab:cyan",
}
#: type sizes in an animation, points: a panel's title, and its clock and the captions (at the
#: animation's 120 dpi, 10 pt is 17 pixels high: readable when projected)
ANIMATION_TITLE_PT, ANIMATION_TEXT_PT = 11, 10
PALETTE = ("tab:olive", "tab:pink", "darkgoldenrod", "teal", "slateblue", "crimson", "tab:gray")


def color(agent: str) -> str:
    return COLORS.get(agent) or PALETTE[zlib.crc32(agent.encode()) % len(PALETTE)]


def interval_band(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column (an evaluation point), the 95 % interval of the median over the rows (seeds)."""
    bounds = [median_interval(list(column)) for column in values.T]
    return np.array([b[0] for b in bounds]), np.array([b[1] for b in bounds])


def success_curves(axes, run: RunData, jobs: list[dict[str, Any]], bar: float) -> None:
    for agent in run.summary:
        mine = [j for j in jobs if j["agent"] == agent]
        if not mine:
            continue
        planner = run.kind(agent) == "planner"
        points = sorted({row["trials"] for j in mine for row in j["evaluations"]})
        rates = np.array(
            [[value_at(j["evaluations"], p, "success_rate") for p in points] for j in mine]
        )
        median = np.median(rates, axis=0)
        axes.plot(
            points,
            median,
            label=f"{agent} ({seeds_label(len(mine))})",
            color=color(agent),
            marker="o" if planner else None,
            markersize=5,
            lw=2 if planner else 1.5,
        )
        if len(mine) > 1:
            axes.fill_between(points, *interval_band(rates), color=color(agent), alpha=0.15, lw=0)
    axes.axhline(bar, color="k", ls=":", lw=1, label=f"reliable ({bar:.0%})")  # named in the legend
    axes.set_xscale("log")
    axes.set_ylim(-0.02, 1.02)
    axes.set_xlabel("training trials (log scale)")
    axes.set_ylabel("success on held-out set")
    axes.grid(alpha=0.3, which="both")
    axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))


def wrap_to_width(text: str, where: Any, fontsize: float, share: float = 0.96) -> str:
    """``text`` broken at spaces into lines no wider than ``share`` of ``where`` (an Axes or a
    Figure) at ``fontsize`` points, measured with the figure's renderer: a title that fits
    today's agents still fits a run with twice as many. Existing line breaks are kept."""
    figure = where if isinstance(where, Figure) else where.get_figure(root=True)
    width = figure.bbox.width
    if not isinstance(where, Figure):
        width *= where.get_position().width
    renderer = figure.canvas.get_renderer()
    font = FontProperties(size=fontsize)

    def fits(line: str) -> bool:
        return renderer.get_text_width_height_descent(line, font, ismath=False)[0] <= width * share

    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            longer = f"{line} {word}" if line else word
            if line and not fits(longer):
                lines.append(line)
                line = word
            else:
                line = longer
        lines.append(line)
    return "\n".join(lines)
