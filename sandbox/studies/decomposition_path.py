"""The decomposition read along one path from SAC to the planner, seed by seed.

The pairs' medians do not add up: a median of ratios over seeds is no share of the median
distance. Along a path of neighbouring cells (each step one pair of ``PAIRS``) the whole
distance of one seed, the log of SAC's trials to reliable over the planner's, is the sum of
its steps' logs; each step's share of it is what that factor is worth on that seed, and the
shares of one seed add up to 100 % (a step that cost trials is negative, and another then
goes past 100 %). Where a cell on the path was never reliable its trials are only bounded,
so the steps on either side of it are read together; where SAC or the planner was never
reliable the whole distance is only bounded, and that seed gives no shares.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from sandbox.outputs.run_data import RunData, seeds_label
from sandbox.outputs.stats import coverage_words, format_median, interval_note
from sandbox.pictures.drawing import color, save_figure, wrap_to_width

#: how a step read together with the one before it shows in the table
JOINED = "(joined)"


def step_factors(path: Sequence[str], pairs: Sequence[Any]) -> list[str]:
    """The factor of each step of ``path``: the pair whose cells the step joins."""
    factor = {(pair.start, pair.end): pair.factor for pair in pairs}
    missing = [step for step in itertools.pairwise(path) if step not in factor]
    if missing:
        raise ValueError(f"the path's step {missing[0][0]} -> {missing[0][1]} is no pair")
    return [factor[step] for step in itertools.pairwise(path)]


def seed_shares(trials: Sequence[float | None]) -> list[float | None] | None:
    """One seed's share of its whole distance per step (trials to reliable along the path,
    ``None`` where never reliable): a step read together with the one before it is ``None``,
    its share counted in that one. ``None`` where an end of the path was never reliable, or
    both ends took the same trials (no distance to split). A count of 0 trials is read as 1
    (a log has no 0)."""
    trials = [None if value is None else max(value, 1) for value in trials]
    first, last = trials[0], trials[-1]
    if first is None or last is None or first == last:
        return None
    whole = math.log(first / last)
    shares: list[float | None] = []
    known = 0  # the last cell whose trials are known
    for index in range(1, len(trials)):
        if trials[index] is None:
            continue
        shares.append(math.log(trials[known] / trials[index]) / whole)
        shares.extend([None] * (index - known - 1))
        known = index
    return shares


def summarise_path(
    cells: dict[str, dict[str, Any]], path: Sequence[str], pairs: Sequence[Any]
) -> dict[str, Any] | None:
    """The path's cells and factors and, per seed every cell of it ran, its cells' trials to
    reliable and the shares of its steps; None unless every cell of the path ran."""
    if any(label not in cells for label in path):
        return None
    seeds = sorted(set.intersection(*(set(cells[label]["seeds"]) for label in path)))
    rows = []
    for seed in seeds:
        trials = [
            cells[label]["trials_to_reliable"][cells[label]["seeds"].index(seed)] for label in path
        ]
        rows.append({"seed": seed, "trials_to_reliable": trials, "shares": seed_shares(trials)})
    return {
        "cells": list(path),
        "factors": step_factors(path, pairs),
        "budgets": [cells[label]["budget"] for label in path],
        "seeds": rows,
    }


def share_words(share: float) -> str:
    return f"{100 * share:+.0f} %"


def path_table(path: dict[str, Any]) -> tuple[str, list[str], list[list[str]]]:
    """The path's table: its title, header and rows (one per seed, then the medians)."""
    factors = path["factors"]
    header = ["seed", f"{path['cells'][0]}'s trials", f"{path['cells'][-1]}'s", *factors]
    rows = []
    for row in path["seeds"]:
        first, last = row["trials_to_reliable"][0], row["trials_to_reliable"][-1]
        ends = [
            f"> {path['budgets'][0]:,}" if first is None else f"{first:,}",
            f"> {path['budgets'][-1]:,}" if last is None else f"{last:,}",
        ]
        if row["shares"] is None:
            shares = ["-"] * len(factors)
        else:
            shares = [JOINED if s is None else share_words(s) for s in row["shares"]]
            # a step read with the one before it: the one before says so
            shares = [
                text + " +" if i + 1 < len(shares) and shares[i + 1] == JOINED else text
                for i, text in enumerate(shares)
            ]
        rows.append([str(row["seed"]), *ends, *shares])
    rows.append(["median", "", "", *(median_share(path, i) for i in range(len(factors)))])
    counts = [len(span[1]) for i in range(len(factors)) if (span := median_span(path, i))]
    steps = "".join(
        f"{cell} -({factor})-> " for cell, factor in zip(path["cells"], factors, strict=False)
    )
    title = (
        f"Decomposition along one path, {steps}{path['cells'][-1]}: per seed, each step's "
        "share of the whole distance (the log of the first cell's trials to reliable over the "
        "last's); a seed's shares add up to 100 %, a step that cost trials is negative. "
        f'"+" then "{JOINED}": read together, as the cell between them was never reliable; '
        '"-": an end of the path never reliable (the distance unknown) or both ends equal. The '
        "medians are over "
        'the seeds where that step stands alone (else, marked " +", of the steps read '
        "together from it on the most seeds), and need not add up to 100 %; their brackets: "
        + interval_note(counts)
    )
    return title, header, rows


