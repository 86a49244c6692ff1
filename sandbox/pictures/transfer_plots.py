"""Plots of a run with a transfer world: success in both worlds, and the transfer chart."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from sandbox.outputs.reference import reference_of
from sandbox.outputs.results import format_cell
from sandbox.outputs.run_data import RunData, value_at
from sandbox.outputs.stats import censored_median
from sandbox.pictures.drawing import (
    color,
    save_figure,
    success_curves,
    transfer_reference_curves,
    wrap_to_width,
)


def plot_both_worlds(run: RunData, names: tuple[str, str]) -> Path:
    """Success against trials in the training world, and in the new one (continued and from
    scratch)."""
    jobs, summary = run.jobs, run.summary
    bar = next(iter(summary.values()))["reliable_bar"]
    figure, (left, right) = plt.subplots(1, 2, figsize=(14, 5.4), sharey=True, layout="constrained")
    train_jobs = [j for j in jobs if j["phase"] == "train"]
    success_curves(left, run, train_jobs, bar, reference_of(run))
    left.set_title(f"{names[0]}: training from scratch", fontsize=10)
    for agent in summary:
        for phase, style in (("transfer", "-"), ("scratch", "--")):
            if phase == "transfer":
                mine = [
                    j["transfer"]["evaluations"]
                    for j in train_jobs
                    if j["agent"] == agent and "transfer" in j
                ]
            else:
                mine = [
                    j["evaluations"]
                    for j in jobs
                    if j["agent"] == agent and j["phase"] == "scratch"
                ]
            if not mine:
                continue
            points = sorted({row["trials"] for rows in mine for row in rows})
            rates = np.array([[value_at(rows, p, "success_rate") for p in points] for rows in mine])
            right.plot(
                points,
                np.median(rates, axis=0),
                style,
                color=color(agent),
                marker="o" if phase == "transfer" and points[0] == 0 else None,
                markevery=[0],
                markersize=6,
            )
    transfer_reference_curves(right, run, reference_of(run, transfer=True))
    right.axhline(bar, color="k", ls=":", lw=1)
    right.set_xscale("symlog", linthresh=1)
    right.set_xlim(left=0)
    right.set_xlabel(f"training trials in {names[1]} (symlog; 0 = zero-shot, the dot)")
    right.set_title(
        wrap_to_width(
            f"{names[1]}: agents trained in {names[0]} (solid) against fresh agents (dashed)",
            right,
            10,
        ),
        fontsize=10,
    )
    right.grid(alpha=0.3, which="both")
    # The colours are the left legend's; this one says what the line styles mean, beside
    # the axes where it covers no line.
    right.legend(
        handles=[
            Line2D([], [], color="0.3", marker="o", label="zero-shot (0 trials there)"),
            Line2D([], [], color="0.3", label=f"continued (trained in {names[0]} first)"),
            Line2D([], [], color="0.3", ls="--", label="from scratch"),
        ],
        title="colours: agents, as on the left",
        title_fontsize=8,
        fontsize=8,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
    )
    figure.suptitle("Held-out success against training trials, median over seeds", fontsize=10)
    path = run.folder / "success_both_worlds.png"
    return save_figure(figure, path, dpi=110)


def plot_transfer_chart(run: RunData, names: tuple[str, str]) -> Path:
    """Zero-shot success in the new world beside success at home; trials to reliable there,
    continued against from scratch (censored bars hatched, drawn at the budget). Every bar
    has its number written on it, so a zero reads as zero; the trials are on a symlog axis,
    linear from 0 to 1, where a log axis has no zero."""
    summary = run.summary
    agents = [a for a, e in summary.items() if "relearn_fraction" in e]
    x = np.arange(len(agents))
    figure, (left, right) = plt.subplots(
        1, 2, figsize=(max(13, 2 * (1.0 * len(agents) + 1)), 5.6), layout="constrained"
    )
    home = [100 * np.median(summary[a]["final_success_rate"]) for a in agents]
    zero = [100 * np.median(summary[a]["transfer_zero_shot_success"]) for a in agents]
    for offset, values, shade in ((-0.2, home, "0.6"), (0.2, zero, "tab:red")):
        left.bar(x + offset, values, 0.4, color=shade)
        for i, value in enumerate(values):
            left.text(i + offset, value + 1.5, f"{value:.0f}", ha="center", va="bottom", fontsize=8)
    left.set_ylim(0, 112)
    left.set_ylabel("held-out success, % (median over seeds)")
    left.set_title("Dropped into the new world without training", fontsize=10)
    budgets = set()
    for offset, key, shade in (
        (-0.2, "transfer_trials_to_reliable", "tab:blue"),
        (0.2, "scratch_trials_to_reliable", "0.5"),
    ):
        for i, agent in enumerate(agents):
            entry = summary[agent]
            median = censored_median(entry[key])
            budget = entry["transfer_budget"]
            budgets.add(budget)
            height = budget if median is None else median
            right.bar(
                i + offset,
                height,
                0.4,
                color=shade,
                hatch="//" if median is None else None,
                alpha=0.5 if median is None else 1.0,
            )
            # upright above the bar: two neighbours' numbers never run into each other
            right.text(
                i + offset,
                height * 1.15 + 0.05,
                f"> {budget:,}" if median is None else f"{median:,.0f}",
                ha="center",
                va="bottom",
                rotation=90,
                fontsize=8,
            )
    right.set_yscale("symlog", linthresh=1)
    right.set_ylim(0, 15 * max(budgets))
    right.set_ylabel(f"trials to reliable in {names[1]} (median, symlog)")
    right.set_title("Cost of becoming reliable in the new world", fontsize=10)
    for axes in (left, right):
        axes.set_xticks(x, agents, rotation=30, ha="right", rotation_mode="anchor")
        axes.grid(axis="y", alpha=0.3)
    figure.legend(
        handles=[
            Patch(color="0.6", label=f"in {names[0]} (end of training)"),
            Patch(color="tab:red", label=f"in {names[1]}, zero-shot"),
            Patch(color="tab:blue", label=f"continued in {names[1]} (trained in {names[0]} first)"),
            Patch(color="0.5", label=f"from scratch in {names[1]}"),
            Patch(facecolor="0.85", hatch="//", label="hatched: not reliable within the budget"),
        ],
        loc="outside lower center",
        ncol=5,
        fontsize=8,
    )
    # as the transfer table reads it: censored seeds count as the bounds they give
    fractions = [
        f"{agent} {format_cell(summary[agent], 'relearn_fraction', 'fraction')}" for agent in agents
    ]
    title = "Relearn fraction (continued / from scratch, median [interval]): " + ", ".join(
        fractions
    )
    figure.suptitle(wrap_to_width(title, figure, 10), fontsize=10)
    path = run.folder / "transfer.png"
    return save_figure(figure, path, dpi=110)
