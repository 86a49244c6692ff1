"""One launch, flown by pymunk: the rocket is a dynamic body that pymunk moves
with its velocity, kicked between steps by the gravity of the planet and the moon;
the moon is a kinematic body that turns about the planet, so it moves on its
circular orbit exactly.

Integration. pymunk's step is symplectic Euler (drift with the current velocity,
then kick), first order. We make it second order (leapfrog) by keeping the
velocity at half steps: after each drift, the kick uses the acceleration at the
new position over ``(h_n + h_{n+1}) / 2``, where ``h_{n+1}`` is chosen right there
from the new position. The step is adaptive: ``ETA`` times the shorter of two time
scales, the moon's orbital one ``r_m**1.5 / sqrt(GM_m)`` and the planet's, which is
the orbital one at the parking orbit growing as ``r**1.25`` (not ``r**1.5``) with
distance: slow transfers spend days far out, and with ``r**1.5`` that part of the
flight dominated the arrival error (measured: 0.21 moon radii at 600 steps, against
0.06 at 580 steps with ``r**1.25``). Steps are shortened so that they land on the
tracking times (telemetry). ``benchmarks/rocket_speed.py`` prints the trade-off.

Collisions. pymunk has no continuous collision detection, and a step near the moon
can be longer than the moon is wide, so hits are found by sweeping the rocket's
straight path between two steps, in the moon's frame, against the moon's disc.

Why the kick is not a ``velocity_func``. pymunk calls a body's ``velocity_func``
from C, and prints and drops whatever it raises: a NaN that broke the step size
left the time unchanged and the loop spun for ever, and 5 of 6 Ctrl-Cs sent
mid-flight were lost. Catching everything inside the callback is not enough, as
pymunk's wrapper around it runs Python too: 87 of 229 interrupts (38 %) still
landed there. So pymunk only drifts the rocket (no force acts on it there, and its
velocity update leaves the velocity exactly as it is) and the loop kicks it, where
whatever is raised reaches the caller: 394 of 401 interrupts did, the other 7 fell
in pymunk's finalizers of a finished flight's space and bodies. The results are
bit-identical to the callback's, and launches ~25 % faster. As a second guard, a
flight stops with a ``RuntimeError`` after ``step_limit`` steps, more than any
flight of its world can take.

Units: km, s, km/s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pymunk

from envs.rocket.world import Constants, RocketWorld

# step = ETA * time scale (below): ~580 steps a transfer, arrival within ~6 % of the moon radius
ETA = 0.012
NEAR_MOON_KM = 60_000.0  # within this distance of the moon, sweep each step for a hit
OUTCOMES = ("moon", "earth", "escaped", "fell_back", "time_limit")


@dataclass(frozen=True)
class Launch:
    """The initial conditions of one launch."""

    moon_phase_rad: float  # moon's angle at the burn, from the +x axis
    moon_distance_km: float  # moon's orbital radius
    burn_angle_rad: float  # rocket's angle on the parking orbit at the burn
    delta_v_km_s: float  # commanded prograde delta-v


@dataclass
class Flight:
    """What happened. ``telemetry_*`` are the rocket's (and moon's) positions at
    every multiple of the world's telemetry interval, and at the end."""

    outcome: str
    flight_time_s: float
    closest_approach_km: float  # closest distance to the moon's surface (0 on a hit)
    impact_speed_km_s: float | None  # speed relative to the moon at impact, None if no impact
    arrival_km: tuple[float, float] | None  # rocket position at impact (planet-centred frame)
    steps: int
    telemetry_t_s: np.ndarray = field(repr=False)
    telemetry_position_km: np.ndarray = field(repr=False)
    telemetry_moon_km: np.ndarray = field(repr=False)

    @property
    def hit(self) -> bool:
        return self.outcome == "moon"


def initial_state(
    world: RocketWorld, constants: Constants, launch: Launch
) -> tuple[np.ndarray, np.ndarray]:
    """Position (km) and velocity (km/s) just after the burn, in the planet's frame: the
    circular speed, prograde, plus the delivered delta-v, turned off prograde by the
    engine's pointing error (outward for a positive one)."""
    r0 = world.parking_radius_km
    c, s = math.cos(launch.burn_angle_rad), math.sin(launch.burn_angle_rad)
    circular = math.sqrt(constants.gm_earth / r0)
    delivered = constants.engine_efficiency * launch.delta_v_km_s
    along = circular + delivered * math.cos(constants.engine_pointing_error_rad)
    outward = delivered * math.sin(constants.engine_pointing_error_rad)
    # prograde is (-s, c) on the counter-clockwise orbit, outward (c, s)
    return np.array([r0 * c, r0 * s]), np.array([-along * s + outward * c, along * c + outward * s])


