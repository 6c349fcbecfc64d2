"""Properties checked on random inputs with hypothesis.

(a) The router against a reference matcher written here from the documented rules (see
``docs/explanation/routing.md``): random route tables, random paths and methods, and
registration that either succeeds or raises ``ValueError``/``TypeError`` naming the route.

(b) Whole exchanges at the ASGI level: random handler results (a bare status, tuples of 1
to 4 items with ``None`` items, in-memory or streaming writers yielding random chunks,
raising at random points), random request body chunkings and a client that may
disconnect at any point. Whatever happens, the application never raises to the server,
never hangs, sends a valid message sequence that ends unless the client went away, closes
any writer it started, and leaves no asyncio task behind.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import tempfile
import zlib
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bareasgi import (
    Application,
    BodyWriter,
    Content,
    HTTPError,
    HttpRouter,
    Info,
    RouteMatches,
    Scope,
    json_reader,
)
from bareasgi.compression import compression_middleware
from bareasgi.http import header_problem
from bareasgi.static import static_files
from bareasgi.testing import TestClient
from tests.fuzzing import property_settings
from tests.scripted import ScriptedHttpServer, body_messages, http_problems, http_scope, run_app

SETTINGS = property_settings(200)

# -- (a) the router against a reference matcher -------------------------------------------------

METHODS = ("GET", "POST", "PUT", "DELETE", "HEAD")
LITERALS = ("a", "1", "x.y", "")  # "" makes a trailing slash or a double slash
NAMES = ("a", "b", "path")
VARIABLE_TYPES = ("", ":str", ":int", ":float")
MALFORMED_SEGMENTS = ("{a", "a}", "x{a}", "{a:uuid}", "{1a}", "{a:int:%d}", "{}", "{a}{b}")
PATH_SEGMENTS = ("a", "b", "1", "-2", "007", "3.5", ".5", "7.", "1e3", "+1", "x.y", "", "..")
VALUES = ("1", "1", "-2", "3.5", "a", "")  # values that fit several variable types, or none
STRICTNESS = {"int": 1, "float": 2, "datetime": 3, "str": 4}
INT = re.compile(r"-?[0-9]+")
FLOAT = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")


@dataclass(frozen=True)
class Segment:
    """One parsed template segment: literal text, a variable, or the catch-all."""

    kind: str  # "literal", "variable" or "catch-all"
    text: str  # the literal text, or the variable's name
    type: str = ""  # a variable's type


@dataclass
class Route:
    """A route as the reference sees it."""

    index: int
    template: str
    methods: frozenset[str]
    segments: tuple[Segment, ...]

    @property
    def catch_all(self) -> Segment | None:
        last = self.segments[-1] if self.segments else None
        return last if last is not None and last.kind == "catch-all" else None

    @property
    def fixed(self) -> tuple[Segment, ...]:
        return self.segments[:-1] if self.catch_all else self.segments


def parse_template(text: str) -> tuple[Segment, ...] | None:
    """The documented template rules; None when the template must be refused."""
    parts = text[1:].split("/")
    segments: list[Segment] = []
    names: set[str] = set()
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if "{" not in part and "}" not in part:
            segments.append(Segment("literal", part))
            continue
        found = re.fullmatch(r"\{([^{}:]*)(?::([^{}:]*))?\}", part)
        if found is None:
            return None
        name, type_ = found.group(1), found.group(2)
        if not name.isidentifier() or name in names:
            return None
        names.add(name)
        if type_ == "path" or (type_ is None and name == "path" and last):
            if not last:
                return None
            segments.append(Segment("catch-all", name))
        elif (type_ or "str") in ("str", "int", "float"):
            segments.append(Segment("variable", name, type_ or "str"))
        else:
            return None
    return tuple(segments)


def convert(type_: str, text: str) -> tuple[bool, object]:
    """The documented converters: (converted?, value)."""
    if type_ == "str":
        return bool(text), text
    if type_ == "int":
        return (True, int(text)) if INT.fullmatch(text) else (False, None)
    if FLOAT.fullmatch(text) and math.isfinite(float(text)):
        return True, float(text)
    return False, None


class ReferenceRouter:
    """A plain list of routes, matched by the documented rules, in the simplest way.

    Every route whose template matches is a candidate; the winner has the smallest key,
    compared segment by segment: a literal beats a variable, a stricter type beats a
    looser one, variables of the same type at the same place are tried in the order
    they were first registered there, and the catch-all comes last.
    """

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, template: str, methods: object, handler_is_async: bool) -> set[type[Exception]]:
        """Register, or say which errors the documented rules allow (none: it succeeds).

        A registration with several mistakes may report any one of them.
        """
        errors: set[type[Exception]] = set()
        segments = parse_template(template)
        if segments is None:
            errors.add(ValueError)
        names = list(methods) if isinstance(methods, (set, frozenset)) else None
        if names is None or not all(isinstance(name, str) for name in names):
            errors.add(TypeError)
        elif not names or not all(re.fullmatch(r"[A-Z][A-Z-]*", name) for name in names):
            errors.add(ValueError)
        if not handler_is_async:
            errors.add(TypeError)
        if errors:
            return errors
        assert segments is not None
        route = Route(len(self.routes), template, frozenset(names or ()), segments)
        for other in self.routes:
            if other.segments == route.segments and other.methods & route.methods:
                return {ValueError}  # already registered
            if (
                route.catch_all
                and other.catch_all
                and other.fixed == route.fixed
                and other.catch_all != route.catch_all
            ):
                return {ValueError}  # two catch-alls with different names at the same place
        self.routes.append(route)
        return set()

    def _bind(self, route: Route, segments: list[str]) -> RouteMatches | None:
        fixed = route.fixed
        if route.catch_all is None and len(segments) != len(fixed):
            return None
        if route.catch_all is not None and len(segments) <= len(fixed):
            return None  # the catch-all needs its slash
        values: RouteMatches = {}
        for segment, text in zip(fixed, segments[: len(fixed)], strict=True):
            if segment.kind == "literal":
                if segment.text != text:
                    return None
                continue
            ok, value = convert(segment.type, text)
            if not ok:
                return None
            values[segment.text] = value
        if route.catch_all is not None:
            values[route.catch_all.text] = "/".join(segments[len(fixed) :])
        return values

    def _key(self, route: Route) -> tuple[tuple[int, ...], ...]:
        key: list[tuple[int, ...]] = []
        for position, segment in enumerate(route.segments):
            if segment.kind == "literal":
                key.append((0,))
            elif segment.kind == "catch-all":
                key.append((5,))
            else:
                prefix = route.segments[: position + 1]
                first = min(r.index for r in self.routes if r.segments[: position + 1] == prefix)
                key.append((STRICTNESS[segment.type], first))
        return tuple(key)

    def _find(self, method: str, segments: list[str]) -> tuple[Route, RouteMatches] | None:
        candidates = []
        for route in self.routes:
            if method in route.methods:
                values = self._bind(route, segments)
                if values is not None:
                    candidates.append((self._key(route), route.index, route, values))
        if not candidates:
            return None
        _, _, route, values = min(candidates, key=lambda c: (c[0], c[1]))
        return route, values

    def resolve(self, method: str, path: str) -> tuple[str, Any]:
        """("route", (index, matches)), ("405", allow header) or ("404", None)."""
        segments = path[1:].split("/")
        found = self._find(method, segments)
        if found is None and method == "HEAD":
            found = self._find("GET", segments)
        if found is not None:
            return "route", (found[0].index, found[1])
        allowed: set[str] = set()
        for route in self.routes:
            if self._bind(route, segments) is not None:
                allowed |= route.methods
        if not allowed:
            return "404", None
        if "GET" in allowed:
            allowed.add("HEAD")
        return "405", ", ".join(sorted(allowed))


def run_now(call: Awaitable[Any]) -> Any:
    """Run a coroutine that never suspends (the router's fixed responses) to its result."""
    assert isinstance(call, Coroutine)
    try:
        call.send(None)
    except StopIteration as stop:
        return stop.value
    raise AssertionError("the coroutine suspended")


EMPTY_BODY = BodyWriter()  # the router's fixed responses never read the body


def make_handler(index: int, is_async: bool) -> Any:
    if is_async:

        async def handler(*_: Any) -> Any:
            return 204

    else:

        def handler(*_: Any) -> Any:  # type: ignore[misc]
            return 204

    handler.__qualname__ = f"handler_{index}"
    return handler


@st.composite
def template_parts(draw: st.DrawFn) -> list[str]:
    """The segments of a template, without the leading slash; a few of them malformed."""
    parts = []
    for _ in range(draw(st.sampled_from([0, 1, 1, 1, 2, 2, 3]))):
        kind = draw(st.sampled_from(["literal", "variable", "variable", "malformed"]))
        if kind == "variable":
            name = draw(st.sampled_from(NAMES))
            parts.append("{" + name + draw(st.sampled_from(VARIABLE_TYPES)) + "}")
        elif kind == "malformed" and draw(st.integers(0, 9)) == 0:
            parts.append(draw(st.sampled_from(MALFORMED_SEGMENTS)))
        else:
            parts.append(draw(st.sampled_from(LITERALS)))
    ending = draw(st.sampled_from(["", "", "{rest:path}", "{path}", "{a:path}"]))
    if ending:
        if parts and draw(st.integers(0, 9)) == 0:
            parts.insert(draw(st.integers(0, len(parts) - 1)), ending)  # not last: refused
        else:
            parts.append(ending)
    return parts


@st.composite
def templates(draw: st.DrawFn, bases: list[list[str]]) -> str:
    """A new template, or a variation of one drawn before, so that routes often overlap."""
    if not bases or draw(st.integers(0, 2)) == 0:
        parts = draw(template_parts())
        bases.append(parts)
    else:
        parts = list(draw(st.sampled_from(bases)))
        if parts:
            index = draw(st.integers(0, len(parts) - 1))
            if draw(st.booleans()):  # another variable at the same place: which one wins?
                name = draw(st.sampled_from(NAMES))
                parts[index] = "{" + name + draw(st.sampled_from(VARIABLE_TYPES)) + "}"
            else:
                parts[index : index + 1] = draw(template_parts())[:1]
    return "/" + "/".join(parts)


@st.composite
def method_sets(draw: st.DrawFn) -> object:
    choice = draw(st.integers(0, 19))
    if choice == 0:
        return "GET"  # a string, not a set: TypeError
    if choice == 1:
        return set()
    if choice == 2:
        return {"get"}
    if choice < 12:
        return {"GET"}  # overlapping methods make routes compete
    return set(draw(st.lists(st.sampled_from(METHODS[:4]), min_size=1, max_size=3)))


@st.composite
def paths(draw: st.DrawFn, templates_: list[str]) -> str:
    """A path: random segments, or one made to fit a registered template."""
    if templates_ and draw(st.integers(0, 3)) > 0:
        template = draw(st.sampled_from(templates_))
        parts = template[1:].split("/")
        segments = []
        for index, part in enumerate(parts):
            if part.endswith(":path}") or (part == "{path}" and index == len(parts) - 1):
                rest = st.lists(st.sampled_from(PATH_SEGMENTS), min_size=1, max_size=2)
                segments.extend(draw(rest))  # at least one segment: the catch-all needs a slash
            elif part.startswith("{") or draw(st.integers(0, 9)) == 0:
                segments.append(draw(st.sampled_from(VALUES)))
            else:
                segments.append(part)
        return "/" + "/".join(segments)
    free = st.one_of(st.sampled_from(VALUES), st.sampled_from(PATH_SEGMENTS), st.text("ab1.-"))
    return "/" + "/".join(draw(st.lists(free, min_size=1, max_size=4)))


@given(data=st.data())
@SETTINGS
def test_router_agrees_with_the_reference_matcher(data: st.DataObject) -> None:
    router = HttpRouter()
    reference = ReferenceRouter()
    handlers: dict[int, Any] = {}
    registered: list[str] = []
    bases: list[list[str]] = []
    for index in range(data.draw(st.integers(1, 10), label="routes")):
        template = data.draw(templates(bases), label=f"template {index}")
        methods = data.draw(method_sets(), label=f"methods {index}")
        is_async = data.draw(st.integers(0, 19), label=f"async {index}") != 0
        handler = make_handler(index, is_async)
        expected_errors = reference.add(template, methods, is_async)
        try:
            router.add(methods, template, handler)  # type: ignore[arg-type]
        except (ValueError, TypeError) as error:
            assert expected_errors, f"{template} {methods}: refused with {error!r}"
            assert type(error) in expected_errors, f"{template} {methods}: {error!r}"
            assert template in str(error), f"the message does not name the route: {error}"
        else:
            assert not expected_errors, f"{template} {methods}: accepted, not {expected_errors}"
            handlers[len(reference.routes) - 1] = handler
            registered.append(template)

    methods = st.sampled_from(("GET", "GET", "GET", *METHODS, "BREW"))
    requests = st.tuples(methods, paths(registered))
    for method, path in data.draw(st.lists(requests, min_size=1, max_size=12), label="requests"):
        outcome, detail = reference.resolve(method, path)
        handler, matches = router.resolve(method, path)
        where = f"{method} {path} with {[(r.template, set(r.methods)) for r in reference.routes]}"
        if outcome == "route":
            index, values = detail
            assert handler is handlers[index], f"{where}: expected route {index}, got {handler}"
            assert matches == values, where
            assert {k: type(v) for k, v in matches.items()} == {
                k: type(v) for k, v in values.items()
            }, where
        elif outcome == "405":
            status, headers, _, _ = run_now(handler({}, {}, {}, EMPTY_BODY))
            assert status == 405, where
            assert dict(headers)[b"allow"] == detail.encode(), where
            assert matches == {}
        else:
            assert handler is router.not_found, where
            assert matches == {}


def test_reference_matcher_follows_the_documented_examples() -> None:
    """The reference itself, on the examples of docs/explanation/routing.md."""
    reference = ReferenceRouter()
    for methods, template in [
        ({"GET"}, "/items/new"),
        ({"GET"}, "/items/{id:int}"),
        ({"GET"}, "/items/{name}"),
        ({"DELETE"}, "/items/{key}"),
        ({"GET"}, "/files/{path}"),
    ]:
        assert reference.add(template, methods, True) == set()

    assert reference.resolve("GET", "/items/new") == ("route", (0, {}))
    assert reference.resolve("GET", "/items/42") == ("route", (1, {"id": 42}))
    assert reference.resolve("GET", "/items/abc") == ("route", (2, {"name": "abc"}))
    assert reference.resolve("DELETE", "/items/42") == ("route", (3, {"key": "42"}))
    assert reference.resolve("HEAD", "/items/42") == ("route", (1, {"id": 42}))
    assert reference.resolve("GET", "/items/42/") == ("404", None)
    assert reference.resolve("GET", "/files/") == ("route", (4, {"path": ""}))
    assert reference.resolve("GET", "/files") == ("404", None)
    assert reference.resolve("POST", "/items/1") == ("405", "DELETE, GET, HEAD")
    assert reference.add("/items/{id:int}", {"GET"}, True) == {ValueError}


# -- (b) whole exchanges at the ASGI level ------------------------------------------------------

CHUNKS = st.sampled_from([b"", b"a", b"bc", b"x" * 300])


@dataclass
class WriterPlan:
    """A writer: in memory, or an async generator (optionally echoing the request body)."""

    kind: str  # "memory", "generator" or "echo"
    chunks: list[bytes]
    pause: bool  # the generator awaits between chunks, so the disconnect watcher starts
    raise_at: int | None  # the generator raises before yielding chunk ``raise_at``
    started: bool = False
    closed: bool = False
    # Held so that garbage collection cannot close the generator behind the framework's back.
    instance: AsyncGenerator[bytes, None] | None = None

    def make(self, content: Content) -> Any:
        if self.kind == "memory":
            return BodyWriter(self.chunks)

        async def generator() -> AsyncGenerator[bytes, None]:
            self.started = True
            try:
                for index, chunk in enumerate(self.chunks):
                    if self.pause:
                        await asyncio.sleep(0)
                    if index == self.raise_at:
                        raise RuntimeError("writer failure")
                    yield chunk
                if self.raise_at is not None and self.raise_at >= len(self.chunks):
                    raise RuntimeError("writer failure at the end")
                if self.kind == "echo":
                    async for chunk in content:
                        yield chunk
            finally:
                self.closed = True

        self.instance = generator()
        return self.instance

    def body(self, rest_of_request: bytes) -> bytes:
        """What the client receives when nothing interrupts the writer."""
        if self.raise_at is not None:
            return b"".join(self.chunks[: self.raise_at])
        return b"".join(self.chunks) + (rest_of_request if self.kind == "echo" else b"")

    @property
    def raises(self) -> bool:
        return self.kind != "memory" and self.raise_at is not None


@dataclass
class Exchange:
    """One random exchange: the request, what the handler does, and when the client leaves."""

    method: str
    body_chunks: list[bytes]
    read: str  # how much of the body the handler reads: "none", "one" or "all"
    error: str | None  # "runtime" or "http", raised by the handler after reading
    shape: int  # 0: a bare status, 1-4: a tuple of that many items
    headers: bool
    writer: WriterPlan | None
    pushes: bool
    server_push: bool
    middleware: bool
    disconnect_after_receives: int | None
    disconnect_after_sends: int | None
    send_fails_after_disconnect: bool
    logged_errors: list[logging.LogRecord] = field(default_factory=list)


@st.composite
def exchanges(draw: st.DrawFn) -> Exchange:
    shape = draw(st.integers(0, 4))
    writer = None
    if shape >= 3 and draw(st.integers(0, 4)) > 0:
        kind = draw(st.sampled_from(["memory", "generator", "generator", "echo"]))
        chunks = draw(st.lists(CHUNKS, max_size=5))
        raise_at = None
        if kind != "memory" and draw(st.integers(0, 3)) == 0:
            raise_at = draw(st.integers(0, len(chunks)))
        writer = WriterPlan(kind, chunks, draw(st.booleans()), raise_at)
    body_chunks = draw(st.lists(CHUNKS, max_size=4))
    disconnect = draw(st.sampled_from(["never", "never", "receive", "send"]))
    return Exchange(
        method=draw(st.sampled_from(["GET", "POST", "HEAD"])),
        body_chunks=body_chunks,
        read=draw(st.sampled_from(["none", "one", "all"])),
        error=draw(st.sampled_from([None, None, None, "runtime", "http"])),
        shape=shape,
        headers=draw(st.booleans()),
        writer=writer,
        pushes=shape == 4 and draw(st.booleans()),
        server_push=draw(st.booleans()),
        middleware=draw(st.booleans()),
        disconnect_after_receives=(
            draw(st.integers(0, len(body_chunks) + 1)) if disconnect == "receive" else None
        ),
        disconnect_after_sends=draw(st.integers(1, 6)) if disconnect == "send" else None,
        send_fails_after_disconnect=draw(st.booleans()),
    )


class Collect(logging.Handler):
    def __init__(self, records: list[logging.LogRecord]) -> None:
        super().__init__(logging.ERROR)
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def build_app(exchange: Exchange) -> Application:
    async def handler(scope: Scope, info: Info, matches: RouteMatches, content: Content) -> Any:
        if exchange.read == "all":
            async for _ in content:
                pass
        elif exchange.read == "one":
            async for _ in content:
                break
        if exchange.error == "runtime":
            raise RuntimeError("handler failure")
        if exchange.error == "http":
            raise HTTPError(418)
        if exchange.shape == 0:
            return 201
        headers = [(b"x-test", b"1")] if exchange.headers else None
        writer = exchange.writer.make(content) if exchange.writer else None
        pushes = [("/pushed", [(b"accept", b"*/*")])] if exchange.pushes else None
        return (201, headers, writer, pushes)[: exchange.shape]

    async def passthrough(
        scope: Scope, info: Info, matches: RouteMatches, content: Content, inner: Any
    ) -> Any:
        return await inner(scope, info, matches, content)

    app = Application(middlewares=[passthrough] if exchange.middleware else [])
    app.http_router.add({"GET", "POST"}, "/", handler)
    return app


async def play(exchange: Exchange) -> None:
    before = asyncio.all_tasks()
    server = ScriptedHttpServer(
        body_messages(exchange.body_chunks),
        disconnect_after_receives=exchange.disconnect_after_receives,
        disconnect_after_sends=exchange.disconnect_after_sends,
        send_fails_after_disconnect=exchange.send_fails_after_disconnect,
    )
    extensions: dict[str, Any] = {"http.response.push": {}} if exchange.server_push else {}
    scope = http_scope(exchange.method, "/", extensions=extensions)

    await run_app(build_app(exchange), scope, server.receive, server.send)
    writer = exchange.writer
    writer_left_open = writer is not None and writer.started and not writer.closed
    if writer is not None and writer.instance is not None:
        await writer.instance.aclose()
    await asyncio.sleep(0)  # one loop iteration for cancelled helpers to finish
    left = asyncio.all_tasks() - before

    assert http_problems(server.sent) == [], server.sent
    assert not left, f"tasks left pending: {left}"
    assert not writer_left_open, "the writer was started and never closed"
    may_log = exchange.error == "runtime" or (writer is not None and writer.raises)
    assert may_log or exchange.logged_errors == [], [r.getMessage() for r in exchange.logged_errors]
    if server.disconnected:
        return
    assert server.response_ended, f"the response did not end: {server.sent}"
    assert server.status == expected_status(exchange)
    assert server.body == expected_body(exchange), server.sent


def expected_status(exchange: Exchange) -> int:
    if exchange.error == "runtime":
        return 500
    if exchange.error == "http":
        return 418
    return 201


def expected_body(exchange: Exchange) -> bytes:
    if exchange.method == "HEAD":
        return b""
    if exchange.error == "runtime":
        return b"Internal Server Error"
    if exchange.error == "http":
        return b"I'm a Teapot"
    if exchange.writer is None or exchange.shape < 3:
        return b""
    chunks = [chunk for chunk in exchange.body_chunks if chunk]
    unread = {"none": chunks, "one": chunks[1:], "all": []}[exchange.read]
    return exchange.writer.body(b"".join(unread))


@given(exchanges())
@SETTINGS
def test_any_exchange_ends_cleanly_at_the_asgi_level(exchange: Exchange) -> None:
    logger = logging.getLogger("bareasgi")
    collect = Collect(exchange.logged_errors)
    logger.addHandler(collect)
    try:
        asyncio.run(play(exchange))
    finally:
        logger.removeHandler(collect)


@given(
    chunks=st.lists(st.binary(max_size=40), max_size=8),
    leave_after=st.integers(0, 9),
)
@settings(max_examples=100, deadline=None)
def test_test_client_streams_whatever_is_read_and_stops_when_the_client_leaves(
    chunks: list[bytes], leave_after: int
) -> None:
    """The same promise through the in-process client: what a user's test sees."""
    closed: list[bool] = []

    async def handler(scope: Scope, info: Info, matches: RouteMatches, content: Content) -> Any:
        async def writer() -> AsyncIterator[bytes]:
            try:
                for chunk in chunks:
                    await asyncio.sleep(0)
                    yield chunk
            finally:
                closed.append(True)

        return 200, None, writer()

    async def scenario() -> list[bytes]:
        app = Application()
        app.http_router.add({"GET"}, "/", handler)
        received: list[bytes] = []
        async with TestClient(app, timeout=5).stream("GET", "/") as response:
            async for chunk in response:
                received.append(chunk)
                if len(received) == leave_after:
                    break
        return received

    received = asyncio.run(scenario())

    sent = [chunk for chunk in chunks if chunk]  # empty chunks are skipped
    assert received == (sent[:leave_after] if leave_after else sent)
    assert closed == [True]


# -- (c) hostile bodies and random headers -------------------------------------------------------

JSON_LIMIT = 64 * 1024
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=10,
)


