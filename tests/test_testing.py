"""The TestClient itself: protocol checking, exceptions, streaming, disconnects and helpers.

Most tests drive small raw ASGI applications written here, some of them deliberately
broken, so that what is checked is the client and not the framework behind it.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bareasgi import Application, ClientDisconnect
from bareasgi.testing import (
    DISCONNECT,
    LifespanFailure,
    ProtocolError,
    ResponseHeaders,
    TestClient,
    WebSocketClosed,
    WebSocketRejected,
)

START = {"type": "http.response.start", "status": 200, "headers": []}
END = {"type": "http.response.body", "body": b"", "more_body": False}


def raw_http_app(*messages: dict[str, Any], then: BaseException | None = None) -> Any:
    """A raw ASGI app that reads the request, sends ``messages`` in order, then maybe raises."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        await receive()
        for message in messages:
            await send(message)
        if then is not None:
            raise then

    return app


# -- protocol errors in HTTP responses ----------------------------------------------------------


async def test_response_started_but_never_finished_raises_protocol_error() -> None:
    client = TestClient(raw_http_app(START))

    with pytest.raises(ProtocolError, match="without finishing"):
        await client.get("/")


async def test_response_with_more_body_pending_when_the_app_returns_raises_protocol_error(
) -> None:
    body = {"type": "http.response.body", "body": b"partial", "more_body": True}
    client = TestClient(raw_http_app(START, body))

    with pytest.raises(ProtocolError, match="without finishing"):
        await client.get("/")


async def test_app_returning_without_sending_anything_raises_protocol_error() -> None:
    client = TestClient(raw_http_app())

    with pytest.raises(ProtocolError):
        await client.get("/")


async def test_body_before_response_start_raises_protocol_error() -> None:
    client = TestClient(raw_http_app(END))

    with pytest.raises(ProtocolError, match=r"before http\.response\.start"):
        await client.get("/")


async def test_body_message_after_the_response_finished_raises_protocol_error() -> None:
    extra = {"type": "http.response.body", "body": b"late", "more_body": False}
    client = TestClient(raw_http_app(START, END, extra))

    with pytest.raises(ProtocolError, match="after the response finished"):
        await client.get("/")


async def test_start_message_after_the_response_finished_raises_protocol_error() -> None:
    client = TestClient(raw_http_app(START, END, START))

    with pytest.raises(ProtocolError, match="after the response finished"):
        await client.get("/")


async def test_response_started_twice_raises_protocol_error() -> None:
    client = TestClient(raw_http_app(START, START, END))

    with pytest.raises(ProtocolError, match="twice"):
        await client.get("/")


async def test_body_that_is_not_bytes_raises_protocol_error() -> None:
    text_body = {"type": "http.response.body", "body": "text", "more_body": False}
    client = TestClient(raw_http_app(START, text_body))

    with pytest.raises(ProtocolError, match="bytes"):
        await client.get("/")


async def test_unknown_message_type_raises_protocol_error() -> None:
    client = TestClient(raw_http_app(START, {"type": "http.response.teapot"}, END))

    with pytest.raises(ProtocolError, match="unknown message type"):
        await client.get("/")


@pytest.mark.parametrize(
    ("late", "problem"),
    [
        (START, "twice"),
        ({"type": "http.response.body", "body": "text", "more_body": False}, "bytes"),
        ({"type": "http.response.teapot"}, "unknown message type"),
    ],
)
async def test_messages_after_the_client_left_must_still_make_a_valid_response(
    late: dict[str, Any], problem: str
) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send(START)
        await send({"type": "http.response.body", "body": b"one", "more_body": True})
        assert (await receive())["type"] == "http.disconnect"
        await send(late)

    with pytest.raises(ProtocolError, match=problem):
        async with TestClient(app, timeout=2).stream("GET", "/") as response:
            assert await anext(aiter(response)) == b"one"


async def test_app_still_running_after_the_timeout_raises_protocol_error() -> None:
    cancelled: list[bool] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    client = TestClient(app, timeout=0.05)

    with pytest.raises(ProtocolError, match="still running"):
        await client.get("/")
    await asyncio.sleep(0)
    assert cancelled == [True]


