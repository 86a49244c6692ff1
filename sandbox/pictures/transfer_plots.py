"""Plots of a run with a transfer world: success in both worlds, and the transfer chart."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from sandbox.outputs.reference import reference_of
from sandbox.outputs.run_data import RunData, value_at
from sandbox.outputs.stats import censored_median
from sandbox.pictures.drawing import color, success_curves, transfer_reference_curves


def plot_both_worlds(run: RunData, names: tuple[str, str]) -> Path:
    """Success against trials in the training world, and in the new one (continued and from
    scratch)."""
    jobs, summary = run.jobs, run.summary
    bar = next(iter(summary.values()))["reliable_bar"]
    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 5), sharey=True)
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
            label = f"{agent}, {'continued' if phase == 'transfer' else 'from scratch'}"
            right.plot(
                points,
                np.median(rates, axis=0),
                style,
                color=color(agent),
                label=label,
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
        f"{names[1]}: agents trained in {names[0]} (solid) against fresh agents (dashed)",
        fontsize=10,
    )
    right.grid(alpha=0.3, which="both")
    right.legend(fontsize=7, loc="lower right", ncol=2)
    figure.suptitle("Held-out success against training trials, median over seeds", fontsize=10)
    figure.tight_layout()
    path = run.folder / "success_both_worlds.png"
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def plot_transfer_chart(run: RunData, names: tuple[str, str]) -> Path:
    """Zero-shot success in the new world beside success at home; trials to reliable there,
    continued against from scratch (censored bars hatched, drawn at the budget)."""
    summary = run.summary
    agents = [a for a, e in summary.items() if "relearn_fraction" in e]
    x = np.arange(len(agents))
    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8))
    home = [np.median(summary[a]["final_success_rate"]) for a in agents]
    zero = [np.median(summary[a]["transfer_zero_shot_success"]) for a in agents]
    left.bar(x - 0.2, home, 0.4, label=f"in {names[0]} (end of training)", color="0.6")
    left.bar(x + 0.2, zero, 0.4, label=f"in {names[1]}, zero-shot", color="tab:red")
    left.set_xticks(x, agents)
    left.set_ylim(0, 1.05)
    left.set_ylabel("held-out success (median over seeds)")
    left.legend(fontsize=8)
    left.set_title("Dropped into the new world without training", fontsize=10)
    for offset, key, label, shade in (
        (-0.2, "transfer_trials_to_reliable", "continued (trained at home first)", "tab:blue"),
        (0.2, "scratch_trials_to_reliable", "from scratch", "0.5"),
    ):
        for i, agent in enumerate(agents):
            entry = summary[agent]
            median = censored_median(entry[key])
            budget = entry["transfer_budget"]
            height = budget if median is None else max(median, 0.5)
            right.bar(
                i + offset,
                height,
                0.4,
                color=shade,
                hatch="//" if median is None else None,
                alpha=0.5 if median is None else 1.0,
                label=label if i == 0 else None,
            )
            right.text(
                i + offset,
                height * 1.1,
                f"> {budget:,}" if median is None else f"{median:,.0f}",
                ha="center",
                fontsize=7,
            )
    right.set_yscale("log")
    right.set_xticks(x, agents)
    right.set_ylabel(f"trials to reliable in {names[1]} (median; hatched = censored)")
    fractions = []
    for agent in agents:
        known = [f for f in summary[agent]["relearn_fraction"] if f is not None]
        fractions.append(f"{agent} {np.median(known):.2f}" if known else f"{agent} censored")
    right.set_title("Cost of becoming reliable in the new world", fontsize=10)
    right.legend(fontsize=8)
    figure.suptitle(
        "Relearn fraction (continued / from scratch, median): " + ", ".join(fractions), fontsize=10
    )
    figure.tight_layout()
    path = run.folder / "transfer.png"
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
