"""Statistics over seeds, with censored values kept censored.

A censored value (the agent never got there within its budget) is ``None``. A
median is a number only when more than half the seeds reached the event;
otherwise it is censored too and shown as "> budget".
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def censored_median(values: Sequence[float | None]) -> float | None:
    """Median treating ``None`` as larger than every number; ``None`` when that median is censored."""
    if not values:
        return None
    ordered = sorted(values, key=lambda v: math.inf if v is None else v)
    n = len(ordered)
    middle = ordered[(n - 1) // 2 : n // 2 + 1]
    if any(v is None for v in middle):
        return None
    return sum(middle) / len(middle)


def format_count(value: float | None, budget: int | None) -> str:
    """A count, or "> budget" when censored."""
    if value is None:
        return f"> {budget:,}" if budget is not None else "never"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def format_censored(values: Sequence[float | None], budget: int | None) -> str:
    """``median [min-max]`` over seeds, censored parts shown as "> budget"."""
    if not values:
        return "-"
    median = format_count(censored_median(values), budget)
    reached = [v for v in values if v is not None]
    if len(values) == 1 or not reached:
        return median
    low = format_count(min(reached), budget) if reached else format_count(None, budget)
    high = format_count(None, budget) if len(reached) < len(values) else format_count(max(reached), budget)
    return f"{median} [{low} to {high}]"


def format_rates(values: Sequence[float]) -> str:
    """``median [min-max]`` of rates, as percentages."""
    if not values:
        return "-"
    ordered = sorted(values)
    n = len(ordered)
    median = (ordered[(n - 1) // 2] + ordered[n // 2]) / 2
    if n == 1:
        return f"{100 * median:.0f} %"
    return f"{100 * median:.0f} % [{100 * ordered[0]:.0f} to {100 * ordered[-1]:.0f}]"


def log_spaced_points(budget: int, count: int) -> list[int]:
    """About ``count`` distinct trial counts from 1 to ``budget``, log-spaced, ending at ``budget``."""
    if budget < 1:
        raise ValueError("budget must be at least 1")
    points = {1, budget}
    if budget > 1 and count > 2:
        ratio = budget ** (1.0 / (count - 1))
        points.update(max(1, round(ratio**k)) for k in range(count))
    # Fine resolution at the very start, where a planner decides.
    points.update(p for p in (1, 2, 3, 4, 5) if p <= budget)
    return sorted(points)