@st.composite
def json_bodies(draw: st.DrawFn) -> bytes:
    """Valid JSON, nested up to far past the recursion limit, cut short, or grown past the limit."""
    inner = json.dumps(draw(json_values)).encode()
    # Depths around Python's recursion limit (hypothesis raises it while a test runs),
    # and far past it, within the size limit and beyond.
    opener, closer, depths = draw(
        st.sampled_from(
            [
                (b"[", b"]", [0, 1, 999, 1001, 3000, 10_000, 20_000, 40_000]),
                (b'{"k":', b"}", [0, 1, 1001, 3000, 10_000]),
            ]
        )
    )
    depth = draw(st.sampled_from(depths))
    body = opener * depth + inner + closer * depth
    kind = draw(st.sampled_from(["whole", "whole", "cut", "padded"]))
    if kind == "cut":
        body = body[: draw(st.integers(0, len(body)))]
    elif kind == "padded":
        body = b" " * draw(st.integers(0, 2 * JSON_LIMIT)) + body
    return body


def json_statuses(body: bytes) -> set[int]:
    """What json_reader may answer, worked out with the same parser.

    Near Python's recursion limit, whether a nesting parses depends on how deep the
    stack already is, which differs between here and the handler: either answer is
    right then, but never a 500.
    """
    if len(body) > JSON_LIMIT:
        return {413}
    try:
        json.loads(body)
    except RecursionError:
        return {400, 204}
    except ValueError:
        return {400}
    return {204, 400} if body.count(b"[") + body.count(b"{") > 900 else {204}


