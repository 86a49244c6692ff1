"""The physics planner's model of a launch: Newtonian gravity of a planet and its moon.

The model is a point-mass planet fixed at the origin, a point-mass moon on its
published circular orbit, and a prograde burn from the published parking orbit
(:class:`Facts`: the world's published facts; the constants ``gm_earth``, ``gm_moon``
and ``engine_efficiency`` are the planner's current estimates). It is integrated by a
vectorised fixed-step RK4 in Sundman time
``dt = ds / (sqrt(GM_e / r^3) + sqrt(GM_m / q^3))`` (r, q: distances to planet and
moon): steps shrink near either body, so one step size serves a whole batch of
trajectories, integrated together in numpy (:func:`propagate`).

Units: km, s, km/s, km^3/s^2; angles in radians.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from envs.rocket.flight_env import time_from_perigee_s

CONSTANT_NAMES = ("gm_earth", "gm_moon", "engine_efficiency")


@dataclass(frozen=True)
class PlannerConfig:
    """How the planner plans and fits."""

    #: transfer whose planet-only apogee is this many moon distances (~3 days out)
    apogee_ratio: float = 1.6
    #: RK4 step in Sundman time (about radians of orbital phase); ~10 km over 5 days
    sundman_step: float = 0.05
    #: burn angles scanned either side of the patched-conic guess
    scan_half_width_rad: float = math.radians(8.0)
    scan_points: int = 17  #: trajectories in the first scan
    aim_tolerance_km: float = 20.0  #: stop refining once the model's impact parameter is this small
    #: prior sd of ln(constant / nominal), by CONSTANT_NAMES
    prior_log_sd: tuple[float, float, float] = (0.5, 0.15, 0.5)
    tracking_sd_km: float = 20.0  #: assumed position error of telemetry at the burn
    #: the assumed tracking error grows this much per day of flight (simulator drift)
    tracking_sd_growth_km_per_day: float = 50.0
    #: a launch the fit explains to this normalised RMS is folded into the summary
    consistent_rms: float = 3.0
    #: launches fitted in full at most; older ones are folded into the summary
    max_live_launches: int = 8
    max_fit_evaluations: int = 30  #: least-squares evaluations per fit


@dataclass(frozen=True)
class Facts:
    """The world's published facts the model needs."""

    parking_radius_km: float
    earth_radius_km: float
    moon_radius_km: float
    moon_period_days: float
    moon_reference_distance_km: float
    moon_distance_km: tuple[float, float]
    delta_v_km_s: tuple[float, float]
    max_flight_days: float
    nominal: tuple[float, float, float]  # by CONSTANT_NAMES

    @classmethod
    def from_published(cls, world: dict[str, Any]) -> Facts:
        return cls(
            parking_radius_km=float(world["parking_radius_km"]),
            earth_radius_km=float(world["earth_radius_km"]),
            moon_radius_km=float(world["moon_radius_km"]),
            moon_period_days=float(world["moon_period_days"]),
            moon_reference_distance_km=float(world["moon_reference_distance_km"]),
            moon_distance_km=tuple(float(v) for v in world["moon_distance_km"]),
            delta_v_km_s=tuple(float(v) for v in world["delta_v_km_s"]),
            max_flight_days=float(world["max_flight_days"]),
            nominal=tuple(float(world["nominal"][name]) for name in CONSTANT_NAMES),
        )

    def moon_rate(self, moon_distance_km: np.ndarray | float) -> np.ndarray | float:
        """rad/s of the moon's circular orbit (Kepler's third law from the published period)."""
        period_s = (
            self.moon_period_days
            * 86400.0
            * (moon_distance_km / self.moon_reference_distance_km) ** 1.5
        )
        return 2.0 * np.pi / period_s


