"""The agents. Importing this package registers every built-in agent by name."""

from agents.base import AGENTS, Agent, TaskSpec, agents_for, register

from agents import learners  # noqa: F401  (registers ppo, sac, td3, dqn, a2c)

for _optional in ("random_agent", "rocket_planner", "city_planner"):
    try:
        __import__(f"agents.{_optional}")
    except ModuleNotFoundError as _error:
        if _error.name != f"agents.{_optional}":
            raise

__all__ = ["AGENTS", "Agent", "TaskSpec", "agents_for", "register"]
