"""The planners' decision times, with what they decided: the rocket planner's plan per
launch and how often it hits once it has identified the world; the traffic planner's
time per decision and its deaths and goals over walks in both cities.

Both play through the same ledger and envs a comparison gives them (the task's
``make_env`` and, for the rocket, its training trace), so the times include nothing the
comparison would not ask of them.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from agents.base import TaskSpec
from agents.city_planner import TrafficPlanner
from agents.ledger import Ledger
from agents.rocket_planner import PhysicsPlanner
from sandbox.bench.targets import (
    CITY_DECISION_MS,
    CITY_PLANNER_SUCCESS,
    CITY_WALKS_WITHOUT_DEATH,
    ROCKET_PLAN_S,
    ROCKET_PLANNER_HITS,
    Figure,
)
from sandbox.bench.timing import Stopwatch
from sandbox.tasks import Task


def rocket_planner(task: Task, quick: bool, seed: int = 0) -> list[Figure]:
    """The physics planner's training launches in the task's world: plan time per launch,
    and the share of hits after its first hit."""
    launches = 4 if quick else 30  # 30: the planner's budget in a default comparison

    def make_env():
        return task.make_env(**task.env_kwargs)

    probe = make_env()
    planner = PhysicsPlanner(
        TaskSpec(task.name, probe.observation_space, probe.action_space, dict(task.env_kwargs)),
        seed,
    )
    probe.close()
    ledger = Ledger(make_env, trace=task.trace_training)
    watch = Stopwatch()
    with watch.running():
        planner.train(ledger, launches)
    planner.close()
    first_hit = ledger.first_success()
    after = ledger.trials[first_hit:] if first_hit is not None else []
    hit_rate = sum(t.success for t in after) / len(after) if after else 0.0
    plan_s, fit_s = np.array(planner.plan_seconds), np.array(planner.fit_seconds)
    details = {
        "env_kwargs": dict(task.env_kwargs),
        "launches": ledger.n_trials,
        "hits": ledger.n_successes,
        "first_hit": first_hit,
        "plan_s_mean": float(plan_s.mean()),
        "plan_s_95th_percentile": float(np.percentile(plan_s, 95)),
        "fit_s_mean": float(fit_s.mean()),
        "launches_per_s": ledger.n_trials / watch.wall_s,
        "core_share": watch.core_share,
        "seed": seed,
    }
    return [
        Figure(
            "rocket_planner_plan_s",
            "rocket planner: plan per launch",
            float(plan_s.mean()),
            "s",
            ROCKET_PLAN_S,
            details,
            note=f"{ledger.n_trials} launches, first hit at launch {first_hit}; fitting "
            f"{1e3 * fit_s.mean():.0f} ms per launch; 95th percentile plan "
            f"{1e3 * details['plan_s_95th_percentile']:.0f} ms",
        ),
        Figure(
            "rocket_planner_hits_after_first",
            "rocket planner: hits after its first",
            hit_rate,
            "fraction",
            ROCKET_PLANNER_HITS,
            details,
        ),
    ]


def city_planner(task: Task, maps: Sequence[str], quick: bool, seed: int = 0) -> list[Figure]:
    """The traffic planner's walks in each city, each in traffic reset with its own seed:
    time per decision (the first, which derives the planner's model of a map, apart),
    deaths and goals."""
    walks_per_map = 3 if quick else 100
    decision_s: list[float] = []
    first_decisions_s: list[float] = []
    per_map = {
        name: walk_city(task, name, walks_per_map, seed, decision_s, first_decisions_s)
        for name in maps
    }
    walks = sum(m["walks"] for m in per_map.values())
    deaths = sum(m["deaths"] for m in per_map.values())
    goals = sum(m["goals"] for m in per_map.values())
    decision_ms = 1e3 * float(np.mean(decision_s))
    details = {
        "maps": per_map,
        "walks": walks,
        "deaths": deaths,
        "goals": goals,
        "decisions": len(decision_s),
        "decision_ms_95th_percentile": 1e3 * float(np.percentile(decision_s, 95)),
        "first_decision_ms": [1e3 * s for s in first_decisions_s],
        "seed": seed,
    }
    where = ", ".join(
        f"{name}: {m['goals']}/{m['walks']} goals, {m['deaths']} deaths"
        for name, m in per_map.items()
    )
    return [
        Figure(
            "city_planner_decision_ms",
            "city planner: per decision",
            decision_ms,
            "ms",
            CITY_DECISION_MS,
            details,
            note=f"{len(decision_s):,} decisions; the first in each city (its model of the map): "
            + ", ".join(f"{1e3 * s:.0f} ms" for s in first_decisions_s),
        ),
        Figure(
            "city_planner_walks_without_death",
            "city planner: walks without death",
            1.0 - deaths / walks,
            "fraction",
            CITY_WALKS_WITHOUT_DEATH,
            details,
        ),
        Figure(
            "city_planner_success",
            "city planner: goals reached",
            goals / walks,
            "fraction",
            CITY_PLANNER_SUCCESS,
            details,
            note=where,
        ),
    ]


def walk_city(
    task: Task,
    name: str,
    walks: int,
    seed: int,
    decision_s: list[float],
    first_decisions_s: list[float],
) -> dict[str, int]:
    """The planner's ``walks`` in the city ``name``, each reset with its own seed; the time
    of each decision goes to ``decision_s`` (the first walk's first decision, which derives
    the planner's model of the map, to ``first_decisions_s``). Walks, goals, deaths, ticks."""
    kwargs = {**task.env_kwargs, "map": name}
    env = task.make_env(**kwargs)
    planner = TrafficPlanner(
        TaskSpec(task.name, env.observation_space, env.action_space, kwargs), seed
    )
    ledger = Ledger(lambda: env)
    counted = ledger.make_env()
    for walk in range(walks):
        observation, info = counted.reset(seed=seed + walk)
        planner.reset_episode()
        done = False
        while not done:
            started = time.perf_counter()
            action = planner.act(observation, info)
            elapsed = time.perf_counter() - started
            first = walk == 0 and info["tick"] == 0
            (first_decisions_s if first else decision_s).append(elapsed)
            observation, _, terminated, truncated, info = counted.step(action)
            done = terminated or truncated
    counted.close()
    return {
        "walks": ledger.n_trials,
        "goals": ledger.n_successes,
        "deaths": ledger.n_deaths,
        "ticks": ledger.steps,
    }
