"""Local versus extreme generalization, measured on a grid of launch situations.

Agents train in a bounded region (Moon phases within a sector, the world as it
is), then are evaluated without further training on a grid that extends well
beyond it: Moon phase (all around the orbit) x gravity scale (the planet's true GM
scaled, unknown to the agents). Like for like, every agent may spend ``k`` launches of
its own in each changed gravity before it is scored there, for each ``k`` of the
study's ``identification_trials`` (``sandbox.studies.adaptation``): the planner
identifies, the others keep training; the launches are counted as its trials and
reported per ``k``, and ``k = 0`` is the zero-shot grid.

The **generalization radius** along an axis is how far from the centre of the
training region the success rate stays above 50 %: walking outward cell by cell
on each side, the reach is the far edge of the last passing cell; the radius is
the smaller reach of the two sides, ``inf`` (reported "unbounded") if every cell
on the axis passes. Along one axis, a cell's success is its mean over the
training cells of the other axis.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from agents.base import Agent
from sandbox.outputs.results import text_table
from sandbox.outputs.stats import censored_median, format_rates, median_interval
from sandbox.studies.adaptation import adapt
from sandbox.tasks import Task, get_task

PASS_RATE = 0.5
#: the first number of a gravity row's ``world`` key in ``adapt`` (its row, the second)
GRID_AXIS = 0


@dataclass(frozen=True)
class GridSpec:
    """The evaluation grid and the training region inside it."""

    phase_cells: int = 12  #: cells of equal width around the orbit, starting at 0 degrees
    training_sector_deg: tuple[float, float] = (0.0, 60.0)  #: must lie on cell edges
    gravity_scales: tuple[float, ...] = (0.9, 0.95, 1.0, 1.05, 1.1)  #: evenly spaced, including 1.0
    episodes_per_cell: int = 3
    #: launches every agent may spend in each changed world before it is scored, one score
    #: per value (0: zero-shot)
    identification_trials: tuple[int, ...] = (0, 1, 5, 32)
    #: the engine's hidden pointing error (deg) of the misspecified worlds, including 0 (the
    #: training world): physics the planner's model lacks
    pointing_errors_deg: tuple[float, ...] = (0.0, 2.0, 5.0, 10.0)
    #: launches scored per misspecified world, spread over the training sector's phases
    misspecified_episodes: int = 8

    def __post_init__(self) -> None:
        width = self.phase_width_deg
        low, high = self.training_sector_deg
        if not (0 <= low < high <= 360) or any(
            abs(e / width - round(e / width)) > 1e-9 for e in (low, high)
        ):
            raise ValueError(
                f"training_sector_deg {self.training_sector_deg} must lie on cell edges of {width} "
                "deg"
            )
        if 1.0 not in self.gravity_scales:
            raise ValueError("gravity_scales must include 1.0, the training world")
        if 0.0 not in self.pointing_errors_deg:
            raise ValueError("pointing_errors_deg must include 0, the training world")
        if not self.identification_trials or min(self.identification_trials) < 0:
            raise ValueError(
                f"identification_trials must be trial counts of 0 or more, got "
                f"{self.identification_trials}"
            )

    @property
    def phase_width_deg(self) -> float:
        return 360.0 / self.phase_cells

    @property
    def phase_edges_deg(self) -> list[tuple[float, float]]:
        w = self.phase_width_deg
        return [(i * w, (i + 1) * w) for i in range(self.phase_cells)]

    @property
    def gravity_edges(self) -> list[tuple[float, float]]:
        values = sorted(self.gravity_scales)
        step = (values[-1] - values[0]) / (len(values) - 1) if len(values) > 1 else 0.1
        return [(v - step / 2, v + step / 2) for v in values]

    def training_phase_cells(self) -> list[int]:
        low, high = self.training_sector_deg
        return [
            i
            for i, (a, b) in enumerate(self.phase_edges_deg)
            if a >= low - 1e-9 and b <= high + 1e-9
        ]

    def grid_launches(self) -> int:
        """The launches ``evaluate_grid`` flies: the training gravity's cells once, and in
        each changed gravity the most launches of its own and the cells once per ``k``."""
        ks = set(self.identification_trials)
        cells = self.phase_cells * self.episodes_per_cell
        return cells + (len(self.gravity_scales) - 1) * (max(ks) + len(ks) * cells)

    def misspecified_launches(self) -> int:
        """The launches ``evaluate_misspecified`` flies, counted as ``grid_launches``."""
        ks = set(self.identification_trials)
        scored = self.misspecified_episodes
        return scored + (len(self.pointing_errors_deg) - 1) * (max(ks) + len(ks) * scored)

    def training_gravity_cells(self) -> list[int]:
        return [sorted(self.gravity_scales).index(1.0)]

    def as_dict(self) -> dict[str, Any]:
        return {
            "axes": {
                "moon_phase_deg": [round((a + b) / 2, 4) for a, b in self.phase_edges_deg],
                "gravity_scale": sorted(self.gravity_scales),
            },
            "cell_edges": {
                "moon_phase_deg": self.phase_edges_deg,
                "gravity_scale": self.gravity_edges,
            },
            "training_region": {
                "moon_phase_deg": list(self.training_sector_deg),
                "gravity_scale": [1.0, 1.0],
            },
            "episodes_per_cell": self.episodes_per_cell,
        }


def evaluate_grid(
    agent: Agent,
    task: Task,
    env_kwargs: dict[str, Any],
    grid: GridSpec,
    eval_seed_base: int,
    report: Callable[[int], None] = lambda launches: None,
) -> dict[str, Any]:
    """Per ``k`` of ``grid.identification_trials``: success per cell (rows: gravity scales,
    columns: phase cells), and per gravity the launches the agent spent there and its
    model's residual after them (``adaptation.adapt``). Launch ``i`` of a cell resets with
    seed ``eval_seed_base + i``. ``success`` and ``identification_launches*`` repeat the
    smallest ``k`` (zero-shot when 0 is one), as earlier runs recorded them. ``report`` is
    told the launches flown so far after each gravity."""
    gravities = sorted(grid.gravity_scales)
    cells = grid.phase_cells * grid.episodes_per_cell
    flown = 0
    ks = sorted(set(grid.identification_trials))
    success = {k: np.zeros((len(gravities), grid.phase_cells)) for k in ks}
    trials = {k: [0] * len(gravities) for k in ks}
    residuals: dict[int, list[float | None]] = {k: [None] * len(gravities) for k in ks}
    for row, gravity in enumerate(gravities):
        kwargs = {**env_kwargs, "gravity_scale": gravity}
        if gravity == 1.0:  # the training world: nothing to adapt to
            line = fly_phase_cells(agent, task.make_env(**everywhere(kwargs)), grid, eval_seed_base)
            for k in ks:
                success[k][row] = line
            flown += cells
            report(flown)
            continue
        for adapted in adapt(
            agent, lambda kwargs=kwargs: task.make_env(**kwargs), tuple(ks), (GRID_AXIS, row)
        ):
            success[adapted.k][row] = fly_phase_cells(
                adapted.agent, task.make_env(**everywhere(kwargs)), grid, eval_seed_base
            )
            trials[adapted.k][row] = adapted.trials
            residuals[adapted.k][row] = _rounded(adapted.residual)
        flown += max(ks) + len(ks) * cells
        report(flown)
    first = ks[0]
    return {
        "success": success[first].round(4).tolist(),
        "identification_launches": trials[first],
        "identification_launches_per_cell": [round(n / grid.phase_cells, 4) for n in trials[first]],
        "identification_trials": ks,
        "per_k": {
            str(k): {
                "success": success[k].round(4).tolist(),
                "trials": trials[k],
                "residual": residuals[k],
            }
            for k in ks
        },
    }


def fly_phase_cells(agent: Agent, env: Any, grid: GridSpec, eval_seed_base: int) -> np.ndarray:
    """Success per phase cell of ``env``'s world (all around the orbit), ``act`` only;
    closes ``env``."""
    line = np.zeros(grid.phase_cells)
    try:
        for column, (low, high) in enumerate(grid.phase_edges_deg):
            hits = 0
            for i in range(grid.episodes_per_cell):
                phase = math.radians(low + (i + 0.5) / grid.episodes_per_cell * (high - low))
                hits += fly_once(agent, env, eval_seed_base + i, phase)
            line[column] = hits / grid.episodes_per_cell
    finally:
        env.close()
    return line


def fly_once(agent: Agent, env: Any, seed: int, phase_rad: float) -> bool:
    """One scored episode at the Moon phase ``phase_rad``, ``act`` only, to its end (a
    launch: one step; a flight: tens of decisions); not a training trial."""
    observation, info = env.reset(seed=seed, options={"moon_phase_rad": phase_rad})
    agent.reset_episode()
    done = False
    while not done:
        observation, _, terminated, truncated, info = env.step(agent.act(observation, info))
        done = terminated or truncated
    return bool(info["is_success"])


def everywhere(env_kwargs: dict[str, Any]) -> dict[str, Any]:
    """The world of ``env_kwargs`` with situations all around the orbit (scoring sets each
    launch's phase)."""
    return {**env_kwargs, "moon_phase_deg": (0.0, 360.0)}


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


def radius(success: np.ndarray, grid: GridSpec) -> dict[str, float]:
    """The generalization radius per axis (``inf`` when unbounded on the grid)."""
    success = np.asarray(success, dtype=float)
    phase_pass = success[grid.training_gravity_cells()].mean(axis=0) > PASS_RATE
    gravity_pass = success[:, grid.training_phase_cells()].mean(axis=1) > PASS_RATE
    low, high = grid.training_sector_deg
    return {
        "moon_phase_deg": _reach_both_sides(
            grid.phase_edges_deg, phase_pass, (low + high) / 2, circular=True
        ),
        "gravity_scale": _reach_both_sides(grid.gravity_edges, gravity_pass, 1.0, circular=False),
    }


def _reach_both_sides(
    edges: list[tuple[float, float]], passing: np.ndarray, centre: float, circular: bool
) -> float:
    """Smaller of the two outward reaches from ``centre`` over equal-width cells."""
    n, eps = len(edges), 1e-9
    width = edges[0][1] - edges[0][0]
    reaches = []
    for direction in (+1, -1):
        # Start in the cell holding the centre, on this side of it.
        start = next(
            i
            for i, (a, b) in enumerate(edges)
            if (a - eps <= centre < b - eps if direction > 0 else a + eps < centre <= b + eps)
        )
        a, b = edges[start]
        first_far_edge = (b - centre) if direction > 0 else (centre - a)
        reach = math.inf  # unless a failing cell stops the walk
        for step in range(n):
            index = start + direction * step
            if circular:
                index %= n
            elif not 0 <= index < n:
                break
            if not passing[index]:
                reach = first_far_edge + (step - 1) * width if step else 0.0
                break
            if circular and first_far_edge + step * width >= 180.0 - eps:
                break  # half the circle passes on this side
        reaches.append(reach)
    return min(reaches)


def radius_as_json(value: float) -> float | str:
    return "unbounded" if math.isinf(value) else round(value, 4)


def summarise_grid(
    jobs: list[dict[str, Any]], agent_order: list[str], grid_fields: dict[str, Any]
) -> dict[str, Any]:
    """``generalization_grid`` (axes, training region, success per cell per agent: the
    mean over seeds, and per seed, at the smallest ``k``; ``per_k``: the same per ``k``,
    with the launches spent and the model residual per gravity, means over seeds) and
    ``generalization_radius`` (per agent and axis, from the mean grid at the smallest
    ``k``; "unbounded" when every cell on the axis passes)."""
    grid = GridSpec(**grid_fields)
    ks = sorted(set(grid.identification_trials))
    per_agent, per_seed, launches, radii = {}, {}, {}, {}
    per_k: dict[str, dict[str, dict[str, Any]]] = {
        str(k): {"success": {}, "success_per_seed": {}, "trials": {}, "residual": {}} for k in ks
    }
    for agent in agent_order:
        mine = sorted(
            (
                j
                for j in jobs
                if j["agent"] == agent and j["phase"] == "train" and "generalization" in j
            ),
            key=lambda j: j["seed"],
        )
        if not mine:
            continue
        grids = np.array([j["generalization"]["success"] for j in mine])
        mean = grids.mean(axis=0)
        per_agent[agent] = mean.round(4).tolist()
        per_seed[agent] = {str(j["seed"]): j["generalization"]["success"] for j in mine}
        launches[agent] = (
            np.mean([j["generalization"]["identification_launches_per_cell"] for j in mine], axis=0)
            .round(4)
            .tolist()
        )
        radii[agent] = {axis: radius_as_json(value) for axis, value in radius(mean, grid).items()}
        if not all("per_k" in j["generalization"] for j in mine):
            continue  # jobs from before every agent was given launches in changed worlds
        for k in map(str, ks):
            found = [j["generalization"]["per_k"][k] for j in mine]
            add_per_k(per_k[k], agent, mine, found)
    found = {
        **grid.as_dict(),
        "success": per_agent,
        "success_per_seed": per_seed,
        "identification_launches_per_cell": launches,
    }
    if any(per_k[str(ks[0])]["success"]):
        found.update(identification_trials=ks, per_k=per_k)
    return {"generalization_grid": found, "generalization_radius": radii}


def mean_rounded(values: list[Any]) -> list[Any]:
    """The mean over seeds (the first axis), rounded, as plain lists."""
    return np.mean(values, axis=0).round(4).tolist()


def mean_or_none(rows: list[list[float | None]]) -> list[float | None]:
    """Column means over seeds of values that may be None (no residual): None where every
    seed has none."""
    means = []
    for column in zip(*rows, strict=True):
        values = [v for v in column if v is not None]
        means.append(round(float(np.mean(values)), 4) if values else None)
    return means


def _spec(grid: dict[str, Any]) -> GridSpec:
    return GridSpec(
        phase_cells=len(grid["axes"]["moon_phase_deg"]),
        training_sector_deg=tuple(grid["training_region"]["moon_phase_deg"]),
        gravity_scales=tuple(grid["axes"]["gravity_scale"]),
        episodes_per_cell=grid["episodes_per_cell"],
        identification_trials=tuple(grid.get("identification_trials", (0,))),
    )


def at_k(grid: dict[str, Any], k: str) -> dict[str, Any]:
    """``grid`` (a summary's ``generalization_grid``) with the success after ``k`` launches
    per changed world in place of its own."""
    entry = grid["per_k"][k]
    return {**grid, "success": entry["success"], "success_per_seed": entry["success_per_seed"]}


def grid_success(grid: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """Per agent, its mean success inside the training region and over the whole grid,
    from a summary's ``generalization_grid``."""
    spec = _spec(grid)
    region = np.ix_(spec.training_gravity_cells(), spec.training_phase_cells())
    return {
        agent: (float(np.array(success)[region].mean()), float(np.mean(success)))
        for agent, success in grid["success"].items()
    }


def grid_figures_per_seed(grid: dict[str, Any]) -> dict[str, dict[str, list[float | None]]]:
    """Per agent, one value per seed of: the radius along each axis (``None`` when
    unbounded), the success inside the training region and over the whole grid."""
    spec = _spec(grid)
    region = np.ix_(spec.training_gravity_cells(), spec.training_phase_cells())
    figures = {}
    for agent, seeds in grid["success_per_seed"].items():
        grids = [np.array(seeds[seed], dtype=float) for seed in sorted(seeds, key=int)]
        radii = [radius(g, spec) for g in grids]
        figures[agent] = {
            **{
                f"radius_{axis}": [None if math.isinf(r[axis]) else r[axis] for r in radii]
                for axis in ("moon_phase_deg", "gravity_scale")
            },
            "success_in_region": [float(g[region].mean()) for g in grids],
            "success_on_grid": [float(g.mean()) for g in grids],
        }
    return figures


def format_radius(values: list[float | None], unit: str = "") -> str:
    """Median [interval] of a radius over seeds, then ``unit``; an unbounded radius
    ranks above every number and shows as "unbounded"."""

    def show(value):
        return "unbounded" if value is None else f"{value:g}"

    if all(v is None for v in values):
        return "unbounded"
    text = show(censored_median(values))
    interval = median_interval(values)
    if interval is not None:
        text += f" [{show(interval[0])} to {show(interval[1])}]"
    return text + unit


def trial_words(summary_file: dict[str, Any]) -> tuple[str, str]:
    """What the run's task calls one trial and several ("launch", "launches"; "flight",
    "flights"): the words of the study's tables, findings and plots."""
    task = get_task(summary_file["task"])
    return task.episode_noun, task.trials_word


def count_of(k: int | str, words: tuple[str, str]) -> str:
    """``k`` trials in ``words`` (``trial_words``): "1 launch", "5 launches"."""
    return f"{k} {words[0] if int(k) == 1 else words[1]}"


def grid_table(summary_file: dict[str, Any]) -> str:
    """One row per agent; with ``per_k`` (runs since launches in changed worlds were given to
    every agent) one row per agent and ``k``, with the success over the changed gravities and
    the trials spent there."""
    grid = summary_file["generalization_grid"]
    trials = trial_words(summary_file)[1]
    if "per_k" in grid:
        return _grid_table_per_k(grid, trials)
    header = [
        "agent",
        "seeds",
        "radius: phase (deg)",
        "radius: gravity scale",
        "success in region",
        "success on grid",
        f"{trials}/cell",
    ]
    rows = []
    for agent, figures in grid_figures_per_seed(grid).items():
        rows.append(
            [
                agent,
                str(len(figures["success_on_grid"])),
                format_radius(figures["radius_moon_phase_deg"]),
                format_radius(figures["radius_gravity_scale"]),
                format_rates(figures["success_in_region"]),
                format_rates(figures["success_on_grid"]),
                f"{np.mean(grid['identification_launches_per_cell'][agent]):.2f}",
            ]
        )
    return text_table(header, rows)


#: the per-k table's columns read at nominal gravity (radius along the phase, success in the
#: training region), where no agent spends launches: left blank after an agent's first row
#: where they are the same as on it
SAME_AT_NOMINAL = (3, 5)


def blank_repeats(rows: list[list[str]], columns: Sequence[int]) -> list[list[str]]:
    """``rows`` (an agent's rows together, its first row first; the agent in column 0) with
    each of ``columns`` left blank below the agent's first row where it repeats that row:
    figures no ``k`` changes, written once."""
    firsts: dict[str, list[str]] = {}
    out = []
    for row in rows:
        first = firsts.setdefault(row[0], row)
        out.append(
            row
            if first is row
            else ["" if i in columns and cell == first[i] else cell for i, cell in enumerate(row)]
        )
    return out


def blank_as_first_row(trials: str) -> str:
    """What a blank cell of the per-k table means, in the task's word for its trials."""
    return (
        "a blank radius along the phase or success in region: the same as on the agent's "
        f"first row (both are read at nominal gravity, where no agent spends {trials})"
    )


def _grid_table_per_k(grid: dict[str, Any], trials: str) -> str:
    header = [
        "agent",
        f"{trials} per changed world",
        "seeds",
        "radius: phase (deg)",
        "radius: gravity scale",
        "success in region",
        "success at changed gravity",
        "success on grid",
        f"{trials} spent in changed worlds",
    ]
    changed = [i for i, g in enumerate(grid["axes"]["gravity_scale"]) if g != 1.0]
    figures_per_k = {k: grid_figures_per_seed(at_k(grid, k)) for k in grid["per_k"]}
    rows = []
    for agent in grid["success"]:
        for k, figures in figures_per_k.items():
            mine = figures[agent]
            seeds = grid["per_k"][k]["success_per_seed"][agent]
            off_nominal = [
                float(np.array(seeds[seed], dtype=float)[changed].mean()) if changed else 0.0
                for seed in sorted(seeds, key=int)
            ]
            row = [
                agent,
                k,
                str(len(mine["success_on_grid"])),
                format_radius(mine["radius_moon_phase_deg"]),
                format_radius(mine["radius_gravity_scale"]),
                format_rates(mine["success_in_region"]),
                format_rates(off_nominal),
                format_rates(mine["success_on_grid"]),
                f"{sum(grid['per_k'][k]['trials'][agent]):g}",
            ]
            rows.append(row)
    return text_table(header, blank_repeats(rows, SAME_AT_NOMINAL))


def add_per_k(
    entry: dict[str, dict], agent: str, jobs: list[dict[str, Any]], found: list[dict[str, Any]]
) -> None:
    """One agent's figures at one k into ``entry``: mean success, success per seed, trials
    spent and model residual, over its ``jobs`` (``found``: each job's figures at that k)."""
    entry["success"][agent] = mean_rounded([f["success"] for f in found])
    entry["success_per_seed"][agent] = {
        str(j["seed"]): f["success"] for j, f in zip(jobs, found, strict=True)
    }
    entry["trials"][agent] = mean_rounded([f["trials"] for f in found])
    entry["residual"][agent] = mean_or_none([f["residual"] for f in found])
