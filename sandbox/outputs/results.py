"""A run's folder: ``config.json``, ``jobs/<agent>-seed<k>.json`` (one per finished
job), ``summary.json``, ``evaluations.csv`` and the plots.

Jobs are written the moment they finish, so an interrupted run keeps them; the
summary, table and plots are derived from the job files alone.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agents.plugins import import_module
from sandbox.outputs.stats import (
    Bounds,
    format_censored,
    format_count_bounds,
    format_fractions,
    format_rates,
    ratio_bounds,
    wilson_interval,
)

#: the lower bar of the second relearn fraction (held-out success)
HALF_BAR = 0.5
#: each ratio of a summary: its numerator and denominator, both censored at the new
#: world's budget
RATIOS = {
    "relearn_fraction": ("transfer_trials_to_reliable", "scratch_trials_to_reliable"),
    "relearn_fraction_half": ("transfer_trials_to_half", "scratch_trials_to_half"),
}
#: per-seed keys every summary carries, per agent
SEED_KEYS = ("trials_to_first_success", "trials_to_reliable", "final_success_rate")
CSV_COLUMNS = (
    "phase",
    "agent",
    "seed",
    "trials",
    "success_rate",
    "success_low",  # the 95 % Wilson interval of the held-out success
    "success_high",
    "validation_success_rate",
    "eval_episodes",
    "eval_deaths",
    "training_successes",
    "training_deaths",
    "training_steps",
    "wall_time_s",
)


def write_json(path: Path, data: Any, compact: bool = False) -> None:
    """Write ``data`` whole or not at all; ``compact`` (job files, with their traces) leaves
    out the indentation, about a third of the size; otherwise indented, with each list of
    plain values (a seed's figures, a row of a grid) on one line."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(
        (json.dumps(data, separators=(",", ":")) if compact else readable_json(data)) + "\n"
    )
    tmp.replace(path)


def without_episodes(job: dict[str, Any]) -> dict[str, Any]:
    """The job's result without the paths of its saved episodes (``traces``, and its
    transfer's ``traces`` and ``zero_shot_traces``): every figure, none of the pictures.
    A ``--full`` run keeps them for seed 0 alone, the seed its pictures and animations
    draw, so that a reference's job files stay small enough to commit."""
    slim = {key: value for key, value in job.items() if key != "traces"}
    if isinstance(job.get("transfer"), dict):
        slim["transfer"] = {
            key: value
            for key, value in job["transfer"].items()
            if key not in ("traces", "zero_shot_traces")
        }
    return slim


def readable_json(value: Any, level: int = 0) -> str:
    """``value`` as JSON indented by one space a level, each list of plain values on one
    line."""
    pad = " " * (level + 1)
    if isinstance(value, dict) and value:
        items = (
            # json's own text for a key (1 -> "1", True -> "true"; a tuple: TypeError)
            f"{pad}{json.dumps({k: 0})[1:-4]}: {readable_json(v, level + 1)}"
            for k, v in value.items()
        )
        return "{\n" + ",\n".join(items) + "\n" + pad[:-1] + "}"
    if isinstance(value, list | tuple) and any(isinstance(v, dict | list | tuple) for v in value):
        items = (pad + readable_json(v, level + 1) for v in value)
        return "[\n" + ",\n".join(items) + "\n" + pad[:-1] + "]"
    return json.dumps(value)


def job_path(run_dir: Path, phase: str, agent: str, seed: int) -> Path:
    """The job's file; an agent named by a path or ``module:Class`` gets a file-safe name."""
    return run_dir / "jobs" / f"{phase}-{re.sub(r'[^A-Za-z0-9_.-]+', '_', agent)}-seed{seed}.json"


def load_plugins(config: dict[str, Any]) -> None:
    """Import the plug-in modules a run recorded (its task, study or agents may live there)."""
    for plugin in config.get("plugins", []):
        import_module(plugin)


def load_jobs(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in sorted((run_dir / "jobs").glob("*.json"))]


