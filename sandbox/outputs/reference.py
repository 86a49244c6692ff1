"""The committed reference a run is read against: the ``--full`` run of the same task (and
study) kept in the repository's ``results/``, used only when it ran in the same world.

The reference of task T is ``results/T/reference``, of its study S
``results/T/S-reference``, beside the package (``Path(sandbox.__file__).parents[1]``): a
pip install without the repository's ``results/`` has none. A run at the demo budgets draws
the reference's curves beside its own and says how to reproduce it; a ``--full`` run is a
reference itself and draws none.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import sandbox
from sandbox.outputs.run_data import RunData, world_name
from sandbox.tasks import get_task

REPOSITORY = Path(sandbox.__file__).resolve().parents[1]
RESULTS_DIR = REPOSITORY / "results"


def reference_folder(task: str, study: str | None) -> Path:
    """Where the committed reference of ``task`` (and ``study``) is, whether it exists or not."""
    return RESULTS_DIR / task / (f"{study}-reference" if study else "reference")


def docs_page(task: str, study: str | None) -> Path | None:
    """The results page that quotes the reference, if the repository has one: ``<task>.md``,
    or for a study ``<task>-<study>.md`` or ``<study>.md`` when that page quotes this task's
    reference of the study (a study may run on several tasks)."""
    pages = REPOSITORY / "docs" / "results"
    if study is None:
        candidates = [pages / f"{task}.md"]
    else:
        candidates = [pages / f"{task}-{study}.md", pages / f"{study}.md"]
    folder = f"results/{task}/" + (f"{study}-reference" if study else "reference")
    for page in candidates:
        if page.is_file() and (study is None or folder in page.read_text()):
            return page
    return None


def reproduce_command(task: str, study: str | None) -> str:
    return f"python -m sandbox.compare {task}" + (f" --study {study}" if study else "") + " --full"


def is_full(run: RunData) -> bool:
    """The run is a reference run (``--full``) or is the committed reference itself."""
    folder = reference_folder(run.summary_file["task"], run.config.get("study"))
    return bool(run.config.get("full")) or run.folder.resolve() == folder.resolve()


@dataclass(frozen=True)
class Reference:
    """The committed reference of a run, or why there is none to read it against."""

    folder: Path  #: where it is (or would be)
    run: RunData | None  #: loaded when it ran in the run's world(s)
    missing: str = ""  #: when ``run`` is None: a short line for a figure, e.g. "no committed ..."
    transfer: bool = False  #: read for the new world too (its settings there count)

    def agents(self, run: RunData) -> tuple[list[str], list[str]]:
        """The run's agents the reference has with the same code and settings, and the others."""
        if self.run is None:
            return [], list(run.summary)
        ours, theirs = run.config.get("agent_details", {}), self.run.config.get("agent_details", {})
        same, other = [], []
        for agent in run.summary:
            known = agent in self.run.summary and _same_agent(
                ours.get(agent), theirs.get(agent), self.transfer
            )
            (same if known else other).append(agent)
        return same, other

    def note(self, run: RunData) -> str:
        """What a figure says of the agents it draws no reference curve for ("" if none)."""
        if self.run is None:
            return self.missing
        other = self.agents(run)[1]
        return f"no committed reference for {', '.join(other)}" if other else ""

    def label(self, drawn_as: str = "dashed") -> str:
        """The legend's one line for the reference's curves."""
        seeds = len(self.run.config.get("seeds", ())) if self.run is not None else 0
        return f"{drawn_as}: reference (--full, {seeds} seeds)"


#: settings that act only once an agent moves to a new world: they do not change its curve
#: in the training world
NEW_WORLD_SETTINGS = frozenset({"keep_replay_in_new_world", "learning_starts_in_new_world"})


