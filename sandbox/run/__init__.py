"""A run, planned then executed: the plan from the command line (agents, seeds, budgets,
worlds, jobs), one job's training and evaluation, the executors that run jobs (a local
process pool or Ray), resuming in a folder, and the run's provenance."""
