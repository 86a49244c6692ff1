"""The README and the results pages quote the committed reference results verbatim.

Each reference run's tables (``python -m sandbox.report <folder>``) are on its own page under
``docs/results/``; the headline findings, in the README and on ``docs/results/index.md``,
quote the cells of those tables, and every figure in them is checked against its cell.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from sandbox.outputs.stats import format_p
from sandbox.outputs.tables import markdown_table, report

ROOT = Path(__file__).resolve().parents[1]
PAGES = {  # reference run -> the page that quotes its tables
    "results/rocket/reference": "docs/results/rocket.md",
    "results/city/reference": "docs/results/city.md",
    "results/rocket/generalization-reference": "docs/results/generalization.md",
    "results/city/sight-reference": "docs/results/sight.md",
    "results/rocket/decomposition-reference": "docs/results/decomposition.md",
}
REFERENCES = list(PAGES)
FAMILY_RUNS = [
    "results/rocket/reference",
    "results/rocket/generalization-reference",
    "results/city/reference",
]
FAMILIES_PAGE = "docs/results/families.md"
FINDINGS_PAGES = ["README.md", "docs/results/index.md"]
FINDINGS_START = "What the three claims came to, in short:"
INTERVAL = re.compile(r"(?:> )?[\d,.]+(?: %)? \[[^\]]+\](?: \(\d+ censored\))?")


def text(path: str) -> str:
    return (ROOT / path).read_text()


def cells(reference: str) -> dict[tuple[str, str], str]:
    """{(first cell of the row, column title): cell} over every table of a reference's report.
    In the generalization study's tables of one row per agent and k (trials of its own in
    each changed world), a row is named "agent at k=K", and a blank cell is the same as on
    the agent's first row; in the decomposition's table of pairs, "from -> to". A title two
    tables share keeps the first table's cell; a later table's that differs is under
    "title (table N)", N counted from 1."""
    found: dict[tuple[str, str], str] = {}
    for number, table in enumerate(report(ROOT / reference).split("\n\n"), start=1):
        header, _, *rows = table.splitlines()
        titles = [c.strip() for c in header.strip("|").split("|")]
        per_k = len(titles) > 1 and titles[1].endswith("per changed world")
        pairs = titles[1:3] == ["from", "to"]
        first: dict[str, list[str]] = {}
        for row in rows:
            values = [c.strip() for c in row.strip("|").split("|")]
            name = f"{values[1]} -> {values[2]}" if pairs else values[0]
            if per_k:
                values = [
                    v or f for v, f in zip(values, first.setdefault(name, values), strict=True)
                ]
                name = f"{name} at k={values[1]}"
            for title, value in zip(titles, values, strict=True):
                if found.setdefault((name, title), value) != value:
                    found[name, f"{title} (table {number})"] = value
    return found


def median(cell: str) -> str:
    return cell.split(" [")[0]


def reliable_seeds(cell: str, seeds: int) -> int:
    """How many of ``seeds`` a "trials to reliable" cell says got there."""
    if censored := re.search(r"\((\d+) censored\)", cell):
        return seeds - int(censored.group(1))
    return 0 if cell.startswith(">") else seeds  # all censored, or none


def seeds_of(count: int, seeds: int) -> str:
    """ "one seed of five", as the findings count seeds."""
    words = "no one two three four five six seven eight nine ten".split()
    return f"{words[count]} seed{'' if count == 1 else 's'} of {words[seeds]}"


def findings(page: str) -> str:
    """The findings' bullets of a page, as one line of words."""
    after = text(page).split(FINDINGS_START, 1)[1]
    bullets = re.match(r"\s*((?:- .*\n(?:  .*\n)*)+)", after).group(1)
    return " ".join(bullets.split())


@pytest.mark.parametrize("reference", REFERENCES)
def test_reference_tables_are_quoted_on_their_page(reference):
    run = ROOT / reference
    if not (run / "summary.json").exists():
        pytest.skip(f"{reference} is not committed")
    page = text(PAGES[reference])
    for table in report(run).split("\n\n"):
        assert table in page, (
            f"{PAGES[reference]} does not quote this table of {reference}:\n{table}"
        )
    for plot in sorted(run.glob("*.png")):
        assert plot.stat().st_size < 400_000


