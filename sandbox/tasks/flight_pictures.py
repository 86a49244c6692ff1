"""The flight's pictures: what a saved flight keeps, its trajectory plot and its animation.

A flight is tracked at each decision (``info["telemetry"]`` at its end), so a saved flight
is the tracked positions and the Moon's at those decisions, with the burn commanded at
each. The whole flight spans the Moon's orbit, where a capture orbit (within 3 Moon radii)
is a dot; so each picture also shows the end of the flight in the Moon's frame, within its
sphere of influence, where the Moon and the capture orbit are drawn to scale.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from envs.rocket.flight_env import sphere_of_influence_km
from envs.rocket.world import RocketWorld, load_world
from sandbox.outputs.run_data import RunData, best_learner_job
from sandbox.pictures.drawing import (
    ANIMATION_TEXT_PT,
    ANIMATION_TITLE_PT,
    save_figure,
    wrap_to_width,
)
from sandbox.tasks import EpisodeDrawing
from sandbox.tasks.rocket import PLANET_DRAWN_SCALE, animate_launch, rocket_trace

#: a burn commanded at a decision is marked if it is at least this large (km/s): 1 m/s
BURN_MARKED_KM_S = 1e-3
#: the env's ``outcome`` values as a title says them
FLIGHT_OUTCOME_WORDS = {
    "captured": "captured by the Moon",
    "crashed": "hit the Moon",
    "earth": "fell on the planet",
    "escaped": "escaped",
    "fell_back": "fell back near the planet",
    "out_of_fuel": "ran out of propellant",
    "time_limit": "out of time",
}


def flight_trace(infos: list[dict[str, Any]]) -> dict[str, Any]:
    """A held-out flight as it can be replayed: the launch's trace (tracked ``path``, ``moon``
    positions in thousands of km, decision times ``t_h`` in hours, ``outcome``,
    ``closest_approach_km``) and the ``burns`` commanded at each decision (km/s, x and y)."""
    return {**rocket_trace(infos), "burns": _burns(infos[-1])}


def flight_training_trace(info: dict[str, Any]) -> dict[str, Any]:
    """A training flight, from its last info: its tracked ``path`` and the ``moon`` at each
    decision (thousands of km), ``moon_end``, and the ``burns`` (km/s)."""
    telemetry = info["telemetry"]
    moon = np.round(telemetry["moon_km"] / 1e3, 2)
    return {
        "path": np.round(telemetry["position_km"] / 1e3, 2).tolist(),
        "moon": moon.tolist(),
        "moon_end": moon[-1].tolist(),
        "burns": _burns(info),
    }


def _burns(info: dict[str, Any]) -> list[list[float]]:
    return np.round(info["telemetry"]["burn_km_s"], 4).tolist()


def flight_outcome(trace: dict[str, Any], hours: float | None = None) -> str:
    """How a saved flight ended, in words: "captured by the Moon at 81 h after 3 burns"."""
    words = FLIGHT_OUTCOME_WORDS.get(
        trace.get("outcome", ""), "captured by the Moon" if trace.get("success") else "missed"
    )
    if hours is None and trace.get("t_h"):
        hours = trace["t_h"][-1]
    if hours is not None:
        words += f" at {hours:.0f} h"
    burns = trace.get("burns")
    if burns is not None:
        count = int((np.hypot(*np.array(burns).T) >= BURN_MARKED_KM_S).sum()) if burns else 0
        words += f" after {count} burn{'s' if count != 1 else ''}"
    return words


def _burn_sizes(trace: dict[str, Any], length: int) -> np.ndarray:
    burns = np.array(trace.get("burns") or np.zeros((length, 2)), dtype=float).reshape(-1, 2)
    return np.hypot(burns[:length, 0], burns[:length, 1])


def _moon_frame(trace: dict[str, Any]) -> np.ndarray | None:
    """The tracked path relative to the Moon (thousands of km), or None without its positions."""
    path, moon = np.array(trace["path"]), np.array(trace.get("moon") or [])
    return path - moon if moon.shape == path.shape else None


def _draw_moon_view(axes, world: RocketWorld, soi: float) -> None:
    """The Moon (to scale), the capture bounds and the sphere of influence, Moon-centred."""
    circle = np.linspace(0.0, 2.0 * np.pi, 200)
    r_moon = world.moon_radius_km / 1e3
    axes.add_patch(plt.Circle((0, 0), r_moon, color="0.4"))
    axes.plot(3 * r_moon * np.cos(circle), 3 * r_moon * np.sin(circle), ":", color="0.5", lw=0.8)
    axes.plot(soi * np.cos(circle), soi * np.sin(circle), color="0.8", lw=0.8)
    axes.set_aspect("equal")
    axes.set_xlim(-1.05 * soi, 1.05 * soi)
    axes.set_ylim(-1.05 * soi, 1.05 * soi)


def _soi(world: RocketWorld) -> float:
    """The sphere of influence (thousands of km) at the Moon's mean distance."""
    nominal = world.nominal
    return (
        sphere_of_influence_km(nominal.gm_earth, nominal.gm_moon, world.moon_reference_distance_km)
        / 1e3
    )


