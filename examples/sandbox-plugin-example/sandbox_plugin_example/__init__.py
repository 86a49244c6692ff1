"""An installable agent: declared under the entry-point group ``sandbox.agents``."""

from __future__ import annotations

from typing import Any

from agents import Agent, Ledger


class AlwaysSouth(Agent):
    """Walks south every tick, whatever comes; learns nothing."""

    name = "always-south"
    kind = "baseline"
    tasks = ("city",)

    def _train(self, ledger: Ledger, until_trials: int) -> None:
        self.play(ledger, until_trials)

    def act(self, observation: Any, info: dict[str, Any]) -> int:
        return 3