@given(body=json_bodies(), chunk=st.integers(1, 2048))
@SETTINGS
def test_any_json_body_is_read_or_refused_with_a_4xx_and_nothing_logged(
    body: bytes, chunk: int
) -> None:
    async def handler(scope: Scope, info: Info, matches: RouteMatches, content: Content) -> Any:
        await json_reader(content, max_size=JSON_LIMIT, scope=scope)
        return 204

    async def upload() -> AsyncIterator[bytes]:
        for start in range(0, len(body), chunk):
            yield body[start : start + chunk]

    async def scenario() -> int:
        app = Application()
        app.http_router.add({"POST"}, "/", handler)
        headers = {"content-type": "application/json"}
        response = await TestClient(app, timeout=10).post("/", headers=headers, body=upload())
        return response.status

    records: list[logging.LogRecord] = []
    logger = logging.getLogger("bareasgi")
    collect = Collect(records)
    logger.addHandler(collect)
    try:
        assert asyncio.run(scenario()) in json_statuses(body)
    finally:
        logger.removeHandler(collect)
    assert records == []


KNOWN_HEADERS = [
    (b"content-type", b"text/plain; charset=utf-8"),
    (b"content-type", b"image/png"),
    (b"content-type", b"text/event-stream"),
    (b"content-type", b"application/json"),
    (b"content-type", b"not a type"),
    (b"etag", b'"v1"'),
    (b"etag", b'W/"v2"'),
    (b"vary", b"Origin"),
    (b"vary", b"*"),
    (b"Vary", b"accept-encoding"),
    (b"cache-control", b"no-cache"),
    (b"content-encoding", b"br"),
    (b"x-custom", b"1"),
]
TOKEN_BYTES = st.binary(min_size=0, max_size=6)
header_sets = st.lists(
    st.sampled_from(KNOWN_HEADERS) | st.tuples(TOKEN_BYTES, st.binary(max_size=6)), max_size=5
)
ACCEPTS = [None, "gzip", "deflate", "gzip;q=0, deflate", "identity;q=0", "*", "br", "gzip, *;q=0"]


