"""One Optuna study of one agent family on one task, scored on validation situations only.

Every agent of a task gets the same study; only the search space is its own
(``sandbox.tuning.spaces``):

- **trials**: ``DEFAULT_TRIALS`` (24) configurations, the first of them today's settings;
- **seeds**: ``DEFAULT_SEEDS`` (2) training seeds per configuration, 1,000 and 1,001
  (``FIRST_SEED``), apart from the seeds 0, 1, ... of the runs that report figures;
- **budget**: ``BUDGETS[task]`` training trials per seed (rocket 3,000 launches, city 200
  walks), each job stopping early once reliable, as in a run;
- **evaluation**: ``EVAL_EPISODES`` (30) episodes at about ``EVAL_POINTS`` (16) log-spaced
  points, every one on the validation situations of the task's home world (each training
  seed's own set, ``sandbox.run.job.seed_set_base``, the same for every configuration):
  both the set a job reports and the one its decisions (stopping, reliable) read. No test
  situation and no transfer world is ever played;
- **objective**: the area under the validation success curve against log trials: the mean
  success at the evaluation points from 10 trials to the budget (log-spaced, so equal
  weight per doubling of trials), a job that stopped early holding its last value; the mean
  of that over seeds. Maximised;
- **sampler**: TPE as the Zoo runs it (multivariate, 10 startup trials), seed 0. Trial k is
  sampled by a sampler seeded with ``seed + k`` from the k trials finished before it, so a
  study interrupted and resumed samples what an uninterrupted one would.

The study lives in an Optuna journal (``<out>/optuna/<task>-<agent>.log``): running the same
command again continues to the requested number of trials and never redoes a finished one;
a trial cut short (Ctrl-C, a stopped machine) runs again. After every trial the study's
record is written to ``<out>/<task>-<agent>.json`` and the best settings so far to
``<out>/<task>-<agent>.toml``, in the form ``--agent-config`` reads.
"""

from __future__ import annotations

import multiprocessing as mp
import signal
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import FrozenTrial, TrialState

from agents.base import toml_value
from sandbox.outputs.results import readable_json
from sandbox.outputs.run_data import value_at
from sandbox.outputs.stats import format_count, log_spaced_points
from sandbox.run.job import SEED_SET_SIZE, VALIDATION_SEED_BASE, JobConfig, run_job
from sandbox.run.provenance import git_state, provenance
from sandbox.run.runner import end_with_parent
from sandbox.tasks import get_task
from sandbox.tuning import (
    DEFAULT_SEEDS,
    EVAL_EPISODES,
    EVAL_POINTS,
    FIRST_SEED,
    GRID_START,
    RELIABLE_BAR,
    SAMPLER_SEED,
    STARTUP_TRIALS,
)
from sandbox.tuning.spaces import SearchSpace, agent_class, space_of, trial_settings

OBJECTIVE = (
    "mean over seeds of the area under the validation success curve against log trials: the "
    f"mean validation success at the evaluation points from {GRID_START} trials to the budget, "
    "a job that stopped early (reliable) holding its last value"
)


class StudyMismatch(ValueError):
    """The journal holds a study with other settings: resuming would mix two studies."""


@dataclass(frozen=True, kw_only=True)
class StudySettings:
    """What makes two studies the same (the trial count may grow: it is not here)."""

    task: str
    agent: str
    seeds: int = DEFAULT_SEEDS
    first_seed: int = FIRST_SEED
    budget: int
    eval_episodes: int = EVAL_EPISODES
    eval_points: int = EVAL_POINTS
    reliable_bar: float = RELIABLE_BAR
    sampler_seed: int = SAMPLER_SEED
    startup_trials: int = STARTUP_TRIALS
    env_kwargs: dict[str, Any] = field(default_factory=dict)  #: the home world

    @property
    def name(self) -> str:
        return f"{self.task}-{self.agent}"

    def grid(self) -> list[int]:
        """The trial counts whose validation success the objective averages."""
        points = log_spaced_points(self.budget, self.eval_points)
        return [point for point in points if point >= GRID_START]

    def training_seeds(self) -> list[int]:
        return list(range(self.first_seed, self.first_seed + self.seeds))

    def job(self, seed: int, settings: dict[str, Any]) -> JobConfig:
        """One seed of a trial: reported and decided on the validation set, home world only."""
        return JobConfig(
            task=self.task,
            agent=self.agent,
            seed=seed,
            budget=self.budget,
            eval_episodes=self.eval_episodes,
            eval_grid=tuple(log_spaced_points(self.budget, self.eval_points)),
            reliable_bar=self.reliable_bar,
            env_kwargs=dict(self.env_kwargs),
            transfer_env_kwargs=None,
            agent_settings=settings,
            eval_seed_base=VALIDATION_SEED_BASE,
            decision_seed_base=VALIDATION_SEED_BASE,
        )


