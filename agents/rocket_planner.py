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

The model and its integrator (RK4 in Sundman time, a batch of trajectories at once)
are in ``agents.rocket_model``, the fit in ``agents.rocket_identification``; this
module shoots and is the agent.

Units: km, s, km/s, km^3/s^2; angles in radians.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from agents.base import Agent, TaskSpec, config_from_settings, dataclass_settings
from agents.ledger import Ledger
from agents.rocket_identification import Fit, make_track
from agents.rocket_model import CONSTANT_NAMES, Facts, PlannerConfig, conic_burn_angle, propagate
from envs.rocket.world import load_world


class LaunchRecord(NamedTuple):
    """One training launch, for plots: what was commanded, what was tracked, whether it hit."""

    #: burn angle, commanded delta-v, moon phase and distance, outcome, the model planned with
    launch: dict[str, Any]
    telemetry: dict[str, np.ndarray]  #: t_s, position_km, moon_km as the env reported them
    hit: bool


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


# --------------------------------------------------------------------------- the agent


class PhysicsPlanner(Agent):
    """Plans each launch by shooting on its own Newtonian model, and fits the model's
    constants (GM of both bodies, engine efficiency) to its launches' telemetry.

    See the module docstring."""

    # Wall seconds per planned trial in the default run (2 cores, load about 3):
    # reliable after a trial or two of the 30 planned, each followed by 30 planned
    # evaluation launches: about 5 s a job.
    seconds_per_trial = {"rocket": 0.17}

    name = "planner"
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
        #: the fitted constants after each training launch
        self.estimates: list[dict[str, float]] = []
        self.plan_seconds: list[float] = []  #: wall time of every plan (training and act)
        self.fit_seconds: list[float] = []  #: wall time of every refit
        #: each training launch's normalised RMS residual after the refit that took it in
        self.fit_residuals: list[float] = []
        self._fit: Fit | None = None

    @property
    def constants(self) -> dict[str, float] | None:
        """The model's current constants (nominal until the first launch), or None before
        any world is seen."""
        if self._fit is None:
            return None
        return dict(zip(CONSTANT_NAMES, map(float, self._fit.constants), strict=True))

    def _ensure_model(self, info: dict[str, Any]) -> Fit:
        """The current model; a fresh one from the nominal constants when the published
        facts show a different world."""
        facts = Facts.from_published(self._published(info))
        if self._fit is None or self._fit.facts != facts:
            self._fit = Fit(facts, self.config)
        return self._fit

    def _published(self, info: dict[str, Any]) -> dict[str, Any]:
        """The world's published facts: from the env's info, else the spec's world's
        ``published()`` (never its true constants)."""
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
        residual = self._fit.add(
            make_track(
                info["launch"],
                telemetry,
                launch["moon_phase_rad"],
                launch["moon_distance_km"],
                self.config,
            )
        )
        self.fit_seconds.append(time.perf_counter() - started)
        self.fit_residuals.append(residual)
        self.estimates.append(self.constants)

    def model_residual(self) -> float | None:
        """The latest launch's normalised RMS residual after its refit: below
        ``consistent_rms`` when Newton's law with the fitted constants explains the tracking
        (measured: under 0.05 after a change of GM), far above it when no constants of the
        model can (physics the model lacks: 50 to 140 with the engine 5 deg off prograde)."""
        return self.fit_residuals[-1] if self.fit_residuals else None
