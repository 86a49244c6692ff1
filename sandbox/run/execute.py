"""A planned run carried out: its folder and ``config.json`` (refusing to mix two runs),
the jobs not yet finished run by the chosen executor (each going on from its checkpoint, if
it left one), each result written the moment it arrives, then the summary, plots,
animations, report and printed tables."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from sandbox.command_line import UsageError
from sandbox.outputs.fixed_budget import fixed_budget_note, fixed_budget_table
from sandbox.outputs.reference import demo_note
from sandbox.outputs.report import write_report
from sandbox.outputs.results import (
    censored_note,
    job_path,
    load_jobs,
    summarise,
    without_episodes,
    write_csv,
    write_json,
)
from sandbox.outputs.run_data import PICTURED_SEED, RunData
from sandbox.outputs.stats import interval_note
from sandbox.outputs.tables import run_tables
from sandbox.pictures.animation import write_animations
from sandbox.pictures.run_plots import plot_run
from sandbox.run.checkpoint import checkpoint_folder, discard, resumable
from sandbox.run.job import run_job
from sandbox.run.plan import RunPlan, planned_trials
from sandbox.run.provenance import provenance
from sandbox.run.resume import ResumeError, finished_jobs
from sandbox.run.runner import Job, JobFailed, run_jobs, writable_dir
from sandbox.run.workers import ExecutorUnavailable, longest_first
from sandbox.studies import split_variant


def execute(plan: RunPlan) -> int:
    """Run what is left of the plan; 0 when every job finished, 130 when interrupted."""
    out, task = plan.out, plan.task
    problem = writable_dir(out / "jobs")
    if problem:
        raise UsageError(
            f"cannot write results to {out}: {problem}; choose another folder with --out"
        )
    if plan.tensorboard is not None:
        problem = writable_dir(plan.tensorboard)
        if problem:
            raise UsageError(f"cannot write TensorBoard logs to {plan.tensorboard}: {problem}")
    # with --force, the folder may also hold jobs this plan does not run: not counted here
    already = record_run(plan) & {c.key for c in plan.configs}
    # the absolute folder: a run started from / writes /results/..., which a relative path hides
    print(f"{task.name}: {len(plan.agents)} agents x {plan.size.seeds} seeds -> {out.resolve()}")
    checkpoints = {c.key: checkpoint_folder(job_path(out, *c.key)) for c in plan.configs}
    for key in already:  # its result was written just before the run stopped
        discard(checkpoints[key])
    todo = [c for c in plan.configs if c.key not in already]
    going_on = sum(resumable(checkpoints[c.key]) for c in todo)
    if already or going_on:
        print(
            f"resuming: {len(already)} of {len(plan.configs)} jobs already finished in {out}"
            + (f", {going_on} more go on from their last checkpoint" if going_on else "")
        )
    # A cluster's nodes may not share this folder: there, jobs keep no checkpoints.
    keeps_checkpoints = plan.executor == "local" or plan.ray_address is None
    kept_in = {
        key: folder.resolve() if keeps_checkpoints else None for key, folder in checkpoints.items()
    }
    guesses = {agent.label: agent.cls.seconds_per_trial.get(task.name) for agent in plan.agents}
    jobs = longest_first(
        [
            Job(
                c.key,
                planned_trials(c),
                run_job,
                (c,),
                {"checkpoint_dir": kept_in[c.key]},
                kind=(c.phase, c.agent),  # its seeds cost alike
                seconds_per_trial=guesses.get(split_variant(c.agent)[0]),
                reliable_bar=c.reliable_bar,
            )
            for c in todo
        ]
    )
    finished = 0

    def keep(result: dict[str, Any]) -> None:
        nonlocal finished
        path = job_path(out, result["phase"], result["agent"], result["seed"])
        if plan.full and result["seed"] != PICTURED_SEED:
            result = without_episodes(result)  # the pictures draw PICTURED_SEED's alone
        write_json(path, result, compact=True)
        discard(checkpoint_folder(path))
        finished += 1

    interrupted = False
    try:
        run_jobs(jobs, keep, plan.workers, f"{task.name} training", plan.executor, plan.ray_address)
    except KeyboardInterrupt:
        interrupted = True
    except ExecutorUnavailable as error:
        raise UsageError(str(error)) from None
    except JobFailed as failure:
        # A job's own error (a policy that diverged to NaN, a plug-in's bug): keep what
        # finished, save the traceback, and say it in one line.
        saved = save_traceback(out, failure)
        write_summary(out, plan, complete=False)
        raise UsageError(
            f"{failure}; traceback in {saved}; kept {finished + len(already)} finished results "
            f"of {len(plan.configs)} in {out}"
        ) from None
    write_summary(out, plan, complete=not interrupted)
    if interrupted:
        kept = sum(resumable(folder) for folder in checkpoints.values())
        print(
            f"Interrupted: kept {finished + len(already)} finished (agent, seed) results of "
            f"{len(plan.configs)} in {out.resolve()}"
            + (f", and {kept} unfinished ones at their last checkpoint" if kept else "")
            + "; run the same command again to finish the rest",
            file=sys.stderr,
        )
        return 130
    print(f"Results, table data and plots: {out.resolve()}")
    return 0


def record_run(plan: RunPlan) -> set[tuple[str, str, int]]:
    """Write ``config.json`` (or, resuming the same run, add who resumed it, with which
    code, on which machine); the jobs already finished in the folder."""
    run_config = plan.record(provenance(plan.task, [plan.env_kwargs, plan.transfer_env_kwargs]))
    try:
        already = finished_jobs(plan.out, run_config, plan.force)
    except ResumeError as error:
        raise UsageError(str(error)) from None
    if not already or plan.force:
        write_json(plan.out / "config.json", run_config)
    else:
        recorded = json.loads((plan.out / "config.json").read_text())
        recorded.setdefault("resumes", []).append(
            {"command": run_config["command"], "provenance": run_config["provenance"]}
        )
        write_json(plan.out / "config.json", recorded)
    return already


def save_traceback(out: Path, failure: JobFailed) -> Path:
    """The failed job's traceback in ``<out>/errors/``, named after the job."""
    errors = out / "errors"
    errors.mkdir(exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.@-]+", "-", "-".join(map(str, failure.key)))
    saved = errors / f"{name}.txt"
    saved.write_text(failure.details)
    return saved