@dataclass(frozen=True)
class StudyFiles:
    folder: Path
    name: str

    @property
    def journal(self) -> Path:
        return self.folder / "optuna" / f"{self.name}.log"

    @property
    def summary(self) -> Path:
        return self.folder / f"{self.name}.json"

    @property
    def agent_config(self) -> Path:
        return self.folder / f"{self.name}.toml"


def seed_figures(job: dict[str, Any], grid: list[int]) -> dict[str, Any]:
    """What a trial keeps of one seed's job."""
    curve = [
        [row["trials"], row["validation_success_rate"], row["wall_time_s"]]
        for row in job["evaluations"]
    ]
    area = sum(value_at(job["evaluations"], point, "validation_success_rate") for point in grid)
    return {
        "seed": job["seed"],
        "area": round(area / len(grid), 4),
        "trials_to_reliable": job["trials_to_reliable"],  #: None: censored at the budget
        "censored": job["trials_to_reliable"] is None,
        "trials_spent": job["trials_spent"],
        "final_validation_success": job["final_success_rate"],
        "training_deaths": job["total_training_deaths"],
        "wall_time_s": job["wall_time_s"],
        "curve": curve,  #: [trials, validation success, wall seconds] at each evaluation
    }


def untried(study: optuna.Study, space: SearchSpace) -> dict[str, Any]:
    """The first configuration of an exhaustive space that no finished trial ran (a trial cut
    short runs again)."""
    tried = [t.params for t in study.get_trials(deepcopy=False) if finished(t)]
    return next(c for c in space.configurations() if c not in tried)


def finished(trial: FrozenTrial) -> bool:
    """A trial that counts: scored, or failed by its settings (not one cut short)."""
    return trial.state == TrialState.COMPLETE or (
        trial.state == TrialState.FAIL and "error" in trial.user_attrs
    )


def trial_state(trial: FrozenTrial) -> str:
    if trial.state == TrialState.COMPLETE:
        return "complete"
    return "failed" if finished(trial) else "interrupted"


def _one_thread() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl-C means
    end_with_parent()
    import torch

    torch.set_num_threads(1)


def _interrupt(_signal: int, _frame: Any) -> None:
    raise KeyboardInterrupt


@contextmanager
def seed_runner(workers: int) -> Iterator[Callable[[list[JobConfig]], list[dict[str, Any]]]]:
    """Runs a trial's jobs: in this process, or over a pool of ``workers`` spawned processes
    with one torch thread each, kept for the whole study. SIGTERM stops it as Ctrl-C does."""
    previous_sigterm = signal.signal(signal.SIGTERM, _interrupt)
    pool = None
    try:
        if workers > 1:
            pool = mp.get_context("spawn").Pool(workers, initializer=_one_thread)
            yield lambda configs: pool.map(run_job, configs, chunksize=1)
        else:
            yield lambda configs: [run_job(config) for config in configs]
        if pool is not None:
            pool.close()
    except BaseException:
        if pool is not None:
            pool.terminate()
        raise
    finally:
        if pool is not None:
            pool.join()
        signal.signal(signal.SIGTERM, previous_sigterm)


def open_study(settings: StudySettings, files: StudyFiles, done: int) -> optuna.Study:
    """The study in its journal, with a sampler seeded for the trial after ``done`` finished
    ones; ``StudyMismatch`` if the journal holds a study with other settings."""
    files.journal.parent.mkdir(parents=True, exist_ok=True)
    storage = JournalStorage(JournalFileBackend(str(files.journal)))
    with warnings.catch_warnings():  # multivariate TPE is experimental in Optuna 4
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.TPESampler(
            seed=settings.sampler_seed + done,
            n_startup_trials=settings.startup_trials,
            multivariate=True,
            constant_liar=False,
        )
    study = optuna.create_study(
        study_name=settings.name,
        storage=storage,
        sampler=sampler,
        direction="maximize",
        load_if_exists=True,
    )
    recorded = study.user_attrs.get("settings")
    wanted = asdict(settings)
    if recorded is None:
        study.set_user_attr("settings", wanted)
    elif recorded != wanted:
        key = next(k for k in wanted if recorded.get(k) != wanted[k])
        raise StudyMismatch(
            f"{files.journal} holds a study with {key} {recorded.get(key)!r}, not "
            f"{wanted[key]!r}; run it with the same settings to continue, or choose another --out"
        )
    return study


