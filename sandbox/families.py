"""Where the three families land, side by side: the best model-free learner, the agent
that learns its model of the world, and the planner handed an abstract model.

Read from saved runs (any mix of a task's standard run, its generalization study and
its transfer stage), one row per measure, one column per family:

    python -m sandbox.families results/rocket/reference results/rocket/generalization-reference \\
        results/city/reference --out results/families.png

prints the table (Markdown) and draws one panel per measure: the median over seeds
with its 95 % bootstrap interval, censored medians as an arrow at the budget.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from agents.base import first_paragraph  # noqa: E402
from sandbox.plotting import RunData, best_learner, color, world_name  # noqa: E402
from sandbox.report import markdown_table  # noqa: E402
from sandbox.results import budget_of, format_cell  # noqa: E402
from sandbox.stats import censored_median, format_rates, median_interval  # noqa: E402
from sandbox.studies.generalization_grid import format_radius, grid_figures_per_seed  # noqa: E402

FAMILIES = (
    ("learner", "best model-free learner"),
    ("learned-model", "learned model"),
    ("planner", "planner"),
)


@dataclass
class Figure:
    """One family's figure for one measure: the agent, its values over seeds and their text."""

    agent: str
    values: list[float | None]  #: per seed; ``None`` is censored (never within ``limit``)
    text: str
    limit: float | None  #: where a censored value is drawn (the budget), if anywhere


@dataclass
class Measure:
    label: str
    scale: str  #: "count" (log axis), "rate" (0-100 %), "fraction" or "radius" (unbounded at the limit)
    figures: dict[str, Figure]  #: by family


def family_agents(run: RunData) -> dict[str, str]:
    """The agent that stands for each family in this run: the best learner (the same rule
    as the run's headline), the first learned-model agent and the first planner."""
    agents = {}
    learner = best_learner(run)
    if learner:
        agents["learner"] = learner
    for family in ("learned-model", "planner"):
        mine = run.agents_of_kind(family)
        if mine:
            agents[family] = mine[0]
    return agents


def _summary_measure(
    run: RunData, agents: dict[str, str], label: str, key: str, kind: str, scale: str
) -> Measure:
    figures = {}
    for family, agent in agents.items():
        entry = run.summary[agent]
        if entry.get(key) is None:
            continue
        figures[family] = Figure(
            agent, list(entry[key]), format_cell(entry, key, kind), budget_of(entry, kind)
        )
    return Measure(label, scale, figures)


def run_measures(run: RunData) -> list[Measure]:
    """The measures one run gives, labelled by its task, study and worlds."""
    agents = family_agents(run)
    task, study = run.config["task"], run.config.get("study")
    trial = {"rocket": "launches", "city": "walks"}.get(task, "trials")
    home = world_name(run.config.get("env_kwargs") or {})
    prefix = f"{task} {study}" if study else f"{task} ({home})"
    measures = []
    if (
        study != "generalization"
    ):  # the generalization study trains on a sector only: its own measures below
        measures.append(
            _summary_measure(
                run,
                agents,
                f"{prefix}: {trial} to first success",
                "trials_to_first_success",
                "trials",
                "count",
            )
        )
        measures.append(
            _summary_measure(
                run,
                agents,
                f"{prefix}: {trial} to reliable",
                "trials_to_reliable",
                "trials",
                "count",
            )
        )
    if any("deaths_to_reliable" in run.summary[a] for a in agents.values()) and task == "city":
        measures.append(
            _summary_measure(
                run,
                agents,
                f"{prefix}: deaths before reliable",
                "deaths_to_reliable",
                "count",
                "count",
            )
        )
        measures.append(
            _summary_measure(
                run, agents, f"{prefix}: training deaths", "total_training_deaths", "count", "count"
            )
        )
    if "generalization_grid" in run.summary_file:
        grid = run.summary_file["generalization_grid"]
        per_seed = grid_figures_per_seed(grid)
        # where an unbounded radius is drawn: half the circle of phases, the grid's farthest gravity edge
        gravity_reach = max(
            abs(edge - 1.0) for cell in grid["cell_edges"]["gravity_scale"] for edge in cell
        )
        grid_success = Measure(f"{prefix}: success over the grid, untrained", "rate", {})
        phase_radius = Measure(f"{prefix}: generalization radius in Moon phase", "radius", {})
        gravity_radius = Measure(f"{prefix}: generalization radius in gravity scale", "radius", {})
        for family, agent in agents.items():
            if agent in per_seed:
                mine = per_seed[agent]
                values = mine["success_on_grid"]
                grid_success.figures[family] = Figure(agent, values, format_rates(values), None)
                radii = mine["radius_moon_phase_deg"]
                phase_radius.figures[family] = Figure(
                    agent, radii, format_radius(radii, " deg"), 180.0
                )
                radii = mine["radius_gravity_scale"]
                gravity_radius.figures[family] = Figure(
                    agent, radii, format_radius(radii), gravity_reach
                )
        measures += [grid_success, phase_radius, gravity_radius]
    if any("relearn_fraction" in run.summary[a] for a in agents.values()):
        away = world_name(run.config.get("transfer_env_kwargs") or {})
        measures.append(
            _summary_measure(
                run,
                agents,
                f"{prefix} -> {away}: zero-shot success",
                "transfer_zero_shot_success",
                "rate",
                "rate",
            )
        )
        measures.append(
            _summary_measure(
                run,
                agents,
                f"{prefix} -> {away}: relearn fraction",
                "relearn_fraction",
                "fraction",
                "fraction",
            )
        )
        measures.append(
            _summary_measure(
                run,
                agents,
                f"{prefix} -> {away}: relearn fraction to 50 %",
                "relearn_fraction_half",
                "fraction",
                "fraction",
            )
        )
    return [m for m in measures if m.figures]


