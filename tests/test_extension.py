"""Open for extension: agents from the user's own code, settings as data, tasks and
studies from plug-in modules, each through the command line as a user runs it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from agents.plugins import load_agent
from tests.commands import in_process
from tests.test_compare_cli import assert_one_line_error

# every test here starts the command line, most of them for a whole small run
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
TINY = ("--seeds", "2", "--budget", "3", "--eval-episodes", "2", "--no-animations")

WALKER = '''
from agents import Agent


class Walker(Agent):
    """Walks east; learns nothing."""

    kind = "baseline"
    tasks = ("city",)

    def _train(self, ledger, until_trials):
        self.play(ledger, until_trials)

    def act(self, observation, info):
        return 2


NOT_AN_AGENT = 42
'''


def run(
    *args: str,
    cwd: Path = ROOT,
    pythonpath: Path | None = None,
    timeout: float = 600,
    module: str = "sandbox.compare",
) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(pythonpath), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def refused(*args: str) -> subprocess.CompletedProcess:
    """The compare command run in this process, for input it refuses before any run."""
    from sandbox.compare import main

    return in_process(main, *args)


@pytest.fixture(scope="module")
def outside(tmp_path_factory) -> Path:
    """A folder outside the repository holding a user's agent module."""
    folder = tmp_path_factory.mktemp("user-code")
    (folder / "my_walker.py").write_text(WALKER)
    return folder


@pytest.mark.parametrize("how", ["path", "module"])
def test_agent_from_user_code_runs_under_two_workers(outside, tmp_path, how):
    spec = f"{outside / 'my_walker.py'}:Walker" if how == "path" else "my_walker:Walker"
    result = run(
        "city",
        "--agents",
        f"{spec},random",
        *TINY,
        "--workers",
        "2",
        "--out",
        str(tmp_path),
        pythonpath=outside if how == "module" else None,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["agents"]["Walker"]["seeds"] == [0, 1]
    assert len(list((tmp_path / "jobs").glob("*Walker*.json"))) == 4  # train and scratch, two seeds
    details = json.loads((tmp_path / "config.json").read_text())["agent_details"]["Walker"]
    assert details["kind"] == "baseline" and details["description"] == "Walks east; learns nothing."


def test_installed_plugin_package_is_listed_and_runs_by_name(tmp_path):
    site = tmp_path / "site"
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(site),
            str(ROOT / "examples" / "sandbox-plugin-example"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr
    listing = run(pythonpath=site, module="sandbox.agents")
    assert listing.returncode == 0, listing.stderr
    assert re.search(r"^always-south\s+city\s+baseline\s+Walks south", listing.stdout, re.M), (
        listing.stdout
    )
    result = run(
        "city",
        "--agents",
        "always-south,traffic-planner",
        *TINY,
        "--workers",
        "2",
        "--out",
        str(tmp_path / "run"),
        pythonpath=site,
    )
    assert result.returncode == 0, result.stderr
    assert "always-south" in json.loads((tmp_path / "run" / "summary.json").read_text())["agents"]


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("./nowhere/agent.py:Walker", ["nowhere/agent.py", "traffic-planner", "file.py:Class"]),
        ("no_such_module_xyz:Walker", ["no_such_module_xyz", "traffic-planner"]),
        ("{file}:Runner", ["Runner", "traffic-planner"]),
        ("{file}:NOT_AN_AGENT", ["NOT_AN_AGENT", "not a subclass of agents.Agent"]),
        ("alphago", ["alphago", "traffic-planner", "dqn"]),
    ],
)
def test_bad_agent_specs_are_one_line_errors(outside, tmp_path, spec, words):
    spec = spec.format(file=outside / "my_walker.py")
    assert_one_line_error(refused("city", "--agents", spec, "--out", str(tmp_path)), *words)


def test_agent_that_cannot_play_the_task_is_refused(outside, tmp_path):
    assert_one_line_error(
        refused("rocket", "--agents", f"{outside / 'my_walker.py'}:Walker", "--out", str(tmp_path)),
        "Walker",
        "plays city",
        "planner",
    )
    assert_one_line_error(
        refused("city", "--agents", "sac", "--out", str(tmp_path)), "sac", "Box", "dqn"
    )


