"""The city task: one walk per trial across a city full of cars (``sandbox/CityNav-v1``),
then the same in a city never seen before."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

import envs
from envs.city.citymap import MAPS_DIR
from envs.city.maploader import load_map
from sandbox.outputs.reference import reference_of
from sandbox.outputs.run_data import RunData, best_learner_job, value_at
from sandbox.outputs.stats import censored_median
from sandbox.pictures.drawing import (
    ANIMATION_TEXT_PT,
    ANIMATION_TITLE_PT,
    color,
    interval_band,
    reference_curves,
    save_figure,
    train_rows,
    wrap_to_width,
)
from sandbox.tasks import HELD_ON_TEST, TRANSFER_COLUMNS, EpisodeDrawing, Option, Size, Task

CELL_COLORS = {"#": (0.35, 0.35, 0.38), ".": (0.92, 0.90, 0.85), "+": (0.55, 0.55, 0.58)}
LANE_COLOR, CROSSING_COLOR = (0.65, 0.65, 0.68), (0.85, 0.85, 0.85)
CAR_MARKERS = ("^", ">", "v", "<")  #: by heading: 0 N, 1 E, 2 S, 3 W
CAR_COLORS = {1: "tab:blue", 2: "tab:red"}  #: by speed, cells per tick


def deaths_figure(run: RunData):
    """Cumulative training deaths against training trials; each planner's count as a line;
    the committed reference's curves dashed beside the others' when one matches the city."""
    jobs, summary = run.train_jobs, run.summary
    figure, axes = plt.subplots(figsize=(10, 5.3), layout="constrained")
    for agent in summary:
        mine = [j for j in jobs if j["agent"] == agent and j["phase"] == "train"]
        if run.kind(agent) == "planner":
            trials = max(j["trials_spent"] for j in mine)
            deaths = max(j["total_training_deaths"] for j in mine)
            axes.axhline(
                deaths,
                color=color(agent),
                lw=2.5,
                label=f"{agent}: {deaths} deaths in {trials:,} trials",
            )
            continue
        points = sorted({row["trials"] for j in mine for row in j["evaluations"]})
        deaths = np.array(
            [[value_at(j["evaluations"], p, "training_deaths") for p in points] for j in mine]
        )
        axes.plot(
            points,
            np.median(deaths, axis=0),
            color=color(agent),
            marker=".",
            label=f"{agent} (median, band: its interval)",
        )
        if len(mine) > 1:
            axes.fill_between(points, *interval_band(deaths), color=color(agent), alpha=0.15, lw=0)
    reference = reference_of(run)
    if reference is not None:
        others = [agent for agent in summary if run.kind(agent) != "planner"]
        reference_curves(axes, run, reference, train_rows, "training_deaths", others)
    axes.set_xscale("log")
    axes.set_yscale("symlog", linthresh=1)
    axes.set_ylim(bottom=-0.3)
    axes.set_xlabel("training trials (log scale)")
    axes.set_ylabel("cumulative deaths in training (symlog)")
    axes.grid(alpha=0.3, which="both")
    axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # off the lines
    parts = []
    for agent in run.agents_of_kind("learner"):
        median = censored_median(summary[agent]["deaths_to_reliable"])
        parts.append(f"{agent} {median:,.0f}" if median is not None else f"{agent} never reliable")
    planner = next((summary[a] for a in run.agents_of_kind("planner")), None)
    head = f"planner {max(planner['total_training_deaths'])} deaths; " if planner else ""
    title = head + "learners' deaths before reliable: " + ", ".join(parts)
    figure.suptitle(wrap_to_width(title, figure, 10), fontsize=10)  # the figure is wider
    return figure


def plot_deaths(run: RunData) -> Path:
    figure = deaths_figure(run)
    path = run.folder / "deaths_vs_trials.png"
    return save_figure(figure, path, dpi=110)


def map_image(city) -> np.ndarray:
    rows, cols = city.shape
    image = np.zeros((rows, cols, 3))
    for r in range(rows):
        for c in range(cols):
            ch = city.grid[r][c]
            image[r, c] = CELL_COLORS.get(ch, CROSSING_COLOR if ch in "NESW" else LANE_COLOR)
    return image


def plot_maps(run: RunData) -> Path | None:
    """Both cities with the planner's path and the best learner's path on the first held-out
    episode."""
    transfer = run.config.get("transfer_env_kwargs")
    if not transfer:
        return None
    map_names = (run.config["env_kwargs"]["map"], transfer["map"])
    train_jobs = run.pictured_jobs
    planners = set(run.agents_of_kind("planner"))
    planner = next((j for j in train_jobs if j["agent"] in planners), None)
    learner = best_learner_job(run, train_jobs)
    figure, axes_pair = plt.subplots(1, 2, figsize=(13, 7.2), layout="constrained")
    for axes, map_name, which in zip(axes_pair, map_names, ("home", "new"), strict=True):
        city = load_map(map_name)
        axes.imshow(map_image(city), interpolation="nearest")
        for job, style in ((planner, "-"), (learner, "--")):
            if job is None:
                continue
            traces = (
                job["traces"]["evaluation"]
                if which == "home"
                else job.get("transfer", {}).get("zero_shot_traces")
            )
            if not traces:
                continue
            trace = traces[0]
            path = np.array(trace["path"])
            outcome = (
                "reached goal"
                if trace["success"]
                else "died"
                if trace.get("death")
                else "timed out"
            )
            axes.plot(
                path[:, 1],
                path[:, 0],
                style,
                color=color(job["agent"]),
                lw=2.2,
                label=f"{job['agent']}: {outcome} in {len(path) - 1} ticks",
            )
            axes.plot(path[0, 1], path[0, 0], "o", color=color(job["agent"]), ms=7)
            axes.plot(trace["goal"][1], trace["goal"][0], "*", color="gold", ms=16, mec="k")
        kind = "training city" if which == "home" else "new city, zero-shot"
        axes.set_title(f"{city.name} ({kind}); first held-out episode", fontsize=10)
        axes.set_xticks([])
        axes.set_yticks([])
        axes.legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.5, 0.0))  # off the map
    figure.suptitle(
        "Paths walked (dot: start, star: goal; lanes mid grey, crossings light, buildings dark)",
        fontsize=10,
    )
    path = run.folder / "maps.png"
    return save_figure(figure, path, dpi=100)


def city_trace(infos: list[dict[str, Any]]) -> dict[str, Any]:
    """A walk as it can be replayed, from its infos: per tick, the start first, the
    pedestrian's cell (``path``, row and col) and the cars ``info["cars"]`` lists
    (``cars``: row, col, heading 0 N / 1 E / 2 S / 3 W, speed in cells per tick; the cars
    within the pedestrian's sight, what the agent saw), the ``goal``, the ``outcome``, and
    the cell where a car hit the pedestrian (``death_cell``, None if none did)."""
    last = infos[-1]
    return {
        "path": [list(map(int, info["position"])) for info in infos],
        "goal": list(map(int, infos[0]["goal"])),
        "cars": [np.asarray(info["cars"], dtype=int).reshape(-1, 4).tolist() for info in infos],
        "outcome": str(last.get("outcome", "")),
        "death_cell": list(map(int, last["position"])) if last.get("death") else None,
    }


@lru_cache(maxsize=8)
def city_picture(map_name: str):
    """The city a map name loads, and its picture (one RGB pixel a cell)."""
    city = load_map(map_name)
    return city, map_image(city)


def sight_radius(env_kwargs: dict[str, Any], city) -> int | None:
    """The radius (cells) of the window the agents saw the cars in, resolved as the env
    does: the run's ``sight``, else the map's, else the env's default; None: the whole map."""
    from envs.city import env as city_env  # here: only animations need the env's default

    sight = env_kwargs.get("sight", getattr(city, "sight", None))
    if sight is None:
        sight = getattr(city_env, "DEFAULT_SIGHT", None)
    return None if sight is None or sight == "full" else int(sight)


def walk_outcome(trace: dict[str, Any]) -> str:
    """How a saved walk ended, in words: "reached the goal at tick 41"."""
    ticks = len(trace.get("path") or [[0, 0]]) - 1
    if trace.get("success"):
        return f"reached the goal at tick {ticks}"
    if trace.get("death_cell") or trace.get("death"):
        return f"hit by a car at tick {ticks}"
    return f"out of time at tick {ticks}"


def animate_walk(
    axes, trace: dict[str, Any], env_kwargs: dict[str, Any], label: str
) -> EpisodeDrawing | None:
    """A saved walk on ``axes``: the map, the pedestrian and its trail, the goal, the cars it
    saw and its sight window, and a cross where a car hit it. A trace from before the cars
    were kept shows the walk alone."""
    if not trace.get("path"):
        return None
    city, image = city_picture(str(env_kwargs.get("map", "train")))
    path = np.array(trace["path"])
    cars = trace.get("cars")
    radius = sight_radius(env_kwargs, city) if cars is not None else None
    axes.imshow(image, interpolation="nearest")
    axes.plot(trace["goal"][1], trace["goal"][0], "*", color="gold", ms=18, mec="k")
    (trail,) = axes.plot([], [], "-", color="tab:green", lw=2.2, alpha=0.8)
    (walker,) = axes.plot([], [], "o", color="lime", mec="k", ms=10)
    (hit,) = axes.plot([], [], "X", color="red", mec="k", ms=19)
    heading_dots = [
        axes.scatter([], [], marker=marker, s=75, edgecolors="k", linewidths=0.5)
        for marker in CAR_MARKERS
    ]
    window = plt.Rectangle(
        (0, 0), 0, 0, fill=False, ec="yellow", lw=2.2, visible=radius is not None
    )
    axes.add_patch(window)
    clock = axes.text(
        0.01,
        0.99,
        "",
        transform=axes.transAxes,
        fontsize=ANIMATION_TEXT_PT,
        va="top",
        color="w",
        fontweight="bold",
    )
    axes.set_xlim(-0.5, city.shape[1] - 0.5)
    axes.set_ylim(city.shape[0] - 0.5, -0.5)
    axes.set_xticks([])
    axes.set_yticks([])
    ticks = len(path) - 1
    death = trace.get("death_cell") or (path[-1].tolist() if trace.get("death") else None)
    title = f"{label}: {walk_outcome(trace)}"
    axes.set_title(wrap_to_width(title, axes, ANIMATION_TITLE_PT), fontsize=ANIMATION_TITLE_PT)

    def draw(step: int) -> None:
        row, col = path[step]
        trail.set_data(path[: step + 1, 1], path[: step + 1, 0])
        walker.set_data([col], [row])
        if cars is not None:
            seen = np.array(cars[step], dtype=float).reshape(-1, 4)
            for heading, dots in enumerate(heading_dots):
                mine = seen[seen[:, 2] == heading]
                dots.set_offsets(mine[:, 1::-1] if len(mine) else np.empty((0, 2)))
                dots.set_facecolors([CAR_COLORS.get(int(speed), "tab:red") for speed in mine[:, 3]])
        if radius is not None:
            window.set_bounds(
                col - radius - 0.5, row - radius - 0.5, 2 * radius + 1, 2 * radius + 1
            )
        hit.set_data(([death[1]], [death[0]]) if death is not None and step == ticks else ([], []))
        clock.set_text(f"tick {step}")

    if cars is None:
        caption = f"{city.name}: the walk only (an older run kept no cars); star: the goal"
    else:
        seen = "every car" if radius is None else f"cars within sight (yellow box, radius {radius})"
        caption = f"{city.name}: {seen} as the agent saw them; blue 1 cell/tick, red 2; star: goal"
    return EpisodeDrawing(
        len(path), draw, (window, trail, *heading_dots, walker, hit, clock), caption
    )


def check_map(text: str) -> str:
    load_map(
        text
    )  # a MapError (a ValueError) names the file, line and column; an unknown name, the built-ins
    return text


def check_sight(text: str) -> int | str:
    """A sight for every agent: a radius of at least one cell, or the whole map. The env
    takes 0 too, but at sight 0 nobody sees a car before it is on them."""
    if text == "full":
        return text
    expected = f"expected a positive whole number of cells (1, 2, ...) or 'full', got {text!r}"
    try:
        radius = int(text)
    except ValueError:
        raise ValueError(expected) from None
    if radius < 1:
        raise ValueError(expected)
    return radius


def map_files(env_kwargs: dict[str, Any]) -> list[Path]:
    name = str(env_kwargs.get("map", "train"))
    if name.startswith("random:"):
        return []  # generated from its seed and the generator's code
    builtin = MAPS_DIR / f"{name}.txt"
    return [builtin if builtin.is_file() else Path(name)]


CITY = Task(
    name="city",
    description="cross a city full of cars to a goal, one walk per trial; then a city never seen "
    "before",
    env_id=envs.CITY_ID,
    agents=("traffic-planner", "learned-model", "random", "ppo", "dqn", "a2c"),
    # The default run fits in 5 minutes on 2 cores (its longest job first). DQN, the best
    # learner, makes a gradient step per env step, yet gets 250 walks so that the story's
    # learner shows it starts to learn: after 250 walks its held-out success on seed 0 was
    # 33 % (42 % with epsilon ending at 0.1), where after 50 it was 0 %. A DQN job of 250
    # walks takes 120-185 s beside another job, so the demo runs one seed (two took 254-304
    # s); A2C (2 % after 100 walks, 60 s a job) gets 50 and each set 12 walks.
    default=Size(
        budget=100,
        seeds=1,
        eval_episodes=12,
        eval_points_per_decade=3,
        transfer_budget=50,
        agent_budgets={"dqn": 250, "a2c": 50},
    ),
    # The reference: DQN, the best learner, became reliable after 487 walks in the validation
    # search (results/tuning/city.json); in CityNav-v0 it needed about 2,400 more in the new
    # city, so both stages get 3,000 (a job stops once reliable at two points in a row), with
    # five evaluation points a decade, as the rocket's reference.
    full=Size(
        budget=3_000, seeds=10, eval_episodes=50, eval_points_per_decade=5, transfer_budget=3_000
    ),
    env_kwargs={"map": "train"},
    transfer_env_kwargs={"map": "new"},
    trials_word="walks",
    options=(
        Option(
            "--map",
            "map",
            "the training city: a built-in map name (train, new, random:SEED) or the path of "
            "a map file (default: train)",
            parse=check_map,
            metavar="MAP",
        ),
        Option(
            "--transfer-map",
            "map",
            "the new city for the transfer stage (default: new)",
            parse=check_map,
            worlds=("transfer",),
            metavar="MAP",
        ),
        Option(
            "--sight",
            "sight",
            "what every agent sees of the traffic: a radius in cells (1 or more), or 'full' "
            "for the whole map (default: the map's, else the env's)",
            parse=check_sight,
            worlds=("training", "transfer"),
            metavar="CELLS",
        ),
    ),
    trace=city_trace,
    summary_keys=(
        "deaths_to_first_success",
        "deaths_to_reliable",
        "total_training_deaths",
        "total_evaluation_deaths",
    ),
    columns=(
        ("trials to first success", "trials_to_first_success", "trials"),
        ("deaths to first success", "deaths_to_first_success", "deaths"),
        ("trials to reliable", "trials_to_reliable", "trials"),
        HELD_ON_TEST,
        ("deaths to reliable", "deaths_to_reliable", "deaths"),
        ("training deaths", "total_training_deaths", "count"),
        ("evaluation deaths", "total_evaluation_deaths", "count"),
        ("final success", "final_success_rate", "rate"),
    ),
    transfer_columns=(
        TRANSFER_COLUMNS[0],
        ("zero-shot deaths/episode", "transfer_zero_shot_deaths_per_episode", "fraction"),
        *TRANSFER_COLUMNS[1:],
        ("deaths there (training + evaluation)", "transfer_deaths_total", "count"),
        # training deaths there split by the ledger: in the learner's random warm-up, if any,
        # and in the rest, the deaths of learning
        ("training deaths there: warm-up", "transfer_warm_up_training_deaths", "count"),
        ("training deaths there: learning", "transfer_learning_training_deaths", "count"),
    ),
    plots=(plot_deaths, plot_maps),
    data_files=map_files,
    animate_episode=animate_walk,
    episode_outcome=walk_outcome,
    episode_noun="walk",
)
