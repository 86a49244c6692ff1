"""Dependencies point one way: no module imports one that imports it back (directly or
around a loop, counting imports inside functions too), the bottom layers never import
the harness, and inside the harness a run's outputs and pictures never import the run
that made them, nor the commands in front of them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("agents", "envs", "sandbox")
#: package -> packages of the project it must never import
FORBIDDEN = {"agents": {"sandbox"}, "envs": {"agents", "sandbox"}}
#: the command modules at the top of ``sandbox/``: front doors that nothing inside imports
COMMANDS = {
    "sandbox.__main__",
    "sandbox.agents",
    "sandbox.cli",
    "sandbox.compare",
    "sandbox.families",
    "sandbox.plots",
    "sandbox.report",
    "sandbox.run_report",
    "sandbox.tune",
    "sandbox.watch",
}
#: folder of the harness -> what it must never import (folders, and modules by name)
FORBIDDEN_IN_SANDBOX = {
    "sandbox.outputs": {"sandbox.run", "sandbox.pictures", *COMMANDS},
    "sandbox.pictures": {"sandbox.run", *COMMANDS},
    "sandbox.run": COMMANDS,
    "sandbox.tasks": {"sandbox.run", *COMMANDS},
    "sandbox.studies": {"sandbox.run", *COMMANDS},
    "sandbox.tuning": COMMANDS,
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Each project module and the project modules it imports anywhere in its code."""
    files = {
        module_name(path): path for package in PACKAGES for path in (ROOT / package).rglob("*.py")
    }
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # ``from package import module`` imports the module;
                # ``from module import name``, the module.
                targets.update(
                    f"{node.module}.{alias.name}"
                    if f"{node.module}.{alias.name}" in files
                    else node.module
                    for alias in node.names
                )
        graph[name] = {t for t in targets if t in files and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_between_files():
    assert cycles(import_graph()) == []


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_bottom_layers_do_not_import_the_layers_above(package):
    offending = sorted(
        (module, target)
        for module, targets in import_graph().items()
        if module.split(".")[0] == package
        for target in targets
        if target.split(".")[0] in FORBIDDEN[package]
    )
    assert offending == []


def inside(module: str, folder: str) -> bool:
    return module == folder or module.startswith(folder + ".")


@pytest.mark.parametrize("folder", sorted(FORBIDDEN_IN_SANDBOX))
def test_a_run_flows_from_plan_to_outputs_and_pictures(folder):
    """The run imports its outputs and pictures, never the reverse; no folder imports a
    command; tasks and studies, which a run reads, know nothing of the run itself."""
    offending = sorted(
        (module, target)
        for module, targets in import_graph().items()
        if inside(module, folder)
        for target in targets
        if any(inside(target, forbidden) for forbidden in FORBIDDEN_IN_SANDBOX[folder])
    )
    assert offending == []


def test_the_check_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
