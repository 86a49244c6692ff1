"""Where the three families land, side by side: the best model-free learner, the agent
that learns its model of the world, and the planner handed an abstract model.

Read from saved runs (any mix of a task's standard run, its generalization study and
its transfer stage): one measure per row, each family's figures over seeds, and the
printed table (``python -m sandbox.families`` prints it and draws
``sandbox.pictures.families_plot``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sandbox.outputs.results import budget_of, format_cell
from sandbox.outputs.run_data import RunData, best_learner, world_name
from sandbox.outputs.stats import censored_median, format_rates, median_interval
from sandbox.studies.generalization_grid import format_radius, grid_figures_per_seed

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


def families(folders: Sequence[Path]) -> list[Measure]:
    return [measure for folder in folders for measure in run_measures(RunData.load(folder))]
