"""The agents. Importing this package registers every built-in agent by name."""

from agents.base import AGENTS, Agent, TaskSpec, agents_for, register

# Imported for their registrations: ppo, sac, td3, dqn, a2c; random; planner; traffic-planner.
from agents import city_planner, learners, random_agent, rocket_planner  # noqa: F401, E402

__all__ = ["AGENTS", "Agent", "TaskSpec", "agents_for", "register"]
