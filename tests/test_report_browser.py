"""The report as a reader opens it: in headless Chromium every image decodes, every table
has rows and the page logs no error.

A small script, put into a copy of ``report.html`` before anything else on the page, hooks
errors and ``console.error`` and, once the page has loaded, writes what it found into the
DOM, which ``--dump-dom`` prints. No browser driver is needed, only the browser.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.test_extension import run

CHROMIUM = next(
    (path for name in ("chromium", "chromium-browser") if (path := shutil.which(name))), None
)

pytestmark = [
    pytest.mark.slow,  # a run of its own, ~10 s on 2 busy cores
    pytest.mark.skipif(
        CHROMIUM is None, reason="no Chromium on PATH (Debian: apt-get install chromium)"
    ),
]

#: runs before the page's own content: hooks every error, then reports on ``load``
CHECKS = """<script>
(function () {
  var errors = [];
  window.addEventListener("error", function (event) {
    var target = event.target;
    errors.push(target && target !== window && target.tagName
      ? "failed to load " + target.tagName + " " + (target.alt || "")
      : String(event.message));
  }, true);
  window.addEventListener("unhandledrejection", function (event) {
    errors.push("unhandled rejection: " + event.reason);
  });
  var consoleError = console.error;
  console.error = function () {
    errors.push("console.error: " + Array.prototype.join.call(arguments, " "));
    consoleError.apply(console, arguments);
  };
  window.addEventListener("load", function () {
    var found = {
      images: Array.prototype.map.call(document.images, function (image) {
        return {alt: image.alt, complete: image.complete, width: image.naturalWidth};
      }),
      tables: Array.prototype.map.call(document.querySelectorAll("table"), function (table) {
        return {
          columns: table.querySelectorAll("thead th").length,
          rows: table.tBodies.length ? table.tBodies[0].rows.length : 0,
          cells: table.querySelectorAll("tbody td").length
        };
      }),
      errors: errors
    };
    var out = document.createElement("pre");
    out.id = "browser-checks";
    out.textContent = JSON.stringify(found);
    document.body.appendChild(out);
  });
})();
</script>"""

FLAGS = (
    "--headless",
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
)


def open_in_chromium(page: Path, profile: Path) -> tuple[dict, list[str]]:
    """What the checking script found on ``page``, and the console lines Chromium logged."""
    result = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    found = re.search(r'<pre id="browser-checks">(.*?)</pre>', result.stdout, re.DOTALL)
    assert found, f"the page never finished loading:\n{result.stderr[-3000:]}"
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    return json.loads(html.unescape(found[1])), console


def test_the_report_loads_in_a_browser_with_every_image_and_table(tmp_path):
    out = tmp_path / "run"
    result = run(
        "city",
        "--agents",
        "traffic-planner,random",
        "--seeds",
        "1",
        "--budget",
        "2",
        "--eval-episodes",
        "2",
        "--workers",
        "1",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    page = (out / "report.html").read_text()
    assert page.count("<head>") == 1
    checked = tmp_path / "checked.html"
    checked.write_text(page.replace("<head>", "<head>" + CHECKS, 1))

    found, console = open_in_chromium(checked, tmp_path / "profile")

    pictures = [*out.glob("*.png"), *(out / "animations").glob("*.gif")]
    assert len(found["images"]) == len(pictures) and any(p.suffix == ".gif" for p in pictures)
    for image in found["images"]:
        assert image["complete"] and image["width"] > 0, image
    assert found["tables"], "the report shows no table"
    for table in found["tables"]:
        assert table["columns"] and table["rows"], table
        assert table["cells"] == table["columns"] * table["rows"], table
    assert found["errors"] == []
    # the report has no script of its own: anything on the console is a fault
    assert console == [], console
