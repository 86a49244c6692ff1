"""Animated held-out episodes of a run, drawn from its saved files only: each job keeps
the traces of the first held-out episodes of its last evaluation (the final policy),
the same situations for every agent, so any past run can be re-animated.

``write_animations(run)`` writes into ``<run>/animations/``, per agent, GIFs of its first
held-out episodes, and per run one GIF of the planner beside the best learner on the
same situation; ``python -m sandbox.watch`` writes (or shows) more of one agent's.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib import animation
from PIL import Image

from sandbox.outputs.report import ANIMATIONS_INDEX
from sandbox.outputs.run_data import RunData, agent_job, best_rival, world_name
from sandbox.pictures.drawing import ANIMATION_TEXT_PT, wrap_to_width
from sandbox.tasks import EpisodeDrawing, Task, get_task

#: at most this many frames (a longer episode skips time steps): at 8 frames a second an
#: episode plays in up to 4 s, then its last frame stays HOLD_MS
MAX_FRAMES = 32
FPS = 8
HOLD_MS = 1500
#: one episode's panel, width and height in inches, drawn at DPI: 696 x 768 pixels, big
#: enough to project, where type of TEXT_PT is 17 pixels high (both even, as H.264 needs)
PANEL_INCHES = (5.8, 6.4)
DPI = 120
TITLE_PT = 12  #: the animation's title
#: colours of a GIF's one palette, made from a few of its frames: one shared palette maps
#: a frame in 2 ms where Pillow's own (a median cut per frame) takes 13 ms, and it halves the file
PALETTE_COLORS = 96
PALETTE_FRAMES = 6


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


def can_write_mp4() -> bool:
    """Whether matplotlib finds ffmpeg (``shutil.which`` of its ``animation.ffmpeg_path``)."""
    return animation.writers.is_available("ffmpeg")


def check_mp4() -> None:
    """ValueError unless matplotlib can write MP4 (with ffmpeg)."""
    if not can_write_mp4():
        raise ValueError(
            "MP4 needs ffmpeg on the PATH, and there is none; without --mp4 the animations are GIFs"
        )


def set_up(
    task: Task, episodes: list[Episode], title: str
) -> tuple[Any, list[EpisodeDrawing]] | None:
    """A figure with one panel per episode, each set up by the task, laid out once (every
    frame keeps that layout); None if one has nothing to replay."""
    figure, axes_row = plt.subplots(
        1,
        len(episodes),
        squeeze=False,
        dpi=DPI,
        figsize=(PANEL_INCHES[0] * len(episodes), PANEL_INCHES[1]),
        layout="constrained",
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
    figure.suptitle(wrap_to_width(title, figure, TITLE_PT), fontsize=TITLE_PT)
    figure.supxlabel(wrap_to_width(captions, figure, ANIMATION_TEXT_PT), fontsize=ANIMATION_TEXT_PT)
    figure.get_layout_engine().execute(figure)
    figure.set_layout_engine("none")
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
    written = save_as(task, episodes, title, [suffixed(path, ".mp4" if mp4 else ".gif")])
    return written[0] if written else None


def save_gif_and_mp4(task: Task, episodes: list[Episode], title: str, path: Path) -> list[Path]:
    """The episodes side by side as a GIF, and as an MP4 beside it where ffmpeg is installed
    (none elsewhere, silently); [] if an episode has nothing to replay."""
    suffixes = (".gif", ".mp4") if can_write_mp4() else (".gif",)
    paths = [suffixed(path, suffix) for suffix in suffixes]
    return save_as(task, episodes, title, paths, mp4_optional=True)


def suffixed(path: Path, suffix: str) -> Path:
    """``path`` with ``suffix`` added (an agent's name may hold a dot: no ``with_suffix``)."""
    return path.with_name(path.name + suffix)


def save_as(
    task: Task, episodes: list[Episode], title: str, paths: list[Path], mp4_optional: bool = False
) -> list[Path]:
    """The episodes' frames, rendered once, written into each of ``paths`` (GIF or MP4, by
    suffix); the files written. ``mp4_optional``: an MP4 that ffmpeg fails to write is a
    warning on stderr, not an error."""
    scene = set_up(task, episodes, title)
    if scene is None:
        return []
    figure, drawings = scene
    try:
        frames = render_frames(figure, drawings)
    finally:
        plt.close(figure)
    written = []
    for path in paths:
        try:
            (write_mp4 if path.suffix == ".mp4" else write_gif)(frames, path)
        except RuntimeError as error:
            if not (mp4_optional and path.suffix == ".mp4"):
                raise
            print(f"warning: {error}", file=sys.stderr)
            continue
        written.append(path)
    return written


def render_frames(figure, drawings: list[EpisodeDrawing]) -> list[Image.Image]:
    """Each frame draws the moving artists over one still rendering of the rest."""
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
    return frames


def write_gif(frames: list[Image.Image], path: Path) -> None:
    """Pillow writes the frames in one palette and holds the last."""
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


def write_mp4(frames: list[Image.Image], path: Path) -> None:
    """The rendered frames piped into the ffmpeg matplotlib finds (its ``animation.ffmpeg_path``
    and ``animation.codec``), holding the last HOLD_MS: 1.3 s for a side-by-side walk where
    FFMpegWriter, which draws a figure for every frame, takes 6.5 s. RuntimeError with
    ffmpeg's message if it fails."""
    width, height = frames[0].size
    command = [
        *(animation.FFMpegWriter.bin_path(), "-y", "-loglevel", "error"),
        *("-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", str(FPS)),
        *("-i", "-", "-vcodec", matplotlib.rcParams["animation.codec"], "-pix_fmt", "yuv420p"),
        *("-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", str(path)),  # H.264 needs even sides
    ]
    hold = frames[-1:] * (HOLD_MS * FPS // 1000)
    pixels = b"".join(frame.convert("RGB").tobytes() for frame in frames + hold)
    result = subprocess.run(command, input=pixels, capture_output=True, check=False)
    if result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip().splitlines()
        raise RuntimeError(f"ffmpeg could not write {path}: {message[-1] if message else '?'}")


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


def episode_words(run: RunData, task: Task, episode: Episode) -> str:
    """Which held-out episode, where, and how it ended: "held-out walk 3 in train"."""
    world = world_name(episode.env_kwargs or run.config.get("env_kwargs", {}))
    where = f"zero-shot in {world}" if episode.transfer else f"in {world}"
    return f"held-out {task.episode_noun} {episode.index + 1} {where}"


def outcome_words(task: Task, episode: Episode) -> str:
    if task.episode_outcome is not None:
        return task.episode_outcome(episode.trace)
    return "succeeded" if episode.trace.get("success") else "failed"


def agent_words(episode: Episode) -> str:
    return episode.agent if episode.seed == 0 else f"{episode.agent} (seed {episode.seed})"


def caption(run: RunData, task: Task, shown: Animation) -> str:
    """What an animation shows, from its episodes' traces: "ppo on held-out walk 3 in train:
    reached the goal at tick 41"."""
    first = shown.episodes[0]
    if len(shown.episodes) == 1:
        return f"{agent_words(first)} on {episode_words(run, task, first)}: " + outcome_words(
            task, first
        )
    each = "; ".join(f"{agent_words(e)} {outcome_words(task, e)}" for e in shown.episodes)
    side_by_side = " beside ".join(e.agent for e in shown.episodes)
    return f"{side_by_side} on {episode_words(run, task, first)}: {each}"


def record_captions(run: RunData, task: Task, shown: list[Animation]) -> None:
    """Adds the animations' captions to ``<run>/animations/animations.json`` (file name without
    suffix: caption, and whether it is the planner beside the best learner), which the
    report reads."""
    index_file = run.folder / "animations" / ANIMATIONS_INDEX
    try:
        index = json.loads(index_file.read_text())
    except (OSError, ValueError):
        index = {}
    for animation_shown in shown:
        index[animation_shown.name] = {
            "caption": caption(run, task, animation_shown),
            "beside": len(animation_shown.episodes) > 1,
        }
    index_file.write_text(json.dumps(index, indent=1) + "\n")


@dataclass(frozen=True)
class Animation:
    """One animation of a run: held-out episodes side by side, the same situation each."""

    name: str  #: its file name in ``<run>/animations/``, without the suffix
    episodes: tuple[Episode, ...]
    title: str


def planned_animations(
    run: RunData, agents: list[str] | None = None, episodes: int = 2
) -> list[Animation]:
    """The planner beside the best learner on one held-out situation first, then per agent
    (None: every agent of the run) its first ``episodes`` held-out episodes in the training
    world with its final policy (its first seed, the same situations for every agent)."""
    chosen = check_agents(run, agents)
    planned = [beside] if (beside := planner_beside_learner(run, chosen)) else []
    for agent in chosen:
        mine = [e for e in saved_episodes(run, agent) if not e.transfer]
        mine = [e for e in mine if e.seed == mine[0].seed][:episodes]
        planned += [Animation(e.name, (e,), episode_title(run, e)) for e in mine]
    return planned


def write_animations(
    run: RunData, agents: list[str] | None = None, episodes: int = 2, mp4: bool = False
) -> list[Path]:
    """The ``planned_animations`` into ``<run>/animations/``: GIFs, with an MP4 beside each
    where ffmpeg is installed (``mp4``: MP4s only, and ValueError without ffmpeg). Returns the
    files written: none for a task without animations, none of an old run's traces that hold
    nothing to replay."""
    task = get_task(run.summary_file["task"])
    chosen = check_agents(run, agents)
    if mp4:
        check_mp4()
    if task.animate_episode is None or not chosen:
        return []
    folder = run.folder / "animations"
    folder.mkdir(exist_ok=True)
    written: list[Path] = []
    shown: list[Animation] = []
    plans = planned_animations(run, chosen, episodes)
    remove_stale_side_by_sides(folder, [plan.name for plan in plans])
    for plan in plans:
        episodes_shown, path = list(plan.episodes), folder / plan.name
        if mp4:
            files = save_as(task, episodes_shown, plan.title, [suffixed(path, ".mp4")])
        else:
            files = save_gif_and_mp4(task, episodes_shown, plan.title, path)
        written += files
        shown += [plan] if files else []
    record_captions(run, task, shown)
    return written


def remove_stale_side_by_sides(folder: Path, names: list[str]) -> None:
    """One side-by-side per run: an earlier one beside another learner (before a resume
    changed the ranking) would contradict the headline."""
    beside = [name for name in names if "-vs-" in name]
    for name in beside:
        for stale in folder.glob(f"{name.split('-vs-')[0]}-vs-*"):
            if stale.stem != name and stale.suffix in (".gif", ".mp4"):
                stale.unlink()


def planner_beside_learner(run: RunData, agents: list[str]) -> Animation | None:
    """The planner beside the run's best learner (``best_rival``: the one the headline names;
    in a run without learners, the best other agent), seed 0, on one held-out situation, the
    first where their outcomes differ if any (else the first), in one animation; None unless
    both are among ``agents``."""
    seed0 = [j for j in run.pictured_jobs if j["agent"] in agents]
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
    return Animation(f"{file_safe(planner)}-vs-{file_safe(rival['agent'])}", pair, title)