def segments(shares: list[float | None]) -> list[tuple[int, int, float]]:
    """One seed's shares as (first step, step after the last, share): a step alone, or steps
    read together."""
    out = []
    for step, share in enumerate(shares):
        if share is None:
            continue
        last = step + 1
        while last < len(shares) and shares[last] is None:
            last += 1
        out.append((step, last, share))
    return out


def span_shares(path: dict[str, Any]) -> dict[tuple[int, int], list[float]]:
    """Per span of steps (first, after the last), the shares of the seeds that read those
    steps, and only those, together (a step alone: a span of one)."""
    spans: dict[tuple[int, int], list[float]] = {}
    for row in path["seeds"]:
        for first, last, share in segments(row["shares"] or []):
            spans.setdefault((first, last), []).append(share)
    return dict(sorted(spans.items()))


def median_words(shares: list[float]) -> str:
    return format_median(shares, lambda s: f"{100 * s:+.0f}", " %")


def median_span(path: dict[str, Any], step: int) -> tuple[int, list[float]] | None:
    """The span starting at ``step`` that the most seeds read (the step alone on a tie), as
    (step after its last, the seeds' shares); None where no seed's span starts there."""
    starting = [
        (last, shares) for (first, last), shares in span_shares(path).items() if first == step
    ]
    if not starting:
        return None
    return max(starting, key=lambda span: (len(span[1]), span[0] == step + 1))


def median_share(path: dict[str, Any], step: int) -> str:
    """The median row's column ``step``: the median share of ``median_span`` and its count of
    seeds (steps read together marked " +"), "-" where none."""
    span = median_span(path, step)
    if span is None:
        return "-"
    last, shares = span
    return f"{median_words(shares)} ({len(shares)})" + (" +" if last > step + 1 else "")


def path_paragraph(path: dict[str, Any]) -> str | None:
    """The path's finding: the median share of each step, or of steps read together, over
    the seeds that read them so; None where no seed's distance is known."""
    known = [row for row in path["seeds"] if row["shares"] is not None]
    if not known:
        return None
    parts = []
    for (first, last), shares in span_shares(path).items():
        factors = path["factors"][first:last]
        name = factors[0] if len(factors) == 1 else " and ".join(factors) + " together"
        seeds = f"{len(shares)} seed{'s' if len(shares) > 1 else ''}"
        if len(shares) > 1:
            seeds += f", {coverage_words([len(shares)]).split(' with ')[0]}"
        parts.append(f"{name} {median_words(shares)} ({seeds})")
    return (
        f"**Decomposition along one path** ({' -> '.join(path['cells'])}; on {len(known)} of "
        f"{len(path['seeds'])} seeds both ends were reliable, a distance apart): the median "
        "share of it each step took, with its interval, over the seeds "
        "where the step stands alone, and of steps read together over the seeds where the "
        "cell between them was never reliable: " + "; ".join(parts) + ". Shares are per "
        "seed, and their medians need not add up to 100 %."
    )


def plot_path(run: RunData) -> Path | None:
    """Per seed, the trials to reliable of each cell of the path on a log axis, joined by a
    line: each drop is what that step's factor saved on that seed."""
    found = run.summary_file.get("decomposition") or {}
    path = found.get("path")
    if not path or not path["seeds"]:
        return None
    figure, axes = plt.subplots(figsize=(10, 5.2), layout="constrained")
    x = np.arange(len(path["cells"]))
    for row in path["seeds"]:
        known = [(xi, v) for xi, v in zip(x, row["trials_to_reliable"], strict=True) if v]
        for (x0, v0), (x1, v1) in itertools.pairwise(known):
            # a step over a cell never reliable: dashed, the steps beside it read together
            style = "-" if x1 == x0 + 1 else "--"
            axes.plot([x0, x1], [v0, v1], style, color="0.6", lw=1, alpha=0.7, zorder=1)
        for xi, value, label in zip(x, row["trials_to_reliable"], path["cells"], strict=True):
            shade = color(found["cells"][label]["agent"])
            if value is None:
                budget = path["budgets"][xi]
                axes.plot(xi, budget, "^", mfc="white", mec=shade, ms=6, zorder=2)
            else:
                axes.plot(xi, value, "o", color=shade, ms=4, alpha=0.8, zorder=2)
    for xi, budget in enumerate(path["budgets"]):
        axes.plot([xi - 0.3, xi + 0.3], [budget, budget], color="0.8", lw=4, zorder=0)
    axes.set_xticks(x, path["cells"], fontsize=8)
    for xi, factor in enumerate(path["factors"]):
        axes.text(xi + 0.5, 0.02, factor, transform=axes.get_xaxis_transform(), ha="center")
    axes.set_yscale("log")
    axes.set_ylabel("training launches to reliable (log scale)")
    axes.grid(alpha=0.3, which="both", axis="y")
    title = (
        f"SAC to the planner along one path, seed by seed ({seeds_label(len(path['seeds']))}): "
        "each line one seed, each drop what that step's factor saved it (its share of the "
        "seed's whole drop); grey bar: a cell's budget, open triangle at it: never reliable "
        "within it (a dashed line passes over that cell: the steps beside it read together)"
    )
    axes.set_title(wrap_to_width(title, axes, 9), fontsize=9)
    return save_figure(figure, run.folder / "decomposition_path.png", dpi=100)
