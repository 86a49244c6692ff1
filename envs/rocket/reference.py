"""High-accuracy reference flights (scipy ``solve_ivp``, DOP853, rtol 1e-10) of the
same equations the pymunk simulator flies, for accuracy tests and benchmarks.

Both integrate in the planet's frame with the moon on its circular orbit:
``reference_flight`` stops at the first contact with the moon or the planet or at the
time limit; ``reference_miss_km`` flies on through the moon to measure how close a
pass comes.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy.integrate import solve_ivp

from envs.rocket.flight import Launch, initial_state
from envs.rocket.world import Constants, RocketWorld

State = np.ndarray  # x, y, vx, vy in km and km/s


def _moon_frame(
    world: RocketWorld, launch: Launch
) -> Callable[[float, State], tuple[float, float, float, float]]:
    """``relative(t, s)``: the rocket's position and velocity relative to the moon."""
    d, phase = launch.moon_distance_km, launch.moon_phase_rad
    omega = world.moon_angular_rate(d)

    def relative(t: float, s: State) -> tuple[float, float, float, float]:
        c, n = math.cos(phase + omega * t), math.sin(phase + omega * t)
        return s[0] - d * c, s[1] - d * n, s[2] + d * omega * n, s[3] - d * omega * c

    return relative


def _integrate(
    world: RocketWorld,
    true: Constants,
    launch: Launch,
    rtol: float,
    events: tuple,
    min_moon_distance_km: float = 0.0,
):
    """Integrates the launch with DOP853 until a terminal event or the time limit.
    Closer to the moon's centre than ``min_moon_distance_km`` its pull is that of a
    uniform sphere of that radius."""
    gm_e, gm_m = true.gm_earth, true.gm_moon
    relative = _moon_frame(world, launch)
    floor = min_moon_distance_km**2

    def rhs(t: float, s: State) -> list[float]:
        x, y, vx, vy = s
        dx, dy, _, _ = relative(t, s)
        r3 = (x * x + y * y) ** 1.5
        d2 = max(dx * dx + dy * dy, floor)
        d3 = d2 * math.sqrt(d2)
        return [vx, vy, -gm_e * x / r3 - gm_m * dx / d3, -gm_e * y / r3 - gm_m * dy / d3]

    def hits_earth(t: float, s: State) -> float:
        return math.hypot(s[0], s[1]) - world.earth_radius_km

    hits_earth.terminal, hits_earth.direction = True, -1
    position, velocity = initial_state(world, true, launch)
    return solve_ivp(
        rhs,
        (0.0, world.max_flight_days * 86400.0),
        np.concatenate([position, velocity]),
        method="DOP853",
        rtol=rtol,
        atol=1e-9 * world.moon_distance_km[1],
        events=(*events, hits_earth),
    )


def reference_flight(
    world: RocketWorld, true: Constants, launch: Launch, rtol: float = 1e-10
) -> dict:
    """Returns ``{"hit": bool, "arrival_km": (x, y) | None, "t_s": float}``."""
    relative = _moon_frame(world, launch)

    def hits_moon(t: float, s: State) -> float:
        dx, dy, _, _ = relative(t, s)
        return math.hypot(dx, dy) - world.moon_radius_km

    hits_moon.terminal, hits_moon.direction = True, -1
    solution = _integrate(world, true, launch, rtol, (hits_moon,))
    hit = len(solution.t_events[0]) > 0
    return {
        "hit": hit,
        "arrival_km": tuple(solution.y_events[0][0][:2]) if hit else None,
        "t_s": float(solution.t[-1]),
    }


def reference_miss_km(
    world: RocketWorld, true: Constants, launch: Launch, rtol: float = 1e-10
) -> float:
    """Signed closest approach to the moon's surface on the reference trajectory, km.

    Negative on a hit: then it is minus the depth the straight-on pass would reach
    below the surface, so -R passes through the centre. Each closest approach is
    located as an event, exactly enough to tell a graze of a few km from a near miss.
    Inside the moon the pull is that of a uniform sphere, so the path stays smooth
    through it; only its first pass below the surface counts, which
    ``reference_flight``'s hit event would have stopped.
    """
    r_moon = world.moon_radius_km
    relative = _moon_frame(world, launch)

    def approach(
        t: float, s: State
    ) -> float:  # d/dt |rocket - moon|^2 / 2, rising through 0 at a minimum
        dx, dy, dvx, dvy = relative(t, s)
        return dx * dvx + dy * dvy

    approach.direction = 1
    solution = _integrate(world, true, launch, rtol, (approach,), min_moon_distance_km=r_moon)
    ends = [(solution.t[0], solution.y[:, 0]), (solution.t[-1], solution.y[:, -1])]
    closest = math.inf
    for t, s in [*zip(solution.t_events[0], solution.y_events[0], strict=True), *ends]:
        dx, dy, _, _ = relative(t, s)
        distance = math.hypot(dx, dy)
        if distance < r_moon:
            return distance - r_moon
        closest = min(closest, distance)
    return closest - r_moon
