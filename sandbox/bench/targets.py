"""Every target of the bench, with its reason, and the figure that is set beside one.

A target is a bound (``at least`` or ``at most``) on one figure. Most are fixed numbers
below; two are set in the run itself: the city's step rate must reach LunarLander-v3's,
measured beside it (``city_steps_target``), and a rocket learner's share of time in the
env must stay below what launches at their speed target would take beside the rest of
its training time (``rocket_env_share_target``). A figure's ``ratio`` is its value over
its target: at least 1 is "ok" for an ``at least`` target, at most 1 for an ``at most``
one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

AT_LEAST, AT_MOST = "at least", "at most"


@dataclass(frozen=True)
class Target:
    relation: str  #: AT_LEAST or AT_MOST
    value: float  #: in the figure's unit; positive
    reason: str  #: why this bound, in a sentence or two (printed in bench.json)


@dataclass(frozen=True)
class Figure:
    """One measured figure beside its target."""

    name: str  #: key in bench.json, e.g. "rocket_launches_per_s"
    label: str  #: what the printed line calls it
    value: float
    unit: str
    target: Target
    #: what else the measurement found (counts, rates compared with, the core share), for bench.json
    details: dict[str, Any] = field(default_factory=dict)
    note: str = ""  #: one line printed under the figure, or ""

    @property
    def ratio(self) -> float:
        return self.value / self.target.value

    @property
    def ok(self) -> bool:
        if not math.isfinite(self.value):
            return False
        return self.ratio >= 1.0 if self.target.relation == AT_LEAST else self.ratio <= 1.0

    def to_json(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "unit": self.unit,
            "target": self.target.value,
            "relation": self.target.relation,
            "ratio": self.ratio,
            "ok": self.ok,
            "reason": self.target.reason,
            "details": self.details,
        }


# ---------------------------------------------------------------- the rocket

ROCKET_LAUNCHES_PER_S = Target(
    AT_LEAST,
    100.0,
    "A default rocket comparison flies at most about 17,000 launches (6 agents x 3 seeds: training "
    "and "
    "held-out evaluations) on 2 cores; at 100 launches/s a core that is about 85 s of its 3 "
    "minutes, the "
    "rest left for learning.",
)
ROCKET_ARRIVAL_ERROR = Target(
    AT_MOST,
    0.10,
    "The simulator's accuracy target (tests/test_rocket_env.py): a hit lands within a tenth of the "
    "Moon's "
    "radius of where an independent integrator (solve_ivp DOP853, rtol 1e-10) of the same "
    "equations lands it.",
)
ROCKET_REFERENCE_HITS_LANDED = Target(
    AT_LEAST,
    1.0,
    "The scored launches are drawn from the middle 90 % of each interval of hitting burn angles, "
    "away from "
    "grazes, so the simulator must land every one the reference lands.",
)

# ---------------------------------------------------------------- the flight

FLIGHT_DECISIONS_PER_S = Target(
    AT_LEAST,
    2_000.0,
    "A learner makes ~30 decisions a flight once it leaves the parking orbit, and the reference "
    "trains PPO on 10^5 flights: at 2,000 decisions a second of one core that is 25 minutes of "
    "simulation beside PPO's ~2,300 steps/s of learning, so the env is never the larger part. "
    "Measured per second of the process's CPU time, beside LunarLander-v3's.",
)

# ---------------------------------------------------------------- the city


def city_steps_target(lander_steps_per_s: float) -> Target:
    return Target(
        AT_LEAST,
        lander_steps_per_s,
        "A grid of cells and a few dozen cars should step no slower than a Box2D physics env, so a "
        "learner "
        "is never slower on the city than on LunarLander-v3: at least LunarLander-v3's steps/s, "
        "measured "
        "in the same run with the same random actions.",
    )


# ---------------------------------------------------------------- the planners

ROCKET_PLAN_S = Target(
    AT_MOST,
    0.5,
    "The planner plans every launch it flies. In a default comparison it is reliable at once, so "
    "it flies "
    "a few training launches and two evaluations of 30 held-out launches per seed, about 200 plans "
    "in all; "
    "at 0.5 s a plan that is under a minute of the run's 3 minutes on 2 cores.",
)
ROCKET_PLANNER_HITS = Target(
    AT_LEAST,
    0.9,
    "Once it has identified the world from its first launch, the planner should hit as a reliable "
    "agent "
    "does: the comparison's reliable bar, 90 %.",
)
CITY_DECISION_MS = Target(
    AT_MOST,
    1.0,
    "The planner replans every tick. At 1 ms a decision it walks at 1,000 ticks/s, within a small "
    "factor "
    "of a learner acting through SB3's predict, so its walks never dominate a run's time.",
)
CITY_WALKS_WITHOUT_DEATH = Target(
    AT_LEAST,
    1.0,
    "The planner plans against every move its model allows the cars; a death means the model or "
    "the "
    "search is wrong (the claim under test: safe behaviour without having to die even once).",
)
CITY_PLANNER_SUCCESS = Target(
    AT_LEAST,
    0.9,
    "Without training the planner should cross as a reliable agent does: the comparison's reliable "
    "bar, 90 %.",
)

# ---------------------------------------------------------------- the learners

LEDGER_SHARE = Target(
    AT_MOST,
    0.01,
    "The ledger counts every trial of every agent; it must cost nothing beside what it counts: at "
    "most "
    "1 % of a learner's training time (the share includes one timing wrapper's call, so it is an "
    "upper bound).",
)


CITY_ENV_SHARE = Target(
    AT_MOST,
    0.10,
    "A city step is cheap beside a learner's gradient steps, as Gymnasium's own envs are "
    "(CartPole's is about "
    "2 % of SB3 DQN's time by the machine's reference rates, 150k against 2.6k steps/s): at most a "
    "tenth of "
    "the learner's time, so a faster city could not save it more than that.",
)


def rocket_env_share_target(
    rest_s_per_step: float, launches_per_s: float = ROCKET_LAUNCHES_PER_S.value
) -> Target:
    """A launch is a whole flight, so the env takes most of a rocket learner's time by design:
    the target is the share it would take at its speed target, beside the ledger's and SB3's
    time per step (``rest_s_per_step``, s) measured in the same training run."""
    launch_s = 1.0 / launches_per_s
    return Target(
        AT_MOST,
        launch_s / (launch_s + rest_s_per_step),
        "One launch is a whole flight, so the env takes most of a rocket learner's time by "
        "design. The target "
        f"is the share it would take flying {launches_per_s:.0f} launches/s (its speed target) "
        "beside the "
        "ledger's and SB3's time per launch measured in the same training run; a larger share "
        "means the "
        "launches run slower inside training than their target.",
    )


# ---------------------------------------------------------------- the default comparisons

COMPARE_WALL_S = {
    "rocket": Target(
        AT_MOST,
        180.0,
        "The README's first command: the default rocket comparison runs in a few minutes on a "
        "2-core "
        "laptop; its limit is 3 minutes.",
    ),
    "city": Target(
        AT_MOST,
        300.0,
        "The default city comparison trains 6 agents in two cities; its limit is 5 minutes on 2 "
        "cores.",
    ),
}
