"""The runner: the progress bar ends at the work done, errors are not swallowed, and
what it changes in the process it restores."""

from __future__ import annotations

import re
import signal

import pytest

from sandbox.run.runner import Job, JobFailed, run_jobs


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
    final = capsys.readouterr().err.replace("\r", "\n").strip().splitlines()[-1]
    assert re.search(r"100%.*\b300/300\b", final), final


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
