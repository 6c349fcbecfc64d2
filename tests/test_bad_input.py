"""Bad input and the clear answer each gets: one parametrized table per kind of input.

Request bodies through the readers (400, 413, 415), paths that do not convert or have odd
segments (404, or what the router defines), methods (405 with ``allow``), response headers
and response tuples a handler gets wrong (500, logged naming the handler and the problem),
writers yielding the wrong type, WebSocket sends of the wrong type (``TypeError``), and
ASGI messages a misbehaving server sends in the wrong order or of unknown types (the
application never raises to the server, never hangs, and always ends a started response).
The routing table is also checked under a real uvicorn, to confirm that the decoded
``scope['path']`` the in-process client builds is what a server gives.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import urllib.error
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from bareasgi import (
    Application,
    BodyWriter,
    Content,
    HTTPError,
    Info,
    RouteMatches,
    Scope,
    WebSocket,
    bytes_reader,
    bytes_writer,
    json_reader,
    json_response,
    text_reader,
    text_writer,
)
from bareasgi.testing import TestClient
from bareasgi.types import Message
from tests.realserver import Server, start_server
from tests.scripted import (
    ScriptedHttpServer,
    ScriptedReceive,
    body_messages,
    http_problems,
    http_scope,
    lifespan_scope,
    run_app,
    websocket_scope,
)

JSON = {"content-type": "application/json"}
Handler = Callable[[Scope, Info, RouteMatches, Content], Any]


def error_text(caplog: pytest.LogCaptureFixture) -> str:
    """Everything logged at ERROR or above, messages and tracebacks."""
    handler = logging.Formatter()
    return "\n".join(
        handler.format(record) for record in caplog.records if record.levelno >= logging.ERROR
    )


# -- request bodies through the readers ---------------------------------------------------------


async def read_json(scope: Scope, info: Info, matches: RouteMatches, content: Content) -> Any:
    return json_response(200, None, await json_reader(content, scope=scope))


async def read_json_limited(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> Any:
    return json_response(200, None, await json_reader(content, max_size=16, scope=scope))


async def read_bytes_limited(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> Any:
    return 200, None, bytes_writer(await bytes_reader(content, max_size=16))


async def read_text(scope: Scope, info: Info, matches: RouteMatches, content: Content) -> Any:
    return 200, None, text_writer(await text_reader(content))


async def read_text_limited(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> Any:
    return 200, None, text_writer(await text_reader(content, max_size=16))


async def read_punycode(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> Any:
    return 200, None, text_writer(await text_reader(content, encoding="punycode"))


def readers_app() -> Application:
    app = Application()
    app.http_router.add({"POST"}, "/json", read_json)
    app.http_router.add({"POST"}, "/json-limited", read_json_limited)
    app.http_router.add({"POST"}, "/bytes-limited", read_bytes_limited)
    app.http_router.add({"POST"}, "/text", read_text)
    app.http_router.add({"POST"}, "/text-limited", read_text_limited)
    app.http_router.add({"POST"}, "/punycode", read_punycode)
    return app


# (what, path, request headers, body, status, part of the answer)
BODY_TABLE: list[tuple[str, str, dict[str, str] | None, bytes, int, str]] = [
    ("truncated JSON", "/json", JSON, b'{"a": ', 400,
     "not valid JSON: Expecting value at line 1 column 7"),
    ("empty JSON body", "/json", JSON, b"", 400, "not valid JSON"),
    ("JSON then garbage", "/json", JSON, b'{"a": 1} trailing', 400, "not valid JSON: Extra data"),
    ("JSON not UTF-8", "/json", JSON, b"\xff\xfe\x00", 400, "not valid JSON"),
    ("JSON single quotes", "/json", JSON, b"{'single': 'quotes'}", 400, "not valid JSON"),
    ("JSON arrays nested 1000 deep", "/json", JSON, b"[" * 1000 + b"]" * 1000, 400,
     "nested too deeply"),
    ("JSON objects nested 100000 deep", "/json", JSON, b'{"a":' * 100_000, 400,
     "nested too deeply"),
    ("JSON sent as text/plain", "/json", {"content-type": "text/plain"}, b"{}", 415,
     "not text/plain"),
    ("JSON sent as application/jsonx", "/json", {"content-type": "application/jsonx"}, b"{}",
     415, "not application/jsonx"),
    ("JSON sent as multipart", "/json", {"content-type": "multipart/form-data; boundary=x"},
     b"{}", 415, "not multipart/form-data"),
    ("JSON without content type", "/json", None, b"{}", 415,
     "send content-type: application/json"),
    ("JSON type in capitals", "/json", {"content-type": "Application/JSON; charset=utf-8"},
     b"[1]", 200, "[1]"),
    ("JSON as a +json type", "/json", {"content-type": "application/problem+json"}, b"{}", 200,
     "{}"),
    ("JSON over max_size", "/json-limited", JSON, b'{"k": "' + b"v" * 9 + b'"}', 413,
     "larger than 16 bytes"),
    ("JSON at max_size", "/json-limited", JSON, b'{"k": "' + b"v" * 7 + b'"}', 200,
     '{"k": "vvvvvvv"}'),
    ("bytes over max_size", "/bytes-limited", None, b"x" * 17, 413, "larger than 16 bytes"),
    ("bytes at max_size", "/bytes-limited", None, b"x" * 16, 200, "x" * 16),
    ("text not UTF-8", "/text", None, b"caf\xe9", 400, "not valid utf-8 text"),
    ("text not punycode", "/punycode", None, b"\\x", 400, "not valid punycode text"),
    ("text over max_size", "/text-limited", None, "é".encode() * 9, 413,
     "larger than 16 bytes"),
    ("text at max_size", "/text-limited", None, "é".encode() * 8, 200, "é" * 8),
]


@pytest.mark.parametrize(
    ("path", "headers", "body", "status", "answer"),
    [pytest.param(*row[1:], id=row[0]) for row in BODY_TABLE],
)
async def test_request_body_gets_its_answer(
    path: str,
    headers: dict[str, str] | None,
    body: bytes,
    status: int,
    answer: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    response = await TestClient(readers_app()).post(path, headers=headers, body=body)

    assert response.status == status, response.text
    assert answer in response.text
    if status >= 400:
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert error_text(caplog) == ""  # bad input is the client's mistake: nothing logged


class EndlessBody:
    """An upload that never ends (or ends after ``count`` chunks), counting those pulled."""

    def __init__(self, chunk: bytes, count: int | None = None) -> None:
        self.chunk = chunk
        self.count = count
        self.pulled = 0

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        while self.count is None or self.pulled < self.count:
            self.pulled += 1
            yield self.chunk


@pytest.mark.parametrize("reader", [bytes_reader, text_reader, json_reader])
async def test_body_over_max_size_is_413_and_reading_stops_at_the_limit(
    reader: Callable[..., Any],
) -> None:
    async def handler(scope: Scope, info: Info, matches: RouteMatches, content: Content) -> Any:
        await reader(content, max_size=10)
        return 200

    app = Application()
    app.http_router.add({"POST"}, "/", handler)
    body = EndlessBody(b"abcd")

    response = await TestClient(app, timeout=5).post("/", headers=JSON, body=body)

    assert response.status == 413
    assert response.text == "The request body is larger than 10 bytes."
    assert body.pulled == 3  # 4 + 4 bytes fit, the third chunk crosses the limit


@pytest.mark.parametrize("reader", [bytes_reader, text_reader, json_reader])
async def test_every_reader_stops_at_1_mib_unless_told_otherwise(
    reader: Callable[..., Any],
) -> None:
    async def handler(scope: Scope, info: Info, matches: RouteMatches, content: Content) -> Any:
        await reader(content)
        return 200

    app = Application()
    app.http_router.add({"POST"}, "/", handler)
    body = EndlessBody(b"x" * 65536, count=64)  # 4 MiB

    response = await TestClient(app, timeout=5).post("/", headers=JSON, body=body)

    assert (response.status, response.text) == (
        413,
        "The request body is larger than 1048576 bytes.",
    )
    assert body.pulled == 17  # 16 chunks of 64 KiB make 1 MiB; the 17th crosses it


@pytest.mark.parametrize("reader", [bytes_reader, text_reader])
async def test_max_size_none_reads_a_body_of_any_size(reader: Callable[..., Any]) -> None:
    async def handler(scope: Scope, info: Info, matches: RouteMatches, content: Content) -> Any:
        return 200, None, bytes_writer(b"%d" % len(await reader(content, max_size=None)))

    app = Application()
    app.http_router.add({"POST"}, "/", handler)

    response = await TestClient(app).post("/", body=b"x" * (3 * 1024 * 1024))

    assert (response.status, response.text) == (200, str(3 * 1024 * 1024))


async def test_wrong_content_type_is_415_before_any_of_the_body_is_read() -> None:
    body = EndlessBody(b"{}")

    response = await TestClient(readers_app(), timeout=5).post(
        "/json", headers={"content-type": "text/html"}, body=body
    )

    assert response.status == 415
    assert body.pulled == 0


# -- what the other parsers make of hostile input -------------------------------------------------


def form_app() -> Application:
    from bareasgi.forms import read_form

    app = Application()

    async def form(scope: Scope, info: Info, matches: RouteMatches, content: Content) -> Any:
        async with await read_form(scope, content) as fields:
            items = [[name, str(value)] for name, value in fields.multi_items()]
            return json_response(200, None, items)

    app.http_router.add({"POST"}, "/form", form)
    return app


def multipart_field(charset: str, value: bytes) -> tuple[dict[str, str], bytes]:
    headers = {"content-type": "multipart/form-data; boundary=b"}
    body = (
        b'--b\r\nContent-Disposition: form-data; name="f"\r\n'
        b"Content-Type: text/plain; charset=" + charset.encode() + b"\r\n\r\n"
        + value + b"\r\n--b--\r\n"
    )
    return headers, body


def urlencoded(charset: str) -> dict[str, str]:
    return {"content-type": f"application/x-www-form-urlencoded; charset={charset}"}


# (what, request headers, body, status, the answer): codecs whose lookup or decoding raise
# something other than LookupError or UnicodeDecodeError.
FORM_TABLE: list[tuple[str, dict[str, str], bytes, int, str]] = [
    ("urlencoded charset with a NUL", urlencoded("utf\x00"), b"a=1", 415,
     "The charset 'utf\\x00' is not supported."),
    ("urlencoded charset idna", urlencoded("idna"), b"a=1", 415,
     "The charset 'idna' is not supported."),
    ("urlencoded punycode that does not decode", urlencoded("punycode"), b"a=\\x", 400,
     "The form is not valid punycode text."),
    ("multipart field charset idna", *multipart_field("idna", b"x"), 415,
     "The charset 'idna' is not supported."),
    ("multipart field punycode that does not decode", *multipart_field("punycode", b"\\x"),
     400, "The field 'f' is not valid punycode text."),
]


@pytest.mark.parametrize(
    ("headers", "body", "status", "answer"),
    [pytest.param(*row[1:], id=row[0]) for row in FORM_TABLE],
)
async def test_form_charsets_that_do_not_work_are_refused_clearly(
    headers: dict[str, str],
    body: bytes,
    status: int,
    answer: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    response = await TestClient(form_app()).post("/form", headers=headers, body=body)

    assert (response.status, response.text) == (status, answer)
    assert error_text(caplog) == ""


# -- paths and methods --------------------------------------------------------------------------


def route(template: str) -> Handler:
    async def answer(scope: Scope, info: Info, matches: RouteMatches, content: Content) -> Any:
        shown = {name: [type(value).__name__, str(value)] for name, value in matches.items()}
        return json_response(200, None, {"route": template, "matches": shown})

    return answer


ROUTES = [
    ({"GET"}, "/items/{id:int}"),
    ({"GET"}, "/price/{value:float}"),
    ({"GET"}, "/files/{rest:path}"),
    ({"GET"}, "/café"),
    ({"GET"}, "/users/{name}"),
    ({"GET"}, "/a/{x}/b"),
    ({"GET", "PUT"}, "/doc"),
]


def routing_app() -> Application:
    app = Application()
    for methods, template in ROUTES:
        app.http_router.add(methods, template, route(template))
    return app


path_app = routing_app()  # what the real-server test serves

# (method, path as the client sends it, status, route that answers, its matches as [type, str])
PATH_TABLE: list[tuple[str, str, int, str | None, dict[str, list[str]]]] = [
    # values that do not convert: no match, 404
    ("GET", "/items/abc", 404, None, {}),
    ("GET", "/items/1.5", 404, None, {}),
    ("GET", "/items/%2B1", 404, None, {}),  # "+1"
    ("GET", "/items/1_000", 404, None, {}),
    ("GET", "/items/%D9%A3", 404, None, {}),  # an Arabic-Indic digit
    ("GET", "/items/" + "9" * 5000, 404, None, {}),  # past Python's int() digit limit
    ("GET", "/items/-7", 200, "/items/{id:int}", {"id": ["int", "-7"]}),
    ("GET", "/price/nan", 404, None, {}),
    ("GET", "/price/inf", 404, None, {}),
    ("GET", "/price/1e999", 404, None, {}),  # overflows to inf: as good as "inf"
    ("GET", "/price/%D9%A1.%D9%A5", 404, None, {}),  # "1.5" in Arabic-Indic digits
    ("GET", "/price/-2.5e3", 200, "/price/{value:float}", {"value": ["float", "-2500.0"]}),
    # percent-encoded and non-ASCII paths: decoded before routing
    ("GET", "/caf%C3%A9", 200, "/café", {}),
    ("GET", "/café", 200, "/café", {}),
    ("GET", "/CAF%C3%89", 404, None, {}),  # literal segments are case-sensitive
    ("GET", "/users/%E2%98%83", 200, "/users/{name}", {"name": ["str", "☃"]}),
    ("GET", "/users/%ZZ", 200, "/users/{name}", {"name": ["str", "%ZZ"]}),  # not an escape
    ("GET", "/users/a%2Fb", 404, None, {}),  # an encoded slash is a slash: two segments
    ("GET", "/users/%20", 200, "/users/{name}", {"name": ["str", " "]}),
    # ".." is a literal segment: never resolved
    ("GET", "/users/..", 200, "/users/{name}", {"name": ["str", ".."]}),
    ("GET", "/users/%2E%2E", 200, "/users/{name}", {"name": ["str", ".."]}),
    ("GET", "/a/../b", 200, "/a/{x}/b", {"x": ["str", ".."]}),
    ("GET", "/users/../doc", 404, None, {}),
    ("GET", "/files/../../etc/passwd", 200, "/files/{rest:path}",
     {"rest": ["str", "../../etc/passwd"]}),
    # empty segments: never a {name} value; kept in a catch-all
    ("GET", "//", 404, None, {}),
    ("GET", "/a//b", 404, None, {}),
    ("GET", "/users/", 404, None, {}),
    ("GET", "/users//", 404, None, {}),
    ("GET", "//users/x", 404, None, {}),
    ("GET", "/files/", 200, "/files/{rest:path}", {"rest": ["str", ""]}),
    ("GET", "/files//", 200, "/files/{rest:path}", {"rest": ["str", "/"]}),
    ("GET", "/files/a//b/", 200, "/files/{rest:path}", {"rest": ["str", "a//b/"]}),
    ("GET", "/files", 404, None, {}),  # the catch-all needs its slash
    ("GET", "/caf%C3%A9/", 404, None, {}),  # trailing slashes are significant
    # methods
    ("POST", "/doc", 405, None, {}),
    ("BREW", "/doc", 405, None, {}),
    ("OPTIONS", "/doc", 405, None, {}),  # no automatic OPTIONS
    ("DELETE", "/items/5", 405, None, {}),
    ("DELETE", "/items/five", 404, None, {}),  # no template matches: 404, not 405
    ("BREW", "/nowhere", 404, None, {}),
    ("PUT", "/doc", 200, "/doc", {}),
]

ALLOW = {"/doc": "GET, HEAD, PUT", "/items/5": "GET, HEAD"}


def path_id(row: tuple[str, str, int, str | None, dict[str, list[str]]]) -> str:
    method, path, status, _, _ = row
    # ASCII ids: pytest escapes others, and a second session in one process (as mutmut
    # runs them) escapes them again, so the id asked for is no longer found.
    shown = "".join(c if c.isascii() else f"<U+{ord(c):04X}>" for c in path[:40])
    return f"{method} {shown} -> {status}"


@pytest.mark.parametrize("row", PATH_TABLE, ids=path_id)
async def test_path_and_method_get_their_answer(
    row: tuple[str, str, int, str | None, dict[str, list[str]]],
) -> None:
    method, path, status, template, matches = row

    response = await TestClient(routing_app()).request(method, path)

    assert response.status == status, response.text
    if status == 200:
        assert response.json() == {"route": template, "matches": matches}
    elif status == 405:
        assert response.headers["allow"] == ALLOW[path]
    else:
        assert response.text == "Not Found"


@pytest.mark.parametrize("method", ["get", "Get", "", "GET "])
async def test_method_that_is_not_an_exact_upper_case_name_is_405(method: str) -> None:
    server = ScriptedHttpServer(body_messages([b""]))

    await run_app(routing_app(), http_scope(method, "/doc"), server.receive, server.send)

    assert server.status == 405
    assert server.start is not None
    assert dict(server.start["headers"])[b"allow"] == b"GET, HEAD, PUT"


@pytest.fixture(scope="module")
def uvicorn_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with start_server(
        "uvicorn",
        "tests.test_bad_input:path_app",
        tmp_dir=tmp_path_factory.mktemp("paths"),
        probe_path="/doc",
    ) as running:
        yield running
    assert running.server_errors() == [], running.stderr()


REAL_SERVER_ROWS = [
    row
    for row in PATH_TABLE
    if row[1].isascii()
    and row[1].startswith(("/caf", "/users/%", "/users/..", "/a/..", "/a//", "//", "/files/"))
]


@pytest.mark.parametrize("row", REAL_SERVER_ROWS, ids=path_id)
def test_real_server_decodes_the_path_as_the_test_client_does(
    uvicorn_server: Server, row: tuple[str, str, int, str | None, dict[str, list[str]]]
) -> None:
    method, path, status, template, matches = row
    # http.client sends the path exactly as given: no normalisation of "..", "//" or escapes.
    connection = http.client.HTTPConnection("127.0.0.1", uvicorn_server.port, timeout=10)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()

    assert response.status == status, body
    if status == 200:
        assert json.loads(body) == {"route": template, "matches": matches}


# -- response headers ---------------------------------------------------------------------------

BAD_HEADERS: list[tuple[str, object, str]] = [
    ("CRLF in a value", [(b"x-evil", b"a\r\nset-cookie: stolen=1")], "b'x-evil'"),
    ("LF in a value", [(b"x-evil", b"a\nb")], "b'x-evil'"),
    ("CR in a value", [(b"x-evil", b"a\rb")], "b'x-evil'"),
    ("NUL in a value", [(b"x-evil", b"a\x00b")], "b'x-evil'"),
    ("CRLF in a name", [(b"x-evil\r\nset-cookie", b"v")], "b'x-evil\\r\\nset-cookie'"),
    ("colon in a name", [(b"x-evil:", b"v")], "b'x-evil:'"),
    ("space in a name", [(b"x evil", b"v")], "b'x evil'"),
    ("empty name", [(b"", b"v")], "b''"),
    ("non-ASCII name", [("x-évil".encode(), b"v")], "b'x-\\xc3\\xa9vil'"),
    ("str value, not latin-1", [(b"x-evil", "snow \u2603")], "b'x-evil'"),
    ("str value, latin-1", [(b"x-evil", "caf\u00e9")], "b'x-evil'"),
    ("str name", [("x-evil", b"v")], "'x-evil'"),
    ("int value", [(b"x-evil", 5)], "b'x-evil'"),
    ("one bad header among good ones",
     [(b"x-good", b"1"), (b"x-evil", b"\r\n"), (b"x-good", b"2")], "b'x-evil'"),
    ("a triple", [(b"x-evil", b"1", b"2")], "b'x-evil'"),
    ("a dict", {"x-evil": "v"}, "x-evil"),
    ("flat bytes", [b"x-evil"], "x-evil"),
    ("one bytes string", b"x-evil: v", "x-evil"),
]


@pytest.mark.parametrize(
    ("headers", "named"),
    [pytest.param(headers, named, id=name) for name, headers, named in BAD_HEADERS],
)
async def test_bad_response_header_is_a_500_logged_by_name_and_never_reaches_the_server(
    headers: object, named: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def header_handler(
        scope: Scope, info: Info, matches: RouteMatches, content: Content
    ) -> Any:
        return 200, headers, text_writer("ok")

    app = Application()
    app.http_router.add({"GET"}, "/", header_handler)
    server = ScriptedHttpServer(body_messages([b""]))

    await run_app(app, http_scope(), server.receive, server.send)

    assert server.start is not None
    assert server.status == 500
    assert all(b"evil" not in bytes(name) for name, _ in server.start["headers"])
    assert server.body == b"Internal Server Error"
    assert http_problems(server.sent) == []
    logged = error_text(caplog)
    assert "header_handler" in logged and named in logged, logged


async def test_headers_from_a_one_shot_iterator_are_sent_or_refused_never_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def generated_headers(
        scope: Scope, info: Info, matches: RouteMatches, content: Content
    ) -> Any:
        headers = ((name, value) for name, value in [(b"x-generated", b"yes")])
        return 200, headers, text_writer("ok")

    app = Application()
    app.http_router.add({"GET"}, "/", generated_headers)

    response = await TestClient(app).get("/")

    if response.status == 500:
        assert "generated_headers" in error_text(caplog)
    else:
        assert response.headers.get("x-generated") == "yes", (
            f"{response.status} with headers {response.headers.raw}: the header check "
            "consumed the generator and the server got none of its headers"
        )


# -- malformed response tuples ------------------------------------------------------------------


async def never_called_writer() -> AsyncIterator[bytes]:
    yield b"never"  # pragma: no cover - only ever passed uncalled


def sync_generator() -> Iterator[bytes]:
    yield b"sync"  # pragma: no cover - never iterated


async def coroutine_writer() -> bytes:
    return b"not a writer"  # pragma: no cover - the handler closes it unawaited


MALFORMED: list[tuple[str, Callable[[], object], str]] = [
    ("empty tuple", lambda: (), "returned ()"),
    ("five items", lambda: (200, None, None, None, None), "returned (200, None, None, None, None)"),
    ("None", lambda: None, "returned None"),
    ("a str", lambda: "200 OK", "returned '200 OK'"),
    ("a dict", lambda: {"status": 200}, "returned {'status': 200}"),
    ("a list", lambda: [200, None], "returned [200, None]"),
    ("status str", lambda: ("200", None, None, None), "returned ('200', None, None, None)"),
    ("status float", lambda: (200.0,), "returned (200.0,)"),
    ("status bool", lambda: (True, None), "returned (True, None)"),
    ("status None", lambda: (None, None, text_writer("x")), "returned (None, None,"),
    ("headers dict", lambda: (200, {"x-a": "1"}), "not {'x-a': '1'}"),
    ("headers str pairs", lambda: (200, [("x-a", "1")]), "is not a pair of bytes"),
    ("headers int", lambda: (200, 5), "not 5"),
    ("writer bytes", lambda: (200, None, b"body"), "not async iterable"),
    ("writer str", lambda: (200, None, "body"), "not async iterable"),
    ("writer list", lambda: (200, None, [b"a", b"b"]), "not async iterable"),
    ("writer sync generator", lambda: (200, None, sync_generator()), "not async iterable"),
    ("writer function not called", lambda: (200, None, never_called_writer),
     "not async iterable"),
    ("writer int", lambda: (200, None, 7, None), "not async iterable"),
    ("pushes int", lambda: (200, None, text_writer("x"), 5), "push"),
    ("pushes without headers", lambda: (200, None, text_writer("x"), [("/a",)]), "push"),
    ("pushes a str", lambda: (200, None, text_writer("x"), "/style.css"), "push"),
]


@pytest.mark.parametrize(
    ("make", "problem"),
    [pytest.param(make, problem, id=name) for name, make, problem in MALFORMED],
)
async def test_malformed_response_is_a_500_logged_naming_the_handler_and_the_problem(
    make: Callable[[], object], problem: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def malformed_handler(
        scope: Scope, info: Info, matches: RouteMatches, content: Content
    ) -> Any:
        return make()

    app = Application()
    app.http_router.add({"GET"}, "/", malformed_handler)
    server = ScriptedHttpServer(body_messages([b""]))
    scope = http_scope(extensions={"http.response.push": {}})  # pushes are used, not ignored

    await run_app(app, scope, server.receive, server.send)

    assert (server.status, server.body) == (500, b"Internal Server Error"), server.sent
    assert http_problems(server.sent) == []
    assert server.response_ended
    logged = error_text(caplog)
    assert "malformed_handler" in logged and problem in logged, logged


async def test_coroutine_returned_as_a_writer_is_a_500(caplog: pytest.LogCaptureFixture) -> None:
    made = []

    async def forgot_async_generator(
        scope: Scope, info: Info, matches: RouteMatches, content: Content
    ) -> Any:
        made.append(coroutine_writer())
        return 200, None, made[0]

    app = Application()
    app.http_router.add({"GET"}, "/", forgot_async_generator)

    response = await TestClient(app).get("/")
    made[0].close()  # Python would warn that it was never awaited: that is the user's bug

    assert response.status == 500
    logged = error_text(caplog)
    assert "forgot_async_generator" in logged and "not async iterable" in logged


# An HTTPError is made by the handler's author; one whose body or headers cannot be sent is
# that author's mistake, like a malformed response: a logged 500, never an escaped exception.
UNSENDABLE_ERRORS = [
    ("body of int", lambda: HTTPError(400, 123), "a response body is bytes, not int"),  # type: ignore[arg-type]
    ("headers as a dict", lambda: HTTPError(400, "no", {"x-a": "1"}), "HTTPError(400"),  # type: ignore[arg-type]
    ("header not a pair", lambda: HTTPError(400, b"no", [b"x-a"]), "HTTPError(400"),  # type: ignore[list-item]
    ("header of str", lambda: HTTPError(401, None, [("x-a", "1")]), "is not a pair of bytes"),  # type: ignore[list-item]
    (
        "urllib's, header not a pair",
        lambda: urllib.error.HTTPError("/", 403, "no", [b"x-a"], None),  # type: ignore[arg-type]
        "HTTPError 403",
    ),
]


@pytest.mark.parametrize(
    ("make", "problem"),
    [pytest.param(make, problem, id=name) for name, make, problem in UNSENDABLE_ERRORS],
)
@pytest.mark.parametrize("where", ["handler", "middleware"])
async def test_http_error_that_cannot_be_sent_is_a_500_logged_naming_the_raiser(
    make: Callable[[], Exception], problem: str, where: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def raising_handler(
        scope: Scope, info: Info, matches: RouteMatches, content: Content
    ) -> Any:
        raise make()

    async def ok_handler(scope: Scope, info: Info, matches: RouteMatches, content: Content) -> Any:
        return 204

    async def raising_middleware(
        scope: Scope, info: Info, matches: RouteMatches, content: Content, handler: Any
    ) -> Any:
        raise make()

    if where == "handler":
        app = Application()
        app.http_router.add({"GET"}, "/", raising_handler)
        raiser = "raising_handler"
    else:
        app = Application(middlewares=[raising_middleware])
        app.http_router.add({"GET"}, "/", ok_handler)
        raiser = "raising_middleware"
    server = ScriptedHttpServer(body_messages([b""]))

    await run_app(app, http_scope(), server.receive, server.send)

    assert (server.status, server.body) == (500, b"Internal Server Error"), server.sent
    assert http_problems(server.sent) == []
    logged = error_text(caplog)
    assert raiser in logged and problem in logged, logged


# -- writers yielding the wrong type ------------------------------------------------------------


def yielding(*chunks: object) -> Callable[[], object]:
    async def writer() -> AsyncIterator[object]:
        for chunk in chunks:
            yield chunk

    return writer


WRONG_CHUNKS: list[tuple[str, Callable[[], object], str]] = [
    ("str first", yielding("text"), "yielded str"),
    ("str after bytes", yielding(b"ok", "text"), "yielded str"),
    ("int", yielding(b"ok", 42), "yielded int"),
    ("dict", yielding({"a": 1}), "yielded dict"),
    ("list of bytes", yielding([b"a"]), "yielded list"),
    ("bytes_writer given a str", lambda: bytes_writer("text"), "str"),  # type: ignore[arg-type]
    ("BodyWriter of str chunks", lambda: BodyWriter(("a", "b")), "str"),  # type: ignore[arg-type]
    ("BodyWriter of an int", lambda: BodyWriter((1,)), "int"),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(
    ("make_writer", "problem"),
    [pytest.param(make, problem, id=name) for name, make, problem in WRONG_CHUNKS],
)
async def test_writer_of_something_other_than_bytes_never_reaches_the_server(
    make_writer: Callable[[], object], problem: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def wrong_writer_handler(
        scope: Scope, info: Info, matches: RouteMatches, content: Content
    ) -> Any:
        return 200, None, make_writer()

    app = Application()
    app.http_router.add({"GET"}, "/", wrong_writer_handler)
    server = ScriptedHttpServer(body_messages([b""]))

    await run_app(app, http_scope(), server.receive, server.send)

    assert http_problems(server.sent) == []  # every body is bytes
    assert server.response_ended
    assert server.body in (b"", b"ok", b"Internal Server Error")
    logged = error_text(caplog)
    assert "wrong_writer_handler" in logged and problem in logged, logged


# -- WebSocket sends of other types -------------------------------------------------------------


class Text(str):
    pass


@pytest.mark.parametrize(
    "data",
    [42, 4.2, 1j, None, True, {"a": 1}, ["x"], ("t",), object()],
    ids=lambda data: type(data).__name__,
)
async def test_websocket_send_of_another_type_is_a_type_error_naming_it(data: object) -> None:
    async def sender(
        scope: Scope, info: Info, matches: RouteMatches, web_socket: WebSocket
    ) -> None:
        await web_socket.accept()
        try:
            await web_socket.send(data)  # type: ignore[arg-type]
        except TypeError as error:
            await web_socket.send(f"TypeError: {error}")

    app = Application()
    app.ws_router.add("/ws", sender)

    async with TestClient(app, timeout=5).websocket("/ws") as ws:
        answer = await ws.receive()

    assert answer == f"TypeError: WebSocket.send() takes str or bytes, not {type(data).__name__}"


@pytest.mark.parametrize(
    ("data", "received"),
    [(Text("sub"), "sub"), (bytearray(b"ba"), b"ba"), (memoryview(b"mv"), b"mv")],
    ids=["str subclass", "bytearray", "memoryview"],
)
async def test_websocket_send_of_str_or_bytes_like_is_sent_as_text_or_bytes(
    data: object, received: object
) -> None:
    async def sender(
        scope: Scope, info: Info, matches: RouteMatches, web_socket: WebSocket
    ) -> None:
        await web_socket.accept()
        await web_socket.send(data)  # type: ignore[arg-type]

    app = Application()
    app.ws_router.add("/ws", sender)

    async with TestClient(app, timeout=5).websocket("/ws") as ws:
        answer = await ws.receive()

    assert answer == received and type(answer) is type(received)


# -- a misbehaving server -----------------------------------------------------------------------


async def echo_body(scope: Scope, info: Info, matches: RouteMatches, content: Content) -> Any:
    return 200, None, bytes_writer(await bytes_reader(content))


async def echo_while_streaming(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> Any:
    async def echo() -> AsyncIterator[bytes]:
        yield b"start;"
        async for chunk in content:
            yield chunk

    return 200, None, echo()


async def ignore_body(scope: Scope, info: Info, matches: RouteMatches, content: Content) -> Any:
    return 200, None, text_writer("answered")


async def endless_stream(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> Any:
    async def ticks() -> AsyncIterator[bytes]:
        while True:
            yield b"tick;"
            await asyncio.sleep(0.001)

    return 200, None, ticks()


UNKNOWN = {"type": "http.unknown.event"}
DISCONNECT = {"type": "http.disconnect"}
PART_ONE = {"type": "http.request", "body": b"one;", "more_body": True}
PART_TWO = {"type": "http.request", "body": b"two", "more_body": False}

# (handler, what receive returns, status, body the client gets; None: the client is gone)
HTTP_SCRIPTS: list[tuple[str, Handler, list[dict[str, Any]], int | None, bytes | None]] = [
    ("unknown type before the body", echo_body, [UNKNOWN, PART_ONE, PART_TWO], 200, b"one;two"),
    ("unknown type within the body", echo_body, [PART_ONE, UNKNOWN, UNKNOWN, PART_TWO], 200,
     b"one;two"),
    ("no type key", echo_body, [{"body": b"x"}, PART_TWO], 500, b"Internal Server Error"),
    ("a body after the last one", echo_body, [PART_TWO, PART_ONE], 200, b"two"),
    ("disconnect before any body, body read", echo_body, [DISCONNECT], None, None),
    ("disconnect before any body, body ignored", ignore_body, [DISCONNECT], 200, None),
    ("disconnect before any body, streaming", endless_stream, [DISCONNECT], 200, None),
    ("disconnect mid-body, body read", echo_body, [PART_ONE, DISCONNECT], None, None),
    ("disconnect mid-body, writer reads it", echo_while_streaming, [PART_ONE, DISCONNECT], 200,
     None),
    ("unknown type while a writer reads the body", echo_while_streaming,
     [PART_ONE, UNKNOWN, PART_TWO], 200, b"start;one;two"),
]


@pytest.mark.parametrize(
    ("handler", "script", "status", "body"),
    [pytest.param(*row[1:], id=row[0]) for row in HTTP_SCRIPTS],
)
async def test_misbehaving_http_server_never_gets_an_exception_or_an_unended_response(
    handler: Handler, script: list[dict[str, Any]], status: int | None, body: bytes | None
) -> None:
    app = Application()
    app.http_router.add({"POST"}, "/", handler)
    server = ScriptedHttpServer(script)
    before = asyncio.all_tasks()

    await run_app(app, http_scope("POST"), server.receive, server.send)
    await asyncio.sleep(0)  # one loop iteration for a cancelled watcher to finish

    assert http_problems(server.sent) == []
    assert server.status == status
    if body is not None:
        assert server.body == body
        assert server.response_ended
    assert asyncio.all_tasks() - before == set()


async def test_server_whose_receive_fails_while_a_writer_reads_the_body_does_not_hang(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The disconnect watcher owns ``receive`` while streaming; when it fails, the writer
    waiting for the next body chunk must not wait forever."""

    class FailingReceive(ScriptedHttpServer):
        async def receive(self) -> Message:
            if self.receives:
                raise RuntimeError("server bug")
            return await super().receive()

    app = Application()
    app.http_router.add({"POST"}, "/", echo_while_streaming)
    server = FailingReceive([PART_ONE])

    await run_app(app, http_scope("POST"), server.receive, server.send, timeout=2.0)

    assert http_problems(server.sent) == []
    assert server.response_ended
    assert server.body.startswith(b"start;one;")
    assert "Receiving failed; no longer watching" in caplog.text


