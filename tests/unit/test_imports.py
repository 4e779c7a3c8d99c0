"""The house's import graph (issue #17): no cycle between docclean's modules, and `cleaners`
never imports `archive` (DESIGN.md: cleaners are pure, archive owns I/O).

The graph is read from the source with `ast`, so an import hidden inside a function (how
`spam` and `boilerplate` used to import each other) counts like one at the top of a module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("cleaners", "archive")


def _modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).glob("*.py")):
            name = package if path.stem == "__init__" else f"{package}.{path.stem}"
            out[name] = path
    return out


def import_graph() -> dict[str, set[str]]:
    """Module → the docclean modules it imports anywhere in its source."""
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # `from cleaners import boilerplate` names a module; `from cleaners.model import
                # Change` names a module's attribute.
                targets = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
            for target in targets:
                if target in modules and target != name:
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for succ in sorted(graph[node]):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_checker_finds_a_cycle_hidden_in_a_function() -> None:
    # The old spam <-> boilerplate pair, as the graph saw it before issue #17.
    assert cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_between_docclean_modules() -> None:
    graph = import_graph()
    assert graph["cleaners.boilerplate"] >= {"cleaners.spam", "cleaners.textutil"}
    assert cycles(graph) == []


@pytest.mark.parametrize("module", [m for m in _modules() if m.startswith("cleaners")])
def test_cleaners_never_import_archive(module: str) -> None:
    assert not {m for m in import_graph()[module] if m.startswith("archive")}


def test_textutil_depends_on_nothing_but_the_model() -> None:
    assert import_graph()["cleaners.textutil"] <= {"cleaners.model"}
