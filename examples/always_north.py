"""An agent of one's own: it walks north, whatever comes (docs/adding-an-agent.md).

python -m sandbox.compare city --agents ./examples/always_north.py:AlwaysNorth,traffic-planner
"""

from __future__ import annotations

from typing import Any

from agents import Agent, Ledger, register


@register("always-north")
class AlwaysNorth(Agent):
    """Walks north every tick, whatever comes; learns nothing."""

    kind = "baseline"  # "planner", "learned-model", "learner" or "baseline": how plots group it
    tasks = ("city",)  # the tasks it can play

    def _train(self, ledger: Ledger, until_trials: int) -> None:
        # Nothing to learn, but it pays for its trials like anyone: the ledger counts them.
        self.play(ledger, until_trials)

    def act(self, observation: Any, info: dict[str, Any]) -> int:
        return 1  # 0 stay, 1 north, 2 east, 3 south, 4 west
