"""Every run writes a report that names every agent and embeds every plot and animation."""

from __future__ import annotations

import re

import pytest

from tests.test_extension import run

# small runs through the command line
pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    "task, agents", [("rocket", "planner,random,ppo"), ("city", "traffic-planner,random,ppo")]
)
def test_the_report_names_every_agent_and_embeds_every_plot(tmp_path, task, agents):
    result = run(
        task,
        "--agents",
        agents,
        "--seeds",
        "2",
        "--budget",
        "4",
        "--eval-episodes",
        "2",
        "--workers",
        "2",
        "--out",
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    markdown = (tmp_path / "report.md").read_text()
    page = (tmp_path / "report.html").read_text()
    for agent in agents.split(","):
        assert f"`{agent}`" in markdown or f"| {agent} |" in markdown, agent
        assert agent in page
    images = sorted(tmp_path.glob("*.png")) + sorted((tmp_path / "animations").glob("*.gif"))
    assert any(p.suffix == ".gif" for p in images) and any(p.suffix == ".png" for p in images)
    for image in images:
        assert f"]({image.relative_to(tmp_path).as_posix()})" in markdown, image.name
    assert len(re.findall(r'src="data:image/(?:png|gif);base64,', page)) == len(images)
    assert "**Trials**" in markdown and "Commit " in markdown


def test_the_sight_study_runs_every_agent_at_every_sight(tmp_path):
    result = run(
        "city",
        "--study",
        "sight",
        "--agents",
        "traffic-planner",
        "--seeds",
        "1",
        "--budget",
        "2",
        "--eval-episodes",
        "2",
        "--workers",
        "2",
        "--out",
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    import json

    summary = json.loads((tmp_path / "summary.json").read_text())
    by_sight = summary["sight"]["agents"]["traffic-planner"]
    assert set(by_sight) == {"sight2", "sight3", "sight5", "sight8", "full"}
    assert all(entry["deaths_per_walk"] == [0.0] for entry in by_sight.values())
    jobs = {
        json.loads(p.read_text())["env_kwargs"]["sight"] for p in (tmp_path / "jobs").glob("*.json")
    }
    assert jobs == {2, 3, 5, 8, "full"}
    assert (tmp_path / "sight.png").stat().st_size > 5_000 and "**Sight**" in (
        tmp_path / "report.md"
    ).read_text()
