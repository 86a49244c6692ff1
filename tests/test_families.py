"""The three families side by side, read from saved runs."""

from pathlib import Path

import pytest

from sandbox.families import main

ROOT = Path(__file__).resolve().parents[1]
RUNS = [
    ROOT / "results" / "rocket" / "reference",
    ROOT / "results" / "rocket" / "generalization-reference",
    ROOT / "results" / "city" / "reference",
]


@pytest.mark.slow
def test_families_table_and_plot_from_the_references(tmp_path, capsys):
    out = tmp_path / "families.png"
    assert main([str(run) for run in RUNS] + ["--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert out.stat().st_size > 10_000
    header, rule, *rows = printed.split("\n\nplot:")[0].splitlines()
    assert header == "| measure | best model-free learner | learned model | planner |"
    measures = [row.split(" | ")[0].lstrip("| ") for row in rows]
    assert "rocket (earth_moon): launches to reliable" in measures
    assert "rocket generalization: generalization radius in Moon phase" in measures
    assert "city (train) -> new: relearn fraction" in measures
    planner = {row.split(" | ")[0].lstrip("| "): row.split(" | ")[3].rstrip(" |") for row in rows}
    assert planner["city (train): training deaths"] == "0 [0 to 0]"
    # the generalization study's launches in each changed world, and the misspecified engine
    assert planner["rocket generalization: success over the grid, 1 launch per changed world"] == (
        "100 % [100 to 100]"
    )
    assert planner["rocket generalization: success over the grid, zero-shot"] == "11 % [11 to 14]"
    engine = "rocket generalization: success with the engine 10 deg off, after 32 launches there"
    assert planner[engine] == "0 % [0 to 0]"


def test_a_folder_without_a_run_is_one_line(tmp_path, capsys):
    assert main([str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert (
        error.startswith("python -m sandbox.families: error:")
        and len(error.strip().splitlines()) == 1
    )


def test_a_plot_is_saved_with_a_palette_and_keeps_its_colours(tmp_path):
    """``save_figure`` writes a 256-colour PNG: smaller than matplotlib's own, the same
    picture to the eye (each agent's colour is still one of its pixels)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.colors import to_rgb
    from PIL import Image

    from sandbox.pictures.drawing import color, save_figure

    def figure():
        fig, axes = plt.subplots(figsize=(6, 4))
        for shift, agent in enumerate(("planner", "sac", "learned-model")):
            axes.plot(
                range(50), [(x + 10 * shift) % 17 for x in range(50)], color=color(agent), lw=3
            )
            axes.fill_between(range(50), 0, shift + 1, color=color(agent), alpha=0.2)
        axes.set_title("three agents")
        return fig

    plain = tmp_path / "plain.png"
    figure().savefig(plain, dpi=100)
    saved = save_figure(figure(), tmp_path / "saved.png", dpi=100)
    assert saved.stat().st_size < plain.stat().st_size
    with Image.open(saved) as image:
        assert image.mode == "P"
        pixels = {tuple(p) for p in np.asarray(image.convert("RGB")).reshape(-1, 3).tolist()}
    for agent in ("planner", "sac", "learned-model"):
        wanted = tuple(round(255 * c) for c in to_rgb(color(agent)))
        assert min(sum(abs(a - b) for a, b in zip(p, wanted, strict=True)) for p in pixels) <= 6, (
            agent
        )
