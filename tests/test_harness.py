"""The ledger, the statistics and the jobs: counting is right and runs repeat."""

from __future__ import annotations

import re

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401  (registers sandbox/RocketLaunch-v0)
from agents.ledger import Ledger
from agents.plugins import load_agent
from sandbox.outputs.stats import (
    censored_median,
    evaluation_grid,
    format_censored,
    log_spaced_points,
    median_interval,
)
from sandbox.run.job import TEST_SEED_BASE, JobConfig, run_job
from sandbox.tasks.rocket import ROCKET


def test_ledger_counts_every_finished_episode():
    ledger = Ledger(lambda: gym.make("sandbox/RocketLaunch-v0"))
    env = ledger.make_env()
    env.reset(seed=0)
    for _ in range(7):
        env.reset()
        _, _, terminated, _, info = env.step(env.action_space.sample())
        assert terminated and info["trial"].index == ledger.n_trials
    assert ledger.n_trials == 7 and ledger.steps == 7
    assert [t.index for t in ledger.trials] == list(range(1, 8))


def test_censored_median():
    assert censored_median([3, 1, 2]) == 2
    assert censored_median([3, None, 1]) == 3
    assert censored_median([None, None, 1]) is None
    assert censored_median([1, 2, None, None]) is None
    assert censored_median([1, 2, 4, None]) == 3
    assert format_censored([None, None], 500) == "> 500"
    assert format_censored([2, None, 3], 500) == "3 [2 to > 500] (1 censored)"


def test_interval_lies_between_order_statistics_and_holds_its_level():
    """The median's interval: the narrowest pair of order statistics with 95 % coverage, else
    the range of the seeds; its coverage, drawn again and again from a skewed distribution,
    is the level the tables' note states."""
    from sandbox.outputs.stats import interval_coverage, order_rank

    assert median_interval([700, 1449, 900, 1210, 815]) == (700, 1449)  # 5 seeds: the range
    assert median_interval(list(range(10, 0, -1))) == (2, 9)  # 10 seeds: 2nd to 9th
    assert median_interval([5]) is None
    assert median_interval([4, 4, 4]) == (4, 4)
    # Censored seeds sort above every number: a bound that is one of them is censored.
    assert median_interval([3, 5, None, None, None]) == (3, None)
    assert median_interval([None, None]) == (None, None)
    assert interval_coverage(3, order_rank(3)) == pytest.approx(0.75)
    assert interval_coverage(5, order_rank(5)) == pytest.approx(0.9375)
    assert interval_coverage(10, order_rank(10)) == pytest.approx(0.978515625)
    rng = np.random.default_rng(0)
    true_median = np.log(2.0)  # of an exponential with rate 1
    for seeds in (3, 5, 10):
        covered = 0
        for sample in rng.exponential(size=(4000, seeds)):
            low, high = median_interval(list(sample))
            covered += low <= true_median <= high
        level = interval_coverage(seeds, order_rank(seeds))
        assert covered / 4000 == pytest.approx(level, abs=0.025), seeds


def test_log_spaced_points():
    points = log_spaced_points(1000, 8)
    assert points[0] == 1 and points[-1] == 1000
    assert points == sorted(set(points))
    assert {1, 2, 3, 4, 5} <= set(points)
    assert log_spaced_points(1, 8) == [1]
    with pytest.raises(ValueError):
        log_spaced_points(0, 3)


@pytest.mark.parametrize("agent", ["random", pytest.param("ppo", marks=pytest.mark.slow)])
def test_same_seed_same_results(agent):
    config = JobConfig(
        task="rocket",
        agent=agent,
        seed=3,
        budget=12,
        eval_episodes=3,
        eval_grid=(1, 2, 3, 4, 5, 10),
        reliable_bar=0.9,
        env_kwargs={"world": "earth_moon"},
    )
    first, second = run_job(config), run_job(config)

    def strip(job: dict) -> list[dict]:
        return [{k: v for k, v in row.items() if k != "wall_time_s"} for row in job["evaluations"]]

    assert strip(first) == strip(second)
    assert first["traces"] == second["traces"]
    assert first["trials_to_first_success"] == second["trials_to_first_success"]


def _rocket_spec():
    from agents.base import TaskSpec

    probe = ROCKET.make_env(world="earth_moon")
    spec = TaskSpec("rocket", probe.observation_space, probe.action_space, {"world": "earth_moon"})
    probe.close()
    return spec


def _rocket_learner(name: str, **settings):
    return load_agent(name)(
        _rocket_spec(), seed=0, settings={"policy_kwargs": {"net_arch": [8]}, **settings}
    )


def _ledger(world: str, limit: int | None = None) -> Ledger:
    return Ledger(lambda: ROCKET.make_env(world=world), limit=limit)


