"""Animated held-out episodes of a run, drawn from its saved files only: each job keeps
the traces of the first held-out episodes of its last evaluation (the final policy),
the same situations for every agent, so any past run can be re-animated.

``write_animations(run)`` writes into ``<run>/animations/``, per agent, GIFs of its first
held-out episodes, and per run one GIF of the planner beside the best learner on the
same situation; ``python -m sandbox.watch`` writes (or shows) more of one agent's.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import animation
from PIL import Image

from sandbox.outputs.run_data import RunData, agent_job, best_rival, world_name
from sandbox.tasks import EpisodeDrawing, Task, get_task

#: at most this many frames (a longer episode skips time steps): at 8 frames a second an
#: episode plays in up to 4 s, then its last frame stays HOLD_MS
MAX_FRAMES = 32
FPS = 8
HOLD_MS = 1500
DPI = 80
#: colours of a GIF's one palette, made from a few of its frames: one shared palette maps
#: a frame in 2 ms where Pillow's own (a median cut per frame) takes 13 ms, and it halves the file
PALETTE_COLORS = 96
PALETTE_FRAMES = 6
PANEL_INCHES = (4.2, 4.6)  #: one episode's panel, width and height


@dataclass(frozen=True)
class Episode:
    """One saved held-out episode of an agent's final policy."""

    agent: str
    seed: int
    #: its place in the held-out set: episode ``index`` is the same situation for every agent
    index: int
    transfer: bool  #: zero-shot in the transfer world (else in the training world)
    trace: dict[str, Any]
    env_kwargs: dict[str, Any]  #: the world it ran in

    @property
    def name(self) -> str:
        where = "-transfer" if self.transfer else ""
        return f"{file_safe(self.agent)}-seed{self.seed}{where}-episode{self.index}"


def file_safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._@=+-]", "_", text)


def saved_episodes(run: RunData, agent: str) -> Iterator[Episode]:
    """The agent's saved held-out episodes, seed by seed: in its training world, then
    zero-shot in the transfer world when the run had one."""
    home_kwargs = run.config.get("env_kwargs", {})
    for job in sorted((j for j in run.train_jobs if j["agent"] == agent), key=lambda j: j["seed"]):
        kwargs = job.get("env_kwargs") or home_kwargs
        for i, trace in enumerate(job.get("traces", {}).get("evaluation") or []):
            yield Episode(agent, job["seed"], i, False, trace, kwargs)
        transfer = job.get("transfer") or {}
        for i, trace in enumerate(transfer.get("zero_shot_traces") or []):
            yield Episode(agent, job["seed"], i, True, trace, transfer.get("env_kwargs") or {})


def check_agents(run: RunData, agents: list[str] | None) -> list[str]:
    """``agents`` (None: every agent of the run); ValueError naming the valid ones for an unknown
    one."""
    valid = list(run.summary)
    for agent in agents or ():
        if agent not in valid:
            raise ValueError(f"no agent {agent!r} in {run.folder}; its agents: {', '.join(valid)}")
    return list(agents) if agents is not None else valid


def check_mp4() -> None:
    """ValueError unless matplotlib can write MP4 (with ffmpeg)."""
    if not animation.writers.is_available("ffmpeg"):
        raise ValueError(
            "MP4 needs ffmpeg on the PATH, and there is none; without --mp4 the animations are GIFs"
        )


