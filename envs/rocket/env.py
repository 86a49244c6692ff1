"""``sandbox/RocketLaunch-v0``: one launch from a parking orbit to the Moon."""

from __future__ import annotations

import copy
import math
import numbers
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from envs.rocket.flight import Flight, Launch, fly
from envs.rocket.world import Constants, RocketWorld, WorldError, load_world

SUCCESS_BONUS = 10.0
RESET_OPTIONS = ("moon_phase_rad", "moon_distance_km")


class RocketLaunchEnv(gym.Env):
    """
    ## Description

    A rocket waits in a circular parking orbit around a planet (by default the Earth,
    200 km up, counter-clockwise) while its moon circles the planet. The agent chooses one
    prograde burn (where on the parking orbit, and how much delta-v); the env then flies
    the whole trajectory in a 2D pymunk simulation with Newtonian gravity from planet and
    moon. One episode is one launch: one trial. A world (`envs/rocket/worlds/*.toml`) has
    published *nominal* constants and hidden *true* ones that the simulation flies; they
    differ by a few percent. Units: km, s, km/s. Full specification:
    docs/envs/rocket.md

    ## Action Space

    `Box(-1, 1, (3,), float32)`, finite values outside [-1, 1] clipped:

    | index | meaning                   | mapping, unit                                          |
    |-------|---------------------------|--------------------------------------------------------|
    | 0, 1  | burn point, a direction   | burn angle = atan2(a[1], a[0]) on the parking orbit, rad |
    | 2     | commanded delta-v         | dv_min + (a[2] + 1) / 2 * (dv_max - dv_min), km/s      |

    The engine delivers `engine_efficiency * commanded`, prograde, or off prograde by the
    world's hidden pointing error (0 in the presets). An action that is not 3 real numbers,
    or has a NaN or infinite entry, raises `ValueError` before flying.

    ## Observation Space

    `Box(-1, 1, (3,), float32)`, the launch situation:

    | index | observation                                                    | unit |
    |-------|----------------------------------------------------------------|------|
    | 0, 1  | cos, sin of the moon's phase                                   | -    |
    | 2     | moon distance: -1 at the world's minimum, +1 at its maximum    | -    |

    ## Rewards

    `10 * success - ln(1 + closest_approach_km / moon_radius_km)`, the closest approach
    to the moon's surface (0 on a hit): about -6 to 0 on a miss, 10 on a hit.

    ## Starting State

    Moon phase uniform over `moon_phase_deg`, moon distance uniform over the world's
    `moon_distance_km`, from `np_random`. `reset(options={"moon_phase_rad": ...,
    "moon_distance_km": ...})` sets either; a bad key or value raises `ValueError`.

    ## Episode End

    Every episode ends after its one step, with a termination: the rocket touches the
    moon (success, `outcome="moon"`), hits the planet (`"earth"`), escapes (`"escaped"`),
    falls back (`"fell_back"`) or flies the world's `max_flight_days` (`"time_limit"`, a
    terminal state of the launch, not a truncation). `info` holds `is_success`,
    `outcome`, `closest_approach_km`, `impact_speed_km_s`, `flight_time_s`, `telemetry`,
    `launch`, `steps` and the world's published facts (`world`), never the true ones.

    ## Arguments

    `world`: a preset name (`earth_moon`, `super_earth`), a TOML path or a `RocketWorld`.
    `render_mode`: None or `"rgb_array"`. `moon_phase_deg`: (low, high), the phases
    situations are drawn from. `gravity_scale`: a hidden factor on the planet's true GM.
    `pointing_error_deg`: a hidden steady angle (degrees, positive outward) added to the
    engine's true pointing error; the world's published value stays its nominal one.
    Invalid arguments raise `ValueError`; a world that cannot be loaded, `WorldError`.

    ## Version History

    * v0: initial version.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 1}

    def __init__(
        self,
        world: str | Path | RocketWorld = "earth_moon",
        render_mode: str | None = None,
        moon_phase_deg: tuple[float, float] = (0.0, 360.0),
        gravity_scale: float = 1.0,
        pointing_error_deg: float = 0.0,
    ):
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        low, high = phase_sector_deg(moon_phase_deg)
        check_hidden_changes(gravity_scale, pointing_error_deg)
        self.world = load_world(world)
        # Read once: nothing outside the simulator sees the true constants.
        self._true = changed_true_constants(self.world, gravity_scale, pointing_error_deg)
        self._phase_range_rad = (math.radians(low), math.radians(high))
        self._published = self.world.published()
        self.render_mode = render_mode
        self.observation_space = spaces.Box(-1.0, 1.0, shape=(3,), dtype=np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(3,), dtype=np.float32)
        self._situation: tuple[float, float] | None = None
        self.last_flight: Flight | None = None
        self.last_launch: Launch | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        chosen = self._checked_options(options)
        super().reset(seed=seed)
        low, high = self.world.moon_distance_km
        phase = float(self.np_random.uniform(*self._phase_range_rad))
        distance = float(self.np_random.uniform(low, high))
        phase = chosen.get("moon_phase_rad", phase) % (2.0 * math.pi)
        distance = chosen.get("moon_distance_km", distance)
        self._situation = (phase, distance)
        self.last_flight = self.last_launch = None
        info = {
            "world": copy.deepcopy(self._published),
            "moon_phase_rad": phase,
            "moon_distance_km": distance,
        }
        return self._observation(), info

    def _checked_options(self, options: Mapping[str, Any] | None) -> dict[str, float]:
        """The reset options as floats, or ``ValueError`` saying what is wrong."""
        if options is None:
            return {}
        if not isinstance(options, Mapping):
            raise ValueError(
                f"options must be a dict with keys from {list(RESET_OPTIONS)}, got {options!r}"
            )
        unknown = [key for key in options if key not in RESET_OPTIONS]
        if unknown:
            raise ValueError(
                f"unknown reset options {unknown}; the valid options are {list(RESET_OPTIONS)}"
            )
        chosen = {}
        for key, value in options.items():
            number = _finite(value)
            if number is None:
                raise ValueError(f"options[{key!r}] must be a finite real number, got {value!r}")
            chosen[key] = number
        if "moon_distance_km" in chosen:
            nearest = self.world.parking_radius_km + self.world.moon_radius_km
            farthest = 3.0 * self.world.moon_distance_km[1]
            if not nearest < chosen["moon_distance_km"] <= farthest:
                raise ValueError(
                    "options['moon_distance_km'] must lie beyond the parking orbit plus "
                    f"the moon's radius ({nearest:,.1f} km) and within {farthest:,.1f} km "
                    "(3 times the world's largest, where the rocket counts as escaped), "
                    f"got {options['moon_distance_km']!r}"
                )
        return chosen

    def _observation(self) -> np.ndarray:
        phase, distance = self._situation
        low, high = self.world.moon_distance_km
        scaled = 0.0 if high == low else 2.0 * (distance - low) / (high - low) - 1.0
        return np.array(
            [math.cos(phase), math.sin(phase), np.clip(scaled, -1.0, 1.0)], dtype=np.float32
        )

    def launch_for(self, action: np.ndarray) -> Launch:
        """The physical launch an action commands in the current situation;
        ``ValueError`` for an action that is not 3 finite real numbers."""
        if self._situation is None:
            raise RuntimeError("call reset() before step()")
        a = np.clip(_finite_action(action), -1.0, 1.0)
        burn_angle = math.atan2(a[1], a[0]) if (a[0] != 0.0 or a[1] != 0.0) else 0.0
        dv_low, dv_high = self.world.delta_v_km_s
        delta_v = dv_low + 0.5 * (a[2] + 1.0) * (dv_high - dv_low)
        phase, distance = self._situation
        return Launch(phase, distance, burn_angle % (2.0 * math.pi), delta_v)

    def step(self, action):
        launch = self.launch_for(action)
        flight = fly(self.world, self._true, launch)
        self.last_launch, self.last_flight = launch, flight
        success = flight.hit
        reward = SUCCESS_BONUS * success - math.log1p(
            flight.closest_approach_km / self.world.moon_radius_km
        )
        info = {
            "is_success": success,
            "outcome": flight.outcome,
            "closest_approach_km": flight.closest_approach_km,
            "impact_speed_km_s": flight.impact_speed_km_s,
            "flight_time_s": flight.flight_time_s,
            "telemetry": {
                "t_s": flight.telemetry_t_s,
                "position_km": flight.telemetry_position_km,
                "moon_km": flight.telemetry_moon_km,
            },
            "launch": {
                "burn_angle_rad": launch.burn_angle_rad,
                "delta_v_command_km_s": launch.delta_v_km_s,
            },
            "steps": flight.steps,
            "world": copy.deepcopy(self._published),
            "moon_phase_rad": launch.moon_phase_rad,
            "moon_distance_km": launch.moon_distance_km,
        }
        return self._observation(), float(reward), True, False, info

    def render(self):
        if self.render_mode != "rgb_array":
            return None
        from envs.rocket.render import draw_flight

        return draw_flight(self.world, self._situation, self.last_launch, self.last_flight)


def _finite(value: Any) -> float | None:
    """``value`` as a float if it is a finite real number, else None; booleans and
    strings are not numbers."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        return None
    try:
        number = float(value)
    except (OverflowError, TypeError, ValueError):  # an integer beyond any float
        return None
    return number if math.isfinite(number) else None


