"""Plots of a run, drawn from its saved files only: the success curves, the survival plot and
(with two seeds or more) the performance profiles every run has, the transfer plots when it
moved agents to a new world, then the task's and the study's own plots.

Any past run can be re-plotted (``python -m sandbox.plots RUN``).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from sandbox.outputs.reference import reference_of
from sandbox.outputs.run_data import RunData, headline, world_name
from sandbox.outputs.stats import coverage_words
from sandbox.pictures.drawing import save_figure, success_curves, wrap_to_width
from sandbox.pictures.profile_plot import plot_profiles
from sandbox.pictures.survival_plot import plot_survival
from sandbox.studies import get_study
from sandbox.tasks import get_task


def success_figure(run: RunData):
    """The figure of held-out success against training trials, with the committed reference's
    curves dashed beside the run's when one matches its world."""
    figure, axes = plt.subplots(figsize=(9.5, 5.3), layout="constrained")
    bar = next(iter(run.summary.values()))["reliable_bar"]
    success_curves(axes, run, run.train_jobs, bar, reference_of(run))
    seeds = coverage_words(len(entry["seeds"]) for entry in run.summary.values())
    axes.set_title(
        "Success on the held-out set against training trials\n(line: median over seeds, band: "
        f"its confidence interval, order statistics: {seeds})",
        fontsize=9,
    )
    figure.suptitle(wrap_to_width(headline(run), figure, 10), fontsize=10)
    return figure


def plot_success(run: RunData) -> Path:
    figure = success_figure(run)
    path = run.folder / "success_vs_trials.png"
    return save_figure(figure, path, dpi=110)


def plot_run(folder: Path) -> list[Path]:
    """Every plot of a run folder, from its files."""
    run = RunData.load(folder)
    if not run.summary:
        return []
    paths: list[Path | None] = [plot_success(run), plot_survival(run), plot_profiles(run)]
    transfer = run.config.get("transfer_env_kwargs")
    if transfer and any("relearn_fraction" in e for e in run.summary.values()):
        from sandbox.pictures.transfer_plots import plot_both_worlds, plot_transfer_chart

        names = (world_name(run.config["env_kwargs"]), world_name(transfer))
        paths += [plot_both_worlds(run, names), plot_transfer_chart(run, names)]
    task = get_task(run.summary_file["task"])
    paths += [plot(run) for plot in task.plots]
    if run.config.get("study"):
        paths += [plot(run) for plot in get_study(run.config["study"], task.name).plots]
    return [p for p in paths if p is not None]
