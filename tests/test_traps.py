"""Small traps on the command line: each is one line that names the fix, exit code 2, no
traceback; a closed pipe ends a command quietly; a map no walk can cross safely is refused;
learners leave no folders behind; the results folder is named in full."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from envs.city.citymap import CityMap
from envs.city.env import CityNavEnv
from envs.city.mapformat import MapError
from sandbox import compare
from sandbox.command_line import CLOSED_PIPE

ROOT = Path(__file__).resolve().parents[1]

ALWAYS_NORTH = """
from agents.base import Agent


class AlwaysNorth(Agent):
    def act(self, observation, info):
        return 1
"""


def one_line_error(capsys, *argv: str) -> str:
    """Run ``sandbox.compare`` in this process; its one error line (exit code 2)."""
    assert compare.main(list(argv)) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_a_file_without_its_class_says_to_add_it(capsys, tmp_path, monkeypatch):
    (tmp_path / "always_north.py").write_text(ALWAYS_NORTH)
    monkeypatch.chdir(tmp_path)
    line = one_line_error(capsys, "city", "--agents", "./always_north.py", "--out", "out")
    assert ":ClassName" in line and "./always_north.py:AlwaysNorth" in line, line


def test_a_name_only_a_plugin_registers_points_to_plugin(capsys, tmp_path):
    line = one_line_error(capsys, "city", "--agents", "always-north", "--out", str(tmp_path))
    assert "unknown agent 'always-north'" in line
    assert "--plugin MODULE" in line and "python -m sandbox.agents" in line, line


@pytest.mark.parametrize(
    ("task", "flag", "value", "words"),
    [
        ("city", "--map", "maps/nowhere.txt", ["no such map file: maps/nowhere.txt", "train"]),
        ("city", "--transfer-map", "nowhere.txt", ["no such map file: nowhere.txt", "new"]),
        ("rocket", "--world", "path.toml", ["no such world file: path.toml", "earth_moon"]),
        ("rocket", "--world", "worlds/pluto", ["no such world file: worlds/pluto"]),
    ],
)
def test_a_missing_map_or_world_file_is_no_such_file(capsys, tmp_path, task, flag, value, words):
    line = one_line_error(capsys, task, flag, value, "--out", str(tmp_path))
    for word in words:
        assert word in line, line


@pytest.mark.parametrize("value", ["0", "-1", "2.5", "far"])
def test_sight_must_be_a_positive_whole_number_or_full(capsys, tmp_path, value):
    line = one_line_error(capsys, "city", "--sight", value, "--out", str(tmp_path))
    assert "--sight" in line and "positive whole number of cells" in line and "'full'" in line


def test_help_lists_the_studies_and_names_option_values(capsys):
    with pytest.raises(SystemExit) as exited:
        compare.main(["--help"])
    assert exited.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    assert "rocket: decomposition, generalization" in text and "city: sight" in text
    for shown in ("--world WORLD", "--map MAP", "--transfer-map MAP", "--sight CELLS"):
        assert shown in text, shown
    assert "TASK_OPTION" not in text


def test_a_map_no_walk_can_cross_safely_is_refused(capsys, tmp_path):
    path = tmp_path / "crossing.txt"
    path.write_text("..v^..\n")  # every lane cell is an entry: a car may appear there unseen
    CityMap.load(path)  # well formed
    with pytest.raises(MapError) as caught:
        CityNavEnv(str(path))
    assert caught.value.file == str(path) and "cannot be walked safely" in str(caught.value)
    line = one_line_error(capsys, "city", "--map", str(path), "--out", str(tmp_path / "out"))
    assert "crossing.txt" in line and "cannot be walked safely" in line and "entr" in line


@pytest.mark.parametrize(
    "name",
    ["train", "new", str(ROOT / "tests" / "maps" / "staggered_blocks.txt")]
    + [f"random:{seed}" for seed in range(30)]
    + [f"random:{seed}:12x12" for seed in range(30)],
)
def test_the_shipped_and_generated_maps_can_be_walked_safely(name):
    CityNavEnv(name).reset(seed=0)


def closed_pipe(*argv: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """Run a command whose reader has gone before it prints anything."""
    process = subprocess.Popen(
        [sys.executable, "-m", *argv],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    process.stdout.close()
    err = process.stderr.read()
    return subprocess.CompletedProcess(process.args, process.wait(timeout=120), "", err)


@pytest.mark.parametrize(
    "argv",
    [
        ["sandbox.report", "results/rocket/reference"],
        ["sandbox", "report", "results/city/reference"],
        ["sandbox.agents"],
        ["sandbox.families", "results/rocket/reference", "--out", "{tmp}/families.png"],
        ["sandbox.bench", "--quick", "--parts", "rocket", "--out", "{tmp}/bench.json"],
    ],
)
def test_a_closed_pipe_ends_a_command_quietly(tmp_path, argv):
    result = closed_pipe(*[arg.format(tmp=tmp_path) for arg in argv])
    assert result.returncode == CLOSED_PIPE and result.stderr == "", result.stderr


@pytest.mark.slow
def test_a_closed_pipe_ends_compare_quietly(tmp_path):
    result = closed_pipe(
        "sandbox.compare",
        "rocket",
        "--agents",
        "random",
        "--seeds",
        "1",
        "--budget",
        "2",
        "--no-animations",
        "--eval-episodes",
        "2",
        "--workers",
        "1",
        "--out",
        str(tmp_path / "run"),
    )
    assert result.returncode == CLOSED_PIPE and "Traceback" not in result.stderr, result.stderr


def test_a_learner_leaves_no_sb3_folder(tmp_path, monkeypatch):
    from sandbox.run.job import JobConfig, run_job

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where SB3 would put SB3-<time>
    run_job(
        JobConfig(
            task="rocket",
            agent="ppo",
            seed=0,
            budget=3,
            eval_episodes=1,
            eval_grid=(),
            reliable_bar=0.9,
        )
    )
    assert not list(tmp_path.glob("SB3-*"))


def test_the_results_folder_is_printed_in_full(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv = ["rocket", "--agents", "random", "--seeds", "1", "--budget", "2", "--workers", "1"]
    assert compare.main([*argv, "--eval-episodes", "2", "--no-animations", "--out", "run"]) == 0
    out = capsys.readouterr().out.splitlines()
    folder = str(tmp_path.resolve() / "run")
    assert out[0].endswith(f"-> {folder}"), out[0]
    assert out[-1] == f"Results, table data and plots: {folder}", out[-1]
