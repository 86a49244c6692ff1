"""The ``sandbox`` console script (``sandbox.cli:main``, also ``python -m sandbox``): each
command runs the same ``main`` as ``python -m sandbox.<module>``; the rest is one line."""

from __future__ import annotations

import importlib
import subprocess
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest

from sandbox import cli

ROOT = Path(__file__).resolve().parents[1]


def test_the_console_script_is_declared():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["sandbox"] == "sandbox.cli:main"
    assert project["name"] == cli.DISTRIBUTION


@pytest.mark.parametrize("name", sorted(cli.COMMANDS))
def test_each_command_runs_its_modules_main(name, monkeypatch):
    module = importlib.import_module(cli.COMMANDS[name][0])
    seen = []
    monkeypatch.setattr(module, "main", lambda argv: seen.append(argv) or 7)
    assert cli.main([name, "a", "--b"]) == 7
    assert seen == [["a", "--b"]]


def test_a_task_name_alone_runs_compare_as_before(monkeypatch):
    module = importlib.import_module("sandbox.compare")
    seen = []
    monkeypatch.setattr(module, "main", lambda argv: seen.append(argv) or 0)
    assert cli.main(["rocket", "--seeds", "1"]) == 0
    assert seen == [["rocket", "--seeds", "1"]]


def test_help_lists_every_command_on_one_line(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for name, (_, about) in cli.COMMANDS.items():
        assert any(line.split()[:1] == [name] and about in line for line in out.splitlines())


def test_version(capsys):
    assert cli.main(["--version"]) == 0
    out = capsys.readouterr().out.strip()
    try:
        expected = version(cli.DISTRIBUTION)
    except PackageNotFoundError:
        expected = "unknown"
    assert out.startswith(f"sandbox {expected}"), out


def test_an_unknown_command_is_one_line_naming_the_valid_ones(capsys):
    assert cli.main(["plot"]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1, error
    assert "'plot'" in error and all(name in error for name in cli.COMMANDS)


def test_no_command_prints_the_usage_with_exit_code_2(capsys):
    assert cli.main([]) == 2
    assert "commands:" in capsys.readouterr().err


@pytest.mark.parametrize("module", ["sandbox", "sandbox.cli"])
def test_python_dash_m_is_the_same_front_door(module):
    result = subprocess.run(
        [sys.executable, "-m", module, "agents"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    listing = subprocess.run(
        [sys.executable, "-m", "sandbox.agents"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == listing.stdout
