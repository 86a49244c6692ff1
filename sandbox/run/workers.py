"""Jobs: the unit of work every executor runs, its failure, and the progress bar."""

from __future__ import annotations

import heapq
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tqdm import tqdm

progress_queue: Any = None  #: in a local pool's worker, the queue its progress reports go to


@dataclass(frozen=True)
class Job:
    """One unit of work: ``function(*args, **kwargs, on_evaluation=report)`` in a worker."""

    key: Any  #: names the job in progress reports
    planned_trials: int  #: the most trials it may spend
    function: Callable[..., dict[str, Any]]  #: module-level, so a spawned worker can import it
    args: tuple = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    #: jobs of one kind cost alike per trial (one agent in one phase, over seeds); None: its key
    kind: Any = None
    #: a first guess of its wall seconds per trial (``Agent.seconds_per_trial``), None: unknown
    seconds_per_trial: float | None = None
    #: the held-out success rate at which it may stop early (None: it runs its plan)
    reliable_bar: float | None = None

    def reliable(self, row: dict) -> bool:
        """Whether an evaluation report says the job may stop at its next evaluation."""
        return self.reliable_bar is not None and row.get("success_rate", -1.0) >= self.reliable_bar

    def guessed_seconds(self) -> float:
        """Its planned cost before anything is measured: planned trials x seconds per trial."""
        return self.planned_trials * (self.seconds_per_trial or DEFAULT_SECONDS_PER_TRIAL)


def longest_first(jobs: list[Job]) -> list[Job]:
    """The jobs by guessed cost, longest first (LPT): on a few workers the long learner jobs
    start at once instead of last, which shortens the run. Ties keep their order."""
    return sorted(jobs, key=lambda job: -job.guessed_seconds())


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

    started = time.perf_counter()

    def report(row: dict) -> None:
        if progress_queue is not None:
            progress_queue.put(
                (job.key, row["trials"], time.perf_counter() - started, job.reliable(row))
            )

    if progress_queue is not None:
        progress_queue.put((job.key, None, 0.0, False))  # started

    try:
        return job.key, job.function(*job.args, **job.kwargs, on_evaluation=report), None
    except Exception as error:  # carried to the parent, which stops the run with it
        failure = failure_of(job.key, error)
        return job.key, None, (failure.error, failure.details)


#: seconds per trial of an agent that declares none: between the cheap learners' hundredths
#: and the planners' seconds, and corrected from the first report on
DEFAULT_SECONDS_PER_TRIAL = 0.05
#: how many trials' worth of evidence the declared guess counts for against measured trials
PRIOR_TRIALS = 20
#: how many seconds of evidence the machine's speed (measured over guessed seconds, over
#: all kinds) counts for at 1 before jobs report: the guesses were measured on a machine
#: under load, and a quiet one runs every agent faster alike
PRIOR_SECONDS = 10.0
REFRESH_S = 1.0  #: how often the bar is redrawn (it moves between reports too)


@dataclass
class _State:
    """What the parent knows of one job (times on its own clock, in seconds)."""

    planned: int
    kind: Any
    started: float | None = None
    trials: int = 0  #: trials done at its last report
    #: trials and seconds at its first report: what it cost to set up and evaluate once
    #: is no part of its rate per trial
    first: tuple[int, float] | None = None
    reliable: bool = False  #: its last report was reliable: it may stop at the next one
    wall: float = 0.0  #: its seconds at its last report
    finished: float | None = None  #: its wall seconds, once finished


class _Bar(tqdm):
    """tqdm with fields of our own for ``bar_format`` (the time left, the jobs done)."""

    def __init__(self, *args: Any, fields: dict[str, str], **kwargs: Any):
        self.fields = fields  # before tqdm's first line, which reads them
        super().__init__(*args, **kwargs)

    @property
    def format_dict(self) -> dict[str, Any]:
        return {**super().format_dict, **self.fields}


#: a running job past its estimated cost expects this many times its seconds so far
OVERRUN = 1.1