def test_set_and_agent_config_change_what_the_learner_is_built_with(tmp_path):
    config = tmp_path / "settings.toml"
    config.write_text(
        "[ppo]\nlearning_rate = 1e-3\nn_steps = 16\n\n[ppo.policy_kwargs]\nnet_arch = [16]\n"
    )
    result = run(
        "rocket",
        "--agents",
        "ppo",
        "--agent-config",
        str(config),
        "--set",
        "ppo.n_steps=8",
        "--set",
        "ppo.batch_size=8",
        "--seeds",
        "1",
        "--budget",
        "20",
        "--no-animations",
        "--eval-episodes",
        "2",
        "--workers",
        "1",
        "--out",
        str(tmp_path / "run"),
    )
    assert result.returncode == 0, result.stderr
    recorded = json.loads((tmp_path / "run" / "config.json").read_text())["agent_details"]["ppo"][
        "settings"
    ]
    assert (
        recorded["learning_rate"] == 1e-3
        and recorded["n_steps"] == 8
        and recorded["batch_size"] == 8
    )
    defaults = load_agent("ppo", "rocket").default_settings("rocket")
    assert recorded["policy_kwargs"] == {
        "net_arch": [16],
        "log_std_init": defaults["policy_kwargs"]["log_std_init"],
    }  # merged into the default
    assert recorded["n_epochs"] == defaults["n_epochs"]  # untouched defaults stay
    built = json.loads((tmp_path / "run" / "jobs" / "train-ppo-seed0.json").read_text())["settings"]
    assert built == recorded
    # Rollouts of 8 launches: the first evaluation comes after the first whole rollout.
    assert (
        json.loads((tmp_path / "run" / "jobs" / "train-ppo-seed0.json").read_text())["evaluations"][
            0
        ]["trials"]
        == 9
    )


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--set", "ppo.learning_rat=1e-3"), ["learning_rat", "learning_rate"]),
        (("--set", "planner.apogee=2"), ["apogee", "apogee_ratio"]),
        (("--set", "ppo.learning_rate"), ["AGENT.KEY=VALUE"]),
        (("--set", "dqn.gamma=0.9"), ["dqn", "ppo"]),
        # text where a number or a list is expected: --set keeps a value that is not TOML as text
        (("--set", "planner.apogee_ratio=abc"), ["apogee_ratio", "a number", "'abc'"]),
        (("--set", "ppo.learning_rate=fast"), ["learning_rate", "a number", "'fast'"]),
        (("--set", "ppo.policy_kwargs.net_arch=wide"), ["policy_kwargs.net_arch", "a list"]),
        # another learner's own setting
        (("--set", "ppo.exploration_steps=5"), ["exploration_steps", "n_steps"]),
    ],
)
def test_bad_settings_are_one_line_errors(tmp_path, args, words):
    out = tmp_path / "run"
    assert_one_line_error(
        refused("rocket", "--agents", "ppo,planner", *args, "--out", str(out)), *words
    )
    assert not out.exists(), "refused before the run folder is written"


def test_agent_config_naming_another_agent_is_refused(tmp_path):
    config = tmp_path / "settings.toml"
    config.write_text("[sac]\nlearning_rate = 1e-3\n")
    assert_one_line_error(
        refused("rocket", "--agents", "ppo", "--agent-config", str(config), "--out", str(tmp_path)),
        "[sac]",
        "ppo",
    )


def test_resuming_with_a_changed_setting_is_refused(tmp_path):
    first = run(
        "rocket",
        "--agents",
        "ppo",
        "--seeds",
        "1",
        "--budget",
        "3",
        "--no-animations",
        "--eval-episodes",
        "2",
        "--set",
        "ppo.n_steps=4",
        "--set",
        "ppo.batch_size=4",
        "--workers",
        "1",
        "--out",
        str(tmp_path),
    )
    assert first.returncode == 0, first.stderr
    second = run(
        "rocket",
        "--agents",
        "ppo",
        "--seeds",
        "1",
        "--budget",
        "3",
        "--no-animations",
        "--eval-episodes",
        "2",
        "--set",
        "ppo.n_steps=8",
        "--set",
        "ppo.batch_size=4",
        "--workers",
        "1",
        "--out",
        str(tmp_path),
    )
    assert_one_line_error(second, "different run", "agent_settings.n_steps", "4", "8", "--force")


def test_forced_on_with_fewer_jobs_counts_the_ones_it_runs(tmp_path):
    """--force over a folder whose run had more agents and seeds: the jobs it plans that are
    finished count as finished, the others stay in the folder untouched."""
    args = ("rocket", "--budget", "3", "--no-animations", "--eval-episodes", "2", "--workers", "1")
    first = run(*args, "--agents", "planner,random", "--seeds", "2", "--out", str(tmp_path))
    assert first.returncode == 0, first.stderr
    fewer = run(*args, "--agents", "planner", "--seeds", "1", "--force", "--out", str(tmp_path))
    assert fewer.returncode == 0, fewer.stderr
    assert "resuming: 1 of 1 jobs already finished" in fewer.stdout
    assert len(list((tmp_path / "jobs").glob("*.json"))) == 4
    summary = json.loads((tmp_path / "summary.json").read_text())["agents"]
    assert list(summary) == ["planner"] and summary["planner"]["seeds"] == [0]


