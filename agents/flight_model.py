"""The flight planner's model: Newtonian coasts from any state, the moon encounter they
predict, the orbit a braking burn should leave, and the fit of the constants to tracking.

The law is the launch planner's (``agents.rocket_model``): a point-mass planet at the
origin, a point-mass moon on its published circular orbit, RK4 in Sundman time over a
batch of trajectories. Here a trajectory starts from a tracked state at any time rather
than from the parking orbit, and a flight's telemetry is a chain of *arcs*: from each
decision's tracked state, plus the commanded burn times the engine's efficiency, to the
next decision's tracked position. The fit is nonlinear least squares (scipy) of those
arcs over x = ln(constant / nominal), with a Gaussian prior; each arc's assumed error
grows with its length (the tracked velocity's error) and with the burn at its start
(the engine's dispersion, which no model predicts).

Units: km, s, km/s, km^3/s^2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import least_squares

from agents.rocket_model import Facts, Paths, rk4_step, sundman_derivative


@dataclass(frozen=True)
class FlightPlannerConfig:
    """How the flight planner plans and fits."""

    sundman_step: float = 0.05  #: RK4 step in Sundman time (about radians of orbital phase)
    #: aimed periselene, in moon radii from the centre (the env's bound is 3)
    aim_periselene_radii: float = 1.6
    #: no correction while the predicted periselene lies in this band (moon radii)
    periselene_band_radii: tuple[float, float] = (1.3, 2.2)
    #: the braking burn aims for an orbit whose aposelene is within this fraction of the
    #: sphere of influence (the env's bound is 0.5: room for an error in GM_moon)
    aim_aposelene_soi: float = 0.2
    #: ... and whose periselene is at least this many moon radii from the centre
    least_periselene_radii: float = 1.15
    newton_iterations: int = 3  #: re-linearisations of a correction at one decision
    #: a far miss is corrected toward arrivals at these multiples of the planned time to go
    arrival_factors: tuple[float, ...] = (0.8, 0.9, 1.0, 1.15, 1.3, 1.5, 1.75, 2.0)
    #: a near pass's corrections are searched this far (km/s) along the burns that keep
    #: its impact parameter ...
    midcourse_scan_km_s: tuple[float, ...] = tuple(np.linspace(-0.3, 0.3, 9).round(3))
    #: ... among those that move its arrival by at most this fraction of the time to go
    arrival_shift: float = 0.3
    #: a correction's delta-v counts this much more than the braking it saves: its
    #: benefit is predicted on a model that may be off, from a state tracked with errors
    burn_risk: float = 1.0
    #: a pass in the band is corrected only if that saves this much delta-v (km/s)
    least_saving_km_s: float = 0.03
    departure_scan_points: int = 33  #: departure delta-v values scanned
    #: prior sd of ln(constant / nominal), gm_earth, gm_moon, engine_efficiency
    prior_log_sd: tuple[float, float, float] = (0.3, 0.3, 0.3)
    #: assumed size of an unmodelled burn error, as a fraction of the burn (1 sigma)
    burn_error_fraction: float = 0.01
    max_fit_flights: int = 6  #: flights whose arcs the fit keeps (the latest)
    max_fit_evaluations: int = 20  #: least-squares evaluations per fit after a flight
    #: ... and per refit at a decision, on the flight under way too (0: no refits in flight)
    in_flight_fit_evaluations: int = 8


def propagate_from(
    facts: Facts,
    gm_e: np.ndarray,
    gm_m: np.ndarray,
    state: np.ndarray,
    t0: np.ndarray,
    moon_phase: float,
    moon_distance: float,
    t_end: np.ndarray,
    step: float,
    approach: bool,
    max_steps: int = 4000,
) -> Paths:
    """Coast a batch of model trajectories from ``state`` (4, N) = (x, y, vx, vy) at
    ``t0`` (N,) to ``t_end`` (N,). ``approach=True`` also ends each one at the moon's
    surface, once past its closest approach to the moon, or when it escapes."""
    state = np.asarray(state, dtype=float).reshape(4, -1)
    n = state.shape[1]
    gm_e, gm_m, t0, t_end = (
        np.broadcast_to(np.asarray(v, dtype=float), (n,)).copy() for v in (gm_e, gm_m, t0, t_end)
    )
    phase = np.full(n, moon_phase)
    distance = np.full(n, moon_distance)
    rate = facts.moon_rate(distance)
    derivative = sundman_derivative(facts, gm_e, gm_m, phase, distance, rate)
    s = np.vstack([t0, state])
    samples = [s]
    alive = t_end > t0
    h = step
    if approach:
        escape_r2 = (3.0 * facts.moon_distance_km[1]) ** 2
        closest = np.full(n, np.inf)
        near = 0.3 * moon_distance
    for _ in range(max_steps):
        if not alive.any():
            break
        s = np.where(alive, rk4_step(derivative, s, h), s)
        samples.append(s)
        t, x, y = s[0], s[1], s[2]
        ended = t >= t_end
        if approach:
            angle = moon_phase + rate * t
            q = np.hypot(x - moon_distance * np.cos(angle), y - moon_distance * np.sin(angle))
            closest = np.minimum(closest, q)
            ended |= q <= facts.moon_radius_km
            ended |= (closest < near) & (q > closest + 0.05 * moon_distance)
            ended |= x * x + y * y > escape_r2
        alive &= ~ended
    return Paths(np.array(samples), phase, distance, rate, gm_m)


@dataclass(frozen=True)
class Encounter:
    """Per model trajectory, its closest pass by the moon."""

    impact_km: np.ndarray  #: signed impact parameter of the moon's two-body hyperbola
    closest_km: np.ndarray  #: closest sampled distance to the moon's centre
    time_s: np.ndarray  #: time of that sample
    v_infinity_km_s: np.ndarray  #: hyperbolic excess speed (the speed there, if bound)
    energy: np.ndarray  #: two-body energy about the moon there, km^2/s^2


def encounter(paths: Paths) -> Encounter:
    """The closest pass by the moon of each trajectory of ``paths``."""
    t, x, y, vx, vy = (paths.state[:, j, :] for j in range(5))
    angle = paths.moon_phase + paths.moon_rate * t
    cos, sin = np.cos(angle), np.sin(angle)
    d, w = paths.moon_distance, paths.moon_rate
    dx, dy = x - d * cos, y - d * sin
    q = np.hypot(dx, dy)
    k = np.argmin(q, axis=0)
    n = np.arange(q.shape[1])
    rx, ry, rq = dx[k, n], dy[k, n], q[k, n]
    ux = vx[k, n] + d * w * sin[k, n]
    uy = vy[k, n] - d * w * cos[k, n]
    speed2 = ux * ux + uy * uy
    energy = 0.5 * speed2 - paths.gm_moon / rq
    v_infinity = np.sqrt(np.where(energy > 0.0, 2.0 * energy, speed2))
    return Encounter((rx * uy - ry * ux) / v_infinity, rq, t[k, n], v_infinity, energy)


def impact_parameter_km(gm_moon: float, periselene_km: float, v_infinity_km_s: float) -> float:
    """The impact parameter of the moon's two-body hyperbola with this periselene."""
    return periselene_km * math.sqrt(1.0 + 2.0 * gm_moon / (periselene_km * v_infinity_km_s**2))