def plot_flight_trajectories(run: RunData) -> Path | None:
    figure = flight_trajectories_figure(run)
    if figure is None:
        return None
    path = run.folder / "flight_trajectories.png"
    return save_figure(figure, path, dpi=100)


def flight_trajectories_figure(run: RunData):
    """The planner's first training flights beside the best learner's first and latest, seed 0:
    above, the whole flights about the planet; below, the same flights in the Moon's frame
    within its sphere of influence. Burns of at least 1 m/s are marked, sized by their size.
    None without a planner or a learner."""
    seed0 = run.pictured_jobs
    planners = set(run.agents_of_kind("planner"))
    planner = next((j for j in seed0 if j["agent"] in planners), None)
    panels = [job for job in (planner, best_learner_job(run, seed0)) if job is not None]
    if not panels:
        return None
    world = load_world(run.config["env_kwargs"].get("world", "earth_moon"))
    moon_orbit = world.moon_reference_distance_km / 1e3
    extent = 1.11 * world.moon_distance_km[1] / 1e3
    soi = _soi(world)
    figure, grid = plt.subplots(
        2, len(panels), figsize=(6 * len(panels), 12.5), squeeze=False, layout="compressed"
    )
    cmap = plt.get_cmap("viridis")
    circle = np.linspace(0, 2 * np.pi, 300)
    for column, job in enumerate(panels):
        whole, near = grid[0][column], grid[1][column]
        first = list(job["traces"]["training_first"])
        flights = list(first)
        last = job["traces"]["training_last"]
        if last and all(last["trial"] != flight["trial"] for flight in flights):
            flights.append(last)
        whole.plot(moon_orbit * np.cos(circle), moon_orbit * np.sin(circle), color="0.8", lw=0.8)
        whole.add_patch(
            plt.Circle((0, 0), world.earth_radius_km / 1e3 * PLANET_DRAWN_SCALE, color="tab:blue")
        )
        _draw_moon_view(near, world, soi)
        for i, flight in enumerate(flights):
            path = np.array(flight["path"])
            shade = cmap(i / max(1, len(flights) - 1))
            style = "-" if flight["success"] else "--"
            outcome = FLIGHT_OUTCOME_WORDS.get(flight.get("outcome", ""), "missed")
            label = f"flight {flight['trial']:,}: {outcome}"
            sizes = _burn_sizes(flight, len(path))
            burned = sizes >= BURN_MARKED_KM_S
            marker_area = 8 + 30 * np.sqrt(sizes[burned])
            whole.plot(path[:, 0], path[:, 1], style, color=shade, lw=1.2, label=label)
            whole.scatter(*path[burned].T, s=marker_area, color=shade, edgecolor="k", zorder=3)
            whole.add_patch(
                plt.Circle(
                    flight["moon_end"], 4 * world.moon_radius_km / 1e3, color=shade, alpha=0.6
                )
            )
            relative = _moon_frame(flight)
            if relative is not None:
                near.plot(relative[:, 0], relative[:, 1], style, color=shade, lw=1.2)
                near.scatter(
                    *relative[burned].T, s=marker_area, color=shade, edgecolor="k", zorder=3
                )
        whole.set_aspect("equal")
        whole.set_xlim(-extent, extent)
        whole.set_ylim(-extent, extent)
        whole.set_xlabel("x from the planet (1000 km)")
        whole.set_ylabel("y from the planet (1000 km)")
        near.set_xlabel("x from the Moon (1000 km)")
        near.set_ylabel("y from the Moon (1000 km)")
        captures = sum(flight["success"] for flight in flights)
        latest = f" and flight {flights[-1]['trial']:,}" if len(flights) > len(first) else ""
        role = "best learner " if job["agent"] in run.agents_of_kind("learner") else ""
        whole.set_title(
            f"{role}{job['agent']}: its first {len(first)} training flights{latest} "
            f"({captures} captured)",
            fontsize=10,
        )
        near.set_title(f"{job['agent']}: the same flights in the Moon's frame", fontsize=10)
        whole.legend(fontsize=8, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.1))
    headline = (
        f"Training flights in {world.name}, seed 0, tracked at each decision; dots: burns (area "
        f"grows with the km/s). Above: discs are the Moon (4x) at the flight's end and the planet "
        f"({PLANET_DRAWN_SCALE}x). Below: the Moon to scale, its sphere of influence (grey ring) "
        "and the capture bound, 3 Moon radii (dotted)"
    )
    figure.suptitle(wrap_to_width(headline, figure, 10), fontsize=10)
    return figure


