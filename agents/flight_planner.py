"""The physics planner for the flight: model-predictive control on Newton's law.

At every decision the planner predicts the rest of the flight on its own model (a
point-mass planet and moon, the published facts, its current estimates of
``gm_earth``, ``gm_moon`` and ``engine_efficiency``, nominal at first) from the tracked
state, and re-solves its plan from there:

1. **departure** (the first decision): of the prograde burns whose model flight passes
   the moon at the aimed periselene (``aim_periselene_radii``), on either side, the one
   that costs least with the braking it leaves: a scan over the delta-v, then brentq on
   the impact parameter of the moon's hyperbola;
2. **midcourse**: while the predicted periselene stays in ``periselene_band_radii`` it
   coasts, unless a burn saves more braking than twice its own delta-v; otherwise the
   smallest burn that brings the impact parameter back to the aim (Newton steps), or a
   burn that keeps it and lowers the arrival speed, whichever costs least with the
   braking. A pass far from the moon is aimed at its centre at the cheapest of a few
   arrival times instead (the impact parameter of a far pass is no guide);
3. **braking**: at the decision nearest the predicted periselene (or once past it), the
   smallest burn to a bound orbit about the moon with apses inside the capture bounds,
   with margins for the uncertain ``gm_moon`` (``agents.flight_model.capture_velocity``).
   If tracking then shows the orbit outside them, the next decision burns again.

It identifies the three constants from tracking: before its first departure, the
planet's GM from the parking orbit (published as circular: ``GM = r v^2``); at every
decision, from the arcs flown so far in this flight (each from a decision's tracked
state and the burn the env reports it commanded, to the next tracked position) with
those of its earlier flights (``agents.flight_model.ArcFit``); after each flight, from
the whole flight. So burns after the departure use an efficiency the departure already
revealed, and the next flight starts nearer the truth. It never sees the true
constants or the engine's dispersion.

Units: km, s, km/s.
"""

from __future__ import annotations

import math
import time
from typing import Any, NamedTuple

import numpy as np
from scipy.optimize import brentq

from agents.base import Agent, TaskSpec, config_from_settings, dataclass_settings
from agents.flight_model import (
    ArcFit,
    FlightPlannerConfig,
    capture_velocity,
    encounter,
    impact_parameter_km,
    make_arcs,
    periselene_km,
    positions_at_end,
    propagate_from,
)
from agents.ledger import Ledger
from agents.rocket_model import CONSTANT_NAMES, Facts
from envs.rocket.flight_env import (
    FLIGHT_FACTS,
    action_for,
    flight_facts,
    local_frame,
    reach_delta_v_km_s,
    sphere_of_influence_km,
)
from envs.rocket.world import load_world

DIFFERENCE_KM_S = 1e-3  # the burn step of the finite-difference Jacobian (1 m/s)


class FlightRecord(NamedTuple):
    """One training flight, for plots and reports."""

    outcome: str
    decisions: int
    propellant_used_km_s: float
    model: dict[str, float]  #: the constants the flight was planned with


class Situation(NamedTuple):
    """What the planner knows at a decision (km, km/s, s)."""

    t: float
    position: np.ndarray
    velocity: np.ndarray
    moon_phase: float  # the moon's phase at t = 0
    moon_distance: float
    decision: int
    soi_km: float


