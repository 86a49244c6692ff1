"""What produced a run: package versions, the commit, the machine, and the data files
its worlds were read from (by content hash), recorded in ``config.json``."""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from sandbox.tasks import Task

PACKAGES = ("numpy", "scipy", "torch", "gymnasium", "stable-baselines3", "pymunk", "matplotlib")
SOURCE = Path(__file__).resolve().parents[2]  #: the checkout the sandbox runs from


def provenance(task: Task, worlds: list[dict[str, Any] | None]) -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "packages": {name: _version(name) for name in PACKAGES},
        **git_state(),
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "platform": platform.platform()},
        "data_files": {
            _shown(path): file_hash(path)
            for kwargs in worlds
            if kwargs is not None
            for path in task.data_files(kwargs)
        },
    }


def _shown(path: Path) -> str:
    """The path relative to the checkout when it lies inside it."""
    resolved = Path(path).resolve()
    return str(resolved.relative_to(SOURCE)) if resolved.is_relative_to(SOURCE) else str(resolved)


def _version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def git_state() -> dict[str, Any]:
    """The commit of the sandbox's checkout and whether its tracked files differ from it
    (None for both outside a git checkout)."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", *args], cwd=SOURCE, capture_output=True, text=True, timeout=20
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    changes = git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {"commit": commit, "dirty": None if changes is None else bool(changes)}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def file_hash(path: Path) -> str | None:
    """sha256 of the file's bytes (None if it cannot be read)."""
    try:
        return "sha256:" + hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None
