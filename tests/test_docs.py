"""The docs show the code in examples/ verbatim, and that code runs as the docs say."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.test_extension import run

ROOT = Path(__file__).resolve().parents[1]
SHOWN = {
    "docs/adding-an-agent.md": ["examples/always_north.py"],
    "docs/adding-a-task.md": ["examples/guess_task.py"],
    "docs/configuring-learners.md": ["examples/learner_settings.toml"],
}


@pytest.mark.parametrize("doc", sorted(SHOWN))
def test_docs_quote_the_examples_verbatim(doc):
    text = (ROOT / doc).read_text()
    for example in SHOWN[doc]:
        assert (ROOT / example).read_text().rstrip() in text, (
            f"{doc} does not show {example} as it is"
        )


PAGES = sorted(str(page.relative_to(ROOT)) for page in (ROOT / "docs").rglob("*.md"))


def test_docs_name_only_files_that_exist():
    for doc in [*PAGES, "README.md"]:
        for path in re.findall(
            r"`((?:examples|docs|agents|sandbox|envs|benchmarks)/[\w./-]+\.(?:py|md|toml))`",
            (ROOT / doc).read_text(),
        ):
            assert (ROOT / path).exists(), f"{doc} names {path}, which does not exist"


def test_the_readme_links_only_to_files_that_exist():
    """GitHub shows the README as it is; the docs site's links are checked by its strict build."""
    readme = (ROOT / "README.md").read_text()
    links = re.findall(r"\]\(([^)#\s]+)[^)]*\)", readme) + re.findall(r'<img src="([^"]+)"', readme)
    assert links
    for link in links:
        if "://" not in link:
            assert (ROOT / link).is_file(), f"README.md links to {link}, which does not exist"


def test_every_docs_page_is_in_the_site_nav():
    nav = set(re.findall(r":\s+([\w/.-]+\.md)\s*$", (ROOT / "mkdocs.yml").read_text(), re.M))
    for page in PAGES:
        assert page.removeprefix("docs/") in nav, f"mkdocs.yml's nav does not list {page}"


@pytest.mark.slow
def test_the_documented_agent_and_settings_run(tmp_path):
    result = run(
        "city",
        "--agents",
        "./examples/always_north.py:AlwaysNorth,ppo,dqn",
        "--agent-config",
        "examples/learner_settings.toml",
        "--seeds",
        "1",
        "--budget",
        "3",
        "--eval-episodes",
        "2",
        "--workers",
        "2",
        "--out",
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    details = json.loads((tmp_path / "config.json").read_text())["agent_details"]
    assert details["always-north"]["kind"] == "baseline"
    assert (
        details["ppo"]["settings"]["n_envs"] == 4
        and details["dqn"]["settings"]["exploration_final_eps"] == 0.05
    )