async def connect_echo(scope: Scope, info: Info, matches: RouteMatches, ws: WebSocket) -> None:
    await ws.accept()
    async for message in ws:
        await ws.send(message)


WS_CONNECT = {"type": "websocket.connect"}
WS_TEXT = {"type": "websocket.receive", "text": "hi"}
WS_GONE = {"type": "websocket.disconnect", "code": 1001}

# (what receive returns, the types of the messages the application sends)
WS_SCRIPTS: list[tuple[str, list[dict[str, Any]], list[str]]] = [
    ("receive before connect", [WS_TEXT, WS_CONNECT, WS_GONE], []),
    ("disconnect before connect", [WS_GONE], []),
    ("unknown type first", [{"type": "websocket.unknown"}, WS_CONNECT], []),
    ("unknown type in the conversation",
     [WS_CONNECT, {"type": "websocket.unknown"}, WS_TEXT, WS_GONE],
     ["websocket.accept", "websocket.send"]),
    ("http message in the conversation",
     [WS_CONNECT, {"type": "http.request", "body": b"x"}, WS_TEXT, WS_GONE],
     ["websocket.accept", "websocket.send"]),
    ("connect twice", [WS_CONNECT, WS_CONNECT, WS_TEXT, WS_GONE],
     ["websocket.accept", "websocket.send"]),
    ("receive without text or bytes", [WS_CONNECT, {"type": "websocket.receive"}, WS_GONE],
     ["websocket.accept", "websocket.send"]),
]


