"""The flight: decisions per second of ``sandbox/RocketFlight-v0``, beside LunarLander-v3's
steps per second measured in the same process.

Two kinds of flight: *uniform* (every action uniform over the action space, as an untrained
learner flies: most flights end at the first or second decision, on the planet or out of
propellant, after coasts near the planet, the integrator's dearest) and *planned* (the
flight planner's burns on a few situations, recorded once and replayed: whole flights to a
capture, as a capable policy flies them; the full bench only, a plan takes seconds). The
envs take turns in rounds, as in the city's bench, so a change of the machine's load falls
on all of them alike. Rates are per second of this process's CPU time, the speed of one
core whatever else the machine runs; the wall-time rates and the core share are recorded
beside them.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from agents.base import TaskSpec
from sandbox.bench.targets import FLIGHT_DECISIONS_PER_S, Figure
from sandbox.bench.timing import Stopwatch
from sandbox.tasks import Task

LANDER = "LunarLander-v3"


def planned_flights(task: Task, count: int, seed: int) -> list[tuple[int, list[np.ndarray]]]:
    """``count`` flights of the flight planner: (reset seed, its actions)."""
    from agents.flight_planner import FlightPlanner

    env = task.make_env(**task.env_kwargs)
    spec = TaskSpec(task.name, env.observation_space, env.action_space, task.env_kwargs)
    planner = FlightPlanner(spec, seed=seed)
    flights = []
    for i in range(count):
        observation, info = env.reset(seed=seed + i)
        planner.reset_episode()
        actions, done = [], False
        while not done:
            actions.append(np.asarray(planner.act(observation, info), dtype=np.float32))
            observation, _, terminated, truncated, info = env.step(actions[-1])
            done = terminated or truncated
        flights.append((seed + i, actions))
    env.close()
    return flights


def fly_uniform(env: gym.Env, decisions: int, rng: np.random.Generator, watch: Stopwatch) -> int:
    """``decisions`` uniform random decisions (a new flight when one ends); returns flights
    finished."""
    actions = rng.uniform(-1.0, 1.0, (decisions, 2)).astype(np.float32)
    env.reset(seed=int(rng.integers(2**31)))
    flights = 0
    with watch.running():
        for action in actions:
            _, _, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                env.reset()
                flights += 1
    return flights


def replay(env: gym.Env, flights: list[tuple[int, list[np.ndarray]]], watch: Stopwatch) -> int:
    """The recorded flights once each; returns the decisions made."""
    decisions = 0
    with watch.running():
        for seed, actions in flights:
            env.reset(seed=seed)
            for action in actions:
                decisions += 1
                _, _, terminated, truncated, _ = env.step(action)
                if terminated or truncated:
                    break
    return decisions


def lander_steps(env: gym.Env, steps: int, rng: np.random.Generator, watch: Stopwatch) -> None:
    actions = rng.integers(0, env.action_space.n, size=steps).tolist()
    env.reset(seed=int(rng.integers(2**31)))
    with watch.running():
        for action in actions:
            _, _, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                env.reset()


def measure(task: Task, quick: bool, seed: int = 0) -> list[Figure]:
    """Decisions per CPU second of uniform random flights, and of the planner's replayed flights
    (not with ``quick``), each beside LunarLander-v3's steps per CPU second."""
    flight_env = task.make_env(**task.env_kwargs)
    lander = gym.make(LANDER)
    planned = [] if quick else planned_flights(task, 3, seed)
    rng = np.random.default_rng(seed)
    watches = {"uniform": Stopwatch(), "planned": Stopwatch(), LANDER: Stopwatch()}
    counts = {"uniform": 0, "planned": 0, LANDER: 0, "uniform_flights": 0}
    rounds, per_round = (2, 2_000) if quick else (4, 10_000)
    for _ in range(rounds):
        counts["uniform_flights"] += fly_uniform(flight_env, per_round, rng, watches["uniform"])
        counts["uniform"] += per_round
        if planned:
            counts["planned"] += replay(flight_env, planned, watches["planned"])
        lander_steps(lander, per_round, rng, watches[LANDER])
        counts[LANDER] += per_round
    flight_env.close()
    lander.close()

    def rates(kind: str) -> dict[str, float]:
        watch = watches[kind]
        return {
            "per_cpu_s": counts[kind] / watch.cpu_s,
            "per_wall_s": counts[kind] / watch.wall_s,
            "core_share": watch.core_share,
            "count": counts[kind],
        }

    beside = rates(LANDER)
    kinds = {"uniform": "uniform random actions"}
    if planned:
        kinds["planned"] = f"the planner's {len(planned)} flights replayed"
    figures = []
    for kind, words in kinds.items():
        found = rates(kind)
        details = {
            **found,
            "world": task.env_kwargs.get("world"),
            "actions": words,
            "seed": seed,
            "compared_with": {
                LANDER: {**beside, "ratio": found["per_cpu_s"] / beside["per_cpu_s"]}
            },
        }
        if kind == "uniform":
            details["decisions_per_flight"] = counts["uniform"] / max(1, counts["uniform_flights"])
        figures.append(
            Figure(
                f"flight_{kind}_decisions_per_s",
                f"flight: decisions/s, {'uniform random' if kind == 'uniform' else 'planned'}",
                found["per_cpu_s"],
                "decisions/s",
                FLIGHT_DECISIONS_PER_S,
                details,
                note=f"per CPU second ({found['per_wall_s']:,.0f} per wall second at "
                f"{found['core_share']:.0%} of a core); {LANDER} beside it: "
                f"{beside['per_cpu_s']:,.0f} steps/s",
            )
        )
    return figures