def summarise(
    jobs: list[dict[str, Any]], agent_order: list[str], extra_keys: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Per agent: each per-seed figure as a list over seeds (``null`` where censored).

    With transfer, also the ``transfer_*`` figures (continued training in the new
    world), the ``scratch_*`` figures (a fresh agent there) and ``relearn_fraction``
    (continued-training trials to reliable / from-scratch trials to reliable, per seed;
    ``null`` when either is censored), and ``relearn_fraction_half``, the same to 50 %
    held-out success.
    """
    summary: dict[str, Any] = {}
    for agent in agent_order:
        mine = sorted(
            (j for j in jobs if j["agent"] == agent and j["phase"] == "train"),
            key=lambda j: j["seed"],
        )
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
        if any("reliable_held_on_test" in j for j in mine):  # jobs since the validation split
            entry["reliable_held_on_test"] = [j.get("reliable_held_on_test") for j in mine]
        entry["censored"] = {
            key: sum(v is None for v in entry[key])
            for key in ("trials_to_first_success", "trials_to_reliable")
        }
        if all("transfer" in j for j in mine):
            entry.update(transfer_figures(mine, jobs, agent, extra_keys))
        summary[agent] = entry
    return summary


def transfer_figures(
    mine: list[dict[str, Any]], jobs: list[dict[str, Any]], agent: str, extra_keys: tuple[str, ...]
) -> dict[str, Any]:
    scratch = {j["seed"]: j for j in jobs if j["agent"] == agent and j["phase"] == "scratch"}
    figures: dict[str, Any] = {
        "transfer_budget": mine[0]["transfer"]["budget"],
        # Seeds whose from-scratch job has not run (an interrupted run): their scratch_*
        # values and relearn_fraction are null for that reason, not censored.
        "scratch_seeds_missing": [j["seed"] for j in mine if j["seed"] not in scratch],
        "transfer_zero_shot_success": [j["transfer"]["zero_shot_success"] for j in mine],
        "transfer_zero_shot_deaths_per_episode": [
            j["transfer"]["zero_shot_deaths_per_episode"] for j in mine
        ],
        "transfer_trials_to_reliable": [j["transfer"]["trials_to_reliable"] for j in mine],
        "transfer_final_success_rate": [j["transfer"]["final_success_rate"] for j in mine],
        "scratch_trials_to_reliable": [
            scratch[j["seed"]]["trials_to_reliable"] if j["seed"] in scratch else None for j in mine
        ],
        "scratch_final_success_rate": [
            scratch[j["seed"]]["final_success_rate"] if j["seed"] in scratch else None for j in mine
        ],
    }
    if "deaths_to_reliable" in extra_keys:
        figures["transfer_deaths_to_reliable"] = [j["transfer"]["deaths_to_reliable"] for j in mine]
        figures["transfer_total_training_deaths"] = [
            j["transfer"]["total_training_deaths"] for j in mine
        ]
        # Zero-shot episodes included: the transfer stage's first evaluation is the zero-shot one.
        figures["transfer_total_evaluation_deaths"] = [
            j["transfer"]["total_evaluation_deaths"] for j in mine
        ]
        figures["scratch_deaths_to_reliable"] = [
            scratch[j["seed"]]["deaths_to_reliable"] if j["seed"] in scratch else None for j in mine
        ]
        figures["transfer_deaths_total"] = [
            a + b
            for a, b in zip(
                figures["transfer_total_training_deaths"],
                figures["transfer_total_evaluation_deaths"],
                strict=True,
            )
        ]
        if all("warm_up_training_deaths" in j["transfer"] for j in mine):  # jobs since the split
            for key in ("warm_up_trials", "warm_up_training_deaths", "learning_training_deaths"):
                figures[f"transfer_{key}"] = [j["transfer"][key] for j in mine]
    figures["relearn_fraction"] = [
        relearn_fraction(cont, fresh)
        for cont, fresh in zip(
            figures["transfer_trials_to_reliable"],
            figures["scratch_trials_to_reliable"],
            strict=True,
        )
    ]
    # The same ratio at a lower bar, read from the saved curves: an agent that learns the new
    # world but levels off just under the reliable bar still has a measured relearn cost.
    figures["transfer_trials_to_half"] = [
        trials_to(j["transfer"]["evaluations"], HALF_BAR) for j in mine
    ]
    figures["scratch_trials_to_half"] = [
        trials_to(scratch[j["seed"]]["evaluations"], HALF_BAR) if j["seed"] in scratch else None
        for j in mine
    ]
    figures["relearn_fraction_half"] = [
        relearn_fraction(cont, fresh)
        for cont, fresh in zip(
            figures["transfer_trials_to_half"], figures["scratch_trials_to_half"], strict=True
        )
    ]
    return figures


def trials_to(rows: list[dict[str, Any]], bar: float) -> int | None:
    """The first evaluation point at which held-out success reached ``bar`` (None: never)."""
    return next((row["trials"] for row in rows if row["success_rate"] >= bar), None)


def relearn_fraction(continued: int | None, scratch: int | None) -> float | None:
    """Continued-training cost over from-scratch cost; None when either is censored (the
    tables then read its bound from the two figures: ``fraction_bounds``)."""
    if continued is None or scratch is None or scratch == 0:
        return None
    return round(continued / scratch, 4)


def fraction_bounds(entry: dict[str, Any], key: str) -> list[Bounds]:
    """Per seed, what a ratio of the summary is known to be: its value where both of its
    figures were reached, else the bound the censored one gives (``ratio_bounds``)."""
    numerator, denominator = RATIOS.get(key, ("", ""))
    if numerator not in entry or denominator not in entry:  # only the ratios were kept
        return [(0.0, None) if v is None else (v, v) for v in entry[key]]
    budget = float(entry["transfer_budget"])
    return [
        ratio_bounds(top, bottom, budget)
        for top, bottom in zip(entry[numerator], entry[denominator], strict=True)
    ]


def write_csv(path: Path, jobs: list[dict[str, Any]]) -> None:
    """One row per agent, seed, phase and evaluation point. Phases: ``train`` (the task's
    world), ``transfer`` (the same agent, continued in the new world; trials counted
    from its arrival there, 0 = zero-shot) and ``scratch`` (a fresh agent there). Each row's
    held-out success comes with its 95 % Wilson interval (``success_low`` to ``success_high``)."""
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for job in sorted(jobs, key=lambda j: (j["phase"], j["agent"], j["seed"])):
            stages = [(job["phase"], job["evaluations"])]
            if "transfer" in job:
                stages.append(("transfer", job["transfer"]["evaluations"]))
            for phase, rows in stages:
                for row in rows:
                    episodes = row["eval_episodes"]
                    low, high = wilson_interval(round(row["success_rate"] * episodes), episodes)
                    writer.writerow(
                        {
                            "phase": phase,
                            "agent": job["agent"],
                            "seed": job["seed"],
                            **row,
                            "success_low": round(low, 4),
                            "success_high": round(high, 4),
                        }
                    )


def table(summary: dict[str, Any], columns: Sequence[tuple[str, str, str]]) -> str:
    """The printed table: median [range] over seeds; censored values shown as "> budget". A
    column no agent has the figure for (a run saved before the figure was measured) is left
    out."""
    columns = [column for column in columns if any(column[1] in e for e in summary.values())]
    header = ["agent", "seeds"] + [title for title, _, _ in columns]
    rows = []
    for agent, entry in summary.items():
        rows.append(
            [agent, str(len(entry["seeds"]))]
            + [format_cell(entry, key, kind) for _, key, kind in columns]
        )
    return text_table(header, rows)


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """The printed layout every table of a run shares (``markdown_table`` reads it back):
    columns padded to their widest cell, a rule of dashes under the header."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def format_cell(entry: dict[str, Any], key: str, kind: str) -> str:
    """One agent's figure over seeds, as a table shows it: median [interval], censored
    parts as "> budget"; ``kind`` is "rate", "fraction", "count", "deaths" (deaths until a
    figure some seeds never reached), "held" (reliable seeds whose streak held on the test
    set), "trials" or "transfer-trials"."""
    values = entry.get(key)
    if values is None:
        return "-"
    missing = set(entry.get("scratch_seeds_missing", ()))
    counts_missing = bool(missing) and (
        key.startswith("scratch_") or key.startswith("relearn_fraction")
    )
    kept = [seed not in missing for seed in entry["seeds"]] if counts_missing else None
    if kept is not None:  # a seed whose fresh agent has not run is left out, not censored
        values = [v for v, keep in zip(values, kept, strict=True) if keep]
    if kind == "rate":
        text = format_rates([v for v in values if v is not None])
    elif kind == "fraction":
        bounds = fraction_bounds(entry, key)
        if kept is not None:
            bounds = [b for b, keep in zip(bounds, kept, strict=True) if keep]
        text = format_fractions(bounds)
    elif kind == "count":
        text = format_counts(values)
    elif kind == "deaths":
        text = format_count_bounds(death_bounds(entry, key))
    elif kind == "held":
        text = format_held(values)
    elif kind in ("trials", "transfer-trials"):
        text = format_censored(values, budget_of(entry, kind))
    else:
        raise ValueError(
            f"unknown kind of figure {kind!r} (rate, fraction, count, deaths, held, trials, "
            "transfer-trials)"
        )
    if counts_missing:
        text = (
            f"({len(missing)} of {len(entry['seeds'])} not run)"
            if not values
            else f"{text} ({len(missing)} not run)"
        )
    return text


def budget_of(entry: dict[str, Any], kind: str) -> int | None:
    """The budget a censored figure of this kind stands at: the training budget for
    "trials", the new world's for "transfer-trials", none for other kinds."""
    return {"trials": entry["budget"], "transfer-trials": entry.get("transfer_budget")}.get(kind)


def censored_note(summary: dict[str, Any]) -> str:
    """Which agents never became reliable on some seed, in words."""
    parts = []
    for agent, entry in summary.items():
        n = entry["censored"]["trials_to_reliable"]
        if n:
            parts.append(
                f"{agent} ({n} of {len(entry['seeds'])} seeds, budget {entry['budget']:,} trials)"
            )
    if not parts:
        return "Every agent became reliable on every seed."
    return "Censored (never reliable within the budget): " + ", ".join(parts) + "."


#: per deaths-until figure, the figure whose seeds' total it is censored at where the seed
#: never got there (the deaths it paid in its whole budget)
DEATHS_CENSORED_AT = {
    "deaths_to_first_success": "total_training_deaths",
    "deaths_to_reliable": "total_training_deaths",
    "transfer_deaths_to_reliable": "transfer_total_training_deaths",
}


def death_bounds(entry: dict[str, Any], key: str) -> list[Bounds]:
    """Per seed, what the deaths until a figure are known to be: the count where the seed got
    there, else above the deaths it paid in its whole budget (no upper bound)."""
    totals = entry.get(DEATHS_CENSORED_AT.get(key, ""))
    if totals is None:
        raise ValueError(f"{key!r}: no total deaths to censor it at")
    return [
        (float(value), float(value)) if value is not None else (float(total), None)
        for value, total in zip(entry[key], totals, strict=True)
    ]


def format_held(values: list[bool | None]) -> str:
    """Of the seeds that became reliable on the validation set, how many held on the test
    set at the same two points ("-" when none became reliable)."""
    reliable = [value for value in values if value is not None]
    if not reliable:
        return "-"
    return f"{sum(reliable)} of {len(reliable)}"


def format_counts(values: list[float | None]) -> str:
    """Counts (deaths) over seeds; a seed that never got there shows as "n/a"."""
    known = [v for v in values if v is not None]
    if not known:
        return "n/a"
    text = format_censored(known, None)
    missing = len(values) - len(known)
    return text + (f" ({missing} n/a)" if missing else "")