def periselene_km(gm_moon: float, impact_km: float, v_infinity_km_s: float) -> float:
    """The periselene of the hyperbola with this impact parameter (km from the centre)."""
    focus = gm_moon / v_infinity_km_s**2
    return focus * (math.sqrt(1.0 + (impact_km / focus) ** 2) - 1.0)


def capture_velocity(
    gm: float,
    r: np.ndarray,
    v: np.ndarray,
    periselene_range: tuple[float, float],
    aposelene_max: float,
) -> np.ndarray:
    """The moon-relative velocity (km/s) closest to ``v`` at the moon-relative position
    ``r`` that puts the rocket on a bound orbit with its periselene in
    ``periselene_range`` and its aposelene within ``aposelene_max`` (km from the centre).
    Searched over a grid of both apses and both senses of radial motion."""
    radius = float(np.hypot(*r))
    low, high = periselene_range
    low, high = min(low, radius), min(high, radius)
    top = max(aposelene_max, radius)
    sense = 1.0 if r[0] * v[1] - r[1] * v[0] >= 0.0 else -1.0
    radial_unit = r / radius
    along_unit = sense * np.array([-radial_unit[1], radial_unit[0]])
    best, best_cost = v, math.inf
    for rp in np.linspace(low, high, 12):
        for ra in np.linspace(radius, top, 12):
            a = 0.5 * (rp + ra)
            speed2 = gm * (2.0 / radius - 1.0 / a)
            along = math.sqrt(gm * rp * ra / a) / radius
            radial2 = speed2 - along * along
            if radial2 < -1e-9 * speed2:
                continue
            for sign in (1.0, -1.0):
                candidate = along * along_unit + sign * math.sqrt(max(radial2, 0.0)) * radial_unit
                cost = float(np.hypot(*(candidate - v)))
                if cost < best_cost:
                    best, best_cost = candidate, cost
    return best


