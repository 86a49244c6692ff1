"""A run's plan, decided from the parsed command line before anything is written: the
study and its size, the worlds, the agents and their settings, every job's
configuration, and the folder the results go to.

Planning writes nothing. It reads only what the arguments name (world and map files, an
agent settings file) and builds each world once, so bad input fails here, in one line,
before any job starts.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from agents.plugins import PluginError
from sandbox.command_line import UsageError, option_dest
from sandbox.run.agent_specs import RunAgent, resolve_agents, resolve_cells
from sandbox.run.job import SEED_SET_SIZE, TEST_SETS, JobConfig
from sandbox.studies import Study, get_study, split_variant
from sandbox.tasks import Size, Task

COMMAND = "python -m sandbox.compare"  #: how a run's command line is recorded


@dataclass(frozen=True, kw_only=True)
class RunPlan:
    """Everything a run will do, as data: what to train, where, and where to write."""

    task: Task
    study: Study | None
    study_settings: dict[str, Any] | None  #: the study's settings at this size
    size: Size
    agents: list[RunAgent]
    env_kwargs: dict[str, Any]  #: the training world
    transfer_env_kwargs: dict[str, Any] | None  #: the transfer world, if the run has one
    plugins: tuple[str, ...]  #: modules and (absolute) files imported first, in every worker
    configs: list[JobConfig]  #: every job of the run, finished or not
    out: Path  #: the results folder
    tensorboard: Path | None  #: the TensorBoard folder as given, if any
    command: str  #: the command line, as recorded in ``config.json``
    full: bool
    reliable_bar: float
    workers: int
    executor: str  #: "local" or "ray"
    ray_address: str | None
    force: bool  #: resume even in a folder whose recorded run differs
    animations: bool = True  #: draw the animations with the other results

    @property
    def labels(self) -> list[str]:
        """The agents of the tables, in order (``agent@variant`` for a study's variants; a
        study's cells by their labels)."""
        return list(dict.fromkeys(config.agent for config in self.configs))

    def record(self, provenance: dict[str, Any]) -> dict[str, Any]:
        """What ``config.json`` records of the run, with what produced it."""
        details = {agent.label: agent.details() for agent in self.agents}
        return {
            "task": self.task.name,
            "command": self.command,
            "full": self.full,
            "agents": self.labels,
            "agent_details": {label: details[split_variant(label)[0]] for label in self.labels},
            "plugins": list(self.plugins),
            "seeds": list(range(self.size.seeds)),
            "size": asdict(self.size),
            "reliable_bar": self.reliable_bar,
            "study": self.study.name if self.study else None,
            "study_settings": self.study_settings,
            "env_kwargs": self.env_kwargs,
            "transfer_env_kwargs": self.transfer_env_kwargs,
            "provenance": provenance,
            "jobs": [asdict(config) for config in self.configs],
        }


def plan_run(task: Task, tasks: list[Task], args: argparse.Namespace) -> RunPlan:
    """The run the parsed arguments ask for; bad input is a ``UsageError``."""
    study = find_study(task, args.study)
    size = run_size(study or task, args)
    env_kwargs, transfer_env_kwargs = task_env_kwargs(task, tasks, args)
    study_settings = None
    if study is not None:
        env_kwargs = {**env_kwargs, **study.env_kwargs}
        transfer_env_kwargs = study.transfer_env_kwargs
        study_settings = study.settings_full if args.full else study.settings_default
    variants = study.variants if study is not None and study.variants else {"": {}}
    action_space = check_envs(task, run_worlds(env_kwargs, transfer_env_kwargs, variants))
    default_agents = None
    if study is not None and study.agents and args.agents is None:
        default_agents = ",".join(study.agents)
    try:
        if study is not None and study.cells:
            agents = resolve_cells(
                task,
                study.name,
                study.cells,
                args.agents,
                args.settings,
                args.agent_config,
                action_space,
            )
        else:
            agents = resolve_agents(
                task, args.agents or default_agents, args.settings, args.agent_config, action_space
            )
    except ValueError as error:
        raise UsageError(str(error)) from None
    check_executor(args)
    run_name = (
        time.strftime("%Y%m%d-%H%M%S")
        + (f"-{study.name}" if study else "")
        + ("-full" if args.full else "")
    )
    plugins = tuple(str(Path(p).resolve()) if p.endswith(".py") else p for p in args.plugin)
    template = JobConfig(  # what every job of the run shares; job_configs fills in the rest
        task=task.name,
        agent="",
        seed=0,
        budget=0,
        env_kwargs=env_kwargs,
        transfer_env_kwargs=transfer_env_kwargs,
        eval_episodes=size.eval_episodes,
        eval_grid=tuple(size.evaluation_grid(args.budget)),
        reliable_bar=args.reliable_bar,
        transfer_budget=args.budget if args.budget is not None else size.transfer_budget,
        study=study.name if study else None,
        study_settings=study_settings,
        plugins=plugins,
        tensorboard_dir=str(args.tensorboard.resolve()) if args.tensorboard else None,
    )
    return RunPlan(
        task=task,
        study=study,
        study_settings=study_settings,
        size=size,
        agents=agents,
        env_kwargs=env_kwargs,
        transfer_env_kwargs=transfer_env_kwargs,
        plugins=plugins,
        configs=job_configs(template, size, agents, variants, args.budget),
        out=args.out if args.out is not None else Path("results") / task.name / run_name,
        tensorboard=args.tensorboard,
        command=" ".join([COMMAND, *args.argv]),
        full=args.full,
        reliable_bar=args.reliable_bar,
        workers=args.workers,
        executor=args.executor,
        ray_address=args.ray_address,
        force=args.force,
        animations=args.animations,
    )


def run_size(source: Task | Study, args: argparse.Namespace) -> Size:
    """The task's (or study's) default or full size, with ``--seeds`` and
    ``--eval-episodes`` applied."""
    size = source.full if args.full else source.default
    if args.seeds is not None:
        size = replace(size, seeds=args.seeds)
    if args.eval_episodes is not None:
        size = replace(size, eval_episodes=args.eval_episodes)
    # Each seed plays its own held-out sets (sandbox.run.job.seed_set_base), of bounded size.
    if size.seeds > TEST_SETS:
        raise UsageError(f"--seeds: at most {TEST_SETS}, each with its own test set")
    if size.eval_episodes > SEED_SET_SIZE:
        raise UsageError(f"--eval-episodes: at most {SEED_SET_SIZE:,}, one seed's held-out set")
    return size


def job_configs(
    template: JobConfig,
    size: Size,
    agents: list[RunAgent],
    variants: dict[str, dict[str, Any]],
    budget: int | None,
) -> list[JobConfig]:
    """Every job of the run, seed by seed: each phase, agent and variant, from the
    template's shared settings (a study's variant adds its env keyword arguments to both
    worlds); ``budget`` is ``--budget``, which overrides every agent's own."""
    env_kwargs, transfer_env_kwargs = template.env_kwargs, template.transfer_env_kwargs
    phases = ("train", "scratch") if transfer_env_kwargs is not None else ("train",)
    return [
        replace(
            template,
            agent=agent.label + (f"@{variant}" if variant else ""),
            seed=seed,
            budget=budget
            if budget is not None
            else size.agent_budgets.get(agent.label, size.budget),
            env_kwargs={**env_kwargs, **extra},
            transfer_env_kwargs=None
            if transfer_env_kwargs is None
            else {**transfer_env_kwargs, **extra},
            phase=phase,
            agent_spec=agent.spec,
            agent_settings=agent.settings,
        )
        for seed in range(size.seeds)
        for phase in phases
        for agent in agents
        for variant, extra in variants.items()
    ]


def find_study(task: Task, name: str | None) -> Study | None:
    """The study ``--study`` names for the task, if any."""
    if name is None:
        return None
    try:
        return get_study(name, task.name)
    except PluginError as error:
        raise UsageError(str(error)) from None


def planned_trials(config: JobConfig) -> int:
    """The most trials a job may spend (it stops early once reliable): training, and the
    episodes its study's step after training plays."""
    if config.phase == "scratch":
        return config.transfer_budget
    transfer = config.transfer_budget if config.transfer_env_kwargs is not None else 0
    return config.budget + study_trials(config) + transfer


def study_trials(config: JobConfig) -> int:
    """The episodes a train job's study step plays after training (0: none)."""
    if config.phase != "train" or config.study is None:
        return 0
    study = get_study(config.study, config.task)
    if study.after_training is None or study.after_training_trials is None:
        return 0
    return study.after_training_trials(dict(config.study_settings or {}))


def task_env_kwargs(
    task: Task, tasks: list[Task], args: argparse.Namespace
) -> tuple[dict[str, Any], dict | None]:
    """The training world's and the transfer world's env keyword arguments from the task's
    defaults and its options; an option of another task is refused."""
    own = {option.flag for option in task.options}
    for other in tasks:
        for option in other.options:
            if option.flag not in own and getattr(args, option_dest(option.flag), None) is not None:
                takes = ", ".join(sorted(own)) or "no world options"
                raise UsageError(
                    f"{option.flag} is for the {other.name}; the {task.name} takes {takes}"
                )
    home = dict(task.env_kwargs)
    transfer = dict(task.transfer_env_kwargs) if task.transfer_env_kwargs is not None else None
    for option in task.options:
        text = getattr(args, option_dest(option.flag), None)
        if text is None:
            continue
        if option.worlds == ("transfer",) and transfer is None:
            raise UsageError(f"{option.flag}: the {task.name} has no transfer stage")
        try:
            value = option.parse(text)
        except (ValueError, OSError) as error:
            raise UsageError(f"{option.flag}: {error}") from None
        if "training" in option.worlds:
            home[option.env_key] = value
        if "transfer" in option.worlds and transfer is not None:
            transfer[option.env_key] = value
    return home, transfer


def check_envs(task: Task, worlds: dict[str, dict[str, Any] | None]) -> Any:
    """Build each env once, so a world that loads but cannot run fails here, in one line,
    before any job starts; the first env's action space."""
    action_space = None
    for where, env_kwargs in worlds.items():
        if env_kwargs is None:
            continue
        try:
            env = task.make_env(**env_kwargs)
            env.reset(seed=0)
            action_space = action_space or env.action_space
            env.close()
        except Exception as error:  # any failure to build the env is the input's fault here
            raise UsageError(
                f"the {where} ({_describe_world(env_kwargs)}) cannot run: {error}"
            ) from None
    return action_space


def run_worlds(
    env_kwargs: dict[str, Any],
    transfer_env_kwargs: dict[str, Any] | None,
    variants: dict[str, dict[str, Any]],
) -> dict[str, dict[str, Any] | None]:
    """Every world a run builds, by a name for errors: training and transfer, per variant."""
    worlds: dict[str, dict[str, Any] | None] = {}
    for name, extra in variants.items():
        suffix = f" ({name})" if name else ""
        worlds[f"training world{suffix}"] = {**env_kwargs, **extra}
        worlds[f"transfer world{suffix}"] = (
            None if transfer_env_kwargs is None else {**transfer_env_kwargs, **extra}
        )
    return worlds


def check_executor(args: argparse.Namespace) -> None:
    """Where jobs run and what they log: the options' rules, and their extras installed."""
    if args.ray_address and args.executor != "ray":
        raise UsageError("--ray-address is for --executor ray")
    if args.executor == "ray":
        require_extra("ray", "--executor ray", "Ray")
    if args.tensorboard is not None:
        require_extra("tensorboard", "--tensorboard", "TensorBoard")


def require_extra(module: str, option: str, name: str) -> None:
    """An option whose package is one of the project's extras (same name): missing, it is
    a usage error."""
    if importlib.util.find_spec(module) is None:
        raise UsageError(
            f'{option} needs {name}, which is not installed: pip install -e ".[{module}]"'
        )


def _describe_world(env_kwargs: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value}" for key, value in env_kwargs.items()) or "defaults"
