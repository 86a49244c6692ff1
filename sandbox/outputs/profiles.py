"""Performance profiles of a run (Agarwal et al. 2021, "Deep RL at the edge of the
statistical precipice"): for each agent, the share of its seeds whose final held-out success
rate exceeds tau, for every tau from 0 to 100 % (rliable's score distribution), with an exact
95 % interval of that share at each tau (Clopper-Pearson, k of n seeds). A bootstrap over a
handful of seeds would collapse to no width where every seed lies on one side, so the band is
the binomial one, which holds its level at any number of seeds. Where a median says "50 %",
the profile shows whether every seed sits near 50 % or half the seeds learned and half did
not. Each agent is read at the end of its own budget, as the tables' final success is, and
"above" is strict: a seed at exactly 90 % is reliable (at or above the bar) but not above 90.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import binomtest

TAUS = np.linspace(0.0, 1.0, 101)  #: thresholds of held-out success, 0 to 100 % in 1 % steps
LEVEL = 0.95  #: of the band


@dataclass(frozen=True)
class Profile:
    """An agent's profile: the share of seeds above each of ``TAUS``, and its 95 % band."""

    share: np.ndarray
    low: np.ndarray
    high: np.ndarray
    seeds: int


def final_success(summary: dict[str, Any]) -> dict[str, np.ndarray]:
    """Each agent's final held-out success rate per seed (seeds without one left out)."""
    found = {}
    for agent, entry in summary.items():
        rates = [r for r in entry.get("final_success_rate", []) if r is not None]
        if rates:
            found[agent] = np.array(rates, dtype=float)
    return found


def performance_profiles(scores: dict[str, np.ndarray]) -> dict[str, Profile]:
    """Each agent's ``Profile`` from its seeds' scores: the share by rliable, the band exact."""
    if not scores:
        return {}
    with warnings.catch_warnings():  # rliable and arch warn about their own dependencies
        warnings.simplefilter("ignore")
        from rliable.library import score_distributions

    profiles = {}
    for agent, seeds in scores.items():
        share = np.asarray(score_distributions(seeds.reshape(-1, 1), TAUS), dtype=float)
        n = len(seeds)
        low, high = zip(*(_exact(int(round(s * n)), n) for s in share), strict=True)
        profiles[agent] = Profile(share, np.array(low), np.array(high), n)
    return profiles


def _exact(k: int, n: int) -> tuple[float, float]:
    """The Clopper-Pearson interval of k successes in n at ``LEVEL``."""
    interval = binomtest(k, n).proportion_ci(confidence_level=LEVEL, method="exact")
    return float(interval.low), float(interval.high)
