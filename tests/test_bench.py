"""``python -m sandbox.bench --quick``: every figure is written with its target and ratio.

Speeds are not checked against their targets: the machine is shared and its load
varies, so only the bench's own output says whether a figure was on target that time.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox.bench.cli import finite_or_none, main
from sandbox.bench.targets import AT_LEAST, AT_MOST, Figure, Target

ROOT = Path(__file__).resolve().parents[1]
FIGURES = {
    "rocket_launches_per_s",
    "rocket_arrival_error_median",
    "rocket_arrival_error_max",
    "rocket_reference_hits_landed",
    "flight_uniform_decisions_per_s",
    "city_train_steps_per_s",
    "city_new_steps_per_s",
    "rocket_planner_plan_s",
    "rocket_planner_hits_after_first",
    "city_planner_decision_ms",
    "city_planner_walks_without_death",
    "city_planner_success",
    "dqn_city_env_share",
    "dqn_city_ledger_share",
    "ppo_rocket_env_share",
    "ppo_rocket_ledger_share",
}
FRACTIONS = {
    "rocket_reference_hits_landed",
    "rocket_planner_hits_after_first",
    "city_planner_walks_without_death",
    "city_planner_success",
}  # may be 0 when something is wrong; everything else is a positive measure


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory) -> tuple[dict, str]:
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "sandbox.bench", "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return json.loads(out.read_text()), done.stdout


@pytest.mark.slow
def test_every_figure_has_a_target_and_a_ratio(quick_run):
    report, _ = quick_run
    assert set(report["figures"]) == FIGURES
    assert report["errors"] == {}
    for name, figure in report["figures"].items():
        assert figure["relation"] in (AT_LEAST, AT_MOST), name
        assert figure["reason"], name
        for key in ("value", "target", "ratio"):
            assert isinstance(figure[key], float | int) and math.isfinite(figure[key]), (name, key)
        assert figure["target"] > 0, name
        assert figure["ratio"] == pytest.approx(figure["value"] / figure["target"]), name
        if name in FRACTIONS:
            assert 0.0 <= figure["value"] <= 1.0, name
        else:
            assert figure["value"] > 0, name
        assert isinstance(figure["ok"], bool), name


@pytest.mark.slow
def test_the_city_is_compared_with_gymnasium_envs_of_the_same_run(quick_run):
    report, _ = quick_run
    for name in ("city_train_steps_per_s", "city_new_steps_per_s"):
        figure = report["figures"][name]
        compared = figure["details"]["compared_with"]
        assert set(compared) == {"LunarLander-v3", "CartPole-v1"}
        assert figure["target"] == compared["LunarLander-v3"]["steps_per_s"]
        for reference in compared.values():
            assert reference["steps_per_s"] > 0
            assert reference["ratio"] == pytest.approx(figure["value"] / reference["steps_per_s"])


@pytest.mark.slow
def test_a_learners_time_splits_into_env_ledger_and_sb3(quick_run):
    report, _ = quick_run
    for learner in ("dqn_city", "ppo_rocket"):
        shares = report["figures"][f"{learner}_env_share"]["details"]
        assert shares["steps"] > 0 and shares["seconds"] > 0
        assert all(shares[part] > 0 for part in ("env_share", "ledger_share", "sb3_share"))
        assert shares["env_share"] + shares["ledger_share"] + shares["sb3_share"] == pytest.approx(
            1.0
        )


@pytest.mark.slow
def test_the_run_records_its_machine_and_versions_and_what_it_skipped(quick_run):
    report, output = quick_run
    assert report["quick"] is True
    assert report["date"] and report["seconds"] > 0
    assert report["machine"]["cores"] >= 1
    assert report["versions"]["gymnasium"] and report["versions"]["stable-baselines3"]
    assert set(report["skipped"]) == {"compare_rocket_wall_s", "compare_city_wall_s"}
    assert "skipped" in output
    for line in ("rocket: launches/s through env.step", "city planner: per decision"):
        assert line in output


def test_the_verdict_follows_the_relation():
    at_least, at_most = Target(AT_LEAST, 100.0, "why"), Target(AT_MOST, 0.1, "why")
    assert (
        Figure("a", "a", 150.0, "/s", at_least).ok and not Figure("a", "a", 50.0, "/s", at_least).ok
    )
    assert Figure("b", "b", 0.05, "R", at_most).ok and not Figure("b", "b", 0.2, "R", at_most).ok
    assert not Figure("c", "c", math.inf, "R", at_most).ok
    assert Figure("a", "a", 150.0, "/s", at_least).ratio == 1.5


def test_json_gets_no_nan_or_infinity():
    assert finite_or_none({"a": [1.0, math.nan], "b": math.inf, "c": (2, "x")}) == {
        "a": [1.0, None],
        "b": None,
        "c": [2, "x"],
    }


def test_an_unknown_part_is_refused(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--parts", "rocket,warp-drive"])
    assert exit_info.value.code == 2
    assert "warp-drive" in capsys.readouterr().err


def test_the_city_part_without_box2d_is_refused_before_measuring(capsys, monkeypatch, tmp_path):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "Box2D" else real(name, *a)
    )
    with pytest.raises(SystemExit) as exit_info:
        main(["--parts", "rocket,city", "--out", str(tmp_path / "bench.json")])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert (
        'pip install -e ".[bench]"' in error and "(or leave the city out: --parts rocket)" in error
    ), error
