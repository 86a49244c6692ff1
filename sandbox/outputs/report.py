"""A report per run: ``report.md`` and a self-contained ``report.html`` beside the
results, from the run's saved files alone. What was run (command, agents, seeds,
budgets, versions, machine), every table, every plot and animation, and one paragraph
per finding, each sentence generated from the numbers (no hand-written claims).

``python -m sandbox.run_report RUN`` writes them again for a past run.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sandbox.outputs.reference import demo_note
from sandbox.outputs.run_data import RunData, best_learner_line, trials_label
from sandbox.outputs.stats import INTERVAL_NOTE, censored_median, format_count
from sandbox.outputs.tables import markdown_table, run_tables
from sandbox.studies import get_study


@dataclass
class Section:
    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[tuple[str, str]] = field(default_factory=list)  #: (caption, text table)
    images: list[Path] = field(default_factory=list)


def _median(values: list[Any]) -> float | None:
    return censored_median(values)


def _rate(values: list[float]) -> str:
    known = [v for v in values if v is not None]
    return f"{100 * float(np.median(known)):.0f} %" if known else "n/a"


def _text_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """A table in the printed layout (columns under a rule of dashes), which both writers read."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells):
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=False)).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(row) for row in rows)])


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
            fractions = [f for f in entry["relearn_fraction"] if f is not None]
            relearn = (
                f"relearn fraction {float(np.median(fractions)):.2f}"
                if fractions
                else "relearn fraction censored (one of the two never became reliable there)"
            )
            parts.append(
                f"{agent} {_rate(entry['transfer_zero_shot_success'])} zero-shot, {relearn}"
            )
        paragraphs.append(f"**Transfer to the new world** ({over}): " + "; ".join(parts) + ".")
    study = run.config.get("study")
    if study:
        paragraphs += get_study(study, run.summary_file["task"]).findings(run.summary_file)
    return paragraphs


def sections(run: RunData) -> list[Section]:
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
        + f"; held-out set of {size['eval_episodes']} episodes, evaluated after 1 to 5 trials and "
        "at about "
        f"{size['eval_points']} log-spaced points up to the budget.",
        f"World: {config['env_kwargs']}"
        + (
            f"; new world: {config['transfer_env_kwargs']}"
            if config.get("transfer_env_kwargs")
            else ""
        )
        + ".",
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
    details = config.get("agent_details", {})
    rows = [(label, entry["kind"], entry["description"]) for label, entry in details.items()]
    agents = [("Agents", _text_table(("agent", "kind", "description"), rows))] if rows else []
    tables = run_tables(run.summary_file, config.get("study"))
    images = sorted(run.folder.glob("*.png")) + sorted((run.folder / "animations").glob("*.gif"))
    # Read first: whether these are demo budgets, and the learner every picture shows.
    brief = [line for line in (demo_note(run), best_learner_line(run)) if line]
    return ([Section("In brief", brief)] if brief else []) + [
        Section("What was run", what, agents),
        Section("Findings", findings(run)),
        Section("Tables", [INTERVAL_NOTE], tables),
        Section("Plots and animations", [], [], images),
    ]


def to_markdown(run: RunData, parts: list[Section]) -> str:
    lines = [f"# {run.summary_file['task']} run: {run.folder.name}", ""]
    for part in parts:
        lines += [f"## {part.title}", ""]
        for paragraph in part.paragraphs:
            lines += [paragraph, ""]
        for caption, text in part.tables:
            lines += ([caption, ""] if caption else []) + [markdown_table(text), ""]
        for image in part.images:
            lines += [f"![{image.stem}]({image.relative_to(run.folder).as_posix()})", ""]
    return "\n".join(lines)


def _inline(text: str) -> str:
    """Markdown's `code` and **bold** of the generated text, as HTML."""
    escaped = html.escape(text)
    parts = escaped.split("`")
    escaped = "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))
    parts = escaped.split("**")
    return "".join(f"<strong>{p}</strong>" if i % 2 else p for i, p in enumerate(parts))


def to_html(run: RunData, parts: list[Section]) -> str:
    """One file with every image embedded, so it can be mailed or archived alone."""
    body = [f"<h1>{html.escape(run.summary_file['task'])} run: {html.escape(run.folder.name)}</h1>"]
    for part in parts:
        body.append(f"<h2>{html.escape(part.title)}</h2>")
        body += [f"<p>{_inline(p)}</p>" for p in part.paragraphs]
        for caption, text in part.tables:
            lines = text.splitlines()
            starts = [
                i
                for i, ch in enumerate(lines[1])
                if ch == "-" and (i == 0 or lines[1][i - 1] == " ")
            ]

            def cells(line, starts=starts):
                return [line[a:b].strip() for a, b in zip(starts, starts[1:] + [None], strict=True)]

            rows = "".join(
                "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells(line)) + "</tr>"
                for line in lines[2:]
            )
            head = "".join(f"<th>{html.escape(c)}</th>" for c in cells(lines[0]))
            body.append(
                (f"<p>{html.escape(caption)}</p>" if caption else "")
                + f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
            )
        for image in part.images:
            kind = "gif" if image.suffix == ".gif" else "png"
            data = base64.b64encode(image.read_bytes()).decode()
            body.append(
                f'<figure><img alt="{html.escape(image.stem)}" '
                f'src="data:image/{kind};base64,{data}">'
                f"<figcaption>{html.escape(image.name)}</figcaption></figure>"
            )
    style = (
        "body{font-family:sans-serif;max-width:70em;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.2em .5em}"
        "img{max-width:100%}figure{margin:1em 0}"
    )
    return (
        "<!DOCTYPE html>\n<html><head><meta "
        f'charset="utf-8"><title>{html.escape(run.folder.name)}</title>'
        f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def write_report(folder: Path) -> list[Path]:
    """``report.md`` and ``report.html`` of the run in ``folder``."""
    run = RunData.load(folder)
    parts = sections(run)
    markdown, page = run.folder / "report.md", run.folder / "report.html"
    markdown.write_text(to_markdown(run, parts))
    page.write_text(to_html(run, parts))
    return [markdown, page]