async def test_well_behaved_raw_app_gets_a_response_with_every_message_recorded() -> None:
    messages = [
        {"type": "http.response.start", "status": 201, "headers": [(b"x-a", b"1")]},
        {"type": "http.response.body", "body": b'{"a": ', "more_body": True},
        {"type": "http.response.body", "body": b"[1, 2]}", "more_body": False},
    ]
    response = await TestClient(raw_http_app(*messages)).get("/")

    assert response.status == 201
    assert response.body == b'{"a": [1, 2]}'
    assert response.text == '{"a": [1, 2]}'
    assert response.json() == {"a": [1, 2]}
    assert response.headers["x-a"] == "1"
    assert response.messages == messages


# -- exceptions escaping the application --------------------------------------------------------


async def test_exception_before_the_response_starts_is_reraised() -> None:
    client = TestClient(raw_http_app(then=ValueError("broken before start")))

    with pytest.raises(ValueError, match="broken before start"):
        await client.get("/")


async def test_exception_after_the_response_finished_is_reraised() -> None:
    client = TestClient(raw_http_app(START, END, then=KeyError("broken after end")))

    with pytest.raises(KeyError, match="broken after end"):
        await client.get("/")


async def test_exception_in_a_streamed_response_is_reraised_on_entry() -> None:
    client = TestClient(raw_http_app(then=LookupError("stream broke")))

    with pytest.raises(LookupError, match="stream broke"):
        async with client.stream("GET", "/"):
            pass


async def test_exception_in_the_middle_of_a_streamed_response_is_reraised() -> None:
    chunk = {"type": "http.response.body", "body": b"part", "more_body": True}
    client = TestClient(raw_http_app(START, chunk, then=RuntimeError("mid-stream")))

    with pytest.raises(RuntimeError, match="mid-stream"):
        async with client.stream("GET", "/") as response:
            await response.read()


# -- streaming ----------------------------------------------------------------------------------


async def test_stream_yields_each_chunk_as_the_application_produces_it() -> None:
    release = asyncio.Event()

    async def handler(scope: Any, info: Any, matches: Any, content: Any) -> Any:
        async def writer() -> AsyncIterator[bytes]:
            yield b"first"
            await release.wait()
            yield b"second"

        return 200, [(b"content-type", b"text/plain")], writer()

    app = Application()
    app.http_router.add({"GET"}, "/", handler)
    client = TestClient(app, timeout=2)

    async with client.stream("GET", "/") as response:
        assert response.status == 200
        assert response.headers["content-type"] == "text/plain"
        chunks = aiter(response)
        assert await anext(chunks) == b"first"
        assert not response.finished
        release.set()
        assert await anext(chunks) == b"second"
        with pytest.raises(StopAsyncIteration):
            await anext(chunks)
        assert response.finished


async def test_stream_of_a_raw_app_yields_chunks_in_order_and_read_gets_the_rest() -> None:
    parts = [
        {"type": "http.response.body", "body": b"a", "more_body": True},
        {"type": "http.response.body", "body": b"b", "more_body": True},
        {"type": "http.response.body", "body": b"c", "more_body": False},
    ]
    client = TestClient(raw_http_app(START, *parts))

    async with client.stream("GET", "/") as response:
        chunks = aiter(response)
        assert await anext(chunks) == b"a"
        assert await response.read() == b"bc"


async def test_leaving_the_stream_block_early_disconnects_the_client() -> None:
    events: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        events.append(await receive())
        await send(START)
        await send({"type": "http.response.body", "body": b"one", "more_body": True})
        events.append(await receive())

    client = TestClient(app, timeout=2)

    async with client.stream("GET", "/") as response:
        assert await anext(aiter(response)) == b"one"
        assert len(events) == 1
    assert response.finished is False
    assert events == [
        {"type": "http.request", "body": b"", "more_body": False},
        {"type": "http.disconnect"},
    ]


