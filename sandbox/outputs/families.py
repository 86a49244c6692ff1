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
from typing import Any

from sandbox.outputs.results import budget_of, death_bounds, format_cell, fraction_bounds
from sandbox.outputs.run_data import RunData, best_learner, world_name
from sandbox.outputs.stats import Bounds, format_rates
from sandbox.studies.generalization_grid import (
    at_k,
    count_of,
    format_radius,
    grid_figures_per_seed,
    trial_words,
)
from sandbox.tasks import get_task

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
    #: per seed, what a figure some seeds never reached is known to be, (low, high; None:
    #: unbounded), as the table reads it (ratios, deaths until a figure); None: ``values``
    bounds: list[Bounds] | None = None


@dataclass
class Measure:
    label: str
    #: "count" (log axis), "rate" (0-100 %), "fraction" or "radius" (unbounded at the limit)
    scale: str
    figures: dict[str, Figure]  #: by family


def family_agents(run: RunData) -> dict[str, str]:
    """The agent that stands for each family in this run: the best learner (the same rule
    as the run's headline), the first learned-model agent and the first planner; a study's
    cell named after its family (``learned-model``, ``planner``), which runs the agent as it
    is, stands before the other cells of that kind (``learned-model-abs``)."""
    agents = {}
    learner = best_learner(run)
    if learner:
        agents["learner"] = learner
    for family in ("learned-model", "planner"):
        mine = run.agents_of_kind(family)
        if mine:
            agents[family] = family if family in mine else mine[0]
    return agents


def _summary_measure(
    run: RunData, agents: dict[str, str], label: str, key: str, kind: str, scale: str
) -> Measure:
    figures = {}
    for family, agent in agents.items():
        entry = run.summary[agent]
        if entry.get(key) is None:
            continue
        bounds = (
            fraction_bounds(entry, key)
            if kind == "fraction"
            else death_bounds(entry, key)
            if kind == "deaths"
            else None
        )
        figures[family] = Figure(
            agent, list(entry[key]), format_cell(entry, key, kind), budget_of(entry, kind), bounds
        )
    return Measure(label, scale, figures)


#: (label after the run's name, summary key, kind of cell, scale of the panel)
TRAINING_MEASURES = (
    ("{trial} to first success", "trials_to_first_success", "trials", "count"),
    ("{trial} to reliable", "trials_to_reliable", "trials", "count"),
)
DEATH_MEASURES = (
    ("deaths before reliable", "deaths_to_reliable", "deaths", "count"),
    ("training deaths", "total_training_deaths", "count", "count"),
)
TRANSFER_MEASURES = (
    ("zero-shot success", "transfer_zero_shot_success", "rate", "rate"),
    ("relearn fraction", "relearn_fraction", "fraction", "fraction"),
    ("relearn fraction to 50 %", "relearn_fraction_half", "fraction", "fraction"),
)


def run_measures(run: RunData) -> list[Measure]:
    """The measures one run gives, labelled by its task, study and worlds."""
    agents = family_agents(run)
    task, study = run.config["task"], run.config.get("study")
    trial = get_task(task).trials_word
    home = world_name(run.config.get("env_kwargs") or {})
    prefix = f"{task} {study}" if study else f"{task} ({home})"
    rows = []
    # The generalization study trains on a sector only: its own measures below.
    if study != "generalization":
        rows += [(label.format(trial=trial), *rest) for label, *rest in TRAINING_MEASURES]
    if task == "city" and any("deaths_to_reliable" in run.summary[a] for a in agents.values()):
        rows += DEATH_MEASURES
    measures = [_summary_measure(run, agents, f"{prefix}: {label}", *rest) for label, *rest in rows]
    if "generalization_grid" in run.summary_file:
        words = trial_words(run.summary_file)
        measures += grid_measures(run.summary_file["generalization_grid"], agents, prefix, words)
        measures += adapted_measures(run.summary_file, agents, prefix)
    if any("relearn_fraction" in run.summary[a] for a in agents.values()):
        away = world_name(run.config.get("transfer_env_kwargs") or {})
        measures += [
            _summary_measure(run, agents, f"{prefix} -> {away}: {label}", *rest)
            for label, *rest in TRANSFER_MEASURES
        ]
    return [m for m in measures if m.figures]


