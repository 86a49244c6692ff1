"""A job's checkpoint: what it needs to go on from its last evaluation point (or stop
between two far apart) when the process running it was stopped (Ctrl-C, SIGTERM, or
killed outright).

After each evaluation point of its home stage a job writes ``<job>.partial/point-<n>/``
beside its result file (``n``: its evaluations so far; ``point-<n>-<trials>`` at a stop
between points far apart, ``sandbox.run.job.CHECKPOINT_TRIALS``): the agent's own state
(``Agent.save_state``), the ledger's counts, the evaluations, the reliable streak, the job's
seconds so far and a digest of its configuration. Each point is written under a temporary
name and renamed into place once complete, so a process killed at any moment leaves the
last complete point; the point before it is deleted then. Run again, the job loads the
latest point written by the same configuration and goes on from there; the run deletes the
folder once it has written the job's result. An agent whose ``save_state`` declines leaves
no checkpoint, and its interrupted job starts over.
"""

from __future__ import annotations

import os
import pickle
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.base import Agent
from agents.ledger import Ledger

SUFFIX = ".partial"  #: a job's checkpoint folder is its result file's name with this suffix
POINT = "point-"  #: a complete point's folder: this, the evaluations it holds (and trials)
STATE_FILE = "job.pkl"  #: the harness's part of a point; the agent's is in ``agent/``


def checkpoint_folder(job_file: Path) -> Path:
    """Where the job whose result goes to ``job_file`` keeps its checkpoint."""
    return job_file.with_suffix(SUFFIX)


@dataclass
class Saved:
    """A home stage as its latest checkpoint left it."""

    evaluations: list[dict[str, Any]]
    streak: int  #: evaluation points in a row at or above the bar
    traces: list[dict[str, Any]]  #: the latest evaluation's traces
    seconds: float  #: the job's wall seconds when the point was written
    resumed_from_trials: list[int]  #: the trials at which the job went on, before this time
    ledger: dict[str, Any]  #: ``Ledger.state``
    agent_dir: Path


class Checkpoints:
    """The checkpoint folder of one job: ``save`` after each evaluation point (and stop
    between points far apart), ``restore`` when the job starts. ``digest`` names the job's
    configuration (``config_digest``): a point is taken back only by the same; ``name``
    names the job in notes."""

    def __init__(self, folder: Path, digest: str, name: str):
        self.folder = Path(folder)
        self.digest = digest
        self.name = name
        self.enabled = True  #: False once the agent declined to save or the disk refused

    def points(self) -> list[Path]:
        """The complete points, oldest first."""
        if not self.folder.is_dir():
            return []
        found = [path for path in self.folder.iterdir() if point_order(path.name) is not None]
        return sorted(found, key=lambda path: point_order(path.name))

    def latest(self) -> Saved | None:
        """The latest point, if this configuration wrote it and it can be read (else a note
        says why it is not used)."""
        points = self.points()
        if not points:
            return None
        point = points[-1]
        try:
            with open(point / STATE_FILE, "rb") as file:
                state = pickle.load(file)
        except Exception as error:  # a file cut short, or not a checkpoint: start over
            self.note(f"its checkpoint {point} cannot be read ({error!r}); it starts over")
            return None
        if state.get("config_digest") != self.digest:
            self.note(f"its checkpoint {point} is another configuration's; it starts over")
            return None
        return Saved(
            evaluations=state["evaluations"],
            streak=state["streak"],
            traces=state["traces"],
            seconds=state["seconds"],
            resumed_from_trials=state["resumed_from_trials"],
            ledger=state["ledger"],
            agent_dir=point / "agent",
        )

    def restore(self, agent: Agent, ledger: Ledger) -> Saved | None:
        """The latest point taken back into ``agent`` (just built) and ``ledger`` (empty),
        or None: no point to take back, or the agent could not, and the job starts over."""
        for stale in self.folder.glob(f".{POINT}*"):  # left by a process stopped mid-write
            shutil.rmtree(stale, ignore_errors=True)
        saved = self.latest()
        if saved is None:
            return None
        try:
            agent.load_state(saved.agent_dir, ledger)
        except Exception as error:  # any failure to load means: start over, counted afresh
            self.note(f"its agent cannot go on from {saved.agent_dir} ({error!r}); it starts over")
            return None
        ledger.restore(saved.ledger)
        return saved

    def save(
        self,
        agent: Agent,
        ledger: Ledger,
        evaluations: list[dict[str, Any]],
        streak: int,
        traces: list[dict[str, Any]],
        seconds: float,
        resumed_from_trials: list[int],
    ) -> None:
        """Write the point after ``evaluations[-1]``, whole or not at all, and delete the
        points before it."""
        if not self.enabled:
            return
        # After an evaluation point its count alone; between points, the trials too.
        point = self.folder / f"{POINT}{len(evaluations):03d}"
        if not evaluations or ledger.n_trials != evaluations[-1]["trials"]:
            point = point.with_name(f"{point.name}-{ledger.n_trials}")
        # Named by the process too: an orphaned worker of a killed run may still write here.
        temporary = self.folder / f".{point.name}.{os.getpid()}.tmp"
        try:
            shutil.rmtree(temporary, ignore_errors=True)
            (temporary / "agent").mkdir(parents=True)
            if not agent.save_state(temporary / "agent"):
                self.enabled = False
                shutil.rmtree(self.folder, ignore_errors=True)
                return
            state = {
                "config_digest": self.digest,
                "evaluations": evaluations,
                "streak": streak,
                "traces": traces,
                "seconds": seconds,
                "resumed_from_trials": resumed_from_trials,
                "ledger": ledger.state(),
            }
            with open(temporary / STATE_FILE, "wb") as file:
                pickle.dump(state, file, protocol=pickle.HIGHEST_PROTOCOL)
            shutil.rmtree(point, ignore_errors=True)
            os.replace(temporary, point)
        except Exception as error:  # a full disk or an agent that cannot be written costs
            # the job its checkpoints, not its result
            shutil.rmtree(temporary, ignore_errors=True)
            self.enabled = False
            self.note(f"cannot write its checkpoint in {self.folder} ({error}); it goes on without")
            return
        for other in self.folder.iterdir():
            if other != point and not other.name.startswith(f".{POINT}"):
                shutil.rmtree(other, ignore_errors=True)

    def note(self, text: str) -> None:
        print(f"job {self.name}: {text}", file=sys.stderr, flush=True)


def point_order(name: str) -> tuple[int, int] | None:
    """Where a point's folder stands among the job's points: ``point-<n>`` after its n-th
    evaluation, ``point-<n>-<trials>`` at a stop between two evaluation points; None for
    any other name."""
    if not name.startswith(POINT):
        return None
    evaluations, _, trials = name[len(POINT) :].partition("-")
    if not evaluations.isdigit() or not (trials == "" or trials.isdigit()):
        return None
    return int(evaluations), int(trials or 0)


def discard(folder: Path) -> None:
    """Delete a job's checkpoint folder (its result is written)."""
    shutil.rmtree(folder, ignore_errors=True)


def resumable(folder: Path) -> bool:
    """Whether a job's checkpoint folder holds a complete point."""
    return folder.is_dir() and any(
        point_order(path.name) is not None for path in folder.iterdir() if path.is_dir()
    )
