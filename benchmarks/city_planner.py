"""How well and how fast the traffic planner crosses cities it has never trained on.

    PYTHONPATH=. python benchmarks/city_planner.py --episodes 200 --random-maps 25

Prints, per map, the episodes played, successes, deaths, time-outs, the mean ticks per
walk, the long waits (stays of more than ``--long-wait`` ticks in a row, and the longest
stay) and the mean milliseconds per decision, then the totals. ``--maps`` adds map
files, e.g. ``tests/maps/staggered_blocks.txt``; ``--sight`` sets what the planner sees
(default: the map's, else the env's). ``benchmarks/city_sight.py`` compares sights.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import gymnasium as gym

import envs  # noqa: F401  (registers sandbox/CityNav-v1)
from agents.base import TaskSpec
from agents.city_planner import STAY, TrafficPlanner

#: a pedestrian standing still this long is waiting for a route that may never open
LONG_WAIT_TICKS = 20


@dataclass
class MapResult:
    map_name: str
    episodes: int = 0
    successes: int = 0
    deaths: int = 0
    decisions: int = 0
    seconds_deciding: float = 0.0
    long_waits: int = 0  #: stays of more than ``LONG_WAIT_TICKS`` ticks in a row
    longest_wait: int = 0  #: ticks

    @property
    def timeouts(self) -> int:
        return self.episodes - self.successes - self.deaths

    @property
    def ticks_per_walk(self) -> float:
        return self.decisions / max(1, self.episodes)  # one decision per tick

    @property
    def ms_per_decision(self) -> float:
        return 1000.0 * self.seconds_deciding / max(1, self.decisions)

    def line(self) -> str:
        rate = 100.0 * self.successes / max(1, self.episodes)
        return (
            f"{self.map_name:>16}  episodes {self.episodes:5d}  success {rate:6.2f} %  "
            f"deaths {self.deaths:3d}  time-outs {self.timeouts:3d}  {self.ticks_per_walk:5.1f} "
            "ticks/walk  "
            f"long waits {self.long_waits:3d} (longest {self.longest_wait:3d})  "
            f"{self.ms_per_decision:6.3f} ms/decision"
        )

    def add(self, other: MapResult) -> None:
        for name in (
            "episodes",
            "successes",
            "deaths",
            "decisions",
            "seconds_deciding",
            "long_waits",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.longest_wait = max(self.longest_wait, other.longest_wait)


def run_map(
    map_name: str,
    episodes: int,
    seed: int,
    long_wait: int = LONG_WAIT_TICKS,
    sight: int | str | None = None,
) -> MapResult:
    """``episodes`` walks, each in a fresh city reset with seed ``seed + episode``."""
    env = gym.make("sandbox/CityNav-v1", map=map_name, sight=sight)
    spec = TaskSpec("city", env.observation_space, env.action_space, {"map": map_name})
    planner = TrafficPlanner(spec, seed=seed)
    result = MapResult(env.unwrapped.city_map.name)
    for episode in range(episodes):
        observation, info = env.reset(seed=seed + episode)
        planner.reset_episode()
        done = False
        stayed = 0  # ticks stayed in a row
        while not done:
            started = time.perf_counter()
            action = planner.act(observation, info)
            result.seconds_deciding += time.perf_counter() - started
            result.decisions += 1
            stayed = stayed + 1 if action == STAY else 0
            result.long_waits += stayed == long_wait + 1
            result.longest_wait = max(result.longest_wait, stayed)
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
    parser.add_argument(
        "--random-maps", type=int, default=25, help="procedural maps random:0 .. random:N-1"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the first episode on each map")
    parser.add_argument(
        "--long-wait", type=int, default=LONG_WAIT_TICKS, help="ticks in a row a long wait exceeds"
    )
    parser.add_argument(
        "--maps", nargs="*", default=[], help="more maps to play: names or paths of map files"
    )
    parser.add_argument(
        "--sight",
        default=None,
        help="sight radius in cells, or 'full' (default: the map's, else the env's)",
    )
    args = parser.parse_args()
    sight = (
        None if args.sight is None else (args.sight if args.sight == "full" else int(args.sight))
    )

    maps = ["train", "new"] + [f"random:{n}" for n in range(args.random_maps)] + args.maps
    total = MapResult("all")
    for map_name in maps:
        result = run_map(map_name, args.episodes, args.seed, args.long_wait, sight)
        print(result.line(), flush=True)
        total.add(result)
    print(total.line())


if __name__ == "__main__":
    main()
