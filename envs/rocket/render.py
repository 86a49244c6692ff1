"""Drawing a launch as an RGB array (matplotlib, imported only when rendering)."""

from __future__ import annotations

import math

import numpy as np

from envs.rocket.flight import Flight, Launch
from envs.rocket.world import RocketWorld


def draw_flight(
    world: RocketWorld,
    situation: tuple[float, float] | None,
    launch: Launch | None,
    flight: Flight | None,
) -> np.ndarray:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5, 5), dpi=80)
    canvas = FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    scale = 1e3
    limit = 1.15 * world.moon_distance_km[1] / scale
    axes.add_patch(_circle((0, 0), world.earth_radius_km / scale * 4, "tab:blue"))
    if situation is not None:
        phase, distance = situation
        orbit = np.linspace(0, 2 * math.pi, 200)
        axes.plot(
            distance * np.cos(orbit) / scale, distance * np.sin(orbit) / scale, color="0.8", lw=0.8
        )
        axes.add_patch(
            _circle(
                (distance * math.cos(phase) / scale, distance * math.sin(phase) / scale),
                world.moon_radius_km / scale * 3,
                "0.6",
            )
        )
    if flight is not None:
        path = flight.telemetry_position_km / scale
        axes.plot(path[:, 0], path[:, 1], color="tab:red", lw=1.2)
        moon_end = flight.telemetry_moon_km[-1] / scale
        axes.add_patch(_circle(tuple(moon_end), world.moon_radius_km / scale * 3, "0.3"))
        axes.set_title(
            f"{flight.outcome}: closest {flight.closest_approach_km:,.0f} km", fontsize=9
        )
    axes.set_xlim(-limit, limit)
    axes.set_ylim(-limit, limit)
    axes.set_aspect("equal")
    axes.set_xlabel("x (1000 km)")
    axes.set_ylabel("y (1000 km)")
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def _circle(center, radius, color):
    from matplotlib.patches import Circle

    return Circle(center, radius, color=color)
