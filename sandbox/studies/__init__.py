"""Studies: variations of a task's protocol, chosen with ``--study NAME``.

A study is one module that builds a ``Study`` and registers it. It may change the
training world (``env_kwargs``) and the transfer world, and add its own steps
around the standard protocol:

- ``after_training(agent, context)``: runs in the worker after an agent has trained
  in its home world (phase ``train``); what it returns is saved in the job file
  under the study's name; ``after_training_trials(settings)`` says how many episodes
  it plays, and ``context.report(done)`` moves the progress bar as it goes;
- ``summarise(jobs, agents, settings)``: a dict merged into ``summary.json``;
- ``tables(summary_file)``: text tables printed after the task's own (and quoted
  by ``sandbox.report``);
- ``findings(summary_file)``: paragraphs for the run's report, built from the numbers;
- ``plots``: functions drawing from a run's files, like a task's.

A study with ``variants`` runs every agent once per variant of the world (say, per
sight radius), each under the name ``agent@variant``.

A study with ``cells`` runs agents with settings of its own, each under a label of its
own: ``"sac-rel": ("sac", {"burn_angle_input": "relative"})`` runs SAC with that setting
as ``sac-rel`` in every table, file and ``--set sac-rel.KEY=VALUE``. ``--agents`` then
picks some of the cells by label.

The sandbox finds studies built in (``BUILTIN_STUDIES``), declared by installed
packages under the entry-point group ``sandbox.studies``, or registered with
``register_study`` by a module imported so far (``--plugin``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.base import Agent
from agents.plugins import PluginError, declared, load_object
from sandbox.tasks import Size, Task

STUDY_ENTRY_POINTS = "sandbox.studies"
#: a cell's label: it names files and is the prefix of ``--set LABEL.KEY=VALUE``, so no dots,
#: colons, ``@`` (a variant's mark), slashes or spaces
CELL_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
#: a study's cell: the agent (a name, ``module:Class`` or ``file.py:Class``) and the settings
#: the cell gives it over its defaults
Cell = tuple[str, dict[str, Any]]
#: the built-in studies, by name, and where they live (imported only when used); a name may
#: stand for one study per task, as an agent's name may
BUILTIN_STUDIES: dict[str, str | dict[str, str]] = {
    "decomposition": "sandbox.studies.decomposition:DECOMPOSITION",
    "generalization": {
        "rocket": "sandbox.studies.generalization:GENERALIZATION",
        "flight": "sandbox.studies.generalization_flight:FLIGHT_GENERALIZATION",
    },
    "sight": "sandbox.studies.sight:SIGHT",
}


@dataclass(frozen=True)
class StudyContext:
    """What a study's ``after_training`` step is given besides the agent."""

    task: Task
    env_kwargs: dict[str, Any]  #: the world the agent trained in
    settings: dict[str, Any]  #: the study's settings for this run (default or ``--full``)
    #: the agent's seed's held-out set: its episode i resets with ``eval_seed_base + i``, drawn
    #: per seed (another seed plays another set, every agent at this seed the same one)
    eval_seed_base: int
    eval_set_size: int  #: the most episodes that set holds; seeds past it belong to other sets
    #: tells the run's progress bar that the step has played this many episodes so far (of
    #: the study's ``after_training_trials``)
    report: Callable[[int], None] = lambda episodes: None


