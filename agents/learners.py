"""Model-free learners: Stable-Baselines3 algorithms behind one thin adapter.

Hyperparameters start from the RL Baselines3 Zoo values for the nearest Zoo task
and were searched a little on each task here (``benchmarks/tune_learners.py`` and
``benchmarks/tune_city_learners.py`` run those searches). The choice per task, with
the reason beside each value, is data: ``agents/settings/<algorithm>.toml`` (a variant
of an algorithm, such as ``sac-utd``, has a file of its own). A run overrides it with
``--set ppo.learning_rate=3e-4`` or ``--agent-config FILE``. All learners run on the CPU
with one torch thread. On the rocket they may act in the Moon's frame
(``burn_angle_input = "relative"``, ``agents/rocket_frame.py``).
"""

from __future__ import annotations

import copy
import inspect
import pickle
import random
import tomllib
import types
import typing
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3 import A2C, DQN, PPO, SAC, TD3
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import Logger
from stable_baselines3.common.logger import configure as configure_logger
from stable_baselines3.common.noise import NormalActionNoise
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm
from stable_baselines3.common.type_aliases import TrainFrequencyUnit
from stable_baselines3.common.vec_env import DummyVecEnv

from agents.base import Agent, TaskSpec, merge_settings, register
from agents.ledger import Ledger
from agents.rocket_frame import (
    BURN_ANGLE_TASK,
    MoonRelativeFrame,
    check_burn_angle_input,
    frame_turn,
    to_absolute_action,
    to_relative_observation,
)

SETTINGS_DIR = (
    Path(__file__).parent / "settings"
)  #: one TOML file per learner: its settings per task
#: the settings the adapter reads itself, each with a value of its kind (what a given value
#: is checked against); a learner takes those it names in ``adapter_keys``, and every other
#: key goes to the SB3 constructor
ADAPTER_KEYS = {
    "n_envs": 1,  # envs stepped at once, all counted by the same ledger (default 1)
    "keep_replay_in_new_world": False,  # keep the replay buffer in a new world (default false)
    "action_noise_sigma": 0.1,  # Gaussian action noise on every action dimension (default none)
    "exploration_steps": 10_000,  # env steps over which epsilon decays (default: SB3's schedule)
    "learning_starts_in_new_world": 0,  # random warm-up steps in a new world (default 0: none)
    # the rocket's burn point as the env takes it, or relative to the Moon's phase
    # (agents/rocket_frame.py); the rocket's only
    "burn_angle_input": "absolute",
}
#: adapter keys that apply to one task only: a learner takes them there alone
ADAPTER_KEY_TASKS = {"burn_angle_input": BURN_ANGLE_TASK}
#: SB3 constructor arguments the adapter sets itself
_SET_BY_ADAPTER = {
    "self",
    "policy",
    "env",
    "seed",
    "device",
    "verbose",
    "_init_setup_model",
    "tensorboard_log",
}


@cache
def settings_file(name: str) -> dict[str, Any]:
    """The tables of ``agents/settings/<name>.toml``, by task."""
    path = SETTINGS_DIR / f"{name}.toml"
    return tomllib.loads(path.read_text()) if path.exists() else {}


def _admits_text(annotation: Any) -> bool:
    """Whether an argument annotated so may be given as text: ``str``, or a union with it."""
    if typing.get_origin(annotation) in (types.UnionType, typing.Union):
        return str in typing.get_args(annotation)
    return annotation is str


class TrainingDone(Exception):
    """Raised by ``StopAtTrials`` at the start of the rollout after the last one, so that an
    off-policy ``learn`` ends with its last step stored and trained on."""


