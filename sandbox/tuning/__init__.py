"""Symmetric hyperparameter tuning: a search space per agent family and task
(``sandbox.tuning.spaces``) and the Optuna study that searches it on validation situations
(``sandbox.tuning.study``); ``python -m sandbox.tune`` is the command in front of them.

The study's figures, the same for every agent family of a task, are here, where the command
reads them without importing Optuna.
"""

DEFAULT_TRIALS = 24  #: configurations per study, today's settings first
DEFAULT_SEEDS = 2  #: training seeds per configuration
#: a study's training seeds are FIRST_SEED, FIRST_SEED + 1, ...: apart from a run's 0, 1, ...,
#: so that the settings a study picks were not picked on the very runs a reference reports
FIRST_SEED = 1_000
#: training trials per seed: sized so that a study with today's settings took about an hour on
#: one core (city DQN then took 165 s a trial; 1,000 walks took 849 s); the studies' searches
#: reached larger batches and networks, 0.2 to 3.3 hours a study (every measured time is in
#: docs/configuring-learners.md)
BUDGETS = {"rocket": 3_000, "city": 200}
EVAL_EPISODES = 30  #: validation episodes at each evaluation point
EVAL_POINTS = 16  #: about this many log-spaced evaluation points per job
RELIABLE_BAR = 0.9
GRID_START = 10  #: the objective averages the validation success from this many trials on
SAMPLER_SEED = 0
STARTUP_TRIALS = 10  #: the Zoo's: trials sampled at random before TPE models the rest
