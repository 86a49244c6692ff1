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
would be, at the cost of the largest ``k`` alone; for a learner that updates every few
launches (SAC's rollouts of 4) up to when its updates fall: it keeps every launch, and
updates after a whole rollout of the launches since it was last stopped. The agent given
is never changed.

Stable-Baselines3 draws from the process's global generators (Python's ``random``,
NumPy's and torch's) when it acts and samples its replay buffer, and a deep copy cannot
take those along. So the copy trains on global generators of its own: seeded from the
agent's seed and the changed world's ``world`` key (``world_seed``), swapped in for each
of its trainings and out again after. Each changed world's adaptation then starts from
the same draws whatever was adapted before it, and the global generators, the agent's
later training included, go on as if no adaptation had happened.
"""

from __future__ import annotations

import copy
import random
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

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


def adapt(
    agent: Agent,
    make_env: Callable[[], gym.Env],
    ks: tuple[int, ...],
    world: Sequence[int] = (),
) -> Iterator[Adapted]:
    """``agent`` after each ``k`` of ``ks`` launches in the world ``make_env`` builds, in
    ascending order of ``k`` (see the module doc); ``agent`` itself, and the global random
    generators, are left as they were. ``world`` names the changed world within its study
    (e.g. its axis and index): the copy's global draws are seeded by ``world_seed``."""
    if any(k < 0 for k in ks):
        raise ValueError(f"launches in a changed world are 0 or more, got {ks}")
    ledger = Ledger(make_env)
    trained: Agent | None = None
    own_draws = seeded_global_state(world_seed(agent.seed, world))
    try:
        for k in sorted(set(ks)):
            if k == 0:
                yield Adapted(agent, 0, 0, None)
                continue
            if trained is None:
                trained = copy_of(agent)
            ledger.limit = k
            outside = global_state()
            set_global_state(own_draws)
            try:
                trained.train(ledger, k)
            finally:
                own_draws = global_state()
                set_global_state(outside)
            yield Adapted(trained, k, ledger.n_trials, trained.model_residual())
    finally:
        if trained is not None:
            trained.close()


def world_seed(agent_seed: int, world: Sequence[int]) -> int:
    """The seed of the global generators while a copy of an agent with ``agent_seed``
    adapts to the changed world ``world``: NumPy's ``SeedSequence`` of the two, so each
    (seed, world) has a stream of its own."""
    return int(np.random.SeedSequence([agent_seed, *world]).generate_state(1)[0])


def global_state() -> tuple[Any, ...]:
    """The states of Python's ``random``, NumPy's and torch's global generators (torch's:
    None where nothing has imported torch, so nothing can have drawn from it; an agent
    that uses it imported it when it trained, before any adaptation)."""
    torch = sys.modules.get("torch")
    return (
        random.getstate(),
        np.random.get_state(),
        None if torch is None else torch.get_rng_state(),
    )


def set_global_state(state: tuple[Any, ...]) -> None:
    python, numpy, torch_state = state
    random.setstate(python)
    np.random.set_state(numpy)
    if torch_state is not None:
        sys.modules["torch"].set_rng_state(torch_state)


def seeded_global_state(seed: int) -> tuple[Any, ...]:
    """The global generators' states after seeding all three with ``seed``, leaving the
    generators themselves as they were."""
    outside = global_state()
    try:
        random.seed(seed)
        np.random.seed(seed)
        if (torch := sys.modules.get("torch")) is not None:
            torch.manual_seed(seed)
        return global_state()
    finally:
        set_global_state(outside)


def copy_of(agent: Agent) -> Agent:
    """A deep copy of ``agent``, sharing its learner's logger: with ``--tensorboard`` that is
    a TensorBoard writer, which holds a lock and an open file and cannot be copied; the copy
    logs its launches in the changed world into the same run."""
    logger = getattr(getattr(agent, "model", None), "logger", None)
    return copy.deepcopy(agent, {} if logger is None else {id(logger): logger})
