"""A saved run read once (``RunData``): its config, summary and job files, the agents'
kinds, the headline and the best learner. Tables, reports and pictures read a run
through it, from saved files only, so any past run can be re-read."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sandbox.outputs.results import load_jobs, load_plugins
from sandbox.outputs.stats import censored_median, format_count

#: the seed whose episodes a run's pictures and animations draw; a ``--full`` run keeps the
#: episodes of this seed alone (``sandbox.outputs.results.without_episodes``)
PICTURED_SEED = 0


@dataclass
class RunData:
    """A run's saved files, read once: what every table, report and plot reads."""

    folder: Path
    config: dict[str, Any]
    summary_file: dict[str, Any]
    jobs: list[dict[str, Any]]  #: every job, all phases

    @classmethod
    def load(cls, folder: Path) -> RunData:
        """The run's files; the plug-in modules the run used are imported (for its task and
        study)."""
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

    @property
    def pictured_jobs(self) -> list[dict[str, Any]]:
        """The training jobs of ``PICTURED_SEED``, the ones the pictures draw."""
        return [j for j in self.train_jobs if j["seed"] == PICTURED_SEED]

    def kind(self, agent: str) -> str:
        """The agent's declared kind ("planner", "learned-model", "learner" or "baseline"), as the
        run recorded it."""
        recorded = self.config.get("agent_details", {}).get(agent, {}).get("kind")
        return recorded or _builtin_kind(agent)

    def agents_of_kind(self, kind: str) -> list[str]:
        return [agent for agent in self.summary if self.kind(agent) == kind]


def _builtin_kind(agent: str) -> str:
    """The kind of a built-in agent, for runs recorded before kinds were (no import needed)."""
    return {"planner": "planner", "traffic-planner": "planner", "random": "baseline"}.get(
        agent, "learner"
    )


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
            f"{agent} reliable after "
            f"{trials_label(censored_median(entry['trials_to_reliable']), entry['budget'])}"
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
    """The run's best model-free learner, by the figure its headline gives: the fewest
    trials to reliable (median over seeds; a learner whose median is censored ranks after
    every reliable one), then the highest final held-out success (median over seeds); a tie
    goes to the learner listed first in the run (the table's order). None without learners.
    The headline, the report, the side-by-side animation and the trajectories all name it."""
    return _best(run, run.agents_of_kind("learner"))


def best_rival(run: RunData) -> str | None:
    """The agent a planner is shown beside: the best learner, or in a run without learners the
    best agent other than a planner, ranked the same way."""
    others = [agent for agent in run.summary if run.kind(agent) != "planner"]
    return best_learner(run) or _best(run, others)


def _best(run: RunData, agents: list[str]) -> str | None:
    summary = run.summary

    def rank(agent: str) -> tuple[bool, float, float]:
        reliable = censored_median(summary[agent]["trials_to_reliable"])
        success = float(np.median(summary[agent]["final_success_rate"]))
        return (reliable is None, reliable or 0.0, -success)

    return min(agents, key=rank, default=None)  # min keeps the first of equals


def best_learner_line(run: RunData) -> str | None:
    """One line naming the best learner and the figure that makes it the best."""
    agent = best_learner(run)
    if agent is None:
        return None
    entry = run.summary[agent]
    seeds = seeds_label(len(entry["seeds"]))
    reliable = censored_median(entry["trials_to_reliable"])
    if reliable is not None:
        figure = f"reliable after {trials_label(reliable, entry['budget'])}, median over {seeds}"
    else:
        success = float(np.median(entry["final_success_rate"]))
        figure = (
            f"median held-out success {100 * success:.0f} % over {seeds}, not reliable within "
            f"{entry['budget']:,} trials"
        )
    return f"Best learner of this run: {agent} ({figure})."


def agent_job(jobs: list[dict[str, Any]], agent: str | None) -> dict[str, Any] | None:
    """Among ``jobs``, the agent's of the lowest seed (the seed pictures show)."""
    return min((j for j in jobs if j["agent"] == agent), key=lambda j: j["seed"], default=None)


def best_learner_job(run: RunData, jobs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Among ``jobs``, the best learner's (``best_learner``) of the lowest seed."""
    return agent_job(jobs, best_learner(run))


def value_at(rows: list[dict[str, Any]], trials: int, key: str) -> float:
    """``key`` at the last evaluation row at or before ``trials`` (0 before the first):
    a job that stopped early (reliable twice in a row) holds its last value."""
    earlier = [row for row in rows if row["trials"] <= trials]
    return earlier[-1][key] if earlier else 0


def world_name(env_kwargs: dict[str, Any]) -> str:
    """A readable name of a world or city from the env's keyword arguments."""
    value = env_kwargs.get("world", env_kwargs.get("map", "?"))
    return Path(str(value)).stem if str(value).endswith((".toml", ".txt")) else str(value)
