"""Model-free learners: Stable-Baselines3 algorithms behind one thin adapter.

Hyperparameters start from the RL Baselines3 Zoo values for the nearest Zoo task
and were searched a little on each task here (``benchmarks/tune_learners.py``
runs that search); ``HYPERPARAMETERS`` records the choice and the reason beside
each entry. All learners run on the CPU with one torch thread.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar

import numpy as np
import torch
from stable_baselines3 import A2C, DQN, PPO, SAC, TD3
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.noise import NormalActionNoise
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm
from stable_baselines3.common.vec_env import DummyVecEnv

from agents.base import Agent, TaskSpec, register
from sandbox.ledger import Ledger

# Per (algorithm, task): keyword arguments for the SB3 constructor.
HYPERPARAMETERS: dict[tuple[str, str], dict[str, Any]] = {
    # Rocket: one-step episodes (a contextual bandit), 3-d observation, 3-d action; gamma,
    # gae_lambda and tau have no effect. Zoo Pendulum / LunarLanderContinuous values with
    # warm-up cut to 100 trials, then searched (results/tuning/rocket.json, 4 000 trials):
    # what mattered is exploring narrowly, since the hitting launches are a thin band.
    # PPO: Zoo Pendulum with 64-trial rollouts and initial std e^-1; the best variant (late
    # held-out 9-10 % at 4 000 trials, training hits 4 %; 256-trial rollouts with that std
    # 3-15 %; the rest 0-6 %), searched with every rollout learned from.
    ("ppo", "rocket"): dict(n_steps=64, batch_size=32, n_epochs=10, learning_rate=1e-3, gamma=0.9,
                            gae_lambda=0.95, ent_coef=0.0, clip_range=0.2,
                            policy_kwargs=dict(net_arch=[64, 64], log_std_init=-1.0)),
    # SAC: Zoo Pendulum with a fixed ent_coef 0.01 ('auto' keeps the policy too wide: 12 %
    # training hits against 66 %); 50 % held-out at 2 250 trials, reliable at 5 000 (one long run).
    ("sac", "rocket"): dict(learning_rate=1e-3, buffer_size=100_000, learning_starts=100, batch_size=256,
                            tau=0.005, train_freq=1, gradient_steps=1, gamma=0.99, ent_coef=0.01,
                            policy_kwargs=dict(net_arch=[256, 256])),
    # TD3: Zoo Pendulum with action noise 0.02 instead of 0.1 (training hits 21-29 % against 7 %);
    # 50 % held-out at 1 750-2 250 trials, not reliable by 4 000 (noisier than SAC).
    ("td3", "rocket"): dict(learning_rate=1e-3, buffer_size=200_000, learning_starts=100, batch_size=256,
                            train_freq=1, gradient_steps=1, gamma=0.98, action_noise_sigma=0.02,
                            policy_kwargs=dict(net_arch=[400, 300])),
    # City: episodes of tens of steps, discrete actions, egocentric window observation.
    # From a search of 5 PPO, 4 DQN and 4 A2C variants of the Zoo values, 1 500-2 000 trials
    # each on "train" (benchmarks/tune_city_learners.py, results/tuning/city.json).
    # PPO: Zoo MiniGrid values with 256-step rollouts (four times the updates): 50 % held-out
    # at 2 000 trials, the best PPO (MiniGrid's 1 024 steps: 22 %; lr 1e-3: 5 %).
    ("ppo", "city"): dict(n_steps=256, batch_size=64, n_epochs=10, learning_rate=2.5e-4, gamma=0.95,
                          gae_lambda=0.95, ent_coef=0.0, clip_range=0.2, policy_kwargs=dict(net_arch=[64, 64])),
    # DQN: Zoo LunarLander values with gamma 0.95: 90 % held-out at 855 trials (gamma 0.99:
    # 88 % at 1 500; CartPole's values and one gradient step per 4 env steps: under 5 %).
    ("dqn", "city"): dict(learning_rate=6.3e-4, buffer_size=50_000, learning_starts=1_000, batch_size=128,
                          gamma=0.95, target_update_interval=250, train_freq=4, gradient_steps=-1,
                          exploration_steps=12_000, exploration_final_eps=0.1, policy_kwargs=dict(net_arch=[256, 256])),
    # A2C: SB3's defaults (Zoo CartPole) with LunarLander's small entropy bonus: 30 % at 1 500
    # trials (16-step rollouts: 28 %). For PPO and A2C, gamma 0.95 (as DQN's) gave fewer
    # training deaths in the search (PPO 589 against 803-878, A2C 642 against 773) at similar
    # success, so both use it.
    ("a2c", "city"): dict(n_steps=5, learning_rate=7e-4, gamma=0.95, gae_lambda=1.0, ent_coef=1e-5,
                          policy_kwargs=dict(net_arch=[64, 64])),
}


class StopAtTrials(BaseCallback):
    """Stops ``learn`` once the ledger has counted ``until_trials`` trials.

    SB3 drops the step on which ``learn`` stops, and an on-policy algorithm (PPO,
    A2C) drops its whole unfinished rollout: stopped mid-rollout at every evaluation
    point, PPO would lose up to ``n_steps - 1`` counted trials each time. So an
    on-policy learner stops only at a rollout boundary (losing the one step that
    starts the next rollout), a little past ``until_trials``, except at the
    ledger's ``limit``, which no learner passes.
    """

    def __init__(self, ledger: Ledger, until_trials: int, on_policy: bool):
        super().__init__()
        self.ledger = ledger
        self.until_trials = until_trials
        self.on_policy = on_policy
        self._rollout_ended_past_until = False

    def _on_rollout_end(self) -> None:
        self._rollout_ended_past_until = self.ledger.n_trials >= self.until_trials

    def _on_step(self) -> bool:
        if self.ledger.limit is not None and self.ledger.n_trials >= self.ledger.limit:
            return False
        if self.on_policy:
            return not self._rollout_ended_past_until
        return self.ledger.n_trials < self.until_trials


class SB3Learner(Agent):
    """Adapter from an SB3 algorithm to the agent interface.

    When training moves to a new world (a new ledger) the learner keeps its network,
    optimiser and exploration state and, unless ``keep_replay_in_new_world``, starts
    the new world with an empty replay buffer: the old world's transitions describe
    other dynamics under the same observations, as the planner's fitted constants
    describe another world, and both are dropped at the move.
    """

    algorithm: ClassVar[type[BaseAlgorithm]]
    n_envs: ClassVar[int] = 1
    keep_replay_in_new_world: ClassVar[bool] = False

    def __init__(self, spec: TaskSpec, seed: int, hyperparameters: dict[str, Any] | None = None):
        super().__init__(spec, seed)
        if (self.name, spec.task) not in HYPERPARAMETERS and hyperparameters is None:
            raise ValueError(f"agent {self.name!r} has no hyperparameters for task {spec.task!r}")
        # A deep copy: SB3 edits policy_kwargs in place.
        self.hyperparameters = copy.deepcopy(hyperparameters or HYPERPARAMETERS[(self.name, spec.task)])
        self.model: BaseAlgorithm | None = None
        self._model_ledger: Ledger | None = None
        torch.set_num_threads(1)

    def _vec_env(self, ledger: Ledger) -> DummyVecEnv:
        venv = DummyVecEnv([ledger.make_env for _ in range(self.n_envs)])
        venv.seed(self.seed)
        return venv

    def _build(self, ledger: Ledger) -> BaseAlgorithm:
        kwargs = copy.deepcopy(self.hyperparameters)
        sigma = kwargs.pop("action_noise_sigma", None)
        if sigma is not None:
            n_actions = self.action_space.shape[0]
            kwargs["action_noise"] = NormalActionNoise(np.zeros(n_actions), sigma * np.ones(n_actions))
        exploration_steps = kwargs.pop("exploration_steps", None)
        model = self.algorithm("MlpPolicy", self._vec_env(ledger), seed=self.seed, device="cpu", verbose=0, **kwargs)
        if exploration_steps is not None:
            # SB3 decays epsilon over a fraction of learn()'s total_timesteps; training
            # here is budgeted in trials, so the decay runs over absolute env steps.
            start, end = model.exploration_initial_eps, model.exploration_final_eps
            model.exploration_schedule = lambda _progress: max(
                end, start + (end - start) * model.num_timesteps / exploration_steps
            )
        return model

    def _train(self, ledger: Ledger, until_trials: int) -> None:
        if self.model is None:
            self.model = self._build(ledger)
        elif self._model_ledger is not ledger:  # moved to a new world: keep the policy, change the env
            self.model.get_env().close()
            self.model.set_env(self._vec_env(ledger))
            replay = getattr(self.model, "replay_buffer", None)
            if replay is not None and not self.keep_replay_in_new_world:
                replay.reset()
        self._model_ledger = ledger
        # learn() stops through the callback; the step budget is only a ceiling.
        until = until_trials if ledger.limit is None else min(until_trials, ledger.limit)
        on_policy = isinstance(self.model, OnPolicyAlgorithm)
        while ledger.n_trials < until:
            self.model.learn(total_timesteps=10**9, callback=StopAtTrials(ledger, until_trials, on_policy),
                             reset_num_timesteps=False)

    def act(self, observation: np.ndarray, info: dict[str, Any]) -> Any:
        if self.model is None:
            raise RuntimeError(f"{self.name} must train before it acts")
        action, _ = self.model.predict(observation, deterministic=True)
        return action

    def close(self) -> None:
        if self.model is not None:
            self.model.get_env().close()
        super().close()


@register("ppo")
class PPOLearner(SB3Learner):
    algorithm = PPO
    tasks = ("rocket", "city")


@register("sac")
class SACLearner(SB3Learner):
    algorithm = SAC
    tasks = ("rocket",)


@register("td3")
class TD3Learner(SB3Learner):
    algorithm = TD3
    tasks = ("rocket",)


@register("dqn")
class DQNLearner(SB3Learner):
    algorithm = DQN
    tasks = ("city",)


@register("a2c")
class A2CLearner(SB3Learner):
    algorithm = A2C
    tasks = ("city",)
