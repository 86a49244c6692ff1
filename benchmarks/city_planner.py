"""How well and how fast the traffic planner crosses cities it has never trained on.

    PYTHONPATH=. python benchmarks/city_planner.py --episodes 200 --random-maps 25

Prints, per map, the episodes played, successes, deaths, time-outs and the mean
milliseconds per decision, then the totals.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import gymnasium as gym

import envs  # noqa: F401  (registers sandbox/CityNav-v0)
from agents.base import TaskSpec
from agents.city_planner import TrafficPlanner


@dataclass
class MapResult:
    map_name: str
    episodes: int = 0
    successes: int = 0
    deaths: int = 0
    decisions: int = 0
    seconds_deciding: float = 0.0

    @property
    def timeouts(self) -> int:
        return self.episodes - self.successes - self.deaths

    @property
    def ms_per_decision(self) -> float:
        return 1000.0 * self.seconds_deciding / max(1, self.decisions)

    def line(self) -> str:
        rate = 100.0 * self.successes / max(1, self.episodes)
        return (
            f"{self.map_name:>12}  episodes {self.episodes:5d}  success {rate:6.2f} %  "
            f"deaths {self.deaths:3d}  time-outs {self.timeouts:3d}  {self.ms_per_decision:6.3f} ms/decision"
        )


def run_map(map_name: str, episodes: int, seed: int) -> MapResult:
    env = gym.make("sandbox/CityNav-v0", map=map_name)
    spec = TaskSpec("city", env.observation_space, env.action_space, {"map": map_name})
    planner = TrafficPlanner(spec, seed=seed)
    result = MapResult(map_name)
    for episode in range(episodes):
        observation, info = env.reset(seed=seed + episode)
        planner.reset_episode()
        done = False
        while not done:
            started = time.perf_counter()
            action = planner.act(observation, info)
            result.seconds_deciding += time.perf_counter() - started
            result.decisions += 1
            observation, _, terminated, truncated, info = env.step(action)
            done = terminated or truncated
        result.episodes += 1
        result.successes += bool(info["is_success"])
        result.deaths += bool(info["death"])
    env.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=200, help="episodes per map")
    parser.add_argument("--random-maps", type=int, default=25, help="procedural maps random:0 .. random:N-1")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first episode on each map")
    args = parser.parse_args()

    maps = ["train", "new"] + [f"random:{n}" for n in range(args.random_maps)]
    total = MapResult("all")
    for map_name in maps:
        result = run_map(map_name, args.episodes, args.seed)
        print(result.line(), flush=True)
        for name in ("episodes", "successes", "deaths", "decisions", "seconds_deciding"):
            setattr(total, name, getattr(total, name) + getattr(result, name))
    print(total.line())


if __name__ == "__main__":
    main()
