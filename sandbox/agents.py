"""``python -m sandbox.agents``: every agent the sandbox can run by name, with the tasks
it plays, its kind and what it is (built-ins, installed plug-ins, and the agents that
``--plugin`` modules register).

    python -m sandbox.agents
    python -m sandbox.agents --plugin ./my_agents.py
"""

from __future__ import annotations

import argparse
import sys

from agents.base import first_paragraph
from agents.plugins import PluginError, agent_names, import_module, load_all_agents
from sandbox.command_line import run_command


def listing() -> str:
    failures: list[str] = []
    loaded = load_all_agents(
        on_error=lambda name, error: failures.append(f"{name}: cannot load ({error})")
    )
    names = agent_names()
    rows = [(name, cls.plays_description(), cls.kind, cls.summary_line()) for name, cls in loaded]
    header = ("agent", "tasks", "kind", "description")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(3)]

    def line(row):
        return "  ".join(c.ljust(w) for c, w in zip(row[:3], widths, strict=False)) + "  " + row[3]

    text = [line(header), line(tuple("-" * w for w in widths) + ("-" * 11,))]
    text += [line(row) for row in rows]
    text += failures
    text.append(
        f"\n{len(rows)} agents ({len(names)} names). Any other agent runs by its class: "
        "--agents package.module:Class or --agents path/to/file.py:Class."
    )
    return "\n".join(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.agents", description=first_paragraph(__doc__)
    )
    parser.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="MODULE",
        help="import a module (package.module or path/to/file.py) first; repeatable",
    )
    args = parser.parse_args(argv)
    try:
        for plugin in args.plugin:
            import_module(plugin)
    except PluginError as error:
        print(f"python -m sandbox.agents: error: {error}", file=sys.stderr)
        return 2
    print(listing())
    return 0


if __name__ == "__main__":
    sys.exit(run_command(main))
