"""One HTTP exchange: response shapes, streaming, disconnects, errors, pushes and HEAD."""

import asyncio
import http.client
import logging
import pickle
import urllib.error
from http import HTTPStatus

import pytest

from bareasgi import (
    Application,
    ClientDisconnect,
    HTTPError,
    RequestBody,
    bytes_reader,
    bytes_response,
    bytes_writer,
    json_reader,
    json_response,
    text_response,
    text_writer,
)
from bareasgi.testing import DISCONNECT, TestClient
from tests.scripted import one_at_a_time

TEXT = [(b"content-type", b"text/plain")]


def http_scope(method="GET", path="/", extensions=None):
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [],
        "extensions": extensions or {},
    }


class RawServer:
    """A scripted server: feeds ``requests`` to receive, then waits for ``disconnect``."""

    def __init__(self, requests=None):
        self.requests = list(requests or [{"type": "http.request", "body": b""}])
        self.sent = []
        self.disconnect = asyncio.Event()
        self.sent_event = asyncio.Event()

    @one_at_a_time
    async def receive(self):
        if self.requests:
            return self.requests.pop(0)
        await self.disconnect.wait()
        return {"type": "http.disconnect"}

    async def send(self, message):
        self.sent.append(message)
        self.sent_event.set()

    async def wait_sent(self, predicate, timeout=5.0):
        async def wait():
            while not any(predicate(message) for message in self.sent):
                self.sent_event.clear()
                await self.sent_event.wait()

        await asyncio.wait_for(wait(), timeout)

    @property
    def bodies(self):
        return [m for m in self.sent if m["type"] == "http.response.body"]


def app_with(handler, methods=("GET",), path="/"):
    app = Application()
    app.http_router.add(set(methods), path, handler)
    return app


@pytest.mark.parametrize(
    ("returned", "status", "body"),
    [
        (204, 204, b""),
        (HTTPStatus.ACCEPTED, 202, b""),
        ((201,), 201, b""),
        ((200, TEXT), 200, b""),
        ((200, TEXT, text_writer("hi")), 200, b"hi"),
        ((200, None, bytes_writer(b"raw"), None), 200, b"raw"),
        ((200, None, None, None), 200, b""),
    ],
)
async def test_handler_may_return_a_status_or_a_tuple_of_one_to_four_items(returned, status, body):
    async def handler(scope, info, matches, content):
        return returned

    response = await TestClient(app_with(handler)).get("/")
    assert response.status == status
    assert response.body == body
    assert response.messages[-1] == {"type": "http.response.body", "body": body, "more_body": False}


async def test_headers_reach_the_server_untouched():
    headers = [(b"x-custom", b"One"), (b"X-Mixed-Case", b"two"), (b"x-custom", b"three")]

    async def handler(scope, info, matches, content):
        return 200, headers, text_writer("ok")

    server = RawServer()
    await app_with(handler)(http_scope(), server.receive, server.send)
    assert server.sent[0] == {"type": "http.response.start", "status": 200, "headers": headers}
    assert server.sent[0]["headers"] is headers


async def test_each_chunk_is_sent_as_soon_as_the_writer_yields_it():
    release = asyncio.Event()

    async def writer():
        yield b"first"
        await release.wait()
        yield b"second"

    async def handler(scope, info, matches, content):
        return 200, TEXT, writer()

    server = RawServer()
    task = asyncio.ensure_future(app_with(handler)(http_scope(), server.receive, server.send))
    await server.wait_sent(lambda m: m.get("body") == b"first")
    assert [m["body"] for m in server.bodies] == [b"first"]
    release.set()
    await asyncio.wait_for(task, 5)
    assert [(m["body"], m["more_body"]) for m in server.bodies] == [
        (b"first", True),
        (b"second", True),
        (b"", False),
    ]


async def test_empty_chunks_are_skipped_and_the_response_always_ends():
    async def writer():
        yield b""
        yield b"data"
        yield b""

    async def handler(scope, info, matches, content):
        return 200, TEXT, writer()

    response = await TestClient(app_with(handler)).get("/")
    bodies = [(m["body"], m["more_body"]) for m in response.messages[1:]]
    assert bodies == [(b"data", True), (b"", False)]
    assert response.body == b"data"


async def test_chunked_body_writer_sends_each_chunk_and_ends_on_the_last():
    async def handler(scope, info, matches, content):
        return 200, TEXT, bytes_writer(b"abcdefg", chunk_size=3)

    response = await TestClient(app_with(handler)).get("/")
    bodies = [(m["body"], m.get("more_body", False)) for m in response.messages[1:]]
    assert bodies == [(b"abc", True), (b"def", True), (b"g", False)]


async def test_client_disconnect_while_streaming_closes_the_writer_promptly():
    closed = asyncio.Event()

    async def ticker():
        try:
            count = 0
            while True:
                count += 1
                yield f"{count}\n".encode()
                await asyncio.sleep(3600)
        finally:
            closed.set()

    async def handler(scope, info, matches, content):
        return 200, TEXT, ticker()

    server = RawServer()
    task = asyncio.ensure_future(app_with(handler)(http_scope(), server.receive, server.send))
    await server.wait_sent(lambda m: m.get("body") == b"1\n")
    server.disconnect.set()
    await asyncio.wait_for(task, 5)  # returns, raising nothing to the server
    assert closed.is_set()
    assert server.bodies[-1]["more_body"] is True  # nothing is sent after the disconnect


async def test_streams_started_in_the_same_loop_turn_each_watch_for_their_own_disconnect():
    closed = []

    def ticker(name):
        async def ticks():
            try:
                yield name.encode()
                await asyncio.sleep(3600)
            finally:
                closed.append(name)

        return ticks()

    async def quick():
        yield b"quick"  # ends without waiting: it never needs a watcher

    async def handler(scope, info, matches, content):
        name = scope["path"][1:]
        return 200, TEXT, quick() if name == "quick" else ticker(name)

    app = app_with(handler, path="/{name}")
    servers = {name: RawServer() for name in ("a", "quick", "b", "c")}
    # gather starts every request in the same turn of the event loop
    tasks = asyncio.gather(
        *(app(http_scope(path=f"/{name}"), s.receive, s.send) for name, s in servers.items())
    )
    for name, server in servers.items():
        await server.wait_sent(lambda m, name=name: m.get("body") == name.encode())
    servers["b"].disconnect.set()
    for _ in range(10):
        await asyncio.sleep(0)
    assert closed == ["b"]  # only the client that left stops its stream
    servers["a"].disconnect.set()
    servers["c"].disconnect.set()
    await asyncio.wait_for(tasks, 5)
    assert sorted(closed) == ["a", "b", "c"]
    assert servers["quick"].bodies[-1]["more_body"] is False


