"""The wall time of the default comparisons, ``python -m sandbox.compare rocket`` and
``... city``, each run as a user runs it (a fresh process with its own workers) into a
temporary folder."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from sandbox.bench.targets import COMPARE_WALL_S, Figure

SOURCE = Path(__file__).resolve().parents[2]  #: the checkout, where the command is run from


def compare_wall_time(task: str) -> Figure:
    """Runs the default comparison of ``task``; a failed run raises ``RuntimeError`` with its last
    lines."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{task}-") as folder:
        command = [sys.executable, "-m", "sandbox.compare", task, "--out", str(Path(folder) / task)]
        started = time.perf_counter()
        done = subprocess.run(command, cwd=SOURCE, capture_output=True, text=True)
        wall_s = time.perf_counter() - started
        if done.returncode != 0:
            tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
            raise RuntimeError(f"{' '.join(command[1:])} failed (exit {done.returncode}):\n{tail}")
        learner = best_learner_figure(Path(folder) / task)
    return Figure(
        f"compare_{task}_wall_s",
        f"python -m sandbox.compare {task}",
        wall_s,
        "s",
        COMPARE_WALL_S[task],
        {"command": " ".join(["python", *command[1:4]]), "exit_code": done.returncode, **learner},
    )


def best_learner_figure(folder: Path) -> dict[str, object]:
    """What the run showed of its best learner: its name and median final held-out success."""
    from sandbox.outputs.run_data import RunData, best_learner

    run = RunData.load(folder)
    agent = best_learner(run)
    if agent is None:
        return {"best_learner": None}
    success = float(np.median(run.summary[agent]["final_success_rate"]))
    return {"best_learner": agent, "best_learner_median_success": success}
