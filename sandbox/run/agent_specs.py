"""From the command line to the agents of a run: ``--agents`` specs resolved to classes,
and each agent's settings from its defaults, ``--agent-config`` and ``--set``."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym

from agents.base import Agent, merge_settings
from agents.plugins import (
    PluginError,
    is_code_path,
    load_agent,
    load_all_agents,
    names_a_file,
    plays,
)
from sandbox.tasks import Task


@dataclass(frozen=True)
class RunAgent:
    """One agent of a run: its name in the tables, what names its class, and its settings."""

    label: str
    spec: str  #: a name, ``module:Class`` or an absolute ``file.py:Class``
    cls: type[Agent]
    settings: dict[str, Any]
    #: the settings a study's cell gives the agent over its defaults (None: not a cell)
    cell_settings: dict[str, Any] | None = None

    def details(self) -> dict[str, Any]:
        """What the run records of the agent."""
        description = self.cls.summary_line()
        if self.cell_settings is not None:
            given = ", ".join(f"{key} {value}" for key, value in self.cell_settings.items())
            description = f"{self.spec}" + (f" with {given}" if given else "") + f": {description}"
        return {
            "spec": self.spec,
            "class": f"{self.cls.__module__}:{self.cls.__qualname__}",
            "kind": self.cls.kind,
            "description": description,
            "settings": self.settings,
            **({"cell_settings": self.cell_settings} if self.cell_settings is not None else {}),
        }


def valid_agents(task: str, action_space: gym.Space | None = None) -> list[str]:
    """Names of the agents that can play ``task`` (acting in ``action_space``)."""
    return list(
        dict.fromkeys(name for name, cls in load_all_agents() if plays(cls, task, action_space))
    )


def resolve_agents(
    task: Task,
    text: str | None,
    assignments: list[str],
    config_file: Path | None,
    action_space: gym.Space | None = None,
) -> list[RunAgent]:
    """The run's agents; ``ValueError`` (one line, naming the valid choices) for a bad spec,
    an agent that cannot play the task, or settings it does not take."""
    specs = list(task.agents) if text is None else [s.strip() for s in text.split(",") if s.strip()]
    if not specs:
        raise ValueError(
            f"--agents is empty; valid agents for {task.name}: "
            f"{', '.join(valid_agents(task.name, action_space))}"
        )
    resolved: list[tuple[str, str, type[Agent]]] = []
    for spec in dict.fromkeys(specs):
        cls = load_playing(task, spec, action_space)
        label = cls.name or (cls.__name__ if is_code_path(spec) else spec)
        if any(label == other for other, _, _ in resolved):
            raise ValueError(
                f"two agents of this run are named {label!r}; register one under another name"
            )
        resolved.append((label, _portable(spec), cls))
    labels = [label for label, _, _ in resolved]
    overrides = read_agent_config(config_file, labels) if config_file is not None else {}
    for assignment in assignments:
        label, settings = parse_assignment(assignment, labels)
        overrides[label] = merge_settings(overrides.get(label, {}), settings)
    return [
        RunAgent(label, spec, cls, cls.resolve_settings(task.name, overrides.get(label)))
        for label, spec, cls in resolved
    ]


def load_playing(task: Task, spec: str, action_space: gym.Space | None = None) -> type[Agent]:
    """The agent class ``spec`` names, if it plays ``task``; ``ValueError`` (one line, naming
    the valid agents) if it names none or one that cannot play the task."""
    try:
        cls = load_agent(spec, task.name)
    except PluginError as error:
        if names_a_file(spec):
            raise ValueError(str(error)) from None
        # a name no module imported so far registers may be a plug-in's
        plugin_hint = (
            ""
            if is_code_path(spec)
            else "; an agent that a plug-in registers needs --plugin MODULE first "
            "(python -m sandbox.agents --plugin MODULE lists them)"
        )
        raise ValueError(
            f"{error}; valid agents for {task.name}: "
            f"{', '.join(valid_agents(task.name, action_space))}, "
            f"or package.module:Class, or path/to/file.py:Class{plugin_hint}"
        ) from None
    if not plays(cls, task.name, action_space):
        label = cls.name or (cls.__name__ if is_code_path(spec) else spec)
        raise ValueError(
            f"agent {label!r} plays {cls.plays_description()}, not {task.name}; valid agents "
            f"for {task.name}: {', '.join(valid_agents(task.name, action_space))}"
        )
    return cls


def resolve_cells(
    task: Task,
    study: str,
    cells: dict[str, tuple[str, dict[str, Any]]],
    text: str | None,
    assignments: list[str],
    config_file: Path | None,
    action_space: gym.Space | None = None,
) -> list[RunAgent]:
    """The run's agents when its study declares cells: every cell, or those ``text`` (the
    ``--agents`` option) picks by label, each with the cell's settings merged over the
    agent's defaults and the run's overrides over both. ``ValueError`` (one line) for a
    label that is no cell, a cell whose agent or setting this installation lacks, or
    settings the agent does not take."""
    labels = list(cells)
    if text is not None:
        picked = list(dict.fromkeys(s.strip() for s in text.split(",") if s.strip()))
        unknown = [label for label in picked if label not in cells]
        if unknown or not picked:
            what = f"{unknown[0]!r} is no cell" if unknown else "--agents is empty"
            raise ValueError(
                f"{what} of the study {study}; with a study of cells, --agents picks some of "
                f"them by label: {', '.join(cells)}"
            )
        labels = picked
    overrides = read_agent_config(config_file, labels) if config_file is not None else {}
    for assignment in assignments:
        label, settings = parse_assignment(assignment, labels)
        overrides[label] = merge_settings(overrides.get(label, {}), settings)
    agents, failed = [], {}
    for label in labels:
        spec, cell_settings = cells[label]
        try:
            cls = load_playing(task, spec, action_space)
            settings = cls.resolve_settings(
                task.name, merge_settings(cell_settings, overrides.get(label, {}))
            )
        except ValueError as error:  # SettingsError too: a setting this agent lacks
            failed[label] = f"cell {label!r} of the study {study} ({spec}): {error}"
            continue
        agents.append(RunAgent(label, _portable(spec), cls, settings, dict(cell_settings)))
    if failed:
        runnable = ", ".join(agent.label for agent in agents) or "none"
        raise ValueError(
            f"{next(iter(failed.values()))}; cells that cannot run here: {', '.join(failed)}; "
            f"--agents picks the others ({runnable})"
        )
    return agents


def _portable(spec: str) -> str:
    """A file spec with an absolute path, so it names the same file wherever it is read."""
    target, _, attribute = spec.rpartition(":")
    if target.endswith(".py"):
        return f"{Path(target).expanduser().resolve()}:{attribute}"
    return spec


def read_agent_config(path: Path, labels: list[str]) -> dict[str, dict[str, Any]]:
    """Settings per agent from a TOML file with one table per agent of the run."""
    try:
        data = tomllib.loads(path.read_text())
    except OSError as error:
        raise ValueError(f"--agent-config {path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise ValueError(f"--agent-config {path}: not a text file") from None
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"--agent-config {path}: {error}") from None
    for key, value in data.items():
        if key not in labels:
            raise ValueError(
                f"--agent-config {path}: table [{key}] names no agent of this run; agents: "
                f"{', '.join(labels)}"
            )
        if not isinstance(value, dict):
            raise ValueError(
                f"--agent-config {path}: {key} must be a table ([{key}]) of its settings"
            )
    return data


def parse_assignment(text: str, labels: list[str]) -> tuple[str, dict[str, Any]]:
    """``AGENT.KEY[.SUBKEY...]=VALUE`` as (agent, nested settings); the value is read as
    TOML (``3e-4``, ``[64, 64]``, ``true``, ``"auto"``), else taken as a string."""
    key, equals, value = text.partition("=")
    if not equals:
        raise ValueError(f"--set {text!r}: expected AGENT.KEY=VALUE, e.g. ppo.learning_rate=3e-4")
    label = max((label for label in labels if key.startswith(label + ".")), key=len, default=None)
    if label is None:
        raise ValueError(
            f"--set {text!r}: {key.split('.')[0]!r} is no agent of this run; agents: "
            f"{', '.join(labels)}"
        )
    path = key[len(label) + 1 :].split(".")
    if not all(path):
        raise ValueError(f"--set {text!r}: expected AGENT.KEY=VALUE, e.g. ppo.learning_rate=3e-4")
    try:
        parsed: Any = tomllib.loads(f"value = {value}")["value"]
    except tomllib.TOMLDecodeError:
        parsed = value
    for part in reversed(path):
        parsed = {part: parsed}
    return label, parsed