def _unchanged(before, model) -> bool:
    return all((a == b).all() for a, b in zip(before, model.policy.parameters(), strict=True))


def test_off_policy_learner_starts_a_new_world_with_an_empty_buffer_and_no_random_steps():
    learner = _rocket_learner("sac", learning_starts=3, batch_size=4)
    home = _ledger("earth_moon")
    learner.train(home, 6)
    assert learner.model.replay_buffer.size() == 6  # every launch, the last one too
    assert home.n_warm_up_trials == 3  # its first learning_starts launches were random
    new = _ledger("super_earth")
    network = [p.detach().clone() for p in learner.model.policy.parameters()]
    learner.train(new, 3)
    assert learner.model.replay_buffer.size() == 3  # only the new world's launches
    # No warm-up again: its own policy fills the fresh buffer and it learns from the first step.
    assert not _unchanged(network, learner.model) and new.n_warm_up_trials == 0
    learner.close()


@pytest.mark.parametrize("name", ["sac", "td3"])
def test_an_off_policy_learner_keeps_and_learns_from_the_launch_it_stops_on(name):
    learner = _rocket_learner(name, learning_starts=0, batch_size=2)
    home = _ledger("earth_moon", limit=5)
    learner.train(home, 1)
    assert learner.model.replay_buffer.size() == 1 and learner.model._n_updates == 1
    network = [p.detach().clone() for p in learner.model.policy.parameters()]
    learner.train(home, 3)
    assert learner.model.replay_buffer.size() == 3 and learner.model._n_updates == 3
    learner.train(home, 5)  # up to the ledger's limit
    assert home.n_trials == 5 and learner.model.replay_buffer.size() == 5
    assert learner.model._n_updates == 5 and not _unchanged(network, learner.model)
    learner.close()


def test_an_off_policy_learner_stopped_mid_rollout_keeps_the_launch_and_its_situation():
    """SAC's rollouts are 4 launches: asked for 1, it keeps that launch (no update yet); asked
    for 5, its next rollout (launches 2-5) brings the 4 gradient steps, and each stored
    launch is the situation it was flown in (SB3 alone would drop the launch it stops on,
    then fly the next situation from the dropped one's observation)."""
    seen = []

    class Situations(gym.Wrapper):
        def reset(self, **kwargs):
            observation, info = self.env.reset(**kwargs)
            seen.append(observation)
            return observation, info

    learner = _rocket_learner(
        "sac", learning_starts=0, batch_size=2, train_freq=4, gradient_steps=4
    )
    home = Ledger(lambda: Situations(ROCKET.make_env(world="earth_moon")))
    learner.train(home, 1)
    assert home.n_trials == 1 and learner.model.replay_buffer.size() == 1
    assert learner.model._n_updates == 0
    learner.train(home, 5)
    assert home.n_trials == 5 and learner.model.replay_buffer.size() == 5
    assert learner.model._n_updates == 4
    stored = learner.model.replay_buffer.observations[:5, 0]
    np.testing.assert_allclose(stored, np.array(seen[:5]), rtol=1e-6)
    learner.close()


def test_a_learner_may_ask_for_random_steps_in_a_new_world_and_the_ledger_marks_them():
    learner = _rocket_learner(
        "sac", learning_starts=3, batch_size=4, learning_starts_in_new_world=3
    )
    learner.train(_ledger("earth_moon"), 6)
    new = _ledger("super_earth")
    network = [p.detach().clone() for p in learner.model.policy.parameters()]
    learner.train(new, 3)
    # no gradient step until the empty buffer holds learning_starts_in_new_world launches
    assert _unchanged(network, learner.model)
    learner.train(new, 6)
    assert not _unchanged(network, learner.model)
    assert [t.warm_up for t in new.trials] == [True] * 3 + [False] * 3
    learner.close()


def test_each_learner_takes_only_the_adapter_settings_it_uses():
    from agents.learners import (
        ADAPTER_KEYS,
        A2CLearner,
        DQNLearner,
        PPOLearner,
        SACLearner,
        SACUTDLearner,
        TD3Learner,
    )

    takes = {
        cls: set(ADAPTER_KEYS) & cls.settings_keys("city")
        for cls in (PPOLearner, A2CLearner, SACLearner, SACUTDLearner, TD3Learner, DQNLearner)
    }
    assert takes[PPOLearner] == takes[A2CLearner] == {"n_envs"}
    in_new_world = {"keep_replay_in_new_world", "learning_starts_in_new_world"}
    off_policy = {"n_envs", "action_noise_sigma", *in_new_world}
    assert takes[SACLearner] == takes[SACUTDLearner] == takes[TD3Learner] == off_policy
    assert takes[DQNLearner] == {"n_envs", "exploration_steps", *in_new_world}
    # the rocket's burn point relative to the Moon: the learners that act on the rocket, there
    for cls in (PPOLearner, SACLearner, SACUTDLearner, TD3Learner):
        assert set(ADAPTER_KEYS) & cls.settings_keys("rocket") == takes[cls] | {"burn_angle_input"}
    assert "burn_angle_input" not in A2CLearner.settings_keys("rocket")


