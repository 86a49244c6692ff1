"""Like for like in a changed world: every agent may spend the same ``k`` launches there
before it is scored.

The planner identifies the world from them, the learned model and the learners keep
training on them; all through the ordinary interface (``agent.train`` on a ledger of
the changed world's env, whose limit is ``k``), so the ledger counts what each spent.
``k = 0`` is a true zero-shot score: nobody launches there, and the planner flies the
constants it fitted at home.

Every ``k`` starts from the same trained agent. One deep copy of it enters the changed
world and is scored at each ``k`` in turn (the agent after 5 launches is the one after 1,
four launches on): scoring does not train, and a ledger limit of ``k`` at each step keeps
a batch learner from running past it, so this is the agent a fresh copy trained to ``k``
would be, at the cost of the largest ``k`` alone. The agent given is never changed.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import gymnasium as gym

from agents.base import Agent
from agents.ledger import Ledger


@dataclass(frozen=True)
class Adapted:
    """An agent after ``trials`` launches of its own in a changed world."""

    agent: Agent  #: score it with ``act`` only
    k: int  #: the launches it was allowed there
    trials: int  #: the launches the ledger counted there
    #: the agent's own model's misfit after its launches there (``Agent.model_residual``);
    #: None at k = 0 or for an agent without a model
    residual: float | None


def adapt(agent: Agent, make_env: Callable[[], gym.Env], ks: tuple[int, ...]) -> Iterator[Adapted]:
    """``agent`` after each ``k`` of ``ks`` launches in the world ``make_env`` builds, in
    ascending order of ``k`` (see the module doc); ``agent`` itself is left as it was."""
    if any(k < 0 for k in ks):
        raise ValueError(f"launches in a changed world are 0 or more, got {ks}")
    ledger = Ledger(make_env)
    trained: Agent | None = None
    try:
        for k in sorted(set(ks)):
            if k == 0:
                yield Adapted(agent, 0, 0, None)
                continue
            if trained is None:
                trained = copy_of(agent)
            ledger.limit = k
            trained.train(ledger, k)
            yield Adapted(trained, k, ledger.n_trials, trained.model_residual())
    finally:
        if trained is not None:
            trained.close()


def copy_of(agent: Agent) -> Agent:
    """A deep copy of ``agent``, sharing its learner's logger: with ``--tensorboard`` that is
    a TensorBoard writer, which holds a lock and an open file and cannot be copied; the copy
    logs its launches in the changed world into the same run."""
    logger = getattr(getattr(agent, "model", None), "logger", None)
    return copy.deepcopy(agent, {} if logger is None else {id(logger): logger})
