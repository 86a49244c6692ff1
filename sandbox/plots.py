"""Plots of a run, drawn from its saved files only (any past run can be re-plotted:
``python -m sandbox.plots results/rocket/<run>``)."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sandbox.results import load_jobs  # noqa: E402
from sandbox.stats import censored_median, format_count  # noqa: E402

COLORS = {"planner": "tab:green", "traffic-planner": "tab:green", "random": "0.5", "ppo": "tab:blue",
          "sac": "tab:orange", "td3": "tab:red", "dqn": "tab:purple", "a2c": "tab:brown"}
PLANNERS = ("planner", "traffic-planner")


def color(agent: str) -> str:
    return COLORS.get(agent, f"C{hash(agent) % 10}")


def headline(summary: dict[str, Any]) -> str:
    """The finding in numbers: planner versus the best learner, trials to reliable (medians)."""
    text = []
    for agent, entry in summary.items():
        if agent in PLANNERS:
            median = censored_median(entry["trials_to_reliable"])
            text.append(f"{agent} reliable after {_trials(median, entry['budget'])}")
    learners = [(censored_median(e["trials_to_reliable"]), -float(np.median(e["final_success_rate"])), a)
                for a, e in summary.items() if a not in PLANNERS and a != "random"]
    if learners:
        median, minus_rate, agent = min(learners, key=lambda x: (x[0] is None, x[0] or 0, x[1]))
        budget = summary[agent]["budget"]
        if median is None:
            text.append(f"no learner reliable within its budget (best: {agent}, {-minus_rate:.0%} "
                        f"after {budget:,} trials)")
        else:
            text.append(f"best learner {agent} reliable after {_trials(median, budget)}")
    seeds = max(len(e["seeds"]) for e in summary.values())
    return "; ".join(text) + (f" (medians over {seeds} seeds)" if seeds > 1 else " (one seed)")


def _seeds(n: int) -> str:
    return f"{n} seed" + ("s" if n != 1 else "")


def _trials(median: float | None, budget: int) -> str:
    return format_count(median, budget) + (" trial" if median == 1 else " trials")


def success_curves(axes, jobs: list[dict[str, Any]], agents: list[str], bar: float) -> None:
    for agent in agents:
        mine = [j for j in jobs if j["agent"] == agent]
        if not mine:
            continue
        points = sorted({row["trials"] for j in mine for row in j["evaluations"]})
        rates = np.array([[value_at(j["evaluations"], p, "success_rate") for p in points] for j in mine])
        median = np.median(rates, axis=0)
        marker = "o" if agent in PLANNERS else None
        axes.plot(points, median, label=f"{agent} ({_seeds(len(mine))})", color=color(agent), marker=marker,
                  markersize=5, lw=2 if agent in PLANNERS else 1.5)
        if len(mine) > 1:
            axes.fill_between(points, rates.min(axis=0), rates.max(axis=0), color=color(agent), alpha=0.15, lw=0)
    axes.axhline(bar, color="k", ls=":", lw=1)
    axes.text(1, bar + 0.01, f"reliable ({bar:.0%})", fontsize=8, va="bottom")
    axes.set_xscale("log")
    axes.set_ylim(-0.02, 1.02)
    axes.set_xlabel("training trials (log scale)")
    axes.set_ylabel("success on held-out set")
    axes.grid(alpha=0.3, which="both")
    axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))


def value_at(rows: list[dict[str, Any]], trials: int, key: str) -> float:
    """``key`` at the last evaluation row at or before ``trials`` (0 before the first):
    a job that stopped early (reliable twice in a row) holds its last value."""
    earlier = [row for row in rows if row["trials"] <= trials]
    return earlier[-1][key] if earlier else 0


def plot_success(run_dir: Path, jobs: list[dict[str, Any]], summary: dict[str, Any]) -> Path:
    figure, axes = plt.subplots(figsize=(9.5, 5.3), layout="constrained")
    agents = list(summary)
    success_curves(axes, jobs, agents, next(iter(summary.values()))["reliable_bar"])
    axes.set_title("Success on the held-out set against training trials (line: median, band: range over seeds)",
                   fontsize=9)
    figure.suptitle(textwrap.fill(headline(summary), 100), fontsize=10)
    path = run_dir / "success_vs_trials.png"
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def plot_rocket_trajectories(run_dir: Path, jobs: list[dict[str, Any]], summary: dict[str, Any]) -> Path | None:
    """The planner's training launches 1..k beside a learner's first and latest attempts."""
    planner = next((j for j in jobs if j["agent"] == "planner" and j["seed"] == 0), None)
    learner_names = [a for a in summary if a not in PLANNERS and a != "random"]
    learner_jobs = [j for j in jobs if j["agent"] in learner_names and j["seed"] == 0]
    learner = max(learner_jobs, key=lambda j: j["final_success_rate"], default=None)
    panels = [(planner, "planner: training launches 1..k"), (learner, None)]
    panels = [(j, t) for j, t in panels if j is not None]
    if not panels:
        return None
    figure, axes_list = plt.subplots(1, len(panels), figsize=(6 * len(panels), 6), squeeze=False)
    for axes, (job, title) in zip(axes_list[0], panels):
        launches = list(job["traces"]["training_first"])
        last = job["traces"]["training_last"]
        if last and all(last["trial"] != l["trial"] for l in launches):
            launches.append(last)
        cmap = plt.get_cmap("viridis")
        for i, launch in enumerate(launches):
            path = np.array(launch["path"])
            style = "-" if launch["success"] else "--"
            label = f"trial {launch['trial']:,}: {'hit' if launch['success'] else 'miss'}"
            shade = cmap(i / max(1, len(launches) - 1))
            axes.plot(path[:, 0], path[:, 1], style, color=shade, lw=1.3, label=label)
            axes.add_patch(plt.Circle(launch["moon_end"], 1.737 * 4, color=shade, alpha=0.6))
        axes.add_patch(plt.Circle((0, 0), 6.371 * 3, color="tab:blue"))
        orbit = np.linspace(0, 2 * np.pi, 300)
        axes.plot(384.4 * np.cos(orbit), 384.4 * np.sin(orbit), color="0.8", lw=0.8, label="Moon's orbit (mean)")
        axes.set_aspect("equal")
        axes.set_xlim(-450, 450)
        axes.set_ylim(-450, 450)
        axes.set_xlabel("x (1000 km)")
        axes.set_ylabel("y (1000 km)")
        hits = sum(l["success"] for l in launches)
        axes.set_title(title or f"{job['agent']}: first {len(job['traces']['training_first'])} trials and trial "
                       f"{job['trials_spent']:,} ({hits} hits shown)", fontsize=10)
        axes.legend(fontsize=7, loc="lower left")
    figure.suptitle("Training launches, seed 0, each from its own Moon phase; discs: the Moon "
                    "(4x) at flight end", fontsize=10)
    figure.tight_layout()
    path = run_dir / "trajectories.png"
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def plot_run(run_dir: Path) -> list[Path]:
    """Every plot of a run folder, from its files."""
    run_dir = Path(run_dir)
    summary_file = json.loads((run_dir / "summary.json").read_text())
    config = json.loads((run_dir / "config.json").read_text())
    summary = summary_file["agents"]
    all_jobs = load_jobs(run_dir)
    jobs = [j for j in all_jobs if j["phase"] == "train"]
    if not summary:
        return []
    paths = [plot_success(run_dir, jobs, summary)]
    if summary_file["task"] == "rocket":
        paths.append(plot_rocket_trajectories(run_dir, jobs, summary))
    transfer = config.get("transfer_env_kwargs")
    if transfer and any("relearn_fraction" in e for e in summary.values()):
        from sandbox.plots_transfer import plot_both_worlds, plot_transfer_chart

        names = (world_name(config["env_kwargs"]), world_name(transfer))
        paths += [plot_both_worlds(run_dir, all_jobs, summary, names), plot_transfer_chart(run_dir, summary, names)]
    if "generalization_grid" in summary_file:
        from sandbox.plots_generalization import plot_generalization

        paths.append(plot_generalization(run_dir, summary_file))
    if summary_file["task"] == "city":
        from sandbox.plots_city import plot_deaths, plot_maps

        paths.append(plot_deaths(run_dir, jobs, summary))
        if transfer:
            paths.append(plot_maps(run_dir, all_jobs, summary, (config["env_kwargs"]["map"], transfer["map"])))
    return [p for p in paths if p is not None]


def world_name(env_kwargs: dict[str, Any]) -> str:
    """A readable name of a world or city from the env's keyword arguments."""
    value = env_kwargs.get("world", env_kwargs.get("map", "?"))
    return Path(str(value)).stem if str(value).endswith((".toml", ".txt")) else str(value)


if __name__ == "__main__":
    for written in plot_run(Path(sys.argv[1])):
        print(written)