async def test_leaving_the_stream_block_early_stops_a_framework_writer() -> None:
    events: list[str] = []

    async def handler(scope: Any, info: Any, matches: Any, content: Any) -> Any:
        async def endless() -> AsyncIterator[bytes]:
            try:
                while True:
                    yield b"tick"
                    await asyncio.sleep(0)
            finally:
                events.append("writer stopped")

        return 200, None, endless()

    app = Application()
    app.http_router.add({"GET"}, "/", handler)
    client = TestClient(app, timeout=2)

    async with client.stream("GET", "/") as response:
        received = []
        async for chunk in response:
            received.append(chunk)
            if len(received) == 3:
                break
    assert received == [b"tick"] * 3
    assert events == ["writer stopped"]
    assert response.finished is False


async def test_explicit_disconnect_of_a_stream_waits_for_the_app_to_stop() -> None:
    stopped: list[bool] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send(START)
        await receive()
        stopped.append(True)

    async with TestClient(app, timeout=2).stream("GET", "/") as response:
        await response.disconnect()
        assert stopped == [True]


# -- request bodies and disconnects -------------------------------------------------------------


def scope_recording_app(scopes: list[Any]) -> Any:
    """A raw app that records each request's scope and answers an empty 200."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        scopes.append(scope)
        await receive()
        await send(START)
        await send(END)

    return app


def recording_app(received: list[Any]) -> Any:
    """A raw app that records every message until the request body ends or the client leaves."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            received.append(message)
            if message["type"] == "http.disconnect":
                return
            if not message.get("more_body", False):
                break
        await send(START)
        await send(END)

    return app


async def test_disconnect_in_a_body_iterable_makes_the_client_disconnect_there() -> None:
    received: list[Any] = []

    async def body() -> AsyncIterator[Any]:
        yield b"first"
        yield DISCONNECT
        yield b"never sent"

    response = await TestClient(recording_app(received), timeout=2).post("/", body=body())

    assert received == [
        {"type": "http.request", "body": b"first", "more_body": True},
        {"type": "http.disconnect"},
    ]
    assert response.messages == []


async def test_disconnect_in_a_body_iterable_is_a_client_disconnect_for_a_handler() -> None:
    outcome: list[str] = []

    async def handler(scope: Any, info: Any, matches: Any, content: Any) -> Any:
        chunks = []
        try:
            async for chunk in content:
                chunks.append(chunk)
        except ClientDisconnect:
            outcome.append(f"disconnected after {chunks!r}")
            raise
        return 200

    async def body() -> AsyncIterator[Any]:
        yield b"part"
        yield DISCONNECT

    app = Application()
    app.http_router.add({"POST"}, "/", handler)

    response = await TestClient(app, timeout=2).post("/", body=body())

    assert outcome == ["disconnected after [b'part']"]
    assert response.messages == []


async def test_body_iterable_chunks_arrive_as_separate_messages() -> None:
    received: list[Any] = []

    async def body() -> AsyncIterator[Any]:
        yield b"one"
        yield "two"
        yield bytearray(b"three")

    response = await TestClient(recording_app(received)).post("/", body=body())

    assert response.status == 200
    assert received == [
        {"type": "http.request", "body": b"one", "more_body": True},
        {"type": "http.request", "body": b"two", "more_body": True},
        {"type": "http.request", "body": b"three", "more_body": True},
        {"type": "http.request", "body": b"", "more_body": False},
    ]


async def test_bytes_body_arrives_in_one_message_with_a_content_length() -> None:
    received: list[Any] = []
    scopes: list[Any] = []
    app = recording_app(received)

    async def spy(scope: Any, receive: Any, send: Any) -> None:
        scopes.append(scope)
        await app(scope, receive, send)

    await TestClient(spy).post("/", body=b"payload")

    assert received == [{"type": "http.request", "body": b"payload", "more_body": False}]
    assert (b"content-length", b"7") in scopes[0]["headers"]


async def test_json_argument_sends_a_json_body_with_its_content_type() -> None:
    received: list[Any] = []
    scopes: list[Any] = []
    app = recording_app(received)

    async def spy(scope: Any, receive: Any, send: Any) -> None:
        scopes.append(scope)
        await app(scope, receive, send)

    await TestClient(spy).put("/", json={"name": "x", "n": [1]})

    assert received[0]["body"] == b'{"name": "x", "n": [1]}'
    assert (b"content-type", b"application/json") in scopes[0]["headers"]