def families_table(measures: Sequence[Measure]) -> str:
    """The printed table: one row per measure, one column per family; the learner's cell
    names which learner was the best."""
    header = ["measure"] + [title for _, title in FAMILIES]
    rows = []
    for measure in measures:
        row = [measure.label]
        for family, _ in FAMILIES:
            figure = measure.figures.get(family)
            if figure is None:
                row.append("-")
            else:
                row.append(f"{figure.agent}: {figure.text}" if family == "learner" else figure.text)
        rows.append(row)
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def plot_families(measures: Sequence[Measure], path: Path) -> Path:
    """One panel per measure: each family's median over seeds with its 95 % interval."""
    columns = 3
    rows = -(-len(measures) // columns)
    figure, axes_grid = plt.subplots(
        rows,
        columns,
        figsize=(4.6 * columns, 2.0 * rows + 0.8),
        squeeze=False,
        layout="constrained",
    )
    for axes, measure in zip(axes_grid.flat, measures):
        _panel(axes, measure)
    for axes in list(axes_grid.flat)[len(measures) :]:
        axes.axis("off")
    figure.suptitle(
        "Where the three families land (rows: the best model-free learner, the learned model, the planner)"
        "\nmedian over seeds; bar: 95 % bootstrap interval; arrow: censored (not reached within the "
        "budget) or unbounded",
        fontsize=10,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


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
    axes.set_title(measure.label, fontsize=8)
    axes.grid(alpha=0.3, axis="x")


def _point(scale: str, figure: Figure) -> tuple[float, tuple[float, float] | None, bool] | None:
    """(median, interval, censored) on the panel's axis; a censored median or bound sits at
    the limit. ``None`` when there is nothing to draw."""
    factor = 100.0 if scale == "rate" else 1.0
    values = figure.values
    if scale == "fraction":  # a censored ratio has no value: the known seeds only (as the table)
        values = [v for v in values if v is not None]
        if not values:
            return None
    limit = figure.limit if figure.limit is not None else 0.0
    at = lambda v: limit if v is None else factor * float(v)  # noqa: E731
    median = censored_median(values)
    interval = median_interval(values)
    return (
        at(median),
        None if interval is None else (at(interval[0]), at(interval[1])),
        median is None and figure.limit is not None,
    )


def families(folders: Sequence[Path]) -> list[Measure]:
    return [measure for folder in folders for measure in run_measures(RunData.load(folder))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.families", description=first_paragraph(__doc__)
    )
    parser.add_argument("runs", nargs="+", type=Path, help="run folders (results/<task>/<run>)")
    parser.add_argument(
        "--out", type=Path, default=Path("results/families.png"), help="the plot (PNG)"
    )
    args = parser.parse_args(argv)
    try:
        measures = families(args.runs)
        if not measures:
            raise ValueError("no learner, learned-model agent or planner in these runs")
        plot_families(measures, args.out)
    except (OSError, ValueError, KeyError) as error:
        print(
            f"python -m sandbox.families: error: {type(error).__name__}: {error}", file=sys.stderr
        )
        return 2
    print(markdown_table(families_table(measures)))
    print(f"\nplot: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
