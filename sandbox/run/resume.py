"""Resuming a run in its folder: which jobs are done, and refusing to mix two runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sandbox.outputs.results import load_jobs

#: job fields that change where a job reports, not what it measures
NOT_COMPARED = {"tensorboard_dir"}


class ResumeError(ValueError):
    """The folder holds another run's results."""


def finished_jobs(
    out: Path, run_config: dict[str, Any], force: bool = False
) -> set[tuple[str, str, int]]:
    """(phase, agent, seed) of the jobs already finished in ``out`` by the same run. A
    folder whose recorded jobs differ is refused, naming the first difference, unless
    ``force``."""
    config_file = out / "config.json"
    if not config_file.exists():
        if any((out / "jobs").glob("*.json")):
            raise ResumeError(
                f"{out} holds job results but no config.json; choose an empty folder with --out"
            )
        return set()
    try:
        previous = json.loads(config_file.read_text())
    except (OSError, ValueError):
        raise ResumeError(
            f"{out}/config.json is unreadable; choose another folder with --out"
        ) from None
    difference = jobs_difference(
        previous.get("jobs") or [], json.loads(json.dumps(run_config["jobs"]))
    )
    if difference and not force:
        raise ResumeError(
            f"{out} holds results of a different run ({difference}); choose another folder with "
            "--out, or resume anyway with --force"
        )
    return {(job["phase"], job["agent"], job["seed"]) for job in load_jobs(out)}


def jobs_difference(before: list[dict[str, Any]], now: list[dict[str, Any]]) -> str | None:
    """The first difference between two runs' job lists, in words (None if they are the same)."""

    def key(job):
        return (job.get("phase"), job.get("agent"), job.get("seed"))

    def compared(job):
        return {k: v for k, v in job.items() if k not in NOT_COMPARED}

    old, new = {key(j): compared(j) for j in before}, {key(j): compared(j) for j in now}
    if old.keys() != new.keys():
        added, dropped = (
            sorted(new.keys() - old.keys(), key=str),
            sorted(old.keys() - new.keys(), key=str),
        )
        which = (
            f"job {_job(added[0])} is new" if added else f"job {_job(dropped[0])} is no longer run"
        )
        return f"its jobs differ: {which}"
    for job_key in new:
        path = _first_difference(old[job_key], new[job_key])
        if path is not None:
            where, was, is_now = path
            return f"{where} of job {_job(job_key)} was {was!r} there, {is_now!r} now"
    return None


def _job(key: tuple) -> str:
    phase, agent, seed = key
    return f"{phase}-{agent}-seed{seed}"


def _first_difference(old: Any, new: Any, path: str = "") -> tuple[str, Any, Any] | None:
    if isinstance(old, dict) and isinstance(new, dict):
        for name in sorted(old.keys() | new.keys()):
            found = _first_difference(
                old.get(name), new.get(name), f"{path}.{name}" if path else name
            )
            if found is not None:
                return found
        return None
    return None if old == new else (path, old, new)