@pytest.mark.parametrize(
    ("start", "problem"),
    [
        ({"status": "200"}, "status must be an int from 200 to 599, not '200'"),
        ({"status": 99}, "status must be an int from 200 to 599, not 99"),
        ({"status": True}, "status must be an int from 200 to 599, not True"),
        ({"status": 200, "headers": [("x-a", "1")]}, "headers must be (bytes, bytes) pairs"),
        ({"status": 200, "headers": [(b"x-a",)]}, "headers must be (bytes, bytes) pairs"),
    ],
)
async def test_a_response_start_no_server_can_send_raises_protocol_error(
    start: dict[str, Any], problem: str
) -> None:
    # As a server checks them: ASGI asks for an int status and (bytes, bytes) header pairs,
    # and a final response (HTTP/1.1 as h11 has it) is from 200 to 599.
    client = TestClient(raw_http_app({"type": "http.response.start", **start}, END))

    with pytest.raises(ProtocolError, match=re.escape(problem)):
        await client.get("/")


async def test_after_the_response_the_app_is_told_the_client_disconnected() -> None:
    after: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send(START)
        await send(END)
        after.append(await asyncio.wait_for(receive(), 2))

    await TestClient(app).get("/")

    assert after == [{"type": "http.disconnect"}]


# -- the scope ----------------------------------------------------------------------------------


async def test_http_scope_carries_method_decoded_path_query_and_lowercased_headers() -> None:
    scopes: list[Any] = []
    app = scope_recording_app(scopes)

    client = TestClient(app, root_path="/api")
    await client.request("patch", "/a%20b/c?x=1&y=two", headers={"X-Token": "secret"})

    scope = scopes[0]
    assert scope["type"] == "http"
    assert scope["method"] == "PATCH"
    assert scope["path"] == "/api/a b/c"  # as uvicorn gives it: root_path in front
    assert scope["raw_path"] == b"/api/a%20b/c"
    assert scope["query_string"] == b"x=1&y=two"
    assert scope["root_path"] == "/api"
    assert (b"x-token", b"secret") in scope["headers"]
    assert scope["extensions"] == {}


@pytest.mark.parametrize(
    ("query", "sent"),
    [
        ("q=café&x=%C3%A9", b"q=caf%C3%A9&x=%C3%A9"),  # as httpx sends it: UTF-8, escaped
        ("a=1 2&b=[x]", b"a=1%202&b=[x]"),
        ("", b""),
    ],
)
async def test_a_query_of_any_text_reaches_the_app_escaped_as_a_client_sends_it(
    query: str, sent: bytes
) -> None:
    scopes: list[Any] = []
    app = scope_recording_app(scopes)

    await TestClient(app).get(f"/search?{query}")

    assert scopes[0]["query_string"] == sent


async def test_server_push_offers_the_push_extension_and_records_pushes() -> None:
    push = {"type": "http.response.push", "path": "/style.css", "headers": [(b"accept", b"*/*")]}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send(START)
        if "http.response.push" in scope["extensions"]:
            await send(push)
        await send(END)

    pushed = await TestClient(app, server_push=True).get("/")
    plain = await TestClient(app).get("/")

    assert pushed.pushes == [("/style.css", [(b"accept", b"*/*")])]
    assert plain.pushes == []


# -- response headers ---------------------------------------------------------------------------


def test_response_headers_look_names_up_case_insensitively() -> None:
    headers = ResponseHeaders(
        [(b"Content-Type", b"text/plain"), (b"set-cookie", b"a=1"), (b"Set-Cookie", b"b=2")]
    )

    assert headers["content-type"] == "text/plain"
    assert headers["CONTENT-TYPE"] == "text/plain"
    assert headers.get("Content-type") == "text/plain"
    assert headers.get_all("SET-COOKIE") == ["a=1", "b=2"]
    assert headers["set-cookie"] == "a=1"
    assert "content-TYPE" in headers
    assert "x-missing" not in headers


