"""Runs a list of jobs, in parallel over worker processes, writing each result the
moment it finishes. Ctrl-C stops the workers and keeps every finished result."""

from __future__ import annotations

import multiprocessing as mp
import queue
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tqdm import tqdm

_progress: Any = None  # a queue in each worker process


def _init_worker(progress) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl-C means
    global _progress
    _progress = progress
    import torch

    torch.set_num_threads(1)


def _run(job: tuple[Callable[..., dict], tuple]) -> dict[str, Any]:
    function, args = job
    key = args[-1]

    def report(row: dict) -> None:
        if _progress is not None:
            _progress.put((key, row["trials"]))

    return function(*args[:-1], on_evaluation=report)


def run_jobs(
    jobs: list[tuple[Callable[..., dict], tuple]],
    on_result: Callable[[dict[str, Any]], None],
    total_trials: int,
    workers: int,
    description: str,
) -> None:
    """Run ``function(*args, on_evaluation=...)`` for each job; ``args[-1]`` is a job key for progress.

    Raises KeyboardInterrupt after cleaning up if the user interrupts.
    """
    bar = tqdm(total=total_trials, desc=description, unit="trial", dynamic_ncols=True, leave=True)
    done_trials: dict[Any, int] = {}

    def advance(key: Any, trials: int) -> None:
        bar.update(max(0, trials - done_trials.get(key, 0)))
        done_trials[key] = max(trials, done_trials.get(key, 0))

    try:
        if workers <= 1:
            for function, args in jobs:
                key = args[-1]
                result = function(*args[:-1], on_evaluation=lambda row, key=key: advance(key, row["trials"]))
                on_result(result)
            return
        # A terminated run cleans up like an interrupted one: no orphaned workers.
        signal.signal(signal.SIGTERM, _interrupt)
        context = mp.get_context("spawn")
        progress = context.Manager().Queue()
        stop = threading.Event()

        def drain() -> None:
            while not stop.is_set():
                try:
                    key, trials = progress.get(timeout=0.2)
                except (queue.Empty, EOFError, OSError):
                    continue
                advance(key, trials)

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        pool = context.Pool(workers, initializer=_init_worker, initargs=(progress,))
        try:
            for result in pool.imap_unordered(_run, jobs):
                on_result(result)
            pool.close()
        except BaseException:
            pool.terminate()
            raise
        finally:
            pool.join()
            stop.set()
            reader.join(timeout=1)
    finally:
        bar.close()


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
