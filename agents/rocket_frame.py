"""The rocket seen from the Moon's phase: a learner's inputs and actions relative to it.

The rocket's task turns with the Moon: rotate the Moon's phase and the burn point
together and the launch flies the same path, rotated. An agent that observes
(cos φ, sin φ, d) and chooses an absolute burn angle θ must learn that symmetry from
its trials; in the Moon's frame it is given. There the agent observes only what the
symmetry leaves, the scaled Moon distance d, and its action's direction is the burn
point relative to the Moon, θ - φ: the learned model's ``burn_angle_input =
"relative"``, given to the model-free learners (``agents.learners``) as the same
setting.

The Moon's phase is read from the observation, as the agent sees it (float32 cosine
and sine: about 1e-7 rad), so the evaluator's absolute observations convert exactly
as the training env's do.

A learner's action is a point of the square [-1, 1]^2 (and the delta-v command), read as
the direction atan2(a1, a0). A squashed policy (SAC's tanh) piles its actions in the
corners, which point at -135, -45, 45 and 135 deg; on earth_moon the burn point that hits
lies 135 deg behind the Moon, in a corner of an unturned frame, where a policy pinned to
(-1, -1) finds it without learning the direction (measured: SAC-UTD, 2 seeds, reliable
after 215 and 464 launches with the frame unturned, 464 and 464 turned by 22.5 deg).
So a learner's frame is turned by an angle of its own (``frame_turn``: drawn from its seed,
uniform over the circle): no seed's answer sits where the squashed outputs gather more
often than chance puts it there. The learned model and the bandit plan over the angle
itself and are not turned.
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from agents.base import SettingsError

#: the values of the ``burn_angle_input`` setting: the burn point as the env takes it, or
#: relative to the Moon's phase
BURN_ANGLE_INPUTS = ("absolute", "relative")
#: the one task whose burn points it describes
BURN_ANGLE_TASK = "rocket"
#: mixed with a learner's seed to draw its frame's turn, so that the turn is not the
#: first draw of any other generator seeded with the seed alone
FRAME_TURN_STREAM = 0x7E12


def check_burn_angle_input(agent: str, task: str, value: Any) -> None:
    """``SettingsError`` in one line, naming the valid values, for a ``burn_angle_input``
    given for another task than the rocket or other than one of ``BURN_ANGLE_INPUTS``."""
    valid = " or ".join(repr(v) for v in BURN_ANGLE_INPUTS)
    if task != BURN_ANGLE_TASK:
        raise SettingsError(
            f"agent {agent!r}: setting 'burn_angle_input' ({valid}) is for the "
            f"{BURN_ANGLE_TASK} only, not for {task}"
        )
    if value not in BURN_ANGLE_INPUTS:
        raise SettingsError(
            f"agent {agent!r}: setting 'burn_angle_input' for {task} must be {valid}, not {value!r}"
        )


def moon_phase_rad(observation: np.ndarray) -> float:
    """The Moon's phase an absolute observation (cos φ, sin φ, d) shows, rad."""
    return math.atan2(float(observation[1]), float(observation[0]))


def to_relative_observation(observation: np.ndarray) -> np.ndarray:
    """An absolute observation (cos φ, sin φ, d) seen from the Moon: (d,)."""
    return np.asarray(observation, dtype=np.float32)[2:3].copy()


def frame_turn(seed: int) -> float:
    """The angle (rad, in [-pi, pi)) by which a learner of ``seed`` turns the Moon's frame."""
    return float(np.random.default_rng([seed, FRAME_TURN_STREAM]).uniform(-math.pi, math.pi))


def to_absolute_action(
    action: np.ndarray, observation: np.ndarray, turn: float = 0.0
) -> np.ndarray:
    """A relative action (a0, a1, a2), whose direction, turned by ``turn`` rad, is the burn
    point relative to the Moon's phase, as the env takes it in the situation
    ``observation`` (absolute): burn angle φ + atan2(a1, a0) + turn, a2 unchanged. It is
    clipped to [-1, 1] first, as the env clips, so the direction is the one the env would
    read."""
    a = np.clip(np.asarray(action, dtype=np.float64).reshape(3), -1.0, 1.0)
    relative = math.atan2(a[1], a[0]) + turn  # atan2 is 0 for (0, 0), as the env reads it
    burn = moon_phase_rad(observation) + relative
    return np.array([math.cos(burn), math.sin(burn), a[2]], dtype=np.float32)


class MoonRelativeFrame(gym.Wrapper):
    """The rocket env in the Moon's frame: observations ``Box(-1, 1, (1,))``, the scaled
    Moon distance; actions ``Box(-1, 1, (3,))``, a burn direction relative to the Moon's
    phase (turned by ``turn`` rad, see the module docstring) and the delta-v command,
    turned into the env's absolute action at each step. ``info`` passes through unchanged
    (its ``launch`` is the absolute launch flown)."""

    def __init__(self, env: gym.Env, turn: float = 0.0):
        super().__init__(env)
        self.turn = turn
        self.observation_space = spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(3,), dtype=np.float32)
        self._observation: np.ndarray | None = None  #: the absolute one the action turns with

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        observation, info = self.env.reset(seed=seed, options=options)
        self._observation = observation
        return to_relative_observation(observation), info

    def step(self, action: np.ndarray):
        if self._observation is None:
            raise RuntimeError("call reset() before step()")
        absolute = to_absolute_action(action, self._observation, self.turn)
        observation, reward, terminated, truncated, info = self.env.step(absolute)
        self._observation = observation
        return to_relative_observation(observation), reward, terminated, truncated, info
