"""A run's folder: ``config.json``, ``jobs/<agent>-seed<k>.json`` (one per finished
job), ``summary.json``, ``evaluations.csv`` and the plots.

Jobs are written the moment they finish, so an interrupted run keeps them; the
summary, table and plots are derived from the job files alone.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from sandbox.stats import censored_median, format_censored, format_rates

#: per-seed keys every summary carries, per agent
SEED_KEYS = ("trials_to_first_success", "trials_to_reliable", "final_success_rate")
#: extra per-seed keys the city adds
DEATH_KEYS = ("deaths_to_first_success", "deaths_to_reliable", "total_training_deaths")
CSV_COLUMNS = (
    "agent", "seed", "trials", "success_rate", "eval_episodes", "eval_deaths",
    "training_successes", "training_deaths", "training_steps", "wall_time_s",
)


def write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    tmp.replace(path)


def job_path(run_dir: Path, agent: str, seed: int, phase: str = "") -> Path:
    prefix = f"{phase}-" if phase else ""
    return run_dir / "jobs" / f"{prefix}{agent}-seed{seed}.json"


def load_jobs(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in sorted((run_dir / "jobs").glob("*.json"))]


def summarise(jobs: list[dict[str, Any]], agent_order: list[str], extra_keys: tuple[str, ...] = ()) -> dict[str, Any]:
    """Per agent: each per-seed figure as a list over seeds (``null`` where censored)."""
    summary: dict[str, Any] = {}
    for agent in agent_order:
        mine = sorted((j for j in jobs if j["agent"] == agent and j.get("phase", "train") == "train"),
                      key=lambda j: j["seed"])
        if not mine:
            continue
        entry: dict[str, Any] = {
            "seeds": [j["seed"] for j in mine],
            "budget": mine[0]["budget"],
            "reliable_bar": mine[0]["reliable_bar"],
            "trials_spent": [j["trials_spent"] for j in mine],
        }
        for key in SEED_KEYS + extra_keys:
            entry[key] = [j.get(key) for j in mine]
        entry["censored"] = {
            key: sum(v is None for v in entry[key]) for key in ("trials_to_first_success", "trials_to_reliable")
        }
        entry["median_trials_to_reliable"] = censored_median(entry["trials_to_reliable"])
        summary[agent] = entry
    return summary


def write_csv(path: Path, jobs: list[dict[str, Any]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=("phase",) + CSV_COLUMNS)
        writer.writeheader()
        for job in sorted(jobs, key=lambda j: (j.get("phase", "train"), j["agent"], j["seed"])):
            for row in job["evaluations"]:
                writer.writerow({"phase": job.get("phase", "train"), "agent": job["agent"], "seed": job["seed"], **row})


def table(summary: dict[str, Any], columns: list[tuple[str, str]] | None = None) -> str:
    """The printed table: median [range] over seeds, censored shown as "> budget"."""
    columns = columns or [
        ("trials to first success", "trials_to_first_success"),
        ("trials to reliable", "trials_to_reliable"),
    ]
    header = ["agent", "seeds"] + [title for title, _ in columns] + ["final success"]
    rows = []
    for agent, entry in summary.items():
        row = [agent, str(len(entry["seeds"]))]
        for _, key in columns:
            budget = entry["budget"] if key.startswith("trials") else None
            row.append(format_censored(entry[key], budget))
        row.append(format_rates(entry["final_success_rate"]))
        rows.append(row)
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths))  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def censored_note(summary: dict[str, Any]) -> str:
    """Which agents never became reliable on some seed, in words."""
    parts = []
    for agent, entry in summary.items():
        n = entry["censored"]["trials_to_reliable"]
        if n:
            parts.append(f"{agent} ({n} of {len(entry['seeds'])} seeds, budget {entry['budget']:,} trials)")
    if not parts:
        return "Every agent became reliable on every seed."
    return "Censored (never reliable within the budget): " + ", ".join(parts) + "."
