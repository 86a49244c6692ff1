"""``python -m sandbox.bench``: measure, print each figure beside its target, write bench.json."""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import math
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from sandbox.bench.targets import Figure

PARTS = ("rocket", "flight", "city", "planners", "learners")  #: what runs by default, in this order
PACKAGES = ("numpy", "scipy", "torch", "gymnasium", "stable-baselines3", "pymunk", "box2d")
DEFAULT_OUT = Path("results") / "bench.json"
#: below this share of a core the output warns that the machine was busy
BUSY_CORE_SHARE = 0.9


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.bench",
        description="Measure the sandbox's speed and accuracy in one process, print each figure "
        "beside its target and their ratio, and write them to results/bench.json. Rates are "
        "measured over seconds and compared side by side in the same run, so read them against "
        "the core share they record.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="run each part briefly (seconds, for tests and CI)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help=f"where to write the figures (default: {DEFAULT_OUT})",
    )
    parser.add_argument(
        "--parts",
        default=",".join(PARTS),
        help=f"comma-separated parts to run, from {', '.join(PARTS)} (default: all)",
    )
    parser.add_argument(
        "--compare-runs",
        action="store_true",
        help="also time the default 'python -m sandbox.compare rocket' and '... city' (minutes)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of every random draw (default 0)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    parts = checked_parts(parser, args)
    started, load_before = time.perf_counter(), load_average()
    print(header(), flush=True)
    measured = Measured()
    measure_parts(measured, parts, args)
    seconds = time.perf_counter() - started
    report = {
        "command": " ".join(
            ["python -m sandbox.bench", *(argv if argv is not None else sys.argv[1:])]
        ),
        "quick": args.quick,
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "seconds": seconds,
        "part_seconds": measured.part_seconds,
        "machine": machine(load_before),
        "versions": versions(),
        "figures": {figure.name: figure.to_json() for figure in measured.figures},
        "skipped": measured.skipped,
        "errors": measured.errors,
    }
    from sandbox.outputs.results import write_json

    write_json(args.out, finite_or_none(report))
    print_outcome(measured)
    print(f"wrote {args.out} in {seconds:.0f} s")
    return 1 if measured.errors else 0


def checked_parts(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[str]:
    """The parts to run; a usage error (exit code 2) for what would fail after minutes of
    measuring: an unknown part, the city without Box2D, an unwritable ``--out``."""
    parts = [part.strip() for part in args.parts.split(",") if part.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown or not parts:
        parser.error(
            f"unknown part {unknown[0]!r}; valid parts: {', '.join(PARTS)}"
            if unknown
            else "no part to run"
        )
    beside_lander = [part for part in parts if part in ("city", "flight")]
    if beside_lander and importlib.util.find_spec("Box2D") is None:
        others = ",".join(part for part in parts if part not in beside_lander)
        parser.error(
            f"the {' and '.join(beside_lander)} part measures against LunarLander-v3, which "
            "needs Box2D: "
            'pip install -e ".[bench]"'
            + (
                f" (or leave the {' and '.join(beside_lander)} out: --parts {others})"
                if others
                else ""
            )
        )
    if args.out.is_dir():
        parser.error(f"--out {args.out} is a folder; give the path of a JSON file")
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        parser.error(f"cannot write {args.out}: {error.strerror or error}")
    return parts


@dataclass
class Measured:
    """What the parts measured so far: their figures, what was skipped or failed and why,
    and how long each part took."""

    figures: list[Figure] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    part_seconds: dict[str, float] = field(default_factory=dict)

    def run_part(self, name: str, measure: Callable[[], list[Figure]]) -> None:
        """Measure one part and print its figures; its failure keeps the others' figures."""
        print(f"{name} ...", end="", flush=True)
        part_started = time.perf_counter()
        try:
            found = measure()
        except Exception as error:  # one part's failure keeps the others' figures
            print(flush=True)
            traceback.print_exc()
            self.errors[name] = f"{type(error).__name__}: {error}"
            print(f"{name}: failed: {self.errors[name]}", flush=True)
            return
        finally:
            self.part_seconds[name] = time.perf_counter() - part_started
        print(f" {self.part_seconds[name]:.0f} s", flush=True)
        self.figures.extend(found)
        for figure in found:
            print_figure(figure)


def measure_parts(measured: Measured, parts: list[str], args: argparse.Namespace) -> None:
    """Run the asked-for parts in their order, then the compare runs if asked for."""
    from sandbox.tasks import get_task  # the heavy imports wait until the arguments are known

    tasks = {name: get_task(name) for name in ("rocket", "city", "flight")}
    world = tasks["rocket"].env_kwargs["world"]
    city_maps = [tasks["city"].env_kwargs["map"], tasks["city"].transfer_env_kwargs["map"]]
    quick, seed = args.quick, args.seed
    if "rocket" in parts:
        from sandbox.bench import rocket

        measured.run_part("rocket", lambda: rocket.measure(world, quick, seed))
    if "flight" in parts:
        from sandbox.bench import flight

        measured.run_part("flight", lambda: flight.measure(tasks["flight"], quick, seed))
    if "city" in parts:
        from sandbox.bench import city

        measured.run_part("city", lambda: city.measure(tasks["city"], city_maps, quick, seed))
    if "planners" in parts:
        from sandbox.bench import planners

        measured.run_part(
            "rocket planner", lambda: planners.rocket_planner(tasks["rocket"], quick, seed)
        )
        measured.run_part(
            "city planner",
            lambda: planners.city_planner(tasks["city"], city_maps, quick, seed),
        )
    if "learners" in parts:
        from sandbox.bench import learners

        measured.run_part("learners", lambda: learners.measure(tasks, quick, seed))
    if args.compare_runs:
        from sandbox.bench import runs

        for task in ("rocket", "city"):
            measured.run_part(
                f"python -m sandbox.compare {task}",
                lambda task=task: [runs.compare_wall_time(task)],
            )
    else:
        for task in ("rocket", "city"):
            measured.skipped[f"compare_{task}_wall_s"] = (
                "not run: pass --compare-runs (each takes minutes)"
            )
        print(
            "python -m sandbox.compare rocket / city: skipped "
            "(pass --compare-runs; they take minutes)"
        )


def print_outcome(measured: Measured) -> None:
    """How many figures reached their targets, which did not, and whether the machine was
    too busy for the rates to be read as they are."""
    figures, errors = measured.figures, measured.errors
    below = [figure.name for figure in figures if not figure.ok]
    print(
        f"\n{len(figures) - len(below)} of {len(figures)} figures on target"
        + (f"; below target: {', '.join(below)}" if below else "")
        + (f"; failed: {', '.join(errors)}" if errors else "")
    )
    least = least_core_share(figures)
    if least is not None and least < BUSY_CORE_SHARE:
        print(
            f"the machine was busy: this process had as little as {least:.0%} of a core while "
            "measuring, so rates are low by about that factor; ratios of rates measured side by "
            "side hold"
        )


def header() -> str:
    from sandbox.run.provenance import cpu_model

    load = load_average()
    load_text = f", load average {load[0]:.1f}" if load else ""
    return (
        f"{cpu_model()}, {os.cpu_count()} cores{load_text}\n\n"
        f"{'figure':<46} {'value':>20}   {'target':<26} {'ratio':>7}  verdict"
    )


def print_figure(figure: Figure) -> None:
    target = f"{figure.target.relation} {shown(figure.target.value, figure.unit)}"
    verdict = "ok" if figure.ok else "below target"
    print(
        f"{figure.label:<46} {shown(figure.value, figure.unit):>20}   {target:<26} "
        f"{figure.ratio:>7.2f}  {verdict}",
        flush=True,
    )
    if figure.note:
        print(f"    {figure.note}", flush=True)


def shown(value: float, unit: str) -> str:
    """A value with its unit as the table prints it (fractions as percentages)."""
    if unit == "fraction":
        return f"{100.0 * value:.3g} %" if math.isfinite(value) else str(value)
    if not math.isfinite(value):
        return f"{value} {unit}"
    return f"{value:,.0f} {unit}" if abs(value) >= 100 else f"{value:.3g} {unit}"


def least_core_share(figures: list[Figure]) -> float | None:
    """The smallest share of a core any figure's measurement had (None if none recorded one)."""
    shares = [
        figure.details["core_share"]
        for figure in figures
        if isinstance(figure.details.get("core_share"), float)
        and math.isfinite(figure.details["core_share"])
    ]
    return min(shares, default=None)


def load_average() -> tuple[float, float, float] | None:
    try:
        return os.getloadavg()
    except (AttributeError, OSError):
        return None


def machine(load_before: tuple[float, float, float] | None) -> dict[str, Any]:
    from sandbox.run.provenance import cpu_model

    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "load_average_1_5_15_min": {"before": load_before, "after": load_average()},
    }


def versions() -> dict[str, Any]:
    from sandbox.run.provenance import git_state

    def installed(package: str) -> str | None:
        try:
            return version(package)
        except PackageNotFoundError:
            return None

    return {
        "python": platform.python_version(),
        **{name: installed(name) for name in PACKAGES},
        **git_state(),
    }


def finite_or_none(data: Any) -> Any:
    """``data`` with every NaN or infinite float replaced by None (JSON has no such numbers)."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {key: finite_or_none(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [finite_or_none(value) for value in data]
    return data
