"""How long each agent took to get somewhere, as survival data: per seed, the trials to its
first success or to reliable, censored at its budget when it never got there. Kaplan-Meier
estimates of the share of seeds still waiting after a number of trials, and log-rank tests
between agents, by lifelines; the same censoring rule as the tables (never a number made
up from the budget)."""

from __future__ import annotations

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
    """One agent's seeds: trials waited (the event's trial count, or the budget) and whether
    the event was seen."""

    trials: np.ndarray
    reached: np.ndarray  #: bools: False where censored at the budget


@dataclass(frozen=True)
class Curve:
    """A Kaplan-Meier estimate: the share of seeds not yet there after ``trials`` trials,
    with its 95 % interval (exponential Greenwood, lifelines' default)."""

    trials: np.ndarray
    waiting: np.ndarray
    low: np.ndarray
    high: np.ndarray


def waits(summary: dict[str, Any], key: str) -> dict[str, Waits]:
    """Per agent of the summary, its seeds' waits for the event ``key``: censored seeds
    waited their whole budget."""
    result = {}
    for agent, entry in summary.items():
        values = entry.get(key)
        if values is None:
            continue
        trials = [entry["budget"] if v is None else v for v in values]
        result[agent] = Waits(np.array(trials, float), np.array([v is not None for v in values]))
    return result


def kaplan_meier(wait: Waits) -> Curve:
    from lifelines import KaplanMeierFitter

    fitter = KaplanMeierFitter().fit(wait.trials, event_observed=wait.reached)
    interval = fitter.confidence_interval_survival_function_
    return Curve(
        fitter.survival_function_.index.to_numpy(float),
        fitter.survival_function_.iloc[:, 0].to_numpy(float),
        interval.iloc[:, 0].to_numpy(float),
        interval.iloc[:, 1].to_numpy(float),
    )


@dataclass(frozen=True)
class LogRank:
    first: str
    second: str
    statistic: float
    p_value: float


def log_rank_tests(all_waits: dict[str, Waits]) -> list[LogRank]:
    """The log-rank test between every pair of agents: do their waits differ?"""
    from lifelines.statistics import logrank_test

    tests = []
    for first, second in combinations(all_waits, 2):
        a, b = all_waits[first], all_waits[second]
        if not (a.reached.any() or b.reached.any()):
            continue  # neither ever got there: nothing to compare
        result = logrank_test(a.trials, b.trials, a.reached, b.reached)
        tests.append(LogRank(first, second, float(result.test_statistic), float(result.p_value)))
    return tests