@pytest.mark.parametrize(
    ("script", "sent"), [pytest.param(*row[1:], id=row[0]) for row in WS_SCRIPTS]
)
async def test_misbehaving_websocket_server_never_gets_an_exception(
    script: list[dict[str, Any]], sent: list[str]
) -> None:
    app = Application()
    app.ws_router.add("/ws", connect_echo)
    server = ScriptedReceive(script)

    await run_app(app, websocket_scope(), server.receive, server.send)

    assert [message["type"] for message in server.sent] == sent


LIFESPAN_SCRIPTS: list[tuple[str, list[dict[str, Any]], list[str], list[str]]] = [
    ("unknown type first",
     [{"type": "lifespan.unknown"}, {"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}],
     ["lifespan.startup.complete", "lifespan.shutdown.complete"], ["up", "down"]),
    ("unknown type between",
     [{"type": "lifespan.startup"}, {"type": "http.request"}, {"type": "lifespan.shutdown"}],
     ["lifespan.startup.complete", "lifespan.shutdown.complete"], ["up", "down"]),
    ("shutdown without startup", [{"type": "lifespan.shutdown"}],
     ["lifespan.shutdown.complete"], ["down"]),
]


@pytest.mark.parametrize(
    ("script", "sent", "ran"), [pytest.param(*row[1:], id=row[0]) for row in LIFESPAN_SCRIPTS]
)
async def test_misbehaving_lifespan_server_never_gets_an_exception(
    script: list[dict[str, Any]], sent: list[str], ran: list[str]
) -> None:
    calls: list[str] = []

    async def up(scope: Scope, info: Info, message: Any) -> None:
        calls.append("up")

    async def down(scope: Scope, info: Info, message: Any) -> None:
        calls.append("down")

    app = Application(startup_handlers=[up], shutdown_handlers=[down])
    server = ScriptedReceive(script)

    await run_app(app, lifespan_scope(), server.receive, server.send)

    assert [message["type"] for message in server.sent] == sent
    assert calls == ran


async def test_unknown_scope_type_raises_as_the_asgi_spec_asks() -> None:
    server = ScriptedReceive([])

    with pytest.raises(ValueError, match="'webtransport'"):
        await run_app(Application(), {"type": "webtransport"}, server.receive, server.send)
    assert server.sent == []

