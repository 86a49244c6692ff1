"""A coast between two decisions of a flight: the launch's integrator, from any state.

The same second-order leapfrog as ``envs.rocket.flight.fly``, with its adaptive step
(``ETA`` times the shorter of the planet's and the moon's time scales) and its swept
collision test against the moon, started and ended on a synchronised state (position
and velocity at the same instant) so that an impulsive burn can be added between two
coasts: a half kick opens the coast, a half kick closes it, and the steps are spread
evenly up to its end, as ``fly`` spreads them up to each tracking time.

The drift is done here, not by pymunk: a coast is a few dozen steps, and pymunk's step
was ~60 % of a step's cost (15 us of ~25 us, measured on a loaded 2-core machine), so the
flight env would miss its 2,000 decisions a second. The arithmetic of the drift
(``x += v h``) is the one pymunk does.

Units: km, s, km/s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from envs.rocket.flight import ETA, NEAR_MOON_KM, _sweep, step_limit
from envs.rocket.world import Constants, RocketWorld

#: where a coast may end before its time: on the moon, on the planet, or escaped
EVENTS = ("moon", "earth", "escaped")


@dataclass(frozen=True)
class CoastEnd:
    """How a coast ended. ``state`` is (x, y, vx, vy), synchronised, at ``t_s``."""

    state: tuple[float, float, float, float]
    t_s: float
    event: str | None  #: one of EVENTS, or None at the coast's end time
    closest_km: float  #: closest distance to the moon's centre during the coast
    impact_speed_km_s: float | None  #: speed relative to the moon on a hit
    steps: int


class Coaster:
    """Coasts of one flight: the world's true gravity and the moon's circular orbit."""

    def __init__(
        self,
        world: RocketWorld,
        true: Constants,
        moon_phase_rad: float,
        moon_distance_km: float,
        eta: float = ETA,
    ):
        self.gm_e, self.gm_m = true.gm_earth, true.gm_moon
        self.sqrt_gm_m = math.sqrt(self.gm_m)
        self.r_earth2 = world.earth_radius_km**2
        self.r_moon = world.moon_radius_km
        self.phase, self.distance = moon_phase_rad, moon_distance_km
        self.omega = world.moon_angular_rate(moon_distance_km)
        self.escape_r2 = (3.0 * world.moon_distance_km[1]) ** 2
        self.near_moon = NEAR_MOON_KM + self.r_moon
        self.eta = eta
        # the planet's time scale: r**1.5 / sqrt(GM) at the parking orbit, growing as r**1.25
        self.earth_scale = world.parking_radius_km**0.25 / math.sqrt(self.gm_e)
        self.max_steps = step_limit(world, true, eta)

    def moon(self, t: float) -> tuple[float, float, float, float]:
        """The moon's position (km) and velocity (km/s) at ``t`` after the flight began."""
        angle = self.phase + self.omega * t
        c, s = math.cos(angle), math.sin(angle)
        d, w = self.distance, self.omega
        return d * c, d * s, -d * w * s, d * w * c

    def coast(self, t0: float, x: float, y: float, vx: float, vy: float, t_end: float) -> CoastEnd:
        """Coast from the synchronised state (x, y, vx, vy) at ``t0`` to ``t_end``, or to
        the first event on the way."""
        gm_e, gm_m, eta = self.gm_e, self.gm_m, self.eta
        sqrt_gm_m, earth_scale = self.sqrt_gm_m, self.earth_scale
        phase, omega, d_moon, r_moon = self.phase, self.omega, self.distance, self.r_moon
        near2 = self.near_moon * self.near_moon
        cos, sin, sqrt = math.cos, math.sin, math.sqrt

        def step_size(x: float, y: float, mx: float, my: float, t: float) -> float:
            re = sqrt(x * x + y * y)
            rm = sqrt((x - mx) * (x - mx) + (y - my) * (y - my))
            h = eta * min(re * sqrt(sqrt(re)) * earth_scale, rm * sqrt(rm) / sqrt_gm_m)
            remaining = t_end - t
            if h >= remaining:
                return remaining
            return remaining / math.ceil(remaining / h)

        # The loop below inlines the acceleration and the step size and shares their square
        # roots (two calls and three roots a step saved): the env's decisions a second rose 1.6
        # times, 3,300-3,400 to 5,200-5,700 per CPU second over 3,000 mixed decisions, with
        # every observation and reward bit for bit the same as before.
        t = t0
        angle = phase + omega * t
        mx, my = d_moon * cos(angle), d_moon * sin(angle)
        closest = math.hypot(x - mx, y - my)
        if t_end <= t0:
            return CoastEnd((x, y, vx, vy), t, None, closest, None, 0)
        h = step_size(x, y, mx, my, t)
        r2 = x * x + y * y
        bx, by = x - mx, y - my
        rm2 = bx * bx + by * by
        ke, km = gm_e / (r2 * sqrt(r2)), gm_m / (rm2 * sqrt(rm2))
        vx, vy = vx + 0.5 * h * (-ke * x - km * bx), vy + 0.5 * h * (-ke * y - km * by)
        px, py, pmx, pmy = x, y, mx, my
        steps, max_steps = 0, self.max_steps
        r_earth2, escape_r2 = self.r_earth2, self.escape_r2
        while steps < max_steps:
            x, y = x + h * vx, y + h * vy  # the drift
            steps += 1
            t += h
            last = t >= t_end - 1e-9 * h
            if last:
                t = t_end
            angle = phase + omega * t
            mx, my = d_moon * cos(angle), d_moon * sin(angle)
            bx, by = x - mx, y - my
            rm2 = bx * bx + by * by
            rm = sqrt(rm2)
            if rm2 < near2:
                ax_, ay_ = px - pmx, py - pmy
                hit_fraction, dist = _sweep(ax_, ay_, bx, by, r_moon)
                if dist < closest:
                    closest = dist
                if hit_fraction is not None:
                    f = hit_fraction
                    hit_x, hit_y = px + f * (x - px), py + f * (y - py)
                    speed = math.hypot(bx - ax_, by - ay_) / h
                    return CoastEnd(
                        (hit_x, hit_y, vx, vy), t - h + f * h, "moon", closest, speed, steps
                    )
            elif rm < closest:
                closest = rm
            r2 = x * x + y * y
            if r2 <= r_earth2:
                return CoastEnd((x, y, vx, vy), t, "earth", closest, None, steps)
            if r2 > escape_r2:
                return CoastEnd((x, y, vx, vy), t, "escaped", closest, None, steps)
            re = sqrt(r2)
            ke, km = gm_e / (r2 * re), gm_m / (rm2 * rm)
            ax, ay = -ke * x - km * bx, -ke * y - km * by
            if last:  # close the coast with a half kick: a synchronised state
                return CoastEnd(
                    (x, y, vx + 0.5 * h * ax, vy + 0.5 * h * ay), t, None, closest, None, steps
                )
            px, py, pmx, pmy = x, y, mx, my
            # the step size: eta times the shorter of the planet's and the moon's time scales
            h_earth, h_moon = re * sqrt(sqrt(re)) * earth_scale, rm * sqrt(rm) / sqrt_gm_m
            h_next = eta * (h_earth if h_earth < h_moon else h_moon)
            remaining = t_end - t
            if h_next < remaining:
                h_next = remaining / math.ceil(remaining / h_next)
            else:
                h_next = remaining
            kick = 0.5 * (h + h_next)
            vx, vy = vx + kick * ax, vy + kick * ay
            h = h_next
        raise RuntimeError(
            f"a coast did not end within {self.max_steps} simulation steps (from t = {t0:.6g} s "
            f"to {t_end:.6g} s, at t = {t:.6g} s): its step size collapsed"
        )
