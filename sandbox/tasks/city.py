"""The city task: one walk per trial across a city full of cars (``sandbox/CityNav-v0``),
then the same in a city never seen before."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

import envs
from envs.city.citymap import MAPS_DIR
from envs.city.maploader import load_map
from sandbox.plotting import RunData, best_learner_job, color, interval_band, value_at
from sandbox.stats import censored_median
from sandbox.tasks import TRANSFER_COLUMNS, Option, Size, Task

from sandbox.stats import censored_median

CELL_COLORS = {"#": (0.35, 0.35, 0.38), ".": (0.92, 0.90, 0.85), "+": (0.55, 0.55, 0.58)}
LANE_COLOR, CROSSING_COLOR = (0.65, 0.65, 0.68), (0.85, 0.85, 0.85)


def plot_deaths(run: RunData) -> Path:
    """Cumulative training deaths against training trials; each planner's count as a line."""
    jobs, summary = run.train_jobs, run.summary
    figure, axes = plt.subplots(figsize=(8, 5))
    for agent in summary:
        mine = [j for j in jobs if j["agent"] == agent and j["phase"] == "train"]
        if run.kind(agent) == "planner":
            trials = max(j["trials_spent"] for j in mine)
            deaths = max(j["total_training_deaths"] for j in mine)
            axes.axhline(deaths, color=color(agent), lw=2.5, label=f"{agent}: {deaths} deaths in {trials:,} trials")
            continue
        points = sorted({row["trials"] for j in mine for row in j["evaluations"]})
        deaths = np.array([[value_at(j["evaluations"], p, "training_deaths") for p in points] for j in mine])
        axes.plot(points, np.median(deaths, axis=0), color=color(agent), marker=".", label=f"{agent} (median, band: 95 % interval)")
        if len(mine) > 1:
            axes.fill_between(points, *interval_band(deaths), color=color(agent), alpha=0.15, lw=0)
    axes.set_xscale("log")
    axes.set_yscale("symlog", linthresh=1)
    axes.set_ylim(bottom=-0.3)
    axes.set_xlabel("training trials (log scale)")
    axes.set_ylabel("cumulative deaths in training (symlog)")
    axes.grid(alpha=0.3, which="both")
    axes.legend(fontsize=8, loc="upper left")
    parts = []
    for agent in run.agents_of_kind("learner"):
        median = censored_median(summary[agent]["deaths_to_reliable"])
        parts.append(f"{agent} {median:,.0f}" if median is not None else f"{agent} never reliable")
    planner = next((summary[a] for a in run.agents_of_kind("planner")), None)
    head = f"planner {max(planner['total_training_deaths'])} deaths; " if planner else ""
    axes.set_title(head + "learners' deaths before reliable: " + ", ".join(parts), fontsize=10)
    figure.tight_layout()
    path = run.folder / "deaths_vs_trials.png"
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


def plot_maps(run: RunData) -> Path | None:
    """Both cities with the planner's path and the best learner's path on the first held-out episode."""
    transfer = run.config.get("transfer_env_kwargs")
    if not transfer:
        return None
    map_names = (run.config["env_kwargs"]["map"], transfer["map"])
    train_jobs = [j for j in run.train_jobs if j["seed"] == 0]
    planners = set(run.agents_of_kind("planner"))
    planner = next((j for j in train_jobs if j["agent"] in planners), None)
    learner = best_learner_job(run, train_jobs)
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
    path = run.folder / "maps.png"
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def city_trace(infos: list[dict[str, Any]]) -> dict[str, Any]:
    """The pedestrian's path (row, col per tick) and its goal."""
    return {"path": [list(map(int, info["position"])) for info in infos], "goal": list(map(int, infos[0]["goal"]))}


def check_map(text: str) -> str:
    load_map(text)  # a MapError (a ValueError) names the file, line and column; an unknown name, the built-ins
    return text


def check_sight(text: str) -> int | str:
    if text == "full":
        return text
    try:
        radius = int(text)
    except ValueError:
        raise ValueError(f"expected a radius in cells (a whole number from 1) or 'full', got {text!r}") from None
    if radius < 1:
        raise ValueError(f"expected a radius in cells (a whole number from 1) or 'full', got {text!r}")
    return radius


def map_files(env_kwargs: dict[str, Any]) -> list[Path]:
    name = str(env_kwargs.get("map", "train"))
    if name.startswith("random:"):
        return []  # generated from its seed and the generator's code
    builtin = MAPS_DIR / f"{name}.txt"
    return [builtin if builtin.is_file() else Path(name)]


CITY = Task(
    name="city",
    description="cross a city full of cars to a goal, one walk per trial; then a city never seen before",
    env_id=envs.CITY_ID,
    agents=("traffic-planner", "random", "ppo", "dqn", "a2c"),
    # The default run shows the deaths in under 5 minutes on 2 cores; DQN makes a gradient
    # step per env step, so it gets fewer walks.
    default=Size(budget=100, seeds=2, eval_episodes=20, eval_points=6, transfer_budget=50,
                 agent_budgets={"dqn": 50}),
    # The reference: DQN, the best learner, became reliable at about 900 trials in tuning and
    # needed about 2,400 more in the new city, so both stages get 3,000.
    full=Size(budget=3_000, seeds=2, eval_episodes=50, eval_points=12, transfer_budget=3_000),
    env_kwargs={"map": "train"},
    transfer_env_kwargs={"map": "new"},
    options=(
        Option("--map", "map", "the training city: a built-in map name (train, new, random:SEED) or the path of "
               "a map file (default: train)", parse=check_map),
        Option("--transfer-map", "map", "the new city for the transfer stage (default: new)", parse=check_map,
               worlds=("transfer",)),
        Option("--sight", "sight", "what every agent sees of the traffic: a radius in cells, or 'full' for the "
               "whole map (default: the map's, else the env's)", parse=check_sight, worlds=("training", "transfer")),
    ),
    trace=city_trace,
    summary_keys=("deaths_to_first_success", "deaths_to_reliable", "total_training_deaths",
                  "total_evaluation_deaths"),
    columns=(
        ("trials to first success", "trials_to_first_success", "trials"),
        ("deaths to first success", "deaths_to_first_success", "count"),
        ("trials to reliable", "trials_to_reliable", "trials"),
        ("deaths to reliable", "deaths_to_reliable", "count"),
        ("training deaths", "total_training_deaths", "count"),
        ("evaluation deaths", "total_evaluation_deaths", "count"),
        ("final success", "final_success_rate", "rate"),
    ),
    transfer_columns=(
        TRANSFER_COLUMNS[0],
        ("zero-shot deaths/episode", "transfer_zero_shot_deaths_per_episode", "fraction"),
        *TRANSFER_COLUMNS[1:],
        ("deaths there (training + evaluation)", "transfer_deaths_total", "count"),
    ),
    plots=(plot_deaths, plot_maps),
    data_files=map_files,
)