class StopAtTrials(BaseCallback):
    """Stops ``learn`` once the ledger has counted ``until_trials`` trials.

    SB3 drops the step on which a callback stops ``learn``, and an on-policy algorithm
    (PPO, A2C) drops its whole unfinished rollout: stopped mid-rollout at every
    evaluation point, PPO would lose up to ``n_steps - 1`` counted trials each time. So
    an on-policy learner stops only at a rollout boundary (losing the one step that
    starts the next rollout), a little past ``until_trials``, except at the ledger's
    ``limit``, which no learner passes.

    An off-policy learner keeps the step that reaches ``until_trials``: it goes into the
    replay buffer. Where its rollout ends on that step (``train_freq`` in steps: every
    step of TD3), the gradient steps after it are made and ``learn`` ends as the next
    rollout starts (``TrainingDone``), before it acts again. Mid-rollout (SAC's and DQN's
    ``train_freq`` of 4 and 2 steps) its envs (``HaltBeforeStep``) end ``learn`` before
    the next step, and the rollout's gradient steps come with the rollout that follows,
    as they would have. SB3 alone would drop the step: a one-launch adaptation would
    learn nothing, and the next call would act on the observation before the dropped
    step and store its action with the next situation's outcome.
    """

    def __init__(self, ledger: Ledger, until_trials: int, on_policy: bool):
        super().__init__()
        self.ledger = ledger
        self.until_trials = until_trials
        self.on_policy = on_policy
        self._rollout_ended_past_until = False
        self._done_after_rollout = False

    def _on_rollout_start(self) -> None:
        if self._done_after_rollout:
            raise TrainingDone

    def _on_rollout_end(self) -> None:
        self._rollout_ended_past_until = self.ledger.n_trials >= self.until_trials

    def _on_step(self) -> bool:
        at_limit = self.ledger.limit is not None and self.ledger.n_trials >= self.ledger.limit
        if self.on_policy:
            return not (at_limit or self._rollout_ended_past_until)
        if not at_limit and self.ledger.n_trials < self.until_trials:
            return True
        if self._rollout_ends_here():
            self._done_after_rollout = True
            return True
        for gate in self.training_env.envs:  # HaltBeforeStep, every env of the learner
            gate.halt()  # keep this step, stop before the next
        return True

    def _on_training_end(self) -> None:
        self._done_after_rollout = False

    def _rollout_ends_here(self) -> bool:
        """Whether the off-policy rollout ends with this step (``train_freq`` in steps)."""
        frequency = self.model.train_freq
        return (
            frequency.unit == TrainFrequencyUnit.STEP
            and self.locals.get("num_collected_steps", 0) >= frequency.frequency
        )