def animate_flight(
    axes, trace: dict[str, Any], env_kwargs: dict[str, Any], label: str
) -> EpisodeDrawing | None:
    """A saved flight on ``axes``, as the launch's animation draws it (the planet, the Moon
    moving, the path as it is flown), with its burns marked as they are made and an inset of
    the flight in the Moon's frame within its sphere of influence."""
    launch = animate_launch(axes, trace, env_kwargs, label)
    if launch is None:
        return None
    world = load_world(env_kwargs.get("world", "earth_moon"))
    path = np.array(trace["path"])
    hours = trace.get("t_h") or list(range(len(path)))
    title = f"{label}: {flight_outcome(trace, hours[-1])}"
    axes.set_title(wrap_to_width(title, axes, ANIMATION_TITLE_PT), fontsize=ANIMATION_TITLE_PT)
    sizes = _burn_sizes(trace, len(path))
    (burns,) = axes.plot([], [], "o", mfc="none", mec="tab:orange", ms=8, mew=1.5)
    inset = axes.inset_axes((0.62, 0.02, 0.36, 0.36))
    soi = _soi(world)
    _draw_moon_view(inset, world, soi)
    inset.set_xticks([])
    inset.set_yticks([])
    inset.set_title("Moon's frame", fontsize=ANIMATION_TEXT_PT - 2, pad=2)
    relative = _moon_frame(trace)
    shade = "tab:green" if trace.get("success") else "tab:red"
    (near_path,) = inset.plot([], [], color=shade, lw=1.5)
    (near_burns,) = inset.plot([], [], "o", mfc="none", mec="tab:orange", ms=5, mew=1.2)

    def draw(step: int) -> None:
        launch.draw(step)
        burned = sizes[: step + 1] >= BURN_MARKED_KM_S
        burns.set_data(path[: step + 1][burned, 0], path[: step + 1][burned, 1])
        if relative is not None:
            near_path.set_data(relative[: step + 1, 0], relative[: step + 1, 1])
            near_burns.set_data(relative[: step + 1][burned, 0], relative[: step + 1][burned, 1])

    caption = (
        f"{launch.caption}; orange rings: burns of at least 1 m/s; inset: the Moon's frame to "
        "scale, its sphere of influence (grey) and the 3-radii capture bound (dotted)"
    )
    moving = (*launch.moving, burns, near_path, near_burns)
    return EpisodeDrawing(launch.steps, draw, moving, caption)
