"""One job: one agent, one seed, trained on ledger-counted trials and evaluated on a
fixed held-out set at log-spaced points in training.

Everything a job measured is returned as plain data (JSON-ready), so results can
be written, summarised and re-plotted without the agent.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

from agents.base import AGENTS, Agent, TaskSpec
from sandbox.ledger import Ledger
from sandbox.stats import log_spaced_points
from sandbox.tasks import Task

EVAL_SEED_BASE = 1_000_000  #: evaluation episode i resets with seed EVAL_SEED_BASE + i, for every agent
TRACES_KEPT = 5  #: paths of this many first training trials are kept (and of the latest one)
RELIABLE_CHECKS = 2  #: training stops once the agent is reliable at this many evaluation points in a row


@dataclass(frozen=True)
class JobConfig:
    task: str
    agent: str
    seed: int
    budget: int
    eval_episodes: int
    eval_points: int
    reliable_bar: float
    env_kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class Evaluation:
    success_rate: float
    deaths: int
    episodes: int
    traces: list[list[list[float]]]


def evaluate(agent: Agent, make_env: Callable[[], gym.Env], episodes: int, trace: Callable | None = None,
             traces_kept: int = 3) -> Evaluation:
    """Run ``episodes`` held-out episodes with ``agent.act``; nothing here is a training trial."""
    ledger = Ledger(make_env)
    env = ledger.make_env()
    traces = []
    try:
        for i in range(episodes):
            observation, info = env.reset(seed=EVAL_SEED_BASE + i)
            agent.reset_episode()
            done = False
            while not done:
                observation, _, terminated, truncated, info = env.step(agent.act(observation, info))
                done = terminated or truncated
            if trace is not None and i < traces_kept:
                traces.append({"success": bool(info.get("is_success")), **trace(info)})
    finally:
        env.close()
    return Evaluation(ledger.n_successes / episodes, ledger.n_deaths, episodes, traces)


def run_job(task: Task, config: JobConfig, on_evaluation: Callable[[dict], None] | None = None) -> dict[str, Any]:
    """Train ``config.agent`` with ``config.seed`` up to its budget and measure it."""
    started = time.perf_counter()
    make_env = lambda: task.make_env(**config.env_kwargs)  # noqa: E731
    probe = make_env()
    spec = TaskSpec(task.name, probe.observation_space, probe.action_space, dict(config.env_kwargs))
    probe.close()
    agent = AGENTS[config.agent](spec, config.seed)
    ledger = Ledger(make_env, trace=task.trace, traces_kept=TRACES_KEPT)

    evaluations: list[dict[str, Any]] = []
    reliable_streak = 0
    try:
        for point in log_spaced_points(config.budget, config.eval_points):
            agent.train(ledger, point)
            result = evaluate(agent, make_env, config.eval_episodes, trace=task.trace)
            row = {
                "trials": ledger.n_trials,
                "success_rate": result.success_rate,
                "eval_episodes": result.episodes,
                "eval_deaths": result.deaths,
                "training_successes": ledger.n_successes,
                "training_deaths": ledger.n_deaths,
                "training_steps": ledger.steps,
                "wall_time_s": round(time.perf_counter() - started, 2),
            }
            evaluations.append(row)
            if on_evaluation is not None:
                on_evaluation(row)
            reliable_streak = reliable_streak + 1 if result.success_rate >= config.reliable_bar else 0
            if reliable_streak >= RELIABLE_CHECKS:
                break
    finally:
        agent.close()

    first_reliable = next((row for row in evaluations if row["success_rate"] >= config.reliable_bar), None)
    first_success = ledger.first_success()
    return {
        "agent": config.agent,
        "seed": config.seed,
        "budget": config.budget,
        "reliable_bar": config.reliable_bar,
        "trials_spent": ledger.n_trials,
        "trials_to_first_success": first_success,
        "trials_to_reliable": first_reliable["trials"] if first_reliable else None,
        "final_success_rate": evaluations[-1]["success_rate"],
        "deaths_to_first_success": ledger.deaths_until(first_success) if first_success else None,
        "deaths_to_reliable": ledger.deaths_until(first_reliable["trials"]) if first_reliable else None,
        "total_training_deaths": ledger.n_deaths,
        "evaluations": evaluations,
        "traces": {"training_first": ledger.first_traces, "training_last": ledger.last_trace,
                   "evaluation": result.traces},
        "wall_time_s": round(time.perf_counter() - started, 2),
    }