def test_sac_utd_is_sac_with_its_own_file_and_many_updates_per_launch():
    from agents.learners import SACLearner, SACUTDLearner

    assert load_agent("sac-utd") is SACUTDLearner and SACUTDLearner.kind == "learner"
    sac, utd = SACLearner.default_settings("rocket"), SACUTDLearner.default_settings("rocket")
    assert utd["gradient_steps"] == 5 and utd["train_freq"] == 1
    # SAC's table, but for the updates
    assert {**utd, "gradient_steps": sac["gradient_steps"], "train_freq": sac["train_freq"]} == sac
    updates = {}
    for cls in (SACLearner, SACUTDLearner):
        small = {"learning_starts": 3, "batch_size": 4, "policy_kwargs": {"net_arch": [8]}}
        if cls is SACLearner:  # one update a launch, as sac-utd's file times 5
            small.update(train_freq=1, gradient_steps=1)
        learner = cls(_rocket_spec(), 0, cls.resolve_settings("rocket", small))
        learner.train(_ledger("earth_moon"), 8)
        updates[cls] = learner.model._n_updates
        learner.close()
    assert updates[SACUTDLearner] == 5 * updates[SACLearner] > 0


def test_set_tells_sac_from_sac_utd():
    from sandbox.run.agent_specs import parse_assignment, resolve_agents

    labels = ["sac", "sac-utd"]
    assert parse_assignment("sac-utd.gradient_steps=10", labels) == (
        "sac-utd",
        {"gradient_steps": 10},
    )
    assert parse_assignment("sac.gradient_steps=2", labels) == ("sac", {"gradient_steps": 2})
    with pytest.raises(ValueError, match="'sac' is no agent of this run"):
        parse_assignment("sac.gradient_steps=2", ["sac-utd"])
    sac, utd = resolve_agents(
        ROCKET, "sac,sac-utd", ["sac-utd.gradient_steps=10", "sac.batch_size=64"], None
    )
    defaults = load_agent("sac").default_settings("rocket")
    assert (sac.settings["gradient_steps"], sac.settings["batch_size"]) == (
        defaults["gradient_steps"],
        64,
    )
    assert (utd.settings["gradient_steps"], utd.settings["batch_size"]) == (
        10,
        defaults["batch_size"],
    )


def test_settings_are_checked_for_their_kind_but_text_stays_where_sb3_takes_it():
    from agents.base import SettingsError
    from agents.learners import PPOLearner, SACLearner

    # SB3 takes text here although the settings file gives a number
    assert SACLearner.resolve_settings("rocket", {"ent_coef": "auto_0.1"})["ent_coef"] == "auto_0.1"
    assert SACLearner.resolve_settings("rocket", {"train_freq": [1, "episode"]})["train_freq"] == [
        1,
        "episode",
    ]
    for learner, key, text, example in [
        (SACLearner, "keep_replay_in_new_world", "False", "false"),
        (SACLearner, "action_noise_sigma", "small", "0.1"),
        (PPOLearner, "normalize_advantage", "True", "true"),
        (PPOLearner, "policy_kwargs", {"net_arch": "wide"}, "[64]"),
    ]:
        with pytest.raises(SettingsError, match=rf"\(e\.g\. {re.escape(example)}\), not the text"):
            learner.resolve_settings("rocket", {key: text})


def test_on_policy_learner_finishes_its_rollout_but_never_passes_the_limit():
    learner = _rocket_learner("ppo", n_steps=8, batch_size=8, n_epochs=2)
    ledger = _ledger("earth_moon", limit=30)
    learner.train(ledger, 3)
    # The first rollout (8 launches) is finished and learned from; the step that
    # begins the next one is where learn() stops.
    assert ledger.n_trials == 9 and learner.model._n_updates == 2
    learner.train(ledger, 30)
    assert ledger.n_trials == 30  # rollouts 10-17 and 18-25, then stopped at the limit
    assert learner.model._n_updates == 3 * 2
    learner.close()