async def test_body_partly_iterated_can_be_read_to_the_end_by_bytes_reader():
    async def handler(scope, info, matches, content):
        first = await content.__anext__()
        rest = await bytes_reader(content)
        return 200, TEXT, bytes_writer(first + b"|" + rest)

    server = RawServer(
        [
            {"type": "http.request", "body": b"one", "more_body": True},
            {"type": "http.request", "body": b"two", "more_body": True},
            {"type": "http.request", "body": b"three", "more_body": False},
        ]
    )
    await app_with(handler, {"POST"})(http_scope("POST"), server.receive, server.send)
    assert server.bodies[0]["body"] == b"one|twothree"


async def test_writer_failing_while_stopped_leaves_no_cancellation_pending(caplog):
    async def ticker():
        try:
            yield b"tick"
            await asyncio.sleep(3600)
        finally:
            raise RuntimeError("cleanup failed")

    async def handler(scope, info, matches, content):
        return 200, TEXT, ticker()

    server = RawServer()
    app = app_with(handler)

    async def serve():
        await app(http_scope(), server.receive, server.send)
        return asyncio.current_task().cancelling()

    task = asyncio.ensure_future(serve())
    await server.wait_sent(lambda m: m.get("body") == b"tick")
    server.disconnect.set()
    assert await asyncio.wait_for(task, 5) == 0  # the server's task is not left cancelled
    assert "cleanup failed" in caplog.text


async def test_a_server_refusing_to_start_a_stream_sees_its_own_error_and_the_writer_closes():
    writers = []

    async def writer():
        yield b"never sent"

    async def handler(scope, info, matches, content):
        writers.append(writer())
        return 200, TEXT, writers[0]

    class Refusing(RawServer):
        async def send(self, message):
            if message["type"] == "http.response.start":
                raise RuntimeError("the server refused the start")
            await super().send(message)

    server = Refusing()
    with pytest.raises(RuntimeError, match="refused the start"):
        await app_with(handler)(http_scope(), server.receive, server.send)
    assert writers[0].ag_frame is None  # closed, not left for the garbage collector


class QueueServer:
    """receive() hands over what the test puts in ``incoming``, when it does."""

    def __init__(self):
        self.incoming = asyncio.Queue()
        self.sent = []

    @one_at_a_time
    async def receive(self):
        return await self.incoming.get()

    async def send(self, message):
        self.sent.append(message)


async def feed(server, *chunks):
    for index, chunk in enumerate(chunks):
        await asyncio.sleep(0.01)
        more = index < len(chunks) - 1
        server.incoming.put_nowait({"type": "http.request", "body": chunk, "more_body": more})


async def test_a_body_read_begun_before_a_stream_starts_arrives_whole():
    bodies = []

    async def handler(scope, info, matches, content):
        reading = asyncio.ensure_future(bytes_reader(content))
        await asyncio.sleep(0)  # the read is under way when the stream starts

        async def writer():
            bodies.append(await asyncio.wait_for(reading, 5))
            yield b"read"

        return 200, TEXT, writer()

    server = QueueServer()
    feeding = asyncio.ensure_future(feed(server, b"c0", b"c1", b"c2", b"c3"))
    await app_with(handler, {"POST"})(http_scope("POST"), server.receive, server.send)
    await feeding
    assert bodies == [b"c0c1c2c3"]


async def test_a_body_read_begun_before_a_stream_starts_needs_one_receive_at_a_time(caplog):
    """The TestClient refuses a second pending receive; the watcher must wait its turn."""

    async def handler(scope, info, matches, content):
        reading = asyncio.ensure_future(bytes_reader(content))
        await asyncio.sleep(0)

        async def writer():
            yield b"%d" % len(await asyncio.wait_for(reading, 5))

        return 200, TEXT, writer()

    async def upload():
        for part in (b"c0", b"c1", b"c2"):
            await asyncio.sleep(0.01)
            yield part

    response = await TestClient(app_with(handler, {"POST"})).post("/", body=upload())
    assert response.body == b"6"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_reader_left_by_a_finished_stream_reads_on_by_itself():
    readers = []

    async def handler(scope, info, matches, content):
        async def writer():
            readers.append(asyncio.ensure_future(bytes_reader(content)))
            await asyncio.sleep(0.01)  # the disconnect watcher takes receive over
            yield b"accepted"

        return 200, TEXT, writer()

    server = QueueServer()
    await app_with(handler, {"POST"})(http_scope("POST"), server.receive, server.send)
    await feed(server, b"late")
    assert await asyncio.wait_for(readers[0], 5) == b"late"


async def test_client_disconnect_via_test_client_stream_runs_writer_finally():
    state = {"closed": False}

    async def ticker():
        try:
            while True:
                yield b"tick"
                await asyncio.sleep(0.01)
        finally:
            state["closed"] = True

    async def handler(scope, info, matches, content):
        return 200, TEXT, ticker()

    async with TestClient(app_with(handler)).stream("GET", "/") as response:
        chunks = []
        async for chunk in response:
            chunks.append(chunk)
            if len(chunks) == 3:
                break
    assert chunks == [b"tick"] * 3
    assert state["closed"]


async def test_writer_can_read_the_request_body_while_streaming():
    async def handler(scope, info, matches, content):
        async def echo():
            async for chunk in content:
                yield chunk.upper()

        return 200, TEXT, echo()

    async def upload():
        for part in (b"ab", b"cd", b"ef"):
            yield part

    response = await TestClient(app_with(handler, {"POST"})).post("/", body=upload())
    assert response.body == b"ABCDEF"