def test_resuming_the_same_run_is_recorded(tmp_path):
    """A run that spans several starts records each resume's command and provenance
    beside the first start's."""
    args = (
        "rocket",
        "--agents",
        "planner",
        "--seeds",
        "1",
        "--budget",
        "3",
        "--no-animations",
        "--eval-episodes",
        "2",
        "--workers",
        "1",
    )
    assert run(*args, "--out", str(tmp_path)).returncode == 0
    first = json.loads((tmp_path / "config.json").read_text())
    again = run(*args, "--out", str(tmp_path))
    assert again.returncode == 0 and "resuming: 1 of 1 jobs already finished" in again.stdout, (
        again.stderr
    )
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["provenance"] == first["provenance"] and config["command"] == first["command"]
    assert [r["command"] for r in config["resumes"]] == [first["command"]]
    assert config["resumes"][0]["provenance"]["packages"] == first["provenance"]["packages"]


def test_a_task_and_a_study_from_a_plug_in_module_run_through_compare(tmp_path):
    result = run(
        "guess",
        "--plugin",
        "examples/guess_task.py",
        "--study",
        "mirrored",
        "--agents",
        "random,ppo",
        "--seeds",
        "2",
        "--budget",
        "40",
        "--no-animations",
        "--eval-episodes",
        "4",
        "--workers",
        "2",
        "--out",
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert "Success with the signal mirrored" in result.stdout
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert set(summary["agents"]) == {"random", "ppo"}
    assert set(summary["mirrored_success"]) == {"random", "ppo"}
    assert (tmp_path / "mirrored.png").stat().st_size > 5_000
    report = run(
        str(tmp_path), module="sandbox.report"
    )  # finds the task again through the run's record
    assert report.returncode == 0 and "| random |" in report.stdout, report.stderr


def test_unknown_study_of_a_plug_in_task(tmp_path):
    assert_one_line_error(
        run(
            "guess",
            "--plugin",
            "examples/guess_task.py",
            "--study",
            "generalization",
            "--out",
            str(tmp_path),
        ),
        "generalization",
        "mirrored",
    )


def test_docs_adding_an_agent_runs_as_written(tmp_path):
    """The agents page's section, copied by a user into a folder of their own.

    It runs with the default workers.
    """
    page = (ROOT / "docs" / "agents.md").read_text()
    section = page.split("## Adding an agent", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    command = re.search(r"```bash\n(python -m sandbox\.compare [^\n]*)\n```", section).group(1)
    file_name = re.search(r"--agents \./(\w+\.py):", command).group(1)
    (tmp_path / file_name).write_text(code)
    result = subprocess.run(
        command, shell=True, cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr
    assert "always-north" in result.stdout
    assert list((tmp_path / "results" / "city").glob("*/summary.json"))


DIVERGING = '''
import numpy as np

from agents import Agent


class Diverging(Agent):
    """A policy whose network has diverged: every action is NaN."""

    tasks = ("rocket",)

    def _train(self, ledger, until_trials):
        self.play(ledger, until_trials)

    def act(self, observation, info):
        return np.array([np.nan, 0.0, 0.0], dtype=np.float32)
'''


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_policy_that_diverges_to_nan_stops_the_run_in_one_line(tmp_path, workers):
    agent = tmp_path / "diverging.py"
    agent.write_text(DIVERGING)
    result = run(
        "rocket",
        "--agents",
        f"random,{agent}:Diverging",
        "--seeds",
        "1",
        "--budget",
        "3",
        "--eval-episodes",
        "2",
        "--workers",
        workers,
        "--out",
        str(tmp_path / "run"),
        timeout=300,
    )
    # The progress bar has its own lines on stderr;
    # the error is one line, the last, without a traceback.
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith("python -m sandbox.compare: error: job")
    for word in ("Diverging", "ValueError", "action[0] is nan", "traceback in", "kept"):
        assert word in error, error
    saved = list((tmp_path / "run" / "errors").glob("*.txt"))
    assert len(saved) == 1 and "Traceback" in saved[0].read_text()
