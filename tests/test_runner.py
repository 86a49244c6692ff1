"""The runner: the progress bar ends at the work done, errors are not swallowed, and
what it changes in the process it restores."""

from __future__ import annotations

import re
import signal

import pytest

from sandbox.run.runner import Job, JobFailed, run_jobs
from sandbox.run.workers import OVERRUN, PRIOR_SECONDS, PRIOR_TRIALS, Progress, longest_first


def stops_early(trials: int, on_evaluation=None) -> dict:
    """A job planned for more trials than it spends (an agent reliable early)."""
    on_evaluation({"trials": trials})
    return {"trials": trials}


def fails(on_evaluation=None) -> dict:
    raise ValueError("the job's own error")


@pytest.mark.parametrize("workers", [1, pytest.param(2, marks=pytest.mark.slow)])
def test_progress_ends_at_the_work_done(capsys, workers):
    jobs = [Job(("early", k), 100, stops_early, (3,)) for k in range(3)]
    results = []
    run_jobs(jobs, results.append, workers, "test")
    assert sorted(r["trials"] for r in results) == [3, 3, 3]
    lines = capsys.readouterr().err.replace("\r", "\n").strip().splitlines()
    assert re.search(r"100%.*jobs 3/3\]", lines[-1]), lines[-1]
    assert sum("100%" in line for line in lines) == 1, lines  # one final line


@pytest.mark.parametrize("workers", [1, pytest.param(2, marks=pytest.mark.slow)])
def test_a_failing_job_stops_the_run_with_its_error(workers):
    jobs = [Job("bad", 1, fails), Job("good", 1, stops_early, (1,))]
    with pytest.raises(
        JobFailed, match="job bad failed: ValueError: the job's own error"
    ) as caught:
        run_jobs(jobs, lambda result: None, workers, "test")
    assert "Traceback" in caught.value.details and "in fails" in caught.value.details


@pytest.mark.slow
def test_the_sigterm_handler_is_restored():
    before = signal.getsignal(signal.SIGTERM)
    run_jobs([Job(k, 1, stops_early, (1,)) for k in range(2)], lambda result: None, 2, "test")
    assert signal.getsignal(signal.SIGTERM) is before


def test_longest_jobs_start_first():
    jobs = [
        Job("short", 1000, stops_early, seconds_per_trial=0.001),
        Job("unknown", 100, stops_early),
        Job("long", 100, stops_early, seconds_per_trial=2.0),
    ]
    assert [job.key for job in longest_first(jobs)] == ["long", "unknown", "short"]


def test_the_bar_counts_estimated_seconds_corrected_as_jobs_report(capsys):
    jobs = [
        Job(("slow", k), 100, stops_early, kind="slow", seconds_per_trial=1.0, reliable_bar=0.9)
        for k in range(2)
    ] + [Job("fast", 100, stops_early, kind="fast", seconds_per_trial=0.01)]
    progress = Progress(jobs, "test", workers=2)
    try:
        assert progress.bar.total == pytest.approx(201)  # 2 x 100 x 1 s + 100 x 0.01 s
        # the slow kind runs 6 times faster than guessed: its rate moves toward 1/6 s, and
        # every kind's guess by the machine's speed
        # the first report holds the set-up: the rate counts from there
        progress.start(("slow", 0))
        progress.advance(("slow", 0), 10, seconds=5.0)
        assert progress.seconds_per_trial("slow") == pytest.approx(1.0)
        progress.advance(("slow", 0), 40, seconds=10.0)
        speed = (PRIOR_SECONDS + 5.0) / (PRIOR_SECONDS + 1.0 * 30)  # measured over guessed
        assert progress.machine_speed() == pytest.approx(speed)
        rate = (1.0 * speed * PRIOR_TRIALS + 5.0) / (PRIOR_TRIALS + 30)
        assert progress.seconds_per_trial("slow") == pytest.approx(rate)
        state = progress.states[("slow", 0)]
        assert progress.cost(state, progress.states[("slow", 0)].started + 10) == pytest.approx(
            10 + rate * 60
        )
        # reliable at 40 trials: it expects to stop at about 80
        progress.advance(("slow", 0), 40, seconds=10.0, reliable=True)
        assert progress.cost(state, state.started + 10) == pytest.approx(10 + rate * 40)
        # finished at 80 trials in 20 s: its sibling, not started, is expected to cost as much
        progress.advance(("slow", 0), 80, seconds=20.0, reliable=True)
        progress.finish(("slow", 0), 20.0)
        assert progress.cost(progress.states[("slow", 1)], 0.0) == pytest.approx(20.0)
    finally:
        progress.close()


def test_a_job_past_its_estimate_keeps_the_bar_below_100_percent():
    """A job that reported all its trials and still runs (a last evaluation, a transfer's
    set-up) expects a tenth more of its time so far: the bar stays under 100 %."""
    jobs = [Job("only", 10, stops_early, kind="k", seconds_per_trial=1.0)]
    progress = Progress(jobs, "test", workers=1)
    try:
        progress.start("only")
        progress.advance("only", 10, seconds=10.0)
        state = progress.states["only"]
        later = state.started + 30.0  # 20 s past its last report, with no trial left
        assert progress.cost(state, later) == pytest.approx(OVERRUN * 30.0)
        progress._update(later)
        assert progress.bar.n < progress.bar.total
        assert progress.time_left(later) == pytest.approx((OVERRUN - 1) * 30.0)
    finally:
        progress.close()
