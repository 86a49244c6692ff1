from sandbox.bench.cli import main
from sandbox.command_line import run_command

raise SystemExit(run_command(main))