def decoded(body: bytes, coding: str | None) -> bytes:
    if coding == "gzip":
        return zlib.decompress(body, 16 + zlib.MAX_WBITS)
    if coding == "deflate":
        return zlib.decompress(body)
    return body


@given(
    headers=header_sets,
    body=st.binary(max_size=3000) | st.just(b"compressible text " * 100),
    streamed=st.booleans(),
    accept=st.sampled_from(ACCEPTS),
)
@SETTINGS
def test_random_headers_through_compression_give_the_body_and_heads_that_match(
    headers: list[tuple[bytes, bytes]], body: bytes, streamed: bool, accept: str | None
) -> None:
    async def handler(scope: Scope, info: Info, matches: RouteMatches, content: Content) -> Any:
        async def stream() -> AsyncIterator[bytes]:
            for start in range(0, len(body), 700):
                yield body[start : start + 700]

        writer = stream() if streamed else BodyWriter((body,))
        return 200, list(headers), writer

    async def scenario() -> tuple[Any, Any]:
        app = Application(middlewares=[compression_middleware()])
        app.http_router.add({"GET"}, "/", handler)
        client = TestClient(app, timeout=10)
        request_headers = {"accept-encoding": accept} if accept else {}
        return (
            await client.get("/", headers=request_headers),
            await client.head("/", headers=request_headers),
        )

    full, head = asyncio.run(scenario())
    if header_problem(headers) is not None:
        assert full.status == head.status == 500
        return
    assert full.status == head.status == 200
    assert head.body == b""
    assert head.headers.raw == full.headers.raw
    given_coding = [value for name, value in headers if name.lower() == b"content-encoding"]
    added = full.headers.get("content-encoding") if not given_coding else None
    assert decoded(full.body, added) == body
    if added is not None:
        vary = b", ".join(v for n, v in full.headers.raw if n.lower() == b"vary").lower()
        assert b"accept-encoding" in vary or b"*" in vary
        etag = full.headers.get("etag")
        assert etag is None or etag.startswith("W/")


