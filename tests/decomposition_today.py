"""A decomposition study of the cells that exist today (a plug-in for the tests: ``--plugin
tests/decomposition_today.py --study decomposition-today``): SAC with 1 and 2 gradient steps a
launch, the learned model with absolute and relative angles, the planner (and the path
from the learned model in absolute angles to the planner). The learned-model
cells fit and plan a little, so a run of a few dozen launches takes seconds."""

from __future__ import annotations

from sandbox.studies import register_study
from sandbox.studies.decomposition import Pair, decomposition_study
from sandbox.tasks import Size

#: a learned model that fits and plans a little: the same code, a fraction of the seconds
QUICK = {"fit_steps": 20, "cem_population": 60, "cem_elites": 10, "cem_iterations": 2}

CELLS = {
    "sac": ("sac", {}),
    "sac-2": ("sac", {"gradient_steps": 2}),
    "lm-abs": ("learned-model", {**QUICK, "burn_angle_input": "absolute"}),
    "lm": ("learned-model", {**QUICK, "burn_angle_input": "relative"}),
    "planner": ("planner", {}),
}
PAIRS = (
    Pair("compute", "sac", "sac-2"),
    Pair("frame", "lm-abs", "lm"),
    Pair("physics model", "lm", "planner"),
    Pair("the whole distance", "sac", "planner"),
)
TINY = Size(budget=12, seeds=1, eval_episodes=3, eval_points_per_decade=2, agent_budgets={"sac": 8})

TODAY = register_study(
    decomposition_study(
        name="decomposition-today",
        description="the decomposition's mechanism on the cells that exist today",
        cells=CELLS,
        pairs=PAIRS,
        default=TINY,
        full=TINY,
        factors={"compute": "gradient steps per launch: 1 -> 2"},
        path=("lm-abs", "lm", "planner"),
    )
)
