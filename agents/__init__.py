"""The agents, and the interface an agent of one's own is written against.

``from agents import Agent, Ledger, TaskSpec, register`` is all an outside agent
needs; it imports nothing of the harness. The built-in agents are imported when
first named (``agents.plugins.load_agent``), so importing this package stays light.
"""

from agents.base import KINDS, Agent, SettingsError, TaskSpec, register
from agents.ledger import Ledger, LedgerWrapper, Trial

__all__ = [
    "KINDS",
    "Agent",
    "Ledger",
    "LedgerWrapper",
    "SettingsError",
    "TaskSpec",
    "Trial",
    "register",
]
