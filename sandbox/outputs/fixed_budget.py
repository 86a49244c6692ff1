"""Fixed-budget figures of a run, from its job files alone: each agent's held-out success
and training deaths after 100, 1,000 and 10,000 training trials in the training world, and
the training deaths it paid until its held-out success first reached 50 % and 90 % (deaths
at matched success). Written as ``fixed_budget.json`` and ``fixed_budget.csv`` beside the
run's other files, and shown as one table under the run's own.

A seed is read after N trials at its last evaluation at or before N. Every agent of a run is
evaluated on one grid (``Size.evaluation_grid``) that holds 100, 1,000 and 10,000, so most
readings are at N itself. A learner that stops only at rollout boundaries (PPO, A2C) is
evaluated a little past each point and is read at its evaluation for an earlier point: a
reading is kept when it is at or after the grid's point before N (a factor of at most 1.6
from 100 trials up in a ``--full`` run), else it is n/a, as is every N beyond an agent's
budget. An agent that became reliable stopped training: its last evaluation stands for
every later N. A run from before the shared grid was evaluated at log-spaced points of
each agent's own budget, and is read by the same rule on that agent's grid.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sandbox.outputs.results import write_json
from sandbox.outputs.run_data import RunData
from sandbox.outputs.stats import (
    evaluation_grid,
    format_censored,
    format_count,
    format_count_bounds,
    format_rates,
    log_spaced_points,
    wilson_interval,
)
from sandbox.tasks import get_task

#: the training trials after which every agent is read, and beyond them every power of ten
#: up to the run's largest budget (a flight's 100,000, a long run's 1,000,000)
FIXED_BUDGETS = (100, 1_000, 10_000)


def fixed_budgets(largest: int) -> list[int]:
    """The fixed budgets of a run whose largest budget is ``largest``: ``FIXED_BUDGETS``,
    then the powers of ten past them up to ``largest``."""
    budgets = list(FIXED_BUDGETS)
    while budgets[-1] * 10 <= largest:
        budgets.append(budgets[-1] * 10)
    return budgets


#: the held-out success rates at which the deaths paid are compared (matched success)
MATCHED_BARS = (0.5, 0.9)
#: the statuses of a seed read at an evaluation after N trials (any other: n/a)
READ = ("exact", "earlier", "stopped")
CSV_COLUMNS = (
    "agent",
    "seed",
    "budget",
    "moment",
    "status",
    "read_at",
    "success_rate",
    "successes",
    "episodes",
    "success_low",
    "success_high",
    "training_deaths",
)


def planned_points(size: dict[str, Any], budget: int) -> list[int]:
    """The trial counts at which a job of ``budget`` trials was to be evaluated, from the
    run's recorded size."""
    if "eval_points_per_decade" in size:
        return evaluation_grid(size["eval_points_per_decade"], budget)
    return log_spaced_points(budget, size["eval_points"])  # before the shared grid: its own


def evaluation_figures(row: dict[str, Any]) -> dict[str, Any]:
    """One evaluation's held-out success, with its Wilson interval, and the training deaths
    paid by then."""
    episodes = row["eval_episodes"]
    successes = round(row["success_rate"] * episodes)
    low, high = wilson_interval(successes, episodes)
    return {
        "read_at": row["trials"],
        "success_rate": row["success_rate"],
        "successes": successes,
        "episodes": episodes,
        "wilson": [round(low, 4), round(high, 4)],
        "training_deaths": row["training_deaths"],
    }


