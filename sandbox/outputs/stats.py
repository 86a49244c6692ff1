"""Statistics over seeds, with censored values kept censored.

A censored value (the agent never got there within its budget) is ``None``. A
median is a number only when more than half the seeds reached the event;
otherwise it is censored too and shown as "> budget".

Every figure over seeds comes with a confidence interval of its median between two order
statistics of the seeds (distribution-free: the number of seeds below the true median is
binomial with p = 1/2). The pair is the narrowest whose coverage is at least 95 %; with
fewer than 6 seeds no pair reaches 95 %, and the interval is the range of the seeds with
the coverage it has (75 % with 3 seeds, 94 % with 5), which the tables' note states. A
censored seed sorts above every number, so a bound that is a censored seed is itself
censored ("> budget"), never a number made up from the budget.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from functools import cache

import numpy as np
from scipy.stats import binom, binomtest

CONFIDENCE = 0.95


def interval_note(seed_counts: Iterable[int]) -> str:
    """How to read the brackets of tables whose rows have these numbers of seeds: which
    order statistics each count uses and the coverage they actually have."""
    parts = []
    for seeds in sorted(set(seed_counts)):
        if seeds <= 1:
            parts.append("none with one seed")
            continue
        rank = order_rank(seeds)
        which = (
            "the range of the seeds"
            if rank == 1
            else f"the {ordinal(rank)} lowest to the {ordinal(rank)} highest seed"
        )
        coverage = 100 * interval_coverage(seeds, rank)
        parts.append(f"{which} with {seeds} seeds ({coverage:.0f} % coverage)")
    return (
        "Brackets: confidence interval of the median over seeds between two order statistics "
        "(distribution-free: at least this coverage for any distribution of the figure, exactly it "
        "for a continuous one; trial counts on a grid tie, and then cover more): "
        + "; ".join(parts)
        + "."
    )


def coverage_words(seed_counts: Iterable[int]) -> str:
    """The level the median's interval has with these numbers of seeds, in a few words for a
    plot ("75 % coverage with 3 seeds"; "none with one seed")."""
    parts = []
    for seeds in sorted(set(seed_counts)):
        if seeds <= 1:
            parts.append("none with one seed")
        else:
            coverage = 100 * interval_coverage(seeds, order_rank(seeds))
            parts.append(f"{coverage:.0f} % coverage with {seeds} seeds")
    return ", ".join(parts)


def ordinal(n: int) -> str:
    return f"{n}{'st' if n == 1 else 'nd' if n == 2 else 'rd' if n == 3 else 'th'}"


@cache
def order_rank(seeds: int) -> int:
    """The rank k (1-based) of the lower order statistic of the median's interval: the
    largest k whose interval (k-th lowest to k-th highest) covers the median with at least
    95 %, else 1 (the range of the seeds)."""
    best = 1
    for k in range(1, seeds // 2 + 1):
        if interval_coverage(seeds, k) >= CONFIDENCE:
            best = k
    return best


def interval_coverage(seeds: int, rank: int) -> float:
    """The probability that the rank-th lowest to the rank-th highest of ``seeds`` draws
    holds the true median, for any continuous distribution."""
    return float(1.0 - 2.0 * binom.cdf(rank - 1, seeds, 0.5))


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


def median_interval(values: Sequence[float | None]) -> tuple[float | None, float | None] | None:
    """The confidence interval of the (censored) median over seeds, as (low, high) between
    the order statistics ``order_rank`` chooses, ``None`` for a censored bound; ``None``
    with fewer than two seeds."""
    if len(values) < 2:
        return None
    ordered = sorted(values, key=lambda v: math.inf if v is None else v)
    rank = order_rank(len(ordered))
    low, high = ordered[rank - 1], ordered[len(ordered) - rank]
    return (None if low is None else float(low), None if high is None else float(high))


def format_count(value: float | None, budget: int | None) -> str:
    """A count, or "> budget" when censored."""
    if value is None:
        return f"> {budget:,}" if budget is not None else "never"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def format_censored(values: Sequence[float | None], budget: int | None) -> str:
    """``median [interval]`` over seeds, censored parts shown as "> budget", and how
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


def format_median(values: Sequence[float], number: Callable[[float], str], unit: str = "") -> str:
    """``median unit [interval]`` over seeds, each figure written by ``number``; "-" for none."""
    if not values:
        return "-"
    interval = median_interval(values)
    text = number(float(np.median(values))) + unit
    return text + (f" [{number(interval[0])} to {number(interval[1])}]" if interval else "")