def check_hidden_changes(gravity_scale: Any, pointing_error_deg: Any) -> None:
    """``ValueError`` unless ``gravity_scale`` is a positive finite number and
    ``pointing_error_deg`` a finite one (checked before a world is loaded)."""
    scale = _finite(gravity_scale)
    if scale is None or scale <= 0.0:
        raise ValueError(f"gravity_scale must be a positive finite number, got {gravity_scale!r}")
    if _finite(pointing_error_deg) is None:
        raise ValueError(f"pointing_error_deg must be a finite number, got {pointing_error_deg!r}")


def changed_true_constants(
    world: RocketWorld, gravity_scale: float, pointing_error_deg: float
) -> Constants:
    """The true constants a simulator of ``world`` flies, changed in secret: the planet's GM
    times ``gravity_scale``, ``pointing_error_deg`` (degrees) added to the engine's pointing
    error. The only place the rocket's envs read ``world.true``; ``ValueError`` if the
    changed constants make an invalid world."""
    check_hidden_changes(gravity_scale, pointing_error_deg)
    true = world.true
    changed = replace(
        true.scaled(gm_earth=float(gravity_scale)),
        engine_pointing_error_rad=true.engine_pointing_error_rad
        + math.radians(float(pointing_error_deg)),
    )
    try:
        world.with_true(changed)  # the changed constants must make a valid world too
    except WorldError as error:
        raise ValueError(
            f"gravity_scale={gravity_scale!r}, pointing_error_deg={pointing_error_deg!r} "
            f"make an invalid world: {error}"
        ) from None
    return changed