def set_up(
    task: Task, episodes: list[Episode], title: str
) -> tuple[Any, list[EpisodeDrawing]] | None:
    """A figure with one panel per episode, each set up by the task; None if one has nothing to
    replay."""
    figure, axes_row = plt.subplots(
        1,
        len(episodes),
        squeeze=False,
        dpi=DPI,
        figsize=(PANEL_INCHES[0] * len(episodes), PANEL_INCHES[1]),
    )
    drawings = []
    for axes, episode in zip(axes_row[0], episodes, strict=True):
        label = episode.agent if episode.seed == 0 else f"{episode.agent} (seed {episode.seed})"
        drawing = task.animate_episode(axes, episode.trace, episode.env_kwargs, label)
        if drawing is None:
            plt.close(figure)
            return None
        drawings.append(drawing)
    captions = "; ".join(dict.fromkeys(d.caption for d in drawings if d.caption))
    figure.suptitle(title, fontsize=9)
    figure.text(
        0.5, 0.01, textwrap.fill(captions, 58 * len(episodes)), ha="center", va="bottom", fontsize=7
    )
    figure.subplots_adjust(left=0.02, right=0.98, top=0.86, bottom=0.13, wspace=0.05)
    return figure, drawings


def frame_steps(drawings: list[EpisodeDrawing], max_frames: int = MAX_FRAMES) -> list[int]:
    """The time steps shown, evenly spread up to the longest episode's last (shorter ones hold
    theirs)."""
    steps = max(d.steps for d in drawings)
    return np.unique(np.linspace(0, steps - 1, min(steps, max_frames)).round().astype(int)).tolist()


def draw_step(drawings: list[EpisodeDrawing], step: int) -> None:
    for drawing in drawings:
        drawing.draw(min(step, drawing.steps - 1))


def save(
    task: Task, episodes: list[Episode], title: str, path: Path, mp4: bool = False
) -> Path | None:
    """The episodes side by side, animated into ``path`` (a GIF, or an MP4 with ffmpeg; the
    suffix follows); None if an episode has nothing to replay (an old run's trace)."""
    if mp4:
        check_mp4()
    scene = set_up(task, episodes, title)
    if scene is None:
        return None
    figure, drawings = scene
    path = path.with_suffix(".mp4" if mp4 else ".gif")
    try:
        (write_mp4 if mp4 else write_gif)(figure, drawings, path)
    finally:
        plt.close(figure)
    return path