@given(extra=header_sets, accept=st.sampled_from(ACCEPTS))
@SETTINGS
def test_random_extra_headers_for_static_files_fail_at_configuration_or_never(
    extra: list[tuple[bytes, bytes]], accept: str | None
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        Path(directory, "page.txt").write_bytes(b"some text to serve " * 100)
        own = {b"content-type", b"content-length", b"etag", b"last-modified"}
        refused = header_problem(extra) is not None or any(n.lower() in own for n, _ in extra)
        try:
            serve = static_files(directory, headers=extra)
        except ValueError:
            assert refused
            return
        assert not refused

        async def scenario() -> list[Any]:
            app = Application(middlewares=[compression_middleware()])
            app.http_router.add({"GET", "HEAD"}, "/{path:path}", serve)
            client = TestClient(app, timeout=10)
            request_headers = {"accept-encoding": accept} if accept else {}
            full = await client.get("/page.txt", headers=request_headers)
            head = await client.head("/page.txt", headers=request_headers)
            conditional = {**request_headers, "if-none-match": full.headers.get("etag", "")}
            cached = await client.get("/page.txt", headers=conditional)
            return [full, head, cached]

        full, head, cached = asyncio.run(scenario())
    assert (full.status, head.status, cached.status) == (200, 200, 304)
    assert head.headers.raw == full.headers.raw
    for pair in extra:
        if pair[0].lower() != b"vary":  # a vary is merged with compression's own
            assert pair in full.headers.raw
            assert pair in cached.headers.raw
    assert cached.headers.get("etag") == full.headers.get("etag")
    assert cached.headers.get_all("vary") == full.headers.get_all("vary")
