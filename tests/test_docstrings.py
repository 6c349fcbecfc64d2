"""Every public name has a docstring that says what it takes, as the reference pages show it.

The names are read with griffe, the library mkdocstrings renders the reference with,
so an attribute counts as documented exactly when the page shows a description for
it: its own docstring, or an entry in its class's ``Args:`` or ``Attributes:``.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import griffe
import pytest

ROOT = Path(__file__).resolve().parents[1]
# The core and every opt-in extra; each module's __all__ (or public names) is its API.
MODULES = [
    "", "mounting", "testing", "headers", "cors", "static", "compression", "cookies", "forms", "sse"
]
PACKAGE = griffe.load("bareasgi", search_paths=[str(ROOT)])


def _public(module: griffe.Module) -> list[griffe.Object]:
    names = (
        [str(name) for name in module.exports]
        if module.exports
        else [name for name in module.members if not name.startswith("_")]
    )
    found = []
    for name in names:
        obj = module.members[name]
        target = obj.final_target if obj.is_alias else obj
        # A module's own names only: re-exports are checked where they are defined,
        # except in the package itself, whose names all live in submodules.
        if target.is_module or (module is not PACKAGE and target.parent is not module):
            continue
        found.append(target)
    return found


def _members(obj: griffe.Object) -> list[griffe.Object]:
    if not obj.is_class:
        return []
    return [
        member
        for name, member in obj.members.items()
        if not name.startswith("_") and not member.is_alias
    ]


def _parameters(obj: griffe.Object) -> list[str]:
    function = obj.members.get("__init__") if obj.is_class else obj
    if function is None or not function.is_function:
        return []
    return [p.name for p in function.parameters if p.name not in ("self", "cls")]


def _documented_in_class(attribute: griffe.Object) -> bool:
    parent = attribute.parent
    text = parent.docstring.value if parent is not None and parent.docstring else ""
    return re.search(rf"^\s+{re.escape(attribute.name)}( \(.*\))?:", text, re.M) is not None


NAMES = [
    (obj.path, obj)
    for module in (PACKAGE.members[name] if name else PACKAGE for name in MODULES)
    for public in _public(module)
    for obj in (public, *_members(public))
]


@pytest.mark.parametrize("obj", [obj for _, obj in NAMES], ids=[path for path, _ in NAMES])
def test_public_name_has_a_docstring_with_its_arguments(obj):
    text = obj.docstring.value if obj.docstring else ""
    if obj.is_attribute:
        assert text or _documented_in_class(obj), "no docstring, nor a line in its class's"
        return
    assert text, "no docstring"
    parameters = _parameters(obj)
    if parameters:
        assert "Args:" in text, f"takes {parameters} but its docstring has no Args: section"
        missing = [
            name
            for name in parameters
            if not re.search(rf"^\s+\**{re.escape(name)}( \(.*\))?:", text, re.M)
        ]
        assert not missing, f"Args: does not describe {missing}"


def test_the_check_sees_the_whole_api():
    paths = {path for path, _ in NAMES}
    assert {"bareasgi.streaming.text_writer", "bareasgi.testing.WebSocketSession"} <= paths
    assert "bareasgi.forms.read_form" in paths
    assert len(paths) > 100


REFERENCE = "\n".join(
    page.read_text(encoding="utf-8") for page in sorted((ROOT / "docs" / "reference").glob("*.md"))
)
# The reference shows the whole of bareasgi.types on its own page.
ALIASES = set(vars(importlib.import_module("bareasgi.types")))


@pytest.mark.parametrize("module", ["bareasgi", "bareasgi.testing"])
def test_every_public_name_is_on_a_reference_page(module):
    shown = set(re.findall(r"[\w.]+", REFERENCE))
    missing = [
        name
        for name in importlib.import_module(module).__all__
        if name not in ALIASES and name not in shown and f"{module}.{name}" not in shown
    ]
    assert not missing, f"no reference page shows {missing}"