def moon_position(world: RocketWorld, launch: Launch, t: float) -> tuple[float, float]:
    angle = launch.moon_phase_rad + world.moon_angular_rate(launch.moon_distance_km) * t
    return launch.moon_distance_km * math.cos(angle), launch.moon_distance_km * math.sin(angle)


def step_limit(world: RocketWorld, constants: Constants, eta: float = ETA) -> int:
    """More simulation steps than any flight of ``world`` on ``constants`` can take.

    Every step starts outside the planet and the moon (a flight ends on reaching
    either), where each time scale of ``fly``'s step size is at least its value at
    the surface; so the step wanted is at least ``shortest``, ``eta`` times the
    shorter of the two. Spreading the time to the next tracking time evenly keeps
    steps above ``shortest / 2`` (``remaining / ceil(remaining / h) > h / 2`` when
    ``remaining >= h``), except the one step per tracking interval that ends on the
    tracking time. The limit is twice that count, as a margin for rounding: on
    earth_moon ~290,000 steps against ~670 in a flight, so a flight that stops
    advancing fails within about a second.
    """
    t_max = world.max_flight_days * 86400.0
    planet_scale = (
        world.earth_radius_km**1.25 * world.parking_radius_km**0.25 / math.sqrt(constants.gm_earth)
    )
    moon_scale = world.moon_radius_km**1.5 / math.sqrt(constants.gm_moon)
    shortest = eta * min(planet_scale, moon_scale)
    return 2 * math.ceil(2.0 * t_max / shortest + t_max / world.telemetry_interval_s + 2.0)


