"""Runs a list of jobs, in parallel over worker processes, writing each result the
moment it finishes. Ctrl-C (or SIGTERM) stops the workers and keeps every finished
result; what the runner changes in the process (its SIGTERM handler) it restores."""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sandbox.run import workers as job_module
from sandbox.run.ray_executor import run_on_ray
from sandbox.run.workers import Job, JobFailed, Progress, failure_of, run_in_worker

PR_SET_PDEATHSIG = 1  #: from <sys/prctl.h>


def end_with_parent() -> None:
    """Have the kernel end this worker (SIGTERM) when the process that started it dies: a
    parent killed outright cannot end its pool, and its workers would run on, unseen. Linux
    only (``prctl(PR_SET_PDEATHSIG)``); elsewhere nothing."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    parent = os.getppid()
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before the request was in place
        os.kill(os.getpid(), signal.SIGTERM)


def _init_worker(progress) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl-C means
    end_with_parent()
    job_module.progress_queue = progress
    import torch

    torch.set_num_threads(1)


EXECUTORS = ("local", "ray")


def run_jobs(
    jobs: list[Job],
    on_result: Callable[[dict[str, Any]], None],
    workers: int,
    description: str,
    executor: str = "local",
    ray_address: str | None = None,
) -> None:
    """Run every job and hand each result to ``on_result`` as it finishes: in this process
    (``workers`` 1), over a pool of local worker processes, or as Ray tasks
    (``executor="ray"``, on the cluster at ``ray_address`` or a local Ray runtime). Raises
    KeyboardInterrupt after cleaning up if the user interrupts; an exception in a job
    stops the run and is raised here as ``JobFailed``."""
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}; valid executors: {', '.join(EXECUTORS)}")
    parallel = 1 if executor == "local" and (workers <= 1 or len(jobs) <= 1) else workers
    progress = Progress(jobs, description, min(parallel, max(1, len(jobs))))
    try:
        if executor == "ray":
            run_on_ray(jobs, on_result, progress, workers, ray_address)
        elif workers <= 1 or len(jobs) <= 1:
            for job in jobs:
                progress.start(job.key)
                try:
                    result = job.function(
                        *job.args,
                        **job.kwargs,
                        on_evaluation=lambda row, job=job: progress.advance(
                            job.key, row["trials"], reliable=job.reliable(row)
                        ),
                    )
                except Exception as error:
                    raise failure_of(job.key, error) from error
                progress.finish(job.key)
                on_result(result)
        else:
            _run_pool(jobs, on_result, min(workers, len(jobs)), progress)
    finally:
        progress.close()


def _run_pool(
    jobs: list[Job], on_result: Callable[[dict[str, Any]], None], workers: int, progress: Progress
) -> None:
    context = mp.get_context("spawn")
    manager = context.Manager()
    reports = manager.Queue()
    stop = threading.Event()

    def drain() -> None:
        while not stop.is_set():
            try:
                key, trials, seconds, reliable = reports.get(timeout=0.2)
            except queue.Empty:
                continue
            except (EOFError, OSError):  # the manager is gone: the run is ending
                return
            if trials is None:
                progress.start(key)
            else:
                progress.advance(key, trials, seconds, reliable)

    reader = threading.Thread(target=drain, daemon=True)
    # A terminated run cleans up like an interrupted one: no orphaned workers.
    previous_sigterm = signal.signal(signal.SIGTERM, _interrupt)
    pool = context.Pool(workers, initializer=_init_worker, initargs=(reports,))
    reader.start()
    try:
        for key, result, failure in pool.imap_unordered(run_in_worker, jobs):
            if failure is not None:
                raise JobFailed(key, *failure)
            progress.finish(key, seconds_of(result))
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


def seconds_of(result: dict[str, Any]) -> float | None:
    """The wall seconds a job's result records (``run_job``'s do), if any."""
    seconds = result.get("wall_time_s") if isinstance(result, dict) else None
    return float(seconds) if isinstance(seconds, (int, float)) else None


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