@pytest.mark.parametrize("reference", REFERENCES)
def test_committed_summary_is_what_the_job_files_give(reference):
    """Re-summarised from its job files by the code as it stands, a reference gives its summary."""
    from sandbox.outputs.results import load_jobs, summarise
    from sandbox.studies import get_study
    from sandbox.tasks import get_task

    run = ROOT / reference
    committed = json.loads((run / "summary.json").read_text())
    config = json.loads((run / "config.json").read_text())
    task = get_task(committed["task"])
    jobs = load_jobs(run)
    again = {
        "task": task.name,
        "complete": committed["complete"],
        "agents": summarise(jobs, config["agents"], task.summary_keys),
    }
    if config.get("study"):
        settings = config.get("study_settings") or config.get("grid")
        again.update(
            get_study(config["study"], task.name).summarise(jobs, config["agents"], settings)
        )
    assert json.loads(json.dumps(again)) == committed


@pytest.mark.parametrize("reference", ["results/rocket/reference", "results/city/reference"])
def test_the_fixed_budget_tables_are_quoted_on_their_page(reference):
    """The results pages show each reference's fixed-budget table as its
    ``fixed_budget.json`` gives it."""
    from sandbox.outputs.fixed_budget import fixed_budget_table

    data = json.loads(text(f"{reference}/fixed_budget.json"))
    table = markdown_table(fixed_budget_table(data))
    assert table in text(PAGES[reference]), (
        f"{PAGES[reference]} does not quote the fixed-budget table of {reference}:\n{table}"
    )
    assert (ROOT / reference / "fixed_budget.csv").is_file()


@pytest.mark.parametrize("reference", REFERENCES)
def test_committed_fixed_budget_is_what_the_job_files_give(reference):
    """Read again from its job files by the code as it stands, a reference gives its
    ``fixed_budget.json``."""
    from sandbox.outputs.fixed_budget import fixed_budget
    from sandbox.outputs.run_data import RunData

    committed = json.loads(text(f"{reference}/fixed_budget.json"))
    assert json.loads(json.dumps(fixed_budget(RunData.load(ROOT / reference)))) == committed


def test_families_table_comes_from_the_references():
    """The table that places the learned models between the learners and the planners,
    as ``python -m sandbox.families`` prints it from the committed references."""
    from sandbox.outputs.families import families, families_table

    page = text(FAMILIES_PAGE)
    table = markdown_table(families_table(families([ROOT / r for r in FAMILY_RUNS])))
    assert table in page, f"{FAMILIES_PAGE} does not quote the families table:\n{table}"
    assert f"python -m sandbox.families {' '.join(FAMILY_RUNS)} --out results/families.png" in page
    assert (ROOT / "results" / "families.png").stat().st_size < 400_000


def test_the_readme_and_the_results_pages_give_the_same_findings():
    readme, results = (findings(page) for page in FINDINGS_PAGES)
    assert readme == results, "README.md and docs/results/index.md give different findings"


@pytest.mark.parametrize("page", FINDINGS_PAGES)
def test_every_interval_in_the_findings_is_a_cell_of_the_references(page):
    from sandbox.outputs.families import families, families_table

    quoted = set()
    for reference in REFERENCES:
        for cell in cells(reference).values():  # a whole cell, or a figure of one
            quoted |= {cell, *INTERVAL.findall(cell)}
    families_text = markdown_table(families_table(families([ROOT / r for r in FAMILY_RUNS])))
    quoted |= set(INTERVAL.findall(families_text))
    figures = INTERVAL.findall(findings(page))
    assert figures, f"no figures found in the findings of {page}"
    for figure in figures:
        assert figure in quoted, f"{page} gives {figure}, which no reference table holds"