@dataclass(frozen=True)
class Arcs:
    """A flight's telemetry as coasting arcs: from each decision's tracked state plus
    its commanded burn (km/s, times the efficiency in the model) to the next position."""

    t0: np.ndarray  # (K,)
    state0: np.ndarray  # (4, K) tracked, before the burn
    burn: np.ndarray  # (2, K) commanded
    t1: np.ndarray  # (K,)
    position1: np.ndarray  # (2, K) tracked
    sd_km: np.ndarray  # (K,)
    moon_phase: float
    moon_distance: float


def make_arcs(
    telemetry: dict[str, Any],
    moon_phase: float,
    moon_distance: float,
    world: dict[str, Any],
    config: FlightPlannerConfig,
) -> Arcs | None:
    """The arcs of one flight's telemetry, or None if it has none."""
    t = np.asarray(telemetry["t_s"], dtype=float)
    position = np.asarray(telemetry["position_km"], dtype=float).reshape(-1, 2)
    velocity = np.asarray(telemetry["velocity_km_s"], dtype=float).reshape(-1, 2)
    burn = np.asarray(telemetry["burn_km_s"], dtype=float).reshape(-1, 2)
    keep = np.flatnonzero(np.diff(t) > 0.0)
    if len(keep) == 0:
        return None
    duration = t[keep + 1] - t[keep]
    sd_r, sd_v = world["tracking_position_sd_km"], world["tracking_velocity_sd_km_s"]
    burn_size = np.hypot(burn[keep, 0], burn[keep, 1])
    sd = np.sqrt(
        2.0 * sd_r**2
        + (sd_v * duration) ** 2
        + (config.burn_error_fraction * burn_size * duration) ** 2
        + 1.0  # the model's own integration error, ~1 km
    )
    return Arcs(
        t0=t[keep],
        state0=np.vstack([position[keep].T, velocity[keep].T]),
        burn=burn[keep].T,
        t1=t[keep + 1],
        position1=position[keep + 1].T,
        sd_km=sd,
        moon_phase=moon_phase,
        moon_distance=moon_distance,
    )


#: a departure's parking-orbit GM this many of its tracking errors away from the one measured
#: at the fitted flights' departures marks another world (earth_moon: 10 x 0.03 % = 0.3 %,
#: where its flights' departures agree within 0.08 %)
CHANGED_WORLD_SIGMAS = 10.0


