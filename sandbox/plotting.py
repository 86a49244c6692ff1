"""What every plot of a run shares: the run's files read once, the agents' kinds and
colours from them, the headline, and success curves. Plots read saved files only, so
any past run can be re-plotted (``python -m sandbox.plots results/<task>/<run>``)."""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402

from sandbox.results import load_jobs, load_plugins  # noqa: E402
from sandbox.stats import censored_median, format_count, median_interval  # noqa: E402

#: colours of the built-in agents; any other agent gets one from its name (the same in every run)
COLORS = {
    "planner": "tab:green",
    "traffic-planner": "tab:green",
    "random": "0.5",
    "ppo": "tab:blue",
    "sac": "tab:orange",
    "td3": "tab:red",
    "dqn": "tab:purple",
    "a2c": "tab:brown",
    "learned-model": "tab:cyan",
}
PALETTE = ("tab:olive", "tab:pink", "darkgoldenrod", "teal", "slateblue", "crimson", "tab:gray")


@dataclass
class RunData:
    """A run's saved files, read once: what every plot draws from."""

    folder: Path
    config: dict[str, Any]
    summary_file: dict[str, Any]
    jobs: list[dict[str, Any]]  #: every job, all phases

    @classmethod
    def load(cls, folder: Path) -> RunData:
        """The run's files; the plug-in modules the run used are imported (for its task and study)."""
        folder = Path(folder)
        config = json.loads((folder / "config.json").read_text())
        load_plugins(config)
        return cls(
            folder, config, json.loads((folder / "summary.json").read_text()), load_jobs(folder)
        )

    @property
    def summary(self) -> dict[str, Any]:
        return self.summary_file["agents"]

    @property
    def train_jobs(self) -> list[dict[str, Any]]:
        return [j for j in self.jobs if j["phase"] == "train"]

    def kind(self, agent: str) -> str:
        """The agent's declared kind ("planner", "learned-model", "learner" or "baseline"), as the run recorded it."""
        recorded = self.config.get("agent_details", {}).get(agent, {}).get("kind")
        return recorded or _builtin_kind(agent)

    def agents_of_kind(self, kind: str) -> list[str]:
        return [agent for agent in self.summary if self.kind(agent) == kind]


def _builtin_kind(agent: str) -> str:
    """The kind of a built-in agent, for runs recorded before kinds were (no import needed)."""
    return {"planner": "planner", "traffic-planner": "planner", "random": "baseline"}.get(
        agent, "learner"
    )


def color(agent: str) -> str:
    return COLORS.get(agent) or PALETTE[zlib.crc32(agent.encode()) % len(PALETTE)]


def seeds_label(n: int) -> str:
    return f"{n} seed" + ("s" if n != 1 else "")


def trials_label(median: float | None, budget: int) -> str:
    return format_count(median, budget) + (" trial" if median == 1 else " trials")


def headline(run: RunData) -> str:
    """The finding in numbers: each planner and learned-model agent against the best learner,
    trials to reliable (medians)."""
    summary = run.summary
    text = []
    for agent in run.agents_of_kind("planner") + run.agents_of_kind("learned-model"):
        entry = summary[agent]
        text.append(
            f"{agent} reliable after {trials_label(censored_median(entry['trials_to_reliable']), entry['budget'])}"
        )
    agent = best_learner(run)
    if agent:
        median, budget = (
            censored_median(summary[agent]["trials_to_reliable"]),
            summary[agent]["budget"],
        )
        if median is None:
            rate = float(np.median(summary[agent]["final_success_rate"]))
            text.append(
                f"no learner reliable within its budget (best: {agent}, {rate:.0%} "
                f"after {budget:,} trials)"
            )
        else:
            text.append(f"best learner {agent} reliable after {trials_label(median, budget)}")
    seeds = max(len(e["seeds"]) for e in summary.values())
    return "; ".join(text) + (f" (medians over {seeds} seeds)" if seeds > 1 else " (one seed)")


def best_learner(run: RunData) -> str | None:
    """The model-free learner that became reliable soonest (median over seeds), else the one
    with the highest final success."""
    summary = run.summary
    ranked = [
        (
            censored_median(summary[a]["trials_to_reliable"]),
            -float(np.median(summary[a]["final_success_rate"])),
            a,
        )
        for a in run.agents_of_kind("learner")
    ]
    if not ranked:
        return None
    return min(ranked, key=lambda x: (x[0] is None, x[0] or 0, x[1]))[2]


def best_learner_job(run: RunData, jobs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Among ``jobs``, the learner's with the highest final success."""
    learners = set(run.agents_of_kind("learner"))
    return max(
        (j for j in jobs if j["agent"] in learners),
        key=lambda j: j["final_success_rate"],
        default=None,
    )


def interval_band(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column (an evaluation point), the 95 % interval of the median over the rows (seeds)."""
    bounds = [median_interval(list(column)) for column in values.T]
    return np.array([b[0] for b in bounds]), np.array([b[1] for b in bounds])


def value_at(rows: list[dict[str, Any]], trials: int, key: str) -> float:
    """``key`` at the last evaluation row at or before ``trials`` (0 before the first):
    a job that stopped early (reliable twice in a row) holds its last value."""
    earlier = [row for row in rows if row["trials"] <= trials]
    return earlier[-1][key] if earlier else 0


def success_curves(axes, run: RunData, jobs: list[dict[str, Any]], bar: float) -> None:
    for agent in run.summary:
        mine = [j for j in jobs if j["agent"] == agent]
        if not mine:
            continue
        planner = run.kind(agent) == "planner"
        points = sorted({row["trials"] for j in mine for row in j["evaluations"]})
        rates = np.array(
            [[value_at(j["evaluations"], p, "success_rate") for p in points] for j in mine]
        )
        median = np.median(rates, axis=0)
        axes.plot(
            points,
            median,
            label=f"{agent} ({seeds_label(len(mine))})",
            color=color(agent),
            marker="o" if planner else None,
            markersize=5,
            lw=2 if planner else 1.5,
        )
        if len(mine) > 1:
            axes.fill_between(points, *interval_band(rates), color=color(agent), alpha=0.15, lw=0)
    axes.axhline(bar, color="k", ls=":", lw=1)
    axes.text(1, bar + 0.01, f"reliable ({bar:.0%})", fontsize=8, va="bottom")
    axes.set_xscale("log")
    axes.set_ylim(-0.02, 1.02)
    axes.set_xlabel("training trials (log scale)")
    axes.set_ylabel("success on held-out set")
    axes.grid(alpha=0.3, which="both")
    axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))


def world_name(env_kwargs: dict[str, Any]) -> str:
    """A readable name of a world or city from the env's keyword arguments."""
    value = env_kwargs.get("world", env_kwargs.get("map", "?"))
    return Path(str(value)).stem if str(value).endswith((".toml", ".txt")) else str(value)
