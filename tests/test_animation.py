"""Animated episodes from a run's saved files: tiny runs of both tasks animate, every GIF
moves, is big enough to project and stays small on disk, an MP4 lies beside each where
ffmpeg is installed, the watch command's bad input is one line, and the committed
reference runs, saved before the traces could be replayed, still plot and animate."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from sandbox import watch
from sandbox.outputs.run_data import RunData
from sandbox.pictures.animation import can_write_mp4, write_animations

ROOT = Path(__file__).resolve().parents[1]
GIF_LIMIT_BYTES = 500_000
#: a panel's least size in pixels, twice what the first animations had (336 x 368)
PANEL_PIXELS = (672, 736)
AGENTS = {"rocket": "planner,random", "city": "traffic-planner,random"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """A tiny run of each task: a planner and random search, 3 trials, 2 held-out episodes."""
    folders = {}
    for task, agents in AGENTS.items():
        folder = tmp_path_factory.mktemp(task) / "run"
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "sandbox.compare",
                task,
                "--agents",
                agents,
                "--seeds",
                "1",
                "--budget",
                "3",
                "--no-animations",  # the tests draw them, each as it needs
                "--eval-episodes",
                "2",
                "--workers",
                "1",
                "--out",
                str(folder),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        folders[task] = folder
    return folders


def assert_small_moving_gifs(paths: list[Path]) -> None:
    gifs = [path for path in paths if path.suffix != ".mp4"]
    assert gifs
    for path in gifs:
        assert path.suffix == ".gif" and path.stat().st_size < GIF_LIMIT_BYTES, path
        with Image.open(path) as gif:
            assert gif.n_frames > 1, path
            assert gif.width >= PANEL_PIXELS[0] and gif.height >= PANEL_PIXELS[1], gif.size


def assert_mp4_beside_each_gif(paths: list[Path]) -> None:
    """Where ffmpeg is installed an MP4 of each GIF beside it, elsewhere none."""
    gifs = sorted(path.with_suffix("") for path in paths if path.suffix == ".gif")
    mp4s = sorted(path.with_suffix("") for path in paths if path.suffix == ".mp4")
    assert mp4s == (gifs if can_write_mp4() else [])
    for path in paths:
        if path.suffix == ".mp4":
            assert path.stat().st_size > 1_000 and path.read_bytes()[4:8] == b"ftyp", path


def one_line_error(capsys, code: int, *words: str) -> None:
    assert code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    for word in words:
        assert word in lines[0], lines[0]


@pytest.mark.slow
@pytest.mark.parametrize("task", sorted(AGENTS))
def test_every_agent_animates_and_the_planner_beside_the_other(runs, task):
    paths = write_animations(RunData.load(runs[task]))
    assert_small_moving_gifs(paths)
    assert_mp4_beside_each_gif(paths)
    names = {path.name for path in paths}
    planner, other = AGENTS[task].split(",")
    assert {
        f"{planner}-seed0-episode0.gif",
        f"{planner}-seed0-episode1.gif",
        f"{other}-seed0-episode0.gif",
    } <= names
    assert f"{planner}-vs-{other}.gif" in names
    assert all(path.parent == runs[task] / "animations" for path in paths)


@pytest.mark.slow
def test_without_ffmpeg_the_gifs_alone(runs, monkeypatch):
    from sandbox.pictures import animation

    monkeypatch.setattr(animation, "can_write_mp4", lambda: False)
    paths = write_animations(RunData.load(runs["city"]), agents=["random"], episodes=1)
    assert [path.suffix for path in paths] == [".gif"]


@pytest.mark.slow
def test_traces_hold_what_a_replay_needs(runs):
    rocket = json.loads((runs["rocket"] / "jobs" / "train-planner-seed0.json").read_text())
    launch = rocket["traces"]["evaluation"][0]
    assert len(launch["moon"]) == len(launch["path"]) == len(launch["t_h"]) > 2
    assert launch["outcome"] == "moon" and launch["moon_end"] == launch["moon"][-1]
    city = json.loads((runs["city"] / "jobs" / "train-random-seed0.json").read_text())
    for walk in city["traces"]["evaluation"] + city["transfer"]["zero_shot_traces"]:
        assert len(walk["cars"]) == len(walk["path"]) and len(walk["goal"]) == 2
        assert all(len(car) == 4 for cars in walk["cars"] for car in cars)
        assert (walk["death_cell"] is not None) == walk["death"] and walk["outcome"]


@pytest.mark.slow
def test_watch_writes_more_episodes(runs, capsys):
    assert watch.main([str(runs["city"]), "--agent", "random", "--episodes", "3"]) == 0
    written = [Path(line) for line in capsys.readouterr().out.split()]
    assert [path.name for path in written] == [
        "random-seed0-episode0.gif",
        "random-seed0-episode1.gif",
        "random-seed0-transfer-episode0.gif",
    ]
    assert_small_moving_gifs(written)


@pytest.mark.slow
def test_watch_bad_input_is_one_line(runs, tmp_path, capsys, monkeypatch):
    one_line_error(
        capsys,
        watch.main([str(tmp_path / "nowhere"), "--agent", "random"]),
        "nowhere",
        "run folder",
    )
    one_line_error(
        capsys,
        watch.main([str(runs["rocket"]), "--agent", "alphago"]),
        "alphago",
        "planner, random",
    )
    if sys.platform not in ("darwin", "win32"):
        monkeypatch.delenv("DISPLAY", raising=False)
        monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
        one_line_error(
            capsys, watch.main([str(runs["rocket"]), "--agent", "planner", "--show"]), "display"
        )
    if shutil.which("ffmpeg") is None:
        one_line_error(
            capsys, watch.main([str(runs["rocket"]), "--agent", "planner", "--mp4"]), "ffmpeg"
        )


@pytest.mark.slow
@pytest.mark.parametrize("task", ["rocket", "city"])
def test_a_run_saved_before_replays_still_plots_and_animates(task, tmp_path):
    """The committed reference runs kept the path and the Moon's end (rocket) or the path
    and goal (city) only: their plots draw as before, and their walks and flights animate."""
    from sandbox.tasks import get_task

    folder = tmp_path / "reference"
    shutil.copytree(
        ROOT / "results" / task / "reference", folder, ignore=shutil.ignore_patterns("*.png")
    )
    run = RunData.load(folder)
    for plot in get_task(task).plots:
        plot(run)
    assert_small_moving_gifs(write_animations(run, agents=list(run.summary)[:2], episodes=1))
