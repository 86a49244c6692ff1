"""One job: one agent, one seed, trained on ledger-counted trials and evaluated on its
seed's held-out sets at the points of the run's evaluation grid, the same for every agent.

At each point the agent plays two disjoint sets of situations, both its seed's own: the
validation set, which every decision reads (training stops once the agent is reliable on it
at two points in a row, and "trials to reliable" is the first point of that streak), and the
test set, which no decision reads and which every reported success comes from; a reliable
streak is also checked on the test set and the job says whether it held there.

A job's phase is ``train`` (train in the task's world; then, if a transfer world is
configured, evaluate there zero-shot and keep training there) or ``scratch`` (a
fresh agent trained in the transfer world, the cost that transfer is compared to).
Everything a job measured is returned as plain data (JSON-ready), so results can
be written, summarised and re-plotted without the agent.

Given a checkpoint folder, a job keeps its home stage there after each evaluation point
(and every ``CHECKPOINT_TRIALS`` trials between points further apart), and a job run again
with the same configuration goes on from its latest point (``sandbox.run.checkpoint``); it
says so in ``resumed_from_trials``. Only the home stage is kept: a job stopped after it, in
a study's step or in the transfer world, goes on from the end of the home stage.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym

from agents.base import Agent, TaskSpec
from agents.ledger import Ledger
from agents.plugins import import_module, load_agent
from sandbox.outputs.stats import points_within
from sandbox.run.checkpoint import Checkpoints
from sandbox.run.provenance import git_state
from sandbox.run.resume import NOT_COMPARED
from sandbox.studies import StudyContext, get_study
from sandbox.tasks import Task, get_task

#: The held-out sets, drawn per seed from the env's own distribution of situations: seed s's
#: TEST set (the tables report it) resets episode i with TEST_SEED_BASE + s * SEED_SET_SIZE + i,
#: its VALIDATION set (every decision reads it) with VALIDATION_SEED_BASE + s * SEED_SET_SIZE
#: + i. Every agent at seed s plays the same two sets, so agents stay paired seed by seed. The
#: test sets of seeds 0 to TEST_SETS - 1 fill the range below the validation sets, which run
#: upwards without end; training episodes follow from the agent's seed, far below both.
TEST_SEED_BASE = 1_000_000
VALIDATION_SEED_BASE = 2_000_000
SEED_SET_SIZE = 10_000  #: the most episodes one seed's set holds
TEST_SETS = (VALIDATION_SEED_BASE - TEST_SEED_BASE) // SEED_SET_SIZE  #: seeds with a test set
TRACES_KEPT = 5  #: paths of this many first training trials are kept (and of the latest one)
#: training stops once the agent is reliable on the validation set at this many evaluation
#: points in a row; the first of them is its "trials to reliable"
RELIABLE_CHECKS = 2
#: Between evaluation points further apart than this many trials a job also stops training,
#: and keeps a checkpoint, every this many trials: past 100,000 flights the points are
#: 58,000 to 370,000 flights apart, hours of work a stop would otherwise lose. A
#: job stops there whether or not it keeps checkpoints, so keeping them changes nothing it
#: measures; each stop is as an evaluation point without the evaluation (an on-policy
#: learner stops at its next rollout's first step, as there, and is evaluated where it
#: stopped if that is past the next point).
CHECKPOINT_TRIALS = 50_000


def seed_set_base(set_base: int, seed: int) -> int:
    """The first reset seed of ``seed``'s share of the set that starts at ``set_base`` (the test
    or the validation set): its episode i resets with the result + i, i < SEED_SET_SIZE."""
    if seed < 0 or (set_base == TEST_SEED_BASE and seed >= TEST_SETS):
        raise ValueError(
            f"seed {seed} has no test set: seeds 0 to {TEST_SETS - 1} have one each, apart "
            "from every validation set"
        )
    return set_base + seed * SEED_SET_SIZE


@dataclass(frozen=True, kw_only=True)
class JobConfig:
    """Everything a worker needs to run one job, as plain data: code is named by strings
    and imported where the job runs."""

    task: str
    agent: str  #: the agent's name in the run (tables, files)
    seed: int
    budget: int  #: training trials in the task's world
    eval_episodes: int
    #: the trial counts at which the run evaluates every agent (``Size.evaluation_grid``): the
    #: job at those below its budget, then at its budget, in each world
    eval_grid: tuple[int, ...]
    reliable_bar: float
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    transfer_env_kwargs: dict[str, Any] | None = (
        None  #: the new world or city, if the run studies transfer
    )
    transfer_budget: int = 0  #: training trials in the transfer world (continued and from scratch)
    phase: str = "train"  #: "train" or "scratch"
    study: str | None = None  #: the study whose ``after_training`` step runs after training at home
    study_settings: dict[str, Any] | None = None
    #: what names the agent's class: a name or ``module:Class`` / ``file.py:Class`` ("": ``agent``)
    agent_spec: str = ""
    agent_settings: dict[str, Any] | None = None  #: the agent's full settings (None: its defaults)
    plugins: tuple[str, ...] = ()  #: modules or files imported before anything is looked up
    #: the held-out set the job reports: the test set, or VALIDATION_SEED_BASE for searches
    #: (the job plays its seed's share of it: ``seed_set_base``)
    eval_seed_base: int = TEST_SEED_BASE
    #: the situations every decision reads (stopping, reliable): the validation set
    decision_seed_base: int = VALIDATION_SEED_BASE
    tensorboard_dir: str | None = (
        None  #: log every evaluation here, one run per (phase, agent, seed)
    )

    @property
    def key(self) -> tuple[str, str, int]:
        """(phase, agent, seed): the job within its run, as its result file names it."""
        return (self.phase, self.agent, self.seed)


def config_digest(config: JobConfig) -> str:
    """A digest of what the job measures (its configuration but for ``NOT_COMPARED``, where it
    reports) and of the code that measures it (the commit, and whether the checkout differs
    from it): a checkpoint is taken back only by a job with the same digest."""
    measured = {k: v for k, v in asdict(config).items() if k not in NOT_COMPARED}
    measured["code"] = git_state()
    text = json.dumps(measured, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Evaluation:
    success_rate: float
    deaths: int
    episodes: int
    traces: list[dict[str, Any]]


def evaluate(
    agent: Agent,
    make_env: Callable[[], gym.Env],
    episodes: int,
    trace: Callable[[list[dict[str, Any]]], dict[str, Any]] | None = None,
    traces_kept: int = 3,
    seed_base: int = TEST_SEED_BASE,
) -> Evaluation:
    """Run ``episodes`` held-out episodes with ``agent.act``; nothing here is a training trial.

    Episode ``i`` resets with seed ``seed_base + i``: a job passes its seed's share of the
    test or validation set (``seed_set_base``), the same for every agent and evaluation point.
    """
    if episodes > SEED_SET_SIZE:
        raise ValueError(
            f"at most {SEED_SET_SIZE:,} evaluation episodes keep one seed's held-out set apart "
            "from the next one's"
        )
    ledger = Ledger(make_env)
    env = ledger.make_env()
    traces = []
    try:
        for i in range(episodes):
            observation, info = env.reset(seed=seed_base + i)
            agent.reset_episode()
            keep = trace is not None and i < traces_kept
            infos = [info] if keep else None
            done = False
            while not done:
                observation, _, terminated, truncated, info = env.step(agent.act(observation, info))
                done = terminated or truncated
                if keep:
                    infos.append(info)
            if keep:
                traces.append(
                    {
                        "success": bool(info.get("is_success")),
                        "death": bool(info.get("death")),
                        **trace(infos),
                    }
                )
    finally:
        env.close()
    return Evaluation(ledger.n_successes / episodes, ledger.n_deaths, episodes, traces)


@dataclass
class Stage:
    """Training in one world up to a budget, with its evaluations."""

    ledger: Ledger
    evaluations: list[dict[str, Any]]
    traces: list[dict[str, Any]]
    #: the trials of the checkpoints it went on from, if it was stopped and run again
    resumed_from_trials: list[int] = field(default_factory=list)
    seconds_before: float = 0.0  #: the job's wall seconds before this process, to its checkpoint

    def first_reliable(self, bar: float) -> dict[str, Any] | None:
        """The first evaluation that starts a streak of ``RELIABLE_CHECKS`` points at or above
        ``bar`` on the validation set (a single crossing does not count)."""
        rows = self.evaluations
        for i in range(len(rows) - RELIABLE_CHECKS + 1):
            streak = rows[i : i + RELIABLE_CHECKS]
            if all(decision_rate(row) >= bar for row in streak):
                return rows[i]
        return None

    def held_on_test(self, bar: float) -> bool | None:
        """Whether the validation streak that made the agent reliable held on the test set
        too (None: never reliable)."""
        reliable = self.first_reliable(bar)
        if reliable is None:
            return None
        i = self.evaluations.index(reliable)
        streak = self.evaluations[i : i + RELIABLE_CHECKS]
        return all(row["success_rate"] >= bar for row in streak)

    def figures(self, bar: float) -> dict[str, Any]:
        """The per-seed figures every summary reads."""
        reliable = self.first_reliable(bar)
        first = self.ledger.first_success()
        return {
            "trials_spent": self.ledger.n_trials,
            "trials_to_first_success": first,
            "trials_to_reliable": reliable["trials"] if reliable else None,
            "reliable_held_on_test": self.held_on_test(bar),
            "final_success_rate": self.evaluations[-1]["success_rate"],
            "deaths_to_first_success": self.ledger.deaths_until(first) if first else None,
            "deaths_to_reliable": self.ledger.deaths_until(reliable["trials"])
            if reliable
            else None,
            "total_training_deaths": self.ledger.n_deaths,
            # the ledger's split: trials that ended in the agent's random warm-up, and the rest
            "warm_up_trials": self.ledger.n_warm_up_trials,
            "warm_up_training_deaths": self.ledger.n_warm_up_deaths,
            "learning_training_deaths": self.ledger.n_deaths - self.ledger.n_warm_up_deaths,
            "total_evaluation_deaths": sum(row["eval_deaths"] for row in self.evaluations),
            "evaluations": self.evaluations,
        }


def train_stage(
    agent: Agent,
    task: Task,
    make_env: Callable[[], gym.Env],
    budget: int,
    config: JobConfig,
    started: float,
    on_evaluation: Callable[[dict], None] | None,
    start_evaluation: dict | None = None,
    progress_offset: int = 0,
    checkpoints: Checkpoints | None = None,
) -> Stage:
    """Train ``agent`` on a fresh ledger up to ``budget`` trials, evaluating at the run's grid.

    ``start_evaluation``, if given, is the evaluation before any training here (trials 0).
    Training stops early once the agent is reliable at ``RELIABLE_CHECKS`` points in a row.
    Between points more than ``CHECKPOINT_TRIALS`` apart it stops every that many trials.
    With ``checkpoints``, the stage goes on from the latest point kept there, if any, and
    keeps each point it evaluates, before reporting it, and each stop between them.
    """
    ledger = Ledger(make_env, trace=task.trace_training, traces_kept=TRACES_KEPT, limit=budget)
    evaluations: list[dict[str, Any]] = []
    streak = 0
    traces: list[dict[str, Any]] = []
    if start_evaluation is not None:
        evaluations.append(start_evaluation)
        streak = int(decision_rate(start_evaluation) >= config.reliable_bar)
    resumed_from: list[int] = []
    seconds_before = 0.0
    saved = checkpoints.restore(agent, ledger) if checkpoints is not None else None
    if saved is not None:
        evaluations, streak, traces = saved.evaluations, saved.streak, saved.traces
        resumed_from = [*saved.resumed_from_trials, ledger.n_trials]
        seconds_before = saved.seconds
        started -= seconds_before  # rows count the job's seconds before this process too

    def keep() -> None:  # a checkpoint of where the stage stands now
        if checkpoints is not None:
            seconds = time.perf_counter() - started
            checkpoints.save(agent, ledger, evaluations, streak, traces, seconds, resumed_from)

    for point in points_within(config.eval_grid, budget):
        if streak >= RELIABLE_CHECKS:
            break
        if evaluations and point <= evaluations[-1]["trials"]:
            continue  # a batch learner ran past this point and was evaluated where it stopped
        while point - ledger.n_trials > CHECKPOINT_TRIALS:
            before = ledger.n_trials
            agent.train(ledger, before + CHECKPOINT_TRIALS)
            if ledger.n_trials == before:
                break  # an agent that trains no further here: the point's own call decides
            keep()
        if point > ledger.n_trials:  # a batch learner may have run past it at a stop
            agent.train(ledger, point)
        result, decision = evaluate_both(agent, task, make_env, config)
        traces = result.traces
        row = evaluation_row(ledger.n_trials, result, ledger, started, decision)
        evaluations.append(row)
        streak = streak + 1 if decision.success_rate >= config.reliable_bar else 0
        keep()
        if on_evaluation is not None:
            on_evaluation({**row, "trials": progress_offset + row["trials"]})
    return Stage(ledger, evaluations, traces, resumed_from, seconds_before)


def evaluate_both(
    agent: Agent, task: Task, make_env: Callable[[], gym.Env], config: JobConfig
) -> tuple[Evaluation, Evaluation]:
    """The reported evaluation (test set) and the one decisions read (validation set); one
    and the same when a search reports on the validation set itself."""
    reported_base = seed_set_base(config.eval_seed_base, config.seed)
    reported = evaluate(
        agent, make_env, config.eval_episodes, trace=task.trace, seed_base=reported_base
    )
    if config.decision_seed_base == config.eval_seed_base:
        return reported, reported
    decision_base = seed_set_base(config.decision_seed_base, config.seed)
    decision = evaluate(agent, make_env, config.eval_episodes, seed_base=decision_base)
    return reported, decision


def decision_rate(row: dict[str, Any]) -> float:
    """The success rate a decision reads: the validation set's (rows from before the split
    have the reported one only)."""
    return row.get("validation_success_rate", row["success_rate"])


def evaluation_row(
    trials: int,
    result: Evaluation,
    ledger: Ledger | None,
    started: float,
    decision: Evaluation | None = None,
) -> dict[str, Any]:
    """One evaluation point: the reported (test) figures, the validation success that
    decisions read, and the ledger's counts so far."""
    return {
        "trials": trials,
        "success_rate": result.success_rate,
        "validation_success_rate": (decision or result).success_rate,
        "eval_episodes": result.episodes,
        "eval_deaths": result.deaths,
        "training_successes": ledger.n_successes if ledger else 0,
        "training_deaths": ledger.n_deaths if ledger else 0,
        "training_steps": ledger.steps if ledger else 0,
        "wall_time_s": round(time.perf_counter() - started, 2),
    }


