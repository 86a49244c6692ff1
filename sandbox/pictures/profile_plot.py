"""The performance profile plot of a run (``sandbox.outputs.profiles``): per agent, the
share of seeds whose final held-out success exceeds each threshold, with its exact band."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from sandbox.outputs.profiles import TAUS, final_success, performance_profiles
from sandbox.outputs.run_data import RunData
from sandbox.pictures.drawing import color, save_figure


def plot_profiles(run: RunData) -> Path | None:
    """``performance_profile.png``: drawn when some agent has two seeds or more (with one seed
    a profile is a single step and its band says nothing)."""
    scores = final_success(run.summary)
    if not any(len(s) > 1 for s in scores.values()):
        return None
    profiles = performance_profiles(scores)
    figure, axes = plt.subplots(figsize=(8, 5), layout="constrained")
    for agent, profile in profiles.items():
        axes.step(
            100 * TAUS, profile.share, where="post", color=color(agent), label=agent, linewidth=1.6
        )
        axes.fill_between(
            100 * TAUS, profile.low, profile.high, step="post", color=color(agent), alpha=0.15
        )
    axes.set_xlim(0, 100)
    axes.set_ylim(-0.03, 1.03)
    axes.set_xlabel("held-out success rate at the end of the agent's budget, tau (%)")
    axes.set_ylabel("share of seeds with success above tau")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8, ncol=2)
    seeds = sorted({p.seeds for p in profiles.values()})
    axes.set_title(
        "Performance profiles: each agent's seeds by final held-out success "
        f"({'-'.join(map(str, (seeds[0], seeds[-1]) if len(seeds) > 1 else seeds))} seeds; band: "
        "exact 95 % interval of the share, Clopper-Pearson)",
        fontsize=9,
    )
    path = run.folder / "performance_profile.png"
    return save_figure(figure, path, dpi=110)
