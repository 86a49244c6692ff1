"""The decomposition study: cells (an agent with settings, under a label of its own) resolve
and label their jobs, neighbouring cells' ratios keep the direction of their censoring, and a
tiny run writes its table, plot and report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agents.plugins import import_module, load_agent
from sandbox import compare
from sandbox.outputs.stats import median_interval
from sandbox.run.agent_specs import resolve_cells
from sandbox.studies import Study, get_study, register_study
from sandbox.studies.decomposition import (
    CELLS,
    DECOMPOSITION,
    PAIRS,
    WHOLE,
    Pair,
    factor_words,
    findings,
    per_launch,
    resolved,
    summarise_decomposition,
    tables,
)
from sandbox.tasks import Size, get_task, task_names
from tests.commands import in_process

PLUGIN = Path(__file__).with_name("decomposition_today.py")
TINY = Size(budget=10, seeds=1, eval_episodes=2, eval_points_per_decade=1)


def today():
    """The test plug-in's study of the cells that exist today (imported once per process)."""
    return import_module(str(PLUGIN)).TODAY


def plan(*argv: str):
    from sandbox.run.plan import plan_run

    tasks = [get_task(name) for name in task_names()]
    args = compare.build_parser(tasks).parse_args(["rocket", *argv])
    args.argv = list(argv)
    return plan_run(get_task("rocket"), tasks, args)


def test_the_study_declares_its_cells_and_neighbours_as_data():
    assert get_study("decomposition", "rocket") is DECOMPOSITION
    assert DECOMPOSITION.cells == CELLS
    for pair in (*PAIRS, WHOLE):
        assert {pair.start, pair.end} <= set(CELLS)
    # each factor's pairs change one thing: the frame pairs differ in burn_angle_input alone
    for pair in PAIRS:
        if pair.factor == "frame":
            (agent, start), (same_agent, end) = CELLS[pair.start], CELLS[pair.end]
            assert agent == same_agent
            assert {**start, "burn_angle_input": None} == {**end, "burn_angle_input": None}


#: per factor, the settings its pairs differ in once resolved (the agent's defaults with the
#: cell's settings over them)
ONE_FACTOR = {
    "frame": {"burn_angle_input"},
    "compute": {"gradient_steps", "train_freq"},
    "feedback": {"feedback"},
}


def test_frame_and_compute_pairs_differ_in_one_setting_and_feedback_names_the_rest():
    """Resolved (defaults included), sac and sac-rel differ in burn_angle_input alone, sac and
    sac-utd in gradient_steps alone, the learned model fed the reward and fed the signed miss
    in the feedback alone; the bandit and the learned model fed the reward differ in their
    families' tuned settings, every one of which the tuning's words name, and the absolute
    frame's bandit and learned model in both, which the words name too.
    Every cell's agent exists: a cell that no longer resolves fails."""
    agents = resolve_cells(get_task("rocket"), "decomposition", CELLS, None, [], None)
    settings = {agent.label: agent.settings for agent in agents}
    for pair in PAIRS:
        start, end = settings[pair.start], settings[pair.end]
        differ = {key for key in {*start, *end} if start.get(key) != end.get(key)}
        if pair.factor in ONE_FACTOR:
            assert differ and differ <= ONE_FACTOR[pair.factor], pair
        elif pair.factor == "tuning":
            assert "feedback" not in differ and "burn_angle_input" not in differ
            for key in differ:
                assert key in factor_words()["tuning"], (pair, key)