def write_summary(out: Path, plan: RunPlan, complete: bool) -> None:
    """summary.json, evaluations.csv, the plots (and animations, unless the plan skips
    them), the report and the printed tables, from the job files."""
    task, study, study_settings, labels = plan.task, plan.study, plan.study_settings, plan.labels
    planned = {c.key for c in plan.configs}
    # the plan's jobs alone: a forced run may leave others in the folder
    results = [r for r in load_jobs(out) if (r["phase"], r["agent"], r["seed"]) in planned]
    summary_file = {
        "task": task.name,
        "complete": complete,
        "agents": summarise(results, labels, task.summary_keys),
    }
    if study is not None and study.summarise is not None:
        summary_file.update(study.summarise(results, labels, study_settings or {}))
    write_json(out / "summary.json", summary_file)
    write_csv(out / "evaluations.csv", results)
    if not results:
        return
    plot_run(out)
    run = RunData.load(out)
    if plan.animations:
        write_animations(run)
    write_report(out)
    for title, text in run_tables(summary_file, study.name if study else None):
        print()
        if title:
            print(title)
        print(text)
        if not title:
            print(censored_note(summary_file["agents"]))
    print(interval_note(len(entry["seeds"]) for entry in summary_file["agents"].values()))
    fixed = json.loads((out / "fixed_budget.json").read_text())
    print()
    print(fixed_budget_table(fixed))
    print(fixed_budget_note(fixed))
    note = demo_note(run)
    if note:
        print(note)
