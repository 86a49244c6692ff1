"""``python -m sandbox.tune``: one Optuna study per task and agent family, scored on
validation situations only, resumable, starting from today's settings."""

from __future__ import annotations

import json
import tomllib
import warnings

import optuna
import pytest

from agents.base import merge_settings
from agents.plugins import load_agent
from envs.rocket.env import RocketLaunchEnv
from sandbox import tune
from sandbox.run.agent_specs import read_agent_config
from sandbox.run.job import SEED_SET_SIZE, TEST_SEED_BASE, VALIDATION_SEED_BASE, seed_set_base
from sandbox.tuning import study as study_module
from sandbox.tuning.spaces import SPACES, agent_class, space_of, trial_settings
from sandbox.tuning.study import StudySettings, seed_figures

#: a study small enough for a test: PPO's first rollout (32 launches or more) runs to the
#: budget, so each seed is evaluated once, on 30 validation launches
TINY = ["rocket", "--agent", "ppo", "--seeds", "1", "--budget", "12"]


def tune_main(argv: list[str]) -> int:
    """``python -m sandbox.tune``'s exit code (argparse's errors exit through SystemExit)."""
    try:
        return tune.main(argv)
    except SystemExit as done:
        return int(done.code)


def record_of(folder, name: str = "rocket-ppo") -> dict:
    return json.loads((folder / f"{name}.json").read_text())