@dataclass
class Paths:
    """A batch of model flights, sampled at every integration step.

    ``state[k, :, i]`` is (t, x, y, vx, vy) of trajectory i after step k; a
    trajectory that has ended keeps its last state.
    """

    state: np.ndarray  # (steps + 1, 5, N)
    moon_phase: np.ndarray  # (N,)
    moon_distance: np.ndarray
    moon_rate: np.ndarray
    gm_moon: np.ndarray

    def positions_at(self, i: int, times: np.ndarray) -> np.ndarray:
        """Positions (km, shape (len(times), 2)) of trajectory i by cubic Hermite interpolation."""
        t = self.state[:, 0, i]
        k = np.clip(np.searchsorted(t, times, side="left"), 1, len(t) - 1)
        a, b = self.state[k - 1, :, i], self.state[k, :, i]
        h = np.maximum(b[:, 0] - a[:, 0], 1e-12)
        u = np.clip((times - a[:, 0]) / h, 0.0, 1.0)[:, None]
        h = h[:, None]
        h00, h10, h01, h11 = (
            2 * u**3 - 3 * u**2 + 1,
            u**3 - 2 * u**2 + u,
            -2 * u**3 + 3 * u**2,
            u**3 - u**2,
        )
        return h00 * a[:, 1:3] + h10 * h * a[:, 3:5] + h01 * b[:, 1:3] + h11 * h * b[:, 3:5]

    def encounter(self, moon_radius_km: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per trajectory: the signed impact parameter B (km) of the moon's two-body
        hyperbola at the closest sample, the closest distance to the moon's centre
        (km) and whether it reached the surface."""
        t, x, y, vx, vy = (self.state[:, j, :] for j in range(5))
        angle = self.moon_phase + self.moon_rate * t
        cos, sin = np.cos(angle), np.sin(angle)
        dx, dy = x - self.moon_distance * cos, y - self.moon_distance * sin
        q = np.hypot(dx, dy)
        k = np.argmin(q, axis=0)
        n = np.arange(q.shape[1])
        rx, ry, rq = dx[k, n], dy[k, n], q[k, n]
        ux = vx[k, n] + self.moon_distance * self.moon_rate * sin[k, n]
        uy = vy[k, n] - self.moon_distance * self.moon_rate * cos[k, n]
        angular_momentum = rx * uy - ry * ux
        speed2 = ux * ux + uy * uy
        energy2 = speed2 - 2.0 * self.gm_moon / rq
        v_infinity = np.sqrt(np.where(energy2 > 0.0, energy2, speed2))
        return angular_momentum / v_infinity, rq, rq <= moon_radius_km


def rk4_step(derivative, state: np.ndarray, h: float) -> np.ndarray:
    """One classical Runge-Kutta step of ``h`` (in the derivative's independent variable)."""
    k1 = derivative(state)
    k2 = derivative(state + 0.5 * h * k1)
    k3 = derivative(state + 0.5 * h * k2)
    k4 = derivative(state + h * k3)
    return state + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)


def sundman_derivative(
    facts: Facts,
    gm_e: np.ndarray,
    gm_m: np.ndarray,
    moon_phase: np.ndarray,
    moon_distance: np.ndarray,
    rate: np.ndarray,
) -> Callable[[np.ndarray], np.ndarray]:
    """The equations of motion of a batch of flights in Sundman time: the derivative of
    the state (t, x, y, vx, vy), shape (5, N), with respect to ``s``, where
    ``dt = ds / (sqrt(GM_e / r^3) + sqrt(GM_m / q^3))``."""

    def derivative(s: np.ndarray) -> np.ndarray:
        t, x, y, vx, vy = s
        angle = moon_phase + rate * t
        dx, dy = x - moon_distance * np.cos(angle), y - moon_distance * np.sin(angle)
        # Inside a body its pull falls linearly to zero (a uniform ball): flights the
        # fit tries out may graze through the moon, and must stay smooth there.
        r = np.maximum(np.sqrt(x * x + y * y), facts.earth_radius_km)
        q = np.maximum(np.sqrt(dx * dx + dy * dy), facts.moon_radius_km)
        pull_e, pull_m = gm_e / (r * r * r), gm_m / (q * q * q)
        dt_ds = 1.0 / (np.sqrt(pull_e) + np.sqrt(pull_m))
        return np.stack(
            [
                dt_ds,
                dt_ds * vx,
                dt_ds * vy,
                -dt_ds * (pull_e * x + pull_m * dx),
                -dt_ds * (pull_e * y + pull_m * dy),
            ]
        )

    return derivative


def propagate(
    facts: Facts,
    constants: np.ndarray,
    burn_angle: np.ndarray,
    delta_v: np.ndarray,
    moon_phase: np.ndarray,
    moon_distance: np.ndarray,
    t_end: np.ndarray,
    step: float,
    approach: bool,
    max_steps: int = 3000,
) -> Paths:
    """Fly a batch of model launches (all arguments broadcast to N trajectories).

    ``constants``: (3, N) or (3,) in CONSTANT_NAMES order. ``approach=True`` flies
    each trajectory as the env would judge its first approach to the moon: it ends
    at the surface, once it is past its closest approach, or as the env ends a
    flight (escape, falling back, time); otherwise it flies to ``t_end``.
    """
    burn_angle, delta_v, moon_phase, moon_distance, t_end = np.broadcast_arrays(
        *(
            np.atleast_1d(np.asarray(v, dtype=float))
            for v in (burn_angle, delta_v, moon_phase, moon_distance, t_end)
        )
    )
    n = burn_angle.shape[0]
    constants = np.asarray(constants, dtype=float).reshape(3, -1)
    gm_e, gm_m, efficiency = (np.broadcast_to(c, (n,)) for c in constants)
    rate = facts.moon_rate(moon_distance)
    r0 = facts.parking_radius_km
    speed = np.sqrt(gm_e / r0) + efficiency * delta_v
    cos, sin = np.cos(burn_angle), np.sin(burn_angle)
    state = np.stack([np.zeros(n), r0 * cos, r0 * sin, -speed * sin, speed * cos])

    derivative = sundman_derivative(facts, gm_e, gm_m, moon_phase, moon_distance, rate)
    h = step
    samples = [state]
    alive = np.ones(n, dtype=bool)
    if approach:
        escape_r2 = (3.0 * facts.moon_distance_km[1]) ** 2
        fall_back_r2 = (0.5 * moon_distance) ** 2
        near = 0.3 * moon_distance
        closest = np.full(n, np.inf)
        previous_r2 = state[1] ** 2 + state[2] ** 2
    for _ in range(max_steps):
        state = np.where(alive, rk4_step(derivative, state, h), state)
        samples.append(state)
        t, x, y = state[0], state[1], state[2]
        ended = t >= t_end
        if approach:
            angle = moon_phase + rate * t
            q = np.hypot(x - moon_distance * np.cos(angle), y - moon_distance * np.sin(angle))
            closest = np.minimum(closest, q)
            r2 = x * x + y * y
            ended |= q <= facts.moon_radius_km
            # past its closest approach
            ended |= (closest < near) & (q > closest + 0.05 * moon_distance)
            ended |= r2 > escape_r2
            ended |= (r2 < previous_r2) & (r2 < fall_back_r2)
            previous_r2 = r2
        alive &= ~ended
        if not alive.any():
            break
    return Paths(np.array(samples), moon_phase, moon_distance, rate, gm_m.copy())


def conic_burn_angle(
    facts: Facts, gm_earth: float, speed: float, moon_phase: float, moon_distance: float
) -> float:
    """The burn angle that meets the moon on the planet-only (Keplerian) orbit:
    the rocket reaches the moon's radius just as the moon gets there. An orbit
    that peaks short of the moon points its apogee at the moon instead."""
    r0 = facts.parking_radius_km
    p = (r0 * speed) ** 2 / gm_earth  # semi-latus rectum; the burn point is the perigee
    e = p / r0 - 1.0
    if e < 1.0 and p / (1.0 - e) <= moon_distance:
        f = math.pi
    else:
        f = math.acos(max(-1.0, min(1.0, (p / moon_distance - 1.0) / e)))
    t = time_from_perigee_s(p, e, f, gm_earth)
    return moon_phase + float(facts.moon_rate(moon_distance)) * t - f