@dataclass(frozen=True)
class Study:
    name: str
    task: str  #: the task it varies
    description: str  #: one line, for listings and ``--help``
    default: Size
    full: Size
    env_kwargs: dict[str, Any] = field(default_factory=dict)  #: added to the task's training world
    transfer_env_kwargs: dict[str, Any] | None = (
        None  #: the study's new world (None: no transfer stage)
    )
    settings_default: dict[str, Any] = field(default_factory=dict)
    settings_full: dict[str, Any] = field(default_factory=dict)
    agents: tuple[str, ...] | None = None  #: the study's default agents (None: the task's)
    #: variants of the world, by name: every agent runs in each, named ``agent@variant``,
    #: with these env keyword arguments added to both worlds (empty: one world, no suffix)
    variants: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: agents with settings, by label (``"sac-rel": ("sac", {"burn_angle_input": "relative"})``):
    #: the study's agents instead of ``agents``, each under its label; a setting of ``--set``
    #: or ``--agent-config`` is merged over the cell's
    cells: dict[str, Cell] = field(default_factory=dict)
    after_training: Callable[[Agent, StudyContext], dict[str, Any]] | None = None
    #: the episodes ``after_training`` plays, from the study's settings: the progress bar
    #: counts them as the job's trials, so that its time left holds the step
    after_training_trials: Callable[[dict[str, Any]], int] | None = None
    summarise: (
        Callable[[list[dict[str, Any]], list[str], dict[str, Any]], dict[str, Any]] | None
    ) = None
    tables: Callable[[dict[str, Any]], list[tuple[str, str]]] = (
        lambda summary_file: []
    )  #: (title, table)
    #: paragraphs for the run's report, each built from the summary's numbers
    findings: Callable[[dict[str, Any]], list[str]] = lambda summary_file: []
    plots: tuple[Callable[[Any], Path | None], ...] = ()

    def __post_init__(self) -> None:
        if self.cells and self.agents:
            raise ValueError(
                f"study {self.name!r}: give its agents as cells or as agents, not both"
            )
        for size in (self.default, self.full):
            stray = sorted(set(size.agent_budgets) - set(self.cells)) if self.cells else []
            if stray:
                raise ValueError(
                    f"study {self.name!r}: a budget for {stray[0]!r}, which is no cell; cells: "
                    f"{', '.join(self.cells)}"
                )
        for label, cell in self.cells.items():
            if not CELL_LABEL.fullmatch(label):
                raise ValueError(
                    f"study {self.name!r}: cell label {label!r} must be letters, digits, '-' and "
                    "'_' (it names files and is the AGENT of --set AGENT.KEY=VALUE)"
                )
            if not (
                isinstance(cell, tuple)
                and len(cell) == 2
                and isinstance(cell[0], str)
                and isinstance(cell[1], dict)
            ):
                raise ValueError(
                    f"study {self.name!r}: cell {label!r} must be (agent, settings), e.g. "
                    '("sac", {"gradient_steps": 2})'
                )


_REGISTERED: dict[tuple[str, str], Study] = {}


def register_study(study: Study) -> Study:
    """Make ``study`` available to its task by its name (from a plug-in module)."""
    key = (study.task, study.name)
    previous = _REGISTERED.get(key)
    if previous is not None and previous is not study:
        raise ValueError(f"study {study.name!r} of task {study.task!r} is already registered")
    _REGISTERED[key] = study
    return study


def _load_declared() -> None:
    for name, where in {**BUILTIN_STUDIES, **declared(STUDY_ENTRY_POINTS)}.items():
        if isinstance(where, dict):  # one study per task
            for task, place in where.items():
                if (task, name) not in _REGISTERED:
                    _load_study(name, place)
        elif not any(key[1] == name for key in _REGISTERED):
            _load_study(name, where)


def _load_study(name: str, where: str) -> None:
    study = load_object(where)
    if not isinstance(study, Study):
        raise PluginError(
            f"{where!r} (study {name!r}) is a {type(study).__name__}, not a sandbox.studies.Study"
        )
    register_study(study)


def studies_for(task: str) -> dict[str, Study]:
    """Every study of ``task``, by name."""
    _load_declared()
    return {name: study for (study_task, name), study in _REGISTERED.items() if study_task == task}


def split_variant(label: str) -> tuple[str, str]:
    """``"dqn@sight3"`` -> ``("dqn", "sight3")``; a label without a variant -> ``(label, "")``."""
    agent, _, variant = label.partition("@")
    return agent, variant


def get_study(name: str, task: str) -> Study:
    """The study ``name`` of ``task``; ``PluginError`` naming the valid studies if there is none."""
    studies = studies_for(task)
    if name not in studies:
        raise PluginError(
            f"unknown study {name!r} for {task}; valid studies: {', '.join(studies) or 'none'}"
        )
    return studies[name]