def phase_sector_deg(sector: Any) -> tuple[float, float]:
    """``moon_phase_deg`` checked: (low, high) in degrees."""
    try:
        low, high = (_finite(v) for v in sector)
    except (TypeError, ValueError):  # not a pair
        low = high = None
    if low is None or high is None or not (-360.0 <= low <= 360.0 and 0.0 <= high - low <= 360.0):
        raise ValueError(
            f"moon_phase_deg must be (low, high) in degrees with -360 <= low <= 360 and "
            f"0 <= high - low <= 360, got {sector!r}"
        )
    return low, high


def _finite_action(action: Any) -> np.ndarray:
    """The action as 3 float64s; ``ValueError`` naming what is wrong, so that a
    diverged policy's NaN stops the run at once instead of flying."""
    try:
        array = np.asarray(action)
    except (TypeError, ValueError):  # ragged
        array = np.asarray(None)
    if array.dtype.kind not in "iuf" or array.size != 3:
        raise ValueError(f"an action is 3 real numbers (shape (3,)), got {action!r}")
    values = array.astype(np.float64).reshape(3)
    finite = np.isfinite(values)
    if not finite.all():
        index = int(np.argmin(finite))
        raise ValueError(
            f"action[{index}] is {values[index]}: actions must be finite "
            "(finite values outside [-1, 1] are clipped)"
        )
    return values
