"""A ratio of two censored figures has a direction: it enters the statistics as a bound."""

from __future__ import annotations

from sandbox.outputs.results import format_cell
from sandbox.outputs.stats import _bounded, format_fractions, ratio_bounds
from sandbox.studies.decomposition_plot import ratio_number


def test_a_censored_numerator_is_a_lower_bound_and_a_censored_denominator_an_upper_one():
    assert ratio_bounds(None, 500, budget=2000) == (4.0, None)  # continued never: above 4
    assert ratio_bounds(500, None, budget=2000) == (0.0, 0.25)  # fresh never: below 0.25
    assert ratio_bounds(0, None, budget=2000) == (0.0, 0.0)  # reliable on arrival: exactly 0
    assert ratio_bounds(None, None, budget=2000) == (0.0, None)  # neither: anything
    assert ratio_bounds(250, 500, budget=2000) == (0.5, 0.5)


def entry(continued: list[int | None], fresh: list[int | None]) -> dict:
    seeds = list(range(len(continued)))
    return {
        "seeds": seeds,
        "budget": 2000,
        "transfer_budget": 2000,
        "scratch_seeds_missing": [],
        "transfer_trials_to_reliable": continued,
        "scratch_trials_to_reliable": fresh,
        "relearn_fraction": [None] * len(seeds),  # as the summary keeps it: null if censored
    }


def test_a_ratio_censored_above_is_shown_as_a_bound_and_moves_the_median():
    """Three seeds: 0.5, 1.0 and one whose continued learner never got there while the fresh
    one did at 500 (above 4). Dropping it would give 0.75; counted, the median is 1.00 and the
    interval's top is a bound."""
    cell = format_cell(entry([250, 500, None], [500, 500, 500]), "relearn_fraction", "fraction")
    assert cell.startswith("1.00 [0.50 to > ")
    assert cell.endswith("(1 above a bound)")


def test_a_ratio_censored_below_is_shown_as_a_bound_and_enters_the_interval():
    """The fresh learner never got there on two of three seeds: those ratios are below
    continued / budget, and so is the median."""
    cell = format_cell(entry([100, 200, 400], [None, None, 400]), "relearn_fraction", "fraction")
    assert cell.startswith("< 0.10 [< 0.05 to ")
    assert cell.endswith("(2 below a bound)")


def test_no_seed_is_dropped():
    """A ratio nobody measured stays in the count; with too few bounded seeds the median is
    censored rather than read off the others."""
    assert format_fractions([(0.5, 0.5), (0.0, None), (0.0, None)]) == "censored (2 unknown)"
    assert format_fractions([(0.5, 0.5), (0.5, 0.5), (0.0, None)]).startswith("0.50 [")
    assert format_fractions([(0.0, None)] * 3) == "censored"


def test_a_denominator_of_no_trials_makes_the_ratio_a_bound_never_a_made_up_number():
    # 5 trials against 0: infinite, so above any bound (and above 5 / 1)
    assert ratio_bounds(5, 0, 100) == (5.0, None)
    # censored at a budget of 100 against 0: above 100 / 1
    assert ratio_bounds(None, 0, 100) == (100.0, None)
    # none against none: the continued agent needed nothing, a fraction of 0
    assert ratio_bounds(0, 0, 100) == (0.0, 0.0)
    assert format_fractions([ratio_bounds(5, 0, 100)]).startswith("> 5.00")


def test_bounds_that_print_alike_are_one_number_not_a_range():
    """Grid points are rounded (6,310 and 1,585 are 10^3.8 and 10^3.2), so the same grid step
    seen from two seeds gives ratios a hair apart: printed alike, they are one figure."""
    one_step = [
        ratio_bounds(6_310, 1_000, 10_000),
        ratio_bounds(None, 1_585, 10_000),  # above 10,000 / 1,585 = 6.309...
        ratio_bounds(6_310, 1_000, 10_000),
    ]
    text = format_fractions(one_step)
    assert ".." not in text.split(" (")[0], text
    assert text.startswith("6.31 [6.31 to > 6.31]"), text
    # rounded grid points may print a hair apart (15.85 as "15.8" and "15.9"): one figure too
    near = [ratio_bounds(6_310, 398, 10_000), ratio_bounds(None, 631, 10_000)]
    assert _bounded(near[1][0], near[0][0], ratio_number) == "15.8", near
    # where the bounds are a grid step apart they stay a range
    assert _bounded(1.0, 1.59) == "1.00..1.59"