class ArcFit:
    """Least squares of the model's arcs against tracking, over x = ln(constant / nominal)
    of (gm_earth, gm_moon, engine_efficiency)."""

    STEP = 1e-6  # in ln(constant): forward differences for the Jacobian

    def __init__(self, facts: Facts, config: FlightPlannerConfig):
        self.facts = facts
        self.config = config
        self.nominal = np.array(facts.nominal)
        self.x = np.zeros(3)  #: from the finished flights in ``flights``
        self.flights: list[Arcs] = []
        #: ln(GM / nominal) read off the parking orbit at the last fitted flight's departure
        self.parking_log: float | None = None
        #: the flight under way: its constants (ln), its parking GM, and whether it is flown
        #: alone (another world than the fitted flights'); acting never changes ``x``
        self.flight_x: np.ndarray | None = None
        self._flight_parking_log: float | None = None
        self._alone = False

    @property
    def constants(self) -> np.ndarray:
        return self.nominal * np.exp(self.x)

    def _residuals_and_jacobian(
        self, x: np.ndarray, flights: list[Arcs]
    ) -> tuple[np.ndarray, np.ndarray]:
        variants = x[None, :] + np.vstack([np.zeros(3), self.STEP * np.eye(3)])  # (4, 3)
        rows, blocks = [], []
        for arcs in flights:
            k = len(arcs.t0)
            gm_e, gm_m, efficiency = (
                np.repeat(self.nominal[j] * np.exp(variants[:, j]), k) for j in range(3)
            )
            state = np.tile(arcs.state0, 4)
            state[2:] += efficiency * np.tile(arcs.burn, 4)
            paths = propagate_from(
                self.facts,
                gm_e,
                gm_m,
                state,
                np.tile(arcs.t0, 4),
                arcs.moon_phase,
                arcs.moon_distance,
                np.tile(arcs.t1, 4),
                self.config.sundman_step,
                approach=False,
            )
            end = positions_at_end(paths, np.tile(arcs.t1, 4))  # (2, 4k)
            model = end.reshape(2, 4, k)
            residual = (model[:, 0] - arcs.position1) / arcs.sd_km
            rows.append(residual.ravel())
            jac = (model[:, 1:] - model[:, :1]) / arcs.sd_km / self.STEP  # (2, 3, k)
            blocks.append(jac.transpose(0, 2, 1).reshape(2 * k, 3))
        prior_sd = np.asarray(self.config.prior_log_sd)
        rows.append(x / prior_sd)
        blocks.append(np.diag(1.0 / prior_sd))
        return np.concatenate(rows), np.vstack(blocks)

    @property
    def flight_constants(self) -> np.ndarray:
        """The constants the flight under way is planned with."""
        x = self.x if self.flight_x is None else self.flight_x
        return self.nominal * np.exp(x)

    def add(self, arcs: Arcs) -> None:
        """Take in one more finished flight and refit (training). A flight flown in another
        world than the fitted ones (``begin_flight``) starts the fit again with it alone."""
        if self._alone or not self.flights:
            self.flights = []
            self.x = self.flight_x.copy() if self.flight_x is not None else np.zeros(3)
        self.flights = (self.flights + [arcs])[-self.config.max_fit_flights :]
        self.x = self._solve(self.flights, self.config.max_fit_evaluations, self.x)
        self.parking_log = self._flight_parking_log
        self._alone = False

    def begin_flight(self, radius_km: float, speed_km_s: float, sd_log: float) -> None:
        """At a departure: the planet's GM from the tracked parking orbit, published as
        circular (``GM = r v^2``; ``sd_log``: its tracking error, in ln). Without fitted
        flights it is the flight's start. With some, a GM more than ``CHANGED_WORLD_SIGMAS``
        tracking errors from the one at their departures says this is another world: the
        flight is planned from that GM alone (the Moon's GM and the engine at nominal) and
        refitted on its own arcs; otherwise from the fit. The fit itself is left as it is."""
        measured = float(np.clip(np.log(radius_km * speed_km_s**2 / self.nominal[0]), -1.0, 1.0))
        self._flight_parking_log = measured
        reference = self.parking_log
        self._alone = (
            bool(self.flights)
            and reference is not None
            and abs(measured - reference) > CHANGED_WORLD_SIGMAS * sd_log
        )
        if self.flights and not self._alone:
            self.flight_x = self.x.copy()
        else:
            self.flight_x = np.array([measured, 0.0, 0.0])

    def refit(self, under_way: Arcs) -> None:
        """Refit the flight under way on its arcs so far, with the fitted flights unless it is
        flown alone (not kept: ``add`` takes the whole flight when it ends in training)."""
        start = self.x if self.flight_x is None else self.flight_x
        flights = ([] if self._alone else self.flights) + [under_way]
        self.flight_x = self._solve(flights, self.config.in_flight_fit_evaluations, start)

    def _solve(self, flights: list[Arcs], evaluations: int, start: np.ndarray) -> np.ndarray:
        cache: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}

        def evaluate(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            key = x.tobytes()
            if key not in cache:
                cache[key] = self._residuals_and_jacobian(x, flights)
            return cache[key]

        result = least_squares(
            lambda x: evaluate(x)[0],
            start,
            jac=lambda x: evaluate(x)[1],
            method="trf",
            bounds=(-1.0, 1.0),
            x_scale="jac",
            ftol=1e-6,
            xtol=1e-7,
            max_nfev=evaluations,
        )
        return result.x


def positions_at_end(paths: Paths, t_end: np.ndarray) -> np.ndarray:
    """Each trajectory's position (2, N) at its ``t_end``, by cubic Hermite interpolation
    between the two steps around it (the last step overshoots)."""
    t = paths.state[:, 0, :]
    n = np.arange(t.shape[1])
    k = np.clip(np.argmax(t >= t_end[None, :] - 1e-9, axis=0), 1, len(t) - 1)
    a, b = paths.state[k - 1, :, n].T, paths.state[k, :, n].T  # (5, N)
    h = np.maximum(b[0] - a[0], 1e-12)
    u = np.clip((t_end - a[0]) / h, 0.0, 1.0)
    h00, h10, h01, h11 = (
        2 * u**3 - 3 * u**2 + 1,
        u**3 - 2 * u**2 + u,
        -2 * u**3 + 3 * u**2,
        u**3 - u**2,
    )
    return h00 * a[1:3] + h10 * h * a[3:5] + h01 * b[1:3] + h11 * h * b[3:5]