@pytest.mark.parametrize("page", FINDINGS_PAGES)
def test_the_findings_say_what_the_reference_tables_hold(page):
    said = findings(page)
    rocket = cells("results/rocket/reference")
    city = cells("results/city/reference")
    sight = cells("results/city/sight-reference")
    grid = cells("results/rocket/generalization-reference")
    learners = ("ppo", "sac", "td3")

    def says(phrase: str) -> None:
        assert phrase in said, f"{page}'s findings do not say {phrase!r}"

    # Trials: the rocket reference.
    assert {rocket[agent, "seeds"] for agent in ("planner", "learned-model", *learners)} == {"10"}
    planner = median(rocket["planner", "trials to reliable"])
    says(f"The rocket planner was reliable after {planner} launch;")
    says(f"given no physics, after {rocket['learned-model', 'trials to reliable']};")
    says(f"SAC, after {rocket['sac', 'trials to reliable']};")
    assert rocket["td3", "trials to reliable"] == rocket["ppo", "trials to reliable"]
    says(f"TD3 and PPO not within {rocket['ppo', 'trials to reliable'].removeprefix('> ')}")

    # Trials, one factor at a time: the decomposition study.
    cell = cells("results/rocket/decomposition-reference")

    def ratio(pair: str) -> str:  # the pair's median and interval, without the seeds' count
        return cell[pair, "trials to reliable, from / to"].split(" (")[0]

    def seeds_reliable(name: str) -> int:
        return reliable_seeds(cell[name, "trials to reliable"], int(cell[name, "seeds"]))

    assert {cell[name, "seeds"] for name in ("sac", "sac-rel", "learned-model")} == {"10"}
    assert seeds_reliable("sac-rel") == 10
    says(f"SAC was reliable on every seed, after {cell['sac-rel', 'trials to reliable']} launches")
    says(f"(in absolute angles on {seeds_of(seeds_reliable('sac'), 10)})")
    utd, learned = (
        cell["sac-utd-rel", "trials to reliable"],
        cell["learned-model", "trials to reliable"],
    )
    times = round(float(median(utd).replace(",", "")) / float(median(learned).replace(",", "")))
    says(f"five gradient steps a launch after {utd}, about {times} times")
    says(f"the learned model's {learned} there")
    says(f"(SAC's over its: {ratio('sac-utd-rel -> bandit-rel')})")
    says(f"was reliable on {seeds_of(seeds_reliable('learned-model-reward'), 10)}.")
    says(f"the law ({ratio('learned-model -> planner')} times fewer)")
    share = {
        step: cell["median", step].split(" (")[0] for step in ("frame", "compute", "physics model")
    }
    says(f"reliable there ({share['frame']} and {share['compute']};")
    says(f"the law, from the learned model on, {share['physics model']})")
    assert cell["median", "frame"].endswith("(4)"), "the shares are read on four seeds"

    # Deaths: the city reference and the sight study.
    never = "0 [0 to 0]"
    for agent in ("traffic-planner", "learned-model"):
        for column in (
            "training deaths",
            "evaluation deaths",
            "deaths there (training + evaluation)",
        ):
            assert city[agent, column] == never, (agent, column)
        for sight_radius in ("sight2", "sight3", "sight5", "sight8", "full"):
            for column in ("training deaths", "evaluation deaths"):
                assert sight[f"{agent}@{sight_radius}", column] == never
    says("the traffic planner never died, and neither did the model learned from watching traffic")
    says("(nor at sight 2, 3, 8 or the whole map, in the sight study)")
    seeds = int(city["dqn", "seeds"])
    says(f"(medians over {seeds} seeds;")
    says(f"DQN, died {city['dqn', 'deaths to reliable']} times before it was reliable")
    walks = json.loads(text("results/city/reference/config.json"))["jobs"][0]["transfer_budget"]
    says(
        f"{city['dqn', 'deaths there (training + evaluation)']} more times (training and "
        f"evaluation) in up to {walks:,} walks in the new one"
    )
    continued = reliable_seeds(city["dqn", "continued: trials to reliable"], seeds)
    says(f"reliable there on {seeds_of(continued, seeds)}")
    confirmed = sum(  # the streaks on validation that the test situations confirmed
        bool(json.loads(path.read_text())["transfer"]["reliable_held_on_test"])
        for path in (ROOT / "results/city/reference/jobs").glob("train-dqn-seed*.json")
    )
    says(f"(on validation; the test situations confirmed {seeds_of(confirmed, seeds).split()[0]})")

    # Local against extreme generalization: the generalization map, after k launches of
    # each agent's own in each changed world, and the misspecified engine.
    ks = ("0", "1", "5", "32")
    assert {grid[f"{agent} at k=0", "seeds"] for agent in (*learners, "learned-model")} == {"10"}
    for agent in learners:  # no cell beyond the training region (0-60 deg, one gravity) passes
        for k in ks:
            row = f"{agent} at k={k}"
            phase, gravity = grid[row, "radius: phase (deg)"], grid[row, "radius: gravity scale"]
            assert max(float(v) for v in re.findall(r"[\d.]+", phase)) <= 30, (row, phase)
            assert max(float(v) for v in re.findall(r"[\d.]+", gravity)) <= 0.025, (row, gravity)
    says("no model-free learner's competence reached beyond its training region")
    on_grid = sorted(
        int(median(grid[f"{agent} at k={k}", "success on grid"]).removesuffix(" %"))
        for agent in learners
        for k in ks
    )
    says(f"each hit {on_grid[0]}-{on_grid[-1]} % (medians over 10 seeds) of the whole grid")
    says("zero-shot or after 1, 5 or 32 launches of its own in each changed world")
    says(f"hit {grid['planner at k=0', 'success on grid']} of the grid")
    says(f"after one launch in each changed world {grid['planner at k=1', 'success on grid']}")
    assert grid["learned-model at k=0", "radius: phase (deg)"] == "unbounded"
    says("The learned model passed at every Moon phase")
    says(f"{grid['learned-model at k=1', 'success on grid']} of the grid after 1 launch")
    says(f"{grid['learned-model at k=32', 'success on grid']} after 32")
    for k in ks:
        for error in ("5", "10"):
            assert grid[f"planner at k={k}", f"success at {error} deg"] == "0 % [0 to 0]"
    says("(an engine firing 5 or 10 deg off prograde, which its model lacks) its median")
    says("success was 0 % [0 to 0] however many launches it had")
    says(f"hit {grid['learned-model at k=32', 'success at 10 deg']} with the engine 10 deg off")

    # Where learners did better than the essay expects, and where not: the city's transfer.
    says(f"(DQN was reliable in the training city after {city['dqn', 'trials to reliable']} walks)")
    says(f"what it learned: {city['dqn', 'zero-shot success']} success at once")
    says(f"50 % success there after {city['dqn', 'relearn fraction to 50 %']} of the walks")