class Progress:
    """A bar over the run's work in estimated seconds, so its rate stays steady however
    unlike the jobs are (a planner's trial takes seconds, PPO's a millisecond).

    A job's cost is its planned trials times its kind's seconds per trial: first the
    declared guess (``Job.seconds_per_trial``), then corrected from what its kind's jobs
    report (trials and seconds since their first report, which holds the set-up; the
    guess counts as ``PRIOR_TRIALS`` trials), and every guess is scaled by the machine's
    speed, measured seconds over guessed ones across all kinds. A
    running job costs its seconds at its last report plus its remaining trials at that
    rate (at least its seconds so far). An agent reliable early stops early: a job whose
    last evaluation was reliable expects about twice its trials so far, and once a job of
    the kind has finished, the others expect to spend as many trials as it did and a job
    not started its seconds. The bar's
    total is the sum of the costs, its position the seconds done, and the time left is
    the remaining work scheduled on the workers in the order the jobs start.
    """

    def __init__(self, jobs: list[Job], description: str, workers: int = 1):
        self.workers = max(1, workers)
        self.states = {job.key: _State(job.planned_trials, job.kind or job.key) for job in jobs}
        self.guess = {
            (job.kind or job.key): job.seconds_per_trial or DEFAULT_SECONDS_PER_TRIAL
            for job in jobs
        }
        self.lock = threading.RLock()
        self.bar = _Bar(
            total=max(sum(job.guessed_seconds() for job in jobs), 1e-9),
            desc=description,
            bar_format="{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{left}, jobs {jobs}]",
            dynamic_ncols=True,
            fields={"left": "?", "jobs": f"0/{len(jobs)}"},
        )
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick, daemon=True)
        self._ticker.start()

    def start(self, key: Any) -> None:
        with self.lock:
            state = self.states[key]
            if state.started is None and state.finished is None:
                state.started = time.perf_counter()

    def advance(
        self, key: Any, trials: int, seconds: float | None = None, reliable: bool = False
    ) -> None:
        """A report: ``trials`` done by the job, ``seconds`` after it started; ``reliable``:
        it may stop at its next evaluation."""
        with self.lock:
            state = self.states[key]
            if state.finished is not None:
                return
            now = time.perf_counter()
            if state.started is None:
                state.started = now - (seconds or 0.0)
            state.trials = max(state.trials, min(trials, state.planned))
            state.wall = seconds if seconds is not None else now - state.started
            state.reliable = reliable
            if state.first is None:
                state.first = (state.trials, state.wall)

    def finish(self, key: Any, seconds: float | None = None) -> None:
        """The job is done, after ``seconds`` (None: as the parent's clock saw it)."""
        with self.lock:
            state = self.states[key]
            if seconds is None:
                seconds = (
                    time.perf_counter() - state.started if state.started is not None else state.wall
                )
            state.finished = seconds
            if state.trials == 0:  # no report came (Ray): count its plan
                state.trials = state.planned
            if any(other.finished is None for other in self.states.values()):
                self._draw()  # the last job's line is drawn once, by close()

    def close(self) -> None:
        self._stop.set()
        self._ticker.join(timeout=2 * REFRESH_S)
        with self.lock:
            self._update(time.perf_counter())
            self.bar.close()

    # -- the estimates -------------------------------------------------------------------

    def _measured(self, state: _State) -> tuple[float, float]:
        """A job's trials and seconds since its first report."""
        if state.first is None:
            return 0.0, 0.0
        now = state.finished if state.finished is not None else state.wall
        return state.trials - state.first[0], max(now - state.first[1], 0.0)

    def machine_speed(self) -> float:
        """Measured seconds over guessed seconds, over every job that reported."""
        measured = guessed = PRIOR_SECONDS
        for state in self.states.values():
            trials, seconds = self._measured(state)
            measured += seconds
            guessed += self.guess[state.kind] * trials
        return measured / guessed

    def seconds_per_trial(self, kind: Any) -> float:
        """The kind's guess, scaled by the machine's speed, corrected by its jobs' trials
        and seconds since their first reports (the guess counts as ``PRIOR_TRIALS``)."""
        trials = seconds = 0.0
        for state in self.states.values():
            if state.kind == kind:
                more_trials, more_seconds = self._measured(state)
                trials += more_trials
                seconds += more_seconds
        guess = self.guess[kind] * self.machine_speed()
        return (guess * PRIOR_TRIALS + seconds) / (PRIOR_TRIALS + trials)

    def _finished_alike(self, kind: Any) -> list[_State]:
        return [s for s in self.states.values() if s.kind == kind and s.finished is not None]

    @staticmethod
    def expected_trials(state: _State) -> float:
        """The trials a job will have spent: all it did once finished; about twice its
        trials so far once reliable (evaluation points are log-spaced, and a job reliable
        at two in a row stops); else its plan."""
        if state.finished is not None:
            return state.trials
        if state.reliable:
            return min(state.planned, 2 * state.trials)
        return state.planned

    def cost(self, state: _State, now: float) -> float:
        """The job's estimated wall seconds, all told."""
        if state.finished is not None:
            return state.finished
        alike = self._finished_alike(state.kind)
        if state.started is None and alike:
            return sum(s.finished for s in alike) / len(alike)
        if state.reliable or not alike:
            expected = self.expected_trials(state)
        else:
            expected = sum(s.trials for s in alike) / len(alike)
        remaining = self.seconds_per_trial(state.kind) * max(expected - state.trials, 0)
        # The seconds since its last report went into the trials it reports next; a job past
        # its estimate (a last evaluation, a transfer's set-up) expects a tenth more of its
        # time so far, so the bar does not stand at 100 % while it runs.
        return max(state.wall + remaining, OVERRUN * self.done(state, now))

    @staticmethod
    def done(state: _State, now: float) -> float:
        if state.finished is not None:
            return state.finished
        if state.started is None:
            return 0.0
        return max(now - state.started, state.wall)

    def time_left(self, now: float) -> float:
        """The remaining work scheduled on the workers: running jobs first, then the
        others in their order, each to the worker free first."""
        free = []
        waiting = []
        for state in self.states.values():
            if state.finished is not None:
                continue
            if state.started is None:
                waiting.append(self.cost(state, now))
            else:
                free.append(self.cost(state, now) - self.done(state, now))
        free += [0.0] * max(0, self.workers - len(free))
        heapq.heapify(free)
        for cost in waiting:
            heapq.heapreplace(free, free[0] + cost)
        return max(free, default=0.0)

    # -- the bar -------------------------------------------------------------------------

    def _update(self, now: float) -> None:
        states = self.states.values()
        self.bar.total = max(sum(self.cost(s, now) for s in states), 1e-9)
        self.bar.n = min(sum(self.done(s, now) for s in states), self.bar.total)
        finished = sum(s.finished is not None for s in states)
        self.bar.fields = {
            "left": self.bar.format_interval(self.time_left(now)),
            "jobs": f"{finished}/{len(self.states)}",
        }

    def _draw(self) -> None:
        self._update(time.perf_counter())
        self.bar.refresh()

    def _tick(self) -> None:
        while not self._stop.wait(REFRESH_S):
            with self.lock:
                if any(state.finished is None for state in self.states.values()):
                    self._draw()
