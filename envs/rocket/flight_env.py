"""``sandbox/RocketFlight-v0``: one flight from the parking orbit to a capture at the Moon."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from envs.rocket.coast import Coaster
from envs.rocket.env import _finite, changed_true_constants, check_hidden_changes, phase_sector_deg
from envs.rocket.world import RocketWorld, load_world

CAPTURE_BONUS = 10.0
FAILURE_PENALTY = 5.0
PROPELLANT_PENALTY_PER_KM_S = 0.3
#: a capture orbit's periselene lies below this many moon radii (from the centre) ...
CAPTURE_PERISELENE_RADII = 3.0
#: ... and its aposelene within this fraction of the moon's sphere of influence
CAPTURE_APOSELENE_SOI = 0.5
#: the energy term of the shaping potential is capped at this many (surface orbital speed)^2
ENERGY_TERM_CAP = 2.0
OBSERVATION_LIMIT = 10.0
#: after the departure an action component ``a`` commands ``a**3`` times the correction
#: bound (sign kept): fine control of the metres per second a midcourse correction takes,
#: the whole bound still in reach, and a policy's small exploring actions nearly free
CORRECTION_EXPONENT = 3.0
#: decisions come at the approach interval within this fraction of the moon's distance
#: from the planet too, where a departure's error is still cheap to take out
NEAR_PLANET_FRACTION = 0.2
OUTCOMES = (
    "flying",
    "captured",
    "crashed",
    "earth",
    "escaped",
    "fell_back",
    "out_of_fuel",
    "time_limit",
)
RESET_OPTIONS = ("moon_phase_rad", "moon_distance_km", "transfer_delta_v_km_s")
#: the env's arguments that are published facts of the flight (``flight_facts``)
FLIGHT_FACTS = (
    "departure_max_km_s",
    "correction_max_km_s",
    "propellant_km_s",
    "cruise_interval_s",
    "approach_interval_s",
    "correction_exponent",
)


def sphere_of_influence_km(gm_earth: float, gm_moon: float, moon_distance_km: float) -> float:
    """Laplace's sphere of influence of the moon (km); the env uses the nominal constants."""
    return moon_distance_km * (gm_moon / gm_earth) ** 0.4


def reach_delta_v_km_s(gm: float, r0: float, moon_distance_km: float) -> float:
    """The prograde delta-v from a circular orbit of radius ``r0`` whose planet-only orbit
    peaks at the moon (``gm``: the planet's, km^3/s^2)."""
    apogee_speed = math.sqrt(2.0 * gm * moon_distance_km / (r0 * (r0 + moon_distance_km)))
    return apogee_speed - math.sqrt(gm / r0)


def transfer_lead_rad(world: RocketWorld, moon_distance_km: float, delta_v_km_s: float) -> float:
    """How far (rad) the moon must be ahead of the rocket for a prograde burn of
    ``delta_v_km_s`` to meet it on the planet-only conic (nominal constants)."""
    gm, r0 = world.nominal.gm_earth, world.parking_radius_km
    speed = math.sqrt(gm / r0) + delta_v_km_s
    p = (r0 * speed) ** 2 / gm
    e = p / r0 - 1.0
    f = math.acos(max(-1.0, min(1.0, (p / moon_distance_km - 1.0) / e)))
    return f - world.moon_angular_rate(moon_distance_km) * time_from_perigee_s(p, e, f, gm)


def time_from_perigee_s(p: float, e: float, f: float, gm: float) -> float:
    """Seconds from perigee to true anomaly ``f`` (rad) on the conic of semi-latus rectum
    ``p`` (km) and eccentricity ``e`` about a body of ``gm`` (km^3/s^2): Kepler's equation
    for an ellipse, Barker's for a parabola, the hyperbolic form beyond."""
    if abs(e - 1.0) < 1e-9:
        d = math.tan(f / 2.0)
        return 0.5 * math.sqrt(p**3 / gm) * (d + d**3 / 3.0)
    if e < 1.0:
        a = p / (1.0 - e * e)
        big_e = 2.0 * math.atan2(
            math.sqrt(1.0 - e) * math.sin(f / 2.0), math.sqrt(1.0 + e) * math.cos(f / 2.0)
        )
        return (big_e - e * math.sin(big_e)) * math.sqrt(a**3 / gm)
    a = p / (e * e - 1.0)
    big_f = 2.0 * math.atanh(math.sqrt((e - 1.0) / (e + 1.0)) * math.tan(f / 2.0))
    return (e * math.sinh(big_f) - big_f) * math.sqrt(a**3 / gm)


