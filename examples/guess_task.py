"""A third task and a study of it, in one module (docs/adding-a-task.md).

The task: the observation is a signal in [-1, 1]; guess its sign (action 1 for
positive, 0 for negative) in one step. The study "mirrored" trains as usual, then
asks every agent to guess signs it has never seen in training: the signal mirrored.

    python -m sandbox.compare guess --plugin examples/guess_task.py --agents random,ppo
    python -m sandbox.compare guess --plugin examples/guess_task.py --study mirrored
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import matplotlib.pyplot as plt
import numpy as np

from agents import Agent
from sandbox.outputs.run_data import RunData
from sandbox.pictures.drawing import color
from sandbox.studies import Study, StudyContext, register_study
from sandbox.tasks import Size, Task, register_task


class GuessEnv(gym.Env):
    """One step: see a signal, guess its sign.

    ``mirrored`` flips the signal's sign and the answer.
    """

    def __init__(self, mirrored: bool = False):
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self.mirrored = mirrored

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.signal = float(self.np_random.uniform(0.1, 1.0) * self.np_random.choice([-1.0, 1.0]))
        observation = -self.signal if self.mirrored else self.signal
        return np.array([observation], np.float32), {}

    def step(self, action):
        hit = int(action) == int(self.signal > 0)
        return np.zeros(1, np.float32), float(hit), True, False, {"is_success": hit}


gym.register("guess/Guess-v0", entry_point=GuessEnv)

GUESS = register_task(
    Task(
        name="guess",
        description="guess the sign of a signal in one step",
        env_id="guess/Guess-v0",
        agents=("random", "ppo"),
        default=Size(budget=200, seeds=2, eval_episodes=20, eval_points_per_decade=2),
        full=Size(budget=2_000, seeds=5, eval_episodes=100, eval_points_per_decade=3),
    )
)


def mirrored_success(agent: Agent, context: StudyContext) -> dict[str, Any]:
    """Held-out success with the signal mirrored: the agent never trained on that."""
    env = context.task.make_env(**context.env_kwargs, mirrored=True)
    hits = 0
    for i in range(context.settings["episodes"]):
        observation, info = env.reset(seed=context.eval_seed_base + i)
        _, _, _, _, info = env.step(agent.act(observation, info))
        hits += info["is_success"]
    env.close()
    return {"success": hits / context.settings["episodes"]}


def summarise(
    jobs: list[dict[str, Any]], agents: list[str], settings: dict[str, Any]
) -> dict[str, Any]:
    return {
        "mirrored_success": {
            agent: float(
                np.mean(
                    [
                        j["mirrored"]["success"]
                        for j in jobs
                        if j["agent"] == agent and "mirrored" in j
                    ]
                )
            )
            for agent in agents
        }
    }


def table(summary_file: dict[str, Any]) -> list[tuple[str, str]]:
    rows = [
        f"{agent:<8}  {100 * rate:.0f} %"
        for agent, rate in summary_file["mirrored_success"].items()
    ]
    return [
        (
            "Success with the signal mirrored",
            "\n".join(["agent     mirrored", "--------  --------", *rows]),
        )
    ]


def plot(run: RunData) -> Path:
    rates = run.summary_file["mirrored_success"]
    figure, axes = plt.subplots(figsize=(5, 3.5), layout="constrained")
    axes.bar(list(rates), list(rates.values()), color=[color(agent) for agent in rates])
    axes.set_ylim(0, 1)
    axes.set_ylabel("held-out success, signal mirrored")
    axes.set_title("Guessing signs never seen in training")
    path = run.folder / "mirrored.png"
    figure.savefig(path, dpi=80)
    plt.close(figure)
    return path


register_study(
    Study(
        name="mirrored",
        task="guess",
        description="train as usual, then guess the mirrored signal",
        default=Size(budget=200, seeds=2, eval_episodes=20, eval_points_per_decade=2),
        full=Size(budget=2_000, seeds=5, eval_episodes=100, eval_points_per_decade=3),
        settings_default={"episodes": 20},
        settings_full={"episodes": 200},
        after_training=mirrored_success,
        summarise=summarise,
        tables=table,
        plots=(plot,),
    )
)
