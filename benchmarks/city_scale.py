"""Set-up time, peak memory and step time of CityNav-v1 on a large generated city.

Each measurement runs in a fresh Python process, so its peak resident memory
(``ru_maxrss``) is the city's alone on top of the imports, which are measured apart.
A second fresh process repeats the build under ``tracemalloc`` for the peak of what
Python and numpy allocated (slower, so its times are not reported).
Run: ``python benchmarks/city_scale.py [--map random:0:300x300] [--steps 1000]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import tracemalloc
from typing import Any

MIB = 1024 * 1024


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(map_spec: str, n_steps: int, traced: bool) -> dict[str, Any]:
    """Build the env, reset it and take ``n_steps`` random steps; times in s, memory in MiB."""
    import numpy as np

    from envs.city.env import CityNavEnv
    from envs.city.maploader import load_map

    figures: dict[str, Any] = {"imports_rss_mib": peak_rss_mib()}
    if traced:
        tracemalloc.start()
    start = time.perf_counter()
    city = load_map(map_spec)
    loaded = time.perf_counter()
    env = CityNavEnv(city)
    built = time.perf_counter()
    figures["build_rss_mib"] = peak_rss_mib()
    if traced:
        figures["build_traced_peak_mib"] = tracemalloc.get_traced_memory()[1] / MIB
    env.reset(seed=0)
    reset = time.perf_counter()
    actions = np.random.default_rng(0).integers(0, 5, n_steps).tolist()
    episodes = 0
    for action in actions:
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            env.reset()
            episodes += 1
    stepped = time.perf_counter()
    if traced:
        figures["traced_peak_mib"] = tracemalloc.get_traced_memory()[1] / MIB
    rows, cols = city.shape
    sidewalks = int(city.sidewalk.sum())
    figures.update(planner_decisions(env, n_steps // 2))
    figures.update(
        shape=f"{rows} x {cols}",
        cells=rows * cols,
        sidewalks=sidewalks,
        cars=len(env.all_cars()),  # every car in the city, not only those in sight
        episodes=episodes,
        load_s=loaded - start,
        env_s=built - loaded,
        reset_s=reset - built,
        steps_s=stepped - reset,
        peak_rss_mib=peak_rss_mib(),
        # the start/goal table of before: one int64 distance per pair of sidewalk cells
        pairwise_table_gib=sidewalks * sidewalks * 8 / 1024**3,
    )
    return figures


def planner_decisions(env, decisions: int) -> dict[str, Any]:
    """The traffic planner walking this city: its first decision (which derives its street
    model of the map) and the mean time of the others, in ms; deaths and goals reached."""
    from agents.base import TaskSpec
    from agents.city_planner import TrafficPlanner

    planner = TrafficPlanner(TaskSpec("city", env.observation_space, env.action_space), seed=0)
    observation, info = env.reset(seed=1)
    times, deaths, goals = [], 0, 0
    for _ in range(decisions):
        tick = time.perf_counter()
        action = planner.act(observation, info)
        times.append(time.perf_counter() - tick)
        observation, _, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            deaths += bool(info["death"])
            goals += bool(info["is_success"])
            observation, info = env.reset()
            planner.reset_episode()
    return {
        "planner_first_ms": 1e3 * times[0],
        "planner_decision_ms": 1e3 * sum(times[1:]) / (len(times) - 1),
        "planner_decisions": decisions,
        "planner_deaths": deaths,
        "planner_goals": goals,
    }


def in_fresh_process(map_spec: str, n_steps: int, traced: bool) -> dict[str, Any]:
    command = [sys.executable, __file__, "--map", map_spec, "--steps", str(n_steps), "--child"]
    if traced:
        command.append("--traced")
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--map",
        default="random:0:300x300",
        help="city map: random:SEED:ROWSxCOLS, a name or a path",
    )
    parser.add_argument(
        "--steps", type=int, default=1_000, help="random-action steps after the first reset"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.map, args.steps, args.traced)))
        return

    timed = in_fresh_process(args.map, args.steps, traced=False)
    traced = in_fresh_process(args.map, args.steps, traced=True)
    print(f"CityNav-v1 on {args.map}: {timed['shape']} cells, {timed['sidewalks']:,} sidewalks")
    print(f"  load map:          {timed['load_s']:.2f} s")
    print(f"  build env:         {timed['env_s']:.2f} s")
    print(f"  first reset:       {timed['reset_s']:.2f} s (warm-up ticks of traffic)")
    print(
        f"  {args.steps:,} steps:       {timed['steps_s']:.2f} s "
        f"({args.steps / timed['steps_s']:,.0f} steps/s, {timed['cars']:,} cars, "
        f"{timed['episodes']} episodes ended)"
    )
    print(
        f"  peak RSS:          {timed['peak_rss_mib']:.0f} MiB "
        f"({timed['imports_rss_mib']:.0f} MiB of it imports; {timed['build_rss_mib']:.0f} MiB "
        "after the build)"
    )
    print(
        f"  traced peak:       {traced['build_traced_peak_mib']:.0f} MiB to build, "
        f"{traced['traced_peak_mib']:.0f} MiB through the steps"
    )
    print(
        "  (a table of sidewalk pairs, as built before, would take "
        f"{timed['pairwise_table_gib']:.1f} GiB)"
    )
    print(
        f"  traffic planner:   {timed['planner_decision_ms']:.2f} ms per decision over "
        f"{timed['planner_decisions']:,} "
        f"(first, which derives its street model: {timed['planner_first_ms']:.0f} ms); "
        f"{timed['planner_goals']} goals, {timed['planner_deaths']} deaths"
    )


if __name__ == "__main__":
    main()
