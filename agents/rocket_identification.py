"""The physics planner's identification: fit the model's constants to tracked launches.

Nonlinear least squares (scipy) of the model's positions against the telemetry of all
the launches, over log-scale factors of ``gm_earth``, ``gm_moon`` and
``engine_efficiency`` around nominal, with a Gaussian prior (weak for the two the whole
flight reveals, firmer for ``gm_moon``, which only a pass near the moon reveals).
Launches the model already explains are folded into a Gaussian summary of their
evidence (recursive least squares), so a refit costs the same after 3 launches or 3000,
while every launch still counts.

Units: km, s; the fit works in x = ln(constant / nominal).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import least_squares

from agents.rocket_model import Facts, PlannerConfig, propagate


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
        # (3, 4 * tracks)
        constants = self.nominal[:, None] * np.exp(np.tile(variants, (len(self.live), 1)).T)
        masks = [
            tr.planet_arc if planet_arc_only else np.ones(len(tr.t_s), bool) for tr in self.live
        ]

        def column(name: str) -> np.ndarray:
            return np.repeat([getattr(tr, name) for tr in self.live], 4)

        t_end = np.repeat(
            [tr.t_s[m][-1] if m.any() else 0.0 for tr, m in zip(self.live, masks, strict=True)], 4
        )
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
        for i, (track, mask) in enumerate(zip(self.live, masks, strict=True)):
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

    def add(self, track: Track) -> float:
        """Take in one more launch and refit; the launch's normalised RMS residual after the
        refit (at most ``consistent_rms`` when the model explains it)."""
        self.live.append(track)
        self._cache.clear()
        if self.rms()[-1] > self.config.consistent_rms and any(
            tr.planet_arc.any() for tr in self.live
        ):
            # the early arc pins GM_e and the burn before the moon matters
            self.solve(planet_arc_only=True)
        self.solve(planet_arc_only=False)
        rms = self.rms()
        if max(rms) <= self.config.consistent_rms:
            self._fold(len(self.live))
        elif len(self.live) > self.config.max_live_launches:
            self._fold(len(self.live) - self.config.max_live_launches)
        self._cache.clear()
        return rms[-1]

    def _fold(self, count: int) -> None:
        """Move the oldest ``count`` live tracks into the quadratic summary, linearised at x."""
        rows, blocks = self.track_residuals(self.x, False)
        for r, jac in zip(rows[:count], blocks[:count], strict=True):
            self.information = self.information + jac.T @ jac
            self.gradient = self.gradient + jac.T @ (r - jac @ self.x)
        self.live = self.live[count:]
