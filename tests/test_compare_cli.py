"""The compare command: bad input, interruption, the results folder."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.commands import in_process

ROOT = Path(__file__).resolve().parents[1]


def compare(*args: str) -> subprocess.CompletedProcess:
    """The compare command run in this process (tests/commands.py): its bad input is
    refused in milliseconds."""
    from sandbox.compare import main

    return in_process(main, *args)


def compare_process(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python -m sandbox.compare`` in a process of its own, as a user starts it."""
    return subprocess.run(
        [sys.executable, "-m", "sandbox.compare", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_one_line_error(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0], lines[0]


# The one-line errors are refused in this process; the runs, the interrupt and the help
# of every command start processes of their own (seconds of imports each, so slow).


def test_unknown_task(tmp_path):
    assert_one_line_error(compare("mars", "--out", str(tmp_path)), "mars", "rocket")


@pytest.mark.slow
def test_unknown_agent_lists_valid_ones(tmp_path):
    assert_one_line_error(
        compare("rocket", "--agents", "ppo,alphago", "--out", str(tmp_path)),
        "alphago",
        "planner",
        "sac",
    )


@pytest.mark.slow
@pytest.mark.parametrize("flag", ["--budget", "--seeds"])
@pytest.mark.parametrize("value", ["0", "-3", "ten"])
def test_non_positive_numbers(tmp_path, flag, value):
    assert_one_line_error(compare("rocket", flag, value, "--out", str(tmp_path)), flag, "positive")


def test_unknown_world_lists_presets(tmp_path):
    assert_one_line_error(
        compare("rocket", "--world", "pluto", "--out", str(tmp_path)), "pluto", "earth_moon"
    )


@pytest.mark.slow
def test_malformed_world_file(tmp_path):
    world = tmp_path / "bad.toml"
    world.write_text("name = 'bad'\nearth_radius_km = [\n")
    assert_one_line_error(
        compare("rocket", "--world", str(world), "--out", str(tmp_path / "out")), "bad.toml", "TOML"
    )


@pytest.mark.slow
def test_unwritable_output_folder(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert_one_line_error(
        compare("rocket", "--out", str(blocker / "run")), "cannot write", "a-file"
    )


@pytest.mark.slow
def test_folder_of_another_run_is_refused(tmp_path):
    first = compare(
        "rocket",
        "--agents",
        "random",
        "--seeds",
        "1",
        "--budget",
        "3",
        "--workers",
        "1",
        "--no-animations",
        "--eval-episodes",
        "2",
        "--out",
        str(tmp_path),
    )
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "report.html").exists() and not (tmp_path / "animations").exists()
    second = compare(
        "rocket",
        "--agents",
        "random",
        "--seeds",
        "1",
        "--budget",
        "4",
        "--workers",
        "1",
        "--no-animations",
        "--eval-episodes",
        "2",
        "--out",
        str(tmp_path),
    )
    assert_one_line_error(second, "different run")


@pytest.mark.slow
def test_small_run_writes_results(tmp_path):
    result = compare_process(
        "rocket",
        "--agents",
        "random,ppo",
        "--seeds",
        "2",
        "--budget",
        "20",
        "--eval-episodes",
        "4",
        "--out",
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert "trials to reliable" in result.stdout and "> 20" in result.stdout
    last = result.stdout.strip().splitlines()[-2]  # under the table, above the folder's line
    assert last.startswith("Demo budgets (2 seeds, 20 launches): the learners have only started")
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["complete"] is True
    for agent in ("random", "ppo"):
        entry = summary["agents"][agent]
        assert entry["seeds"] == [0, 1]
        assert entry["budget"] == 20 and entry["reliable_bar"] == 0.9
        assert len(entry["trials_to_reliable"]) == 2 and len(entry["final_success_rate"]) == 2
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["seeds"] == [0, 1] and config["env_kwargs"] == {"world": "earth_moon"}
    rows = (tmp_path / "evaluations.csv").read_text().splitlines()
    assert rows[0].startswith("phase,agent,seed,trials,success_rate")
    assert len(rows) > 4
    assert (tmp_path / "success_vs_trials.png").stat().st_size > 10_000
    assert (tmp_path / "trajectories.png").stat().st_size > 10_000
    for seed in (0, 1):  # a demo run keeps every seed's episodes for the pictures and watch
        job = json.loads((tmp_path / "jobs" / f"train-random-seed{seed}.json").read_text())
        assert job["traces"]["evaluation"]


def test_a_full_run_keeps_the_episodes_of_seed_0_alone(tmp_path):
    result = compare_process(
        "rocket", "--full", "--agents", "random", "--seeds", "2", "--budget", "10",
        "--eval-episodes", "4", "--out", str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    first, second = (
        json.loads((tmp_path / "jobs" / f"train-random-seed{seed}.json").read_text())
        for seed in (0, 1)
    )
    assert first["traces"]["evaluation"] and first["traces"]["training_first"]
    assert "traces" not in second
    assert second["evaluations"] and second["trials_spent"] == 10
    assert (tmp_path / "success_vs_trials.png").stat().st_size > 10_000


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["1", "2"])
def test_ctrl_c_keeps_finished_results(tmp_path, workers):
    """With one worker the interrupt lands in this process, nearly always inside a flight
    (where the time goes); with two, in the parent while workers fly."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox.compare",
            "rocket",
            "--agents",
            "random",
            "--seeds",
            "12",
            "--budget",
            "40",
            "--no-animations",
            "--eval-episodes",
            "2",
            "--workers",
            workers,
            "--out",
            str(tmp_path),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A shell starts background jobs with Ctrl-C ignored;
        # the run must see it as a terminal would.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    jobs = tmp_path / "jobs"
    deadline = time.time() + 240
    while time.time() < deadline and len(list(jobs.glob("*.json"))) < 2:
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    kept = list(jobs.glob("*.json"))
    assert 2 <= len(kept) < 12
    assert f"kept {len(kept)} finished" in stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["complete"] is False
    assert len(summary["agents"]["random"]["seeds"]) == len(kept)
    # The same command finishes the rest without redoing what was kept.
    before = {p.name: p.stat().st_mtime for p in kept}
    rerun = compare_process(
        "rocket",
        "--agents",
        "random",
        "--seeds",
        "12",
        "--budget",
        "40",
        "--no-animations",
        "--eval-episodes",
        "2",
        "--workers",
        workers,
        "--out",
        str(tmp_path),
    )
    assert rerun.returncode == 0, rerun.stderr
    assert len(list(jobs.glob("*.json"))) == 12
    assert all((jobs / name).stat().st_mtime == mtime for name, mtime in before.items())


@pytest.mark.slow
def test_unknown_city_map_lists_built_ins(tmp_path):
    assert_one_line_error(
        compare("city", "--map", "atlantis", "--out", str(tmp_path)), "atlantis", "train"
    )


def test_malformed_city_map_names_file_line_and_column(tmp_path):
    city = tmp_path / "broken.txt"
    city.write_text("....\n..Q.\n....\n")
    result = compare("city", "--transfer-map", str(city), "--out", str(tmp_path / "out"))
    assert_one_line_error(result, "--transfer-map", "broken.txt:2:3")


@pytest.mark.slow
def test_city_agents_are_checked_against_the_city(tmp_path):
    assert_one_line_error(
        compare("city", "--agents", "sac", "--out", str(tmp_path)), "sac", "traffic-planner"
    )


@pytest.mark.slow
def test_options_of_the_other_task_are_refused(tmp_path):
    assert_one_line_error(
        compare("city", "--world", "earth_moon", "--out", str(tmp_path)), "--world"
    )
    assert_one_line_error(compare("rocket", "--map", "train", "--out", str(tmp_path)), "--map")


@pytest.mark.slow
def test_unknown_study(tmp_path):
    assert_one_line_error(
        compare("rocket", "--study", "vibes", "--out", str(tmp_path)), "vibes", "generalization"
    )


ODD_MAPS = {
    "two_by_one.txt": "; an odd city\n[city]\nname = odd\n[grid]\n>\n.\n",
    "cut_off.txt": "; an odd city\n[city]\nname = odd\n[grid]\n>>>>>>\n>>>>>>\n######\n..####\n",
}


@pytest.mark.slow
@pytest.mark.parametrize("flag", ["--map", "--transfer-map"])
@pytest.mark.parametrize("name", sorted(ODD_MAPS))
def test_maps_that_load_but_cannot_run_are_one_line_errors(tmp_path, flag, name):
    city = tmp_path / name
    city.write_text(ODD_MAPS[name])
    world = "training world" if flag == "--map" else "transfer world"
    assert_one_line_error(
        compare("city", flag, str(city), "--out", str(tmp_path / "out")), world, "cannot be played"
    )


@pytest.mark.slow
def test_binary_map_and_world_files_are_one_line_errors(tmp_path):
    blob = bytes(range(256)) * 4
    (tmp_path / "photo.txt").write_bytes(blob)
    (tmp_path / "photo.toml").write_bytes(blob)
    assert_one_line_error(
        compare("city", "--map", str(tmp_path / "photo.txt"), "--out", str(tmp_path / "a")),
        "--map",
        "photo.txt:2:118",
        "UTF-8",
    )
    assert_one_line_error(
        compare("rocket", "--world", str(tmp_path / "photo.toml"), "--out", str(tmp_path / "b")),
        "photo.toml",
        "UTF-8",
    )


@pytest.mark.slow
@pytest.mark.parametrize("spec", ["random:-1", "random:seven", "random:3:5x5"])
def test_bad_generated_city_names_are_one_line_errors(tmp_path, spec):
    assert_one_line_error(compare("city", "--map", spec, "--out", str(tmp_path)), "--map", spec)


@pytest.mark.slow
def test_a_world_with_its_moon_inside_the_parking_orbit_is_a_one_line_error(tmp_path):
    text = (ROOT / "envs" / "rocket" / "worlds" / "earth_moon.toml").read_text()
    world = tmp_path / "tight.toml"
    world.write_text(
        text.replace(
            "moon_distance_km = [363300.0, 405500.0]", "moon_distance_km = [1000.0, 2000.0]"
        )
    )
    assert_one_line_error(
        compare("rocket", "--world", str(world), "--out", str(tmp_path / "out")),
        "tight.toml",
        "parking orbit",
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "module", ["sandbox.report", "sandbox.plots", "sandbox.run_report", "sandbox.families"]
)
def test_every_command_answers_help(module):
    result = subprocess.run(
        [sys.executable, "-m", module, "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert result.stdout.startswith(f"usage: python -m {module}")
    summary = result.stdout.split("\n\n")[1]
    assert summary.rstrip().endswith("."), summary  # whole sentences, not cut mid-way
