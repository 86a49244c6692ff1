"""The survival plot of a run: for each agent, the share of its seeds that have not yet had
a first success, and not yet become reliable, against training trials (Kaplan-Meier, with
censoring at the budget), and the log-rank tests between agents in ``survival.json``."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt

from sandbox.outputs.run_data import RunData, best_learner
from sandbox.outputs.stats import format_p
from sandbox.outputs.survival import EVENTS, kaplan_meier, log_rank_tests, waits
from sandbox.pictures.drawing import color, save_figure, wrap_to_width


def plot_survival(run: RunData) -> Path | None:
    """``survival.png`` and ``survival.json`` of a run (with one seed an agent's curve is a
    single step, and the log-rank tests between agents say little)."""
    if not any(entry["seeds"] for entry in run.summary.values()):
        return None
    figure, panels = plt.subplots(1, len(EVENTS), figsize=(11, 5.2), layout="constrained")
    tests = {}
    for axes, (key, event) in zip(panels, EVENTS, strict=True):
        all_waits = waits(run.summary, key)
        for agent, wait in all_waits.items():
            curve = kaplan_meier(wait)
            axes.step(curve.trials, curve.waiting, where="post", color=color(agent), label=agent)
            censored = wait.trials[~wait.reached]
            if censored.size:
                axes.plot(censored, [curve.waiting[-1]] * censored.size, "|", color=color(agent))
        tests[key] = [vars(test) for test in log_rank_tests(all_waits)]
        axes.set_xscale("log")
        axes.set_xlim(left=0.8)
        axes.set_ylim(-0.03, 1.06)
        axes.set_xlabel("training trials (log scale)")
        axes.set_ylabel(f"share of seeds not yet {event}")
        note = _versus_best(run, tests[key])
        title = f"Waiting for {event}" + (f"\n{note}" if note else "")
        axes.set_title(wrap_to_width(title, axes, 9), fontsize=9)
        axes.grid(alpha=0.3, which="both")
    handles, labels = panels[0].get_legend_handles_labels()
    # one row for a few agents, two or more for a study's many cells
    figure.legend(handles, labels, loc="outside lower center", ncol=min(len(labels), 6), fontsize=8)
    figure.suptitle(
        "Kaplan-Meier estimates over seeds (ticks: seeds censored where they stopped, at their "
        "budget unless reliable sooner); log-rank "
        "tests between every pair of agents in survival.json",
        fontsize=9,
    )
    (run.folder / "survival.json").write_text(json.dumps({"log_rank": tests}, indent=1) + "\n")
    return save_figure(figure, run.folder / "survival.png")


def _versus_best(run: RunData, tests: list[dict]) -> str:
    """The log-rank p-values of the best learner against each agent that has a model."""
    best = best_learner(run)
    lines = []
    for test in tests:
        pair = {test["first"], test["second"]}
        if best in pair:
            other = (pair - {best}).pop()
            if run.kind(other) in ("planner", "learned-model"):
                lines.append(f"{best} vs {other}: p {format_p(test['p_value'])}")
    return ("log-rank " + "; ".join(lines)) if lines else ""
