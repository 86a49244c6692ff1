"""The city's steps per second on its two maps, against LunarLander-v3 and CartPole-v1
measured in the same run.

Every env is made with ``gymnasium.make`` (so all pay the same wrappers), steps with
random actions drawn in advance from one seeded generator, and resets when an episode
ends. The envs take turns in rounds, so a change of the machine's load falls on all of
them alike and the ratios hold even when the rates do not.
"""

from __future__ import annotations

from collections.abc import Sequence

import gymnasium as gym
import numpy as np

from sandbox.bench.targets import Figure, city_steps_target
from sandbox.bench.timing import Stopwatch
from sandbox.tasks import Task

LANDER, CARTPOLE = "LunarLander-v3", "CartPole-v1"


def step_randomly(env: gym.Env, steps: int, seed: int, watch: Stopwatch) -> int:
    """``steps`` random-action steps of ``env`` timed on ``watch`` (the first reset is not
    timed, the resets at episode ends are); returns the episodes finished."""
    actions = np.random.default_rng(seed).integers(0, env.action_space.n, size=steps).tolist()
    env.reset(seed=seed)
    episodes = 0
    with watch.running():
        for action in actions:
            _, _, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                env.reset()
                episodes += 1
    return episodes


def steps_per_second(
    envs_by_name: dict[str, gym.Env], steps: int, rounds: int, seed: int
) -> dict[str, dict]:
    """Each env's random-action steps per second, ``steps`` in all, in ``rounds`` turns."""
    watches = {name: Stopwatch() for name in envs_by_name}
    episodes = dict.fromkeys(envs_by_name, 0)
    per_round = max(1, steps // rounds)
    for round_index in range(rounds):
        for name, env in envs_by_name.items():
            episodes[name] += step_randomly(env, per_round, seed + round_index, watches[name])
    return {
        name: {
            "steps_per_s": per_round * rounds / watch.wall_s,
            "steps": per_round * rounds,
            "episodes": episodes[name],
            "core_share": watch.core_share,
        }
        for name, watch in watches.items()
    }


def measure(task: Task, maps: Sequence[str], quick: bool, seed: int = 0) -> list[Figure]:
    """The city's steps/s, one figure per map, each against LunarLander-v3's and CartPole-v1's."""
    envs_by_name = {
        f"city {name}": task.make_env(**{**task.env_kwargs, "map": name}) for name in maps
    }
    envs_by_name[LANDER] = gym.make(LANDER)
    envs_by_name[CARTPOLE] = gym.make(CARTPOLE)
    rates = steps_per_second(envs_by_name, 8_000 if quick else 100_000, 2 if quick else 4, seed)
    for env in envs_by_name.values():
        env.close()
    lander, cartpole = rates[LANDER]["steps_per_s"], rates[CARTPOLE]["steps_per_s"]
    figures = []
    for name in maps:
        city = rates[f"city {name}"]
        figures.append(
            Figure(
                f"city_{name}_steps_per_s",
                f"city: steps/s on {name!r}",
                city["steps_per_s"],
                "steps/s",
                city_steps_target(lander),
                {
                    **city,
                    "map": name,
                    "actions": "uniform random",
                    "seed": seed,
                    "compared_with": {
                        LANDER: {**rates[LANDER], "ratio": city["steps_per_s"] / lander},
                        CARTPOLE: {**rates[CARTPOLE], "ratio": city["steps_per_s"] / cartpole},
                    },
                },
                note=f"{city['steps_per_s'] / cartpole:.2f} x {CARTPOLE}'s {cartpole:,.0f} "
                "steps/s; "
                f"target: {LANDER}'s {lander:,.0f} steps/s",
            )
        )
    return figures
