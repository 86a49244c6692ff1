"""A report per run: ``report.md`` and a self-contained ``report.html`` beside the
results, from the run's saved files alone. What was run (command, agents, seeds,
budgets, versions, machine), every table, every plot and animation, and one paragraph
per finding, each sentence generated from the numbers (no hand-written claims).

``python -m sandbox.run_report RUN`` writes them again for a past run.
"""

from __future__ import annotations

import base64
import html
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sandbox.outputs.fixed_budget import (
    fixed_budget,
    fixed_budget_note,
    fixed_budget_table,
    write_fixed_budget,
)
from sandbox.outputs.reference import demo_note
from sandbox.outputs.results import format_cell, text_table
from sandbox.outputs.run_data import RunData, best_learner_line, trials_label
from sandbox.outputs.stats import censored_median, format_count, interval_note
from sandbox.outputs.tables import markdown_table, run_tables
from sandbox.studies import get_study


@dataclass
class Picture:
    path: Path
    caption: str  #: what it shows, in a sentence


@dataclass
class Section:
    title: str  #: "": no heading (the notes under the report's title)
    paragraphs: list[str] = field(default_factory=list)
    tables: list[tuple[str, str]] = field(default_factory=list)  #: (caption, text table)
    pictures: list[Picture] = field(default_factory=list)
    columns: int = 1  #: pictures side by side in a row (1: one a row, full width)


def _median(values: list[Any]) -> float | None:
    return censored_median(values)


def _rate(values: list[float]) -> str:
    known = [v for v in values if v is not None]
    return f"{100 * float(np.median(known)):.0f} %" if known else "n/a"


def findings(run: RunData) -> list[str]:
    """One paragraph per finding, each sentence built from the summary's numbers."""
    summary = run.summary
    paragraphs = []
    planners, learners = run.agents_of_kind("planner"), run.agents_of_kind("learner")
    seeds = max(len(entry["seeds"]) for entry in summary.values())
    over = f"medians over {seeds} seeds" if seeds > 1 else "one seed"
    trials = []
    for agent in summary:
        entry = summary[agent]
        reliable = _median(entry["trials_to_reliable"])
        if reliable is None:
            trials.append(
                f"{agent} was not reliable within its budget of {entry['budget']:,} trials (final "
                "held-out "
                f"success {_rate(entry['final_success_rate'])})"
            )
        else:
            trials.append(f"{agent} was reliable after {trials_label(reliable, entry['budget'])}")
    paragraphs.append(
        f"**Trials** ({over}; reliable: {100 * next(iter(summary.values()))['reliable_bar']:.0f} % "
        "held-out success): " + "; ".join(trials) + "."
    )
    if "total_training_deaths" in next(iter(summary.values())):
        deaths = []
        for agent in [*planners, *learners]:
            entry = summary[agent]
            text = (
                f"{agent} died {format_count(_median(entry['total_training_deaths']), None)} times "
                "in training "
                f"and {format_count(_median(entry['total_evaluation_deaths']), None)} in evaluation"
            )
            before = _median(entry["deaths_to_reliable"])
            if before is not None:
                text += f", {format_count(before, None)} of them before it was reliable"
            deaths.append(text)
        if deaths:
            paragraphs.append(f"**Deaths** ({over}): " + "; ".join(deaths) + ".")
    transfer = [agent for agent in summary if "relearn_fraction" in summary[agent]]
    if transfer:
        parts = []
        for agent in transfer:
            entry = summary[agent]
            # the table's cell: every seed counted, a censored ratio as its bound
            relearn = f"relearn fraction {format_cell(entry, 'relearn_fraction', 'fraction')}"
            parts.append(
                f"{agent} {_rate(entry['transfer_zero_shot_success'])} zero-shot, {relearn}"
            )
        paragraphs.append(f"**Transfer to the new world** ({over}): " + "; ".join(parts) + ".")
    study = run.config.get("study")
    if study:
        paragraphs += get_study(study, run.summary_file["task"]).findings(run.summary_file)
    return paragraphs


