"""A Ray cluster built as docs/scaling-out.md says, on this machine: a head and a second
node that joins it on 127.0.0.1, each with its own temp dir, with Ray's token
authentication on. A sweep through ``--executor ray --ray-address`` writes the job files
of the local pool, and a driver without the cluster's token is refused in one line.

The nodes run ``ray start --block``, each in a session of its own, and are stopped by
those sessions: ``ray stop`` would stop every Ray process of the user on the machine."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from importlib.util import find_spec
from pathlib import Path

import pytest

from tests.test_executors import SMALL, job_files_strip
from tests.test_extension import ROOT

RAY_CLI = Path(sys.executable).with_name("ray")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.xdist_group("ray"),  # never beside the other test that starts Ray
    pytest.mark.skipif(find_spec("ray") is None, reason='needs Ray: pip install -e ".[ray]"'),
    pytest.mark.skipif(not RAY_CLI.exists(), reason=f"no ray command beside {sys.executable}"),
    pytest.mark.skipif(sys.platform == "win32", reason="stops the nodes by their sessions"),
]
START_S = 120  # a node starts in 10-20 s on 2 busy cores
STOP_S = 30
RUN_S = 300


def test_a_two_node_cluster_gives_the_job_files_of_the_local_pool(tmp_path):
    runs: dict[str, subprocess.Popen] = {}
    try:
        # Everything that can overlap does: 2 busy cores are the limit, not any one step.
        runs["local"] = launch(tmp_path / "local", driver_env(), "--workers", "1")
        with two_node_cluster() as (address, env, wait_for_the_node):
            on_cluster = ("--executor", "ray", "--ray-address", address)
            without_token = {k: v for k, v in env.items() if not k.startswith("RAY_AUTH")}
            runs["refused"] = launch(tmp_path / "refused", without_token, *on_cluster)
            runs["ray"] = launch(tmp_path / "ray", env, *on_cluster)  # its tasks wait for the node
            wait_for_the_node()
            done = {name: finish(runs[name]) for name in ("refused", "ray")}
        done["local"] = finish(runs["local"])
    finally:
        for run in runs.values():
            if run.poll() is None:
                run.kill()
                run.wait()

    assert done["local"].returncode == 0, done["local"].stderr
    assert done["ray"].returncode == 0, done["ray"].stderr
    local_jobs, ray_jobs = job_files(tmp_path / "local"), job_files(tmp_path / "ray")
    assert ray_jobs == local_jobs and len(local_jobs) == 2
    # Ray's own retries log to stderr first; the sandbox's error is its one last line.
    refused = done["refused"]
    error = refused.stderr.strip().splitlines()[-1]
    assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr
    assert error.startswith("python -m sandbox.compare: error: Ray refused the connection"), error
    assert "RAY_AUTH_MODE=token" in error, error


def launch(out: Path, env: dict[str, str], *args: str) -> subprocess.Popen:
    """``python -m sandbox.compare`` on the small sweep of tests/test_executors.py."""
    return subprocess.Popen(
        [sys.executable, "-m", "sandbox.compare", *SMALL, *args, "--out", str(out)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(run: subprocess.Popen) -> subprocess.CompletedProcess:
    stdout, stderr = run.communicate(timeout=RUN_S)
    return subprocess.CompletedProcess(run.args, run.returncode, stdout, stderr)


def job_files(run: Path) -> dict[str, dict]:
    """Each job file without its wall times, the one thing the executor may change."""
    return {
        path.name: job_files_strip(json.loads(path.read_text()))
        for path in sorted((run / "jobs").glob("*.json"))
    }


def driver_env() -> dict[str, str]:
    """This environment without any Ray setting (an address, a token) of the user's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


@contextmanager
def two_node_cluster() -> Iterator[tuple[str, dict[str, str], Callable[[], None]]]:
    """A head offering no CPUs, so that every task runs on the node that joins it. Yields
    the head's address, the environment every node and driver shares (token
    authentication with one token, which nothing writes to ~/.ray) and a wait for the
    second node, which starts meanwhile."""
    env = driver_env() | {
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": secrets.token_hex(32),
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "0",  # stop at once, no draining
    }
    # Short paths: Ray's sockets live under the temp dir, within the 107-byte limit.
    with tempfile.TemporaryDirectory(prefix="ray-") as folder:
        temp = Path(folder)
        port = free_port()
        address = f"127.0.0.1:{port}"
        nodes: list[subprocess.Popen] = []
        try:
            head = ["--head", "--port", str(port), "--num-cpus", "0", "--include-dashboard=false"]
            head += ["--ray-client-server-port", str(free_port())]  # not 10001: another's
            nodes.append(start_node(head, env, temp / "head"))
            wait_listening(nodes[0], port)  # the head's GCS, which the node needs, starts first
            nodes.append(start_node(["--address", address, "--num-cpus", "1"], env, temp / "node"))
            wait_started(nodes[0], temp / "head")
            yield address, env, lambda: wait_started(nodes[1], temp / "node")
        finally:
            left = stop_nodes(nodes)
        assert not left, f"Ray processes {left} outlived their nodes"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_node(args: list[str], env: dict[str, str], temp: Path) -> subprocess.Popen:
    temp.mkdir()
    with (temp / "start.log").open("w") as log:
        return subprocess.Popen(
            [str(RAY_CLI), "start", "--block", "--node-ip-address", "127.0.0.1"]
            + ["--temp-dir", str(temp), "--dashboard-agent-listen-port", str(free_port())]
            + ["--disable-usage-stats", "--include-log-monitor=false", *args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a session of its own, which its Ray processes join
        )


def wait_listening(node: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline and node.poll() is None:
        with suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.25)


def wait_started(node: subprocess.Popen, temp: Path) -> None:
    log = temp / "start.log"
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline and node.poll() is None:
        if "Ray runtime started" in log.read_text():
            return
        time.sleep(0.25)
    tail = "\n".join(log.read_text().splitlines()[-15:])
    pytest.fail(f"ray start {' '.join(map(str, node.args[2:]))} did not start:\n{tail}")


def stop_nodes(nodes: list[subprocess.Popen]) -> list[int]:
    """Stop the joined node, then the head, and kill what remains of their sessions (Ray's
    workers leave the node's process group, not its session); what still runs after."""
    sessions = {node.pid for node in nodes}
    for node in reversed(nodes):
        if node.poll() is None:
            node.terminate()  # ray start --block then stops its node's processes
    for node in reversed(nodes):
        with suppress(subprocess.TimeoutExpired):
            node.wait(timeout=STOP_S)
    deadline = time.monotonic() + 10
    while (left := processes_in(sessions)) and time.monotonic() < deadline:
        for pid in left:
            with suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)
    for node in nodes:
        node.wait()
    return processes_in(sessions)


def processes_in(sessions: set[int]) -> list[int]:
    listed = subprocess.run(["ps", "-A", "-o", "pid="], capture_output=True, text=True).stdout
    found = []
    for pid in map(int, listed.split()):
        with suppress(OSError):  # gone since ps listed it
            if os.getsid(pid) in sessions:
                found.append(pid)
    return found