def format_rates(values: Sequence[float]) -> str:
    """``median [interval]`` of rates over seeds, as percentages."""
    return format_median(values, lambda rate: f"{100 * rate:.0f}", " %")


#: a ratio per seed as the bounds the data give it: (low, high), ``high`` None for no upper
#: bound; equal bounds are a measured value
Bounds = tuple[float, float | None]


def ratio_bounds(
    numerator: float | None,
    denominator: float | None,
    budget: float,
    denominator_budget: float | None = None,
) -> Bounds:
    """What a ratio of two trial counts is known to be when either may be censored at its
    budget (``None``: never reached within it): ``budget`` for the numerator and
    ``denominator_budget`` (default: the same) for the denominator. Numerator censored: the
    ratio is above budget / denominator; denominator censored: below numerator /
    denominator_budget (0 when the numerator is 0); both: anything. A denominator of 0
    trials (and a numerator above it) makes the ratio infinite: above any bound, and so
    above the one it would have with 1 trial."""
    if numerator is not None and denominator is not None:
        if numerator == 0:
            return (0.0, 0.0)
        if denominator == 0:
            return (float(numerator), None)
        value = numerator / denominator
        return (value, value)
    if numerator is None and denominator is None:
        return (0.0, None)
    if numerator is None:
        return (budget / max(float(denominator), 1.0), None)
    return (0.0, numerator / (budget if denominator_budget is None else denominator_budget))


def format_p(value: float) -> str:
    """A p-value as the plots and pages write it, with its relation: "= 0.003", "< 0.001"."""
    return f"= {value:.3f}" if value >= 0.001 else "< 0.001"


def two_decimals(value: float) -> str:
    """A fraction as the tables show it: 0.25."""
    return f"{value:.2f}"


def _bounded(
    low: float | None, high: float | None, number: Callable[[float], str] = two_decimals
) -> str:
    """One figure known to lie between ``low`` and ``high`` (None: no upper bound), each
    written by ``number``; bounds within 1 % of each other (the grid's rounding, far below
    its step of 1.58x) are one figure."""
    if low is None:  # a percentile that fell among unbounded values, on the low side
        low = 0.0
    if high is not None and (
        abs(high - low) < 5e-5 or number(low) == number(high) or 0 < low <= high < 1.01 * low
    ):
        # bounds that print alike (6,310 / 1,000 and 10,000 / 1,585), or that differ only by
        # the grid's rounding (6,310 / 398 = 15.85 and 10,000 / 631 = 15.848: "15.8..15.9")
        return number(low)
    if high is None:
        return "unknown" if low <= 0 else f"> {number(low)}"
    if low <= 0:
        return f"< {number(high)}"
    return f"{number(low)}..{number(high)}"


def bounds_median(bounds: Sequence[Bounds]) -> Bounds:
    """The median over seeds of a figure each seed knows only as bounds (``Bounds``): as
    (low, high), the median of the seeds' lower bounds and of their upper bounds (``None``
    where that median falls among unbounded seeds). Every table, sentence and plot of such a
    figure reads it from here and from ``bounds_interval``."""
    return (
        censored_median([low for low, _ in bounds]) or 0.0,
        censored_median([high for _, high in bounds]),
    )


def bounds_interval(bounds: Sequence[Bounds]) -> tuple[Bounds, Bounds] | None:
    """The interval of ``bounds_median``: its start and its end, each as (low, high)
    computed on the seeds' lower bounds and on their upper bounds alike (``None`` for no
    upper bound); ``None`` with fewer than two seeds."""
    low_interval = median_interval([low for low, _ in bounds])
    high_interval = median_interval([high for _, high in bounds])
    if low_interval is None or high_interval is None:
        return None
    return (low_interval[0] or 0.0, high_interval[0]), (low_interval[1] or 0.0, high_interval[1])


