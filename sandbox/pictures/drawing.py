"""What every picture of a run shares: each agent's colour (the same in every run), the
interval of a median drawn as a band, the success curves, and the committed reference's
curves drawn dashed beside a run's own."""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from PIL import Image

from sandbox.outputs.reference import Reference
from sandbox.outputs.run_data import RunData, seeds_label, value_at
from sandbox.outputs.stats import median_interval

#: the reference's curves: thinner than a run's own and dashed, in the agent's colour, under
#: the run's own curves (matplotlib draws lines at zorder 2)
REFERENCE_STYLE = {"ls": "--", "lw": 1.0, "alpha": 0.8, "zorder": 1.9}
#: where a curve's evaluation rows are, per seed, in a run: (run, agent) -> one list per seed
Rows = Callable[[RunData, str], list[list[dict[str, Any]]]]

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
    # the decomposition study's cells: each family in shades of its agent's colour, so that
    # nine cells in one run stay apart (a colour from the name alone gives two of them the same)
    "sac-rel": "sandybrown",
    "sac-utd": "saddlebrown",
    "sac-utd-rel": "peru",
    "bandit": "darkviolet",
    "bandit-rel": "orchid",
    "learned-model-abs": "darkcyan",
    "learned-model-reward": "cadetblue",
    "learned-model-abs-reward": "lightseagreen",
}
#: type sizes in an animation, points: a panel's title, and its clock and the captions (at the
#: animation's 120 dpi, 10 pt is 17 pixels high: readable when projected)
ANIMATION_TITLE_PT, ANIMATION_TEXT_PT = 11, 10
#: colours in a saved PNG (its palette): enough for every agent's colour, its bands and
#: anti-aliased edges
PNG_COLORS = 256
PALETTE = ("tab:olive", "tab:pink", "darkgoldenrod", "teal", "slateblue", "crimson", "tab:gray")


def save_figure(figure: Any, path: Path, dpi: int = 110, **options: Any) -> Path:
    """Write ``figure`` to ``path`` and close it (matplotlib keeps every open figure). A PNG
    is written with a palette of 256 colours (``PNG_COLORS``): a plot of lines, bands and
    text loses nothing a reader sees, and its file is about a third the size, which keeps the
    committed references small."""
    path = Path(path)
    png = path.suffix.lower() == ".png"
    drawn = io.BytesIO() if png else path
    figure.savefig(drawn, format="png" if png else None, dpi=dpi, **options)
    plt.close(figure)
    if not png:
        return path
    with Image.open(drawn) as image:
        opaque = Image.new("RGB", image.size, "white")
        opaque.paste(image, mask=image.getchannel("A") if image.mode == "RGBA" else None)
    palette = opaque.quantize(PNG_COLORS, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    palette.save(path, optimize=True)
    return path


def color(agent: str) -> str:
    return COLORS.get(agent) or PALETTE[zlib.crc32(agent.encode()) % len(PALETTE)]


def interval_band(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column (an evaluation point), the confidence interval of the median over the rows
    (seeds)."""
    bounds = [median_interval(list(column)) for column in values.T]
    return np.array([b[0] for b in bounds]), np.array([b[1] for b in bounds])


def train_rows(run: RunData, agent: str) -> list[list[dict[str, Any]]]:
    """The agent's evaluations in its training world, one list per seed."""
    return [j["evaluations"] for j in run.train_jobs if j["agent"] == agent]


def median_curve(rows: list[list[dict[str, Any]]], key: str) -> tuple[list[int], np.ndarray]:
    """The evaluation points of every seed and, per seed, ``key`` at each of them."""
    points = sorted({row["trials"] for seed_rows in rows for row in seed_rows})
    return points, np.array([[value_at(seed_rows, p, key) for p in points] for seed_rows in rows])


def success_curves(
    axes, run: RunData, jobs: list[dict[str, Any]], bar: float, reference: Reference | None = None
) -> None:
    """Held-out success against training trials, median over seeds with its interval, per
    agent; with a ``reference``, its curves dashed beside them."""
    for agent in run.summary:
        mine = [j for j in jobs if j["agent"] == agent]
        if not mine:
            continue
        planner = run.kind(agent) == "planner"
        points, rates = median_curve([j["evaluations"] for j in mine], "success_rate")
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
    if reference is not None:
        reference_curves(axes, run, reference, train_rows, "success_rate")
    axes.axhline(bar, color="k", ls=":", lw=1, label=f"reliable ({bar:.0%})")  # named in the legend
    axes.set_xscale("log")
    axes.set_ylim(-0.02, 1.02)
    axes.set_xlabel("training trials (log scale)")
    axes.set_ylabel("success on held-out set")
    axes.grid(alpha=0.3, which="both")
    axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))


def reference_curves(
    axes,
    run: RunData,
    reference: Reference,
    rows: Rows,
    key: str,
    agents: list[str] | None = None,
    style: dict[str, Any] | None = None,
    drawn_as: str | None = "dashed",
) -> list[str]:
    """The committed reference's median curve of ``key`` for each of the run's agents it has
    (``agents``: only these), in the agent's colour, each line's gid ``reference:<agent>``;
    one legend entry for them all (``drawn_as``: how the style looks) and a note on the axes
    for what has no reference (neither when ``drawn_as`` is None: another call made them).
    Returns the agents drawn. The axes reach the reference's budget, so a run's short curve shows as
    the start of the long one."""
    same = reference.agents(run)[0]
    drawn = []
    for agent in same if agents is None else [a for a in agents if a in same]:
        seed_rows = rows(reference.run, agent)
        if not seed_rows:
            continue
        points, values = median_curve(seed_rows, key)
        (line,) = axes.plot(
            points, np.median(values, axis=0), color=color(agent), **(style or REFERENCE_STYLE)
        )
        line.set_gid(f"reference:{agent}")
        drawn.append(agent)
    if drawn_as is None:
        return drawn
    if drawn:
        axes.plot(
            [], [], color="0.3", **(style or REFERENCE_STYLE), label=reference.label(drawn_as)
        )
    note = reference.note(run)
    if note:
        axes.text(
            0.99,
            0.02,
            note,
            transform=axes.transAxes,
            ha="right",
            va="bottom",
            fontsize=7,
            color="0.3",
            gid="reference-note",
            bbox={"facecolor": "white", "edgecolor": "0.8", "alpha": 0.85, "pad": 2},
        )
    return drawn


def continued_rows(run: RunData, agent: str) -> list[list[dict[str, Any]]]:
    """The agent's evaluations in the transfer world, continuing its training there."""
    return [
        j["transfer"]["evaluations"]
        for j in run.train_jobs
        if j["agent"] == agent and "transfer" in j
    ]


def scratch_rows(run: RunData, agent: str) -> list[list[dict[str, Any]]]:
    """The agent's evaluations in the transfer world, trained there from scratch."""
    return [j["evaluations"] for j in run.jobs if j["agent"] == agent and j["phase"] == "scratch"]


def transfer_reference_curves(axes, run: RunData, reference: Reference | None) -> None:
    """The reference's curves in the transfer world, continued (solid) and from scratch
    (dashed) as the run's own are drawn, but thin and faint."""
    if reference is None:
        return
    faint = {"lw": 0.9, "alpha": 0.45, "zorder": 1.9}
    reference_curves(
        axes,
        run,
        reference,
        continued_rows,
        "success_rate",
        None,
        {"ls": "-", **faint},
        "thin, faint",
    )
    reference_curves(
        axes, run, reference, scratch_rows, "success_rate", None, {"ls": "--", **faint}, None
    )


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
