"""The flight task: one flight per trial, steered from the parking orbit to an orbit
about the Moon (``sandbox/RocketFlight-v0``)."""

from __future__ import annotations

import envs
from sandbox.tasks import Size, Task
from sandbox.tasks.flight_pictures import (
    animate_flight,
    flight_outcome,
    flight_trace,
    flight_training_trace,
    plot_flight_trajectories,
)
from sandbox.tasks.rocket import WORLD_OPTION, world_files

FLIGHT = Task(
    name="flight",
    description="fly a rocket into orbit about the Moon: a departure, midcourse corrections "
    "and a braking burn, one flight (tens of decisions) per trial",
    env_id=envs.FLIGHT_ID,
    agents=("planner", "random", "ppo", "sac"),
    # The default run fits in 5 minutes on 2 cores with one seed: 2 min 49 s at load 8 (without
    # SAC: 2 min 9 s and 3 min 55 s at load 7-8). Its longest job is the planner's: it
    # re-plans at each of ~30 decisions, 2.3-2.7 s of CPU a flight (9-16 s of wall time at
    # load 7-9), and it flies 2 training flights (reliable at the first two evaluation
    # points) and 2 evaluations of 5: 106-200 s at that load, ~30 s of CPU. PPO flies 270-490
    # flights/s, its flights ending at the first decisions: 10,000 flights and their
    # evaluations took 38-59 s. SAC makes a gradient step per decision, 2-10 flights/s past
    # its 100-step warm-up: 500 flights took 69 s, beside PPO on the other core. TD3 is as
    # slow and settled on emptying its tank at the first decision (agents/settings/td3.toml):
    # it joins with --agents ...,td3.
    # The learned model joins with --agents ...,learned-model: it re-plans at every decision
    # and refits after every flight, about 8 s a training flight at load 7, so its 100
    # flights alone would take the default run past 5 minutes (and it captures none yet:
    # agents/flight_learned.py).
    default=Size(
        budget=10_000,
        seeds=1,
        eval_episodes=5,
        eval_points_per_decade=2,
        # learned-model (when asked for): about 8 s a training flight on the loaded machine
        agent_budgets={"planner": 3, "random": 300, "sac": 500, "learned-model": 100},
    ),
    # The reference: PPO 10^5 flights, the off-policy learners 10^4, the learned model 300
    # (TD3 and it with --agents planner,random,ppo,sac,td3,learned-model: the learned model
    # at about 5 s a flight), 5 seeds, every agent read on one grid of 5
    # points a decade (a resolution of 1.6x in flights to reliable).
    full=Size(
        budget=100_000,
        seeds=5,
        eval_episodes=20,
        eval_points_per_decade=5,
        agent_budgets={
            "planner": 10,
            "random": 1_000,
            "sac": 10_000,
            "td3": 10_000,
            "learned-model": 300,
        },
    ),
    env_kwargs={"world": "earth_moon"},
    trials_word="flights",
    options=(WORLD_OPTION,),
    trace=flight_trace,
    trace_training=flight_training_trace,
    plots=(plot_flight_trajectories,),
    data_files=world_files,
    animate_episode=animate_flight,
    episode_outcome=flight_outcome,
    episode_noun="flight",
)