#: what each of a run's plots shows, by file name (another task's or study's plot: its name)
PLOT_CAPTIONS = {
    "success_vs_trials": "Held-out success against training trials, per agent: the median over "
    "seeds, and its confidence interval as a band",
    "deaths_vs_trials": "Deaths in training, counted up against training trials: the learners' "
    "median over seeds, each planner's count as a flat line",
    "success_both_worlds": "Held-out success against training trials at home (left) and in the "
    "new world (right): agents trained at home first against fresh ones",
    "survival": "Waiting for a first success and for reliable: the share of each agent's seeds "
    "not yet there against training trials (Kaplan-Meier, censored where they stopped)",
    "performance_profile": "Each agent's seeds by final held-out success: the share above each "
    "threshold, with its exact 95 % interval",
    "transfer": "Dropped into the new world: zero-shot success beside success at home, and "
    "the trials to become reliable there, continued against from scratch",
    "maps": "The paths the planner and the best learner walked on the first held-out episode, "
    "in the training city and in the new one",
    "trajectories": "Training launches of the planner and of the best learner, the first ones "
    "and the last",
    "flight_trajectories": "Training flights of the planner and of the best learner, the first "
    "ones and the last, with their burns: about the planet, and in the Moon's frame",
    "generalization_map": "Held-out success over the grid of situations, per agent; the "
    "training region outlined in red",
    "misspecified_physics": "Success in the training sector against the engine's hidden "
    "pointing error, physics the planner's model lacks, per number of launches allowed there",
    "sight": "Deaths per training walk and final held-out success against how far every agent "
    "sees the traffic",
    "decomposition": "Each cell's trials to reliable (left) and what each change of one factor "
    "is worth, the ratio of neighbouring cells paired by seed (right)",
    "decomposition_path": "Trials to reliable along one path from SAC to the planner, a line "
    "per seed: each drop is one factor's share of that seed's distance",
}
#: in ``<run>/animations/``: each animation's caption (written with the animations)
ANIMATIONS_INDEX = "animations.json"


def notes(run: RunData) -> list[str]:
    """One-line blocks under the report's title, before anything else: what a reader should
    know first about this run (each a paragraph of its own): whether these are demo budgets,
    and the learner every picture shows."""
    return [line for line in (demo_note(run), best_learner_line(run)) if line]


def words(key: str) -> str:
    return key.replace("_", " ")


def value_words(value: Any) -> str:
    if isinstance(value, list | tuple):
        return " to ".join(f"{v:g}" if isinstance(v, int | float) else str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k} {value_words(v)}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def world_line(config: dict[str, Any]) -> str:
    """The worlds as words: "Map: train; transfer map: new; sight 5." (the first keyword
    names the world, the transfer world's differences follow, then the other keywords)."""
    home = config.get("env_kwargs") or {}
    transfer = config.get("transfer_env_kwargs") or {}
    keys = list(home)
    parts = [f"{words(keys[0]).capitalize()}: {value_words(home[keys[0]])}"] if keys else []
    parts = parts or ["World: the env's defaults"]
    parts += [
        f"transfer {words(key)}: {value_words(value)}"
        for key, value in transfer.items()
        if home.get(key) != value
    ]
    parts += [f"{words(key)} {value_words(home[key])}" for key in keys[1:]]
    return "; ".join(parts) + "."


def settings_table(run: RunData) -> tuple[str, str]:
    """What the run's jobs were given (per agent where the agents differ) and the study's
    settings, one ``setting | value`` row each."""
    jobs = [job for job in run.config.get("jobs", []) if job.get("phase", "train") == "train"]
    rows = []
    for key, label in (
        ("budget", "training trials per seed"),
        ("eval_episodes", "held-out episodes per evaluation"),
        ("eval_points", "evaluation points (about)"),  # a run from before the shared grid
        ("transfer_budget", "training trials per seed in the new world"),
    ):
        by_agent = {job["agent"]: job[key] for job in jobs if job.get(key)}
        if len(set(by_agent.values())) == 1:
            rows.append((label, value_words(next(iter(by_agent.values())))))
        elif by_agent:
            rows.append((label, value_words(by_agent)))
    per_decade = run.config["size"].get("eval_points_per_decade")  # the grid every agent shares
    if per_decade:
        rows.append(("evaluation points per tenfold of trials", str(per_decade)))
    bar = run.config.get("reliable_bar", next(iter(run.summary.values()))["reliable_bar"])
    rows.append(("reliable", f"{100 * bar:.0f} % held-out success"))
    if run.config.get("study"):
        rows.append(("study", run.config["study"]))
    settings = run.config.get("study_settings") or {}
    rows += [(words(key), value_words(value)) for key, value in settings.items()]
    return "Settings", text_table(("setting", "value"), rows)