class HaltBeforeStep(gym.Wrapper):
    """A learner's env, the outermost wrapper, which ends ``learn`` (``TrainingDone``) at its
    next step once ``halt`` was called, before the step is taken: the step that reached the
    trials an off-policy learner was asked for is stored, and no trial past them is taken
    (``StopAtTrials``)."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self._halted = False

    def halt(self) -> None:
        self._halted = True

    def reset(self, **kwargs):
        self._halted = False
        return self.env.reset(**kwargs)

    def step(self, action):
        if self._halted:
            self._halted = False
            raise TrainingDone
        return self.env.step(action)


class SB3Learner(Agent):
    """Adapter from an SB3 algorithm to the agent interface.

    When training moves to a new world (a new ledger) the learner keeps its network,
    optimiser and exploration state and, unless ``keep_replay_in_new_world``, starts
    the new world with an empty replay buffer: the old world's transitions describe
    other dynamics under the same observations, as the planner's fitted constants
    describe another world, and both are dropped at the move. It does not start over
    with SB3's ``learning_starts`` random steps there: it arrives with a policy, and its
    own (exploring) actions fill the fresh buffer while it keeps learning from the first
    step. ``learning_starts_in_new_world`` asks for that many random steps instead.
    Random steps, in the first world or a new one, are declared to the ledger as a
    warm-up (``Ledger.start_warm_up``), which counts their deaths apart.
    """

    algorithm: ClassVar[type[BaseAlgorithm]]
    #: the action spaces the algorithm supports: it plays any task that acts in one of them
    action_spaces: ClassVar[tuple[type[spaces.Space], ...]]
    #: the keys of ``ADAPTER_KEYS`` this learner takes
    adapter_keys: ClassVar[tuple[str, ...]] = ("n_envs",)
    #: the stem of its settings file in ``agents/settings/`` ("": the algorithm's name)
    settings_name: ClassVar[str] = ""
    # Each learner's seconds_per_trial: wall seconds per trial in the default runs (2 cores,
    # load about 3), evaluations included; they spend their whole budget there, so per
    # planned trial too. SAC, TD3 and DQN make a gradient step per env step.

    @classmethod
    def plays(cls, task: str, action_space: spaces.Space | None = None) -> bool:
        return action_space is None or isinstance(action_space, cls.action_spaces)

    @classmethod
    def plays_description(cls) -> str:
        return "any with " + " or ".join(space.__name__ for space in cls.action_spaces) + " actions"

    @classmethod
    def default_settings(cls, task: str) -> dict[str, Any]:
        name = cls.settings_name or cls.algorithm.__name__.lower()
        return copy.deepcopy(settings_file(name).get(task, {}))

    @classmethod
    def task_adapter_keys(cls, task: str) -> tuple[str, ...]:
        """The keys of ``adapter_keys`` that apply to ``task``."""
        return tuple(key for key in cls.adapter_keys if ADAPTER_KEY_TASKS.get(key, task) == task)

    @classmethod
    def settings_keys(cls, task: str) -> set[str]:
        accepted = set(inspect.signature(cls.algorithm.__init__).parameters) - _SET_BY_ADAPTER
        return accepted | set(cls.task_adapter_keys(task))

    @classmethod
    def check_settings(cls, task: str, settings: Mapping[str, Any]) -> dict[str, Any]:
        # Before the keys are checked: for another task the line says whose setting it is.
        if "burn_angle_input" in settings and "burn_angle_input" in cls.adapter_keys:
            check_burn_angle_input(cls.name or cls.__name__, task, settings["burn_angle_input"])
        return super().check_settings(task, settings)

    @classmethod
    def setting_references(cls, task: str) -> dict[str, Any]:
        # The constructor's own defaults stand for the keys the settings file leaves out; an
        # argument that may be text (SAC's ent_coef="auto" where the file gives a number) has none.
        parameters = inspect.signature(cls.algorithm.__init__).parameters
        defaults = {
            name: p.default
            for name, p in parameters.items()
            if name not in _SET_BY_ADAPTER and p.default is not inspect.Parameter.empty
        }
        references = {
            **defaults,
            **{key: ADAPTER_KEYS[key] for key in cls.task_adapter_keys(task)},
            **cls.default_settings(task),
        }
        return {
            key: value
            for key, value in references.items()
            if key not in parameters or not _admits_text(parameters[key].annotation)
        }

    def __init__(self, spec: TaskSpec, seed: int, settings: dict[str, Any] | None = None):
        super().__init__(spec, seed, settings)
        self.n_envs = int(self.settings.get("n_envs", 1))
        self.keep_replay_in_new_world = bool(self.settings.get("keep_replay_in_new_world", False))
        self.learning_starts_in_new_world = int(
            self.settings.get("learning_starts_in_new_world", 0)
        )
        #: trains and acts in the Moon's frame (the rocket's ``burn_angle_input = "relative"``)
        self.moon_relative = self.settings.get("burn_angle_input", "absolute") == "relative"
        #: the turn of its Moon's frame (``agents.rocket_frame``), 0 in absolute angles
        self.frame_turn = frame_turn(self.seed) if self.moon_relative else 0.0
        self.model: BaseAlgorithm | None = None
        self._model_ledger: Ledger | None = None
        torch.set_num_threads(1)

    def _make_env(self, ledger: Ledger) -> gym.Env:
        """One env the learner trains in: the ledger's, in the Moon's frame if so set."""
        env = ledger.make_env()
        return MoonRelativeFrame(env, self.frame_turn) if self.moon_relative else env

    def _vec_env(self, ledger: Ledger) -> DummyVecEnv:
        """The learner's envs, each ready to end ``learn`` before a step (``HaltBeforeStep``,
        around whatever ``_make_env`` builds)."""
        venv = DummyVecEnv(
            [lambda: HaltBeforeStep(self._make_env(ledger)) for _ in range(self.n_envs)]
        )
        venv.seed(self.seed)
        return venv

    def _build(self, ledger: Ledger) -> BaseAlgorithm:
        # A deep copy: SB3 edits policy_kwargs in place.
        kwargs = {k: v for k, v in copy.deepcopy(self.settings).items() if k not in ADAPTER_KEYS}
        sigma = self.settings.get("action_noise_sigma")
        if sigma is not None:
            n_actions = self.action_space.shape[0]
            kwargs["action_noise"] = NormalActionNoise(
                np.zeros(n_actions), sigma * np.ones(n_actions)
            )
        model = self.algorithm(
            "MlpPolicy", self._vec_env(ledger), seed=self.seed, device="cpu", verbose=0, **kwargs
        )
        self._configure(model)
        return model

    def _configure(self, model: BaseAlgorithm) -> None:
        """What the adapter sets on a model, built or loaded: its logger and schedules."""
        if self.spec.log_dir is not None:
            # SB3's own logger, written straight into the run's folder (not a numbered subfolder).
            model.set_logger(configure_logger(self.spec.log_dir, ["tensorboard"]))
        else:
            # A logger with no outputs: SB3's default one makes an empty /tmp/SB3-<time> folder
            # per model even at verbose 0 (logger.configure creates its folder before anything).
            model.set_logger(Logger(folder=None, output_formats=[]))
        exploration_steps = self.settings.get("exploration_steps")
        if exploration_steps is not None:
            # SB3 decays epsilon over a fraction of learn()'s total_timesteps; training
            # here is budgeted in trials, so the decay runs over absolute env steps.
            start, end = model.exploration_initial_eps, model.exploration_final_eps
            model.exploration_schedule = lambda _progress: max(
                end, start + (end - start) * model.num_timesteps / exploration_steps
            )

    def _train(self, ledger: Ledger, until_trials: int) -> None:
        if self.model is None:
            self.model = self._build(ledger)
            # SB3 acts at random until num_timesteps reaches learning_starts (off-policy only).
            ledger.start_warm_up(getattr(self.model, "learning_starts", 0))
        elif (
            self._model_ledger is not ledger
        ):  # moved to a new world: keep the policy, change the env
            self.model.get_env().close()
            self.model.set_env(self._vec_env(ledger))
            replay = getattr(self.model, "replay_buffer", None)
            if replay is not None:
                if not self.keep_replay_in_new_world:
                    replay.reset()
                warm_up = self.learning_starts_in_new_world
                self.model.learning_starts = self.model.num_timesteps + warm_up
                ledger.start_warm_up(warm_up)
        self._model_ledger = ledger
        # learn() stops through the callback; the step budget is only a ceiling.
        until = until_trials if ledger.limit is None else min(until_trials, ledger.limit)
        on_policy = isinstance(self.model, OnPolicyAlgorithm)
        while ledger.n_trials < until:
            try:
                self.model.learn(
                    total_timesteps=10**9,
                    callback=StopAtTrials(ledger, until_trials, on_policy),
                    reset_num_timesteps=False,
                )
            except TrainingDone:
                pass

    def save_state(self, directory: Path) -> bool:
        """The model (networks, optimisers and SB3's counters: ``num_timesteps``, the
        ``learning_starts`` in force, DQN's epsilon and target-update count), an off-policy
        learner's replay buffer, and the random states it draws from: SB3's (Python's,
        NumPy's and torch's global generators, the action space's), the envs' own and the
        agent's ``rng``."""
        if self.model is None:
            raise RuntimeError(f"{self.name} has nothing to save before it trains")
        # The epsilon schedule set by _configure holds the model itself: made again on load.
        self.model.save(directory / "model.zip", exclude=["exploration_schedule"])
        if isinstance(self.model, OffPolicyAlgorithm):
            self.model.save_replay_buffer(directory / "replay_buffer.pkl")
        random_states = {
            "python": random.getstate(),
            "numpy": np.random.get_state(),
            "torch": torch.get_rng_state(),
            "action_space": self.model.action_space.np_random.bit_generator.state,
            "agent": self.rng.bit_generator.state,
            "envs": [
                env.unwrapped.np_random.bit_generator.state for env in self.model.get_env().envs
            ],
        }
        with open(directory / "random_states.pkl", "wb") as file:
            pickle.dump(random_states, file, protocol=pickle.HIGHEST_PROTOCOL)
        return True

    def load_state(self, directory: Path, ledger: Ledger) -> None:
        """The model as ``save_state`` left it, on new envs of ``ledger``: SB3 resets them
        before it acts again (``load``'s ``force_reset``), so the episode the old envs were
        in is dropped unfinished (never a trial), and the next ones draw their situations
        where the old envs' generators stood."""
        venv = self._vec_env(ledger)
        try:
            model = self.algorithm.load(directory / "model.zip", env=venv, device="cpu")
            self._configure(model)
            if isinstance(model, OffPolicyAlgorithm):
                model.load_replay_buffer(directory / "replay_buffer.pkl")
            with open(directory / "random_states.pkl", "rb") as file:
                random_states = pickle.load(file)
            venv.reset()  # spends the seeds the new envs were given (no step: no trial)
            for env, state in zip(venv.envs, random_states["envs"], strict=True):
                env.unwrapped.np_random.bit_generator.state = state
        except BaseException:
            venv.close()
            raise
        # After load, which seeded SB3's generators again as a new model does.
        random.setstate(random_states["python"])
        np.random.set_state(random_states["numpy"])
        torch.set_rng_state(random_states["torch"])
        model.action_space.np_random.bit_generator.state = random_states["action_space"]
        self.rng.bit_generator.state = random_states["agent"]
        self.model, self._model_ledger = model, ledger

    def act(self, observation: np.ndarray, info: dict[str, Any]) -> Any:
        if self.model is None:
            raise RuntimeError(f"{self.name} must train before it acts")
        if self.moon_relative:
            relative, _ = self.model.predict(
                to_relative_observation(observation), deterministic=True
            )
            return to_absolute_action(relative, observation, self.frame_turn)
        action, _ = self.model.predict(observation, deterministic=True)
        return action

    def close(self) -> None:
        if self.model is not None:
            self.model.get_env().close()
        super().close()


#: the adapter keys SAC, SAC-UTD and TD3 take
CONTINUOUS_OFF_POLICY_KEYS = (
    "n_envs",
    "keep_replay_in_new_world",
    "learning_starts_in_new_world",
    "action_noise_sigma",
    "burn_angle_input",
)


@register("ppo")
class PPOLearner(SB3Learner):
    """Proximal Policy Optimization (on-policy, clipped surrogate), Stable-Baselines3."""

    # the flight: 10,000 flights in 90-200 s at load 6-8 (benchmarks/tune_flight_learners.py)
    seconds_per_trial = {"rocket": 0.014, "city": 0.15, "flight": 0.015}  # see SB3Learner

    algorithm = PPO
    action_spaces = (spaces.Box, spaces.Discrete)
    adapter_keys = ("n_envs", "burn_angle_input")


@register("sac")
class SACLearner(SB3Learner):
    """Soft Actor-Critic (off-policy, entropy-regularised, continuous actions),
    Stable-Baselines3."""

    # the flight: 1.6-5 flights/s past its warm-up (benchmarks/tune_flight_learners.py)
    seconds_per_trial = {"rocket": 0.04, "flight": 0.4}  # see SB3Learner

    algorithm = SAC
    action_spaces = (spaces.Box,)
    adapter_keys = CONTINUOUS_OFF_POLICY_KEYS


@register("sac-utd")
class SACUTDLearner(SACLearner):
    """Soft Actor-Critic at a high update-to-data ratio (many gradient steps per env step,
    as REDQ and DroQ make them), Stable-Baselines3.

    SB3's own SAC with ``gradient_steps`` > 1: after every env step (a launch, on the
    rocket) it makes that many gradient steps on its replay buffer: 5 by default, the best of
    5, 10 and 20 in its study; 20 is the ratio REDQ (Chen et al., 2021) and DroQ (Hiraoka et
    al., 2022) run at, and the worst of the three here. Their critics,
    an ensemble of ten with a random pair chosen for each target (REDQ) or dropout and
    layer normalisation (DroQ), are what keep so many updates from overfitting; they are
    not here. sb3-contrib has neither algorithm, and sbx, which has DroQ, needs JAX: a
    maintained SAC at the same ratio is the dependency-free half of the idea, and it asks
    what the updates per launch alone are worth. Settings: ``agents/settings/sac-utd.toml``.
    """

    # see SB3Learner; its study's trial at 5 steps a launch: 466 s for 3,000 launches and their
    # evaluations, each of 2 seeds on its own core, beside other work
    seconds_per_trial = {"rocket": 0.15}

    settings_name = "sac-utd"

    @classmethod
    def default_settings(cls, task: str) -> dict[str, Any]:
        # SAC's table with its own file's over it: the two differ in what that file says
        return merge_settings(SACLearner.default_settings(task), super().default_settings(task))


@register("td3")
class TD3Learner(SB3Learner):
    """Twin Delayed DDPG (off-policy, deterministic, continuous actions), Stable-Baselines3."""

    seconds_per_trial = {"rocket": 0.036, "flight": 0.4}  # see SB3Learner; as SAC on the flight

    algorithm = TD3
    action_spaces = (spaces.Box,)
    adapter_keys = CONTINUOUS_OFF_POLICY_KEYS


@register("dqn")
class DQNLearner(SB3Learner):
    """Deep Q-Network (off-policy, replay and target network, discrete actions),
    Stable-Baselines3."""

    seconds_per_trial = {"city": 0.28}  # see SB3Learner

    algorithm = DQN
    action_spaces = (spaces.Discrete,)
    adapter_keys = (
        "n_envs",
        "keep_replay_in_new_world",
        "learning_starts_in_new_world",
        "exploration_steps",
    )


@register("a2c")
class A2CLearner(SB3Learner):
    """Advantage Actor-Critic (on-policy, short rollouts), Stable-Baselines3."""

    seconds_per_trial = {"city": 0.3}  # see SB3Learner

    algorithm = A2C
    action_spaces = (spaces.Box, spaces.Discrete)