def format_fractions(
    bounds: Sequence[Bounds], number: Callable[[float], str] = two_decimals
) -> str:
    """``median [interval]`` of a ratio over seeds, every seed counted: a censored ratio
    enters as the bound its data give it (``ratio_bounds``). The median and each end of the
    interval are computed on the seeds' lower bounds and on their upper bounds alike: where
    the two agree the figure is a number, else it is shown as a bound ("> 2.00", "< 0.30")
    or a range ("0.25..0.50"), each number written by ``number``. The count of seeds
    censored each way follows."""
    if not bounds:
        return "-"
    text = _bounded(*bounds_median(bounds), number)
    interval = bounds_interval(bounds)
    if text == "unknown":  # too few seeds bound it: the median itself is censored
        text = "censored"
    elif interval is not None:
        start, end = (_bounded(low, high, number) for low, high in interval)
        text += f" [{start} to {end}]"
    if all(low <= 0 and high is None for low, high in bounds):
        return text  # no seed says anything: both figures never reached on every seed
    above = sum(high is None and low > 0 for low, high in bounds)
    below = sum(high is not None and low < high and low <= 0 for low, high in bounds)
    unknown = sum(high is None and low <= 0 for low, high in bounds)
    notes = [
        f"{count} {words}"
        for count, words in (
            (above, "above a bound"),
            (below, "below a bound"),
            (unknown, "unknown"),
        )
        if count
    ]
    return text + (f" ({', '.join(notes)})" if notes and len(bounds) > 1 else "")


def format_count_bounds(bounds: Sequence[Bounds]) -> str:
    """``median [interval]`` over seeds of a count that some seeds never reached, each such
    seed known only to lie above its own bound (the deaths paid until a success that never
    came: above the deaths that seed paid in its whole budget). As in ``format_fractions``,
    the median and each end of the interval are computed on the seeds' lower bounds and on
    their upper bounds alike: a number where the two agree, "> low" where the upper is
    unbounded, else "low..high"; the count of censored seeds follows."""
    if not bounds:
        return "-"

    def shown(low: float | None, high: float | None) -> str:
        if high is None:
            return f"> {format_count(low, None)}"
        if low == high:
            return format_count(low, None)
        return f"{format_count(low, None)}..{format_count(high, None)}"

    text = shown(*bounds_median(bounds))
    interval = bounds_interval(bounds)
    if interval is not None:
        start, end = (shown(low, high) for low, high in interval)
        text += f" [{start} to {end}]"
    censored = sum(high is None for _, high in bounds)
    return text + (f" ({censored} censored)" if censored and len(bounds) > 1 else "")


def wilson_interval(successes: int, episodes: int) -> tuple[float, float]:
    """The 95 % Wilson score interval of a success rate, ``successes`` of ``episodes``
    (scipy's): unlike the normal approximation's it stays within 0 to 1 and has a width at
    no success and at all successes (0 to 16 % for 0 of 20)."""
    if episodes < 1 or not 0 <= successes <= episodes:
        raise ValueError(f"need 0 <= successes <= episodes >= 1, got {successes} of {episodes}")
    interval = binomtest(successes, episodes).proportion_ci(CONFIDENCE, method="wilson")
    return float(interval.low), float(interval.high)


#: the first evaluation points of every grid, one trial apart: a planner decides within them
FIRST_POINTS = (1, 2, 3, 4, 5)


def evaluation_grid(points_per_decade: int, budget: int) -> list[int]:
    """The trial counts at which a run evaluates its agents, up to ``budget``: 1 to 5, then
    ``points_per_decade`` log-spaced points in every tenfold of trials, the powers of ten among
    them (10, 100, 1,000, ...), and ``budget`` itself. Neighbouring points differ by a factor
    of 10 ** (1 / points_per_decade), 1.585 for 5 a decade (1,000, 1,585, 2,512, ...), give or
    take the rounding to whole trials below 100 (6 to 10: 1.67). A job of a smaller budget is
    evaluated at the points below its budget and at its budget: the same grid."""
    if budget < 1 or points_per_decade < 1:
        raise ValueError(
            f"budget and points per decade must be at least 1, got {budget} and {points_per_decade}"
        )
    points = {point for point in FIRST_POINTS if point <= budget} | {budget}
    step = 0
    while (point := round(10 ** (step / points_per_decade))) < budget:
        points.add(point)
        step += 1
    return sorted(points)


def points_within(grid: Sequence[int], budget: int) -> list[int]:
    """The points of a run's grid at which a job of ``budget`` trials is evaluated: those
    below its budget, then the budget itself."""
    return sorted({point for point in grid if point < budget} | {budget})


def log_spaced_points(budget: int, count: int) -> list[int]:
    """About ``count`` distinct trial counts from 1 to ``budget``, log-spaced, ending at
    ``budget`` (a tuning study's grid, and each job's own before runs shared one)."""
    if budget < 1:
        raise ValueError("budget must be at least 1")
    points = {1, budget}
    if budget > 1 and count > 2:
        ratio = budget ** (1.0 / (count - 1))
        points.update(max(1, round(ratio**k)) for k in range(count))
    points.update(p for p in FIRST_POINTS if p <= budget)
    return sorted(points)