def what_was_run(run: RunData) -> list[str]:
    config = run.config
    provenance = config.get("provenance", {})
    size = config["size"]
    transfer = [agent for agent, entry in run.summary.items() if "transfer_budget" in entry]
    what = [
        f"Command: `{config['command']}`.",
        f"Task {run.summary_file['task']}"
        + (f", study {config['study']}" if config.get("study") else "")
        + f"; seeds: {', '.join(map(str, config['seeds']))}; training budget per agent and seed: "
        + ", ".join(f"{agent} {entry['budget']:,}" for agent, entry in run.summary.items())
        + (
            f"; {run.summary[transfer[0]]['transfer_budget']:,} in the new world"
            if transfer
            else ""
        )
        + f"; held-out set of {size['eval_episodes']} episodes, {evaluation_words(size)}.",
        world_line(config),
    ]
    if provenance:
        packages = ", ".join(
            f"{name} {version}" for name, version in provenance["packages"].items() if version
        )
        machine = provenance["machine"]
        what.append(f"Python {provenance['python']}; {packages}.")
        what.append(
            f"Commit {provenance['commit']}"
            + (" (with uncommitted changes)" if provenance["dirty"] else "")
            + f"; {machine['cpu']}, {machine['cores']} cores."
        )
    else:
        what.append("This run predates the record of versions, commit and machine.")
    for resume in config.get("resumes", []):
        recorded = resume["provenance"]
        what.append(
            f"Resumed by `{resume['command']}` at commit {recorded['commit']}"
            + (" (with uncommitted changes)" if recorded["dirty"] else "")
            + "."
        )
    if not run.summary_file.get("complete", True):
        what.append("The run was interrupted: the figures cover the jobs it finished.")
    return what


def evaluation_words(size: dict[str, Any]) -> str:
    """When the agents were evaluated, in words."""
    if "eval_points_per_decade" not in size:  # a run from before the shared grid
        return (
            f"evaluated after 1 to 5 trials and at about {size['eval_points']} log-spaced "
            "points up to the budget"
        )
    return (
        "evaluated on one grid of trial counts for every agent: after 1 to 5 trials, then at "
        f"{size['eval_points_per_decade']} log-spaced points per tenfold of trials (10, 100, "
        "1,000 and so on among them), each agent up to its budget and at its budget"
    )


def plot_pictures(run: RunData) -> list[Picture]:
    """The run's plots, the known ones in the order a reader follows, each with its caption."""
    order = list(PLOT_CAPTIONS)
    paths = sorted(
        run.folder.glob("*.png"),
        key=lambda p: (order.index(p.stem) if p.stem in order else len(order), p.name),
    )
    return [Picture(p, PLOT_CAPTIONS.get(p.stem, words(p.stem).capitalize())) for p in paths]


def animation_pictures(run: RunData) -> tuple[list[Picture], list[Picture]]:
    """The planner beside the best learner, and every other animation (GIFs), each captioned
    with what it shows from the captions recorded with the animations (an older run's
    animations, recorded without: their names)."""
    folder = run.folder / "animations"
    try:
        index = json.loads((folder / ANIMATIONS_INDEX).read_text())
    except (OSError, ValueError):
        index = {}
    order = list(index)
    paths = sorted(
        folder.glob("*.gif"),
        key=lambda p: (order.index(p.stem) if p.stem in order else len(order), p.name),
    )
    beside, others = [], []
    for path in paths:
        entry = index.get(path.stem, {})
        picture = Picture(path, entry.get("caption") or words(path.stem))
        is_beside = entry["beside"] if "beside" in entry else "-vs-" in path.stem
        (beside if is_beside else others).append(picture)
    return beside, others


def mp4_note(run: RunData) -> str:
    if any((run.folder / "animations").glob("*.mp4")):
        return "Each animation is also in `animations/` as an MP4, for slides."
    return "MP4 copies of the animations are written beside them where ffmpeg is installed."


def sections(run: RunData) -> list[Section]:
    details = run.config.get("agent_details", {})
    rows = [(label, entry["kind"], entry["description"]) for label, entry in details.items()]
    agents = [("Agents", text_table(("agent", "kind", "description"), rows))] if rows else []
    tables = run_tables(run.summary_file, run.config.get("study"))
    beside, animations = animation_pictures(run)
    brief = notes(run)
    parts = [Section("In brief", brief)] if brief else []
    if beside:
        parts.append(Section("Side by side on one held-out situation", [], [], beside))
    parts += [
        Section("What was run", what_was_run(run), [settings_table(run), *agents]),
        Section("Findings", findings(run)),
        Section(
            "Tables",
            [interval_note(len(entry["seeds"]) for entry in run.summary.values())],
            tables,
        ),
        fixed_budget_section(run),
        Section("Plots", [], [], plot_pictures(run), columns=2),
    ]
    if animations or beside:
        parts.append(Section("Animations", [mp4_note(run)], [], animations, columns=3))
    return parts


def fixed_budget_section(run: RunData) -> Section:
    """Held-out success and deaths after fixed numbers of trials, and deaths at matched
    success (``fixed_budget.json``)."""
    data = fixed_budget(run)
    return Section("Fixed budgets", [fixed_budget_note(data)], [("", fixed_budget_table(data))])


