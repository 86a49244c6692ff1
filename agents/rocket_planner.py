"""The physics planner for the rocket: Newtonian gravity, shooting, and identification.

The planner carries its own model of the world: a point-mass planet fixed at the
origin, a point-mass moon on its published circular orbit, and a prograde burn from
the published parking orbit. It starts from the published *nominal* constants and
never sees the true ones. Each launch it

1. **plans by shooting**: picks a transfer (the delta-v whose planet-only orbit
   would peak at ``apogee_ratio`` moon distances, a flight of about three days),
   starts from the patched-conic burn angle, and solves for the burn angle whose
   model flight aims at the moon's centre (asymptotic impact parameter zero: the
   most margin against model error, and the moon's gravity focuses it further);
2. **launches** once and keeps the tracking telemetry;
3. **identifies** the constants: nonlinear least squares (scipy) of the model's
   positions against the telemetry of all its launches, over log-scale factors of
   ``gm_earth``, ``gm_moon`` and ``engine_efficiency`` around nominal, with a
   Gaussian prior (weak for the two the whole flight reveals, firmer for
   ``gm_moon``, which only a pass near the moon reveals).

Launches the model already explains are folded into a Gaussian summary of their
evidence (recursive least squares), so a refit costs the same after 3 launches or
3000, while every launch still counts.

The model is integrated by a vectorised fixed-step RK4 in Sundman time
``dt = ds / (sqrt(GM_e / r^3) + sqrt(GM_m / q^3))`` (r, q: distances to planet
and moon): steps shrink near either body, so one step size serves a whole batch
of trajectories, integrated together in numpy.

Units: km, s, km/s, km^3/s^2; angles in radians.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from scipy.optimize import least_squares

from agents.base import Agent, TaskSpec, config_from_settings, dataclass_settings, register
from agents.ledger import Ledger
from envs.rocket.world import load_world

CONSTANT_NAMES = ("gm_earth", "gm_moon", "engine_efficiency")


@dataclass(frozen=True)
class PlannerConfig:
    """How the planner plans and fits."""

    apogee_ratio: float = (
        1.6  #: transfer whose planet-only apogee is this many moon distances (~3 days out)
    )
    sundman_step: float = (
        0.05  #: RK4 step in Sundman time (about radians of orbital phase); ~10 km over 5 days
    )
    scan_half_width_rad: float = math.radians(
        8.0
    )  #: burn angles scanned either side of the patched-conic guess
    scan_points: int = 17  #: trajectories in the first scan
    aim_tolerance_km: float = 20.0  #: stop refining once the model's impact parameter is this small
    prior_log_sd: tuple[float, float, float] = (
        0.5,
        0.15,
        0.5,
    )  #: prior sd of ln(constant / nominal), by CONSTANT_NAMES
    tracking_sd_km: float = 20.0  #: assumed position error of telemetry at the burn
    tracking_sd_growth_km_per_day: float = (
        50.0  #: ... growing this much per day of flight (simulator drift)
    )
    consistent_rms: float = (
        3.0  #: a launch the fit explains to this normalised RMS is folded into the summary
    )
    max_live_launches: int = (
        8  #: launches fitted in full at most; older ones are folded into the summary
    )
    max_fit_evaluations: int = 30  #: least-squares evaluations per fit


class LaunchRecord(NamedTuple):
    """One training launch, for plots: what was commanded, what was tracked, whether it hit."""

    launch: dict[
        str, Any
    ]  #: burn angle, commanded delta-v, moon phase and distance, outcome, the model planned with
    telemetry: dict[str, np.ndarray]  #: t_s, position_km, moon_km as the env reported them
    hit: bool


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


# --------------------------------------------------------------------------- the model


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
        k1 = derivative(state)
        k2 = derivative(state + 0.5 * h * k1)
        k3 = derivative(state + 0.5 * h * k2)
        k4 = derivative(state + h * k3)
        state = np.where(alive, state + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4), state)
        samples.append(state)
        t, x, y = state[0], state[1], state[2]
        ended = t >= t_end
        if approach:
            angle = moon_phase + rate * t
            q = np.hypot(x - moon_distance * np.cos(angle), y - moon_distance * np.sin(angle))
            closest = np.minimum(closest, q)
            r2 = x * x + y * y
            ended |= q <= facts.moon_radius_km
            ended |= (closest < near) & (
                q > closest + 0.05 * moon_distance
            )  # past its closest approach
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
    if abs(e - 1.0) < 1e-9:
        d = math.tan(f / 2.0)
        t = 0.5 * math.sqrt(p**3 / gm_earth) * (d + d**3 / 3.0)
    elif e < 1.0:
        a = p / (1.0 - e * e)
        big_e = 2.0 * math.atan2(
            math.sqrt(1.0 - e) * math.sin(f / 2.0), math.sqrt(1.0 + e) * math.cos(f / 2.0)
        )
        t = (big_e - e * math.sin(big_e)) * math.sqrt(a**3 / gm_earth)
    else:
        a = p / (e * e - 1.0)
        big_f = 2.0 * math.atanh(math.sqrt((e - 1.0) / (e + 1.0)) * math.tan(f / 2.0))
        t = (e * math.sinh(big_f) - big_f) * math.sqrt(a**3 / gm_earth)
    return moon_phase + float(facts.moon_rate(moon_distance)) * t - f


# --------------------------------------------------------------------------- shooting


@dataclass(frozen=True)
class Plan:
    """A launch the model says hits the moon's centre (or misses it least)."""

    burn_angle_rad: float
    delta_v_command_km_s: float
    impact_parameter_km: float  #: the model's signed impact parameter at the moon (0: dead centre)
    closest_km: float  #: the model's closest distance to the moon's centre
    model_hit: bool


