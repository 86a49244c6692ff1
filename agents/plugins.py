"""Code named by strings: ``package.module:Object``, ``path/to/file.py:Object``, names
registered in code, and names that installed packages declare as entry points.

The same string resolves the same way in every process, so a run can hand its
workers the string and let each import the code itself (spawned workers start
with nothing imported but what they are told).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

from agents.base import REGISTERED, Agent

AGENT_ENTRY_POINTS = (
    "sandbox.agents"  #: entry-point group under which installed packages declare agents
)

#: the built-in agents, by name, and where their classes live (imported only when used);
#: a name may stand for one class per task
BUILTIN_AGENTS: dict[str, str | dict[str, str]] = {
    "learned-model": {
        "rocket": "agents.learned_rocket:LearnedRocketModel",
        "city": "agents.learned_city:LearnedCityModel",
        "flight": "agents.flight_learned:FlightLearnedModel",
    },
    "bandit": "agents.bandit_rocket:RocketBandit",
    "planner": {
        "rocket": "agents.rocket_planner:PhysicsPlanner",
        "flight": "agents.flight_planner:FlightPlanner",
    },
    "traffic-planner": "agents.city_planner:TrafficPlanner",
    "random": "agents.random_agent:RandomAgent",
    "ppo": "agents.learners:PPOLearner",
    "sac": "agents.learners:SACLearner",
    "sac-utd": "agents.learners:SACUTDLearner",
    "td3": "agents.learners:TD3Learner",
    "dqn": "agents.learners:DQNLearner",
    "a2c": "agents.learners:A2CLearner",
}


class PluginError(ValueError):
    """A string that names no loadable code; the message says what was tried."""


def is_code_path(spec: str) -> bool:
    """True for ``module:Object`` and ``file.py:Object`` (a plain name has no colon)."""
    return ":" in spec


def names_a_file(spec: str) -> bool:
    """True for a path without ``:Object`` (``./my_agent.py``): it names no class yet."""
    return not is_code_path(spec) and (spec.endswith(".py") or "/" in spec or "\\" in spec)


def import_module(target: str) -> ModuleType:
    """Import ``package.module`` or a ``.py`` file by path (once per process)."""
    if target.endswith(".py") or "/" in target or "\\" in target:
        return _import_file(Path(target))
    try:
        return importlib.import_module(target)
    except ModuleNotFoundError as error:
        if error.name and target.startswith(error.name):
            raise PluginError(f"no module named {target!r}") from None
        raise PluginError(f"importing {target!r} failed: {error}") from None
    except Exception as error:  # the module's own code failed: say so in one line
        raise PluginError(f"importing {target!r} failed: {type(error).__name__}: {error}") from None


def _import_file(path: Path) -> ModuleType:
    path = path.expanduser().resolve()
    if not path.is_file():
        raise PluginError(f"no file {str(path)!r}")
    # One module name per file, so loading the same file twice returns the module already loaded.
    name = f"_sandbox_plugin_{path.stem}_{hashlib.sha1(str(path).encode()).hexdigest()[:8]}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise PluginError(f"cannot import {str(path)!r} as Python code")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        del sys.modules[name]
        raise PluginError(
            f"importing {str(path)!r} failed: {type(error).__name__}: {error}"
        ) from None
    return module


def load_object(spec: str) -> Any:
    """The object ``module:Object`` or ``file.py:Object`` names (``Object`` may be dotted)."""
    target, _, attribute = spec.rpartition(":")
    if not target or not attribute:
        raise PluginError(f"{spec!r} is not of the form module:Object or path/to/file.py:Object")
    value: Any = import_module(target)
    for part in attribute.split("."):
        if not hasattr(value, part):
            raise PluginError(f"{target!r} has no {attribute!r}")
        value = getattr(value, part)
    return value


def declared(group: str) -> dict[str, str]:
    """Names that installed packages declare under the entry-point ``group``, and their values."""
    return {ep.name: ep.value for ep in entry_points(group=group)}


def agent_names() -> dict[str, str | dict[str, str]]:
    """Every agent known by name, and where its class lives: built-ins, installed
    packages' entry points, and agents registered by modules imported so far."""
    names = dict(BUILTIN_AGENTS)
    names.update(declared(AGENT_ENTRY_POINTS))
    names.update({name: f"{cls.__module__}:{cls.__qualname__}" for name, cls in REGISTERED.items()})
    return names


def load_agent(spec: str, task: str | None = None) -> type[Agent]:
    """The agent class a name or a ``module:Class`` / ``file.py:Class`` spec names (for
    ``task``, where the name stands for one class per task)."""
    if is_code_path(spec):
        cls = load_object(spec)
    elif names_a_file(spec):
        raise _file_without_class(spec)
    elif spec in REGISTERED:
        return REGISTERED[spec]
    else:
        names = agent_names()
        if spec not in names:
            raise PluginError(f"unknown agent {spec!r}")
        where = names[spec]
        if isinstance(where, dict):
            if task not in where:
                raise PluginError(f"agent {spec!r} plays {', '.join(where)}, not {task}")
            where = where[task]
        cls = load_object(where)
    if not (isinstance(cls, type) and issubclass(cls, Agent)):
        raise PluginError(f"{spec!r} is {_describe(cls)}, not a subclass of agents.Agent")
    if getattr(cls, "__abstractmethods__", None):
        missing = ", ".join(sorted(cls.__abstractmethods__))
        raise PluginError(f"{spec!r} does not implement {missing}")
    return cls


def plays(cls: type[Agent], task: str, action_space: Any = None) -> bool:
    return cls.plays(task, action_space)


def load_all_agents(
    on_error: Callable[[str, PluginError], None] | None = None,
) -> list[tuple[str, type[Agent]]]:
    """Every named agent's class (a name of one class per task: each); an agent that fails
    to load is passed to ``on_error``."""
    loaded = []
    for name, where in agent_names().items():
        for task in where if isinstance(where, dict) else [None]:
            try:
                loaded.append((name, load_agent(name, task)))
            except PluginError as error:
                if on_error is not None:
                    on_error(name, error)
    return loaded


def _file_without_class(spec: str) -> PluginError:
    """The error for a file named without its class: the spec to write, and the agent
    classes the file defines (importing it, as naming its class would)."""
    path = Path(spec).expanduser()
    if not path.is_file():
        return PluginError(
            f"no file {spec!r}; an agent in a file is named path/to/file.py:ClassName"
        )
    try:
        module = _import_file(path)
    except PluginError as error:
        return PluginError(f"{spec!r} needs :ClassName, the agent class in it; {error}")
    classes = [
        name
        for name, value in vars(module).items()
        if isinstance(value, type)
        and issubclass(value, Agent)
        and value.__module__ == module.__name__
    ]
    if not classes:
        return PluginError(f"{spec!r} is a file: add :ClassName, but it defines no Agent class")
    return PluginError(
        f"{spec!r} is a file: add :ClassName, e.g. {spec}:{classes[0]} "
        f"(its Agent classes: {', '.join(classes)})"
    )


def _describe(value: Any) -> str:
    return f"the class {value.__name__}" if isinstance(value, type) else f"a {type(value).__name__}"
