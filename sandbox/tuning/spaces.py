"""What a search may change: one search space per task and agent family.

The learners' spaces are the RL Baselines3 Zoo's samplers (``rl_zoo3/hyperparams_opt.py``:
``sample_ppo_params``, ``sample_sac_params``, ``sample_td3_params``, ``sample_dqn_params``,
``sample_a2c_params``) narrowed to budgets of thousands of trials on one env:

- learning rates from 1e-4 (the Zoo's 1e-5 moves nothing in a few thousand updates) to the
  Zoo's 2e-3; rollouts, minibatches and target updates no longer than a fraction of the
  budget's env steps;
- gamma and GAE's lambda from the Zoo's earlier grids (0.9 to 0.999, 0.8 to 1.0), which hold
  today's choices (DQN's 0.95 for the city lies below the Zoo's present floor of 0.97);
- no ``activation_fn``: a class is no setting a TOML file can hold;
- the rocket's launch is one step (a contextual bandit): gamma, GAE's lambda and the target
  networks' ``tau`` change nothing there and are not searched; exploration is (PPO's
  ``log_std_init``, the range of the Zoo's gSDE sampler; SAC's ``ent_coef``; TD3's noise);
- SAC at a high update-to-data ratio (``sac-utd``) is SAC with more compute: it keeps SAC's
  settings file and searches the ratio alone, gradient steps after every launch, 5, 10 or
  20 (REDQ's and DroQ's), each once, so that ``sac`` and ``sac-utd`` differ in their update
  schedule alone (SAC: ``train_freq`` launches, then as many gradient steps; ``sac-utd``:
  ``train_freq`` 1 and the searched ratio, two keys for the one factor).

The learned models, and the rocket's neural bandit (the learned model's machinery on the
reward), search as many of their own settings, over ranges of about a factor of four around
their defaults. Every space holds today's settings (``agents/settings/*.toml`` for the
learners, the defaults of ``agents/learned_rocket.py``, ``agents/bandit_rocket.py`` and
``agents/learned_city.py``): a study runs them first, so the search can only improve on
today's choice.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agents.base import Agent, first_paragraph, merge_settings
from agents.plugins import load_agent

if TYPE_CHECKING:
    import optuna

#: a sampled real is rounded to this many digits: no search this small tells 3.45e-4 from
#: 3.4512e-4, and the settings files stay readable
SIGNIFICANT_DIGITS = 3


@dataclass(frozen=True)
class Param:
    """One searched value: a range (``low`` to ``high``, on a log scale if ``log``, whole
    numbers if ``integer``), or ``choices``. ``power_of_two``: the range holds exponents and
    the value is 2 to that power (the Zoo's ``batch_size_pow``). ``key`` is the setting it
    becomes, dotted for a nested table (``policy_kwargs.net_arch``); "" for a value that only
    feeds a derived setting, whose ``today`` must then be given: a value, or a function of
    today's settings that reads it back from the settings it feeds."""

    name: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    integer: bool = False
    power_of_two: bool = False
    choices: tuple[Any, ...] = ()
    key: str | None = None  #: None: the setting called ``name``
    today: Any = None  #: its value today, when ``key`` is "" (or a function of the settings)

    @property
    def setting(self) -> str:
        return self.name if self.key is None else self.key

    def suggest(self, trial: optuna.Trial) -> Any:
        """The value the trial samples, as a setting."""
        if self.choices:
            names = [_choice_name(choice) for choice in self.choices]
            return self.choices[names.index(trial.suggest_categorical(self.name, names))]
        if self.integer or self.power_of_two:
            value = trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log)
            return 2**value if self.power_of_two else value
        value = trial.suggest_float(self.name, self.low, self.high, log=self.log)
        return float(f"{value:.{SIGNIFICANT_DIGITS}g}")

    def encode(self, value: Any) -> Any:
        """What Optuna holds for the setting ``value`` (the inverse of ``suggest``)."""
        if self.choices:
            return _choice_name(value)
        if self.power_of_two:
            exponent = int(value).bit_length() - 1
            if 2**exponent != value:
                raise ValueError(f"{self.name}: {value} is no power of two")
            return exponent
        return value

    def describe(self) -> str:
        """The range in a few words, and the setting it becomes, for the study's record."""
        if self.choices:
            text = "one of " + ", ".join(str(_choice_name(choice)) for choice in self.choices)
        elif self.power_of_two:
            text = f"powers of two, {2 ** int(self.low):g} to {2 ** int(self.high):g}"
        else:
            scale = "log scale" if self.log else "linear"
            kind = ", whole numbers" if self.integer else ""
            text = f"{self.low:g} to {self.high:g}, {scale}{kind}"
        if self.setting != self.name:
            text += f" (sets {self.setting})" if self.setting else " (feeds a derived setting)"
        return text