def _crossing(angles: np.ndarray, impact: np.ndarray, moon_distance: float) -> int | None:
    """Index i where the impact parameter changes sign between angles i and i+1 in
    the smoothest way, or None. A jump between far passes on either side of the
    moon is not a crossing: its two values are far larger than one step of aim."""
    sign_change = np.signbit(impact[:-1]) != np.signbit(impact[1:])
    size = np.abs(impact[:-1]) + np.abs(impact[1:])
    size[~sign_change | (size > 4.0 * moon_distance * np.abs(np.diff(angles)) + 1e4)] = np.inf
    i = int(np.argmin(size))
    return i if np.isfinite(size[i]) else None


def shoot(
    facts: Facts,
    constants: np.ndarray,
    moon_phase: float,
    moon_distance: float,
    config: PlannerConfig,
) -> Plan:
    """The burn that aims the model's flight at the moon's centre, at the transfer
    delta-v the config chooses (clipped to the vehicle's range)."""
    gm_e, _, efficiency = constants
    r0 = facts.parking_radius_km
    apogee = config.apogee_ratio * moon_distance
    wanted_speed = math.sqrt(2.0 * gm_e * apogee / (r0 * (r0 + apogee)))
    low, high = facts.delta_v_km_s
    delta_v = float(np.clip((wanted_speed - math.sqrt(gm_e / r0)) / efficiency, low, high))
    speed = math.sqrt(gm_e / r0) + efficiency * delta_v
    guess = conic_burn_angle(facts, gm_e, speed, moon_phase, moon_distance)
    t_end = facts.max_flight_days * 86400.0

    def fly(angles: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        paths = propagate(
            facts,
            constants,
            angles,
            delta_v,
            moon_phase,
            moon_distance,
            t_end,
            config.sundman_step,
            approach=True,
        )
        return paths.encounter(facts.moon_radius_km)

    width = config.scan_half_width_rad
    angles = guess + np.linspace(-width, width, config.scan_points)
    impact, closest, hit = fly(angles)
    i = _crossing(angles, impact, moon_distance)
    if i is None:  # the moon pulls the flight far from the conic guess: scan the whole orbit
        angles = guess + np.linspace(-np.pi, np.pi, 73)
        impact, closest, hit = fly(angles)
        i = _crossing(angles, impact, moon_distance)
        if i is None:  # out of reach of this delta-v: come as close as possible
            j = int(np.argmin(closest))
            return Plan(
                float(angles[j] % (2 * np.pi)),
                delta_v,
                float(impact[j]),
                float(closest[j]),
                bool(hit[j]),
            )
    best = int(np.argmin(np.abs(impact)))
    estimate = float(
        angles[i] - impact[i] * (angles[i + 1] - angles[i]) / (impact[i + 1] - impact[i])
    )
    step = 0.05 * abs(angles[i + 1] - angles[i])
    result = (float(angles[best]), float(impact[best]), float(closest[best]), bool(hit[best]))
    for _ in range(4):  # secant refinement on three close angles at a time
        angles = estimate + step * np.array([-1.0, 0.0, 1.0])
        impact, closest, hit = fly(angles)
        if abs(impact[1]) < abs(result[1]):
            result = (float(angles[1]), float(impact[1]), float(closest[1]), bool(hit[1]))
        if abs(impact[1]) < config.aim_tolerance_km:
            break
        slope = (impact[2] - impact[0]) / (angles[2] - angles[0])
        if not np.isfinite(slope) or slope == 0.0:
            break
        estimate = float(angles[1] - impact[1] / slope)
        step = max(0.1 * step, 1e-7)
    angle, impact_km, closest_km, model_hit = result
    return Plan(angle % (2 * np.pi), delta_v, impact_km, closest_km, model_hit)


# --------------------------------------------------------------------------- identification


@dataclass(frozen=True)
class Track:
    """One launch as the fit sees it: the commanded burn and the tracked positions."""

    burn_angle_rad: float
    delta_v_command_km_s: float
    moon_phase_rad: float
    moon_distance_km: float
    t_s: np.ndarray  # (K,) tracking times after the burn
    position_km: np.ndarray  # (K, 2)
    sd_km: np.ndarray  # (K,) assumed tracking error
    planet_arc: np.ndarray  # (K,) bool: before the flight first reached half the moon's distance


def make_track(
    launch: dict[str, Any],
    telemetry: dict[str, Any],
    moon_phase: float,
    moon_distance: float,
    config: PlannerConfig,
) -> Track:
    t = np.asarray(telemetry["t_s"], dtype=float)
    position = np.asarray(telemetry["position_km"], dtype=float).reshape(-1, 2)
    keep = t > 0.0  # the burn point is known exactly
    t, position = t[keep], position[keep]
    outbound = np.cumsum(np.hypot(position[:, 0], position[:, 1]) >= 0.5 * moon_distance) == 0
    return Track(
        burn_angle_rad=float(launch["burn_angle_rad"]),
        delta_v_command_km_s=float(launch["delta_v_command_km_s"]),
        moon_phase_rad=float(moon_phase),
        moon_distance_km=float(moon_distance),
        t_s=t,
        position_km=position,
        sd_km=config.tracking_sd_km + config.tracking_sd_growth_km_per_day * t / 86400.0,
        planet_arc=outbound,
    )


class Fit:
    """Least squares of the model against tracks, over x = ln(constant / nominal).

    The cost is the sum of squared normalised position errors of the live tracks
    plus a quadratic summary ``x' A x + 2 g' x`` of the prior and of every launch
    already folded in (each one linearised at the fit that explained it).
    """

    DIFFERENCE_STEP = 1e-6  # in ln(constant): forward differences for the Jacobian

    def __init__(self, facts: Facts, config: PlannerConfig):
        self.facts = facts
        self.config = config
        self.nominal = np.array(facts.nominal)
        self.x = np.zeros(3)
        self.live: list[Track] = []
        self.information = np.diag(1.0 / np.square(config.prior_log_sd))
        self.gradient = np.zeros(3)
        self._cache: dict[tuple[bytes, bool], tuple[list[np.ndarray], list[np.ndarray]]] = {}

    @property
    def constants(self) -> np.ndarray:
        return self.nominal * np.exp(self.x)

    def track_residuals(
        self, x: np.ndarray, planet_arc_only: bool
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Per live track: normalised residuals (2K,) and their Jacobian (2K, 3), from one batch."""
        key = (x.tobytes(), planet_arc_only)
        if key in self._cache:
            return self._cache[key]
        variants = x[None, :] + np.vstack([np.zeros(3), self.DIFFERENCE_STEP * np.eye(3)])  # (4, 3)
        constants = self.nominal[:, None] * np.exp(
            np.tile(variants, (len(self.live), 1)).T
        )  # (3, 4 * tracks)
        masks = [
            tr.planet_arc if planet_arc_only else np.ones(len(tr.t_s), bool) for tr in self.live
        ]
        column = lambda name: np.repeat([getattr(tr, name) for tr in self.live], 4)  # noqa: E731
        t_end = np.repeat([tr.t_s[m][-1] if m.any() else 0.0 for tr, m in zip(self.live, masks)], 4)
        paths = propagate(
            self.facts,
            constants,
            column("burn_angle_rad"),
            column("delta_v_command_km_s"),
            column("moon_phase_rad"),
            column("moon_distance_km"),
            t_end,
            self.config.sundman_step,
            approach=False,
        )
        residuals, jacobians = [], []
        for i, (track, mask) in enumerate(zip(self.live, masks)):
            times, sd = track.t_s[mask], track.sd_km[mask, None]
            model = [paths.positions_at(4 * i + v, times) for v in range(4)]
            residuals.append(((model[0] - track.position_km[mask]) / sd).ravel())
            jacobians.append(
                np.stack([((m - model[0]) / sd).ravel() for m in model[1:]], axis=1)
                / self.DIFFERENCE_STEP
            )
        self._cache[key] = (residuals, jacobians)
        return residuals, jacobians

    def _summary_rows(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # x' A x + 2 g' x = |L' x + L^-1 g|^2 + const, with A = L L'
        lower = np.linalg.cholesky(self.information)
        return lower.T @ x + np.linalg.solve(lower, self.gradient), lower.T

    def solve(self, planet_arc_only: bool) -> None:
        """Minimise the cost from the current x (scipy's trust-region least squares)."""

        def residual(x: np.ndarray) -> np.ndarray:
            rows, _ = self.track_residuals(x, planet_arc_only)
            return np.concatenate(rows + [self._summary_rows(x)[0]])

        def jacobian(x: np.ndarray) -> np.ndarray:
            _, blocks = self.track_residuals(x, planet_arc_only)
            return np.vstack(blocks + [self._summary_rows(x)[1]])

        result = least_squares(
            residual,
            self.x,
            jac=jacobian,
            method="trf",
            bounds=(-1.0, 1.0),
            x_scale="jac",
            ftol=1e-6,
            xtol=1e-7,
            max_nfev=self.config.max_fit_evaluations,
        )
        self.x = result.x

    def rms(self, planet_arc_only: bool = False) -> list[float]:
        """Normalised RMS residual of each live track at the current x."""
        rows, _ = self.track_residuals(self.x, planet_arc_only)
        return [float(np.sqrt(np.mean(r * r))) if len(r) else 0.0 for r in rows]

    def add(self, track: Track) -> None:
        """Take in one more launch and refit."""
        self.live.append(track)
        self._cache.clear()
        if self.rms()[-1] > self.config.consistent_rms and any(
            tr.planet_arc.any() for tr in self.live
        ):
            self.solve(
                planet_arc_only=True
            )  # the early arc pins GM_e and the burn before the moon matters
        self.solve(planet_arc_only=False)
        rms = self.rms()
        if max(rms) <= self.config.consistent_rms:
            self._fold(len(self.live))
        elif len(self.live) > self.config.max_live_launches:
            self._fold(len(self.live) - self.config.max_live_launches)
        self._cache.clear()

    def _fold(self, count: int) -> None:
        """Move the oldest ``count`` live tracks into the quadratic summary, linearised at x."""
        rows, blocks = self.track_residuals(self.x, False)
        for r, jac in zip(rows[:count], blocks[:count]):
            self.information = self.information + jac.T @ jac
            self.gradient = self.gradient + jac.T @ (r - jac @ self.x)
        self.live = self.live[count:]


# --------------------------------------------------------------------------- the agent


@register("planner")
class PhysicsPlanner(Agent):
    """Plans each launch by shooting on its own Newtonian model, and fits the model's
    constants (GM of both bodies, engine efficiency) to its launches' telemetry.

    See the module docstring."""

    kind = "planner"
    tasks = ("rocket",)
    identifies_worlds = True

    @classmethod
    def default_settings(cls, task: str) -> dict[str, Any]:
        return dataclass_settings(PlannerConfig)

    def __init__(self, spec: TaskSpec, seed: int, settings: dict[str, Any] | None = None):
        super().__init__(spec, seed, settings)
        self.config = config_from_settings(PlannerConfig, self.settings)
        self.history: list[LaunchRecord] = []  #: every training launch, in order
        self.estimates: list[
            dict[str, float]
        ] = []  #: the fitted constants after each training launch
        self.plan_seconds: list[float] = []  #: wall time of every plan (training and act)
        self.fit_seconds: list[float] = []  #: wall time of every refit
        self._fit: Fit | None = None

    @property
    def constants(self) -> dict[str, float] | None:
        """The model's current constants (nominal until the first launch), or None before any world is seen."""
        return (
            None
            if self._fit is None
            else dict(zip(CONSTANT_NAMES, map(float, self._fit.constants)))
        )

    def _ensure_model(self, info: dict[str, Any]) -> Fit:
        """The current model; a fresh one from the nominal constants when the published
        facts show a different world."""
        facts = Facts.from_published(self._published(info))
        if self._fit is None or self._fit.facts != facts:
            self._fit = Fit(facts, self.config)
        return self._fit

    def _published(self, info: dict[str, Any]) -> dict[str, Any]:
        """The world's published facts: from the env's info, else the spec's world's published() (never its true constants)."""
        if "world" in info:
            return info["world"]
        world = self.spec.env_kwargs.get("world", "earth_moon")
        return (world if hasattr(world, "published") else load_world(world)).published()

    def _situation(
        self, fit: Fit, observation: np.ndarray, info: dict[str, Any]
    ) -> tuple[float, float]:
        if "moon_phase_rad" in info and "moon_distance_km" in info:
            return float(info["moon_phase_rad"]), float(info["moon_distance_km"])
        low, high = fit.facts.moon_distance_km
        obs = np.asarray(observation, dtype=float)
        return math.atan2(obs[1], obs[0]) % (2 * math.pi), low + 0.5 * (obs[2] + 1.0) * (high - low)

    def plan(self, observation: np.ndarray, info: dict[str, Any]) -> tuple[np.ndarray, Plan]:
        """The action (and the model's plan behind it) for this launch situation."""
        fit = self._ensure_model(info)
        phase, distance = self._situation(fit, observation, info)
        started = time.perf_counter()
        plan = shoot(fit.facts, fit.constants, phase, distance, self.config)
        self.plan_seconds.append(time.perf_counter() - started)
        low, high = fit.facts.delta_v_km_s
        throttle = (
            0.0 if high == low else 2.0 * (plan.delta_v_command_km_s - low) / (high - low) - 1.0
        )
        action = np.array(
            [math.cos(plan.burn_angle_rad), math.sin(plan.burn_angle_rad), throttle],
            dtype=np.float32,
        )
        return np.clip(action, -1.0, 1.0), plan

    def act(self, observation: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        return self.plan(observation, info)[0]

    def _train(self, ledger: Ledger, until_trials: int) -> None:
        if self._env_ledger is not None and ledger is not self._env_ledger:
            # Training moved to another world (a new ledger): what was fitted belongs to
            # the old one, so identification starts again from the nominal constants.
            self._fit = None
        env = self.training_env(ledger)
        while ledger.n_trials < until_trials:
            observation, info = env.reset()
            action, plan = self.plan(observation, info)
            model = self.constants
            _, _, terminated, truncated, info = env.step(action)
            if not (terminated or truncated):
                raise RuntimeError("a rocket launch is one step; the env did not end the episode")
            self._learn(info, plan, model)

    def _learn(self, info: dict[str, Any], plan: Plan, model: dict[str, float]) -> None:
        """Keep the launch for plots and fold its telemetry into the model."""
        telemetry = {key: np.array(value, dtype=float) for key, value in info["telemetry"].items()}
        launch = {
            **info["launch"],
            "moon_phase_rad": float(info["moon_phase_rad"]),
            "moon_distance_km": float(info["moon_distance_km"]),
            "outcome": info["outcome"],
            "closest_approach_km": float(info["closest_approach_km"]),
            "model": model,
            "model_impact_parameter_km": plan.impact_parameter_km,
        }
        hit = bool(info["is_success"])
        self.history.append(LaunchRecord(launch, telemetry, hit))
        started = time.perf_counter()
        self._fit.add(
            make_track(
                info["launch"],
                telemetry,
                launch["moon_phase_rad"],
                launch["moon_distance_km"],
                self.config,
            )
        )
        self.fit_seconds.append(time.perf_counter() - started)
        self.estimates.append(self.constants)
