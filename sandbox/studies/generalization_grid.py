"""Local versus extreme generalization, measured on a grid of launch situations.

Agents train in a bounded region (Moon phases within a sector, the world as it
is), then are evaluated without further training on a grid that extends well
beyond it: Moon phase (all around the orbit) x gravity scale (the planet's true GM
scaled, unknown to the agents). An agent that ``identifies`` worlds (the planner)
may spend its usual few launches on each changed world first; those launches are
counted and reported per grid cell.

The **generalization radius** along an axis is how far from the centre of the
training region the success rate stays above 50 %: walking outward cell by cell
on each side, the reach is the far edge of the last passing cell; the radius is
the smaller reach of the two sides, ``inf`` (reported "unbounded") if every cell
on the axis passes. Along one axis, a cell's success is its mean over the
training cells of the other axis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from agents.base import Agent
from agents.ledger import Ledger
from sandbox.outputs.stats import censored_median, format_rates, median_interval
from sandbox.tasks import Task

PASS_RATE = 0.5
MAX_IDENTIFICATION_TRIALS = 5  #: launches an identifying agent may spend on each changed world


@dataclass(frozen=True)
class GridSpec:
    """The evaluation grid and the training region inside it."""

    phase_cells: int = 12  #: cells of equal width around the orbit, starting at 0 degrees
    training_sector_deg: tuple[float, float] = (0.0, 60.0)  #: must lie on cell edges
    gravity_scales: tuple[float, ...] = (0.9, 0.95, 1.0, 1.05, 1.1)  #: evenly spaced, including 1.0
    episodes_per_cell: int = 3

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
    agent: Agent, task: Task, env_kwargs: dict[str, Any], grid: GridSpec, eval_seed_base: int
) -> dict[str, Any]:
    """Success per cell (rows: gravity scales, columns: phase cells) and the identification
    launches spent per gravity scale. Launch ``k`` of a cell resets with seed
    ``eval_seed_base + k``."""
    gravities = sorted(grid.gravity_scales)
    success = np.zeros((len(gravities), grid.phase_cells))
    launches = []
    # The training world first: an identifying agent starts each changed world from it.
    order = sorted(range(len(gravities)), key=lambda i: abs(gravities[i] - 1.0))
    for row in order:
        gravity = gravities[row]
        kwargs = {**env_kwargs, "gravity_scale": gravity}
        spent = 0
        if gravity != 1.0 and agent.identifies_worlds:
            ledger = Ledger(lambda kwargs=kwargs: task.make_env(**kwargs))
            while ledger.first_success() is None and ledger.n_trials < MAX_IDENTIFICATION_TRIALS:
                agent.train(ledger, ledger.n_trials + 1)
            spent = ledger.n_trials
        launches.append((row, spent))
        env = task.make_env(**{**kwargs, "moon_phase_deg": (0.0, 360.0)})
        for column, (low, high) in enumerate(grid.phase_edges_deg):
            hits = 0
            for k in range(grid.episodes_per_cell):
                phase = math.radians(low + (k + 0.5) / grid.episodes_per_cell * (high - low))
                observation, info = env.reset(
                    seed=eval_seed_base + k, options={"moon_phase_rad": phase}
                )
                agent.reset_episode()
                _, _, _, _, info = env.step(agent.act(observation, info))
                hits += bool(info["is_success"])
            success[row, column] = hits / grid.episodes_per_cell
        env.close()
    launches_per_row = [spent for _, spent in sorted(launches)]
    return {
        "success": success.round(4).tolist(),
        "identification_launches": launches_per_row,
        "identification_launches_per_cell": [
            round(n / grid.phase_cells, 4) for n in launches_per_row
        ],
    }


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
    mean over seeds, and per seed) and ``generalization_radius`` (per agent and axis,
    from the mean grid; "unbounded" when every cell on the axis passes)."""
    grid = GridSpec(**grid_fields)
    per_agent, per_seed, launches, radii = {}, {}, {}, {}
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
    return {
        "generalization_grid": {
            **grid.as_dict(),
            "success": per_agent,
            "success_per_seed": per_seed,
            "identification_launches_per_cell": launches,
        },
        "generalization_radius": radii,
    }


def _spec(grid: dict[str, Any]) -> GridSpec:
    return GridSpec(
        phase_cells=len(grid["axes"]["moon_phase_deg"]),
        training_sector_deg=tuple(grid["training_region"]["moon_phase_deg"]),
        gravity_scales=tuple(grid["axes"]["gravity_scale"]),
        episodes_per_cell=grid["episodes_per_cell"],
    )


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


def grid_table(summary_file: dict[str, Any]) -> str:
    grid = summary_file["generalization_grid"]
    header = [
        "agent",
        "seeds",
        "radius: phase (deg)",
        "radius: gravity scale",
        "success in region",
        "success on grid",
        "launches/cell",
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
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]

    def line(cells):
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=False)).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])