def osculating_apses_km(
    gm: float, rx: float, ry: float, vx: float, vy: float
) -> tuple[float, float] | None:
    """(periapsis, apoapsis) in km of the two-body orbit through this relative state, or
    None if it is not bound."""
    r = math.hypot(rx, ry)
    energy = 0.5 * (vx * vx + vy * vy) - gm / r
    if energy >= 0.0:
        return None
    a = -gm / (2.0 * energy)
    h = rx * vy - ry * vx
    e = math.sqrt(max(0.0, 1.0 + 2.0 * energy * h * h / (gm * gm)))
    return a * (1.0 - e), a * (1.0 + e)


def action_for(fractions: Any, departure: bool, exponent: float) -> np.ndarray:
    """The action commanding ``fractions`` (prograde, radial) of the decision's bound: the
    inverse of the env's response (linear at the departure, ``|a|^exponent`` after)."""
    a = np.clip(np.asarray(fractions, dtype=float), -1.0, 1.0)
    if not departure:
        a = np.sign(a) * np.abs(a) ** (1.0 / exponent)
    return a.astype(np.float32)


def local_frame(
    rx: float, ry: float, vx: float, vy: float
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Unit vectors (prograde, radial) of a state relative to a body: along the velocity,
    and perpendicular to it in the plane, pointing away from the body."""
    speed = math.hypot(vx, vy)
    px, py = (vx / speed, vy / speed) if speed > 0.0 else (-ry, rx)
    nx, ny = -py, px
    if nx * rx + ny * ry < 0.0:
        nx, ny = -nx, -ny
    return (px, py), (nx, ny)


def flight_facts(
    published: dict[str, Any], given: dict[str, float | None] | None = None
) -> dict[str, Any]:
    """A world's published facts with the flight's own: the burn bounds, the propellant
    budget and the decision intervals, as given (the env's arguments) or by default
    derived from the published facts (see the env's Arguments)."""
    moon_surface_speed = math.sqrt(published["nominal"]["gm_moon"] / published["moon_radius_km"])
    largest = published["delta_v_km_s"][1]
    facts = {
        **published,
        "departure_max_km_s": 1.25 * largest,
        "correction_max_km_s": moon_surface_speed,
        "propellant_km_s": largest + moon_surface_speed,
        "cruise_interval_s": 2.0 * published["telemetry_interval_s"],
        "approach_interval_s": 0.5 * published["telemetry_interval_s"],
        "correction_exponent": CORRECTION_EXPONENT,
    }
    facts.update({key: float(value) for key, value in (given or {}).items() if value is not None})
    return facts


class RocketFlightEnv(gym.Env):
    """
    ## Description

    The sequential rocket task. A rocket waits in a circular parking orbit (counter-
    clockwise) around a planet while its moon circles the planet; one episode is one
    flight: a departure burn, midcourse corrections as tracking shows the errors, and a
    braking burn into an orbit around the moon. Between decisions the env coasts the
    rocket under the Newtonian gravity of planet and moon (``envs.rocket.coast``, the
    launch's integrator). Worlds are the launch's (`envs/rocket/worlds/*.toml`): the
    simulator flies their hidden *true* constants, each burn is dispersed in size and
    direction by the world's hidden engine dispersion, and tracking reports the state
    with the world's published noise. Units: km, s, km/s. Specification:
    docs/envs/rocket-flight.md

    Decisions come at departure (t = 0) and then every `cruise_interval_s` of flight
    time (default: 2 tracking intervals, 4 h on earth_moon), or every
    `approach_interval_s` (default: half a tracking interval) while the tracked rocket
    is within a fifth of the moon's distance from the planet, within the moon's sphere
    of influence `d (GM_moon / GM_planet)^0.4` (nominal constants), or would be within
    it after a cruise interval at its tracked closing speed: about 25 to 60 decisions a
    flight on earth_moon, 10 to 30 on super_earth.

    ## Action Space

    `Box(-1, 1, (2,), float32)`, finite values outside [-1, 1] clipped: a commanded
    delta-v (km/s) along (prograde, radial) of the tracked velocity relative to the
    planet, or to the moon inside its sphere of influence (radial: perpendicular to the
    velocity, away from that body): `a * departure_max_km_s` at the first decision, and
    after it `sign(a) |a|^3 * correction_max_km_s` per component (`correction_exponent`,
    default 3): a correction of a few m/s is an action of a few tenths, and a policy's
    small exploring actions cost almost no propellant. A command larger than the propellant left
    is scaled down to it. The engine delivers `engine_efficiency` times the command,
    with a relative size error and a pointing error drawn per burn, turned by the world's
    steady `engine_pointing_error_rad` (hidden; outward for a prograde burn). A non-finite action
    raises `ValueError`.

    ## Observation Space

    `Box(-10, 10, (14,), float32)`, tracked at the decision (clipped to the box):

    | index  | observation                                         | unit                        |
    |--------|-----------------------------------------------------|-----------------------------|
    | 0, 1   | rocket position from the planet                     | largest moon distance       |
    | 2, 3   | rocket velocity                                     | parking orbit speed         |
    | 4, 5   | moon position from the planet                       | largest moon distance       |
    | 6, 7   | moon velocity                                       | parking orbit speed         |
    | 8, 9   | rocket position from the moon                       | sphere of influence         |
    | 10, 11 | rocket velocity relative to the moon                | orbital speed at its surface |
    | 12     | propellant left                                     | fraction of the budget      |
    | 13     | flight time                                         | fraction of the time limit  |

    ## Rewards

    A shaped reward `Phi(s') - Phi(s) - 0.3 * commanded km/s`, plus 10 on capture and -5
    on any other end but the time limit. The potential `Phi = -ln(1 + max(q - SOI, 0) /
    SOI) - min(max(E, 0) / v_m^2, 2)` rewards closing on the moon's sphere of influence
    (q: distance to the moon's centre) and then lowering the rocket's two-body energy
    about the moon `E` toward a bound orbit (v_m: orbital speed at the moon's surface).
    `info["reward_terms"]` holds the three parts. A flight that fails at its first decisions
    scores about -6 to -7, a capture about 10. A flight still coasting when time runs out
    pays the -5 too: every end but a capture is a failed mission (the clock still truncates,
    as Gymnasium's time limits do, so a learner may value the state it stopped in). The
    shaping pays only flights that survive their departure: uniform random actions end 66 %
    of flights on the planet, 23 % out of propellant and 12 % fallen back, in 1.5 decisions
    on average, none in the sphere of influence (3,000 flights on earth_moon); PPO took
    about 40,000 flights to find the departure at an action std of 1, about 10,000 at its
    searched 0.37, SAC about 400 (docs page).

    ## Starting State

    Moon phase uniform over `moon_phase_deg` (the whole circle by default) and distance
    uniform over the world's `moon_distance_km`; the rocket stands on the parking orbit
    where a prograde burn `u`, drawn uniformly between the one whose planet-only orbit
    just reaches the moon and the vehicle's largest `delta_v_km_s`, would meet the moon on
    that orbit (nominal constants). `reset(options=...)` sets `moon_phase_rad`,
    `moon_distance_km` or `transfer_delta_v_km_s`.

    ## Episode End

    Termination: captured (success, `outcome="captured"`: right after a decision's burn, the
    two-body orbit about the moon is bound, with its periselene above the surface and within
    3 moon radii of the centre and its aposelene within half the sphere of influence);
    touches the moon (`"crashed"`), hits the planet (`"earth"`), escapes (`"escaped"`, 3
    largest moon distances out) or burns its last propellant uncaptured (`"out_of_fuel"`);
    right after a decision's burn, its orbit about the planet is bound within a fifth of the
    moon's distance and clear of the surface (`"fell_back"`: it has not left, or has come
    back; the parking orbit is no place to wait). Truncation: the world's `max_flight_days`
    elapse (`"time_limit"`). Mid-flight `outcome` is `"flying"`. `info` holds `is_success`,
    `outcome`, `decision`, `flight_time_s`, `propellant_km_s`, `tracked` (the tracked state
    in km and km/s), `burn`, `closest_approach_km`, `impact_speed_km_s` (these two measured on
    the true trajectory: the referee's records, for no agent to decide on), `reward_terms`; at
    reset and at the end the world's published facts (`world`, never the true constants or
    the dispersion); at the end `telemetry` (every decision's tracked state and commanded
    burn).

    ## Arguments

    `world`: a preset name, a TOML path or a `RocketWorld`. `departure_max_km_s`
    (default 1.25 times the vehicle's largest `delta_v_km_s`), `correction_max_km_s`
    (default the orbital speed at the moon's surface), `propellant_km_s` (default the
    largest `delta_v_km_s` plus the correction bound), `cruise_interval_s`,
    `approach_interval_s`, `correction_exponent` (>= 1; 1 makes corrections linear).
    `moon_phase_deg`: (low, high), the phases situations are drawn from (the launch's
    rule). `gravity_scale`: a hidden factor on the planet's true GM (the parking orbit is
    circular in it). `pointing_error_deg`: a hidden steady angle (degrees) added to the
    engine's true pointing error. Both hidden changes keep the world valid and leave its
    published facts as they are. Invalid arguments raise `ValueError`.

    ## Version History

    * v0: initial version (the corrections' cubic response, the time-limit penalty and
      `fell_back` were part of it before any reference was made).
    """

    metadata = {"render_modes": []}

    def __init__(
        self,
        world: str | Path | RocketWorld = "earth_moon",
        departure_max_km_s: float | None = None,
        correction_max_km_s: float | None = None,
        propellant_km_s: float | None = None,
        cruise_interval_s: float | None = None,
        approach_interval_s: float | None = None,
        correction_exponent: float | None = None,
        moon_phase_deg: tuple[float, float] = (0.0, 360.0),
        gravity_scale: float = 1.0,
        pointing_error_deg: float = 0.0,
    ):
        low, high = phase_sector_deg(moon_phase_deg)
        check_hidden_changes(gravity_scale, pointing_error_deg)
        self.world = load_world(world)
        w = self.world
        # read once: nothing outside the simulator sees them
        self._true = changed_true_constants(w, gravity_scale, pointing_error_deg)
        self._phase_range_rad = (math.radians(low), math.radians(high))
        self._dispersion = (w.burn_magnitude_sd, w.burn_pointing_sd_rad)
        self.moon_surface_speed_km_s = math.sqrt(w.nominal.gm_moon / w.moon_radius_km)
        self.parking_speed_km_s = math.sqrt(w.nominal.gm_earth / w.parking_radius_km)
        given = {
            "departure_max_km_s": departure_max_km_s,
            "correction_max_km_s": correction_max_km_s,
            "propellant_km_s": propellant_km_s,
            "cruise_interval_s": cruise_interval_s,
            "approach_interval_s": approach_interval_s,
            "correction_exponent": correction_exponent,
        }
        for key, value in given.items():
            number = _finite(value)
            if value is not None and (number is None or number <= 0.0):
                raise ValueError(f"{key} must be a positive finite number, got {value!r}")
        if correction_exponent is not None and correction_exponent < 1.0:
            raise ValueError(f"correction_exponent must be at least 1, got {correction_exponent!r}")
        self._published = flight_facts(w.published(), given)
        self.departure_max_km_s = self._published["departure_max_km_s"]
        self.correction_max_km_s = self._published["correction_max_km_s"]
        self.propellant_budget_km_s = self._published["propellant_km_s"]
        self.cruise_interval_s = self._published["cruise_interval_s"]
        self.approach_interval_s = self._published["approach_interval_s"]
        self.correction_exponent = self._published["correction_exponent"]
        self.max_flight_s = w.max_flight_days * 86400.0
        limit = OBSERVATION_LIMIT
        self.observation_space = spaces.Box(-limit, limit, shape=(14,), dtype=np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
        self._coaster: Coaster | None = None

    # ------------------------------------------------------------------ reset

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        chosen = self._checked_options(options)
        super().reset(seed=seed)
        w = self.world
        phase = float(self.np_random.uniform(*self._phase_range_rad))
        distance = float(self.np_random.uniform(*w.moon_distance_km))
        draw = float(self.np_random.uniform())
        phase = chosen.get("moon_phase_rad", phase) % (2.0 * math.pi)
        distance = chosen.get("moon_distance_km", distance)
        low = reach_delta_v_km_s(w.nominal.gm_earth, w.parking_radius_km, distance)
        high = max(low, w.delta_v_km_s[1])
        transfer = chosen.get("transfer_delta_v_km_s", low + draw * (high - low))
        start_angle = phase - transfer_lead_rad(w, distance, transfer)
        self._situation = (phase, distance, transfer)
        self._coaster = Coaster(w, self._true, phase, distance)
        self.soi_km = sphere_of_influence_km(w.nominal.gm_earth, w.nominal.gm_moon, distance)
        r0 = w.parking_radius_km
        speed = math.sqrt(self._true.gm_earth / r0)
        c, s = math.cos(start_angle), math.sin(start_angle)
        self._state = (r0 * c, r0 * s, -speed * s, speed * c)
        self._t = 0.0
        self._decision = 0
        self._propellant = self.propellant_budget_km_s
        self._closest_km = math.inf
        self._done = False
        self._telemetry: dict[str, list] = {
            key: [] for key in ("t_s", "position_km", "velocity_km_s", "moon_km", "burn_km_s")
        }
        self._track()
        self._potential = self._shaping_potential()
        info = self._info("flying")
        info["start_angle_rad"] = start_angle
        return self._observation(), info

    def _checked_options(self, options: dict[str, Any] | None) -> dict[str, float]:
        if options is None:
            return {}
        if not isinstance(options, dict):
            raise ValueError(f"options must be a dict with keys from {list(RESET_OPTIONS)}")
        unknown = [key for key in options if key not in RESET_OPTIONS]
        if unknown:
            raise ValueError(f"unknown reset options {unknown}; valid: {list(RESET_OPTIONS)}")
        chosen = {}
        for key, value in options.items():
            number = _finite(value)
            if number is None or (key != "moon_phase_rad" and number <= 0.0):
                raise ValueError(f"options[{key!r}] must be a finite real number, got {value!r}")
            chosen[key] = number
        return chosen

    # ------------------------------------------------------------------ tracking

    def _track(self) -> None:
        """Tracking reports the rocket's state at this decision, with the published noise."""
        x, y, vx, vy = self._state
        noise = self.np_random.normal(size=4).tolist()
        sd_r, sd_v = self.world.tracking_position_sd_km, self.world.tracking_velocity_sd_km_s
        self._tracked = (
            x + sd_r * noise[0],
            y + sd_r * noise[1],
            vx + sd_v * noise[2],
            vy + sd_v * noise[3],
        )
        self._moon = self._coaster.moon(self._t)

    def _observation(self) -> np.ndarray:
        x, y, vx, vy = self._tracked
        mx, my, mvx, mvy = self._moon
        d, v = self.world.moon_distance_km[1], self.parking_speed_km_s
        soi, vm = self.soi_km, self.moon_surface_speed_km_s
        values = [
            x / d,
            y / d,
            vx / v,
            vy / v,
            mx / d,
            my / d,
            mvx / v,
            mvy / v,
            (x - mx) / soi,
            (y - my) / soi,
            (vx - mvx) / vm,
            (vy - mvy) / vm,
            self._propellant / self.propellant_budget_km_s,
            self._t / self.max_flight_s,
        ]
        limit = OBSERVATION_LIMIT
        return np.clip(np.array(values, dtype=np.float32), -limit, limit)

    def _near_moon(self, state: tuple[float, float, float, float]) -> bool:
        """Whether the state is inside the moon's sphere of influence."""
        mx, my = self._moon[0], self._moon[1]
        return math.hypot(state[0] - mx, state[1] - my) < self.soi_km

    def _approaching(self, state: tuple[float, float, float, float]) -> bool:
        """Inside the sphere of influence, or closing on it fast enough to be inside it
        before a cruise interval is up."""
        rx, ry = state[0] - self._moon[0], state[1] - self._moon[1]
        vx, vy = state[2] - self._moon[2], state[3] - self._moon[3]
        q = math.hypot(rx, ry)
        closing = max(0.0, -(rx * vx + ry * vy) / q)
        return q - closing * self.cruise_interval_s < self.soi_km

    # ------------------------------------------------------------------ step

    def burn_command(self, action: Any) -> tuple[float, float, str]:
        """The commanded (prograde, radial) delta-v in km/s this action asks for at the
        current decision, before the propellant limit, and the frame's body."""
        a = np.clip(_finite_action(action), -1.0, 1.0).astype(float)
        frame = "moon" if self._near_moon(self._tracked) else "planet"
        if self._decision == 0:
            bound = self.departure_max_km_s
        else:
            a = np.sign(a) * np.abs(a) ** self.correction_exponent
            bound = self.correction_max_km_s
        return float(a[0]) * bound, float(a[1]) * bound, frame

    def step(self, action):
        if self._coaster is None or self._done:
            raise RuntimeError("call reset() before step(), and again after an episode ends")
        prograde, radial, frame = self.burn_command(action)
        size = math.hypot(prograde, radial)
        if size > self._propellant:
            prograde, radial = prograde * self._propellant / size, radial * self._propellant / size
            size = self._propellant
        self._propellant = max(0.0, self._propellant - size)
        # the engine points along the tracked frame: the rocket knows no better
        tx, ty, tvx, tvy = self._tracked
        if frame == "moon":
            mx, my, mvx, mvy = self._moon
            along, out = local_frame(tx - mx, ty - my, tvx - mvx, tvy - mvy)
        else:
            along, out = local_frame(tx, ty, tvx, tvy)
        bx = prograde * along[0] + radial * out[0]
        by = prograde * along[1] + radial * out[1]
        self._log(bx, by)
        x, y, vx, vy = self._state
        if size > 0.0:
            magnitude_sd, pointing_sd = self._dispersion
            error = self.np_random.normal(size=2).tolist()
            scale = self._true.engine_efficiency * (1.0 + magnitude_sd * error[0])
            # a steady error turns every burn clockwise: outward for a prograde one, as in
            # the launch (envs/rocket/flight.py initial_state)
            turn = pointing_sd * error[1] - self._true.engine_pointing_error_rad
            c, s = math.cos(turn), math.sin(turn)
            vx += scale * (c * bx - s * by)
            vy += scale * (s * bx + c * by)
        self._state = (x, y, vx, vy)
        self._decision += 1

        outcome, impact_speed = "flying", None
        if self._captured():
            outcome = "captured"
        elif self._propellant <= 1e-9:
            outcome = "out_of_fuel"
        elif self._fell_back():
            outcome = "fell_back"
        else:
            x, y = self._tracked[0], self._tracked[1]
            near_planet = math.hypot(x, y) < NEAR_PLANET_FRACTION * self._situation[1]
            near = near_planet or self._approaching(self._tracked)
            interval = self.approach_interval_s if near else self.cruise_interval_s
            end = self._coaster.coast(
                self._t, x, y, vx, vy, min(self._t + interval, self.max_flight_s)
            )
            self._state, self._t = end.state, end.t_s
            self._closest_km = min(self._closest_km, end.closest_km)
            impact_speed = end.impact_speed_km_s
            if end.event is not None:
                outcome = {"moon": "crashed"}.get(end.event, end.event)
            elif self._t >= self.max_flight_s:
                outcome = "time_limit"
            self._track()

        potential = self._shaping_potential()
        terms = {
            "progress": potential - self._potential,
            "propellant": -PROPELLANT_PENALTY_PER_KM_S * size,
            "terminal": (
                CAPTURE_BONUS
                if outcome == "captured"
                else (0.0 if outcome == "flying" else -FAILURE_PENALTY)
            ),
        }
        self._potential = potential
        terminated = outcome not in ("flying", "time_limit")
        truncated = outcome == "time_limit"
        self._done = terminated or truncated
        info = self._info(outcome)
        info["burn"] = {"prograde_km_s": prograde, "radial_km_s": radial, "frame": frame}
        info["impact_speed_km_s"] = impact_speed
        info["reward_terms"] = terms
        if not self._done:
            del info["world"]  # at reset and at the end: it does not change in flight
        else:
            self._log(0.0, 0.0)
            info["telemetry"] = {
                key: np.array(values, dtype=float) for key, values in self._telemetry.items()
            }
        return self._observation(), float(sum(terms.values())), terminated, truncated, info

    def _log(self, bx: float, by: float) -> None:
        """Telemetry: the tracked state at this decision and the burn commanded there."""
        tel = self._telemetry
        tel["t_s"].append(self._t)
        tel["position_km"].append(self._tracked[:2])
        tel["velocity_km_s"].append(self._tracked[2:])
        tel["moon_km"].append(self._moon[:2])
        tel["burn_km_s"].append((bx, by))

    def _relative(self) -> tuple[float, float, float, float]:
        x, y, vx, vy = self._state
        mx, my, mvx, mvy = self._coaster.moon(self._t)
        return x - mx, y - my, vx - mvx, vy - mvy

    def _captured(self) -> bool:
        apses = osculating_apses_km(self._true.gm_moon, *self._relative())
        if apses is None:
            return False
        periselene, aposelene = apses
        r_moon = self.world.moon_radius_km
        return (
            r_moon < periselene <= CAPTURE_PERISELENE_RADII * r_moon
            and aposelene <= CAPTURE_APOSELENE_SOI * self.soi_km
        )

    def _fell_back(self) -> bool:
        """Whether the rocket's orbit about the planet (true constants) is bound within
        ``NEAR_PLANET_FRACTION`` of the moon's distance and clear of the planet's surface:
        it has not left, or has come back (an orbit into the planet flies on to hit it)."""
        x, y, vx, vy = self._state
        apses = osculating_apses_km(self._true.gm_earth, x, y, vx, vy)
        return (
            apses is not None
            and apses[0] > self.world.earth_radius_km
            and apses[1] < NEAR_PLANET_FRACTION * self._situation[1]
        )

    def _shaping_potential(self) -> float:
        rx, ry, vx, vy = self._relative()
        q = math.hypot(rx, ry)
        energy = 0.5 * (vx * vx + vy * vy) - self.world.nominal.gm_moon / max(
            q, self.world.moon_radius_km
        )
        energy_term = min(max(energy, 0.0) / self.moon_surface_speed_km_s**2, ENERGY_TERM_CAP)
        return -math.log1p(max(q - self.soi_km, 0.0) / self.soi_km) - energy_term

    def _info(self, outcome: str) -> dict[str, Any]:
        x, y, vx, vy = self._tracked
        mx, my, mvx, mvy = self._moon
        phase, distance, _ = self._situation
        published = dict(self._published)
        published["nominal"] = dict(published["nominal"])
        return {
            "is_success": outcome == "captured",
            "outcome": outcome,
            "decision": self._decision,
            "flight_time_s": self._t,
            "propellant_km_s": self._propellant,
            "tracked": {
                "t_s": self._t,
                "position_km": (x, y),
                "velocity_km_s": (vx, vy),
                "moon_km": (mx, my),
                "moon_velocity_km_s": (mvx, mvy),
            },
            "closest_approach_km": max(0.0, self._closest_km - self.world.moon_radius_km),
            "world": published,
            "moon_phase_rad": phase,
            "moon_distance_km": distance,
            "sphere_of_influence_km": self.soi_km,
        }


def _finite_action(action: Any) -> np.ndarray:
    """The action as 2 float64s; ``ValueError`` naming what is wrong."""
    try:
        array = np.asarray(action)
    except (TypeError, ValueError):
        array = np.asarray(None)
    if array.dtype.kind not in "iuf" or array.size != 2:
        raise ValueError(f"an action is 2 real numbers (shape (2,)), got {action!r}")
    values = array.astype(np.float64).reshape(2)
    if not np.isfinite(values).all():
        raise ValueError(f"action {values} must be finite (finite values outside [-1, 1] clip)")
    return values