def _choice_name(choice: Any) -> Any:
    """A choice as Optuna can hold it: a list as its sizes joined ("64x64")."""
    if isinstance(choice, (list, tuple)):
        return "x".join(str(item) for item in choice)
    return choice


def real(name: str, low: float, high: float, log: bool = False, key: str | None = None) -> Param:
    return Param(name, low, high, log=log, key=key)


def whole(name: str, low: int, high: int, log: bool = False, key: str | None = None) -> Param:
    return Param(name, low, high, log=log, integer=True, key=key)


def powers_of_two(setting: str, low_exponent: int, high_exponent: int) -> Param:
    return Param(f"{setting}_pow", low_exponent, high_exponent, power_of_two=True, key=setting)


def choice(name: str, *choices: Any, key: str | None = None) -> Param:
    return Param(name, choices=choices, key=key)


@dataclass(frozen=True)
class SearchSpace:
    """What a study of one agent on one task may change."""

    params: tuple[Param, ...]
    #: settings that follow from the sampled values (by setting, or by name for a value that
    #: is no setting): SAC's ``gradient_steps`` follows its ``train_freq``, as in the Zoo
    derived: Callable[[dict[str, Any]], dict[str, Any]] = field(default=lambda values: {})
    note: str = ""  #: why the space is what it is, for the study's record
    #: a space of choices alone, small enough to be tried whole: every configuration once,
    #: each queued in turn, so the study holds exactly ``size()`` trials
    exhaustive: bool = False

    def __post_init__(self) -> None:
        if self.exhaustive and any(param.choices is None for param in self.params):
            raise ValueError("an exhaustive space holds choices alone")

    def size(self) -> int:
        """How many configurations an exhaustive space holds."""
        return math.prod(len(param.choices) for param in self.params)

    def configurations(self) -> list[dict[str, Any]]:
        """Every configuration of an exhaustive space, as Optuna's parameters."""
        names = [param.name for param in self.params]
        values = itertools.product(
            *([param.encode(choice) for choice in param.choices] for param in self.params)
        )
        return [dict(zip(names, combination, strict=True)) for combination in values]

    def sample(self, trial: optuna.Trial) -> dict[str, Any]:
        """The trial's settings overrides (nested tables as dicts)."""
        values = {param.setting or param.name: param.suggest(trial) for param in self.params}
        overrides: dict[str, Any] = {}
        for param in self.params:
            if param.setting:
                overrides = merge_settings(overrides, _nested(param.setting, values[param.setting]))
        for key, value in self.derived(values).items():
            overrides = merge_settings(overrides, _nested(key, value))
        return overrides

    def today(self, agent: type[Agent], task: str) -> dict[str, Any]:
        """Optuna's parameters for today's settings of ``agent``: the study's first trial."""
        settings = merge_settings(agent.setting_references(task), agent.default_settings(task))
        params = {}
        for param in self.params:
            if param.setting:
                value = _lookup(settings, param.setting)
            else:
                value = param.today(settings) if callable(param.today) else param.today
            params[param.name] = param.encode(value)
        return params

    def describe(self) -> dict[str, str]:
        return {param.name: param.describe() for param in self.params}

    def derived_note(self) -> str:
        """What the derived settings are, in words (their function's docstring)."""
        return first_paragraph(self.derived.__doc__) if self.derived.__doc__ else ""


def _nested(key: str, value: Any) -> dict[str, Any]:
    for part in reversed(key.split(".")):
        value = {part: value}
    return value


def _lookup(settings: dict[str, Any], key: str) -> Any:
    value: Any = settings
    for part in key.split("."):
        value = value[part]
    return value


