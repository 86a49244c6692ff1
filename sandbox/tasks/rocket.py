"""The rocket task: one launch per trial toward the Moon (``sandbox/RocketLaunch-v0``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

import envs
from envs.rocket.world import WORLDS_DIR, load_world
from sandbox.plotting import RunData, best_learner_job
from sandbox.tasks import Option, Size, Task


def rocket_trace(infos: list[dict[str, Any]]) -> dict[str, Any]:
    """A launch's path, from its infos (the last one holds the telemetry)."""
    return rocket_flight(infos[-1])


def rocket_flight(info: dict[str, Any]) -> dict[str, Any]:
    """The rocket's tracked positions and the Moon's last one, in thousands of km
    (rounded: results stay small)."""
    telemetry = info["telemetry"]
    return {
        "path": np.round(telemetry["position_km"] / 1e3, 2).tolist(),
        "moon_end": np.round(telemetry["moon_km"][-1] / 1e3, 2).tolist(),
    }


def check_world(text: str) -> str:
    load_world(text)  # a WorldError (a ValueError) names the file, or the presets
    return text


def world_files(env_kwargs: dict[str, Any]) -> list[Path]:
    world = str(env_kwargs.get("world", "earth_moon"))
    preset = WORLDS_DIR / f"{world}.toml"
    return [preset if preset.is_file() else Path(world)]


def plot_trajectories(run: RunData) -> Path | None:
    """The planner's training launches 1..k beside the best learner's first and latest
    attempts, seed 0, with the planet, the Moon and its orbit drawn to the world's scale."""
    seed0 = [j for j in run.train_jobs if j["seed"] == 0]
    planners = set(run.agents_of_kind("planner"))
    planner = next((j for j in seed0 if j["agent"] in planners), None)
    panels = [(job, title) for job, title in ((planner, f"{planner['agent']}: training launches 1..k" if planner
                                                else None), (best_learner_job(run, seed0), None)) if job is not None]
    if not panels:
        return None
    world = load_world(run.config["env_kwargs"].get("world", "earth_moon"))
    moon_orbit = world.moon_reference_distance_km / 1e3
    extent = 1.11 * world.moon_distance_km[1] / 1e3  # 450 thousand km for earth_moon
    figure, axes_list = plt.subplots(1, len(panels), figsize=(6 * len(panels), 6), squeeze=False)
    for axes, (job, title) in zip(axes_list[0], panels):
        launches = list(job["traces"]["training_first"])
        last = job["traces"]["training_last"]
        if last and all(last["trial"] != launch["trial"] for launch in launches):
            launches.append(last)
        cmap = plt.get_cmap("viridis")
        for i, launch in enumerate(launches):
            path = np.array(launch["path"])
            label = f"trial {launch['trial']:,}: {'hit' if launch['success'] else 'miss'}"
            shade = cmap(i / max(1, len(launches) - 1))
            axes.plot(path[:, 0], path[:, 1], "-" if launch["success"] else "--", color=shade, lw=1.3, label=label)
            axes.add_patch(plt.Circle(launch["moon_end"], world.moon_radius_km / 1e3 * 4, color=shade, alpha=0.6))
        axes.add_patch(plt.Circle((0, 0), world.earth_radius_km / 1e3 * 3, color="tab:blue"))
        orbit = np.linspace(0, 2 * np.pi, 300)
        axes.plot(moon_orbit * np.cos(orbit), moon_orbit * np.sin(orbit), color="0.8", lw=0.8,
                  label="Moon's orbit (mean)")
        axes.set_aspect("equal")
        axes.set_xlim(-extent, extent)
        axes.set_ylim(-extent, extent)
        axes.set_xlabel("x (1000 km)")
        axes.set_ylabel("y (1000 km)")
        hits = sum(launch["success"] for launch in launches)
        axes.set_title(title or f"{job['agent']}: first {len(job['traces']['training_first'])} trials and trial "
                       f"{job['trials_spent']:,} ({hits} hit{'s' if hits != 1 else ''} shown)", fontsize=10)
        axes.legend(fontsize=7, loc="lower left")
    figure.suptitle(f"Training launches in {world.name}, seed 0, each from its own Moon phase; discs: the Moon "
                    "(4x) at flight end, the planet (3x)", fontsize=10)
    figure.tight_layout()
    path = run.folder / "trajectories.png"
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


ROCKET = Task(
    name="rocket",
    description="put a rocket on the Moon: one launch (where on the parking orbit, how much delta-v) per trial",
    env_id=envs.ROCKET_ID,
    agents=("planner", "random", "ppo", "sac", "td3"),
    # The default run shows the contrast in under 3 minutes on 2 cores; SAC and TD3 make a
    # gradient step per launch, so they get fewer launches than PPO and random search.
    default=Size(budget=1000, seeds=3, eval_episodes=30, eval_points=10,
                 agent_budgets={"planner": 30, "sac": 600, "td3": 600}),
    # The reference: SAC, the best learner, became reliable at about 5 000 trials in tuning.
    full=Size(budget=10_000, seeds=3, eval_episodes=50, eval_points=16,
              agent_budgets={"planner": 30, "random": 3_000}),
    env_kwargs={"world": "earth_moon"},
    options=(Option("--world", "world", "a world preset name or a path to a world TOML file (default: earth_moon)",
                    parse=check_world),),
    trace=rocket_trace,
    trace_training=rocket_flight,
    plots=(plot_trajectories,),
    data_files=world_files,
)