def tensorboard_logger(log_dir: str) -> Callable[[dict], None]:
    """An ``on_evaluation`` that writes the ledger's figures at each evaluation to
    TensorBoard (x axis: training trials so far, in every world)."""
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(log_dir)

    def log(row: dict) -> None:
        step = row["trials"]
        writer.add_scalar("ledger/held_out_success", row["success_rate"], step)
        writer.add_scalar("ledger/training_successes", row["training_successes"], step)
        writer.add_scalar("ledger/training_deaths", row["training_deaths"], step)
        writer.add_scalar("ledger/evaluation_deaths", row["eval_deaths"], step)
        writer.add_scalar("ledger/training_steps", row["training_steps"], step)
        writer.flush()

    return log


def run_job(
    config: JobConfig,
    on_evaluation: Callable[[dict], None] | None = None,
    checkpoint_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Train ``config.agent`` with ``config.seed`` and measure it (see the module doc for
    phases); with ``checkpoint_dir``, keep the home stage there at each evaluation point and
    go on from the latest point kept there by the same configuration."""
    started = time.perf_counter()
    if config.phase not in ("train", "scratch"):
        raise ValueError(f"phase must be 'train' or 'scratch', got {config.phase!r}")
    for plugin in config.plugins:
        import_module(plugin)
    task = get_task(config.task)
    home_kwargs = config.env_kwargs if config.phase == "train" else config.transfer_env_kwargs

    def make_home():
        return task.make_env(**home_kwargs)

    probe = make_home()
    log_dir = None
    progress = on_evaluation  #: the progress reports (trials done) alone
    if config.tensorboard_dir is not None:
        log_dir = str(
            Path(config.tensorboard_dir) / f"{config.phase}-{config.agent}-seed{config.seed}"
        )
    # TensorBoard's x axis is training trials; the progress bar's also counts the episodes of
    # a study's step after training, which come before the transfer stage
    board = tensorboard_logger(log_dir) if log_dir is not None else None

    def reporter(shift: int) -> Callable[[dict], None] | None:
        if board is None and progress is None:
            return None

        def report(row: dict) -> None:
            if board is not None:
                board(row)
            if progress is not None:
                progress({**row, "trials": row["trials"] + shift})

        return report

    on_evaluation = reporter(0)
    spec = TaskSpec(
        task.name, probe.observation_space, probe.action_space, dict(home_kwargs), log_dir
    )
    probe.close()
    agent = load_agent(config.agent_spec or config.agent, task.name)(
        spec, config.seed, config.agent_settings
    )
    budget = config.budget if config.phase == "train" else config.transfer_budget
    job: dict[str, Any] = {
        "agent": config.agent,
        "seed": config.seed,
        "phase": config.phase,
        "budget": budget,
        "reliable_bar": config.reliable_bar,
        "env_kwargs": home_kwargs,
        "settings": agent.settings,  #: what the agent was built with, as the worker saw it
    }
    checkpoints = None
    if checkpoint_dir is not None:
        name = f"{config.phase}-{config.agent}-seed{config.seed}"
        checkpoints = Checkpoints(Path(checkpoint_dir), config_digest(config), name)
    try:
        home = train_stage(
            agent, task, make_home, budget, config, started, on_evaluation, checkpoints=checkpoints
        )
        started -= home.seconds_before
        job["resumed_from_trials"] = home.resumed_from_trials
        job.update(home.figures(config.reliable_bar))
        job["traces"] = {
            "training_first": home.ledger.first_traces,
            "training_last": home.ledger.last_trace,
            "evaluation": home.traces,
        }
        study_episodes = 0
        if config.phase == "train" and config.study is not None:
            study = get_study(config.study, task.name)
            if study.after_training is not None:

                def report(episodes: int) -> None:
                    if progress is not None:
                        progress({"trials": home.ledger.n_trials + episodes})

                context = StudyContext(
                    task,
                    dict(home_kwargs),
                    dict(config.study_settings or {}),
                    seed_set_base(config.eval_seed_base, config.seed),
                    SEED_SET_SIZE,
                    report,
                )
                job[study.name] = study.after_training(agent, context)
                if study.after_training_trials is not None:
                    study_episodes = study.after_training_trials(context.settings)
        if config.phase == "train" and config.transfer_env_kwargs is not None:
            job["transfer"] = transfer_stage(
                agent, task, config, started, reporter(study_episodes), home.ledger.n_trials
            )
    finally:
        agent.close()
    job["wall_time_s"] = round(time.perf_counter() - started, 2)
    # the code that ran it: a run resumed at another commit shows which jobs ran where
    job["code"] = git_state()
    return job


def transfer_stage(
    agent: Agent,
    task: Task,
    config: JobConfig,
    started: float,
    on_evaluation: Callable[[dict], None] | None,
    trials_so_far: int,
) -> dict[str, Any]:
    """Zero-shot evaluation in the transfer world, then continued training there."""

    def make_new():
        return task.make_env(**config.transfer_env_kwargs)

    zero_shot, decision = evaluate_both(agent, task, make_new, config)
    start = evaluation_row(0, zero_shot, None, started, decision)
    stage = train_stage(
        agent,
        task,
        make_new,
        config.transfer_budget,
        config,
        started,
        on_evaluation,
        start_evaluation=start,
        progress_offset=trials_so_far,
    )
    figures = stage.figures(config.reliable_bar)
    return {
        "env_kwargs": config.transfer_env_kwargs,
        "budget": config.transfer_budget,
        "zero_shot_success": zero_shot.success_rate,
        "zero_shot_deaths_per_episode": zero_shot.deaths / zero_shot.episodes,
        "zero_shot_traces": zero_shot.traces,
        **figures,
        "traces": {"evaluation": stage.traces},
    }
