"""Steps per second of CityNav-v0 against gymnasium's LunarLander-v3, random actions.

Both envs are made with ``gymnasium.make`` (so both pay the same wrappers), step with
actions drawn in advance from one seeded generator, and reset when an episode ends.
Run: ``python benchmarks/city_speed.py [--steps 200000] [--map train]``.
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np

import envs  # noqa: F401  (registers sandbox/CityNav-v0)


def steps_per_second(env: gym.Env, n_steps: int, seed: int) -> tuple[float, int]:
    """Random-action steps per second of ``env`` over ``n_steps``, and episodes finished."""
    actions = np.random.default_rng(seed).integers(0, env.action_space.n, size=n_steps).tolist()
    env.reset(seed=seed)
    episodes = 0
    start = time.perf_counter()
    for action in actions:
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            env.reset()
            episodes += 1
    return n_steps / (time.perf_counter() - start), episodes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200_000, help="steps per env")
    parser.add_argument("--map", default="train", help="city map: train, new, random:SEED or a path")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    city = gym.make("sandbox/CityNav-v0", map=args.map)
    lander = gym.make("LunarLander-v3")
    # interleave halves so a change of machine load hits both alike
    half = args.steps // 2
    city_rates, lander_rates, city_episodes = [], [], 0
    for round_seed in (args.seed, args.seed + 1):
        rate, episodes = steps_per_second(city, half, round_seed)
        city_rates.append(rate)
        city_episodes += episodes
        lander_rates.append(steps_per_second(lander, half, round_seed)[0])
    city_rate, lander_rate = float(np.mean(city_rates)), float(np.mean(lander_rates))
    print(f"CityNav-v0 ({args.map}): {city_rate:,.0f} steps/s ({city_episodes} episodes)")
    print(f"LunarLander-v3:       {lander_rate:,.0f} steps/s")
    print(f"ratio city / lander:  {city_rate / lander_rate:.2f}")


if __name__ == "__main__":
    main()