def test_the_words_name_what_else_a_pair_changes_with_numbers_from_the_settings():
    """The reward-model pairs change the whole agent, so their words name the warm-up and the
    compute, with the cells' own numbers; the tuning pairs' words name the settings only
    one side has and the families' tuned values."""
    words = factor_words()
    assert set(words) == {pair.factor for pair in PAIRS}
    sac, utd = resolved("sac"), resolved("sac-utd")
    assert words["compute"].startswith(
        f"gradient steps per launch: {per_launch(sac)} -> {per_launch(utd)} "
    )
    assert "favours SAC" in words["compute"] and "favours the frame" in words["frame"]
    assert per_launch(utd) == f"{utd['gradient_steps'] / utd['train_freq']:g}"
    reward_model = words["reward model"]
    assert f"warm-up ({utd['learning_starts']} launches -> " in reward_model
    assert f"compute per launch ({utd['gradient_steps']} gradient steps -> " in reward_model
    assert "exploration" in reward_model and "networks" in reward_model
    for setting in ("reward_target", "miss_softening_moon_radii", "distance_veto_moon_radii"):
        assert setting in words["tuning"]
    assert "results/tuning/symmetric/" in words["tuning"]
    assert words["feedback"].startswith("learned from: the reward -> the signed miss")
    summary = summarise_decomposition(
        [job("sac-utd", 0, None, 100), job("bandit", 0, 50, 100)],
        {"sac-utd": CELLS["sac-utd"], "bandit": CELLS["bandit"]},
        [Pair("reward model", "sac-utd", "bandit")],
        words,
    )
    (paragraph,) = findings(summary)
    assert paragraph.endswith(f" From the first cell to the second: {reward_model}.")


def test_cells_resolve_with_their_settings_under_their_labels():
    rocket = get_task("rocket")
    study = today()
    agents = resolve_cells(
        rocket,
        study.name,
        study.cells,
        "lm-abs,lm,sac-2",
        ["lm-abs.members=3", "sac-2.learning_rate=3e-4"],
        None,
    )
    by_label = {agent.label: agent for agent in agents}
    assert list(by_label) == ["lm-abs", "lm", "sac-2"]
    assert by_label["lm-abs"].settings["burn_angle_input"] == "absolute"
    assert by_label["lm-abs"].settings["members"] == 3  # --set over the cell over the defaults
    assert by_label["lm-abs"].settings["fit_steps"] == 20  # the cell's
    assert by_label["lm-abs"].settings["hidden"] == [64, 64]  # the agent's default
    assert by_label["lm"].settings["burn_angle_input"] == "relative"
    assert by_label["lm"].settings["members"] == 5
    assert by_label["sac-2"].settings["gradient_steps"] == 2
    assert by_label["sac-2"].settings["learning_rate"] == 3e-4
    assert by_label["sac-2"].details()["cell_settings"] == {"gradient_steps": 2}


def test_jobs_and_the_run_record_carry_the_cell_labels(tmp_path):
    today()
    run = plan("--study", "decomposition-today", "--out", str(tmp_path))
    assert run.labels == list(today().cells)
    by_label = {config.agent: config for config in run.configs}
    assert by_label["sac-2"].agent_spec == "sac"
    assert by_label["sac-2"].agent_settings["gradient_steps"] == 2
    sac_defaults = load_agent("sac", "rocket").default_settings("rocket")
    assert by_label["sac"].agent_settings["gradient_steps"] == sac_defaults["gradient_steps"]
    assert by_label["lm-abs"].agent_settings["burn_angle_input"] == "absolute"
    assert by_label["sac"].budget == 8 and by_label["lm"].budget == 12  # budgets by label
    details = run.record({})["agent_details"]
    assert details["lm-abs"]["kind"] == "learned-model"
    assert details["lm-abs"]["cell_settings"]["burn_angle_input"] == "absolute"
    assert "burn_angle_input absolute" in details["lm-abs"]["description"]


def test_a_cell_label_must_be_safe_in_file_names_and_in_set():
    for label in ("sac.rel", "sac@rel", "a:b", "-x", "a b"):
        with pytest.raises(ValueError, match="cell label"):
            Study("bad", "rocket", "", TINY, TINY, cells={label: ("sac", {})})
    typo = Size(
        budget=10, seeds=1, eval_episodes=2, eval_points_per_decade=1, agent_budgets={"sca": 5}
    )
    with pytest.raises(ValueError, match="a budget for 'sca', which is no cell"):
        Study("bad", "rocket", "", typo, TINY, cells={"sac": ("sac", {})})
    with pytest.raises(ValueError, match="not both"):
        Study("bad", "rocket", "", TINY, TINY, agents=("sac",), cells={"s": ("sac", {})})


