"""The typing guide's program passes ``mypy --strict``, and mypy catches what the page says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from mypy import api

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "how-to" / "typing.md"


def program() -> str:
    blocks = re.findall(
        r"^```python[^\n]*\n(.*?)^```", PAGE.read_text(encoding="utf-8"), re.MULTILINE | re.DOTALL
    )
    assert len(blocks) == 1
    return str(blocks[0])


def mypy(source: str, tmp_path: Path) -> tuple[str, int]:
    path = tmp_path / "handlers.py"
    path.write_text(source, encoding="utf-8")
    stdout, _, status = api.run(
        ["--strict", "--no-incremental", "--cache-dir", str(tmp_path / "cache"), str(path)]
    )
    return stdout, status


@pytest.fixture(scope="module")
def tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("typing")


def test_the_program_passes_mypy_strict(tmp: Path) -> None:
    output, status = mypy(program(), tmp)
    assert status == 0, output


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("scope: Scope, info: Info, matches: RouteMatches, content: Content\n"
             ") -> HttpResponse:\n    item_id",
             "scope: Scope, info: Info, matches: RouteMatches\n"
             ") -> HttpResponse:\n    item_id"),
            'Argument 3 to "add" of "HttpRouter" has incompatible type',
        ),
        (
            ('return json_response(200, None, {"id": item_id})', 'return "ok"'),
            'Incompatible return value type (got "str"',
        ),
    ],
    ids=["three arguments", "a str returned"],
)
def test_mypy_catches_what_the_page_says(
    tmp: Path, change: tuple[str, str], message: str
) -> None:
    source = program()
    assert change[0] in source
    output, status = mypy(source.replace(change[0], change[1], 1), tmp)
    assert status == 1
    assert message in output, output
