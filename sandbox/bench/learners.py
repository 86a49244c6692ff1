"""Where a learner's training time goes: the env, the ledger, and SB3.

A learner trains as in a comparison (the project's adapter, its settings for the task,
the task's env and ledger) while two clocks time every ``reset`` and ``step``: one
round the env the task makes, one round the ledger's wrapper of it. So, without a
profiler, training time splits into

* the env: the inner clock;
* the ledger: the outer clock less the inner (with one clock's own call, ~1 µs);
* SB3: the rest (its vectorised env, the policy, the replay buffer or rollouts, the
  gradient steps).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

from agents.base import Agent, TaskSpec
from agents.learners import DQNLearner, PPOLearner
from agents.ledger import Ledger, LedgerWrapper
from sandbox.bench.targets import (
    CITY_ENV_SHARE,
    LEDGER_SHARE,
    Figure,
    Target,
    rocket_env_share_target,
)
from sandbox.bench.timing import Stopwatch
from sandbox.tasks import Task


class Clock(gym.Wrapper):
    """Adds the wall time of the wrapped env's ``reset`` and ``step`` calls to ``seconds``."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self.seconds = 0.0

    def reset(self, **kwargs: Any):
        started = time.perf_counter()
        try:
            return self.env.reset(**kwargs)
        finally:
            self.seconds += time.perf_counter() - started

    def step(self, action: Any):
        started = time.perf_counter()
        try:
            return self.env.step(action)
        finally:
            self.seconds += time.perf_counter() - started


@dataclass
class ClockedLedger(Ledger):
    """A ledger whose envs carry a clock inside the ledger's wrapper and one outside it."""

    clocks: list[tuple[Clock, Clock]] = field(
        default_factory=list
    )  #: (env, ledger's wrapper of it) per env made

    def make_env(self) -> gym.Env:
        env = Clock(self.env_factory())
        counted = Clock(LedgerWrapper(env, self))
        self.clocks.append((env, counted))
        return counted

    @property
    def env_seconds(self) -> float:
        return sum(env.seconds for env, _ in self.clocks)

    @property
    def counted_seconds(self) -> float:
        return sum(counted.seconds for _, counted in self.clocks)


@dataclass(frozen=True)
class Case:
    """One learner on one task, trained for about ``steps`` env steps."""

    task: Task
    learner: type[Agent]
    steps: int
    #: the target of the env's share, given the ledger's and SB3's time per step (s) in the run
    env_share_target: Callable[[float], Target]


def time_shares(case: Case, seed: int = 0) -> dict[str, Any]:
    """Trains ``case.learner`` on a fresh clocked ledger; the time split, in seconds and shares."""
    task = case.task

    def make_env():
        return task.make_env(**task.env_kwargs)

    probe = make_env()
    spec = TaskSpec(task.name, probe.observation_space, probe.action_space, dict(task.env_kwargs))
    probe.close()
    learner = case.learner(spec, seed)
    trace_s = [
        0.0
    ]  # the task's training trace, part of the ledger's time (the rocket keeps each flight's path)

    def trace(info: dict[str, Any]) -> Any:
        started = time.perf_counter()
        try:
            return task.trace_training(info)
        finally:
            trace_s[0] += time.perf_counter() - started

    ledger = ClockedLedger(make_env, trace=trace if task.trace_training is not None else None)
    watch = Stopwatch()
    with watch.running():
        # The adapter trains in trials. Walks grow longer as a learner stops dying, so each
        # call asks for the trials of half the steps left at the walks' length so far: about
        # ten calls, ending within a walk of ``case.steps`` (a comparison calls it once per
        # evaluation point, so a call's set-up counts as it would there).
        while ledger.steps < case.steps:
            steps_per_trial = ledger.steps / ledger.n_trials if ledger.n_trials else math.inf
            learner.train(
                ledger,
                ledger.n_trials
                + max(1, math.ceil(0.5 * (case.steps - ledger.steps) / steps_per_trial)),
            )
    learner.close()
    env_s, counted_s, total_s = ledger.env_seconds, ledger.counted_seconds, watch.wall_s
    return {
        "learner": learner.name,
        "task": task.name,
        "env_kwargs": dict(task.env_kwargs),
        "settings": learner.settings,
        "steps": ledger.steps,
        "trials": ledger.n_trials,
        "successes": ledger.n_successes,
        "deaths": ledger.n_deaths,
        "seconds": total_s,
        "env_s": env_s,
        "ledger_s": counted_s - env_s,
        "ledger_trace_s": trace_s[0],
        "sb3_s": total_s - counted_s,
        "env_share": env_s / total_s,
        "ledger_share": (counted_s - env_s) / total_s,
        "sb3_share": (total_s - counted_s) / total_s,
        "training_steps_per_s": ledger.steps / total_s,
        "core_share": watch.core_share,
        "seed": seed,
    }


def cases(tasks: dict[str, Task], quick: bool) -> list[Case]:
    """DQN crossing the city (the best city learner in tuning) and PPO launching rockets
    (a learner every rocket comparison runs)."""
    # DQN waits learning_starts (1,000) steps before its first gradient step: train past them.
    city_steps, rocket_steps = (
        (1_300, 192) if quick else (3_000, 1_536)
    )  # PPO: whole rollouts of 64 launches
    return [
        Case(tasks["city"], DQNLearner, city_steps, lambda _rest_s_per_step: CITY_ENV_SHARE),
        Case(tasks["rocket"], PPOLearner, rocket_steps, rocket_env_share_target),
    ]


def measure(tasks: dict[str, Task], quick: bool, seed: int = 0) -> list[Figure]:
    figures = []
    for case in cases(tasks, quick):
        shares = time_shares(case, seed)
        rest_s_per_step = (shares["ledger_s"] + shares["sb3_s"]) / shares["steps"]
        who = f"{shares['learner']} on the {shares['task']}"
        trace = (
            f" (its trace of each trial {shares['ledger_trace_s'] / shares['seconds']:.2%})"
            if shares["ledger_trace_s"]
            else ""
        )
        note = (
            f"{shares['steps']:,} steps ({shares['trials']:,} trials) in {shares['seconds']:.1f} "
            "s, "
            f"{shares['training_steps_per_s']:,.0f} steps/s: env {shares['env_share']:.1%}, "
            f"ledger {shares['ledger_share']:.2%}{trace}, SB3 {shares['sb3_share']:.1%}"
        )
        figures += [
            Figure(
                f"{shares['learner']}_{shares['task']}_env_share",
                f"{who}: env's share of training",
                shares["env_share"],
                "fraction",
                case.env_share_target(rest_s_per_step),
                shares,
                note=note,
            ),
            Figure(
                f"{shares['learner']}_{shares['task']}_ledger_share",
                f"{who}: ledger's share of training",
                shares["ledger_share"],
                "fraction",
                LEDGER_SHARE,
                shares,
            ),
        ]
    return figures
