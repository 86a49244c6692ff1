"""The sight study of the city: how much seeing matters to each side.

Every agent walks the training city once per sight radius (what anyone sees of the
traffic: the observation window and the cars listed in ``info``), from 2 cells to the
whole map, trained from scratch at each. The table gives, per sight, each agent's
deaths per training walk and its final held-out success, with their intervals.

    python -m sandbox.compare city --study sight
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from sandbox.outputs.run_data import RunData
from sandbox.outputs.stats import format_rates, median_interval
from sandbox.pictures.drawing import color, save_figure, wrap_to_width
from sandbox.studies import Study, split_variant
from sandbox.tasks import Size

SIGHTS = {"sight2": 2, "sight3": 3, "sight5": 5, "sight8": 8, "full": "full"}


def summarise(
    jobs: list[dict[str, Any]], labels: list[str], settings: dict[str, Any]
) -> dict[str, Any]:
    """``sight``: per agent and sight, per seed: deaths per training walk, final success,
    evaluation deaths and trials spent."""
    table: dict[str, dict[str, dict[str, list]]] = {}
    for label in labels:
        agent, variant = split_variant(label)
        mine = sorted(
            (j for j in jobs if j["agent"] == label and j["phase"] == "train"),
            key=lambda j: j["seed"],
        )
        if not mine:
            continue
        table.setdefault(agent, {})[variant] = {
            "seeds": [j["seed"] for j in mine],
            "trials_spent": [j["trials_spent"] for j in mine],
            "deaths_per_walk": [
                j["total_training_deaths"] / max(1, j["trials_spent"]) for j in mine
            ],
            "final_success_rate": [j["final_success_rate"] for j in mine],
            "evaluation_deaths": [j["total_evaluation_deaths"] for j in mine],
        }
    return {"sight": {"radius": {name: SIGHTS.get(name, name) for name in SIGHTS}, "agents": table}}


def _with_interval(values: list[float], digits: int = 2) -> str:
    text = f"{float(np.median(values)):.{digits}f}"
    interval = median_interval(values)
    return text + (f" [{interval[0]:.{digits}f} to {interval[1]:.{digits}f}]" if interval else "")


def tables(summary_file: dict[str, Any]) -> list[tuple[str, str]]:
    if "sight" not in summary_file:
        return []
    agents = summary_file["sight"]["agents"]
    header = ["sight"] + [
        f"{agent}: {what}" for agent in agents for what in ("deaths/walk", "final success")
    ]
    rows = []
    for variant, radius in summary_file["sight"]["radius"].items():
        if not any(variant in by_sight for by_sight in agents.values()):
            continue
        row = [str(radius)]
        for by_sight in agents.values():
            entry = by_sight.get(variant)
            row += (
                ["-", "-"]
                if entry is None
                else [
                    _with_interval(entry["deaths_per_walk"]),
                    format_rates(entry["final_success_rate"]),
                ]
            )
        rows.append(row)
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]

    def line(cells):
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=False)).rstrip()

    text = "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])
    return [
        (
            "What each side pays at each sight radius (training deaths per walk; held-out success "
            "at the end)",
            text,
        )
    ]


def findings(summary_file: dict[str, Any]) -> list[str]:
    if "sight" not in summary_file:
        return []
    parts = []
    for agent, by_sight in summary_file["sight"]["agents"].items():
        each = [
            f"{float(np.median(entry['deaths_per_walk'])):.2f} deaths per walk and "
            f"{100 * float(np.median(entry['final_success_rate'])):.0f} % success at sight "
            f"{summary_file['sight']['radius'].get(variant, variant)}"
            for variant, entry in by_sight.items()
        ]
        parts.append(f"{agent}: " + ", ".join(each))
    return ["**Sight** (medians over seeds): " + "; ".join(parts) + "."]


def plot(run: RunData) -> Path | None:
    if "sight" not in run.summary_file:
        return None
    sight = run.summary_file["sight"]
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.6), layout="constrained")
    n_agents = len(sight["agents"])
    for index, (agent, by_sight) in enumerate(sight["agents"].items()):
        variants = [v for v in sight["radius"] if v in by_sight]
        ticks = np.arange(len(variants))
        # Side by side within a sight, so that equal figures (0 deaths) do not hide each other.
        x = ticks + 0.08 * (index - (n_agents - 1) / 2)
        for axes, key in ((left, "deaths_per_walk"), (right, "final_success_rate")):
            values = [by_sight[v][key] for v in variants]
            median = np.array([np.median(v) for v in values])
            bounds = [median_interval(v) or (np.median(v), np.median(v)) for v in values]
            error = np.array(
                [
                    [m - b[0] for m, b in zip(median, bounds, strict=True)],
                    [b[1] - m for m, b in zip(median, bounds, strict=True)],
                ]
            )
            axes.errorbar(
                x, median, yerr=error, marker="o", capsize=4, color=color(agent), label=agent
            )
            axes.set_xticks(ticks, [str(sight["radius"][v]) for v in variants])
    left.set_ylabel("deaths per training walk (median and its interval)")
    right.set_ylabel("held-out success at the end (median and its interval)")
    right.set_ylim(-0.02, 1.02)
    for axes in (left, right):
        axes.set_xlabel("sight radius (cells; full: the whole map)")
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
    title = "How much seeing the traffic matters to each side"
    figure.suptitle(wrap_to_width(title, figure, 10), fontsize=10)
    path = run.folder / "sight.png"
    return save_figure(figure, path, dpi=100)


SIGHT = Study(
    name="sight",
    task="city",
    description="every agent at sight radius 2, 3, 5, 8 and the whole map, trained from scratch at "
    "each: "
    "deaths and success per sight",
    agents=("traffic-planner", "learned-model", "dqn"),
    variants={name: {"sight": radius} for name, radius in SIGHTS.items()},
    # The default run shows the trend in under 5 minutes on 2 cores: few walks, DQN fewer.
    default=Size(
        budget=60, seeds=2, eval_episodes=20, eval_points_per_decade=2, agent_budgets={"dqn": 40}
    ),
    # The reference: DQN's network grows with the window (16,734 inputs at full sight on map
    # "train", about 10 times slower per gradient step than at sight 5), so 600 walks a sight
    # and 3 seeds: DQN's 600 walks took 1-2, 2-3, 4-6, 10-14 and 38-47 minutes a seed at sight
    # 2, 3, 5, 8 and full (one worker of two, partly under load), 3.3 worker-hours for the
    # whole run; its deaths per walk are those of early learning.
    full=Size(budget=600, seeds=3, eval_episodes=50, eval_points_per_decade=3),
    summarise=summarise,
    tables=tables,
    findings=findings,
    plots=(plot,),
)