def fly(world: RocketWorld, true: Constants, launch: Launch, eta: float = ETA) -> Flight:
    """Fly one launch to its end on the constants ``true`` (the world's hidden ones)."""
    gm_e, gm_m = true.gm_earth, true.gm_moon
    sqrt_gm_e, sqrt_gm_m = math.sqrt(gm_e), math.sqrt(gm_m)
    r_earth, r_moon = world.earth_radius_km, world.moon_radius_km
    r_earth2 = r_earth * r_earth
    d_moon = launch.moon_distance_km
    omega = world.moon_angular_rate(d_moon)
    phase = launch.moon_phase_rad
    escape_r2 = (3.0 * world.moon_distance_km[1]) ** 2
    fall_back_r2 = (0.5 * d_moon) ** 2
    near_moon = NEAR_MOON_KM + r_moon
    t_max = world.max_flight_days * 86400.0
    interval = world.telemetry_interval_s
    # The planet's time scale: r**1.5 / sqrt(GM) at the parking orbit, growing as r**1.25.
    earth_scale = world.parking_radius_km**0.25 / sqrt_gm_e

    space = pymunk.Space()
    rocket = pymunk.Body(1.0, 1.0)
    moon = pymunk.Body(body_type=pymunk.Body.KINEMATIC)
    moon.angle = phase
    moon.angular_velocity = omega
    space.add(rocket, moon)

    position, velocity = initial_state(world, true, launch)
    x0, y0 = float(position[0]), float(position[1])

    def step_size(x: float, y: float, mx: float, my: float, t: float) -> float:
        re = math.sqrt(x * x + y * y)
        rm = math.sqrt((x - mx) ** 2 + (y - my) ** 2)
        h = eta * min(re * math.sqrt(math.sqrt(re)) * earth_scale, rm * math.sqrt(rm) / sqrt_gm_m)
        remaining = (math.floor(t / interval + 1e-9) + 1.0) * interval - t
        if h >= remaining:
            return remaining
        return remaining / math.ceil(remaining / h)  # even steps up to the tracking time

    def acceleration(x: float, y: float, mx: float, my: float) -> tuple[float, float]:
        r2 = x * x + y * y
        ke = gm_e / (r2 * math.sqrt(r2))
        dx, dy = x - mx, y - my
        d2 = dx * dx + dy * dy
        km = gm_m / (d2 * math.sqrt(d2))
        return -ke * x - km * dx, -ke * y - km * dy

    mx0, my0 = d_moon * math.cos(phase), d_moon * math.sin(phase)
    h = step_size(x0, y0, mx0, my0, 0.0)
    ax, ay = acceleration(x0, y0, mx0, my0)
    rocket.position = (x0, y0)
    rocket.velocity = (float(velocity[0]) + 0.5 * h * ax, float(velocity[1]) + 0.5 * h * ay)

    tel_t, tel_pos, tel_moon = [0.0], [(x0, y0)], [(mx0, my0)]
    closest = math.inf
    outcome, arrival, impact_speed = "time_limit", None, None
    rose = False
    prev_r2 = x0 * x0 + y0 * y0
    px, py, pmx, pmy = x0, y0, mx0, my0
    t, steps, max_steps = 0.0, 0, step_limit(world, true, eta)
    while steps < max_steps:
        space.step(h)  # the drift
        steps += 1
        t += h
        x, y = rocket.position
        angle = phase + omega * t
        mx, my = d_moon * math.cos(angle), d_moon * math.sin(angle)
        # Rocket relative to the moon at the start (a) and end (b) of the step.
        bx, by = x - mx, y - my
        rm2 = bx * bx + by * by
        if rm2 < near_moon * near_moon:
            ax_, ay_ = px - pmx, py - pmy
            hit_fraction, dist = _sweep(ax_, ay_, bx, by, r_moon)
            closest = min(closest, dist)
            if hit_fraction is not None:
                f = hit_fraction
                t_hit = t - h + f * h
                x = px + f * (x - px)
                y = py + f * (y - py)
                arrival = (x, y)
                rvx, rvy = (bx - ax_) / h, (by - ay_) / h
                impact_speed = math.hypot(rvx, rvy)
                outcome, t = "moon", t_hit
                (
                    tel_t.append(t),
                    tel_pos.append(arrival),
                    tel_moon.append(moon_position(world, launch, t)),
                )
                break
        else:
            closest = min(closest, math.sqrt(rm2))
        r2 = x * x + y * y
        if abs(t / interval - round(t / interval)) < 1e-9:
            tel_t.append(t), tel_pos.append((x, y)), tel_moon.append((mx, my))
        if r2 <= r_earth2:
            outcome = "earth"
            break
        if r2 > escape_r2:
            outcome = "escaped"
            break
        if r2 > prev_r2:
            rose = True
        elif rose and r2 < fall_back_r2:
            outcome = "fell_back"
            break
        if t >= t_max:
            break
        prev_r2 = r2
        px, py, pmx, pmy = x, y, mx, my
        # The kick, over half of this step and half of the next.
        h_next = step_size(x, y, mx, my, t)
        ax, ay = acceleration(x, y, mx, my)
        kick = 0.5 * (h + h_next)
        vx, vy = rocket.velocity
        rocket.velocity = (vx + kick * ax, vy + kick * ay)
        h = h_next
    else:
        raise RuntimeError(
            f"the flight did not end within {max_steps} simulation steps (at t = {t:.6g} s of "
            f"{t_max:.6g} s): its step size collapsed; {launch}"
        )
    if tel_t[-1] != t:
        tel_t.append(t), tel_pos.append((x, y)), tel_moon.append((mx, my))
    return Flight(
        outcome=outcome,
        flight_time_s=t,
        closest_approach_km=max(0.0, closest - r_moon),
        impact_speed_km_s=impact_speed,
        arrival_km=arrival,
        steps=steps,
        telemetry_t_s=np.array(tel_t),
        telemetry_position_km=np.array(tel_pos),
        telemetry_moon_km=np.array(tel_moon),
    )


def _sweep(ax: float, ay: float, bx: float, by: float, radius: float) -> tuple[float | None, float]:
    """Sweep the segment a->b against a disc of ``radius`` at the origin.

    Returns (fraction of the segment at first contact, or None; closest distance of
    the segment to the origin).
    """
    dx, dy = bx - ax, by - ay
    dd = dx * dx + dy * dy
    u = 0.0 if dd == 0.0 else min(1.0, max(0.0, -(ax * dx + ay * dy) / dd))
    cx, cy = ax + u * dx, ay + u * dy
    dist = math.sqrt(cx * cx + cy * cy)
    if dist > radius:
        return None, dist
    # First root of |a + f d| = radius in [0, 1].
    b = ax * dx + ay * dy
    c = ax * ax + ay * ay - radius * radius
    if c <= 0.0:
        return 0.0, dist
    disc = max(0.0, b * b - dd * c)
    return (-b - math.sqrt(disc)) / dd, dist