async def test_request_body_arrives_chunk_by_chunk_as_received():
    seen = []

    async def handler(scope, info, matches, content):
        async for chunk in content:
            seen.append(chunk)
        return 204

    server = RawServer(
        [
            {"type": "http.request", "body": b"one", "more_body": True},
            {"type": "http.request", "body": b"", "more_body": True},
            {"type": "http.request", "body": b"two", "more_body": False},
        ]
    )
    await app_with(handler, {"POST"})(http_scope("POST"), server.receive, server.send)
    assert seen == [b"one", b"two"]
    assert server.sent[0]["status"] == 204


async def test_a_request_body_made_over_any_receive_reads_as_the_frameworks_does():
    """RequestBody's docstring: a test may make one; empty chunks are skipped."""
    chunks = [
        {"type": "http.request", "body": b"one", "more_body": True},
        {"type": "http.request", "body": b"", "more_body": True},
        {"type": "http.request", "body": b"two", "more_body": False},
    ]
    assert [chunk async for chunk in RequestBody(RawServer(chunks).receive)] == [b"one", b"two"]
    assert await bytes_reader(RequestBody(RawServer(chunks).receive)) == b"onetwo"
    gone = RequestBody(RawServer([chunks[0], {"type": "http.disconnect"}]).receive)
    with pytest.raises(ClientDisconnect):
        await bytes_reader(gone)
    assert gone.disconnected


async def test_disconnect_during_upload_sends_nothing_and_logs_no_error(caplog):
    async def handler(scope, info, matches, content):
        await bytes_reader(content)
        return 200

    async def upload():
        yield b"part"
        yield DISCONNECT

    async with TestClient(app_with(handler, {"POST"})).stream("POST", "/", body=upload()):
        pass
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]

    server = RawServer([{"type": "http.request", "body": b"x", "more_body": True}])
    server.disconnect.set()
    await app_with(handler, {"POST"})(http_scope("POST"), server.receive, server.send)
    assert server.sent == []


async def test_unhandled_exception_is_a_500_that_reveals_nothing_and_is_logged(caplog):
    async def handler(scope, info, matches, content):
        raise RuntimeError("secret database password")

    response = await TestClient(app_with(handler, path="/boom")).get("/boom")
    assert response.status == 500
    assert response.body == b"Internal Server Error"
    assert response.headers["content-type"].startswith("text/plain")
    assert b"secret" not in response.body
    [record] = [r for r in caplog.records if r.name == "bareasgi"]
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None and record.exc_info[0] is RuntimeError
    assert "handler" in record.getMessage() and "/boom" in record.getMessage()


async def test_exception_after_the_response_started_is_logged_and_the_response_ended(caplog):
    async def writer():
        yield b"partial"
        raise ValueError("midway")

    async def handler(scope, info, matches, content):
        return 200, TEXT, writer()

    response = await TestClient(app_with(handler)).get("/")
    assert response.status == 200
    assert response.body == b"partial"
    assert response.messages[-1] == {"type": "http.response.body", "body": b"", "more_body": False}
    assert any(r.exc_info and r.exc_info[0] is ValueError for r in caplog.records)


async def test_http_error_becomes_that_response():
    async def handler(scope, info, matches, content):
        raise HTTPError(409, "already exists", [(b"x-reason", b"dup")])

    response = await TestClient(app_with(handler)).get("/")
    assert response.status == 409
    assert response.text == "already exists"
    assert response.headers["x-reason"] == "dup"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["content-length"] == "14"


@pytest.mark.parametrize(
    ("error", "status", "body", "content_type"),
    [
        (HTTPError(404), 404, b"Not Found", "text/plain; charset=utf-8"),
        (HTTPError(400, b"\x00bin"), 400, b"\x00bin", "application/octet-stream"),
        (HTTPError(418, "{}", [(b"content-type", b"application/json")]), 418, b"{}",
         "application/json"),
        (HTTPError(304), 304, b"", None),
        (HTTPError(204), 204, b"", None),
        (HTTPError(204, "ignored: a 204 has no body"), 204, b"", None),
        (HTTPError(599), 599, b"HTTP 599", "text/plain; charset=utf-8"),
    ],
)
async def test_http_error_bodies(error, status, body, content_type):
    async def handler(scope, info, matches, content):
        raise error

    response = await TestClient(app_with(handler)).get("/")
    assert (response.status, response.body) == (status, body)
    assert response.headers.get("content-type") == content_type


@pytest.mark.parametrize("status", [204, 304])
def test_an_http_error_204_or_304_stands_for_a_response_without_a_body(status):
    assert HTTPError(status, "text").to_response() == (status, [], None, None)
    assert HTTPError(status, headers=[(b"etag", b'"1"')]).to_response() == (
        status,
        [(b"etag", b'"1"')],
        None,
        None,
    )


@pytest.mark.parametrize("status", [204, 304])
async def test_a_204_or_304_sends_no_body_nor_length_whatever_the_handler_gave(status):
    closed = []

    class Writer:
        def __aiter__(self):
            return self

        async def __anext__(self):
            raise AssertionError("a body was asked for")

        async def aclose(self):
            closed.append(True)

    responses = [
        (status, [(b"content-length", b"4")], text_writer("body")),
        (status, [(b"content-length", b"4")], Writer()),
    ]
    for given in responses:

        async def handler(scope, info, matches, content, given=given):
            return given

        server = RawServer()
        await app_with(handler)(http_scope(), server.receive, server.send)
        assert server.sent == [
            {"type": "http.response.start", "status": status, "headers": []},
            {"type": "http.response.body", "body": b"", "more_body": False},
        ]
    assert closed == [True]


async def test_text_and_json_responses_replace_a_content_length_given_with_their_own():
    for response in (
        text_response(200, [(b"Content-Length", b"5")], "hello!"),
        json_response(200, [(b"content-length", b"1")], [1, 2]),
    ):
        lengths = [value for name, value in response[1] if name.lower() == b"content-length"]
        assert lengths == [b"%d" % len(response[2][0])]