def read_at(job: dict[str, Any], trials: int, planned: Sequence[int]) -> dict[str, Any]:
    """One seed after ``trials`` training trials: the evaluation that stands for it and how
    it was read (``status``): "exact"; "earlier" (at or after the grid's point before
    ``trials``); "stopped" (reliable, it stopped training before); or n/a: "beyond budget",
    "no evaluation near" (none since the grid's point before ``trials``)."""
    rows = job["evaluations"]
    stopped = job["trials_to_reliable"] is not None and trials >= job["trials_spent"]
    earlier = [row for row in rows if row["trials"] <= trials]
    if not stopped and trials > job["budget"]:
        return {"status": "beyond budget"}
    before = [point for point in planned if point < trials]
    if not stopped and (not earlier or (before and earlier[-1]["trials"] < before[-1])):
        return {"status": "no evaluation near"}
    row = earlier[-1]
    status = "exact" if row["trials"] == trials else "stopped" if stopped else "earlier"
    return {"status": status, **evaluation_figures(row)}


def first_reached(job: dict[str, Any], bar: float) -> dict[str, Any]:
    """When the seed's held-out success first reached ``bar``: the evaluation (its trial
    count, success and the training deaths paid until then); never within its budget: only
    the training deaths it paid in all, a lower bound."""
    row = next((row for row in job["evaluations"] if row["success_rate"] >= bar), None)
    if row is None:
        return {
            "status": "never reached",
            "training_deaths": job["evaluations"][-1]["training_deaths"],
        }
    return {"status": "reached", **evaluation_figures(row)}


