"""The generalization study of the flight: the rocket's protocol, flown a whole flight at a
time.

Every agent trains only on a sector of Moon phases of the nominal world; then it flies a
grid of all phases x gravity scales (the planet's true GM scaled, hidden) and, in the
training sector, worlds whose engine fires off prograde by a hidden angle, physics the
planner's model lacks. In each changed world every agent may first spend ``k`` flights of
its own, for each ``k`` of ``identification_trials`` (0: zero-shot). Last, it moves to the
``super_earth`` world. The machinery is the rocket study's
(``sandbox.studies.generalization``); only the sizes are the flight's.

    python -m sandbox.compare flight --study generalization
"""

from __future__ import annotations

from dataclasses import replace

from sandbox.studies.generalization import GENERALIZATION
from sandbox.tasks import Size
from sandbox.tasks.flight import FLIGHT

#: the Moon phases every agent trains on (deg): a quarter of the orbit, on the cell edges of
#: both sizes' grids (4 and 12 cells)
TRAINING_SECTOR_DEG = (0.0, 90.0)

#: the rocket's study (its steps, tables, findings and plots) with the flight's worlds and sizes
FLIGHT_GENERALIZATION = replace(
    GENERALIZATION,
    task="flight",
    description="train on Moon phases 0-90 deg of the nominal world; fly a grid of all "
    "phases x gravity scales and worlds whose engine fires off prograde, after 0 or more "
    "flights there; then transfer to the super_earth world",
    env_kwargs={"moon_phase_deg": TRAINING_SECTOR_DEG},
    transfer_env_kwargs={"world": "super_earth", "moon_phase_deg": TRAINING_SECTOR_DEG},
    # The default run took 3 min 3 s to 4 min on 2 cores at load 5-6 (135-150 s of CPU, 3
    # runs). The planner's job is its longest (160-215 s): ~3.5 s of CPU an earth_moon
    # flight (it re-plans at each of ~35 decisions), ~1.1 s on super_earth, and it flies 2
    # training flights, 2 evaluation points of 3 + 3 (test and validation) flights, the
    # grid's 22 (4 cells at 1.0; at 0.9 and 1.1, 4 at k = 0, then 1 flight of its own and 4
    # more), the misspecified worlds' 7 and the transfer's on super_earth. The learners'
    # flights end at the first decisions: PPO's 3,000 took 8 s, SAC's 100 (a gradient step
    # a decision past its 100-step warm-up) 15 s, beside the planner on the other core.
    # k = 5 would add about 8 planner flights per changed world; --full runs it.
    default=Size(
        budget=3_000,
        seeds=1,
        eval_episodes=3,
        eval_points_per_decade=2,
        transfer_budget=100,
        agent_budgets={"planner": 2, "random": 300, "sac": 100, "learned-model": 30},
    ),
    # The reference (not yet run): the flight task's budgets and 5 seeds, and a transfer
    # stage. The planner flies ~1,350 flights a seed in the study's worlds (9 gravities x 12
    # cells x 2 flights per k, 32 flights of its own in each changed world at k = 32, the
    # misspecified worlds), about 1.3 CPU-hours a seed at 3.5 s a flight.
    full=replace(FLIGHT.full, transfer_budget=2_000),
    settings_default={
        "phase_cells": 4,
        "training_sector_deg": TRAINING_SECTOR_DEG,
        "gravity_scales": (0.9, 1.0, 1.1),
        "episodes_per_cell": 1,
        "identification_trials": (0, 1),
        "pointing_errors_deg": (0.0, 5.0),
        "misspecified_episodes": 2,
    },
    settings_full={
        "phase_cells": 12,
        "training_sector_deg": TRAINING_SECTOR_DEG,
        "gravity_scales": (0.8, 0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.15, 1.2),
        "episodes_per_cell": 2,
        "identification_trials": (0, 1, 5, 32),
        "pointing_errors_deg": (0.0, 1.0, 2.0, 5.0, 10.0),
        "misspecified_episodes": 10,
    },
)
