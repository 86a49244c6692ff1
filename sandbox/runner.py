"""Runs a list of jobs, in parallel over worker processes, writing each result the
moment it finishes. Ctrl-C (or SIGTERM) stops the workers and keeps every finished
result; what the runner changes in the process (its SIGTERM handler) it restores."""

from __future__ import annotations

import multiprocessing as mp
import queue
import signal
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

_progress: Any = None  # a queue in each worker process


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


def _failure(key: Any, error: BaseException) -> JobFailed:
    return JobFailed(key, f"{type(error).__name__}: {error}", traceback.format_exc())


def _init_worker(progress) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl-C means
    global _progress
    _progress = progress
    import torch

    torch.set_num_threads(1)


def _run(job: Job) -> tuple[Any, dict[str, Any] | None, tuple[str, str] | None]:
    """In a worker: the job's result, or what went wrong (raised again in the parent)."""
    def report(row: dict) -> None:
        if _progress is not None:
            _progress.put((job.key, row["trials"]))

    try:
        return job.key, job.function(*job.args, on_evaluation=report), None
    except Exception as error:  # carried to the parent, which stops the run with it
        failure = _failure(job.key, error)
        return job.key, None, (failure.error, failure.details)


class Progress:
    """A bar over the planned trials of all jobs. A job that stops early (reliable
    before its budget) counts as all its planned trials when it finishes, so the bar
    ends at 100 % of the work the run did."""

    def __init__(self, jobs: list[Job], description: str):
        self.planned = {job.key: job.planned_trials for job in jobs}
        self.done: dict[Any, int] = {}
        self.bar = tqdm(total=sum(self.planned.values()), desc=description, unit="trial", dynamic_ncols=True)

    def advance(self, key: Any, trials: int) -> None:
        trials = min(trials, self.planned[key])
        self.bar.update(max(0, trials - self.done.get(key, 0)))
        self.done[key] = max(trials, self.done.get(key, 0))

    def finish(self, key: Any) -> None:
        self.advance(key, self.planned[key])

    def close(self) -> None:
        self.bar.close()


EXECUTORS = ("local", "ray")


def run_jobs(jobs: list[Job], on_result: Callable[[dict[str, Any]], None], workers: int, description: str,
             executor: str = "local", ray_address: str | None = None) -> None:
    """Run every job and hand each result to ``on_result`` as it finishes: in this process
    (``workers`` 1), over a pool of local worker processes, or as Ray tasks
    (``executor="ray"``, on the cluster at ``ray_address`` or a local Ray runtime). Raises
    KeyboardInterrupt after cleaning up if the user interrupts; an exception in a job
    stops the run and is raised here as ``JobFailed``."""
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}; valid executors: {', '.join(EXECUTORS)}")
    progress = Progress(jobs, description)
    try:
        if executor == "ray":
            from sandbox.ray_executor import run_on_ray

            run_on_ray(jobs, on_result, progress, workers, ray_address)
        elif workers <= 1 or len(jobs) <= 1:
            for job in jobs:
                try:
                    result = job.function(*job.args,
                                          on_evaluation=lambda row, key=job.key: progress.advance(key, row["trials"]))
                except Exception as error:
                    raise _failure(job.key, error) from error
                progress.finish(job.key)
                on_result(result)
        else:
            _run_pool(jobs, on_result, min(workers, len(jobs)), progress)
    finally:
        progress.close()


def _run_pool(jobs: list[Job], on_result: Callable[[dict[str, Any]], None], workers: int, progress: Progress) -> None:
    context = mp.get_context("spawn")
    manager = context.Manager()
    reports = manager.Queue()
    stop = threading.Event()

    def drain() -> None:
        while not stop.is_set():
            try:
                key, trials = reports.get(timeout=0.2)
            except queue.Empty:
                continue
            except (EOFError, OSError):  # the manager is gone: the run is ending
                return
            progress.advance(key, trials)

    reader = threading.Thread(target=drain, daemon=True)
    # A terminated run cleans up like an interrupted one: no orphaned workers.
    previous_sigterm = signal.signal(signal.SIGTERM, _interrupt)
    pool = context.Pool(workers, initializer=_init_worker, initargs=(reports,))
    reader.start()
    try:
        for key, result, failure in pool.imap_unordered(_run, jobs):
            if failure is not None:
                raise JobFailed(key, *failure)
            progress.finish(key)
            on_result(result)
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()
        stop.set()
        reader.join(timeout=1)
        manager.shutdown()
        signal.signal(signal.SIGTERM, previous_sigterm)


def _interrupt(_signal: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def writable_dir(path: Path) -> str | None:
    """None if ``path`` can be created and written to, else why not."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        return error.strerror or str(error)
    return None