def test_a_study_writes_its_journal_record_and_best_settings(tmp_path, capsys):
    assert tune_main([*TINY, "--trials", "2", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "optuna" / "rocket-ppo.log").is_file()
    record = record_of(tmp_path)
    assert [trial["number"] for trial in record["trials"]] == [0, 1]
    assert all(trial["state"] == "complete" for trial in record["trials"])
    assert record["study"]["trials_finished"] == 2 and record["study"]["budget"] == 12
    assert record["provenance"]["optuna"] == optuna.__version__
    seed = record["trials"][0]["seeds"][0]
    assert {"trials_to_reliable", "censored", "final_validation_success", "training_deaths"} <= set(
        seed
    )
    assert record["trials"][0]["trials_to_reliable"] == ["> 12"]  # censored, shown as such
    assert out.count("\ntrial ") + out.startswith("trial ") == 2
    assert out.strip().splitlines()[-1].startswith("best: trial ")
    # the best settings, as --agent-config reads them, are the best trial's settings
    best = record["best"]
    config = read_agent_config(tmp_path / "rocket-ppo.toml", ["ppo"])
    assert (
        agent_class("rocket", "ppo").resolve_settings("rocket", config["ppo"]) == best["settings"]
    )
    assert best["apply"].endswith(f"--agent-config {tmp_path / 'rocket-ppo.toml'}")


def test_running_again_continues_to_n_trials_without_repeating_one(tmp_path, capsys):
    resumed, straight = tmp_path / "resumed", tmp_path / "straight"
    assert tune_main([*TINY, "--trials", "2", "--out", str(resumed)]) == 0
    first = record_of(resumed)["trials"]
    assert tune_main([*TINY, "--trials", "3", "--out", str(resumed)]) == 0
    assert "resuming: 2 of 3 trials finished" in capsys.readouterr().out
    trials = record_of(resumed)["trials"]
    assert [trial["number"] for trial in trials] == [0, 1, 2]
    assert trials[:2] == first  # the finished ones are kept as they were
    # and the study samples what it would have sampled without the pause
    assert tune_main([*TINY, "--trials", "3", "--out", str(straight)]) == 0
    assert [t["params"] for t in record_of(straight)["trials"]] == [t["params"] for t in trials]
    # asked for no more than it holds, it runs nothing
    assert tune_main([*TINY, "--trials", "2", "--out", str(resumed)]) == 0
    assert len(record_of(resumed)["trials"]) == 3


def test_an_interrupted_trial_runs_again_and_the_finished_are_kept(tmp_path, monkeypatch, capsys):
    real_run_job = study_module.run_job
    calls = []

    def interrupted_second_time(config):
        calls.append(config)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_run_job(config)

    monkeypatch.setattr(study_module, "run_job", interrupted_second_time)
    assert tune_main([*TINY, "--trials", "3", "--out", str(tmp_path)]) == 130
    assert "run the same command again" in capsys.readouterr().err
    states = [trial["state"] for trial in record_of(tmp_path)["trials"]]
    assert states == ["complete"]  # the record is written after each finished trial
    monkeypatch.setattr(study_module, "run_job", real_run_job)
    assert tune_main([*TINY, "--trials", "3", "--out", str(tmp_path)]) == 0
    trials = record_of(tmp_path)["trials"]
    assert [trial["state"] for trial in trials] == [
        "complete",
        "interrupted",
        "complete",
        "complete",
    ]
    assert trials[2]["params"] == trials[1]["params"]  # the same configuration, run again


def test_the_tuner_evaluates_validation_situations_only(tmp_path, monkeypatch):
    seeds: list[int | None] = []
    reset = RocketLaunchEnv.reset

    def spy(self, *, seed=None, options=None):
        seeds.append(seed)
        return reset(self, seed=seed, options=options)

    monkeypatch.setattr(RocketLaunchEnv, "reset", spy)
    configs = []
    real_run_job = study_module.run_job
    monkeypatch.setattr(
        study_module, "run_job", lambda config: configs.append(config) or real_run_job(config)
    )
    assert tune_main([*TINY, "--trials", "2", "--seeds", "2", "--out", str(tmp_path)]) == 0
    assert len(configs) == 4
    for config in configs:
        assert config.eval_seed_base == config.decision_seed_base == VALIDATION_SEED_BASE
        assert config.transfer_env_kwargs is None and config.env_kwargs == {"world": "earth_moon"}
    played = [seed for seed in seeds if seed is not None]
    assert not [seed for seed in played if TEST_SEED_BASE <= seed < VALIDATION_SEED_BASE]
    validation = [seed for seed in played if seed >= VALIDATION_SEED_BASE]
    assert len(validation) == 4 * 30  # every evaluation episode, and only those, is validation
    own_sets = [seed_set_base(VALIDATION_SEED_BASE, config.seed) for config in configs]
    assert all(
        any(0 <= seed - base < SEED_SET_SIZE for base in own_sets) for seed in validation
    )  # each from the validation set of its job's seed


@pytest.mark.parametrize(
    ("task", "agent"), [(task, agent) for task, spaces in SPACES.items() for agent in spaces]
)
def test_the_first_trial_is_today_s_settings(task, agent):
    cls = agent_class(task, agent)
    space = space_of(task, agent)
    study = optuna.create_study(direction="maximize")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a value of today's outside the space would warn
        study.enqueue_trial(space.today(cls, task))
        settings = trial_settings(task, agent, space.sample(study.ask()))
    today = cls.default_settings(task)
    references = merge_settings(cls.setting_references(task), today)
    for key, value in settings.items():
        # what the settings file leaves out is the constructor's default, which stays
        assert value == (today[key] if key in today else references[key]), key
    assert set(today) <= set(settings)


def test_a_study_s_first_trial_runs_today_s_settings(tmp_path):
    assert tune_main([*TINY, "--trials", "1", "--out", str(tmp_path)]) == 0
    first = record_of(tmp_path)["trials"][0]
    today = agent_class("rocket", "ppo").default_settings("rocket")
    assert first["today"] and merge_settings(first["settings"], today) == first["settings"]


def test_the_objective_holds_the_last_value_of_a_job_that_stopped_early():
    rows = [(5, 0.0), (10, 0.5), (100, 1.0), (200, 1.0)]
    job = {
        "seed": 0,
        "evaluations": [
            {"trials": t, "validation_success_rate": v, "wall_time_s": 0.1} for t, v in rows
        ],
        "trials_to_reliable": 100,
        "trials_spent": 200,
        "final_success_rate": 1.0,
        "total_training_deaths": 0,
        "wall_time_s": 1.0,
    }
    figures = seed_figures(job, [10, 100, 1000, 10_000])
    assert figures["area"] == pytest.approx((0.5 + 1.0 + 1.0 + 1.0) / 4)
    assert not figures["censored"]
    grid = StudySettings(task="rocket", agent="sac", budget=3000).grid()
    assert grid[0] >= 10 and grid[-1] == 3000 and grid == sorted(grid)


def test_a_study_with_other_settings_in_the_folder_is_refused(tmp_path, capsys):
    assert tune_main([*TINY, "--trials", "1", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    assert tune_main([*TINY, "--trials", "2", "--budget", "20", "--out", str(tmp_path)]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "budget 12, not 20" in error


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["mars", "--agent", "ppo"], "city"),  # (choose from rocket, city), quoted or not
        (["rocket", "--agent", "dqn"], "ppo, sac, sac-utd, td3, learned-model"),
        (["city", "--agent", "traffic-planner"], "ppo, dqn, a2c, learned-model"),
        (["rocket", "--agent", "sac", "--trials", "0"], "--trials"),
        (["rocket", "--agent", "sac", "--seeds", "two"], "--seeds"),
        (["rocket", "--agent", "sac", "--budget", "5"], "at least 10"),
        (["rocket", "--agent", "sac-utd", "--trials", "5"], "holds 3 configurations"),
        (["rocket"], "--agent"),
    ],
)
def test_bad_input_is_one_line_with_exit_code_2(argv, named, capsys):
    assert tune_main(argv) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1, error
    assert error.startswith("python -m sandbox.tune: error:") and named in error


def test_a_space_tried_whole_runs_each_configuration_once(tmp_path, monkeypatch):
    """sac-utd searches its update-to-data ratio alone: three trials, today's first, each
    ratio once, its other settings SAC's."""
    scores = iter([0.1, None, 0.3, 0.2])  # None: the second trial is cut short

    def fake_trial(study, settings, space, run_jobs, report):
        trial = study.ask()
        overrides = space.sample(trial)
        agent_settings = trial_settings(settings.task, settings.agent, overrides)
        trial.set_user_attr("settings", agent_settings)
        score = next(scores)
        if score is None:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            raise KeyboardInterrupt
        study.tell(trial, score)

    monkeypatch.setattr(study_module, "run_trial", fake_trial)
    argv = ["rocket", "--agent", "sac-utd", "--seeds", "1", "--budget", "12"]
    assert tune_main([*argv, "--out", str(tmp_path)]) == 130
    assert tune_main([*argv, "--out", str(tmp_path)]) == 0
    record = record_of(tmp_path, "rocket-sac-utd")
    done = [trial for trial in record["trials"] if trial["state"] == "complete"]
    ratios = [trial["settings"]["gradient_steps"] for trial in done]
    today = load_agent("sac-utd", "rocket").default_settings("rocket")["gradient_steps"]
    assert ratios[0] == today and sorted(ratios) == [5, 10, 20]
    assert record["study"]["sampler"]["configurations"] == 3
    sac = load_agent("sac", "rocket").default_settings("rocket")
    for trial in done:
        differ = {k for k in sac if trial["settings"].get(k) != sac[k]}
        assert differ <= {"gradient_steps", "train_freq"}, differ
        assert trial["settings"]["train_freq"] == 1


def test_an_unwritable_folder_is_one_line_with_exit_code_2(tmp_path, capsys):
    occupied = tmp_path / "a-file"
    occupied.write_text("")
    assert tune_main(["rocket", "--agent", "sac", "--out", str(occupied)]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "choose another --out" in error


def test_the_best_settings_file_is_toml_of_one_table(tmp_path):
    assert tune_main([*TINY, "--trials", "1", "--out", str(tmp_path)]) == 0
    data = tomllib.loads((tmp_path / "rocket-ppo.toml").read_text())
    assert list(data) == ["ppo"]
    # trial 0 is today's settings, nested tables included
    today = load_agent("ppo", "rocket").default_settings("rocket")
    assert data["ppo"]["policy_kwargs"]["net_arch"] == today["policy_kwargs"]["net_arch"]


@pytest.mark.slow
def test_two_workers_give_the_figures_of_one(tmp_path):
    """A trial's seeds in a pool of two spawned processes: the same study as in one."""
    argv = [*TINY, "--seeds", "2", "--trials", "2"]
    assert tune_main([*argv, "--out", str(tmp_path / "one")]) == 0
    assert tune_main([*argv, "--workers", "2", "--out", str(tmp_path / "two")]) == 0

    def figures(folder):
        trials = record_of(folder)["trials"]
        return [
            (t["params"], t["value"], [(s["seed"], s["curve"][-1][:2]) for s in t["seeds"]])
            for t in trials
        ]

    assert figures(tmp_path / "two") == figures(tmp_path / "one")
