"""``python -m sandbox.report RUN --page PAGE``: a results page's quoted tables rewritten from
the run, its words kept."""

from __future__ import annotations

import shutil
from pathlib import Path

from sandbox.outputs.tables import quoted_tables, requote
from sandbox.report import main

ROOT = Path(__file__).resolve().parents[1]

PAGE = """# A page

Words before.

| agent | trials |
|---|---|
| planner | 3 |

Between.

| agent | trials |
|---|---|
| sac | 9 |

| agent | deaths |
|---|---|
| dqn | 7 |
"""


def test_each_table_replaces_the_one_with_its_header_in_order():
    new = [
        "| agent | trials |\n|---|---|\n| planner | 1 |",
        "| agent | trials |\n|---|---|\n| sac | 2 |",
    ]
    page, unplaced = requote(PAGE, new)
    assert unplaced == []
    assert page == PAGE.replace("| planner | 3 |", "| planner | 1 |").replace(
        "| sac | 9 |", "| sac | 2 |"
    )


def test_a_table_the_page_lacks_is_returned_and_a_table_of_more_rows_fits():
    longer = "| agent | deaths |\n|---|---|\n| dqn | 5 |\n| ppo | 8 |"
    other = "| agent | success |\n|---|---|\n| dqn | 90 % |"
    page, unplaced = requote(PAGE, [longer, other])
    assert unplaced == [other]
    assert page.endswith("| agent | deaths |\n|---|---|\n| dqn | 5 |\n| ppo | 8 |\n")
    assert "| sac | 9 |" in page  # a table the run does not give stays


def test_a_table_that_gained_a_column_replaces_the_one_it_grew_from():
    """A reference run again whose table gained a column (the city's "reliable held on
    test") still finds its place: the page's table of the same first column whose columns
    it keeps; a table sharing only its first column is no match."""
    grown = "| agent | deaths | reliable held on test |\n|---|---|---|\n| dqn | 5 | 9 of 10 |"
    page, unplaced = requote(PAGE, [grown])
    assert unplaced == []
    assert page.endswith(grown + "\n")
    assert "| dqn | 7 |" not in page and page.count("| agent | trials |") == 2
    alien = "| agent | speed | cost |\n|---|---|---|\n| dqn | 1 | 2 |"
    assert requote(PAGE, [alien]) == (PAGE, [alien])


def test_the_command_rewrites_a_stale_page_to_the_committed_one(tmp_path, capsys):
    reference, quoting = ROOT / "results/rocket/reference", ROOT / "docs/results/rocket.md"
    stale = tmp_path / "rocket.md"
    first = quoted_tables(reference)[0].split("\n")
    stale.write_text(quoting.read_text().replace(first[2], first[2].replace("|", "| 0", 2)))
    assert stale.read_text() != quoting.read_text()
    assert main([str(reference), "--page", str(stale)]) == 0
    assert stale.read_text() == quoting.read_text()
    assert "tables quoted" in capsys.readouterr().out


def test_a_folder_without_a_run_is_one_line_and_exit_2(tmp_path, capsys):
    page = tmp_path / "page.md"
    shutil.copy(ROOT / "docs/results/rocket.md", page)
    assert main([str(tmp_path / "nothing"), "--page", str(page)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("python -m sandbox.report: error:") and error.count("\n") == 1
    assert page.read_text() == (ROOT / "docs/results/rocket.md").read_text()
