"""Jobs: the unit of work every executor runs, its failure, and the progress bar."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tqdm import tqdm

progress_queue: Any = None  #: in a local pool's worker, the queue its progress reports go to


@dataclass(frozen=True)
class Job:
    """One unit of work: ``function(*args, on_evaluation=report)`` in a worker."""

    key: Any  #: names the job in progress reports
    planned_trials: int  #: the most trials it may spend (the progress bar's share)
    function: Callable[..., dict[str, Any]]  #: module-level, so a spawned worker can import it
    args: tuple = ()


class JobFailed(Exception):
    """A job raised: which one, the error in one line, and its traceback."""

    def __init__(self, key: Any, error: str, details: str):
        super().__init__(f"job {key} failed: {error}")
        self.key, self.error, self.details = key, error, details


class ExecutorUnavailable(Exception):
    """The executor could not start (a cluster refused the connection): why, in one line."""


def failure_of(key: Any, error: BaseException) -> JobFailed:
    return JobFailed(key, f"{type(error).__name__}: {error}", traceback.format_exc())


def run_in_worker(job: Job) -> tuple[Any, dict[str, Any] | None, tuple[str, str] | None]:
    """In a worker: the job's result, or what went wrong (raised again in the parent).
    Progress goes to the worker's queue, if it has one."""

    def report(row: dict) -> None:
        if progress_queue is not None:
            progress_queue.put((job.key, row["trials"]))

    try:
        return job.key, job.function(*job.args, on_evaluation=report), None
    except Exception as error:  # carried to the parent, which stops the run with it
        failure = failure_of(job.key, error)
        return job.key, None, (failure.error, failure.details)


class Progress:
    """A bar over the planned trials of all jobs. A job that stops early (reliable
    before its budget) counts as all its planned trials when it finishes, so the bar
    ends at 100 % of the work the run did."""

    def __init__(self, jobs: list[Job], description: str):
        self.planned = {job.key: job.planned_trials for job in jobs}
        self.done: dict[Any, int] = {}
        self.bar = tqdm(
            total=sum(self.planned.values()), desc=description, unit="trial", dynamic_ncols=True
        )

    def advance(self, key: Any, trials: int) -> None:
        trials = min(trials, self.planned[key])
        self.bar.update(max(0, trials - self.done.get(key, 0)))
        self.done[key] = max(trials, self.done.get(key, 0))

    def finish(self, key: Any) -> None:
        self.advance(key, self.planned[key])

    def close(self) -> None:
        self.bar.close()