def tied_gradient_steps(values: dict[str, Any]) -> dict[str, Any]:
    """One gradient step per env step, taken every ``train_freq`` steps (the Zoo's SAC and
    TD3)."""
    return {"gradient_steps": values["train_freq"]}


def subsample_of(settings: dict[str, Any]) -> int:
    """The subsample a DQN's settings imply (``subsampled_gradient_steps`` read backwards)."""
    steps = settings["gradient_steps"]
    return 1 if steps == -1 else max(settings["train_freq"] // steps, 1)


def subsampled_gradient_steps(values: dict[str, Any]) -> dict[str, Any]:
    """The Zoo's DQN: ``train_freq // subsample_steps`` gradient steps every ``train_freq``
    env steps; a subsample of 1 is one per env step, which the settings file writes as -1."""
    subsample = values["subsample_steps"]
    return {"gradient_steps": -1 if subsample == 1 else max(values["train_freq"] // subsample, 1)}


def rollout_batch(values: dict[str, Any]) -> dict[str, Any]:
    """A minibatch larger than the rollout is the whole rollout (as the Zoo's earlier sampler
    did it)."""
    return {"batch_size": min(values["batch_size"], values["n_steps"])}


GAMMAS = (0.9, 0.95, 0.98, 0.99, 0.995, 0.999)  #: the Zoo's earlier grid up to 0.999
GAE_LAMBDAS = (0.8, 0.9, 0.92, 0.95, 0.98, 0.99, 1.0)  #: the Zoo's earlier grid
#: the Zoo's log range 1e-8 to 0.1 by decades, with 0, today's PPO choice
ENT_COEFS = (0.0, 1e-5, 1e-4, 1e-3, 1e-2, 0.1)
LEARNING_RATE = real("learning_rate", 1e-4, 2e-3, log=True)
MAX_GRAD_NORM = real("max_grad_norm", 0.3, 2.0)
ON_POLICY_NETS = choice("net_arch", [64], [64, 64], [256, 256], key="policy_kwargs.net_arch")
OFF_POLICY_NETS = choice("net_arch", [64, 64], [256, 256], [400, 300], key="policy_kwargs.net_arch")
PPO_COMMON = (
    LEARNING_RATE,
    choice("n_epochs", 1, 5, 10, 20),
    choice("clip_range", 0.1, 0.2, 0.3, 0.4),
    choice("ent_coef", *ENT_COEFS),
    MAX_GRAD_NORM,
    ON_POLICY_NETS,
)
#: what the rocket's learned model and the bandit (its machinery on the reward) both search
ROCKET_ENSEMBLE = (
    choice("hidden", [32, 32], [64, 64], [128, 128]),
    real("learning_rate", 3e-4, 3e-3, log=True),
    whole("fit_steps", 50, 800, log=True),
    powers_of_two("batch_size", 5, 8),
    whole("random_launches", 2, 32, log=True),
    whole("refit_every_launch_until", 10, 200, log=True),
)
ONE_STEP_NOTE = "one step per launch: gamma, gae_lambda and tau change nothing and are not searched"


def continuous_off_policy(exploration: Param) -> SearchSpace:
    """SAC's and TD3's spaces for the rocket: the Zoo's, less gamma and tau, with a warm-up
    that fits the budget (the Zoo's earlier 0 to 20,000 steps) and how they explore."""
    return SearchSpace(
        (
            powers_of_two("batch_size", 5, 10),
            LEARNING_RATE,
            whole("train_freq", 1, 10),
            OFF_POLICY_NETS,
            choice("learning_starts", 0, 100, 1000),
            exploration,
        ),
        derived=tied_gradient_steps,
        note=ONE_STEP_NOTE,
    )


#: SAC-UTD's space for the rocket: SAC with more compute, the decomposition's compute factor.
#: Its other settings are SAC's settings file's; the update burst after every
#: launch (``train_freq`` 1, as REDQ and DroQ update) is searched, from a quarter of their
#: ratio to theirs, each value once.
HIGH_UPDATE_SAC = SearchSpace(
    (choice("gradient_steps", 5, 10, 20),),
    note="SAC's settings file, the update-to-data ratio alone searched: sac-utd differs from "
    "sac in its update schedule only (train_freq 1, gradient_steps the ratio), so that the two "
    "measure the compute per launch and nothing else",
    exhaustive=True,
)


#: task -> agent -> what its study searches
SPACES: dict[str, dict[str, SearchSpace]] = {
    "rocket": {
        "ppo": SearchSpace(
            (
                powers_of_two("n_steps", 5, 10),
                powers_of_two("batch_size", 4, 8),
                *PPO_COMMON,
                real("log_std_init", -3.0, 0.0, key="policy_kwargs.log_std_init"),
            ),
            derived=rollout_batch,
            note=ONE_STEP_NOTE,
        ),
        "sac": continuous_off_policy(real("ent_coef", 1e-4, 0.1, log=True)),
        "sac-utd": HIGH_UPDATE_SAC,
        "td3": continuous_off_policy(real("action_noise_sigma", 0.005, 0.5, log=True)),
        "learned-model": SearchSpace(
            (
                *ROCKET_ENSEMBLE,
                real("miss_softening_moon_radii", 5.0, 100.0, log=True),
                real("distance_veto_moon_radii", 3.0, 40.0, log=True),
            ),
            note="about a factor of four around the defaults",
        ),
        # the learned model's machinery on the reward: it has no softening or veto, and
        # searches instead the ensemble's size and weight decay, which set how far its
        # members disagree, and so how it explores
        "bandit": SearchSpace(
            (
                *ROCKET_ENSEMBLE,
                whole("members", 2, 16, log=True),
                real("weight_decay", 2.5e-6, 4e-5, log=True),
                choice("reward_target", "scaled", "split"),
            ),
            note="about a factor of four around the defaults; the reward as one output or "
            "its two modes apart",
        ),
    },
    "city": {
        "ppo": SearchSpace(
            (
                powers_of_two("n_steps", 6, 11),
                powers_of_two("batch_size", 4, 8),
                choice("gamma", *GAMMAS),
                choice("gae_lambda", *GAE_LAMBDAS),
                *PPO_COMMON,
            ),
            derived=rollout_batch,
        ),
        "dqn": SearchSpace(
            (
                choice("gamma", *GAMMAS),
                powers_of_two("batch_size", 5, 9),
                LEARNING_RATE,
                whole("train_freq", 1, 10),
                Param("subsample_steps", 1, 8, integer=True, key="", today=subsample_of),
                real("exploration_final_eps", 0.0, 0.2),
                # the Zoo's exploration_fraction (0 to 0.5 of its steps), in env steps here
                whole("exploration_steps", 1_000, 30_000, log=True),
                whole("target_update_interval", 10, 5_000, log=True),
                OFF_POLICY_NETS,
            ),
            derived=subsampled_gradient_steps,
        ),
        "a2c": SearchSpace(
            (
                # the Zoo's earlier grid from 8, with SB3's default 5 (today's), to 512
                choice("n_steps", 5, 8, 16, 32, 64, 128, 256, 512),
                choice("gamma", *GAMMAS),
                choice("gae_lambda", *GAE_LAMBDAS),
                LEARNING_RATE,
                choice("ent_coef", *ENT_COEFS),
                MAX_GRAD_NORM,
                choice("net_arch", [64, 64], [256, 256], key="policy_kwargs.net_arch"),
            )
        ),
        "learned-model": SearchSpace(
            (
                whole("horizon_ticks", 6, 20),
                whole("trust_moves", 5, 80, log=True),
                real("max_unseen_share", 0.01, 0.2, log=True),
                whole("trust_exposures", 15, 240, log=True),
                choice("narrowest_vouching", 0, 1, 2),
                whole("max_expansions", 1_000, 20_000, log=True),
            ),
            note="about a factor of four around the defaults",
        ),
    },
}


def tuned_agents(task: str) -> list[str]:
    """The agents that ``task`` has a search space for (none: an unknown task)."""
    return list(SPACES.get(task, {}))


def space_of(task: str, agent: str) -> SearchSpace:
    return SPACES[task][agent]


def agent_class(task: str, agent: str) -> type[Agent]:
    return load_agent(agent, task)


def trial_settings(task: str, agent: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """The agent's full settings for a trial: its defaults with the sampled values, checked
    as a run checks them."""
    return agent_class(task, agent).resolve_settings(task, overrides)