class FlightPlanner(Agent):
    """Flies each flight by model-predictive control on its own Newtonian model (a
    departure, midcourse corrections, a braking burn) and fits the model's constants to
    its flights' tracking. See the module docstring."""

    name = "planner"
    kind = "planner"
    tasks = ("flight",)
    identifies_worlds = True
    seconds_per_trial = {"flight": 3.0}

    @classmethod
    def default_settings(cls, task: str) -> dict[str, Any]:
        return dataclass_settings(FlightPlannerConfig)

    def __init__(self, spec: TaskSpec, seed: int, settings: dict[str, Any] | None = None):
        super().__init__(spec, seed, settings)
        self.config = config_from_settings(FlightPlannerConfig, self.settings)
        self.history: list[FlightRecord] = []  #: every training flight, in order
        self.estimates: list[dict[str, float]] = []  #: the constants after each flight
        self.plan_seconds: list[float] = []  #: wall time of every decision
        self._fit: ArcFit | None = None
        self._world: dict[str, Any] | None = None
        self._arrival_s: float | None = None  #: when the departure plan meets the moon
        #: the pass is in the band and a search found no burn worth making: coast on
        self._settled = False
        #: the flight under way as the planner tracked it: states and the burns commanded
        self._track: dict[str, list] | None = None

    @property
    def constants(self) -> dict[str, float] | None:
        """The model's current constants, or None before any world is seen."""
        if self._fit is None:
            return None
        return dict(zip(CONSTANT_NAMES, map(float, self._fit.constants), strict=True))

    # ------------------------------------------------------------------ what it knows

    def _published(self, info: dict[str, Any]) -> dict[str, Any]:
        if "world" in info:
            return info["world"]
        if self._world is not None:
            return self._world
        kwargs = self.spec.env_kwargs
        world = kwargs.get("world", "earth_moon")
        published = (world if hasattr(world, "published") else load_world(world)).published()
        # the arguments that are published facts; never a hidden change (gravity_scale)
        return flight_facts(published, {k: v for k, v in kwargs.items() if k in FLIGHT_FACTS})

    def _ensure_model(self, world: dict[str, Any]) -> ArcFit:
        facts = Facts.from_published(world)
        if self._fit is None or self._fit.facts != facts:
            self._fit = ArcFit(facts, self.config)
        self._world = world
        return self._fit

    def _situation(self, observation: np.ndarray, info: dict[str, Any], world) -> Situation:
        if "tracked" in info:
            tracked = info["tracked"]
            t = float(tracked["t_s"])
            position = np.array(tracked["position_km"], dtype=float)
            velocity = np.array(tracked["velocity_km_s"], dtype=float)
            moon = np.array(tracked["moon_km"], dtype=float)
        else:  # from the observation alone (float32: about 0.02 km, 0.5 mm/s)
            obs = np.asarray(observation, dtype=float)
            scale_r = world["moon_distance_km"][1]
            scale_v = math.sqrt(world["nominal"]["gm_earth"] / world["parking_radius_km"])
            t = float(obs[13]) * world["max_flight_days"] * 86400.0
            position, velocity, moon = obs[0:2] * scale_r, obs[2:4] * scale_v, obs[4:6] * scale_r
        distance = float(np.hypot(*moon))
        rate = float(self._fit.facts.moon_rate(distance))
        phase = float(info.get("moon_phase_rad", math.atan2(moon[1], moon[0]) - rate * t))
        distance = float(info.get("moon_distance_km", distance))
        decision = int(info.get("decision", 0 if t == 0.0 else 1))
        nominal = world["nominal"]
        soi = info.get("sphere_of_influence_km") or sphere_of_influence_km(
            nominal["gm_earth"], nominal["gm_moon"], distance
        )
        return Situation(t, position, velocity, phase, distance, decision, soi)

    # ------------------------------------------------------------------ deciding

    def reset_episode(self) -> None:
        self._arrival_s = None
        self._settled = False
        self._track = None

    def act(self, observation: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        world = self._published(info)
        fit = self._ensure_model(world)
        started = time.perf_counter()
        now = self._situation(observation, info, world)
        self._record(now, info)
        if now.decision == 0:
            fit.begin_flight(
                np.hypot(*now.position), np.hypot(*now.velocity), parking_gm_sd_log(now, world)
            )
        elif self._track is not None and self.config.in_flight_fit_evaluations > 0:
            under_way = make_arcs(
                self._track, now.moon_phase, now.moon_distance, world, self.config
            )
            if under_way is not None:
                fit.refit(under_way)
        constants = fit.flight_constants
        if now.decision == 0:
            burn = self._departure(now, constants, world)
        else:
            burn = self._correction(now, constants, world)
        self.plan_seconds.append(time.perf_counter() - started)
        return self._action(now, burn / constants[2], world)

    def _record(self, now: Situation, info: dict[str, Any]) -> None:
        """Keep the tracked state, and the burn the env reports it commanded at the last
        decision, turned into the planet's frame as the env turned it (from the state
        tracked there)."""
        if now.decision == 0:
            self._track = {key: [] for key in ("t_s", "position_km", "velocity_km_s", "burn_km_s")}
        elif self._track is None or "burn" not in info or not self._track["t_s"]:
            self._track = None  # no record of the flight so far: no refits in this one
            return
        else:
            burn = info["burn"]
            previous = Situation(
                self._track["t_s"][-1],
                np.array(self._track["position_km"][-1]),
                np.array(self._track["velocity_km_s"][-1]),
                *now[3:],
            )
            along, out = self._frame(previous, moon=burn["frame"] == "moon")
            self._track["burn_km_s"][-1] = tuple(
                burn["prograde_km_s"] * along + burn["radial_km_s"] * out
            )
        self._track["t_s"].append(now.t)
        self._track["position_km"].append(tuple(now.position))
        self._track["velocity_km_s"].append(tuple(now.velocity))
        self._track["burn_km_s"].append((0.0, 0.0))

    def _frame(self, now: Situation, moon: bool) -> tuple[np.ndarray, np.ndarray]:
        """The env's (prograde, radial) unit vectors at this tracked state."""
        r, v = now.position, now.velocity
        if moon:
            moon_r, moon_v = self._moon(now, now.t)
            r, v = r - moon_r, v - moon_v
        along, out = local_frame(r[0], r[1], v[0], v[1])
        return np.array(along), np.array(out)

    def _action(self, now: Situation, command: np.ndarray, world: dict[str, Any]) -> np.ndarray:
        """The action that commands ``command`` (inertial, km/s) in the env's local frame."""
        bound = world["departure_max_km_s"] if now.decision == 0 else world["correction_max_km_s"]
        moon_r, _ = self._moon(now, now.t)
        along, out = self._frame(now, moon=bool(np.hypot(*(now.position - moon_r)) < now.soi_km))
        fractions = np.array([command @ along, command @ out]) / bound
        return action_for(fractions, now.decision == 0, world["correction_exponent"])

    def _moon(self, now: Situation, t: float) -> tuple[np.ndarray, np.ndarray]:
        rate = float(self._fit.facts.moon_rate(now.moon_distance))
        angle = now.moon_phase + rate * t
        d = now.moon_distance
        c, s = math.cos(angle), math.sin(angle)
        return np.array([d * c, d * s]), np.array([-d * rate * s, d * rate * c])

    def _predict(self, now: Situation, constants: np.ndarray, burns: np.ndarray):
        """The model's encounters after each delivered burn (2, N) at this decision."""
        n = burns.shape[1]
        state = np.vstack([np.repeat(now.position[:, None], n, 1), now.velocity[:, None] + burns])
        t_end = self._fit.facts.max_flight_days * 86400.0
        paths = propagate_from(
            self._fit.facts,
            constants[0],
            constants[1],
            state,
            np.full(n, now.t),
            now.moon_phase,
            now.moon_distance,
            np.full(n, t_end),
            self.config.sundman_step,
            approach=True,
        )
        return encounter(paths)

    def _aim_km(self, constants: np.ndarray, v_infinity: np.ndarray) -> np.ndarray:
        radius = self.config.aim_periselene_radii * self._fit.facts.moon_radius_km
        return np.array([impact_parameter_km(constants[1], radius, v) for v in v_infinity])

    def _departure(self, now: Situation, constants: np.ndarray, world) -> np.ndarray:
        """The delivered prograde departure burn (inertial, km/s): of those whose model
        flight passes the moon at the aimed periselene, on either side, the one that
        costs least with the braking it leaves."""
        prograde = now.velocity / np.hypot(*now.velocity)
        radius, speed = float(np.hypot(*now.position)), float(np.hypot(*now.velocity))
        # the speed whose model conic peaks at the moon, less the tracked speed (the parking
        # orbit is circular for the true GM, not the model's); and the moon pulls in flights
        # the conic says fall short
        apogee_speed = math.sqrt(constants[0] / radius) + reach_delta_v_km_s(
            constants[0], radius, now.moon_distance
        )
        low = 0.97 * apogee_speed - speed
        high = world["departure_max_km_s"] * constants[2]
        sizes = np.linspace(low, max(low, high), self.config.departure_scan_points)
        passes = self._predict(now, constants, prograde[:, None] * sizes)
        aim = self._aim_km(constants, passes.v_infinity_km_s)
        usable = passes.closest_km < 0.5 * now.moon_distance
        brackets = [
            (sizes[i], sizes[i + 1], side)
            for side in (1.0, -1.0)
            for i in range(len(sizes) - 1)
            if usable[i]
            and usable[i + 1]
            and np.signbit(passes.impact_km[i] - side * aim[i])
            != np.signbit(passes.impact_km[i + 1] - side * aim[i + 1])
        ]
        if not brackets:  # no pass at the aim: come as close as the model can
            i = int(np.argmin(passes.closest_km))
            self._arrival_s = float(passes.time_s[i])
            return prograde * sizes[i]
        best = (math.inf, 0.0, 0.0)
        for a, b, side in brackets:

            def miss(size: float, side: float = side) -> float:
                one = self._predict(now, constants, prograde[:, None] * np.array([size]))
                return float(
                    one.impact_km[0] - side * self._aim_km(constants, one.v_infinity_km_s)[0]
                )

            size = brentq(miss, a, b, xtol=1e-5, maxiter=30)
            one = self._predict(now, constants, prograde[:, None] * np.array([size]))
            cost = size + float(self._braking_cost(constants, now, one.v_infinity_km_s)[0])
            if cost < best[0]:
                best = (cost, size, float(one.time_s[0]))
        _, size, self._arrival_s = best
        return prograde * size

    def _correction(self, now: Situation, constants: np.ndarray, world) -> np.ndarray:
        """The delivered burn (inertial, km/s) at a decision after departure: none, a
        midcourse correction, or a braking burn."""
        facts = self._fit.facts
        r_moon = facts.moon_radius_km
        moon_r, moon_v = self._moon(now, now.t)
        relative_r, relative_v = now.position - moon_r, now.velocity - moon_v
        distance = float(np.hypot(*relative_r))
        gm_m = constants[1]
        energy = 0.5 * float(relative_v @ relative_v) - gm_m / distance
        zero = np.zeros((2, 1))
        passing = self._predict(now, constants, zero)
        interval = world["approach_interval_s"]
        if distance < now.soi_km and (
            energy < 0.0
            or passing.time_s[0] - now.t <= 0.5 * interval
            or float(relative_r @ relative_v) > 0.0
        ):
            target = capture_velocity(
                gm_m,
                relative_r,
                relative_v,
                (self.config.least_periselene_radii * r_moon, 2.5 * r_moon),
                self.config.aim_aposelene_soi * now.soi_km,
            )
            return target - relative_v
        low, high = self.config.periselene_band_radii
        in_band = low * r_moon <= _periselene(gm_m, passing) <= high * r_moon
        if in_band and self._settled:
            return np.zeros(2)
        if passing.closest_km[0] > now.soi_km:
            burn = self._toward_the_moon(now, constants, passing, world)
        else:
            burn = self._midcourse(now, constants, passing, world, in_band)
        self._settled = in_band and not burn.any()
        return burn

    def _midcourse(
        self, now: Situation, constants: np.ndarray, passing, world, in_band: bool
    ) -> np.ndarray:
        """A near pass: the minimum-norm burn that brings the impact parameter to the aim
        (Newton steps), or, if it costs less with the braking it leaves, one of the burns
        moved from it along the direction that keeps the impact parameter (each then
        Newton-corrected); none if the pass is in the band and no burn saves
        ``least_saving_km_s``."""
        r_moon = self._fit.facts.moon_radius_km
        side = 1.0 if passing.impact_km[0] >= 0.0 else -1.0
        limit = world["correction_max_km_s"] * constants[2]
        offsets = DIFFERENCE_KM_S * np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])

        def capped(burns: np.ndarray) -> np.ndarray:
            return burns * np.minimum(1.0, limit / np.maximum(np.hypot(*burns), 1e-12))[None, :]

        base, gradient = np.zeros(2), None
        for _ in range(self.config.newton_iterations):
            passes = self._predict(now, constants, base[:, None] + offsets)
            miss = passes.impact_km - side * self._aim_km(constants, passes.v_infinity_km_s)
            slope = (miss[1:] - miss[0]) / DIFFERENCE_KM_S
            if not np.all(np.isfinite(slope)) or slope @ slope == 0.0:
                break
            gradient = slope
            base = capped((base - miss[0] * slope / (slope @ slope))[:, None])[:, 0]
        if gradient is None:
            return np.zeros(2)
        norm2 = float(gradient @ gradient)
        along = np.array([-gradient[1], gradient[0]]) / math.sqrt(norm2)
        reach = np.asarray(self.config.midcourse_scan_km_s)
        burns = np.hstack([base[:, None], base[:, None] + along[:, None] * reach[None, :]])
        for _ in range(self.config.newton_iterations):
            passes = self._predict(now, constants, burns[:, 1:])
            miss = passes.impact_km - side * self._aim_km(constants, passes.v_infinity_km_s)
            burns[:, 1:] = capped(burns[:, 1:] - gradient[:, None] * (miss / norm2)[None, :])
        passes = self._predict(now, constants, burns)
        miss = passes.impact_km - side * self._aim_km(constants, passes.v_infinity_km_s)
        cost = (1.0 + self.config.burn_risk) * np.hypot(*burns) + self._braking_cost(
            constants, now, passes.v_infinity_km_s
        )
        # a pass that the model reaches on another branch (a later, slower arrival) is one
        # the next decision's tracking would not keep to
        to_go = passing.time_s[0] - now.t
        other_branch = np.abs(passes.time_s - passing.time_s[0]) > self.config.arrival_shift * to_go
        unreached = ~(np.abs(miss) < 0.2 * r_moon)
        cost[1:][(unreached | other_branch)[1:]] = np.inf
        best = int(np.argmin(cost))
        idle = self._braking_cost(constants, now, passing.v_infinity_km_s)[0]
        if in_band and not cost[best] < idle - self.config.least_saving_km_s:
            return np.zeros(2)  # nothing worth its propellant
        return burns[:, best]

    def _toward_the_moon(self, now: Situation, constants: np.ndarray, passing, world) -> np.ndarray:
        """A far miss: the burn that puts the model's rocket on the moon's centre, at the
        arrival time (of a few around the planned one) that costs least with the braking
        it leaves. Newton steps on the 2D miss at each arrival time, all in one batch (the
        impact parameter of a far pass is no guide)."""
        facts = self._fit.facts
        planned = self._arrival_s
        if planned is None or planned < now.t + world["cruise_interval_s"]:
            planned = float(passing.time_s[0])
        arrivals = now.t + (planned - now.t) * np.asarray(self.config.arrival_factors)
        arrivals = arrivals[arrivals < facts.max_flight_days * 86400.0 - world["cruise_interval_s"]]
        if len(arrivals) == 0:
            arrivals = np.array([planned])
        m = len(arrivals)
        angle = now.moon_phase + float(facts.moon_rate(now.moon_distance)) * arrivals
        targets = now.moon_distance * np.array([np.cos(angle), np.sin(angle)])  # (2, m)
        offsets = DIFFERENCE_KM_S * np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])  # (2, 3)
        t_end = np.repeat(arrivals, 3)
        burns = np.zeros((2, m))
        limit = world["correction_max_km_s"] * constants[2]
        for _ in range(self.config.newton_iterations):
            trial = (burns[:, :, None] + offsets[:, None, :]).reshape(2, 3 * m)
            paths = propagate_from(
                facts,
                constants[0],
                constants[1],
                np.vstack(
                    [np.repeat(now.position[:, None], 3 * m, 1), now.velocity[:, None] + trial]
                ),
                np.full(3 * m, now.t),
                now.moon_phase,
                now.moon_distance,
                t_end,
                self.config.sundman_step,
                approach=False,
            )
            ends = positions_at_end(paths, t_end).reshape(2, m, 3)
            miss = ends[:, :, 0] - targets
            jacobian = (ends[:, :, 1:] - ends[:, :, :1]) / DIFFERENCE_KM_S  # (2, m, 2)
            for k in range(m):
                try:
                    step = -np.linalg.solve(jacobian[:, k, :], miss[:, k])
                except np.linalg.LinAlgError:
                    continue
                burns[:, k] += step * min(1.0, limit / max(float(np.hypot(*step)), 1e-12))
        passes = self._predict(now, constants, burns)
        cost = (1.0 + self.config.burn_risk) * np.hypot(*burns) + self._braking_cost(
            constants, now, passes.v_infinity_km_s
        )
        cost[passes.closest_km > now.soi_km] = np.inf
        if not np.isfinite(cost).any():
            return burns[:, int(np.argmin(passes.closest_km))]
        best = int(np.argmin(cost))
        self._arrival_s = float(passes.time_s[best])
        return burns[:, best]

    def _braking_cost(
        self, constants: np.ndarray, now: Situation, v_infinity: np.ndarray
    ) -> np.ndarray:
        """The braking burn (km/s) at the aimed periselene into the aimed capture orbit, for
        arrivals at these hyperbolic excess speeds."""
        gm = constants[1]
        rp = self.config.aim_periselene_radii * self._fit.facts.moon_radius_km
        ra = max(rp, self.config.aim_aposelene_soi * now.soi_km)
        return np.sqrt(v_infinity**2 + 2.0 * gm / rp) - math.sqrt(2.0 * gm * ra / (rp * (rp + ra)))

    # ------------------------------------------------------------------ training

    def _train(self, ledger: Ledger, until_trials: int) -> None:
        if self._env_ledger is not None and ledger is not self._env_ledger:
            self._fit = None  # a new world: identification starts again from nominal
        env = self.training_env(ledger)
        while ledger.n_trials < until_trials:
            observation, info = env.reset()
            self.reset_episode()
            model = None
            start = info
            done = False
            while not done:
                action = self.act(observation, info)
                # the constants its first decision planned with
                model = model or dict(
                    zip(CONSTANT_NAMES, map(float, self._fit.flight_constants), strict=True)
                )
                observation, _, terminated, truncated, info = env.step(action)
                done = terminated or truncated
            self._learn(start, info, model)

    def _learn(self, start: dict[str, Any], end: dict[str, Any], model: dict[str, float]) -> None:
        """Keep the flight for reports and fit the constants to its tracking."""
        world = self._published(end)
        self.history.append(
            FlightRecord(
                str(end["outcome"]),
                int(end["decision"]),
                float(start["propellant_km_s"]) - float(end["propellant_km_s"]),
                model,
            )
        )
        arcs = make_arcs(
            end["telemetry"],
            float(end["moon_phase_rad"]),
            float(end["moon_distance_km"]),
            world,
            self.config,
        )
        if arcs is not None:
            self._ensure_model(world).add(arcs)
        self.estimates.append(self.constants)


def parking_gm_sd_log(now: Situation, world: dict[str, Any]) -> float:
    """The tracking error of ``ln(r v^2)`` read off the parking orbit, from the published
    tracking noise (each component's sd): ``sqrt((sd_r / r)^2 + (2 sd_v / v)^2)``."""
    r, v = float(np.hypot(*now.position)), float(np.hypot(*now.velocity))
    sd_r, sd_v = world["tracking_position_sd_km"], world["tracking_velocity_sd_km_s"]
    return math.hypot(sd_r / r, 2.0 * sd_v / v)


def _periselene(gm_moon: float, passing) -> float:
    """The model's predicted periselene (km from the centre) of the first trajectory."""
    if passing.energy[0] <= 0.0:
        return float(passing.closest_km[0])
    return periselene_km(
        gm_moon, abs(float(passing.impact_km[0])), float(passing.v_infinity_km_s[0])
    )