def test_the_readme_shows_what_the_default_rocket_run_prints():
    """The quoted output has the columns and agents the default run prints, and the sentence
    beside it gives the default run's seeds and budgets."""
    from sandbox.tasks import get_task

    rocket = get_task("rocket")
    size = rocket.default
    section = text("README.md").split("## What the first command prints", 1)[1]
    printed = re.search(r"```text\n(.*?)```", section, re.S).group(1).splitlines()

    def split(line: str) -> list[str]:
        return re.split(r"\s{2,}", line.strip())

    assert split(printed[0]) == ["agent", "seeds"] + [title for title, _, _ in rocket.columns]
    rows = [split(line) for line in printed[2:]]
    assert [row[0] for row in rows] == list(rocket.agents)
    assert {row[1] for row in rows} == {str(size.seeds)}
    budgets = size.agent_budgets
    said = " ".join(section.split("\n## ", 1)[0].split())
    assert (
        f"{size.seeds} seed{'s' if size.seeds != 1 else ''} and {size.budget:,} training "
        f"launches per agent and seed (SAC "
        f"{budgets['sac']:,}, TD3 {budgets['td3']:,}, random search {budgets['random']:,}, "
        f"the learned model {budgets['learned-model']:,}, the bandit {budgets['bandit']:,}, "
        f"the planner {budgets['planner']:,})" in said
    )


def test_the_readme_quotes_a_run_at_the_default_budgets():
    """Every censored figure in the quoted output is at the agent's default budget."""
    from sandbox.tasks import get_task

    size = get_task("rocket").default
    section = text("README.md").split("## What the first command prints", 1)[1]
    printed = re.search(r"```text\n(.*?)```", section, re.S).group(1).splitlines()
    for row in (re.split(r"\s{2,}", line.strip()) for line in printed[2:]):
        if row[3].startswith(">"):  # censored at the agent's own budget
            assert row[3] == f"> {size.agent_budgets.get(row[0], size.budget):,}", row


@pytest.mark.parametrize(
    ("page", "reference", "learner", "modellers"),
    [
        ("docs/results/rocket.md", "results/rocket/reference", "sac", ("planner", "learned-model")),
        (
            "docs/results/city.md",
            "results/city/reference",
            "dqn",
            ("traffic-planner", "learned-model"),
        ),
    ],
)
def test_the_log_rank_figures_are_the_references(page, reference, learner, modellers):
    """The results pages' log-rank p-values of the modellers against the best learner are
    those the reference's survival.json holds, and its survival plot is shown."""
    tests = json.loads(text(f"{reference}/survival.json"))["log_rank"]["trials_to_reliable"]
    p = {frozenset((t["first"], t["second"])): t["p_value"] for t in tests}
    expected = " and ".join(format_p(p[frozenset((m, learner))]) for m in modellers)
    assert f"log-rank p {expected} over" in " ".join(text(page).split())
    assert f"{reference}/survival.png" in text(page)
