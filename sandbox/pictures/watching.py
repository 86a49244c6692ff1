"""More animated held-out episodes of one agent's final policy, from a run's saved files
(seed by seed, in the training world and then zero-shot in the transfer world), written
into ``RUN_FOLDER/animations/`` or shown in a window (``python -m sandbox.watch``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from sandbox.command_line import UsageError
from sandbox.outputs.run_data import RunData
from sandbox.pictures.animation import (
    Animation,
    check_agents,
    check_mp4,
    episode_title,
    record_captions,
    save,
    saved_episodes,
    show,
)
from sandbox.tasks import get_task

#: interactive matplotlib backends, tried in this order for --show
WINDOW_BACKENDS = ("macosx", "qtagg", "gtk4agg", "gtk3agg", "tkagg", "wxagg")


def has_display() -> bool:
    return sys.platform in ("darwin", "win32") or bool(
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    )


def open_window_backend() -> None:
    """Switch matplotlib from the files-only backend to the first interactive one that loads."""
    import matplotlib.pyplot as plt

    for backend in WINDOW_BACKENDS:
        try:
            plt.switch_backend(backend)
            return
        except (ImportError, RuntimeError, ValueError):
            continue
    raise UsageError(
        f"--show needs an interactive matplotlib backend ({', '.join(WINDOW_BACKENDS)}) and none "
        "loads; without --show the animations are written to files"
    )


def load_run(folder: Path) -> RunData:
    if not (folder / "config.json").is_file() or not (folder / "summary.json").is_file():
        raise UsageError(f"{folder}: not a run folder (expected its config.json and summary.json)")
    try:
        return RunData.load(folder)
    except (OSError, ValueError, KeyError) as error:  # another's files, a plug-in that is gone
        raise UsageError(f"{folder}: {type(error).__name__}: {error}") from None


def watch(folder: Path, agent: str, episodes: int, window: bool, mp4: bool) -> list[Path]:
    run = load_run(folder)
    try:
        check_agents(run, [agent])
        if mp4 and not window:
            check_mp4()
    except ValueError as error:
        raise UsageError(str(error)) from None
    if window and not has_display():
        raise UsageError(
            "--show needs a display and there is none (DISPLAY is not set); without --show the "
            "animations are written to files"
        )
    task = get_task(run.summary_file["task"])
    if task.animate_episode is None:
        raise UsageError(f"the {task.name} task draws no animations")
    if window:
        open_window_backend()
    chosen = list(saved_episodes(run, agent))[:episodes]
    if not chosen:
        raise UsageError(f"{agent} kept no held-out episodes in {folder}")
    if len(chosen) < episodes:
        print(
            f"{agent}: {len(chosen)} held-out episodes kept in {folder}, all of them animated"
            + (" (a --full run keeps seed 0's alone)" if run.config.get("full") else ""),
            file=sys.stderr,
        )
    if window:
        for episode in chosen:
            show(task, [episode], episode_title(run, episode))
        return []
    (run.folder / "animations").mkdir(exist_ok=True)
    written = [
        save(task, [e], episode_title(run, e), run.folder / "animations" / e.name, mp4)
        for e in chosen
    ]
    record_captions(  # for the report
        run,
        task,
        [
            Animation(e.name, (e,), episode_title(run, e))
            for e, path in zip(chosen, written, strict=True)
            if path is not None
        ],
    )
    return [path for path in written if path is not None]
