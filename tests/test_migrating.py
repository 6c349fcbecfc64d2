"""The migration guide's tables: every snippet in the "bareasgi" column runs.

docs/how-to/migrating.md maps the original bareASGI 3.x API onto this one in
tables whose second column holds code. Each row's code is run here, with top-level
``await`` allowed, in a fresh namespace holding the names the page says it
assumes (``app``, ``handler``, ``scope``, ``content``, ...) and the imports its
notes name. A row whose code raises fails with the row's text.
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "how-to" / "migrating.md"
CODE = re.compile(r"`([^`]+)`")
# The names the original's package exported in 3.x (its __all__), and what its
# add-on packages were used for: each must have a row.
ORIGINAL_NAMES = [
    "Application", "Scope", "Header", "Headers", "Info", "RouteMatches", "Content",
    "PushResponse", "PushResponses", "WebSocket", "HttpResponse", "HttpRequestCallback",
    "HttpMiddlewareCallback", "Message", "text_writer", "text_reader", "bytes_writer",
    "bytes_reader", "bytes_response", "text_response", "json_response",
    "encode_set_cookie", "decode_set_cookie", "encode_cookies", "decode_cookies",
    "mw", "BasicHttpRouter", "BasicWebSocketRouter", "PathDefinition",
    "bareasgi_cors", "bareasgi_static", "bareutils.compression", "bareutils.header",
]
PRELUDE = """
import http.cookies
from bareasgi import *
from bareasgi.compression import compression_middleware
from bareasgi.cookies import parse_cookie_header, request_cookies, set_cookie
from bareasgi.cors import CORSMiddleware
from bareasgi.forms import read_form
from bareasgi.headers import find_header, request_header
from bareasgi.static import file_response, static_files


async def handler(scope, info, matches, content):
    return 204


async def ws_handler(scope, info, matches, web_socket):
    await web_socket.accept()


async def on_start(scope, info, message):
    pass


async def middleware(scope, info, matches, content, handler):
    return await handler(scope, info, matches, content)


async def _body():
    yield b"name=ada&"
    yield b"role=admin"


async def _json_body():
    yield b'{"name": "ada"}'


app = Application()
content = _body()
json_content = _json_body()
scope = {
    "type": "http",
    "method": "GET",
    "path": "/",
    "query_string": b"",
    "headers": [
        (b"host", b"example.org"),
        (b"cookie", b"theme=dark"),
        (b"content-type", b"application/x-www-form-urlencoded"),
    ],
}
"""


def rows() -> list[tuple[str, str]]:
    """(original, ours) for every row of the page's three-column tables."""
    found = []
    for line in PAGE.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[1].startswith("`"):
            found.append((cells[0], cells[1]))
    return found


ROWS = rows()


def test_the_page_has_its_tables() -> None:
    assert len(ROWS) >= 30


@pytest.mark.parametrize("name", ORIGINAL_NAMES)
def test_every_name_of_the_original_has_a_row(name: str) -> None:
    assert any(name in original for original, _ in ROWS), f"no row for {name}"


@pytest.mark.parametrize(("original", "ours"), ROWS, ids=[row[0][:40] for row in ROWS])
async def test_the_bareasgi_snippet_of_each_row_runs(original: str, ours: str) -> None:
    namespace: dict[str, Any] = {}
    exec(PRELUDE, namespace)
    source = "\n".join(CODE.findall(ours))
    code = compile(source, "<row>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    result = eval(code, namespace)
    if inspect.iscoroutine(result):
        await result