def test_a_name_that_is_no_cell_is_refused_in_one_line():
    result = in_process(compare.main, "rocket", "--study", "decomposition", "--agents", "sac,nope")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "'nope' is no cell of the study decomposition" in result.stderr
    assert "learned-model-abs-reward, learned-model-reward, learned-model, planner" in (
        result.stderr
    )


def test_a_cell_whose_agent_or_setting_is_missing_is_refused_in_one_line():
    register_study(
        Study(
            "decomposition-ghosts",
            "rocket",
            "cells this installation cannot run",
            TINY,
            TINY,
            cells={
                "ghost": ("no-such-agent", {}),
                "odd": ("sac", {"no_such_setting": 1}),
                "fine": ("random", {}),
            },
        )
    )
    result = in_process(compare.main, "rocket", "--study", "decomposition-ghosts")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "cell 'ghost' of the study decomposition-ghosts (no-such-agent)" in result.stderr
    assert "cells that cannot run here: ghost, odd; --agents picks the others (fine)" in (
        result.stderr
    )


def job(
    agent: str, seed: int, reliable: int | None, budget: int, curve: dict[int, float] | None = None
) -> dict:
    """A finished job's file, as far as the study reads it: evaluated at 0 and, if ``curve``
    is not given, at its end (reliable: at ``reliable`` and 10 trials later, where it
    stopped; else at its budget, with no success)."""
    if curve is None:
        curve = {0: 0.0, budget: 0.0} if reliable is None else {0: 0.0, reliable: 1.0}
        if reliable is not None:
            curve[reliable + 10] = 1.0
    trials_spent = max(curve)
    return {
        "agent": agent,
        "phase": "train",
        "seed": seed,
        "budget": budget,
        "trials_to_first_success": None if reliable is None else max(1, reliable // 2),
        "trials_to_reliable": reliable,
        "final_success_rate": curve[trials_spent],
        "trials_spent": trials_spent,
        "evaluations": [{"trials": t, "success_rate": r} for t, r in sorted(curve.items())],
    }


def test_pair_ratios_keep_the_direction_of_their_censoring():
    """'from' never reliable within its 1,000: the ratio is above 1,000 / to's trials; 'to'
    never reliable within its 100: below from's trials / 100; both: unknown. Seeds pair by
    index, and a seed only one cell ran is left out of the pair."""
    cells = {"slow": ("sac", {}), "fast": ("learned-model", {})}
    jobs = [
        job("slow", 0, None, 1_000),  # above 1,000 / 50 = 20
        job("slow", 1, 500, 1_000),  # below 500 / 100 = 5
        job("slow", 2, 400, 1_000),  # 400 / 40 = 10
        job("slow", 3, None, 1_000),  # both censored: unknown
        job("slow", 4, 300, 1_000),  # fast has no seed 4
        job("fast", 0, 50, 100),
        job("fast", 1, None, 100),
        job("fast", 2, 40, 100),
        job("fast", 3, None, 100),
    ]
    summary = summarise_decomposition(jobs, cells, [Pair("frame", "slow", "fast")], {})
    (pair,) = summary["decomposition"]["pairs"]
    assert pair["seeds"] == [0, 1, 2, 3]
    assert pair["ratio_bounds"] == [(20.0, None), (0.0, 5.0), (10.0, 10.0), (0.0, None)]
    cell_table, pair_table = (text for _, text in tables(summary))
    assert "> 1,000" in cell_table.splitlines()[2]  # slow's median is censored
    row = pair_table.splitlines()[2]
    assert row.split()[:4] == ["frame", "slow", "fast", "4"]
    # the median of four seeds is above 5 (its lower bounds: 0, 0, 10, 20); nothing bounds it
    # above, as two seeds have no upper bound; the interval runs from below 5 to above 20
    assert "> 5.00 [< 5.00 to > 20] (1 above a bound, 1 below a bound, 1 unknown)" in row
    (paragraph,) = findings(summary)
    assert paragraph.startswith("**Decomposition, frame**")
    assert "medians over 4 seeds, paired by seed" in paragraph


def test_a_one_sided_censored_ratio_is_a_bound_never_a_number():
    cells = {"a": ("sac", {}), "b": ("planner", {})}
    above = [job("a", s, None, 2_000) for s in range(3)] + [job("b", s, 2, 30) for s in range(3)]
    below = [job("a", s, 10, 2_000) for s in range(3)] + [job("b", s, None, 30) for s in range(3)]
    cases = ((above, "> 1,000", "b needed fewer"), (below, "< 0.33", "a needed fewer"))
    for jobs, text, words in cases:
        summary = summarise_decomposition(jobs, cells, [Pair("physics model", "a", "b")], {})
        (pair,) = summary["decomposition"]["pairs"]
        assert f"{text} [{text} to {text}] (3 " in tables(summary)[1][1].splitlines()[2]
        assert median_interval([b[0] for b in pair["ratio_bounds"]]) is not None
        assert words in findings(summary)[0]


def test_a_pair_is_read_at_the_smaller_budget_even_where_neither_cell_was_reliable():
    """Paired by seed: to's held-out success minus from's after the smaller budget of the two
    (a job that stopped once reliable keeps its last evaluation), in percentage points, with
    the order-statistic interval of the median."""
    cells = {"a": ("sac", {}), "b": ("sac", {"burn_angle_input": "relative"})}
    jobs = []
    for seed in range(5):
        # a never reliable: 10 % + 5 seed points after 1,000 (and 90 % at its 2,000, unread)
        jobs.append(job("a", seed, None, 2_000, {0: 0.0, 1_000: 0.1 + 0.05 * seed, 2_000: 0.9}))
        # b never reliable within its 1,000 either, but further: 50 % + 10 seed points
        jobs.append(job("b", seed, None, 1_000, {0: 0.0, 600: 0.2, 1_000: 0.5 + 0.1 * seed}))
    jobs.append(job("b", 5, 300, 1_000))  # a seed a never ran is left out
    summary = summarise_decomposition(jobs, cells, [Pair("frame", "a", "b")], {})
    (pair,) = summary["decomposition"]["pairs"]
    assert pair["success_at"] == 1_000
    assert [round(100 * d) for d in pair["success_differences"]] == [40, 45, 50, 55, 60]
    row = tables(summary)[1][1].splitlines()[2]
    assert "censored" in row  # trials to reliable cannot tell them apart
    assert row.endswith("+50 [+40 to +60] pp after 1,000")
    assert "held-out success +50 [+40 to +60] pp after 1,000" in findings(summary)[0]
    # one that stopped at reliable is read at its last evaluation
    stopped = [job("a", 0, None, 2_000, {0: 0.0, 1_000: 0.2}), job("b", 0, 100, 1_000)]
    summary = summarise_decomposition(stopped, cells, [Pair("frame", "a", "b")], {})
    assert summary["decomposition"]["pairs"][0]["success_differences"] == [pytest.approx(0.8)]


def test_a_tiny_run_writes_the_table_plot_and_report(tmp_path):
    out = tmp_path / "run"
    result = in_process(
        compare.main,
        "rocket",
        "--plugin",
        str(PLUGIN),
        "--study",
        "decomposition-today",
        "--no-animations",
        "--workers",
        "1",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())["decomposition"]
    assert list(summary["cells"]) == ["sac", "sac-2", "lm-abs", "lm", "planner"]
    assert [(p["start"], p["end"]) for p in summary["pairs"]] == [
        ("sac", "sac-2"),
        ("lm-abs", "lm"),
        ("lm", "planner"),
        ("sac", "planner"),
    ]
    assert "trials to reliable, from / to" in result.stdout
    assert (out / "decomposition.png").stat().st_size > 10_000
    assert (out / "decomposition_path.png").stat().st_size > 10_000
    assert [row["seed"] for row in summary["path"]["seeds"]] == [0]
    assert "Decomposition along one path, lm-abs -(frame)-> lm" in result.stdout
    report = (out / "report.md").read_text()
    assert "**Decomposition, compute** (trials to reliable of the first cell" in report
    assert "From the first cell to the second: gradient steps per launch: 1 -> 2." in report
    assert "](decomposition.png)" in report
    assert "ratio of neighbouring cells paired by seed" in report
    assert {path.name for path in (out / "jobs").iterdir()} >= {
        "train-sac-2-seed0.json",
        "train-lm-abs-seed0.json",
    }


def test_each_seed_splits_its_whole_distance_along_the_path_into_shares(tmp_path):
    """Along sac -> sac-rel -> learned-model -> planner, a seed's shares are each step's log
    ratio over the whole log ratio and add up to 100 %; a cell never reliable joins the steps
    on either side of it; an end never reliable leaves the seed's distance unknown."""
    from sandbox.outputs.run_data import RunData
    from sandbox.studies.decomposition_path import plot_path

    cells = {
        "sac": ("sac", {}),
        "sac-rel": ("sac", {"burn_angle_input": "relative"}),
        "learned-model": ("learned-model", {}),
        "planner": ("planner", {}),
    }
    pairs = [
        Pair("frame", "sac", "sac-rel"),
        Pair("model", "sac-rel", "learned-model"),
        Pair("physics", "learned-model", "planner"),
    ]
    path = ["sac", "sac-rel", "learned-model", "planner"]
    trials = {  # per seed: sac, sac-rel, learned-model, planner
        0: (10_000, 1_000, 100, 1),  # a quarter, a quarter, half
        1: (10_000, None, 100, 1),  # sac-rel never reliable: frame and model together
        2: (None, 1_000, 100, 1),  # sac never reliable: the whole distance unknown
        3: (1_000, 10_000, 10, 1),  # the frame cost trials: -100 %, then 300 %
    }
    jobs = [
        job(label, seed, value, 20_000 if label != "planner" else 30)
        for seed, row in trials.items()
        for label, value in zip(path, row, strict=True)
    ]
    summary = summarise_decomposition(jobs, cells, pairs, {}, path)
    found = summary["decomposition"]["path"]
    assert found["factors"] == ["frame", "model", "physics"]
    shares = {row["seed"]: row["shares"] for row in found["seeds"]}
    assert shares[0] == pytest.approx([0.25, 0.25, 0.5])
    assert shares[1][0] == pytest.approx(0.5) and shares[1][1] is None
    assert shares[1][2] == pytest.approx(0.5)
    assert shares[2] is None
    assert shares[3] == pytest.approx([-1 / 3, 1.0, 1 / 3])
    for row in shares.values():
        if row is not None:
            assert sum(s for s in row if s is not None) == pytest.approx(1.0)
    title, text = tables(summary)[-1]
    assert title.startswith("Decomposition along one path")
    lines = text.splitlines()
    assert lines[2].split()[:3] == ["0", "10,000", "1"]
    assert "+50 % +" in lines[3] and "(joined)" in lines[3]
    assert lines[4].split()[:2] == ["2", ">"] and lines[4].rstrip().endswith("-")
    # the medians: frame alone on seeds 0 and 3; model on 0 and 3; physics on 0, 1 and 3
    assert lines[6].startswith("median")
    assert "(2)" in lines[6] and "(3)" in lines[6]
    paragraph = findings(summary)[-1]
    assert paragraph.startswith("**Decomposition along one path**")
    assert "on 3 of 4 seeds both ends were reliable, a distance apart" in paragraph
    assert "frame and model together +50 % (1 seed)" in paragraph
    assert "physics +50 % [+33 to +50] (3 seeds, 75 % coverage)" in paragraph
    assert "the range of the seeds with 2 seeds (50 % coverage)" in title
    # a path through a step that is no pair is refused when the study is declared
    with pytest.raises(ValueError, match="sac -> planner is no pair"):
        from sandbox.studies.decomposition import decomposition_study

        decomposition_study("x", "x", cells, pairs, TINY, TINY, {}, ["sac", "planner"])
    # and the plot draws a line per seed
    run = RunData(tmp_path, {}, summary, jobs)
    assert plot_path(run).stat().st_size > 10_000


def test_the_path_reads_zero_trials_and_a_rising_path_and_unmeasured_success():
    """0 trials read as 1 (no log of 0); a seed whose path rises still splits its distance,
    which is negative (shares still add up to 100 %); both ends equal: no distance. A cell
    with no evaluation yet at the pair's budget leaves that seed out of the difference."""
    from sandbox.studies.decomposition import success_after
    from sandbox.studies.decomposition_path import seed_shares

    assert seed_shares([100, 0, 10]) == pytest.approx([2.0, -1.0])
    rising = seed_shares([10, 1_000, 100])
    assert rising == pytest.approx([2.0, -1.0]) and sum(rising) == pytest.approx(1.0)
    assert seed_shares([10, 100, 10]) is None
    late = job("b", 0, None, 1_000, {65: 0.5, 1_000: 0.6})  # first evaluated after 65
    assert success_after(late, 30) is None and success_after(late, 65) == 0.5
    cells = {"a": ("planner", {}), "b": ("ppo", {})}
    jobs = [job("a", 0, 1, 30), late, job("a", 1, 1, 30), job("b", 1, None, 1_000, {1: 0.2})]
    summary = summarise_decomposition(jobs, cells, [Pair("x", "a", "b")], {})
    (pair,) = summary["decomposition"]["pairs"]
    assert pair["success_at"] == 30
    assert pair["success_differences"] == [pytest.approx(-0.8)]  # seed 1 only


def test_a_direction_is_claimed_only_where_the_whole_interval_lies_past_1():
    """The words under a pair name the cell that needed fewer trials only where the median's
    interval excludes 1; a median below 1 whose interval reaches above it shows no
    difference, and a median that censoring leaves unknown says on how many seeds neither
    cell got there."""
    cells = {"a": ("sac", {}), "b": ("sac", {"burn_angle_input": "relative"})}
    # ratios a/b over 10 seeds: 0.5 on six, 2 on four; order statistics 2nd..9th: 0.5 to 2
    jobs = []
    for seed in range(10):
        a, b = (100, 200) if seed < 6 else (400, 200)
        jobs += [job("a", seed, a, 1_000), job("b", seed, b, 1_000)]
    jobs[1]["reliable_held_on_test"], jobs[3]["reliable_held_on_test"] = True, False
    summary = summarise_decomposition(jobs, cells, [Pair("frame", "a", "b")], {})
    (paragraph,) = findings(summary)
    assert "a -> b: 0.50 [0.50 to 2.00]" in paragraph
    assert "(its interval includes 1: no difference shown)" in paragraph
    assert "needed fewer" not in paragraph
    cell_table = tables(summary)[0][1]
    assert "reliable held on test" in cell_table.splitlines()[0]
    # four seeds where neither was reliable, two where only a was, four where only b was
    jobs = []
    for seed in range(10):
        a, b = (None, None) if seed < 4 else (300, None) if seed < 6 else (None, 300)
        jobs += [job("a", seed, a, 1_000), job("b", seed, b, 1_000)]
    summary = summarise_decomposition(jobs, cells, [Pair("frame", "a", "b")], {})
    (paragraph,) = findings(summary)
    assert "censored (4 above a bound, 2 below a bound, 4 unknown) (too few seeds" in paragraph
    assert "neither was reliable within its budget" not in paragraph
