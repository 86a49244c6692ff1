"""A high-accuracy reference flight (scipy ``solve_ivp``, DOP853, rtol 1e-10) of the
same equations the pymunk simulator flies, for accuracy tests and benchmarks.

It integrates in the planet's frame with the moon on its circular orbit, stopping
at the first contact with the moon or the planet or at the time limit.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.integrate import solve_ivp

from envs.rocket.flight import Launch, initial_state, moon_position
from envs.rocket.world import Constants, RocketWorld


def reference_flight(world: RocketWorld, true: Constants, launch: Launch, rtol: float = 1e-10) -> dict:
    """Returns ``{"hit": bool, "arrival_km": (x, y) | None, "t_s": float, "closest_approach_km": float}``."""
    gm_e, gm_m = true.gm_earth, true.gm_moon
    omega = world.moon_angular_rate(launch.moon_distance_km)
    d, phase = launch.moon_distance_km, launch.moon_phase_rad

    def moon(t: float) -> tuple[float, float]:
        return d * math.cos(phase + omega * t), d * math.sin(phase + omega * t)

    def rhs(t: float, s: np.ndarray) -> list[float]:
        x, y, vx, vy = s
        mx, my = moon(t)
        r3 = (x * x + y * y) ** 1.5
        dx, dy = x - mx, y - my
        d3 = (dx * dx + dy * dy) ** 1.5
        return [vx, vy, -gm_e * x / r3 - gm_m * dx / d3, -gm_e * y / r3 - gm_m * dy / d3]

    def hits_moon(t: float, s: np.ndarray) -> float:
        mx, my = moon(t)
        return math.hypot(s[0] - mx, s[1] - my) - world.moon_radius_km

    def hits_earth(t: float, s: np.ndarray) -> float:
        return math.hypot(s[0], s[1]) - world.earth_radius_km

    hits_moon.terminal = hits_earth.terminal = True
    hits_moon.direction = hits_earth.direction = -1
    position, velocity = initial_state(world, true, launch)
    solution = solve_ivp(
        rhs,
        (0.0, world.max_flight_days * 86400.0),
        np.concatenate([position, velocity]),
        method="DOP853",
        rtol=rtol,
        atol=1e-9 * world.moon_distance_km[1],
        events=(hits_moon, hits_earth),
        dense_output=True,
    )
    ts = np.linspace(0.0, solution.t[-1], 20_000)
    states = solution.sol(ts)
    moon_xy = np.array([moon_position(world, launch, t) for t in ts[::10]])
    closest = float(np.min(np.hypot(states[0, ::10] - moon_xy[:, 0], states[1, ::10] - moon_xy[:, 1])))
    hit = len(solution.t_events[0]) > 0
    arrival = tuple(solution.y_events[0][0][:2]) if hit else None
    return {
        "hit": hit,
        "arrival_km": arrival,
        "t_s": float(solution.t[-1]),
        "closest_approach_km": max(0.0, closest - world.moon_radius_km) if not hit else 0.0,
    }
