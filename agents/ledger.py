"""The trial ledger: the one place where trials, successes and deaths are counted.

Every agent trains and is evaluated on environments wrapped by a ``Ledger``. An
agent cannot report what it spent; the ledger sees every finished episode and
writes it down. Training and evaluation use separate ledgers, so evaluation
episodes are never counted as training trials.

An agent whose first steps in a world are not its policy's (an off-policy learner's
random steps that fill its replay buffer) declares them with ``start_warm_up``; the
ledger then marks each trial that ended in them, so its deaths are counted apart from
those of learning, and still counted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from operator import attrgetter
from typing import Any

import gymnasium as gym


@dataclass(frozen=True)
class Trial:
    """One finished episode."""

    index: int  #: 1-based position in the ledger
    success: bool  #: ``info["is_success"]`` at the episode's end
    death: bool  #: ``info["death"]`` at the episode's end (always False for the rocket)
    steps: int  #: environment steps the episode took
    episode_return: float  #: undiscounted sum of rewards
    outcome: str  #: ``info["outcome"]`` if the env reports one, else "success"/"death"/"failure"
    warm_up: bool = False  #: its last step was one of a declared warm-up (``Ledger.start_warm_up``)


#: a trial's fields as a tuple, in ``Trial``'s order (``dataclasses.astuple`` takes 30 times
#: as long, a second for 100,000 trials)
_trial_fields = attrgetter(*(f.name for f in fields(Trial)))


@dataclass
class Ledger:
    """Counts finished episodes of every env it has wrapped.

    ``make_env`` builds a fresh environment and wraps it; all envs made by one ledger
    write to the same list of trials (several envs for a vectorized learner).
    """

    env_factory: Callable[[], gym.Env]
    trials: list[Trial] = field(default_factory=list)
    steps: int = 0  #: every env step taken, including those of unfinished episodes
    #: optional: turns a finished episode's last info into a path to keep for plots
    trace: Callable[[dict[str, Any]], Any] | None = None
    traces_kept: int = 5  #: paths of the first this-many trials are kept, and of the latest one
    first_traces: list[dict[str, Any]] = field(default_factory=list)
    #: the latest trial and its last info, turned into a path only when asked for
    _latest: tuple[Trial, dict[str, Any]] | None = field(default=None, repr=False)
    #: the training budget: no agent trains past this many trials (None: no limit)
    limit: int | None = None
    #: a warm-up an agent declared: the env steps counted after the first and up to the second
    warm_up_steps: tuple[int, int] = (0, 0)
    #: the latest trial's path as a checkpoint kept it, until the next trial (``restore``)
    _restored_last_trace: dict[str, Any] | None = field(default=None, repr=False)

    def make_env(self) -> gym.Env:
        return LedgerWrapper(self.env_factory(), self)

    @property
    def n_trials(self) -> int:
        return len(self.trials)

    @property
    def n_successes(self) -> int:
        return sum(t.success for t in self.trials)

    @property
    def n_deaths(self) -> int:
        return sum(t.death for t in self.trials)

    @property
    def n_warm_up_trials(self) -> int:
        """Trials that ended during a declared warm-up."""
        return sum(t.warm_up for t in self.trials)

    @property
    def n_warm_up_deaths(self) -> int:
        """Deaths in trials that ended during a declared warm-up."""
        return sum(t.death and t.warm_up for t in self.trials)

    def start_warm_up(self, steps: int) -> None:
        """Declare that the next ``steps`` env steps (over all envs of the ledger) are a warm-up:
        actions the agent takes without its policy. A trial whose last step is one of them is
        marked ``warm_up``; every trial is counted as ever."""
        if steps < 0:
            raise ValueError(f"a warm-up takes 0 or more steps, got {steps}")
        self.warm_up_steps = (self.steps, self.steps + steps)

    def first_success(self) -> int | None:
        """1-based index of the first successful trial, or None if there was none."""
        return next((t.index for t in self.trials if t.success), None)

    def deaths_until(self, trial_index: int) -> int:
        """Deaths among the first ``trial_index`` trials."""
        return sum(t.death for t in self.trials[:trial_index])

    def record(self, info: dict[str, Any], steps: int, episode_return: float) -> Trial:
        """Write down the episode that ended with ``info``."""
        success = bool(info.get("is_success", False))
        death = bool(info.get("death", False))
        outcome = str(
            info.get("outcome", "success" if success else "death" if death else "failure")
        )
        after, up_to = self.warm_up_steps  # the step that ended the trial is counted already
        warm_up = after < self.steps <= up_to
        trial = Trial(self.n_trials + 1, success, death, steps, episode_return, outcome, warm_up)
        self.trials.append(trial)
        if self.trace is not None:
            self._latest = (trial, info)
            if trial.index <= self.traces_kept:
                self.first_traces.append(self._traced(trial, info))
        return trial

    @property
    def last_trace(self) -> dict[str, Any] | None:
        """The latest trial's path (computed on request: most trials' paths are never kept)."""
        if self._latest is None:
            return self._restored_last_trace
        return self._traced(*self._latest)

    def state(self) -> dict[str, Any]:
        """What the ledger has counted so far, as plain data (a job's checkpoint keeps it, and
        ``restore`` takes it back); how it makes and traces envs, and its limit, are not part
        of it."""
        return {
            "trials": [_trial_fields(trial) for trial in self.trials],
            "steps": self.steps,
            "first_traces": self.first_traces,
            "last_trace": self.last_trace,
            "warm_up_steps": self.warm_up_steps,
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Go on counting from ``state`` (``Ledger.state``): its trials stay counted once, and
        the next one is numbered after them."""
        self.trials = [Trial(*row) for row in state["trials"]]
        self.steps = state["steps"]
        self.first_traces = list(state["first_traces"])
        self._latest, self._restored_last_trace = None, state["last_trace"]
        self.warm_up_steps = tuple(state["warm_up_steps"])

    def _traced(self, trial: Trial, info: dict[str, Any]) -> dict[str, Any]:
        return {
            "trial": trial.index,
            "success": trial.success,
            "outcome": trial.outcome,
            **self.trace(info),
        }


class LedgerWrapper(gym.Wrapper):
    """Writes every finished episode of the wrapped env into a ``Ledger``.

    ``info["trial"]`` carries the ``Trial`` on the step that ends an episode.
    """

    def __init__(self, env: gym.Env, ledger: Ledger):
        super().__init__(env)
        self.ledger = ledger
        self._episode_steps = 0
        self._episode_return = 0.0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        self._episode_steps = 0
        self._episode_return = 0.0
        return self.env.reset(seed=seed, options=options)

    def step(self, action):
        observation, reward, terminated, truncated, info = self.env.step(action)
        self._episode_steps += 1
        self._episode_return += float(reward)
        self.ledger.steps += 1
        if terminated or truncated:
            info["trial"] = self.ledger.record(info, self._episode_steps, self._episode_return)
        return observation, reward, terminated, truncated, info
