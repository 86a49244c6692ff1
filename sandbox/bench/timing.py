"""Rates over seconds of wall time, with the share of a core the process had meanwhile.

On a shared machine a rate alone cannot tell a slow program from a busy machine; the
core share (process CPU time over wall time) can: well below 1, the machine was busy
and every rate measured then is low by about that factor.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class Stopwatch:
    """Wall and process CPU time over every ``running()`` block."""

    wall_s: float = 0.0
    cpu_s: float = 0.0

    @contextmanager
    def running(self) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.wall_s += time.perf_counter() - wall
            self.cpu_s += time.process_time() - cpu

    @property
    def core_share(self) -> float:
        """The share of one core this process used while the watch ran (above 1 with threads)."""
        return self.cpu_s / self.wall_s if self.wall_s > 0 else float("nan")


@dataclass(frozen=True)
class Rate:
    per_s: float  #: calls per second of wall time
    calls: int
    wall_s: float
    core_share: float  #: see ``Stopwatch.core_share``


def rate_over(call: Callable[[int], object], seconds: float) -> Rate:
    """Calls ``call(i)`` for i = 0, 1, ... for about ``seconds`` of wall time (at least once)."""
    watch, done = Stopwatch(), 0
    with watch.running():
        start = time.perf_counter()
        while done == 0 or time.perf_counter() - start < seconds:
            call(done)
            done += 1
    return Rate(done / watch.wall_s, done, watch.wall_s, watch.core_share)
