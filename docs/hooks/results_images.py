"""MkDocs hook: the pages show the committed results' images where they live, in results/.

A page links an image by its path in the repository (``../../results/city/reference/maps.png``
from ``docs/results/city.md``), so the link also works where the Markdown is read as it is, on
GitHub. The build copies each image so linked into the site under ``results/`` and points the
link at the copy. A link to a file that does not exist is left alone, for ``mkdocs build
--strict`` to report.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

RESULTS_LINK = re.compile(r"\]\(((?:\.\./)+results/[^)\s]+)\)")


def _root(config: MkDocsConfig) -> Path:
    return Path(config.config_file_path).resolve().parent


def _target(config: MkDocsConfig, page_uri: str, link: str) -> Path | None:
    """The file in the repository's results/ that a page's link names, if there is one."""
    path = (Path(config.docs_dir) / posixpath.dirname(page_uri) / link).resolve()
    results = _root(config) / "results"
    return path if path.is_relative_to(results) and path.is_file() else None


def on_files(files: Files, config: MkDocsConfig) -> Files:
    linked: set[Path] = set()
    for page in files.documentation_pages():
        text = Path(page.abs_src_path).read_text(encoding="utf-8")
        for link in RESULTS_LINK.findall(text):
            if target := _target(config, page.src_uri, link):
                linked.add(target)
    for target in sorted(linked):
        uri = target.relative_to(_root(config)).as_posix()
        files.append(File.generated(config, uri, abs_src_path=str(target)))
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    def to_copy(match: re.Match[str]) -> str:
        target = _target(config, page.file.src_uri, match.group(1))
        if target is None:
            return match.group(0)
        uri = target.relative_to(_root(config)).as_posix()
        return f"]({posixpath.relpath(uri, posixpath.dirname(page.file.src_uri) or '.')})"

    return RESULTS_LINK.sub(to_copy, markdown)
