"""Performance profiles of a run (Agarwal et al. 2021, "Deep RL at the edge of the
statistical precipice"): for each agent, the share of its seeds whose final held-out success
rate exceeds tau, for every tau from 0 to 100 %, with a 95 % percentile-bootstrap band over
the seeds (rliable's stratified bootstrap; a run is one task, so it resamples seeds). Where a
median says "50 %", the profile shows whether every seed sits near 50 % or half the seeds
learned and half did not. Each agent is read at the end of its own budget, as the tables'
final success is."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

TAUS = np.linspace(0.0, 1.0, 101)  #: thresholds of held-out success, 0 to 100 % in 1 % steps
BOOTSTRAP_REPS = 2_000  #: rliable's default
BOOTSTRAP_SEED = 0  #: the band is the same each time a run is plotted


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
    """Each agent's ``Profile`` from its seeds' scores (rliable; bootstrap seeded, the global
    numpy generator left as it was)."""
    if not scores:
        return {}
    with warnings.catch_warnings():  # rliable and arch warn about their own dependencies
        warnings.simplefilter("ignore")
        from rliable import library as rly

        state = np.random.get_state()
        np.random.seed(BOOTSTRAP_SEED)  # arch's bootstrap draws from numpy's global generator
        try:
            shares, bands = rly.create_performance_profile(
                {agent: s.reshape(-1, 1) for agent, s in scores.items()},  # seeds x one task
                TAUS,
                reps=BOOTSTRAP_REPS,
                confidence_interval_size=0.95,
            )
        finally:
            np.random.set_state(state)
    return {
        agent: Profile(shares[agent], bands[agent][0], bands[agent][1], len(scores[agent]))
        for agent in scores
    }
