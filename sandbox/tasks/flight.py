"""The flight task: one flight per trial, steered from the parking orbit to an orbit
about the Moon (``sandbox/RocketFlight-v0``)."""

from __future__ import annotations

import envs
from sandbox.tasks import Option, Size, Task
from sandbox.tasks.rocket import check_world, rocket_flight, rocket_trace, world_files

FLIGHT = Task(
    name="flight",
    description="fly a rocket into orbit about the Moon: a departure, midcourse corrections "
    "and a braking burn, one flight (tens of decisions) per trial",
    env_id=envs.FLIGHT_ID,
    agents=("planner", "learned-model", "random", "ppo"),
    # A first look, not yet a reference: the planner spends seconds a flight (it re-plans
    # at each of ~40 decisions), so it gets a few flights and few evaluation episodes; the
    # learners' budgets are placeholders until they are tuned for this task.
    default=Size(
        budget=300,
        seeds=1,
        eval_episodes=5,
        eval_points_per_decade=2,
        # learned-model: about 8 s a training flight on the loaded machine (it re-plans at
        # every decision and refits after every flight)
        agent_budgets={"planner": 3, "random": 100, "learned-model": 100},
    ),
    full=Size(
        budget=10_000,
        seeds=3,
        eval_episodes=20,
        eval_points_per_decade=3,
        agent_budgets={"planner": 10, "random": 1_000, "learned-model": 300},
    ),
    env_kwargs={"world": "earth_moon"},
    trials_word="flights",
    options=(
        Option(
            "--world",
            "world",
            "a world preset name or a path to a world TOML file (default: earth_moon)",
            parse=check_world,
            metavar="WORLD",
        ),
    ),
    trace=rocket_trace,
    trace_training=rocket_flight,
    data_files=world_files,
    episode_noun="flight",
)
