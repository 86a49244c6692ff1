"""City plots: cumulative deaths in training, and both maps with walked paths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from sandbox.plots import PLANNERS, color, value_at
from sandbox.stats import censored_median

CELL_COLORS = {"#": (0.35, 0.35, 0.38), ".": (0.92, 0.90, 0.85), "+": (0.55, 0.55, 0.58)}
LANE_COLOR, CROSSING_COLOR = (0.65, 0.65, 0.68), (0.85, 0.85, 0.85)


def plot_deaths(run_dir: Path, jobs: list[dict[str, Any]], summary: dict[str, Any]) -> Path:
    """Cumulative training deaths against training trials; the planner's zero as a line."""
    figure, axes = plt.subplots(figsize=(8, 5))
    for agent in summary:
        mine = [j for j in jobs if j["agent"] == agent and j["phase"] == "train"]
        if agent in PLANNERS:
            trials = max(j["trials_spent"] for j in mine)
            deaths = max(j["total_training_deaths"] for j in mine)
            axes.axhline(deaths, color=color(agent), lw=2.5, label=f"{agent}: {deaths} deaths in {trials:,} trials")
            continue
        points = sorted({row["trials"] for j in mine for row in j["evaluations"]})
        deaths = np.array([[value_at(j["evaluations"], p, "training_deaths") for p in points] for j in mine])
        axes.plot(points, np.median(deaths, axis=0), color=color(agent), marker=".", label=f"{agent} (median)")
        if len(mine) > 1:
            axes.fill_between(points, deaths.min(axis=0), deaths.max(axis=0), color=color(agent), alpha=0.15, lw=0)
    axes.set_xscale("log")
    axes.set_yscale("symlog", linthresh=1)
    axes.set_ylim(bottom=-0.3)
    axes.set_xlabel("training trials (log scale)")
    axes.set_ylabel("cumulative deaths in training (symlog)")
    axes.grid(alpha=0.3, which="both")
    axes.legend(fontsize=8, loc="upper left")
    learners = {a: e for a, e in summary.items() if a not in PLANNERS and a != "random"}
    parts = []
    for agent, entry in learners.items():
        median = censored_median(entry["deaths_to_reliable"])
        parts.append(f"{agent} {median:,.0f}" if median is not None else f"{agent} never reliable")
    planner = next((e for a, e in summary.items() if a in PLANNERS), None)
    head = f"planner {max(planner['total_training_deaths'])} deaths; " if planner else ""
    axes.set_title(head + "learners' deaths before reliable: " + ", ".join(parts), fontsize=10)
    figure.tight_layout()
    path = run_dir / "deaths_vs_trials.png"
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def map_image(city) -> np.ndarray:
    rows, cols = city.shape
    image = np.zeros((rows, cols, 3))
    for r in range(rows):
        for c in range(cols):
            ch = city.grid[r][c]
            image[r, c] = CELL_COLORS.get(ch, CROSSING_COLOR if ch in "NESW" else LANE_COLOR)
    return image


def plot_maps(run_dir: Path, jobs: list[dict[str, Any]], summary: dict[str, Any], map_names: tuple[str, str]) -> Path:
    """Both cities with the planner's path and the best learner's path on the first held-out episode."""
    from envs.city.citymap import load_map

    train_jobs = [j for j in jobs if j["phase"] == "train" and j["seed"] == 0]
    planner = next((j for j in train_jobs if j["agent"] in PLANNERS), None)
    learners = [j for j in train_jobs if j["agent"] not in PLANNERS and j["agent"] != "random"]
    learner = max(learners, key=lambda j: j["final_success_rate"], default=None)
    figure, axes_pair = plt.subplots(1, 2, figsize=(13, 6.5))
    for axes, map_name, which in zip(axes_pair, map_names, ("home", "new")):
        city = load_map(map_name)
        axes.imshow(map_image(city), interpolation="nearest")
        for job, style in ((planner, "-"), (learner, "--")):
            if job is None:
                continue
            traces = job["traces"]["evaluation"] if which == "home" else job.get("transfer", {}).get("zero_shot_traces")
            if not traces:
                continue
            trace = traces[0]
            path = np.array(trace["path"])
            outcome = "reached goal" if trace["success"] else "died" if trace.get("death") else "timed out"
            axes.plot(path[:, 1], path[:, 0], style, color=color(job["agent"]), lw=2.2,
                      label=f"{job['agent']}: {outcome} in {len(path) - 1} ticks")
            axes.plot(path[0, 1], path[0, 0], "o", color=color(job["agent"]), ms=7)
            axes.plot(trace["goal"][1], trace["goal"][0], "*", color="gold", ms=16, mec="k")
        kind = "training city" if which == "home" else "new city, zero-shot"
        axes.set_title(f"{city.name} ({kind}); first held-out episode", fontsize=10)
        axes.set_xticks([])
        axes.set_yticks([])
        axes.legend(fontsize=8, loc="lower left")
    figure.suptitle("Paths walked (dot: start, star: goal; lanes mid grey, crossings light, buildings dark)",
                    fontsize=10)
    figure.tight_layout()
    path = run_dir / "maps.png"
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
