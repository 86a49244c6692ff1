"""How long each agent took to get somewhere, as survival data: per seed, the trials to its
first success or to reliable, censored at its budget when it never got there. Kaplan-Meier
estimates of the share of seeds still waiting after a number of trials, and log-rank tests
between agents, by scipy (``scipy.stats.ecdf`` on censored data, ``scipy.stats.logrank``);
the same censoring rule as the tables (never a number made up from the budget)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np

#: the events a run's survival data cover: (summary key, what it is called)
EVENTS = (
    ("trials_to_first_success", "first success"),
    ("trials_to_reliable", "reliable"),
)


@dataclass(frozen=True)
class Waits:
    """One agent's seeds: trials waited (the event's trial count, or the trials spent without
    it) and whether the event was seen."""

    trials: np.ndarray
    reached: np.ndarray  #: bools: False where censored at the trials spent


@dataclass(frozen=True)
class Curve:
    """A Kaplan-Meier estimate: the share of seeds not yet there after ``trials`` trials."""

    trials: np.ndarray
    waiting: np.ndarray


def waits(summary: dict[str, Any], key: str) -> dict[str, Waits]:
    """Per agent of the summary, its seeds' waits for the event ``key`` (a home-world
    figure): a censored seed waited the trials it spent, its whole budget unless it stopped
    early, reliable on validation before a success of its own in training."""
    result = {}
    for agent, entry in summary.items():
        values = entry.get(key)
        if values is None:
            continue
        spent = entry.get("trials_spent") or [entry["budget"]] * len(values)
        trials = [left if v is None else v for v, left in zip(values, spent, strict=True)]
        result[agent] = Waits(np.array(trials, float), np.array([v is not None for v in values]))
    return result


def censored_data(wait: Waits):
    from scipy.stats import CensoredData

    return CensoredData(uncensored=wait.trials[wait.reached], right=wait.trials[~wait.reached])


def kaplan_meier(wait: Waits) -> Curve:
    """The Kaplan-Meier estimate of one agent's waits, from its first trial: 1 before the
    first event, then a step at each event, flat to the last censored wait."""
    from scipy.stats import ecdf

    if not wait.reached.any():  # nobody got there: everyone still waiting, to the budget
        return Curve(np.array([0.0, wait.trials.max()]), np.ones(2))
    estimate = ecdf(censored_data(wait)).sf
    times = np.concatenate([[0.0], estimate.quantiles])
    waiting = np.concatenate([[1.0], estimate.probabilities])
    if wait.trials.max() > times[-1]:  # censored waits beyond the last event: flat to them
        times, waiting = np.append(times, wait.trials.max()), np.append(waiting, waiting[-1])
    return Curve(times, waiting)


@dataclass(frozen=True)
class LogRank:
    """A log-rank test of two agents' waits: its z statistic (scipy's) and two-sided p."""

    first: str
    second: str
    statistic: float
    p_value: float


def log_rank_tests(all_waits: dict[str, Waits]) -> list[LogRank]:
    """The log-rank test between every pair of agents: do their waits differ?"""
    from scipy.stats import logrank

    tests = []
    for first, second in combinations(all_waits, 2):
        a, b = all_waits[first], all_waits[second]
        if not (a.reached.any() or b.reached.any()):
            continue  # neither ever got there: nothing to compare
        with warnings.catch_warnings():  # no seed at risk when the other's events happen
            warnings.simplefilter("ignore", RuntimeWarning)
            result = logrank(censored_data(a), censored_data(b))
        statistic, p_value = float(result.statistic), float(result.pvalue)
        if not np.isfinite(p_value):  # the two never overlap in time: nothing tells them apart
            statistic, p_value = 0.0, 1.0
        tests.append(LogRank(first, second, statistic, p_value))
    return tests