def _same_agent(
    ours: dict[str, Any] | None, theirs: dict[str, Any] | None, transfer: bool = False
) -> bool:
    """Both recorded the same class and settings (a run that recorded none is taken as the
    same); without ``transfer``, the settings that act only in a new world are left out."""
    if not ours or not theirs:
        return True

    def acting(details: dict[str, Any]) -> dict[str, Any]:
        settings = details.get("settings") or {}
        if transfer:
            return settings
        return {k: v for k, v in settings.items() if k not in NEW_WORLD_SETTINGS}

    return ours.get("class") == theirs.get("class") and acting(ours) == acting(theirs)


def reference_of(run: RunData, transfer: bool = False) -> Reference | None:
    """The committed reference to draw beside ``run``: None when the run is a reference itself;
    a ``Reference`` without a run when none matches the run's world (with ``transfer``, its new
    world too)."""
    if is_full(run):
        return None
    task, study = run.summary_file["task"], run.config.get("study")
    folder = reference_folder(task, study)
    if not (folder / "config.json").is_file() or not (folder / "summary.json").is_file():
        return Reference(folder, None, f"no committed reference for {task}{_of_study(study)}")
    config = json.loads((folder / "config.json").read_text())
    keys = ("env_kwargs", "transfer_env_kwargs") if transfer else ("env_kwargs",)
    for key in keys:
        if run.config.get(key) != config.get(key):
            world = world_name(run.config.get(key) or {})
            return Reference(folder, None, f"no committed reference for this world ({world})")
    return Reference(folder, load_reference(folder), transfer=transfer)


def _of_study(study: str | None) -> str:
    return f", study {study}" if study else ""


@lru_cache(maxsize=4)
def load_reference(folder: Path) -> RunData:
    """A committed reference, read once per process (its files do not change under a run)."""
    return RunData.load(folder)


def demo_note(run: RunData) -> str | None:
    """One line under a run at the demo budgets (not ``--full``): its budgets, how far they are
    from the reference's and which command reproduces the reference. None for a ``--full`` run."""
    if is_full(run):
        return None
    task, study = run.summary_file["task"], run.config.get("study")
    trials_word = get_task(task).trials_word
    summary = run.summary
    budgets = [entry["budget"] for entry in summary.values()]
    common = max(sorted(set(budgets), reverse=True), key=budgets.count)
    learners = run.agents_of_kind("learner")
    seeds = max(len(entry["seeds"]) for entry in summary.values())
    plural = "s" if seeds != 1 else ""
    if budgets.count(common) > 1 or len(budgets) == 1:  # the learners' budgets past the common one
        own = [f"{a} {summary[a]['budget']:,}" for a in learners if summary[a]["budget"] != common]
        text = f"Demo budgets ({seeds} seed{plural}, {common:,} {trials_word}" + (
            f"; {', '.join(own)})" if own else ")"
        )
    else:  # no budget shared by two agents: each agent's own (the flight's planner 3, PPO 10,000)
        each = ", ".join(f"{agent} {entry['budget']:,}" for agent, entry in summary.items())
        text = f"Demo budgets ({seeds} seed{plural}; {trials_word}: {each})"
    reference = reference_of(run)
    command = reproduce_command(task, study)
    started = ": the learners have only started" if learners else ""
    if reference is None or reference.run is None:
        missing = f"; {reference.missing}" if reference is not None else ""
        return (
            f"{text}{started}. `{command}`, with this run's world options, runs the full "
            f"budgets{missing}."
        )
    most = max(
        (reference.run.summary[a]["budget"] for a in learners if a in reference.run.summary),
        default=0,
    )
    if most <= max((summary[a]["budget"] for a in learners), default=0):
        started, given = "", ""  # the learners had the reference's budgets
    else:
        given = f", where the reference gives them up to {most:,}"
    where = [reference.folder.relative_to(REPOSITORY).as_posix()]
    page = docs_page(task, study)
    if page is not None:
        where.append(page.relative_to(REPOSITORY).as_posix())
    return f"{text}{started}{given}. `{command}` reproduces the reference ({', '.join(where)})."
