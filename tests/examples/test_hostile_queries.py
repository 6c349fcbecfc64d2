"""Every GET route of every example, given hostile values for the query parameters its code
reads: a clear 4xx or an ordinary answer, never a 500.

Examples are starting points that readers copy, so they must show the project's rule for bad
input too. Each value has broken an example or a common way of checking one:
``str.isdigit()`` accepts a superscript two, which ``int()`` refuses, and an Arabic-Indic
one, which it reads; ``int()`` refuses more than 4,300 digits; ``%FF`` is not UTF-8;
``1e400`` and ``nan`` are floats that ``int()`` and range checks handle badly.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bareasgi.testing import TestClient
from gallery.console import http_routes, load_example

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(path.parent.name for path in (ROOT / "examples").glob("*/app.py"))
# The parameters an example reads: query.get("count", ...) or a helper given the name.
PARAMETER = re.compile(r'\.get\(\s*"([a-z]\w*)"|_parameter\(\s*scope,\s*"([a-z]\w*)"')
# Percent-encoded as a client sends them: superscript two, Arabic-Indic one, full-width one.
HOSTILE = ["%C2%B2", "%D9%A1", "%EF%BC%91", "9" * 5000, "%FF", "-1", "1e400", "nan", "%00"]
# What a path variable of each type is given, so that the route matches.
SAMPLE = {"int": "1", "float": "1.5", "datetime": "2024-05-01", "path": "x", "str": "x"}
MEANT_TO_FAIL = {("errors", "/crash")}  # the example of a bug's 500


def _path(template: str) -> str:
    def sample(match: re.Match[str]) -> str:
        kind = (match.group(2) or "str").split(":")[0]
        return SAMPLE[kind]

    return re.sub(r"\{(\w+)(?::([^}]+))?\}", sample, template)


def _parameters(example: str) -> list[str]:
    source = (ROOT / "examples" / example / "app.py").read_text(encoding="utf-8")
    return sorted({name for pair in PARAMETER.findall(source) for name in pair if name})


@pytest.mark.parametrize("example", [name for name in EXAMPLES if _parameters(name)])
async def test_hostile_query_values_never_make_a_500(example, tmp_path, monkeypatch):
    monkeypatch.setenv("NOTES_DATABASE", str(tmp_path / "notes.sqlite3"))
    app = load_example(example).app
    routes = [
        template
        for methods, template in http_routes(app)
        if "GET" in methods and (example, template) not in MEANT_TO_FAIL
    ]
    failed = []
    async with TestClient(app) as client:
        for template in routes:
            for value in HOSTILE:
                query = "&".join(f"{name}={value}" for name in _parameters(example))
                url = f"{_path(template)}?{query}"
                # A stream is left as soon as its status is known.
                async with client.stream("GET", url) as response:
                    if response.status >= 500:
                        failed.append(f"GET {url[:60]}: {response.status}")
    assert not failed, failed


def test_the_parameters_are_found():
    # The examples whose code reads the query string, so the test above checks them.
    assert _parameters("streaming") == ["count"]
    assert "limit" in _parameters("database")
