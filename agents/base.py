"""The agent interface: what every agent is, what it is told, and how it is configured.

An agent is one class and one registration line::

    from agents import Agent, register

    @register("always-north")
    class AlwaysNorth(Agent):
        \"\"\"Walks north, whatever comes.\"\"\"

        kind = "baseline"
        tasks = ("city",)

        def _train(self, ledger, until_trials):
            self.play(ledger, until_trials)   # learns nothing, but pays for its trials

        def act(self, observation, info):
            return 1

The harness owns the counting: agents only ever touch environments made by a
``Ledger``, which counts every finished episode. This module and ``agents.ledger``
are the layer an agent depends on; they import nothing of the harness.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from agents.ledger import Ledger

#: what an agent declares itself to be (plots group by it): a planner handed a model of
#: the world, a learner that learns a model from its own trials and plans on it, a
#: model-free learner mapping observations to actions, or a baseline
KINDS = ("planner", "learned-model", "learner", "baseline")


class SettingsError(ValueError):
    """Settings an agent cannot take (an unknown key, a value of the wrong kind)."""


def _kind(value: Any) -> str | None:
    """The kind of a setting's value, as a TOML file or ``--set`` writes it (None: no reference)."""
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, Mapping):
        return "a table"
    return None


def toml_value(value: Any) -> str:
    """``value`` as TOML writes it, as one would type it after ``--set KEY=``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{key} = {toml_value(item)}" for key, item in value.items()) + " }"
    return repr(value)


def _check_kinds(
    agent: str, task: str, settings: Mapping[str, Any], references: Mapping[str, Any], prefix: str
) -> None:
    """Text given where the reference value is a number, flag, list or table raises
    ``SettingsError`` (``--set`` keeps a value that is not TOML as text); tables are
    checked key by key."""
    for key, value in settings.items():
        reference = references.get(key)
        expected = _kind(reference)
        if isinstance(value, str) and expected is not None:
            raise SettingsError(
                f"agent {agent!r}: setting {prefix + key!r} for {task} must be {expected} "
                f"(e.g. {toml_value(reference)}), not the text {value!r}"
            )
        if isinstance(value, Mapping) and isinstance(reference, Mapping):
            _check_kinds(agent, task, value, reference, prefix=f"{prefix}{key}.")


def first_paragraph(doc: str | None) -> str:
    """A docstring's first paragraph on one line: what a listing or a command's help shows."""
    return " ".join((doc or "").strip().split("\n\n")[0].split())


@dataclass(frozen=True)
class TaskSpec:
    """What an agent is told about its task before it starts."""

    task: str  #: the task's name, e.g. "rocket" or "city"
    observation_space: gym.Space
    action_space: gym.Space
    env_kwargs: dict[str, Any] = field(
        default_factory=dict
    )  #: how the harness builds the env (world, map)
    #: a folder for the agent's own TensorBoard logs (None: no logging); the harness logs
    #: the ledger's figures into the same folder, so both show as one run
    log_dir: str | None = None


class Agent(ABC):
    """Base class of every agent.

    ``train(ledger, until_trials)`` continues training until the ledger has counted
    ``until_trials`` training trials in all; it is called repeatedly with growing
    targets, so an agent keeps its state between calls. ``act`` is the evaluation
    policy: deterministic, no learning.

    ``settings`` are the agent's whole configuration for its task: the harness gives it
    ``resolve_settings(task, overrides)``, its ``default_settings(task)`` with what the
    run overrides (``--set``, ``--agent-config``) merged in, and records them with the
    results.
    """

    name: ClassVar[str] = ""  #: set by ``register``; a class run from a spec is named by it
    kind: ClassVar[str] = (
        "learner"  #: one of KINDS: "planner", "learned-model", "learner" or "baseline"
    )
    description: ClassVar[str] = ""  #: one line for listings; the docstring's first line if empty
    #: tasks the agent can play; empty means any
    tasks: ClassVar[tuple[str, ...]] = ()
    #: True for agents that identify a changed world from a few trials of their own
    #: (a planner fitting its model). Descriptive: the generalization study gives every
    #: agent the same trials in each changed world, counted.
    identifies_worlds: ClassVar[bool] = False
    #: per task, a first guess of a job's wall seconds per planned training trial on one
    #: core, evaluations included, and its early stop if the agent is usually reliable
    #: early (the progress bar starts from it and corrects it as jobs report); none: the
    #: harness's neutral default
    seconds_per_trial: ClassVar[dict[str, float]] = {}

    def __init__(self, spec: TaskSpec, seed: int, settings: Mapping[str, Any] | None = None):
        self.spec = spec
        self.seed = seed
        #: the full settings, as given (None: the defaults for the task)
        self.settings = (
            self.default_settings(spec.task)
            if settings is None
            else self.check_settings(spec.task, settings)
        )
        self.observation_space = spec.observation_space
        self.action_space = spec.action_space
        self.rng = np.random.default_rng(seed)
        self._env: gym.Env | None = None
        self._env_ledger: Ledger | None = None

    # ------------------------------------------------------------------ settings

    @classmethod
    def default_settings(cls, task: str) -> dict[str, Any]:
        """The agent's settings for ``task`` before any override (none by default)."""
        return {}

    @classmethod
    def settings_keys(cls, task: str) -> set[str] | None:
        """The top-level keys ``task``'s settings may have (None: any)."""
        return set(cls.default_settings(task))

    @classmethod
    def setting_references(cls, task: str) -> dict[str, Any]:
        """A value of the right kind for each setting that has one (the defaults): what
        ``check_settings`` holds a given value against."""
        return cls.default_settings(task)

    @classmethod
    def check_settings(cls, task: str, settings: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of ``settings``; an unknown top-level key, or text where a number, flag,
        list or table is expected, raises ``SettingsError`` naming what is valid."""
        agent = cls.name or cls.__name__
        valid = cls.settings_keys(task)
        unknown = sorted(set(settings) - valid) if valid is not None else []
        if unknown:
            choices = ", ".join(sorted(valid)) if valid else "none (it takes no settings)"
            raise SettingsError(
                f"agent {agent!r} has no setting {unknown[0]!r} for {task}; "
                f"valid settings: {choices}"
            )
        _check_kinds(agent, task, settings, cls.setting_references(task), prefix="")
        return copy.deepcopy(dict(settings))

    @classmethod
    def resolve_settings(
        cls, task: str, overrides: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """The defaults for ``task`` with ``overrides`` merged in (nested tables key by key),
        checked: what the harness gives the constructor and records."""
        return cls.check_settings(task, merge_settings(cls.default_settings(task), overrides or {}))

    @classmethod
    def plays(cls, task: str, action_space: gym.Space | None = None) -> bool:
        """Whether the agent can play ``task`` (whose env acts in ``action_space``, if known)."""
        return not cls.tasks or task in cls.tasks

    @classmethod
    def plays_description(cls) -> str:
        """The tasks it plays, in words, for listings."""
        return ", ".join(cls.tasks) or "any"

    @classmethod
    def summary_line(cls) -> str:
        """The one-line description listings show."""
        if cls.description:
            return cls.description
        return first_paragraph(cls.__doc__)

    # ------------------------------------------------------------------ training

    def train(self, ledger: Ledger, until_trials: int) -> None:
        """Train until the ledger has counted ``until_trials`` trials. A learner that
        learns from fixed-size batches of steps may finish its batch a little past
        ``until_trials``, never past ``ledger.limit``; evaluations record the trials
        actually spent."""
        if until_trials < ledger.n_trials:
            raise ValueError(
                f"until_trials={until_trials} is below the {ledger.n_trials} trials already spent"
            )
        if until_trials > ledger.n_trials:
            self._train(ledger, until_trials)

    def training_env(self, ledger: Ledger) -> gym.Env:
        """The agent's own training env, made by the ledger (which counts its trials).

        The same env while the ledger is the same; a new one when training moves to a
        new world (a new ledger).
        """
        if self._env is None or self._env_ledger is not ledger:
            if self._env is not None:
                self._env.close()
            self._env, self._env_ledger = ledger.make_env(), ledger
            self._env.reset(seed=self.seed)
        return self._env

    def play(self, ledger: Ledger, until_trials: int) -> None:
        """Play whole episodes with ``act`` until the ledger has counted ``until_trials``:
        training for agents that learn nothing from trials (they still pay for them)."""
        env = self.training_env(ledger)
        while ledger.n_trials < until_trials:
            observation, info = env.reset()
            done = False
            while not done:
                observation, _, terminated, truncated, info = env.step(self.act(observation, info))
                done = terminated or truncated

    @abstractmethod
    def _train(self, ledger: Ledger, until_trials: int) -> None:
        """Spend training trials until ``ledger.n_trials >= until_trials``."""

    @abstractmethod
    def act(self, observation: np.ndarray, info: dict[str, Any]) -> Any:
        """The action for this observation (``info`` is the latest from reset or step)."""

    def reset_episode(self) -> None:
        """An optional hook, called before each evaluation episode: agents with
        per-episode state override it to clear that state; the default does nothing."""
        return None

    def model_residual(self) -> float | None:
        """An optional hook for agents that carry a model of the world: how badly the model,
        fitted to the agent's trials, still explains its latest one (a normalised RMS: small
        when the model explains it, large when it cannot). Studies record it to show whether
        an agent noticed that its model is wrong; the default, for agents without one, is
        None."""
        return None

    # ------------------------------------------------------------------ resuming

    def save_state(self, directory: Path) -> bool:
        """An optional hook for long jobs: write into ``directory`` (made for it, empty)
        everything the agent needs to go on training from here, its random generators
        included, and return True. A job calls it after each evaluation point of its home
        stage, and a job run again after an interruption hands the latest folder to
        ``load_state``. The default returns False: the agent cannot, and an interrupted job
        of it starts over."""
        return False

    def load_state(self, directory: Path, ledger: Ledger) -> None:
        """Take back what ``save_state`` wrote into ``directory``, so that the next ``train``
        goes on on ``ledger`` (the stage's ledger, whose counts the harness restores after
        this) from where it stopped: the episode then under way is dropped, never counted,
        so a resumed job is honest, not identical to one that ran through. The agent has
        just been built with the same settings and seed; if it cannot, it raises and leaves
        itself as built, and the job starts over."""
        raise NotImplementedError(f"{type(self).__name__} does not save its state")

    def close(self) -> None:
        if self._env is not None:
            self._env.close()
            self._env = None


def merge_settings(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` merged in; nested tables merge key by key."""
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_settings(dict(merged[key]), value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def dataclass_settings(config_class: type) -> dict[str, Any]:
    """A configuration dataclass's defaults as settings (plain data)."""
    return asdict(config_class())


def config_from_settings(config_class: type, settings: Mapping[str, Any]) -> Any:
    """The configuration dataclass built from settings (lists from TOML or JSON become tuples)."""
    names = {f.name for f in fields(config_class)}
    return config_class(
        **{k: tuple(v) if isinstance(v, list) else v for k, v in settings.items() if k in names}
    )


#: agents registered by ``register`` in every module imported so far, by name
REGISTERED: dict[str, type[Agent]] = {}


def register(name: str):
    """Class decorator: make an agent available to the harness by ``name``."""

    def decorate(cls: type[Agent]) -> type[Agent]:
        if not (isinstance(cls, type) and issubclass(cls, Agent)):
            raise TypeError(f"register({name!r}) decorates Agent subclasses, not {cls!r}")
        if cls.kind not in KINDS:
            raise ValueError(
                f"agent {name!r} declares kind {cls.kind!r}; valid kinds: {', '.join(KINDS)}"
            )
        previous = REGISTERED.get(name)
        # The same class imported again (a file loaded twice) replaces itself quietly.
        if previous is not None and _qualified(previous) != _qualified(cls):
            raise ValueError(f"agent name {name!r} is already registered by {_qualified(previous)}")
        cls.name = name
        REGISTERED[name] = cls
        return cls

    return decorate


def _qualified(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"