def test_response_headers_report_missing_names_and_keep_the_raw_pairs() -> None:
    raw = [(b"Content-Type", b"text/plain"), (b"X-Multi", b"1"), (b"x-multi", b"2")]
    headers = ResponseHeaders(raw)

    assert headers.get("x-missing") is None
    assert headers.get("x-missing", "fallback") == "fallback"
    assert headers.get_all("x-missing") == []
    with pytest.raises(KeyError):
        headers["x-missing"]
    assert headers.raw == raw
    assert len(headers) == 3


async def test_response_headers_of_a_real_response_are_case_insensitive() -> None:
    start = {"type": "http.response.start", "status": 200, "headers": [(b"X-Mixed-Case", b"v")]}
    response = await TestClient(raw_http_app(start, END)).get("/")

    assert response.headers["x-mixed-case"] == "v"
    assert response.headers["X-MIXED-CASE"] == "v"
    assert response.headers.raw == [(b"X-Mixed-Case", b"v")]


# -- websockets ---------------------------------------------------------------------------------


def raw_ws_app(*messages: dict[str, Any], then: BaseException | None = None) -> Any:
    """A raw ASGI WebSocket app that takes the connect, sends ``messages``, then maybe raises."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "websocket"
        assert (await receive())["type"] == "websocket.connect"
        for message in messages:
            await send(message)
        if then is not None:
            raise then

    return app


ACCEPT = {"type": "websocket.accept"}


async def test_websocket_closed_before_accept_raises_websocket_rejected_with_its_code() -> None:
    client = TestClient(raw_ws_app({"type": "websocket.close", "code": 4003}))

    with pytest.raises(WebSocketRejected) as rejected:
        async with client.websocket("/ws"):
            pass

    assert rejected.value.code == 4003


async def test_websocket_sending_data_before_accept_raises_protocol_error() -> None:
    client = TestClient(raw_ws_app({"type": "websocket.send", "text": "hi"}))

    with pytest.raises(ProtocolError, match=r"websocket\.accept"):
        async with client.websocket("/ws"):
            pass


async def test_websocket_app_returning_without_closing_raises_protocol_error() -> None:
    client = TestClient(raw_ws_app(ACCEPT))

    with pytest.raises(ProtocolError, match="without closing"):
        async with client.websocket("/ws") as ws:
            await ws.receive()


async def test_websocket_app_sending_after_closing_raises_protocol_error() -> None:
    close = {"type": "websocket.close", "code": 1000}
    client = TestClient(raw_ws_app(ACCEPT, close, {"type": "websocket.send", "text": "late"}))

    with pytest.raises(ProtocolError, match="after closing"):
        async with client.websocket("/ws") as ws:
            with pytest.raises(WebSocketClosed):
                await ws.receive()


# What real servers do not deliver (uvicorn, hypercorn and granian tried, with a websockets
# client): a close code or reason a client refuses, or a subprotocol the client did not
# offer, fails the test, as bareasgi.websocket describes.
@pytest.mark.parametrize(
    ("close", "problem"),
    [
        ({"code": 5000}, "5000 is not a close code"),
        ({"code": 1006}, "1006 is not a close code"),
        ({"code": 4000, "reason": "r" * 124}, "longer than 123 bytes"),
    ],
)
async def test_websocket_closed_with_a_code_or_reason_no_client_accepts_raises_protocol_error(
    close: dict[str, Any], problem: str
) -> None:
    client = TestClient(raw_ws_app(ACCEPT, {"type": "websocket.close", **close}))

    with pytest.raises(ProtocolError, match=problem):
        async with client.websocket("/ws") as ws:
            await ws.receive()


async def test_websocket_closed_before_accept_with_any_code_is_rejected_as_servers_do() -> None:
    client = TestClient(raw_ws_app({"type": "websocket.close", "code": 5000}))

    with pytest.raises(WebSocketRejected):
        async with client.websocket("/ws"):
            pass


@pytest.mark.parametrize("offered", [[], ["chat"]])
async def test_websocket_accepted_with_a_subprotocol_not_offered_raises_protocol_error(
    offered: list[str],
) -> None:
    client = TestClient(raw_ws_app({"type": "websocket.accept", "subprotocol": "graphql-ws"}))

    with pytest.raises(ProtocolError, match="'graphql-ws', which the client did not offer"):
        async with client.websocket("/ws", subprotocols=offered):
            pass


async def test_exception_escaping_a_websocket_app_is_reraised() -> None:
    client = TestClient(raw_ws_app(ACCEPT, then=ValueError("ws app broke")))

    with pytest.raises(ValueError, match="ws app broke"):
        async with client.websocket("/ws") as ws:
            await ws.receive()


async def test_websocket_close_from_the_app_is_websocket_closed_with_code_and_reason() -> None:
    close = {"type": "websocket.close", "code": 4100, "reason": "enough"}
    client = TestClient(raw_ws_app(ACCEPT, {"type": "websocket.send", "bytes": b"\x00"}, close))

    async with client.websocket("/ws") as ws:
        assert await ws.receive() == b"\x00"
        with pytest.raises(WebSocketClosed) as closed:
            await ws.receive()

    assert (closed.value.code, closed.value.reason) == (4100, "enough")
    assert (ws.close_code, ws.close_reason) == (4100, "enough")


async def test_websocket_scope_and_client_messages_reach_the_app() -> None:
    seen: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope)
        await receive()
        await send({"type": "websocket.accept", "subprotocol": "b", "headers": [(b"x", b"1")]})
        while (message := await receive())["type"] != "websocket.disconnect":
            seen.append(message)
        seen.append(message)

    async with TestClient(app).websocket(
        "/chat?room=1", subprotocols=["a", "b"], headers={"Origin": "http://x"}
    ) as ws:
        assert ws.subprotocol == "b"
        assert ws.accept_headers == [(b"x", b"1")]
        await ws.send("text")
        await ws.send(b"bin")
        await ws.close(4000, "bye")

    scope = seen[0]
    assert scope["type"] == "websocket"
    assert scope["path"] == "/chat"
    assert scope["query_string"] == b"room=1"
    assert scope["subprotocols"] == ["a", "b"]
    assert (b"origin", b"http://x") in scope["headers"]
    assert seen[1:] == [
        {"type": "websocket.receive", "text": "text"},
        {"type": "websocket.receive", "bytes": b"bin"},
        {"type": "websocket.disconnect", "code": 4000, "reason": "bye"},
    ]


# -- lifespan -----------------------------------------------------------------------------------


def raw_lifespan_app(answers: dict[str, dict[str, Any]], log: list[Any]) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "lifespan"
        while True:
            message = await receive()
            log.append(message["type"])
            answer = answers[message["type"]]
            await send(answer)
            if message["type"] == "lifespan.shutdown" or answer["type"].endswith(".failed"):
                return

    return app


async def test_startup_failure_raises_lifespan_failure_with_the_app_message() -> None:
    log: list[Any] = []
    app = raw_lifespan_app(
        {"lifespan.startup": {"type": "lifespan.startup.failed", "message": "no database"}}, log
    )

    with pytest.raises(LifespanFailure, match="no database"):
        async with TestClient(app):
            log.append("body")

    assert log == ["lifespan.startup"]


async def test_shutdown_failure_raises_lifespan_failure_with_the_app_message() -> None:
    log: list[Any] = []
    answers = {
        "lifespan.startup": {"type": "lifespan.startup.complete"},
        "lifespan.shutdown": {"type": "lifespan.shutdown.failed", "message": "flush lost"},
    }

    with pytest.raises(LifespanFailure, match="flush lost"):
        async with TestClient(raw_lifespan_app(answers, log)):
            log.append("body")

    assert log == ["lifespan.startup", "body", "lifespan.shutdown"]


async def test_unexpected_lifespan_answer_raises_protocol_error() -> None:
    answers = {"lifespan.startup": {"type": "lifespan.shutdown.complete"}}

    with pytest.raises(ProtocolError, match="unexpected lifespan message"):
        async with TestClient(raw_lifespan_app(answers, [])):
            pass


async def test_lifespan_events_are_sent_only_inside_async_with() -> None:
    scope_types: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        scope_types.append(scope["type"])
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        await receive()
        await send(START)
        await send(END)

    await TestClient(app).get("/")
    assert scope_types == ["http"]

    async with TestClient(app) as client:
        await client.get("/")
    assert scope_types == ["http", "lifespan", "http"]