async def test_malformed_response_is_a_500_logged_naming_the_handler(caplog):
    async def returns_a_string(scope, info, matches, content):
        return "200 OK"

    response = await TestClient(app_with(returns_a_string)).get("/")
    assert response.status == 500
    assert "returns_a_string" in caplog.text
    assert "expected a status int" in caplog.text


async def test_writer_that_is_not_async_iterable_is_a_500(caplog):
    async def handler(scope, info, matches, content):
        return 200, TEXT, b"plain bytes are not a writer"

    response = await TestClient(app_with(handler)).get("/")
    assert response.status == 500
    assert "not async iterable" in caplog.text


async def test_writer_yielding_str_is_logged_naming_the_handler_and_the_response_ended(caplog):
    async def writer():
        yield "text, not bytes"

    async def yields_str(scope, info, matches, content):
        return 200, TEXT, writer()

    response = await TestClient(app_with(yields_str)).get("/")
    assert response.body == b""
    assert response.messages[-1]["more_body"] is False
    assert "yields_str" in caplog.text and "yielded str" in caplog.text


async def test_head_on_get_route_sends_the_same_status_and_headers_but_no_body():
    ran = []

    async def writer():
        ran.append(True)
        yield b"body"

    async def handler(scope, info, matches, content):
        return 200, [(b"content-type", b"text/plain"), (b"content-length", b"4")], writer()

    client = TestClient(app_with(handler))
    get = await client.get("/")
    head = await client.head("/")
    assert (head.status, head.headers.raw) == (get.status, get.headers.raw)
    assert head.body == b""
    assert head.messages[1:] == [{"type": "http.response.body", "body": b"", "more_body": False}]
    assert ran == [True]  # only the GET ran the writer


async def test_pushes_are_sent_after_start_and_before_the_body_when_the_server_offers_them():
    pushes = [("/style.css", [(b"accept", b"text/css")]), ("/app.js", [])]

    async def handler(scope, info, matches, content):
        return 200, TEXT, text_writer("page"), pushes

    response = await TestClient(app_with(handler), server_push=True).get("/")
    kinds = [m["type"] for m in response.messages]
    assert kinds == [
        "http.response.start",
        "http.response.push",
        "http.response.push",
        "http.response.body",
    ]
    assert response.pushes == pushes


async def test_pushes_are_ignored_when_the_server_does_not_offer_them():
    async def handler(scope, info, matches, content):
        return 200, TEXT, text_writer("page"), [("/style.css", [])]

    response = await TestClient(app_with(handler)).get("/")
    assert "http.response.push" not in [m["type"] for m in response.messages]
    assert response.body == b"page"


async def test_custom_not_found_response_tuple_is_sent_every_time():
    app = Application(not_found_response=(404, TEXT, text_writer("nothing here")))
    client = TestClient(app)
    for _ in range(2):
        response = await client.get("/missing")
        assert (response.status, response.text) == (404, "nothing here")


async def test_custom_not_found_handler_gets_the_request():
    async def not_found(scope, info, matches, content):
        return 404, TEXT, text_writer(f"no page at {scope['path']}")

    response = await TestClient(Application(not_found_response=not_found)).get("/x/y")
    assert response.text == "no page at /x/y"


@pytest.mark.parametrize(
    ("response", "problem"),
    [
        ((404, [(b"cache control", b"x")], None), "not a valid header name"),
        ((404, [(b"x-a", b"1\r\nx-b: 2")], None), "CR, LF or NUL"),
        ((404, None, bytes_writer(b"x"), [("no-slash", [])]), "push path"),
    ],
)
def test_a_not_found_response_the_framework_would_refuse_is_refused_at_configuration(
    response, problem
):
    with pytest.raises(ValueError, match=problem):
        Application(not_found_response=response)


def test_not_found_response_with_a_one_shot_writer_is_refused():
    async def once():
        yield b"gone after one use"

    with pytest.raises(TypeError, match="text_writer"):
        Application(not_found_response=(404, None, once()))


async def test_info_is_passed_to_handlers_and_shared_between_requests():
    info = {"count": 0}

    async def handler(scope, info, matches, content):
        info["count"] += 1
        return 200, TEXT, text_writer(str(info["count"]))

    app = Application(info=info)
    app.http_router.add({"GET"}, "/", handler)
    client = TestClient(app)
    assert (await client.get("/")).text == "1"
    assert (await client.get("/")).text == "2"
    assert info["count"] == 2


class GoneServer(RawServer):
    """A server whose send fails, the way some do once the client has gone, after the start."""

    async def send(self, message):
        if message["type"] != "http.response.start":
            raise OSError("connection lost")
        await super().send(message)


class GoneAtTheEnd(RawServer):
    """A server whose send fails at the last body message: the client left just then."""

    async def send(self, message):
        if message["type"] == "http.response.body" and not message["more_body"]:
            raise OSError("connection lost")
        await super().send(message)


