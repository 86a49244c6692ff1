"""The sandbox's speed and accuracy, measured in one process: ``python -m sandbox.bench``.

Each part measures a few figures and sets each beside its target (``targets``, with
the reason for every target): the rocket's launch rate and its accuracy against an
independent integrator (``rocket``), the city's step rate against Gymnasium's own
environments in the same run (``city``), the planners' decision times with their
deaths and successes (``planners``), where a learner's training time goes (``learners``),
and the default comparisons' wall times (``runs``, only on request: they take minutes).
``cli`` prints the figures and writes ``results/bench.json``.

The machine is shared and its load varies, so a figure is a rate measured over seconds
or a ratio of two rates measured side by side, never one timed call; every rate records
the share of a core the process had while it was measured (``core_share``).
"""
