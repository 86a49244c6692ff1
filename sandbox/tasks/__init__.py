"""The tasks ``sandbox.compare`` runs, and how a new one joins them.

A task is one module that builds a ``Task`` and registers it: its env, its
command-line options, its default agents, two experiment sizes (the default run,
a few minutes on a 2-core machine, and ``--full``, the reference), its table
columns, its plots and, optionally, how a saved episode is animated. The sandbox finds a
task by name among

- the built-in tasks (``BUILTIN_TASKS``, imported when first named),
- installed packages' entry points in the group ``sandbox.tasks``
  (``name = "package.module:TASK"``),
- tasks registered with ``register_task`` by a module imported so far (for
  example with ``--plugin path/to/module.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym

from agents.plugins import PluginError, declared, load_object
from sandbox.outputs.stats import evaluation_grid

TASK_ENTRY_POINTS = "sandbox.tasks"
BUILTIN_TASKS = {
    "rocket": "sandbox.tasks.rocket:ROCKET",
    "city": "sandbox.tasks.city:CITY",
    "flight": "sandbox.tasks.flight:FLIGHT",
}

#: (column title, summary key, kind): kind "trials" is censored at the budget,
#: "transfer-trials" at the transfer budget, "count" is a plain count, "deaths" the deaths
#: until a figure (censored at the seed's total deaths where it never got there), "held" the
#: reliable seeds whose validation streak held on the test set, "rate" a success rate,
#: "fraction" a ratio.
Column = tuple[str, str, str]

#: reliable is decided on the validation set; this column says how many reliable seeds' streaks
#: the test set confirmed at the same two evaluation points
HELD_ON_TEST: Column = ("reliable held on test", "reliable_held_on_test", "held")
TRAINING_COLUMNS: tuple[Column, ...] = (
    ("trials to first success", "trials_to_first_success", "trials"),
    ("trials to reliable", "trials_to_reliable", "trials"),
    HELD_ON_TEST,
    ("final success", "final_success_rate", "rate"),
)
TRANSFER_COLUMNS: tuple[Column, ...] = (
    ("zero-shot success", "transfer_zero_shot_success", "rate"),
    ("continued: trials to reliable", "transfer_trials_to_reliable", "transfer-trials"),
    ("from scratch: trials to reliable", "scratch_trials_to_reliable", "transfer-trials"),
    ("relearn fraction", "relearn_fraction", "fraction"),
    ("relearn fraction to 50 %", "relearn_fraction_half", "fraction"),
)


@dataclass(frozen=True)
class Size:
    """How big an experiment is."""

    budget: int  #: training trials per agent and seed
    seeds: int  #: seeds per agent
    eval_episodes: int  #: held-out evaluation episodes at each evaluation point
    #: log-spaced evaluation points per tenfold of trials, on one grid every agent of the run
    #: shares (``evaluation_grid``)
    eval_points_per_decade: int
    agent_budgets: dict[str, int] = field(default_factory=dict)  #: per-agent budget overrides
    transfer_budget: int = 0  #: training trials in the transfer world, continued and from scratch

    @property
    def largest_budget(self) -> int:
        """The most training trials any agent of the run may spend in one world."""
        return max(self.budget, self.transfer_budget, *self.agent_budgets.values())

    def evaluation_grid(self, budget: int | None = None) -> list[int]:
        """The trial counts at which every agent of a run of this size is evaluated, up to its
        largest budget (``budget``: one budget for every agent and world, ``--budget``): each
        agent at the points below its own budget, and at its budget."""
        return evaluation_grid(self.eval_points_per_decade, budget or self.largest_budget)


@dataclass(frozen=True)
class Option:
    """A command-line option of a task: it sets one env keyword argument."""

    flag: str  #: e.g. "--map"
    env_key: str  #: the env keyword argument it sets
    help: str
    #: checks the text and returns the keyword argument's value; raises ValueError (or
    #: OSError) with a message naming the problem and the valid choices
    parse: Callable[[str], Any] = str
    #: the worlds whose argument it sets: "training", "transfer" or both
    worlds: tuple[str, ...] = ("training",)
    #: what ``--help`` calls its value (None: the flag in capitals, ``--map`` -> MAP)
    metavar: str | None = None


@dataclass(frozen=True)
class EpisodeDrawing:
    """A saved episode set up on a matplotlib Axes, to be animated one time step at a time."""

    steps: int  #: its time steps (the rocket: tracking reports; the city: the start and each tick)
    draw: Callable[[int], None]  #: moves the artists to step i, 0 <= i < steps
    #: every artist ``draw`` changes: each frame draws them over a still picture of the rest
    #: (rendering a whole figure per frame is ten times slower)
    moving: tuple[Any, ...] = ()
    caption: str = ""  #: one line: how to read the picture (scales, colours)


@dataclass(frozen=True)
class Task:
    name: str
    description: str  #: one line, for listings and ``--help``
    env_id: (
        str  #: a Gymnasium id (``"module:Env-v0"`` imports ``module`` first, as ``gym.make`` does)
    )
    agents: tuple[str, ...]  #: default agents, in table order
    default: Size
    full: Size
    env_kwargs: dict[str, Any] = field(
        default_factory=dict
    )  #: the training world of the standard protocol
    transfer_env_kwargs: dict[str, Any] | None = (
        None  #: the new world of the standard protocol, if any
    )
    options: tuple[Option, ...] = ()
    trials_word: str = "trials"  #: what the task's trials are called in a sentence ("launches")
    #: what plots keep of an evaluation episode, from its infos (None: nothing)
    trace: Callable[[list[dict[str, Any]]], dict[str, Any]] | None = None
    #: what plots keep of a training trial, from its last info (None: nothing)
    trace_training: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    summary_keys: tuple[str, ...] = ()  #: per-seed keys of a job's figures beyond the common ones
    columns: tuple[Column, ...] = TRAINING_COLUMNS  #: the table of training in the task's world
    transfer_columns: tuple[Column, ...] = TRANSFER_COLUMNS  #: the table of the transfer stage
    #: the task's own plots, each drawn from a run's files (``sandbox.outputs.run_data.RunData``)
    plots: tuple[Callable[[Any], Path | None], ...] = ()
    #: the data files an env's keyword arguments name (world or map files), for provenance
    data_files: Callable[[dict[str, Any]], list[Path]] = lambda env_kwargs: []
    #: sets up a saved evaluation trace on a matplotlib Axes for an animation:
    #: ``(axes, trace, env_kwargs of the world it ran in, label) -> EpisodeDrawing``, or None
    #: when the trace holds nothing to replay (None here: the task has no animations)
    animate_episode: (
        Callable[[Any, dict[str, Any], dict[str, Any], str], EpisodeDrawing | None] | None
    ) = None
    #: how a saved evaluation trace ended, in a few words ("reached the goal at tick 41"), for
    #: the captions of its animation (None: "succeeded" or "failed")
    episode_outcome: Callable[[dict[str, Any]], str] | None = None
    episode_noun: str = "episode"  #: what one episode is called in captions ("walk", "launch")

    def make_env(self, **env_kwargs: Any) -> gym.Env:
        return gym.make(self.env_id, **env_kwargs)


_REGISTERED: dict[str, Task] = {}


def register_task(task: Task) -> Task:
    """Make ``task`` available by its name (from a plug-in module)."""
    previous = _REGISTERED.get(task.name)
    if previous is not None and previous is not task:
        raise ValueError(f"task name {task.name!r} is already registered")
    _REGISTERED[task.name] = task
    return task


def task_names() -> list[str]:
    """Every task known by name, built-in first."""
    return list(dict.fromkeys([*BUILTIN_TASKS, *declared(TASK_ENTRY_POINTS), *_REGISTERED]))


def get_task(name: str) -> Task:
    """The task called ``name``; ``PluginError`` naming the valid tasks if there is none."""
    if name in _REGISTERED:
        return _REGISTERED[name]
    where = {**BUILTIN_TASKS, **declared(TASK_ENTRY_POINTS)}.get(name)
    if where is None:
        raise PluginError(f"unknown task {name!r}; valid tasks: {', '.join(task_names())}")
    task = load_object(where)
    if not isinstance(task, Task):
        raise PluginError(
            f"{where!r} (task {name!r}) is a {type(task).__name__}, not a sandbox.tasks.Task"
        )
    return _REGISTERED.setdefault(name, task)