@pytest.mark.slow
def test_evaluations_record_the_trials_actually_spent():
    from agents.learners import PPOLearner

    config = JobConfig(
        task="rocket",
        agent="ppo",
        seed=0,
        budget=200,
        eval_episodes=2,
        eval_grid=tuple(evaluation_grid(3, 200)),
        reliable_bar=0.9,
        env_kwargs={"world": "earth_moon"},
        agent_settings=PPOLearner.resolve_settings("rocket", {"n_steps": 64}),
    )
    trials = [row["trials"] for row in run_job(config)["evaluations"]]
    assert trials == sorted(set(trials)) and trials[-1] == 200
    # PPO learns from 64-launch rollouts here; each stop drops the launch after one.
    assert trials[0] == 65 and all(t % 65 == 0 for t in trials[:-1])


def test_relearn_fraction_to_half_is_read_from_the_curves():
    """Continued against from scratch, to 50 % held-out success: 0 when the agent arrives
    above the bar, a ratio of evaluation points otherwise, null when either never got there."""
    from sandbox.outputs.results import summarise

    def curve(points):
        return [{"trials": t, "success_rate": r} for t, r in points]

    def job(seed, phase, evaluations, transfer=None):
        entry = {
            "agent": "a",
            "seed": seed,
            "phase": phase,
            "budget": 100,
            "reliable_bar": 0.9,
            "trials_spent": 100,
            "trials_to_first_success": 1,
            "trials_to_reliable": None,
            "final_success_rate": 0.6,
            "evaluations": evaluations,
        }
        if transfer is not None:
            entry["transfer"] = {
                "budget": 100,
                "zero_shot_success": transfer[0][1],
                "zero_shot_deaths_per_episode": 0,
                "trials_to_reliable": None,
                "final_success_rate": 0.8,
                "evaluations": curve(transfer),
            }
        return entry

    home = curve([(1, 0.0), (100, 0.6)])
    jobs = [
        job(0, "train", home, transfer=[(0, 0.6), (10, 0.7)]),
        job(0, "scratch", curve([(10, 0.2), (40, 0.5)])),
        job(1, "train", home, transfer=[(0, 0.1), (10, 0.55)]),
        job(1, "scratch", curve([(10, 0.2), (40, 0.5)])),
        job(2, "train", home, transfer=[(0, 0.1), (10, 0.3)]),
        job(2, "scratch", curve([(10, 0.6)])),
    ]
    entry = summarise(jobs, ["a"])["a"]
    assert entry["transfer_trials_to_half"] == [0, 10, None]
    assert entry["scratch_trials_to_half"] == [40, 40, 10]
    assert entry["relearn_fraction_half"] == [0.0, 0.25, None]
    assert entry["relearn_fraction"] == [None, None, None]


def test_a_seed_whose_fresh_agent_has_not_run_is_left_out_of_the_scratch_cells():
    """An interrupted run lacks some from-scratch jobs: those seeds are named as not run,
    not counted as censored."""
    from sandbox.outputs.results import format_cell

    entry = {
        "seeds": [0, 1, 2],
        "budget": 100,
        "transfer_budget": 100,
        "scratch_seeds_missing": [2],
        "scratch_trials_to_reliable": [1, 1, None],
        "relearn_fraction": [0.0, 0.0, None],
    }
    assert (
        format_cell(entry, "scratch_trials_to_reliable", "transfer-trials")
        == "1 [1 to 1] (1 not run)"
    )
    assert format_cell(entry, "relearn_fraction", "fraction") == "0.00 [0.00 to 0.00] (1 not run)"
    entry["scratch_seeds_missing"] = [0, 1, 2]
    assert format_cell(entry, "scratch_trials_to_reliable", "transfer-trials") == "(3 of 3 not run)"


def final_success(
    task: str, agent: str, spec: str, seed: int, budget: int, eval_episodes: int, env_kwargs: dict
) -> float:
    """The held-out success of ``agent`` (its spec) after ``budget`` trials, through the harness.
    Only the final figure is read, so one set of situations serves decisions and figures alike
    (the protocol's split is tested on its own)."""
    config = JobConfig(
        decision_seed_base=TEST_SEED_BASE,
        task=task,
        agent=agent,
        seed=seed,
        budget=budget,
        eval_episodes=eval_episodes,
        eval_grid=(),
        reliable_bar=0.9,
        env_kwargs=env_kwargs,
        agent_spec=spec,
    )
    return run_job(config)["final_success_rate"]


def test_the_interval_note_gives_the_level_each_seed_count_has():
    from sandbox.outputs.stats import interval_note

    note = interval_note([2, 3, 10, 10, 1])
    assert "the range of the seeds with 2 seeds (50 % coverage)" in note
    assert "the range of the seeds with 3 seeds (75 % coverage)" in note
    assert "the 2nd lowest to the 2nd highest seed with 10 seeds (98 % coverage)" in note
    assert "none with one seed" in note
    assert "5 seeds" not in interval_note([3])