def write_gif(figure, drawings: list[EpisodeDrawing], path: Path) -> None:
    """Each frame draws the moving artists over one still rendering of the rest; Pillow
    writes the frames in one palette and holds the last."""
    moving = sorted(
        (artist for d in drawings for artist in d.moving), key=lambda artist: artist.get_zorder()
    )
    for artist in moving:
        artist.set_animated(True)  # left out of the still picture
    canvas = figure.canvas
    canvas.draw()
    still = canvas.copy_from_bbox(figure.bbox)
    frames = []
    for step in frame_steps(drawings):
        draw_step(drawings, step)
        canvas.restore_region(still)
        for artist in moving:
            figure.draw_artist(artist)
        frames.append(Image.fromarray(np.array(canvas.buffer_rgba())[..., :3]))
    palette = shared_palette(frames)
    frames = [frame.quantize(palette=palette, dither=Image.Dither.NONE) for frame in frames]
    durations = [1000 // FPS] * (len(frames) - 1) + [HOLD_MS]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=durations, loop=0)


def shared_palette(frames: list[Image.Image]) -> Image.Image:
    """A palette image for all ``frames``, from a few of them side by side (the first and
    the last among them: the still picture, and every mark the episode leaves)."""
    chosen = [
        frames[round(i)] for i in np.linspace(0, len(frames) - 1, min(len(frames), PALETTE_FRAMES))
    ]
    width, height = chosen[0].size
    strip = Image.new("RGB", (width * len(chosen), height))
    for i, frame in enumerate(chosen):
        strip.paste(frame, (i * width, 0))
    return strip.quantize(colors=PALETTE_COLORS, method=Image.Quantize.FASTOCTREE)


def write_mp4(figure, drawings: list[EpisodeDrawing], path: Path) -> None:
    writer = animation.FFMpegWriter(fps=FPS)
    steps = frame_steps(drawings)
    with writer.saving(figure, str(path), DPI):
        for step in steps + steps[-1:] * (HOLD_MS * FPS // 1000):
            draw_step(drawings, step)
            writer.grab_frame()


def show(task: Task, episodes: list[Episode], title: str) -> None:
    """The episodes side by side in a window (an interactive backend must be chosen first)."""
    scene = set_up(task, episodes, title)
    if scene is None:
        return
    figure, drawings = scene
    steps = frame_steps(drawings)
    steps += steps[-1:] * (HOLD_MS * FPS // 1000)
    player = animation.FuncAnimation(
        figure,
        lambda step: draw_step(drawings, step),
        frames=steps,
        interval=1000 / FPS,
        repeat=True,
    )
    plt.show()
    del player  # kept alive until the window closes


def episode_title(run: RunData, episode: Episode) -> str:
    world = world_name(episode.env_kwargs or run.config.get("env_kwargs", {}))
    where = f"zero-shot in {world}" if episode.transfer else f"in {world}"
    return f"Held-out episode {episode.index + 1} {where}, final policy"


def write_animations(
    run: RunData, agents: list[str] | None = None, episodes: int = 2, mp4: bool = False
) -> list[Path]:
    """Per agent (None: every agent of the run), its first ``episodes`` held-out episodes in
    the training world with its final policy (its first seed, the same situations for every
    agent), and the planner beside the best learner on the first of them, into
    ``<run>/animations/``. Returns the files written: none for a task without animations,
    none of an old run's traces that hold nothing to replay."""
    task = get_task(run.summary_file["task"])
    chosen = check_agents(run, agents)
    if mp4:
        check_mp4()
    if task.animate_episode is None or not chosen:
        return []
    folder = run.folder / "animations"
    folder.mkdir(exist_ok=True)
    written: list[Path | None] = []
    for agent in chosen:
        mine = [e for e in saved_episodes(run, agent) if not e.transfer]
        mine = [e for e in mine if e.seed == mine[0].seed][:episodes]
        written += [save(task, [e], episode_title(run, e), folder / e.name, mp4) for e in mine]
    written.append(write_planner_beside_learner(run, task, folder, chosen, mp4))
    return [path for path in written if path is not None]


def write_planner_beside_learner(
    run: RunData, task: Task, folder: Path, agents: list[str], mp4: bool = False
) -> Path | None:
    """The planner beside the run's best learner (``best_rival``: the one the headline names;
    in a run without learners, the best other agent), seed 0, on one held-out situation, the
    first where their outcomes differ if any (else the first), in one animation; None unless
    both are among ``agents``."""
    seed0 = [j for j in run.train_jobs if j["seed"] == 0 and j["agent"] in agents]
    planner = next((j["agent"] for j in seed0 if run.kind(j["agent"]) == "planner"), None)
    rival = agent_job(seed0, best_rival(run))
    if planner is None or rival is None:
        return None
    home = [
        [e for e in saved_episodes(run, agent) if not e.transfer and e.seed == 0]
        for agent in (planner, rival["agent"])
    ]
    pairs = list(
        zip(*home, strict=False)
    )  # the same situations, by their place in the held-out set
    if not pairs:
        return None
    # The situation that shows the contrast, if there is one: where their outcomes differ.
    pair = next(
        (p for p in pairs if bool(p[0].trace.get("success")) != bool(p[1].trace.get("success"))),
        pairs[0],
    )
    rival_kind = "learner" if run.kind(rival["agent"]) == "learner" else "other agent"
    title = f"{episode_title(run, pair[0])}: the planner beside the best {rival_kind}"
    path = folder / f"{file_safe(planner)}-vs-{file_safe(rival['agent'])}"
    # One side-by-side per run: an earlier one beside another learner (before a resume
    # changed the ranking) would contradict the headline.
    for stale in folder.glob(f"{file_safe(planner)}-vs-*.{'mp4' if mp4 else 'gif'}"):
        if stale.stem != path.name:
            stale.unlink()
    return save(task, list(pair), title, path, mp4)
