"""The flight's default run end to end at a tiny size (table, trajectory plot, animations,
report), and the bench's flight figure beside LunarLander-v3."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from sandbox.bench.cli import main as bench_main
from sandbox.tasks.flight_pictures import flight_outcome
from tests.commands import in_process

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[Path, str]:
    """The default agents, one training flight each and one held-out flight (the planner
    spends seconds a flight), animations and all."""
    folder = tmp_path_factory.mktemp("flight") / "run"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sandbox.compare",
            "flight",
            "--budget",
            "1",
            "--eval-episodes",
            "1",
            "--out",
            str(folder),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return folder, done.stdout


@pytest.mark.slow
def test_the_default_run_writes_table_plot_animations_and_report(run):
    folder, output = run
    for agent in ("planner", "random", "ppo", "sac"):
        assert any(line.startswith(agent) for line in output.splitlines()), output
    for name in ("summary.json", "report.md", "report.html", "flight_trajectories.png"):
        assert (folder / name).stat().st_size > 0, name
    gifs = sorted((folder / "animations").glob("*.gif"))
    assert any(gif.name.startswith("planner-vs-") for gif in gifs), gifs
    with Image.open(gifs[0]) as gif:
        assert gif.n_frames > 1


@pytest.mark.slow
def test_a_saved_flight_holds_its_burns_and_reads_in_words(run):
    folder, _ = run
    job = json.loads((folder / "jobs" / "train-planner-seed0.json").read_text())
    trace = job["traces"]["evaluation"][0]
    assert len(trace["burns"]) == len(trace["path"]) == len(trace["moon"])
    first = job["traces"]["training_first"][0]
    assert len(first["burns"]) == len(first["path"]) == len(first["moon"])
    words = flight_outcome(trace)
    assert " h after " in words and "burn" in words
    if trace["success"]:
        assert words.startswith("captured by the Moon")


def test_the_bench_reports_the_flight_beside_lunar_lander(tmp_path):
    out = tmp_path / "bench.json"
    done = in_process(bench_main, "--quick", "--parts", "flight", "--out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    figure = json.loads(out.read_text())["figures"]["flight_uniform_decisions_per_s"]
    assert figure["target"] == 2_000 and figure["relation"] == "at least"
    assert figure["value"] > 0 and figure["details"]["core_share"] > 0
    lander = figure["details"]["compared_with"]["LunarLander-v3"]
    assert lander["per_cpu_s"] > 0
    assert lander["ratio"] == pytest.approx(figure["value"] / lander["per_cpu_s"])
    assert "flight: decisions/s, uniform random" in done.stdout
