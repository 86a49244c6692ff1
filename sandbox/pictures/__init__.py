"""Pictures of a run, drawn from its saved files: plots, transfer plots, animations.

Drawn off-screen: the Agg backend is chosen here, before any module of this package
imports pyplot (``sandbox.watch`` switches to a window backend when asked for one).
"""

import matplotlib

matplotlib.use("Agg")
