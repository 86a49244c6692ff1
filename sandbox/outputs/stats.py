"""Statistics over seeds, with censored values kept censored.

A censored value (the agent never got there within its budget) is ``None``. A
median is a number only when more than half the seeds reached the event;
otherwise it is censored too and shown as "> budget".

Every figure over seeds comes with a 95 % confidence interval of its median:
scipy's bootstrap (percentile method, 9,999 resamples, a fixed generator so the
same results give the same interval). A censored seed enters the resampling as a
value above every number, so a bound that falls among censored resamples is
itself censored ("> budget"), never a number made up from the budget.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.stats import bootstrap

CONFIDENCE = 0.95
RESAMPLES = 9_999
_CENSORED = 1e15  #: stands for a censored seed in the resampling (no measured count comes near it)
#: a bound at least this large lies among censored resamples: the percentile method
#: interpolates between neighbouring resamples with weight 0.05 or 0.95 (9,999 resamples),
#: so a bound next to a censored one is at least 0.05 x 1e15
_CENSORED_FROM = 1e12
INTERVAL_NOTE = (
    "Brackets: 95 % bootstrap confidence interval of the median over seeds (scipy.stats.bootstrap, "
    "percentile, 9,999 resamples); none with one seed."
)


def censored_median(values: Sequence[float | None]) -> float | None:
    """Median treating ``None`` as larger than every number; ``None`` when that median is
    censored."""
    if not values:
        return None
    ordered = sorted(values, key=lambda v: math.inf if v is None else v)
    n = len(ordered)
    middle = ordered[(n - 1) // 2 : n // 2 + 1]
    if any(v is None for v in middle):
        return None
    return sum(middle) / len(middle)


def _censored_median_along(values: np.ndarray, axis: int = -1) -> np.ndarray:
    """The censored median of each resample: censored when either middle value is."""
    ordered = np.sort(values, axis=axis)
    n = ordered.shape[axis]
    low, high = np.take(ordered, (n - 1) // 2, axis=axis), np.take(ordered, n // 2, axis=axis)
    censored = (low >= _CENSORED_FROM) | (high >= _CENSORED_FROM)
    return np.where(censored, _CENSORED, (low + high) / 2)


def median_interval(values: Sequence[float | None]) -> tuple[float | None, float | None] | None:
    """The 95 % bootstrap confidence interval of the (censored) median over seeds, as
    (low, high) with ``None`` for a censored bound; ``None`` with fewer than two seeds."""
    if len(values) < 2:
        return None
    data = np.array([_CENSORED if v is None else float(v) for v in values])
    if np.all(data == data[0]):  # every resample is the same: the interval is the value
        bounds = (data[0], data[0])
    else:
        result = bootstrap(
            (data,),
            _censored_median_along,
            confidence_level=CONFIDENCE,
            n_resamples=RESAMPLES,
            method="percentile",
            vectorized=True,
            rng=np.random.default_rng(0),
        )
        bounds = (result.confidence_interval.low, result.confidence_interval.high)
    low, high = (None if b >= _CENSORED_FROM else float(b) for b in bounds)
    return low, high


def format_count(value: float | None, budget: int | None) -> str:
    """A count, or "> budget" when censored."""
    if value is None:
        return f"> {budget:,}" if budget is not None else "never"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def format_censored(values: Sequence[float | None], budget: int | None) -> str:
    """``median [95 % interval]`` over seeds, censored parts shown as "> budget", and how
    many seeds are censored."""
    if not values:
        return "-"
    text = format_count(censored_median(values), budget)
    if all(v is None for v in values):
        return text  # every seed censored: nothing more to say
    interval = median_interval(values)
    if interval is not None:
        text += f" [{format_count(interval[0], budget)} to {format_count(interval[1], budget)}]"
    censored = sum(v is None for v in values)
    return text + (f" ({censored} censored)" if censored and len(values) > 1 else "")


def format_rates(values: Sequence[float]) -> str:
    """``median [95 % interval]`` of rates over seeds, as percentages."""
    if not values:
        return "-"
    text = f"{100 * float(np.median(values)):.0f} %"
    interval = median_interval(values)
    return text + (f" [{100 * interval[0]:.0f} to {100 * interval[1]:.0f}]" if interval else "")


def format_fractions(values: Sequence[float | None]) -> str:
    """Median and interval of the known values (a censored ratio has no value: either of
    its two figures was never reached) and how many seeds are censored."""
    known = [v for v in values if v is not None]
    if not known:
        return "censored"
    text = f"{float(np.median(known)):.2f}"
    interval = median_interval(known)
    if interval is not None:
        text += f" [{interval[0]:.2f} to {interval[1]:.2f}]"
    missing = len(values) - len(known)
    return text + (f" ({missing} censored)" if missing else "")


def log_spaced_points(budget: int, count: int) -> list[int]:
    """About ``count`` distinct trial counts from 1 to ``budget``, log-spaced, ending at
    ``budget``."""
    if budget < 1:
        raise ValueError("budget must be at least 1")
    points = {1, budget}
    if budget > 1 and count > 2:
        ratio = budget ** (1.0 / (count - 1))
        points.update(max(1, round(ratio**k)) for k in range(count))
    # Fine resolution at the very start, where a planner decides.
    points.update(p for p in (1, 2, 3, 4, 5) if p <= budget)
    return sorted(points)
