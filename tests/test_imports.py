"""The package's imports form a one-way graph, and none hides in a function to dodge a cycle."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "bareasgi"


def _imported(node: ast.AST) -> list[str]:
    """The bareasgi modules a (relative or absolute) import statement names."""
    if isinstance(node, ast.ImportFrom):
        if node.level == 1:
            if node.module:
                return [node.module.split(".")[0]]
            return [alias.name for alias in node.names]
        if node.module and node.module.startswith("bareasgi."):
            return [node.module.split(".")[1]]
    if isinstance(node, ast.Import):
        return [
            alias.name.split(".")[1]
            for alias in node.names
            if alias.name.startswith("bareasgi.")
        ]
    return []


def _parse() -> dict[str, ast.Module]:
    return {path.stem: ast.parse(path.read_text()) for path in PACKAGE.glob("*.py")}


def _graph() -> dict[str, set[str]]:
    """Each module's imports of other bareasgi modules at module level."""
    modules = _parse()
    return {
        name: {
            target
            for node in tree.body
            for target in _imported(node)
            if target in modules and target != name
        }
        for name, tree in modules.items()
    }


def test_no_bareasgi_import_is_inside_a_function():
    hidden = []
    for name, tree in _parse().items():
        for function in ast.walk(tree):
            if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in ast.walk(function):
                    if _imported(node):
                        hidden.append(f"{name}.{function.name}: {_imported(node)}")
    assert hidden == []


def test_the_modules_import_each_other_without_a_cycle():
    graph = _graph()
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        assert module not in path, "import cycle: " + " -> ".join([*path, module])
        if module in done:
            return
        for target in sorted(graph[module]):
            visit(target, [*path, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])
    assert "application" in graph and graph["types"] <= {"errors"}