def markdown_pictures(run: RunData, pictures: list[Picture], columns: int) -> list[str]:
    """One picture a paragraph over its caption, or a table of them ``columns`` a row."""

    def picture_and_caption(picture: Picture, rule: str) -> str:
        path = picture.path.relative_to(run.folder).as_posix()
        return f"![{picture.caption}]({path}){rule}*{picture.caption}*"

    if columns == 1 or len(pictures) < 2:
        return [line for p in pictures for line in (picture_and_caption(p, "\n\n"), "")]
    width = min(columns, len(pictures))
    lines = ["|" + " |" * width, "|" + "---|" * width]
    for start in range(0, len(pictures), width):
        row = [
            picture_and_caption(p, "<br>").replace("|", "\\|")
            for p in pictures[start : start + width]
        ]
        lines.append("| " + " | ".join(row + [""] * (width - len(row))) + " |")
    return [*lines, ""]


def to_markdown(run: RunData, parts: list[Section]) -> str:
    lines = [f"# {run.summary_file['task']} run: {run.folder.name}", ""]
    for part in parts:
        lines += [f"## {part.title}", ""] if part.title else []
        for paragraph in part.paragraphs:
            lines += [paragraph, ""]
        for caption, text in part.tables:
            lines += ([caption, ""] if caption else []) + [markdown_table(text), ""]
        lines += markdown_pictures(run, part.pictures, part.columns)
    return "\n".join(lines)


def _inline(text: str) -> str:
    """Markdown's `code` and **bold** of the generated text, as HTML."""
    escaped = html.escape(text)
    parts = escaped.split("`")
    escaped = "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))
    parts = escaped.split("**")
    return "".join(f"<strong>{p}</strong>" if i % 2 else p for i, p in enumerate(parts))


def html_table(caption: str, text: str) -> str:
    lines = text.splitlines()
    starts = [
        i for i, ch in enumerate(lines[1]) if ch == "-" and (i == 0 or lines[1][i - 1] == " ")
    ]

    def cells(line):
        return [line[a:b].strip() for a, b in zip(starts, starts[1:] + [None], strict=True)]

    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells(line)) + "</tr>"
        for line in lines[2:]
    )
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cells(lines[0]))
    return (f"<p>{html.escape(caption)}</p>" if caption else "") + (
        f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    )


def html_pictures(pictures: list[Picture], columns: int) -> str:
    """Figures with their captions, embedded; ``columns`` > 1: a grid of that many a row."""
    figures = []
    for picture in pictures:
        kind = "gif" if picture.path.suffix == ".gif" else "png"
        data = base64.b64encode(picture.path.read_bytes()).decode()
        caption = html.escape(picture.caption)
        figures.append(
            f'<figure><img alt="{caption}" src="data:image/{kind};base64,{data}">'
            f"<figcaption>{caption}</figcaption></figure>"
        )
    if columns == 1:
        return "\n".join(figures)
    return f'<div class="grid{columns}">' + "\n".join(figures) + "</div>"


def to_html(run: RunData, parts: list[Section]) -> str:
    """One file with every image embedded, so it can be mailed or archived alone."""
    body = [f"<h1>{html.escape(run.summary_file['task'])} run: {html.escape(run.folder.name)}</h1>"]
    for part in parts:
        if part.title:
            body.append(f"<h2>{html.escape(part.title)}</h2>")
        body += [f"<p>{_inline(p)}</p>" for p in part.paragraphs]
        body += [html_table(caption, text) for caption, text in part.tables]
        if part.pictures:
            body.append(html_pictures(part.pictures, part.columns))
    style = (
        "body{font-family:sans-serif;max-width:80em;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.2em .5em}"
        "img{max-width:100%}figure{margin:1em 0}figcaption{font-size:.9em;color:#333}"
        ".grid2,.grid3{display:grid;gap:1em;align-items:start}"
        ".grid2{grid-template-columns:repeat(auto-fill,minmax(30em,1fr))}"
        ".grid3{grid-template-columns:repeat(auto-fill,minmax(20em,1fr))}"
        ".grid2 figure,.grid3 figure{margin:0}"
    )
    return (
        "<!DOCTYPE html>\n<html><head><meta "
        f'charset="utf-8"><title>{html.escape(run.folder.name)}</title>'
        f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def write_report(folder: Path) -> list[Path]:
    """``report.md`` and ``report.html`` of the run in ``folder``, and the fixed-budget
    figures they show (``fixed_budget.json`` and ``.csv``)."""
    run = RunData.load(folder)
    written = write_fixed_budget(run)
    parts = sections(run)
    markdown, page = run.folder / "report.md", run.folder / "report.html"
    markdown.write_text(to_markdown(run, parts))
    page.write_text(to_html(run, parts))
    return [markdown, page, *written]