def grid_measures(
    grid: dict[str, Any], agents: dict[str, str], prefix: str, words: tuple[str, str]
) -> list[Measure]:
    """The generalization study's measures: success over the grid it never trained on (at
    the smallest k, trials of each agent's own in each changed world, where the run gave
    any), and how far from training each family stays reliable, in Moon phase and in
    gravity; ``words``: the task's for one trial and several (``trial_words``)."""
    per_seed = grid_figures_per_seed(grid)
    # Where an unbounded radius is drawn: half the circle of phases, and the grid's
    # farthest gravity edge.
    gravity_reach = max(
        abs(edge - 1.0) for cell in grid["cell_edges"]["gravity_scale"] for edge in cell
    )
    ks = sorted(int(k) for k in grid.get("per_k", {}))
    first = grid_words(ks[0], words) if ks else "untrained"
    grid_success = Measure(f"{prefix}: success over the grid, {first}", "rate", {})
    phase_radius = Measure(f"{prefix}: generalization radius in Moon phase", "radius", {})
    gravity_radius = Measure(f"{prefix}: generalization radius in gravity scale", "radius", {})
    for family, agent in agents.items():
        if agent not in per_seed:
            continue
        mine = per_seed[agent]
        values = mine["success_on_grid"]
        grid_success.figures[family] = Figure(agent, values, format_rates(values), None)
        radii = mine["radius_moon_phase_deg"]
        phase_radius.figures[family] = Figure(agent, radii, format_radius(radii, " deg"), 180.0)
        radii = mine["radius_gravity_scale"]
        gravity_radius.figures[family] = Figure(agent, radii, format_radius(radii), gravity_reach)
    return [grid_success, phase_radius, gravity_radius]


def adapted_measures(
    summary_file: dict[str, Any], agents: dict[str, str], prefix: str
) -> list[Measure]:
    """The generalization study's measures after k trials of each agent's own in each
    changed world, for every k but the smallest (``grid_measures`` reads that one): success
    over the grid; and at the largest k, if above 0, success with the engine at the largest
    pointing error, physics the planner's model lacks."""
    grid = summary_file["generalization_grid"]
    words = trial_words(summary_file)
    measures = []
    for k in sorted(grid.get("per_k", {}), key=int)[1:]:
        per_seed = grid_figures_per_seed(at_k(grid, k))
        rates = {agent: figures["success_on_grid"] for agent, figures in per_seed.items()}
        label = f"{prefix}: success over the grid, {grid_words(k, words)}"
        measures.append(rate_measure(label, agents, rates))
    found = summary_file.get("misspecified_physics")
    if found and max(found["identification_trials"]) > 0:
        errors = found["pointing_errors_deg"]
        error, k = max(errors), str(max(found["identification_trials"]))
        column = errors.index(error)
        rates = {
            agent: [seeds[seed][column] for seed in sorted(seeds, key=int)]
            for agent, seeds in found["per_k"][k]["success_per_seed"].items()
        }
        label = (
            f"{prefix}: success with the engine {error:g} deg off, after {count_of(k, words)} there"
        )
        measures.append(rate_measure(label, agents, rates))
    return measures


def rate_measure(label: str, agents: dict[str, str], rates: dict[str, list[float]]) -> Measure:
    """A measure of success rates: each family's agent's rates over seeds (``rates``, by
    agent), where it has any."""
    figures = {
        family: Figure(agent, rates[agent], format_rates(rates[agent]), None)
        for family, agent in agents.items()
        if rates.get(agent)
    }
    return Measure(label, "rate", figures)


def grid_words(k: int | str, words: tuple[str, str]) -> str:
    """How the families' rows name ``k`` trials in each changed world: "zero-shot", "1
    launch per changed world"."""
    return "zero-shot" if int(k) == 0 else f"{count_of(k, words)} per changed world"


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

    def line(cells):
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=False)).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def families(folders: Sequence[Path]) -> list[Measure]:
    return [measure for folder in folders for measure in run_measures(RunData.load(folder))]