def pooled(readings: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Every seed's held-out episodes together, with their Wilson interval (None when a seed
    has no reading)."""
    if any(reading["status"] not in READ for reading in readings):
        return None
    successes = sum(reading["successes"] for reading in readings)
    episodes = sum(reading["episodes"] for reading in readings)
    low, high = wilson_interval(successes, episodes)
    return {"successes": successes, "episodes": episodes, "wilson": [round(low, 4), round(high, 4)]}


def fixed_budget(run: RunData) -> dict[str, Any]:
    """The run's fixed-budget figures, per agent (in the run's order) and seed."""
    task = get_task(run.summary_file["task"])
    size = run.config["size"]
    agents = {}
    budgets = fixed_budgets(max((j["budget"] for j in run.train_jobs), default=0))
    for agent in run.summary:
        jobs = sorted((j for j in run.train_jobs if j["agent"] == agent), key=lambda j: j["seed"])
        after = {}
        for trials in budgets:
            readings = [read_at(j, trials, planned_points(size, j["budget"])) for j in jobs]
            after[str(trials)] = {"seeds": readings, "pooled": pooled(readings)}
        agents[agent] = {
            "seeds": [j["seed"] for j in jobs],
            "budget": jobs[0]["budget"],
            "after": after,
            "first_reached": {
                f"{bar:g}": [first_reached(j, bar) for j in jobs] for bar in MATCHED_BARS
            },
        }
    return {
        "task": task.name,
        "fixed_budgets": budgets,
        "matched_bars": list(MATCHED_BARS),
        "shared_grid": "eval_points_per_decade" in size,
        "counts_deaths": "total_training_deaths" in task.summary_keys,
        "agents": agents,
    }


def write_fixed_budget(run: RunData) -> list[Path]:
    """``fixed_budget.json`` and ``fixed_budget.csv`` of the run."""
    data = fixed_budget(run)
    json_path, csv_path = run.folder / "fixed_budget.json", run.folder / "fixed_budget.csv"
    write_json(json_path, data)
    with csv_path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for agent, entry in data["agents"].items():
            moments = [
                (f"{n} trials", entry["after"][str(n)]["seeds"]) for n in data["fixed_budgets"]
            ]
            moments += [
                (f"{100 * bar:.0f} % success", entry["first_reached"][f"{bar:g}"])
                for bar in MATCHED_BARS
            ]
            for moment, readings in moments:
                for seed, reading in zip(entry["seeds"], readings, strict=True):
                    low, high = reading.get("wilson", ("", ""))
                    row = {k: v for k, v in reading.items() if k != "wilson"}
                    writer.writerow(
                        {
                            "agent": agent,
                            "seed": seed,
                            "budget": entry["budget"],
                            "moment": moment,
                            **row,
                            "success_low": low,
                            "success_high": high,
                        }
                    )
    return [json_path, csv_path]


def shown_budgets(data: dict[str, Any]) -> list[int]:
    """The fixed budgets the table shows: those within the run's largest budget, and the
    first at least (a run of agents that stop within a few trials, as the planners do, is
    read there: reliable, they stopped, and their last evaluation stands)."""
    largest = max((entry["budget"] for entry in data["agents"].values()), default=0)
    within = [n for n in data["fixed_budgets"] if n <= largest]
    return within or list(data["fixed_budgets"][:1])


def success_cell(figures: dict[str, Any], trials: int) -> str:
    """Held-out success after ``trials``: median [interval] over seeds, the pooled Wilson
    interval, and the trial counts read at when they are not ``trials``."""
    readings, together = figures["seeds"], figures["pooled"]
    if together is None:
        return "n/a"
    low, high = together["wilson"]
    text = f"{format_rates([r['success_rate'] for r in readings])}; pooled "
    text += f"{100 * low:.0f}-{100 * high:.0f} %"
    counts = sorted({r["read_at"] for r in readings})
    if counts != [trials]:
        ends = dict.fromkeys((counts[0], counts[-1]))  # one count, or the lowest and highest
        text += " (at " + "-".join(format_count(count, None) for count in ends) + ")"
    return text


def deaths_cell(figures: dict[str, Any]) -> str:
    """Training deaths paid by the evaluation read: median [interval] over seeds."""
    if figures["pooled"] is None:
        return "n/a"
    return format_censored([r["training_deaths"] for r in figures["seeds"]], None)


def matched_cell(reached: list[dict[str, Any]]) -> str:
    """Training deaths paid until held-out success first reached a bar, median [interval]
    over seeds; a seed that never reached it counts as above the deaths it paid."""
    bounds = [
        (r["training_deaths"], r["training_deaths"] if r["status"] == "reached" else None)
        for r in reached
    ]
    return format_count_bounds(bounds)


def fixed_budget_table(data: dict[str, Any]) -> str:
    """The fixed-budget table in the printed layout: one row per agent."""
    budgets = shown_budgets(data)
    header = ["agent"] + [f"success after {n:,}" for n in budgets]
    if data["counts_deaths"]:
        header += [f"deaths after {n:,}" for n in budgets]
        header += [f"deaths to {100 * bar:.0f} %" for bar in data["matched_bars"]]
    rows = []
    for agent, entry in data["agents"].items():
        row = [agent] + [success_cell(entry["after"][str(n)], n) for n in budgets]
        if data["counts_deaths"]:
            row += [deaths_cell(entry["after"][str(n)]) for n in budgets]
            row += [
                matched_cell(entry["first_reached"][f"{bar:g}"]) for bar in data["matched_bars"]
            ]
        rows.append(row)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def fixed_budget_note(data: dict[str, Any]) -> str:
    """How to read the fixed-budget table, in a few sentences."""
    text = (
        "Fixed budgets, in the training world: held-out success after N training trials, the "
        "median over seeds [interval as above]; pooled: all seeds' held-out episodes together, "
        "with the 95 % Wilson interval of that pooled rate (an interval for these seeds' "
        "episodes, not for the algorithm: it leaves out the spread between seeds)."
    )
    if data["counts_deaths"]:
        text += (
            " Deaths after N: training deaths by then; deaths to 50 % (90 %): until held-out "
            "success first reached it, '> D' for a seed that never did (D: its deaths in its "
            "whole budget), 'a..b' for a figure such seeds leave between a and b."
        )
    text += (
        " Each seed is read at its last evaluation at or before N, '(at T)' when that was "
        "after T trials: a learner that stops at rollout boundaries, read no earlier than the "
        "grid's point before N, or an agent that became reliable and stopped training; n/a "
        "beyond an agent's budget or with no evaluation that close."
    )
    if not data["shared_grid"]:
        text += (
            " This run predates the grid shared by every agent: each was evaluated at "
            "log-spaced points of its own budget, so most cells are read at an earlier point."
        )
    return text
