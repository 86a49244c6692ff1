"""``python -m sandbox.watch RUN_FOLDER --agent NAME``: more animated held-out episodes of
one agent's final policy, from the run's saved files (seed by seed, in the training world
and then zero-shot in the transfer world), written into ``RUN_FOLDER/animations/`` or
shown in a window::

    python -m sandbox.watch results/city/<run> --agent dqn --episodes 6
    python -m sandbox.watch results/rocket/<run> --agent planner --show
"""

from __future__ import annotations

import sys
from pathlib import Path

from sandbox.command_line import OneLineParser, UsageError, positive_int, run_command
from sandbox.pictures.watching import watch

PROG = "python -m sandbox.watch"


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(
        prog=PROG,
        description="Animate one agent's saved held-out episodes (its final "
        "policy) from a run folder: GIFs in RUN_FOLDER/animations/, or a window with --show.",
    )
    parser.add_argument(
        "run", type=Path, metavar="RUN_FOLDER", help="a results folder, e.g. results/city/<run>"
    )
    parser.add_argument("--agent", required=True, help="the agent's name in the run")
    parser.add_argument(
        "--episodes",
        type=positive_int,
        default=3,
        metavar="N",
        help="how many saved episodes (default 3; a job keeps 3 per seed and world, a --full run "
        "seed 0's alone)",
    )
    parser.add_argument(
        "--show", action="store_true", help="play them in a window instead of writing files"
    )
    parser.add_argument(
        "--mp4", action="store_true", help="write MP4 instead of GIF (needs ffmpeg on the PATH)"
    )
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        for path in watch(args.run, args.agent, args.episodes, args.show, args.mp4):
            print(path)
    except UsageError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(run_command(main))