def run_study(
    settings: StudySettings,
    trials: int,
    out: Path,
    workers: int = 1,
    report: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run the study until ``trials`` trials have finished; its record (also written to
    ``<out>/<task>-<agent>.json``)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = space_of(settings.task, settings.agent)
    files = StudyFiles(out, settings.name)
    study = open_study(settings, files, 0)
    done = sum(finished(trial) for trial in study.get_trials(deepcopy=False))
    report(
        f"{settings.name}: {trials} trials x {_count(settings.seeds, 'seed')} x "
        f"{settings.budget:,} {get_task(settings.task).trials_word}, scored on validation "
        f"situations -> {out.resolve()}"
    )
    if done:
        report(f"resuming: {done} of {trials} trials finished in {files.journal}")
    with seed_runner(min(workers, settings.seeds)) as run_jobs:
        while done < trials:
            study = open_study(settings, files, done)
            waiting = study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
            if done == 0 and not waiting:
                today = space.today(agent_class(settings.task, settings.agent), settings.task)
                study.enqueue_trial(today, user_attrs={"today": True})
            elif space.exhaustive and not waiting:
                study.enqueue_trial(untried(study, space))
            run_trial(study, settings, space, run_jobs, report)
            done += 1
            write_record(study, settings, trials, files)
    record = write_record(study, settings, trials, files)
    best = record["best"]
    if best is None:
        report(f"no trial scored; the study is in {files.summary}")
    else:
        report(
            f"best: trial {best['trial']}, {best['value']:.3f} (today's settings: "
            f"{_score(best['today_value'])}); written to {files.summary} and "
            f"{files.agent_config}; apply: {best['apply']}"
        )
    return record


def run_trial(
    study: optuna.Study,
    settings: StudySettings,
    space: SearchSpace,
    run_jobs: Callable[[list[JobConfig]], list[dict[str, Any]]],
    report: Callable[[str], None],
) -> None:
    """Sample one configuration, train it on every seed and tell the study its score."""
    trial = study.ask()
    started = time.perf_counter()
    overrides = space.sample(trial)
    agent_settings = trial_settings(settings.task, settings.agent, overrides)
    trial.set_user_attr("settings", agent_settings)
    trial.set_user_attr("commit", git_state()["commit"])
    configs = [settings.job(seed, agent_settings) for seed in settings.training_seeds()]
    try:
        jobs = run_jobs(configs)
    except KeyboardInterrupt:
        study.tell(trial, state=TrialState.FAIL)  # cut short: it runs again on resuming
        raise
    except Exception as error:  # the configuration cannot train (an SB3 check, a NaN)
        message = f"{type(error).__name__}: {error}".splitlines()[0]
        trial.set_user_attr("error", message)
        trial.set_user_attr("wall_time_s", round(time.perf_counter() - started, 1))
        study.tell(trial, state=TrialState.FAIL)
        report(f"trial {trial.number}: failed ({message}); {_settings_line(trial.params)}")
        return
    seeds = [seed_figures(job, settings.grid()) for job in jobs]
    value = sum(seed["area"] for seed in seeds) / len(seeds)
    trial.set_user_attr("seeds", seeds)
    trial.set_user_attr("wall_time_s", round(time.perf_counter() - started, 1))
    study.tell(trial, value)
    reliable = ", ".join(format_count(s["trials_to_reliable"], settings.budget) for s in seeds)
    final = ", ".join(f"{s['final_validation_success']:.0%}" for s in seeds)
    report(
        f"trial {trial.number}: {value:.3f} (reliable after {reliable}; final {final}; "
        f"{time.perf_counter() - started:,.0f} s) {_settings_line(trial.params)}"
    )


def _settings_line(params: dict[str, Any]) -> str:
    return " ".join(f"{name}={_shown(value)}" for name, value in params.items())


def _score(value: float | None) -> str:
    return "not scored" if value is None else f"{value:.3f}"


def _shown(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def trial_record(trial: FrozenTrial, budget: int) -> dict[str, Any]:
    """What the study's record holds of one trial."""
    seeds = trial.user_attrs.get("seeds", [])
    return {
        "number": trial.number,
        "state": trial_state(trial),
        "value": trial.value if trial.state == TrialState.COMPLETE else None,
        "today": bool(trial.user_attrs.get("today")),
        "params": trial.params,
        "settings": trial.user_attrs.get("settings"),
        "trials_to_reliable": [format_count(s["trials_to_reliable"], budget) for s in seeds],
        "seeds": seeds,
        "wall_time_s": trial.user_attrs.get("wall_time_s"),
        "commit": trial.user_attrs.get("commit"),
        **({"error": trial.user_attrs["error"]} if "error" in trial.user_attrs else {}),
    }


def write_record(
    study: optuna.Study, settings: StudySettings, trials: int, files: StudyFiles
) -> dict[str, Any]:
    """The study's record as JSON, and its best settings as an ``--agent-config`` file."""
    space = space_of(settings.task, settings.agent)
    records = [trial_record(trial, settings.budget) for trial in study.get_trials()]
    scored = [record for record in records if record["state"] == "complete"]
    best = max(scored, key=lambda record: record["value"], default=None)
    today = next((record for record in scored if record["today"]), None)
    record = {
        "task": settings.task,
        "agent": settings.agent,
        "study": {
            **asdict(settings),
            "trials_requested": trials,
            "trials_finished": sum(record["state"] != "interrupted" for record in records),
            "training_seeds": settings.training_seeds(),
            "evaluated_on": "validation situations of the home world only (seed s's episode i "
            f"resets with seed {VALIDATION_SEED_BASE:,} + {SEED_SET_SIZE:,} s + i), both for the "
            "figures and the decisions",
            "eval_seed_base": VALIDATION_SEED_BASE,
            "decision_seed_base": VALIDATION_SEED_BASE,
            "objective": OBJECTIVE,
            "objective_grid": settings.grid(),
            "sampler": {
                "name": "every configuration once, today's first, then in order",
                "configurations": space.size(),
            }
            if space.exhaustive
            else {
                "name": "TPESampler",
                "seed": settings.sampler_seed,
                "seed_of_trial_k": "seed + k",
                "n_startup_trials": settings.startup_trials,
                "multivariate": True,
            },
            "search_space": space.describe(),
            "search_space_note": space.note,
            "derived_settings": space.derived_note(),
            "journal": str(files.journal),
        },
        "trials": records,
        "best": None,
        "provenance": {
            **provenance(get_task(settings.task), [settings.env_kwargs]),
            "optuna": optuna.__version__,
        },
    }
    if best is not None:
        command = f"python -m sandbox.compare {settings.task} --agent-config {files.agent_config}"
        record["best"] = {
            "trial": best["number"],
            "value": best["value"],
            "today_value": today["value"] if today else None,
            "settings": best["settings"],
            "agent_config": str(files.agent_config),
            "apply": command,
        }
        write_agent_config(files.agent_config, settings, best, today)
    write_text(files.summary, readable_json(record))
    return record


def write_text(path: Path, text: str) -> None:
    """Write the file whole or not at all."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text.rstrip("\n") + "\n")
    tmp.replace(path)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def write_agent_config(
    path: Path,
    settings: StudySettings,
    best: dict[str, Any],
    today: dict[str, Any] | None,
) -> None:
    """The best settings as one ``[agent]`` table (nested tables as ``[agent.key]``)."""
    agent = settings.agent
    lines = [
        f"# The best settings of {settings.name}'s tuning study (python -m sandbox.tune "
        f"{settings.task} --agent {agent}):",
        f"# trial {best['number']}, objective {best['value']:.3f} against "
        f"{_score(today['value'] if today else None)} for today's settings, on validation",
        f"# situations ({_count(settings.seeds, 'seed')} x {settings.budget:,} trials; the study "
        f"is in {path.with_suffix('.json').name}). Apply:",
        f"#   python -m sandbox.compare {settings.task} --agent-config {path}",
        "",
        f"[{agent}]",
    ]
    tables = {}
    for key, value in best["settings"].items():
        if isinstance(value, dict):
            tables[key] = value
        else:
            lines.append(f"{key} = {toml_value(value)}")
    for key, table in tables.items():
        lines += ["", f"[{agent}.{key}]"]
        lines += [f"{name} = {toml_value(value)}" for name, value in table.items()]
    write_text(path, "\n".join(lines))
