"""How far the traffic planner must see to cross without a death: deaths, success and
speed per sight radius.

The sight (cells, the Chebyshev radius of the window in which anyone sees the cars) is
what every agent sees of the traffic. For each sight the planner walks ``--episodes``
walks on ``train``, ``new`` and ``random:0`` .. ``random:N-1``, walk ``i`` of a map in a
fresh city reset with the validation seed ``VALIDATION_SEED_BASE + i`` (never the test
seeds the tables report). It prints a table (sight, walks, deaths, success, ticks per
walk, ms per decision) and writes ``results/tuning/city_sight.json``; a run of some
sights keeps the others already in the file if they were measured on the same walks.
The env's default sight (``envs.city.env.DEFAULT_SIGHT``) is the smallest sight with no
death and, on every map, a success rate at the bar the planner's tests ask (99 %); the
table is the evidence. (Deaths alone would not choose: the planner assumes a car may be
anywhere it cannot see, so a short sight costs it walks that never cross, not deaths.)

    PYTHONPATH=. python benchmarks/city_sight.py --sights 2 3 4 5 full --episodes 200 --processes 2
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import json
import platform
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from typing import Any

from agents.city_planner import PlannerConfig
from benchmarks.city_planner import MapResult, run_map
from envs.city.env import DEFAULT_SIGHT
from sandbox.run.job import VALIDATION_SEED_BASE
from sandbox.run.provenance import PACKAGES, _version, git_state

OUT = Path(__file__).resolve().parents[1] / "results" / "tuning" / "city_sight.json"
#: the success rate a sight must reach on every map to be the default, as the planner's tests ask
SUCCESS_BAR = 0.99


def parse_sight(text: str) -> int | str:
    return text if text == "full" else int(text)


def run_job(job: tuple[int | str, str, int]) -> tuple[int | str, MapResult]:
    sight, map_name, episodes = job
    return sight, run_map(map_name, episodes, VALIDATION_SEED_BASE, sight=sight)


def row(sight: int | str, result: MapResult) -> dict[str, Any]:
    return {
        "sight": sight,
        "map": result.map_name,
        "walks": result.episodes,
        "deaths": result.deaths,
        "successes": result.successes,
        "time_outs": result.timeouts,
        "success_rate": result.successes / max(1, result.episodes),
        "ticks_per_walk": result.ticks_per_walk,
        "ms_per_decision": result.ms_per_decision,
        "long_waits": result.long_waits,
        "longest_wait": result.longest_wait,
    }


def table(rows: list[dict[str, Any]]) -> str:
    header = (
        f"{'sight':>6}  {'walks':>6}  {'deaths':>6}  {'success':>8}  {'worst map':>18}  "
        f"{'ticks/walk':>10}  {'ms/decision':>11}"
    )
    lines = [header, "-" * len(header)]
    for r in rows:
        worst = f"{100 * r['worst_map_success']:.1f}% {r['worst_map']}"
        lines.append(
            f"{str(r['sight']):>6}  {r['walks']:6d}  {r['deaths']:6d}  "
            f"{100 * r['success_rate']:7.2f}%  "
            f"{worst:>18}  {r['ticks_per_walk']:10.1f}  {r['ms_per_decision']:11.3f}"
        )
    return "\n".join(lines)


def sight_order(sight: int | str) -> float:
    return float("inf") if sight == "full" else float(sight)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sights",
        nargs="+",
        type=parse_sight,
        default=[2, 3, 4, 5, "full"],
        help="sight radii in cells, or 'full'",
    )
    parser.add_argument("--episodes", type=int, default=200, help="walks per map and sight")
    parser.add_argument(
        "--random-maps", type=int, default=25, help="procedural maps random:0 .. random:N-1"
    )
    parser.add_argument(
        "--processes", type=int, default=2, help="worker processes (maps run in parallel)"
    )
    args = parser.parse_args()

    maps = ["train", "new"] + [f"random:{n}" for n in range(args.random_maps)]
    jobs = [(sight, map_name, args.episodes) for sight in args.sights for map_name in maps]
    totals = {sight: MapResult("all") for sight in args.sights}
    per_map: dict[int | str, dict[str, dict[str, Any]]] = {sight: {} for sight in args.sights}
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.processes) as pool:
        for sight, result in pool.map(run_job, jobs):
            totals[sight].add(result)
            per_map[sight][result.map_name] = row(sight, result)
    print(f"{len(jobs)} jobs in {time.perf_counter() - started:.0f} s ({args.processes} processes)")

    walks = {"maps": maps, "episodes_per_map": args.episodes, "seed_base": VALIDATION_SEED_BASE}
    results: dict[str, Any] = {}
    if OUT.is_file():
        previous = json.loads(OUT.read_text())
        if previous.get("walks") == walks:
            results = previous["results"]
    state = git_state()
    for sight in args.sights:
        worst = min(per_map[sight].values(), key=lambda r: r["success_rate"])
        results[str(sight)] = {
            **row(sight, totals[sight]),
            "worst_map": worst["map"],
            "worst_map_success": worst["success_rate"],
            "per_map": per_map[sight],
            **state,
        }
    rows = sorted(results.values(), key=lambda r: sight_order(r["sight"]))
    safe = [
        r
        for r in rows
        if r["deaths"] == 0 and r["worst_map_success"] >= SUCCESS_BAR and r["sight"] != "full"
    ]
    chosen = safe[0]["sight"] if safe else None
    print(table(rows))
    print(
        f"smallest sight with no death and success >= {100 * SUCCESS_BAR:.0f} % on every map: "
        f"{chosen} "
        f"(the env's default: {DEFAULT_SIGHT})"
    )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(
        json.dumps(
            {
                "what": "the traffic planner's deaths, success and speed per sight radius "
                "(benchmarks/city_sight.py)",
                "walks": walks,
                "planner": asdict(PlannerConfig()),
                "success_bar": SUCCESS_BAR,
                "smallest_safe_sight": chosen,
                "env_default_sight": DEFAULT_SIGHT,
                "python": platform.python_version(),
                "packages": {name: _version(name) for name in PACKAGES},
                "results": {str(r["sight"]): r for r in rows},
            },
            indent=1,
        )
        + "\n"
    )
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