async def test_send_failing_because_the_client_left_ends_quietly_and_closes_the_writer(caplog):
    closed = []

    async def writer():
        try:
            yield b"never delivered"
            yield b"never produced"
        finally:
            closed.append(True)

    async def streaming(scope, info, matches, content):
        return 200, TEXT, writer()

    async def simple(scope, info, matches, content):
        return 200, TEXT, text_writer("hi")

    for handler in (streaming, simple):
        server = GoneServer()
        await app_with(handler)(http_scope(), server.receive, server.send)
    assert closed == [True]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_client_leaving_just_as_a_stream_ends_is_quiet(caplog):
    async def writer():
        yield b"all of it"

    async def streaming(scope, info, matches, content):
        return 200, TEXT, writer()

    server = GoneAtTheEnd()
    await app_with(streaming)(http_scope(), server.receive, server.send)
    assert [m.get("body") for m in server.bodies] == [b"all of it"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_bytes_like_chunks_are_sent_as_bytes():
    async def writer():
        yield bytearray(b"array")
        yield memoryview(b"view")

    async def handler(scope, info, matches, content):
        return 200, TEXT, writer()

    response = await TestClient(app_with(handler)).get("/")
    assert [m["body"] for m in response.messages[1:]] == [b"array", b"view", b""]
    assert all(type(m["body"]) is bytes for m in response.messages[1:])


async def test_writer_reading_a_slow_upload_gets_every_chunk_from_the_disconnect_watcher():
    async def handler(scope, info, matches, content):
        async def echo():
            yield b"start;"
            async for chunk in content:
                yield chunk

        return 200, TEXT, echo()

    async def slow_upload():
        for part in (b"one;", b"two;", b"three"):
            await asyncio.sleep(0.01)
            yield part

    response = await TestClient(app_with(handler, {"POST"})).post("/", body=slow_upload())
    assert response.body == b"start;one;two;three"


async def test_disconnect_while_a_streaming_writer_waits_for_the_upload_ends_the_writer():
    closed = []

    async def handler(scope, info, matches, content):
        async def echo():
            try:
                yield b"ready"
                async for chunk in content:
                    yield chunk
            finally:
                closed.append(True)

        return 200, TEXT, echo()

    async def upload():
        yield b"first"
        await asyncio.sleep(0.05)
        yield DISCONNECT

    client = TestClient(app_with(handler, {"POST"}))
    async with client.stream("POST", "/", body=upload()) as response:
        chunks = [chunk async for chunk in response]
    assert chunks[0] == b"ready"
    assert closed == [True]


@pytest.mark.parametrize("error", [TimeoutError("upstream slow"), ConnectionRefusedError("db")])
async def test_writer_raising_an_os_error_is_a_writer_failure_not_a_disconnect(error, caplog):
    async def writer():
        yield b"partial"
        raise error

    async def handler(scope, info, matches, content):
        return 200, TEXT, writer()

    response = await TestClient(app_with(handler)).get("/")
    assert response.body == b"partial"
    assert response.messages[-1] == {"type": "http.response.body", "body": b"", "more_body": False}
    assert any(r.exc_info and r.exc_info[1] is error for r in caplog.records)


async def test_http_error_keeps_a_content_length_it_was_given():
    async def handler(scope, info, matches, content):
        raise HTTPError(400, b"abc", [(b"content-length", b"3")])

    response = await TestClient(app_with(handler)).get("/")
    assert response.headers.get_all("content-length") == ["3"]


@pytest.mark.parametrize("status", ["200", True, 200.0])
async def test_full_tuple_with_a_status_that_is_not_an_int_is_a_500(status, caplog):
    async def bad_status(scope, info, matches, content):
        return status, None, None, None

    response = await TestClient(app_with(bad_status)).get("/")
    assert response.status == 500
    assert "bad_status" in caplog.text


@pytest.mark.parametrize("returned", [1000, (99,), (101, TEXT), (600, None, None, None), -1])
async def test_a_status_outside_200_to_599_is_a_500_naming_the_handler(returned, caplog):
    async def odd_status(scope, info, matches, content):
        return returned

    response = await TestClient(app_with(odd_status)).get("/")
    assert response.status == 500
    assert "odd_status returned the status" in caplog.text
    assert "from 200 to 599" in caplog.text


def test_http_error_reads_as_its_status_and_body():
    assert str(HTTPError(404)) == "404 Not Found"
    assert str(HTTPError(409, b"taken")) == "409 taken"
    assert str(HTTPError(400, "bad date")) == "400 bad date"


@pytest.mark.parametrize("status", [99, 101, 600, "404", True])
def test_http_error_refuses_a_status_that_cannot_end_a_response(status):
    with pytest.raises(ValueError, match="from 200 to 599"):
        HTTPError(status)


def test_not_found_response_with_an_odd_status_is_refused_when_the_app_is_made():
    with pytest.raises(ValueError, match="not_found_response returned the status 1000"):
        Application(not_found_response=1000)


async def test_log_line_names_the_handler_even_behind_middleware(caplog):
    async def passthrough(scope, info, matches, content, handler):
        return await handler(scope, info, matches, content)

    async def failing_handler(scope, info, matches, content):
        raise RuntimeError("boom")

    app = Application(middlewares=[passthrough])
    app.http_router.add({"GET"}, "/", failing_handler)
    assert (await TestClient(app).get("/")).status == 500
    assert "failing_handler" in caplog.records[0].getMessage()


async def test_a_server_whose_receive_fails_while_streaming_still_gets_the_whole_response(caplog):
    async def writer():
        yield b"one"
        await asyncio.sleep(0.01)  # lets the disconnect watcher start
        yield b"two"

    async def handler(scope, info, matches, content):
        return 200, TEXT, writer()

    class BrokenReceive(RawServer):
        async def receive(self):
            if self.requests:
                return self.requests.pop(0)
            raise RuntimeError("server bug")

    server = BrokenReceive()
    await app_with(handler)(http_scope(), server.receive, server.send)
    assert [m["body"] for m in server.bodies] == [b"one", b"two", b""]
    assert "no longer watching" in caplog.text


@pytest.mark.parametrize(
    ("headers", "problem"),
    [
        ([(b"x-evil", b"a\r\nset-cookie: stolen=1")], "contains CR, LF or NUL"),
        ([(b"x-evil", b"a\nb")], "contains CR, LF or NUL"),
        ([(b"x-nul", b"a\x00b")], "contains CR, LF or NUL"),
        ([(b"bad name", b"v")], "is not a valid header name"),
        ([(b"x-split:\r\n", b"v")], "is not a valid header name"),
        ([(b"", b"v")], "is not a valid header name"),
        ([("x-text", "caf\u00e9 \u2603")], "is not a pair of bytes"),
        ([(b"x-one", b"1", b"extra")], "list of (bytes, bytes) pairs"),
        ({"content-type": "text/plain"}, "list of (bytes, bytes) pairs"),
        ([b"x-flat"], "list of (bytes, bytes) pairs"),
    ],
)
async def test_bad_response_headers_become_a_500_and_never_reach_the_server(
    headers, problem, caplog
):
    async def injects(scope, info, matches, content):
        return 200, headers, text_writer("ok")

    server = RawServer()
    await app_with(injects)(http_scope(), server.receive, server.send)
    start = server.sent[0]
    assert start["status"] == 500
    assert all(b"evil" not in name and b"stolen" not in value for name, value in start["headers"])
    assert server.bodies[-1]["body"] == b"Internal Server Error"
    assert "injects" in caplog.text and problem in caplog.text


async def test_valid_unusual_headers_pass_untouched():
    headers = [(b"x-obs-text", "caf\u00e9".encode("latin-1")), (b"X-Token_!#$%&'*+-.^`|~9", b"")]

    async def handler(scope, info, matches, content):
        return 200, headers, text_writer("ok")

    response = await TestClient(app_with(handler)).get("/")
    assert response.status == 200
    assert response.headers.raw == headers


# -- compatibility with the original bareASGI 3 --------------------------------------------------


@pytest.mark.parametrize(
    ("hdrs", "headers"),
    [
        ([(b"x-reason", b"dup")], [(b"x-reason", b"dup")]),
        (((b"www-authenticate", b"Basic"),), [(b"www-authenticate", b"Basic")]),
        (None, []),
    ],
)
async def test_a_raised_urllib_http_error_made_the_original_way_is_its_response(hdrs, headers):
    async def handler(scope, info, matches, content):
        raise urllib.error.HTTPError("/", 409, "Already there", hdrs, None)

    response = await TestClient(app_with(handler)).get("/")
    assert (response.status, response.text) == (409, "Already there")
    for name, value in headers:
        assert response.headers[name.decode()] == value.decode()
    assert response.headers["content-type"] == "text/plain; charset=utf-8"


async def test_an_upstream_urllib_http_error_stays_a_logged_500(caplog):
    # What urllib.request raises for an upstream server's error carries that server's
    # headers (an HTTPMessage): passing them and its text on would leak them and could
    # break the response's framing (its content-length, its transfer-encoding).
    upstream = http.client.HTTPMessage()
    upstream["content-length"] = "512"
    upstream["set-cookie"] = "upstream=secret"

    async def handler(scope, info, matches, content):
        raise urllib.error.HTTPError("http://upstream/", 404, "Not Found", upstream, None)

    response = await TestClient(app_with(handler)).get("/")
    assert (response.status, response.text) == (500, "Internal Server Error")
    assert "set-cookie" not in response.headers
    assert "Unhandled exception" in caplog.text


@pytest.mark.parametrize("code", [99, 600, None])
async def test_a_urllib_http_error_with_no_final_status_is_a_logged_500(code, caplog):
    async def handler(scope, info, matches, content):
        raise urllib.error.HTTPError("/", code, "odd", None, None)

    response = await TestClient(app_with(handler)).get("/")
    assert response.status == 500
    assert "Unhandled exception" in caplog.text


@pytest.mark.parametrize("body", ["text", bytearray(b"ab"), None])
def test_bytes_response_refuses_a_body_that_is_not_bytes(body):
    with pytest.raises(TypeError, match="a response body is bytes, not"):
        bytes_response(200, None, body)


@pytest.mark.parametrize("size", [0, 13, 1023, 1024, 70_000])
def test_the_content_length_is_the_body_size_either_side_of_the_made_once_table(size):
    headers = text_response(200, None, "x" * size)[1]
    assert headers[-1] == (b"content-length", str(size).encode())


def test_bytes_response_fills_in_the_content_type_and_length():
    status, headers, writer, pushes = bytes_response(200, None, b"\x89PNG")
    assert (status, list(writer), pushes) == (200, [b"\x89PNG"], None)
    assert headers == [
        (b"content-type", b"application/octet-stream"),
        (b"content-length", b"4"),
    ]
    given = [(b"content-type", b"image/png"), (b"content-length", b"9")]
    assert bytes_response(201, given, b"ab")[1] == [
        (b"content-type", b"image/png"),
        (b"content-length", b"2"),
    ]


@pytest.mark.parametrize(
    "name", ["encode_set_cookie", "decode_cookies", "encode_cookies", "decode_set_cookie"]
)
def test_the_original_cookie_helpers_point_to_bareasgi_cookies(name):
    with pytest.raises(ImportError, match=r"bareasgi\.cookies"):
        exec(f"from bareasgi import {name}")


# found by mutation testing ---------------------------------------------------------------------


@pytest.mark.parametrize("status", [200, 599])
def test_http_error_takes_the_first_and_last_final_status(status):
    assert HTTPError(status).to_response()[0] == status


def test_http_error_repr_and_pickling_keep_its_status_body_and_headers():
    error = HTTPError(409, "taken", [(b"x-reason", b"dup")])
    assert repr(error) == "HTTPError(409, 'taken')"
    copy = pickle.loads(pickle.dumps(error))  # as a process pool sends it back
    assert (copy.status, copy.body, copy.headers) == (409, "taken", [(b"x-reason", b"dup")])
    assert copy.args == (409, "taken")


def test_http_error_reads_a_body_that_is_not_utf8_with_replacement_characters():
    assert str(HTTPError(400, b"bad \xff byte")) == "400 bad \ufffd byte"


async def test_http_error_with_a_bytes_body_keeps_its_headers():
    async def handler(scope, info, matches, content):
        raise HTTPError(403, b"\x00no", [(b"x-reason", b"locked")])

    response = await TestClient(app_with(handler)).get("/")
    assert (response.status, response.body) == (403, b"\x00no")
    assert response.headers["x-reason"] == "locked"
    assert response.headers["content-type"] == "application/octet-stream"


async def test_read_after_part_of_the_body_was_iterated_gives_the_rest_within_its_limit():
    results = []

    async def handler(scope, info, matches, content):
        first = await anext(aiter(content))
        try:
            results.append((first, await content.read(max_size=4)))
        except HTTPError as error:
            results.append((first, error.status))
        return 204

    for parts, expected in (
        ((b"ab", b"cd", b"ef"), (b"ab", b"cdef")),
        ((b"ab", b"cd", b"efg"), (b"ab", 413)),
    ):
        server = QueueServer()
        app = app_with(handler, {"POST"})
        task = asyncio.ensure_future(app(http_scope("POST"), server.receive, server.send))
        await feed(server, *parts)
        await asyncio.wait_for(task, 5)
        assert results.pop() == expected


@pytest.mark.parametrize("read", ["read", "iterate"])
async def test_body_messages_may_leave_out_body_and_more_body(read):
    # ASGI: "body" defaults to b"" and "more_body" to False.
    received = []

    async def handler(scope, info, matches, content):
        if read == "read":
            received.append(await content.read())
        else:
            received.append(b"".join([chunk async for chunk in content]))
        received.append([chunk async for chunk in content])  # nothing more, nothing received
        return 204

    server = RawServer(
        [
            {"type": "http.request", "body": b"abc", "more_body": True},
            {"type": "http.request", "more_body": True},
            {"type": "http.request", "body": b"def"},
        ]
    )
    app = app_with(handler, {"POST"})
    await asyncio.wait_for(app(http_scope("POST"), server.receive, server.send), 5)
    assert received == [b"abcdef", []]
    assert server.sent[0]["status"] == 204


@pytest.mark.parametrize("read", ["read", "iterate"])
async def test_a_stream_after_the_body_was_read_still_stops_when_the_client_leaves(read):
    closed = asyncio.Event()

    async def handler(scope, info, matches, content):
        if read == "read":
            await content.read()
        else:
            [chunk async for chunk in content]

        async def writer():
            try:
                while True:
                    yield b"tick"
                    await asyncio.sleep(0.001)
            finally:
                closed.set()

        return 200, TEXT, writer()

    server = QueueServer()
    app = app_with(handler, {"POST"})
    task = asyncio.ensure_future(app(http_scope("POST"), server.receive, server.send))
    await feed(server, b"ab", b"cd")
    await asyncio.sleep(0.02)
    server.incoming.put_nowait({"type": "http.disconnect"})
    await asyncio.wait_for(task, 5)
    assert closed.is_set()


async def test_an_iterated_body_and_a_starting_stream_take_turns_at_receive():
    bodies = []

    async def handler(scope, info, matches, content):
        async def read():
            return b"".join([chunk async for chunk in content])

        reading = asyncio.ensure_future(read())
        await asyncio.sleep(0)  # the iteration is waiting in receive when the stream starts

        async def writer():
            bodies.append(await asyncio.wait_for(reading, 5))
            yield b"done"

        return 200, TEXT, writer()

    server = QueueServer()
    app = app_with(handler, {"POST"})
    task = asyncio.ensure_future(app(http_scope("POST"), server.receive, server.send))
    await feed(server, b"c0", b"c1", b"c2")
    await asyncio.wait_for(task, 5)
    assert bodies == [b"c0c1c2"]  # and receive was never awaited twice at once


@pytest.mark.parametrize(
    ("headers", "body", "status", "text"),
    [
        ({"content-type": "application/json"}, b"\xff", 400, "The request body is not valid JSON."),
        (
            {"content-type": "application/json"},
            b"[" * 100_000,
            400,
            "The request body is not valid JSON: it is nested too deeply.",
        ),
        ({}, b"{}", 415, "Expected a JSON body: send content-type: application/json."),
        ({"content-type": "application/json; charset=utf-8; v=1"}, b"{}", 200, "{}"),
    ],
)
async def test_json_reader_answers_bad_json_in_plain_words(headers, body, status, text):
    async def handler(scope, info, matches, content):
        return json_response(200, None, await json_reader(content, scope=scope, max_size=None))

    response = await TestClient(app_with(handler, {"POST"})).post("/", body=body, headers=headers)
    assert (response.status, response.text) == (status, text)


async def test_a_streamed_response_sends_its_pushes_too():
    pushes = [("/style.css", [(b"accept", b"text/css")])]

    async def handler(scope, info, matches, content):
        async def writer():
            yield b"pa"
            yield b"ge"

        return 200, TEXT, writer(), pushes

    response = await TestClient(app_with(handler), server_push=True).get("/")
    kinds = [m["type"] for m in response.messages]
    assert kinds[:2] == ["http.response.start", "http.response.push"]
    assert (response.pushes, response.body) == (pushes, b"page")


@pytest.mark.parametrize("status", [200, 599])
@pytest.mark.parametrize("shape", ["int", "tuple", "full tuple"])
async def test_the_first_and_last_final_statuses_are_answered_as_given(status, shape):
    returned = {
        "int": status,
        "tuple": (status, TEXT),
        "full tuple": (status, TEXT, text_writer("x"), None),
    }[shape]

    async def handler(scope, info, matches, content):
        return returned

    response = await TestClient(app_with(handler)).get("/")
    assert response.status == status


@pytest.mark.parametrize("code", [200, 599])
async def test_a_urllib_http_error_with_the_first_or_last_final_status_is_its_response(code):
    async def handler(scope, info, matches, content):
        raise urllib.error.HTTPError("/", code, "said so", None, None)

    response = await TestClient(app_with(handler)).get("/")
    assert (response.status, response.text) == (code, "said so")


async def test_headers_given_as_two_item_lists_as_asgi_allows_are_sent():
    async def handler(scope, info, matches, content):
        return 200, [[b"content-type", b"text/plain"], [b"x-a", b"1"]], text_writer("hi")

    for _ in range(2):  # the second time, the header checks have seen these headers before
        response = await TestClient(app_with(handler)).get("/")
        assert (response.status, response.headers["x-a"], response.body) == (200, "1", b"hi")


async def test_a_writer_without_aclose_stopped_by_a_disconnect_logs_nothing(caplog):
    class Ticks:
        def __aiter__(self):
            return self

        async def __anext__(self):
            await asyncio.sleep(0.001)
            return b"tick"

    async def handler(scope, info, matches, content):
        return 200, TEXT, Ticks()

    async with TestClient(app_with(handler)).stream("GET", "/") as response:
        async for _ in response:
            break  # the client leaves
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_failing_handler_that_is_a_callable_object_is_logged_by_its_class(caplog):
    class Failing:
        async def __call__(self, scope, info, matches, content):
            raise RuntimeError("boom")

    assert (await TestClient(app_with(Failing())).get("/")).status == 500
    assert f"Unhandled exception in {__name__}.{Failing.__qualname__} for GET /" in caplog.text


async def test_headers_given_as_a_tuple_of_pairs_are_sent():
    async def handler(scope, info, matches, content):
        return 200, ((b"content-type", b"text/plain"), (b"x-a", b"1")), text_writer("hi")

    response = await TestClient(app_with(handler)).get("/")
    assert (response.status, response.headers["x-a"], response.body) == (200, "1", b"hi")


async def test_a_bad_header_given_as_a_two_item_list_never_reaches_the_server(caplog):
    async def handler(scope, info, matches, content):
        return 200, [[b"x-evil", b"a\r\nSet-Cookie: x=y"]], text_writer("hi")

    response = await TestClient(app_with(handler)).get("/")
    assert response.status == 500
    assert "x-evil" not in response.headers


async def test_pushes_given_by_a_generator_are_all_sent():
    async def handler(scope, info, matches, content):
        pushes = ((path, []) for path in ("/a.css", "/b.js"))
        return 200, TEXT, text_writer("page"), pushes

    response = await TestClient(app_with(handler), server_push=True).get("/")
    assert [path for path, _ in response.pushes] == ["/a.css", "/b.js"]


async def test_a_push_with_a_bad_header_never_reaches_the_server():
    async def handler(scope, info, matches, content):
        return 200, TEXT, text_writer("page"), [("/a.css", [(b"x-evil", b"a\r\nb")])]

    response = await TestClient(app_with(handler), server_push=True).get("/")
    assert (response.status, response.pushes) == (500, [])


def test_is_token_takes_bytes_too():
    from bareasgi.http import is_token

    assert is_token(b"x-token") and not is_token(b"x token")


async def test_a_full_tuple_with_an_int_enum_status_keeps_its_headers_and_body():
    async def handler(scope, info, matches, content):
        return HTTPStatus.CREATED, [(b"content-type", b"text/plain"), (b"x-a", b"1")], text_writer(
            "made"
        ), None

    response = await TestClient(app_with(handler)).get("/")
    assert (response.status, response.headers["x-a"], response.body) == (201, "1", b"made")


async def test_an_in_memory_body_of_several_chunks_is_sent_whole_with_pushes():
    async def handler(scope, info, matches, content):
        return 200, TEXT, bytes_writer(b"abcdefg", chunk_size=3), [("/a.css", [])]

    response = await TestClient(app_with(handler), server_push=True).get("/")
    assert (response.body, len(response.pushes)) == (b"abcdefg", 1)


async def test_an_in_memory_body_of_two_chunks_is_sent_whole_with_pushes():
    async def handler(scope, info, matches, content):
        return 200, TEXT, bytes_writer(b"abcdef", chunk_size=3), [("/a.css", [])]

    response = await TestClient(app_with(handler), server_push=True).get("/")
    assert (response.body, len(response.pushes)) == (b"abcdef", 1)


async def test_a_writer_object_failing_after_the_start_is_closed(caplog):
    # Not a generator: nothing closes it but the framework's aclose.
    class Failing:
        def __init__(self):
            self.sent = 0
            self.closed = 0

        def __aiter__(self):
            return self

        async def __anext__(self):
            self.sent += 1
            if self.sent > 1:
                raise RuntimeError("the source broke")
            return b"first"

        async def aclose(self):
            self.closed += 1

    writer = Failing()

    async def handler(scope, info, matches, content):
        return 200, TEXT, writer

    response = await TestClient(app_with(handler)).get("/")
    assert (response.status, response.body, writer.closed) == (200, b"first", 1)


async def test_a_writer_failing_as_the_client_leaves_ends_the_exchange_normally(caplog):
    async def writer():
        yield b"part"
        raise RuntimeError("the source broke")

    async def handler(scope, info, matches, content):
        return 200, TEXT, writer()

    server = GoneAtTheEnd()
    # The server sees the application return: no exception escapes to it.
    await app_with(handler)(http_scope(), server.receive, server.send)
    assert [m.get("body") for m in server.bodies] == [b"part"]
    assert "The writer of" in caplog.text


async def test_a_urllib_http_error_whose_msg_is_not_text_gets_the_status_phrase():
    async def handler(scope, info, matches, content):
        raise urllib.error.HTTPError("/", 404, HTTPStatus.NOT_FOUND, None, None)

    response = await TestClient(app_with(handler)).get("/")
    assert (response.status, response.text) == (404, "Not Found")


async def test_a_long_header_value_given_as_a_bytearray_never_reaches_the_server():
    # Long: a value of 64 bytes or fewer would also fail the header cache's hashing.
    async def handler(scope, info, matches, content):
        return 200, [(b"x-long", bytearray(b"v" * 100))], text_writer("hi")

    response = await TestClient(app_with(handler)).get("/")
    assert response.status == 500
    assert "x-long" not in response.headers


async def test_a_failing_handler_without_a_module_is_named_alone_in_the_log(caplog):
    # A function made by exec() with no __name__ in its globals has __module__ None.
    namespace: dict[str, object] = {}
    exec("async def made(scope, info, matches, content):\n    raise RuntimeError('x')", namespace)

    response = await TestClient(app_with(namespace["made"])).get("/")
    assert response.status == 500
    assert "Unhandled exception in made for GET /" in caplog.text



async def three_chunks():
    for index in range(3):
        yield f"c{index}".encode()
        await asyncio.sleep(0)


# ASGI allows one pending receive(): a second reader waits for the first's turn, and no
# chunk is lost or repeated.
async def test_two_tasks_reading_the_body_at_once_never_receive_at_the_same_time():
    async def handler(scope, info, matches, content):
        first, second = await asyncio.gather(bytes_reader(content), bytes_reader(content))
        return 200, TEXT, bytes_writer(first + b"|" + second)

    app = app_with(handler, {"POST"})
    response = await TestClient(app, timeout=5).post("/", body=three_chunks())

    # As for two readers one after the other: the body, then nothing.
    assert (response.status, sorted(response.body.split(b"|"))) == (200, [b"", b"c0c1c2"])


async def test_two_tasks_iterating_the_body_at_once_share_its_chunks_between_them():
    async def handler(scope, info, matches, content):
        async def read():
            return [chunk async for chunk in content]

        first, second = await asyncio.gather(read(), read())
        return 200, TEXT, bytes_writer(b",".join(sorted(first + second)))

    app = app_with(handler, {"POST"})
    response = await TestClient(app, timeout=5).post("/", body=three_chunks())

    assert (response.status, response.body) == (200, b"c0,c1,c2")
