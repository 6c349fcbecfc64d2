"""WebSocket handlers: accepting, receiving, sending, closing, routing and errors."""

from __future__ import annotations

import asyncio
import gc
import logging
from typing import Any

import pytest

from bareasgi import Application, ClientDisconnect
from bareasgi.testing import TestClient, WebSocketClosed, WebSocketRejected
from bareasgi.websocket import WebSocketState
from tests.scripted import one_at_a_time

TIMEOUT = 5


class RawWebSocket:
    """Drive one WebSocket connection at the ASGI level, recording every message the app sends.

    Like hypercorn's, its ``send`` never waits, and once the client has disconnected
    it drops what is sent without raising. Like every server's, ``receive`` refuses to
    be awaited twice at the same time.
    """

    def __init__(
        self, app: Application, path: str, subprotocols: list[str] | None = None
    ) -> None:
        scope = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "scheme": "ws",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"example.org")],
            "subprotocols": subprotocols or [],
        }
        self.incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.outgoing: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.sent: list[dict[str, Any]] = []
        self.incoming.put_nowait({"type": "websocket.connect"})
        self.gone = False
        self.task = asyncio.ensure_future(app(scope, self._receive, self._send))

    @one_at_a_time
    async def _receive(self) -> dict[str, Any]:
        message = await self.incoming.get()
        if message["type"] == "websocket.disconnect":
            self.gone = True
        return message

    async def _send(self, message: dict[str, Any]) -> None:
        if self.gone:
            return
        self.sent.append(message)
        self.outgoing.put_nowait(message)

    async def next_sent(self) -> dict[str, Any]:
        return await asyncio.wait_for(self.outgoing.get(), TIMEOUT)

    def client_sends(self, message: dict[str, Any]) -> None:
        self.incoming.put_nowait(message)

    async def finished(self) -> None:
        await asyncio.wait_for(self.task, TIMEOUT)


def app_with(path: str, handler: Any) -> Application:
    app = Application()
    app.ws_router.add(path, handler)
    return app


# -- accept -------------------------------------------------------------------------------------


async def test_accept_sends_the_chosen_subprotocol_and_headers() -> None:
    seen: list[Any] = []

    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        seen.append(scope["subprotocols"])
        await web_socket.accept("graphql-ws", [(b"x-session", b"abc")])
        await web_socket.close()

    async with TestClient(app_with("/ws", handler)).websocket(
        "/ws", subprotocols=["chat", "graphql-ws"]
    ) as ws:
        assert ws.subprotocol == "graphql-ws"
        assert ws.accept_headers == [(b"x-session", b"abc")]
        with pytest.raises(WebSocketClosed):
            await ws.receive()

    assert seen == [["chat", "graphql-ws"]]


async def test_accept_message_at_the_asgi_level_carries_subprotocol_and_headers() -> None:
    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.accept(subprotocol="chat", headers=[(b"x-a", b"1")])
        await web_socket.close()

    raw = RawWebSocket(app_with("/ws", handler), "/ws", subprotocols=["chat"])
    await raw.finished()

    assert raw.sent == [
        {"type": "websocket.accept", "subprotocol": "chat", "headers": [(b"x-a", b"1")]},
        {"type": "websocket.close"},
    ]


async def test_accept_without_arguments_chooses_no_subprotocol_and_adds_no_headers() -> None:
    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.accept()
        await web_socket.close()

    raw = RawWebSocket(app_with("/ws", handler), "/ws", subprotocols=["chat"])
    await raw.finished()
    async with TestClient(app_with("/ws", handler)).websocket("/ws", subprotocols=["x"]) as ws:
        assert ws.subprotocol is None
        assert ws.accept_headers == []

    accept = raw.sent[0]
    assert accept["type"] == "websocket.accept"
    assert accept.get("subprotocol") is None
    assert list(accept.get("headers", [])) == []


# Accepted anyway, every server fails the connection (the websockets library and browsers
# refuse the handshake; hypercorn and uvicorn with wsproto fail themselves), so accept()
# refuses at once: the handler's error is logged, and the connection rejected.
@pytest.mark.parametrize("offered", [[], ["chat", "v2.chat"]])
async def test_accept_with_a_subprotocol_the_client_did_not_offer_raises_and_rejects(
    offered: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.accept("graphql-ws")

    raw = RawWebSocket(app_with("/ws", handler), "/ws", subprotocols=offered)
    await raw.finished()

    assert [message["type"] for message in raw.sent] == ["websocket.close"]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].exc_info is not None
    assert isinstance(errors[0].exc_info[1], ValueError)
    assert str(errors[0].exc_info[1]) == (
        f"accept(): the client did not offer the subprotocol 'graphql-ws' (it offered {offered})"
    )


# Handshake headers no server sends as given: uvicorn's websockets layer answers 403 or an
# invalid response, uvicorn with wsproto and hypercorn fail in h11 (hypercorn with "Error
# in ASGI Framework"), granian drops them all. Checked as a response's headers are.
@pytest.mark.parametrize(
    ("headers", "problem"),
    [
        ([(b"x-a", b"1\r\nx-injected: yes")], "contains CR, LF or NUL"),
        ([(b"x-a", b"1\x00")], "contains CR, LF or NUL"),
        ([(b"bad name", b"1")], "is not a valid header name"),
        ([("x-a", "1")], "is not a pair of bytes"),
        ([b"x-a"], "headers must be a list of (bytes, bytes) pairs"),
        ({b"x-a": b"1"}, "headers must be a list of (bytes, bytes) pairs"),
    ],
)
async def test_accept_with_headers_no_server_can_send_raises_and_rejects(
    headers: Any, problem: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.accept(headers=headers)

    raw = RawWebSocket(app_with("/ws", handler), "/ws")
    await raw.finished()

    assert [message["type"] for message in raw.sent] == ["websocket.close"]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].exc_info is not None
    assert isinstance(errors[0].exc_info[1], ValueError)
    assert problem in str(errors[0].exc_info[1])


async def test_accept_with_headers_from_a_generator_sends_them() -> None:
    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.accept(headers=(pair for pair in [(b"x-a", b"1")]))
        await web_socket.close()

    raw = RawWebSocket(app_with("/ws", handler), "/ws")
    await raw.finished()

    assert raw.sent[0] == {"type": "websocket.accept", "headers": [(b"x-a", b"1")]}


async def test_accept_twice_raises_runtime_error() -> None:
    errors: list[str] = []

    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.accept()
        try:
            await web_socket.accept()
        except RuntimeError as error:
            errors.append(str(error))
        await web_socket.send("still open")

    async with TestClient(app_with("/ws", handler)).websocket("/ws") as ws:
        assert await ws.receive() == "still open"
    assert len(errors) == 1


# -- receive ------------------------------------------------------------------------------------


async def test_receive_returns_str_for_text_and_bytes_for_binary() -> None:
    received: list[Any] = []

    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.accept()
        for _ in range(3):
            received.append(await web_socket.receive())
        await web_socket.close()

    async with TestClient(app_with("/ws", handler)).websocket("/ws") as ws:
        await ws.send("hello")
        await ws.send(b"\x00\x01\xff")
        await ws.send("")
        with pytest.raises(WebSocketClosed):
            await ws.receive()

    assert received == ["hello", b"\x00\x01\xff", ""]
    assert [type(message) for message in received] == [str, bytes, str]


async def test_receive_returns_none_once_the_client_disconnects_and_close_code_is_its_code(
) -> None:
    outcome: dict[str, Any] = {}

    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.accept()
        outcome["before"] = web_socket.close_code
        outcome["first"] = await web_socket.receive()
        outcome["second"] = await web_socket.receive()
        outcome["again"] = await web_socket.receive()
        outcome["code"] = web_socket.close_code
        outcome["reason"] = web_socket.close_reason

    async with TestClient(app_with("/ws", handler)).websocket("/ws") as ws:
        await ws.send("last words")
        await ws.close(4000, "going away")

    assert outcome == {
        "before": None,
        "first": "last words",
        "second": None,
        "again": None,
        "code": 4000,
        "reason": "going away",
    }


async def test_client_disconnect_at_the_asgi_level_ends_receive_with_its_code() -> None:
    outcome: dict[str, Any] = {}

    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.accept()
        outcome["received"] = await web_socket.receive()
        outcome["code"] = web_socket.close_code

    raw = RawWebSocket(app_with("/ws", handler), "/ws")
    assert (await raw.next_sent())["type"] == "websocket.accept"
    raw.client_sends({"type": "websocket.disconnect", "code": 4001})
    await raw.finished()

    assert outcome == {"received": None, "code": 4001}
    assert [message["type"] for message in raw.sent] == ["websocket.accept"]


async def test_async_for_yields_each_message_until_the_client_disconnects() -> None:
    collected: list[Any] = []
    loop_ended: list[bool] = []

    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.accept()
        async for message in web_socket:
            collected.append(message)
            await web_socket.send(f"ack {len(collected)}")
        loop_ended.append(True)

    async with TestClient(app_with("/ws", handler)).websocket("/ws") as ws:
        await ws.send("one")
        assert await ws.receive() == "ack 1"
        await ws.send(b"two")
        assert await ws.receive() == "ack 2"
        await ws.send("three")
        assert await ws.receive() == "ack 3"
        await ws.close(1001)

    assert collected == ["one", b"two", "three"]
    assert loop_ended == [True]


async def test_receive_before_accept_raises_runtime_error_and_sends_nothing() -> None:
    errors: list[BaseException] = []

    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        try:
            await web_socket.receive()
        except RuntimeError as error:
            errors.append(error)
        await web_socket.accept()
        await web_socket.close()

    raw = RawWebSocket(app_with("/ws", handler), "/ws")
    await raw.finished()

    assert len(errors) == 1
    assert [message["type"] for message in raw.sent] == ["websocket.accept", "websocket.close"]


async def test_send_before_accept_raises_runtime_error_and_sends_nothing() -> None:
    errors: list[BaseException] = []

    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        for data in ("text", b"bytes"):
            try:
                await web_socket.send(data)
            except RuntimeError as error:
                errors.append(error)
        await web_socket.accept()
        await web_socket.send("after accept")

    raw = RawWebSocket(app_with("/ws", handler), "/ws")
    await raw.finished()

    assert len(errors) == 2
    assert raw.sent == [
        {"type": "websocket.accept"},
        {"type": "websocket.send", "text": "after accept"},
        {"type": "websocket.close"},
    ]


# -- send ---------------------------------------------------------------------------------------


async def test_send_delivers_text_as_str_and_binary_as_bytes() -> None:
    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.accept()
        await web_socket.send("text")
        await web_socket.send(b"\x00binary")
        await web_socket.send(bytearray(b"array"))
        await web_socket.close()

    async with TestClient(app_with("/ws", handler)).websocket("/ws") as ws:
        assert await ws.receive() == "text"
        assert await ws.receive() == b"\x00binary"
        assert await ws.receive() == b"array"


async def test_send_messages_at_the_asgi_level_use_text_or_bytes_keys() -> None:
    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.accept()
        await web_socket.send("héllo")
        await web_socket.send(b"\x01")

    raw = RawWebSocket(app_with("/ws", handler), "/ws")
    await raw.finished()

    assert raw.sent[1:] == [
        {"type": "websocket.send", "text": "héllo"},
        {"type": "websocket.send", "bytes": b"\x01"},
        {"type": "websocket.close"},
    ]


@pytest.mark.parametrize("data", [42, {"key": "value"}, ["a"], None, 1.5])
async def test_send_of_anything_but_str_or_bytes_raises_type_error(data: Any) -> None:
    errors: list[BaseException] = []

    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.accept()
        try:
            await web_socket.send(data)
        except TypeError as error:
            errors.append(error)
        await web_socket.send("after")
        await web_socket.close()

    raw = RawWebSocket(app_with("/ws", handler), "/ws")
    await raw.finished()

    assert len(errors) == 1
    assert [message.get("text") for message in raw.sent if message["type"] == "websocket.send"] == [
        "after"
    ]


async def test_send_after_the_client_disconnected_raises_client_disconnect() -> None:
    errors: list[BaseException] = []

    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.accept()
        assert await web_socket.receive() is None
        try:
            await web_socket.send("too late")
        except ClientDisconnect as error:
            errors.append(error)

    raw = RawWebSocket(app_with("/ws", handler), "/ws")
    raw.client_sends({"type": "websocket.disconnect", "code": 1000})
    await raw.finished()

    assert len(errors) == 1
    assert [message["type"] for message in raw.sent] == ["websocket.accept"]


# -- close --------------------------------------------------------------------------------------


async def test_close_code_and_reason_are_seen_by_the_client() -> None:
    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.accept()
        await web_socket.send("bye")
        await web_socket.close(4001, "session expired")

    async with TestClient(app_with("/ws", handler)).websocket("/ws") as ws:
        assert await ws.receive() == "bye"
        with pytest.raises(WebSocketClosed) as closed:
            await ws.receive()

    assert closed.value.code == 4001
    assert closed.value.reason == "session expired"


async def test_close_at_the_asgi_level_carries_code_and_reason() -> None:
    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.accept()
        await web_socket.close(4002, "done")

    raw = RawWebSocket(app_with("/ws", handler), "/ws")
    await raw.finished()

    assert raw.sent[1:] == [{"type": "websocket.close", "code": 4002, "reason": "done"}]


# RFC 6455 (7.4) lets an endpoint send 1000-1003, 1007-1014 (IANA) and 3000-4999, with a
# reason of at most 123 bytes of UTF-8 (a control frame carries 125). Sent anyway, uvicorn's
# websockets layer raises to the handler and drops the connection; wsproto, hypercorn and
# granian send the frame and the client fails the connection with 1002.
@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (1000, "é" * 61 + "a"),  # 123 bytes
        (1001, ""),
        (1003, ""),
        (1007, ""),
        (1014, ""),
        (3000, ""),
        (4999, "x"),
    ],
)
async def test_close_with_a_code_and_reason_a_client_accepts_is_sent(
    code: int, reason: str
) -> None:
    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.accept()
        await web_socket.close(code, reason)

    async with TestClient(app_with("/ws", handler)).websocket("/ws") as ws:
        with pytest.raises(WebSocketClosed) as closed:
            await ws.receive()

    assert (closed.value.code, closed.value.reason) == (code, reason)


@pytest.mark.parametrize(
    ("code", "reason", "problem"),
    [
        (999, "", "999 is not a close code"),
        (1004, "", "1004 is not a close code"),
        (1005, "", "1005 is not a close code"),
        (1006, "", "1006 is not a close code"),
        (1015, "", "1015 is not a close code"),
        (2000, "", "2000 is not a close code"),
        (5000, "", "5000 is not a close code"),
        (True, "", "True is not a close code"),
        (1000, "é" * 62, "longer than 123 bytes"),
        (4000, "r" * 500, "longer than 123 bytes"),
        (4000, b"bytes", "must be a str"),
        (4000, "\ud800", "not valid text"),
    ],
)
async def test_close_with_a_code_or_reason_no_client_accepts_raises_and_1011_is_sent(
    code: Any, reason: Any, problem: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.accept()
        await web_socket.close(code, reason)

    raw = RawWebSocket(app_with("/ws", handler), "/ws")
    await raw.finished()

    assert raw.sent == [{"type": "websocket.accept"}, {"type": "websocket.close", "code": 1011}]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert errors[0].exc_info is not None and isinstance(errors[0].exc_info[1], ValueError)
    assert problem in str(errors[0].exc_info[1])


async def test_closing_twice_sends_one_close_message() -> None:
    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.accept()
        await web_socket.close(4003)
        await web_socket.close(4004)

    raw = RawWebSocket(app_with("/ws", handler), "/ws")
    await raw.finished()

    assert [message for message in raw.sent if message["type"] == "websocket.close"] == [
        {"type": "websocket.close", "code": 4003}
    ]


async def test_handler_returning_without_closing_is_closed_with_1000() -> None:
    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.accept()
        await web_socket.send("only message")

    async with TestClient(app_with("/ws", handler)).websocket("/ws") as ws:
        assert await ws.receive() == "only message"
        with pytest.raises(WebSocketClosed) as closed:
            await ws.receive()

    assert closed.value.code == 1000

    raw = RawWebSocket(app_with("/ws", handler), "/ws")
    await raw.finished()
    assert raw.sent[-1] == {"type": "websocket.close"}
    assert len(raw.sent) == 3


async def test_handler_returning_after_the_client_left_sends_no_close() -> None:
    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.accept()
        await web_socket.receive()

    raw = RawWebSocket(app_with("/ws", handler), "/ws")
    raw.client_sends({"type": "websocket.disconnect", "code": 1001})
    await raw.finished()

    assert [message["type"] for message in raw.sent] == ["websocket.accept"]


async def test_handler_closing_before_accept_rejects_the_connection() -> None:
    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.close(4403, "not allowed")

    with pytest.raises(WebSocketRejected) as rejected:
        async with TestClient(app_with("/ws", handler)).websocket("/ws"):
            pass
    assert rejected.value.code == 4403

    raw = RawWebSocket(app_with("/ws", handler), "/ws")
    await raw.finished()
    assert raw.sent == [{"type": "websocket.close", "code": 4403, "reason": "not allowed"}]


# -- routing ------------------------------------------------------------------------------------


async def test_unrouted_path_is_rejected_by_the_test_client() -> None:
    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.accept()

    with pytest.raises(WebSocketRejected):
        async with TestClient(app_with("/ws", handler)).websocket("/elsewhere"):
            pass


async def test_unrouted_path_is_closed_before_accept_at_the_asgi_level() -> None:
    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.accept()

    raw = RawWebSocket(app_with("/ws", handler), "/elsewhere")
    await raw.finished()

    assert len(raw.sent) == 1
    assert raw.sent[0]["type"] == "websocket.close"
    assert all(message["type"] != "websocket.accept" for message in raw.sent)


async def test_path_variables_arrive_in_matches_converted() -> None:
    seen: list[Any] = []

    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        seen.append(dict(matches))
        await web_socket.accept()
        await web_socket.send(str(matches["id"] * 2))

    app = app_with("/rooms/{name}/items/{id:int}", handler)
    async with TestClient(app).websocket("/rooms/blue/items/21") as ws:
        assert await ws.receive() == "42"

    assert seen == [{"name": "blue", "id": 21}]
    assert type(seen[0]["id"]) is int


async def test_path_that_does_not_convert_is_not_routed() -> None:
    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.accept()

    with pytest.raises(WebSocketRejected):
        async with TestClient(app_with("/items/{id:int}", handler)).websocket("/items/abc"):
            pass


async def test_http_routes_do_not_serve_websockets() -> None:
    async def http_handler(scope: Any, info: Any, matches: Any, content: Any) -> Any:
        return 200

    app = Application()
    app.http_router.add({"GET"}, "/ws", http_handler)

    with pytest.raises(WebSocketRejected):
        async with TestClient(app).websocket("/ws"):
            pass


# -- errors -------------------------------------------------------------------------------------


async def test_handler_that_raises_is_logged_and_closed_with_1011(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.accept()
        await web_socket.send("working")
        raise RuntimeError("handler blew up")

    with caplog.at_level(logging.ERROR, logger="bareasgi"):
        async with TestClient(app_with("/ws", handler)).websocket("/ws") as ws:
            assert await ws.receive() == "working"
            with pytest.raises(WebSocketClosed) as closed:
                await ws.receive()

    assert closed.value.code == 1011
    errors = [r for r in caplog.records if r.name == "bareasgi" and r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert errors[0].exc_info is not None
    assert isinstance(errors[0].exc_info[1], RuntimeError)
    assert "handler blew up" in caplog.text


async def test_handler_that_raises_sends_close_1011_at_the_asgi_level(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.accept()
        raise ValueError("bad")

    with caplog.at_level(logging.ERROR, logger="bareasgi"):
        raw = RawWebSocket(app_with("/ws", handler), "/ws")
        await raw.finished()

    assert raw.sent[-1]["type"] == "websocket.close"
    assert raw.sent[-1]["code"] == 1011
    assert len(raw.sent) == 2
    assert any(r.exc_info and isinstance(r.exc_info[1], ValueError) for r in caplog.records)


@pytest.mark.parametrize(
    "error",
    [
        RuntimeError("state corrupted"),
        TimeoutError("upstream too slow"),
        ConnectionRefusedError("database down"),
    ],
    ids=["RuntimeError", "TimeoutError", "ConnectionRefusedError"],
)
async def test_any_exception_raised_by_the_handler_itself_is_logged_and_closed_with_1011(
    error: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.accept()
        await web_socket.send("working")
        raise error

    with caplog.at_level(logging.ERROR, logger="bareasgi"):
        raw = RawWebSocket(app_with("/ws", handler), "/ws")
        await raw.finished()

    assert raw.sent[-1] == {"type": "websocket.close", "code": 1011}
    errors = [r for r in caplog.records if r.name == "bareasgi" and r.levelno >= logging.ERROR]
    assert [r.exc_info[1] for r in errors if r.exc_info] == [error]


async def test_handler_timing_out_is_closed_with_1011_for_the_test_client(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.accept()
        await asyncio.wait_for(asyncio.Event().wait(), 0.01)

    with caplog.at_level(logging.ERROR, logger="bareasgi"):
        async with TestClient(app_with("/ws", handler), timeout=2).websocket("/ws") as ws:
            with pytest.raises(WebSocketClosed) as closed:
                await ws.receive()

    assert closed.value.code == 1011
    assert "TimeoutError" in caplog.text


async def test_handler_that_raises_before_accept_rejects_the_connection(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        raise LookupError("no such room")

    with caplog.at_level(logging.ERROR, logger="bareasgi"), pytest.raises(WebSocketRejected):
        async with TestClient(app_with("/ws", handler)).websocket("/ws"):
            pass

    raw = RawWebSocket(app_with("/ws", handler), "/ws")
    await raw.finished()
    assert [message["type"] for message in raw.sent] == ["websocket.close"]
    assert any(r.exc_info and isinstance(r.exc_info[1], LookupError) for r in caplog.records)


async def test_handler_that_raises_after_the_client_left_does_not_escape_the_app(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.accept()
        await web_socket.receive()
        raise RuntimeError("cleanup failed")

    with caplog.at_level(logging.ERROR, logger="bareasgi"):
        raw = RawWebSocket(app_with("/ws", handler), "/ws")
        raw.client_sends({"type": "websocket.disconnect", "code": 1000})
        await raw.finished()

    assert [message["type"] for message in raw.sent] == ["websocket.accept"]
    assert "cleanup failed" in caplog.text


async def test_websocket_handler_receives_the_app_info_and_the_scope() -> None:
    seen: list[Any] = []

    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        seen.append((info, scope["path"], scope["type"]))
        await web_socket.accept()

    app = app_with("/ws", handler)
    async with TestClient(app).websocket("/ws"):
        pass

    assert seen == [(app.info, "/ws", "websocket")]
    assert seen[0][0] is app.info


async def test_send_after_the_application_closed_is_a_runtime_error_not_a_disconnect() -> None:
    errors: list[BaseException] = []

    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.accept()
        await web_socket.close()
        try:
            await web_socket.send("too late")
        except Exception as error:
            errors.append(error)

    app = Application()
    app.ws_router.add("/ws", handler)
    async with TestClient(app).websocket("/ws") as ws:
        with pytest.raises(WebSocketClosed):
            await ws.receive()
    assert len(errors) == 1 and type(errors[0]) is RuntimeError
    assert "after close()" in str(errors[0])


# -- a client that goes while the handler only sends ------------------------------------------

SEND_BOUND = 10_000  # sends a spinning handler makes before the test gives up on it


async def test_a_send_only_handler_learns_the_client_left_even_if_the_server_never_says() -> None:
    ended: list[str] = []
    ticks = 0

    async def flood(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.accept()
        try:
            for _ in range(SEND_BOUND):
                await web_socket.send(b"q" * 100)
        except ClientDisconnect:
            ended.append("ClientDisconnect")
            raise
        ended.append("gave up")

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    raw = RawWebSocket(app_with("/ws", flood), "/ws")
    other = asyncio.ensure_future(ticker())
    assert (await raw.next_sent())["type"] == "websocket.accept"
    raw.client_sends({"type": "websocket.disconnect", "code": 1006})
    await raw.finished()
    other.cancel()
    assert ended == ["ClientDisconnect"]
    assert len(raw.sent) < 100  # noticed within a few sends, not after thousands
    assert ticks > 10  # the other task kept running meanwhile


async def test_messages_the_client_sent_while_the_handler_only_sent_are_received_in_order() -> None:
    received: list[Any] = []

    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.accept()
        for number in range(50):
            await web_socket.send(str(number))
        async for message in web_socket:
            received.append(message)

    async with TestClient(app_with("/ws", handler)).websocket("/ws") as ws:
        for number in range(30):
            await ws.send(f"m{number}")
        assert [await ws.receive() for _ in range(50)] == [str(n) for n in range(50)]
    assert received == [f"m{number}" for number in range(30)]


async def test_a_reader_task_and_a_sending_task_never_receive_at_the_same_time() -> None:
    received: list[Any] = []

    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.accept()

        async def read() -> None:
            async for message in web_socket:
                received.append(message)

        reader = asyncio.ensure_future(read())
        try:
            for number in range(100):
                await web_socket.send(str(number))
        finally:
            await reader

    async with TestClient(app_with("/ws", handler)).websocket("/ws") as ws:
        assert [await ws.receive() for _ in range(100)] == [str(n) for n in range(100)]
        await ws.send("last")
    assert received == ["last"]


# -- found by mutation testing ------------------------------------------------------------------


async def test_each_misuse_says_what_went_wrong() -> None:
    messages: list[str] = []

    async def attempt(call: Any) -> None:
        try:
            await call
        except (RuntimeError, ClientDisconnect) as error:
            messages.append(f"{type(error).__name__}: {error}")

    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await attempt(web_socket.receive())
        await attempt(web_socket.send("early"))
        await web_socket.accept()
        await attempt(web_socket.accept())
        await web_socket.close()
        await attempt(web_socket.send("late"))

    async def left(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.accept()
        await web_socket.receive()
        await attempt(web_socket.send("gone"))

    raw = RawWebSocket(app_with("/ws", handler), "/ws")
    await raw.finished()
    raw = RawWebSocket(app_with("/ws", left), "/ws")
    raw.client_sends({"type": "websocket.disconnect", "code": 1000})
    await raw.finished()
    assert messages == [
        "RuntimeError: receive() before accept(): accept the WebSocket first",
        "RuntimeError: send() before accept(): accept the WebSocket first",
        "RuntimeError: accept() on a WebSocket that is already accepted",
        "RuntimeError: send() after close(): the application closed this WebSocket",
        "ClientDisconnect: send() on a WebSocket the client has disconnected",
    ]


async def test_a_disconnect_without_code_or_reason_reads_as_1005_and_empty() -> None:
    seen: list[Any] = []

    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.accept()
        seen.append((web_socket.state, web_socket.close_code, web_socket.close_reason))
        seen.append(await web_socket.receive())
        seen.append((web_socket.state, web_socket.close_code, web_socket.close_reason))

    raw = RawWebSocket(app_with("/ws", handler), "/ws")
    raw.client_sends({"type": "websocket.disconnect"})
    await raw.finished()
    assert seen == [
        (WebSocketState.ACCEPTED, None, None),  # nothing until the client has left
        None,
        (WebSocketState.DISCONNECTED, 1005, ""),  # 1005: no status code was present
    ]


async def test_an_empty_binary_message_is_received_as_empty_bytes() -> None:
    received: list[Any] = []

    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.accept()
        received.append(await web_socket.receive())

    raw = RawWebSocket(app_with("/ws", handler), "/ws")
    raw.client_sends({"type": "websocket.receive", "bytes": b""})
    await raw.finished()
    assert received == [b""]


async def wait_for(event: asyncio.Event) -> None:
    await asyncio.wait_for(event.wait(), TIMEOUT)
    await asyncio.sleep(0.01)  # lets any pending receive run


async def test_a_receive_is_kept_pending_from_the_16th_send_without_a_receive() -> None:
    # A handler that answers each message with a burst of up to 15 never has the server's
    # receive called behind its back; from the 16th send on, one waits, to see a client
    # that leaves. The count starts again at each receive.
    steps = [asyncio.Event() for _ in range(4)]
    go_on = [asyncio.Event() for _ in range(4)]
    received: list[Any] = []

    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.accept()
        for round_ in range(2):
            for _ in range(15):
                await web_socket.send("x")
            steps[2 * round_].set()
            await go_on[2 * round_].wait()
            await web_socket.send("x")  # the 16th
            steps[2 * round_ + 1].set()
            await go_on[2 * round_ + 1].wait()
            received.append(await web_socket.receive())

    raw = RawWebSocket(app_with("/ws", handler), "/ws")
    for round_ in range(2):
        await wait_for(steps[2 * round_])
        raw.client_sends({"type": "websocket.receive", "text": f"m{round_}"})
        await asyncio.sleep(0.01)
        assert raw.incoming.qsize() == 1  # after 15 sends, nobody took it
        go_on[2 * round_].set()
        await wait_for(steps[2 * round_ + 1])
        assert raw.incoming.qsize() == 0  # after the 16th, the pending receive did
        go_on[2 * round_ + 1].set()
    await raw.finished()
    assert received == ["m0", "m1"]


async def test_a_receive_while_one_is_kept_pending_takes_its_message() -> None:
    received: list[Any] = []
    sent_all = asyncio.Event()

    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.accept()
        for _ in range(20):
            await web_socket.send("x")
        sent_all.set()
        received.append(await web_socket.receive())

    raw = RawWebSocket(app_with("/ws", handler), "/ws")
    await wait_for(sent_all)
    raw.client_sends({"type": "websocket.receive", "text": "answer"})
    await raw.finished()
    assert received == ["answer"]  # and the server's receive was never awaited twice


async def test_while_a_handler_only_sends_at_most_16_client_messages_are_taken() -> None:
    received: list[Any] = []
    sent_all = asyncio.Event()
    go_on = asyncio.Event()

    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.accept()
        for _ in range(60):
            await web_socket.send("x")
        sent_all.set()
        await go_on.wait()
        for _ in range(20):
            received.append(await web_socket.receive())

    raw = RawWebSocket(app_with("/ws", handler), "/ws")
    for number in range(20):
        raw.client_sends({"type": "websocket.receive", "text": f"m{number}"})
    await wait_for(sent_all)
    assert raw.incoming.qsize() == 4  # the rest wait at the server, which holds the client
    go_on.set()
    await raw.finished()
    assert received == [f"m{number}" for number in range(20)]


async def test_a_send_only_handler_sees_a_client_leave_after_one_of_its_messages() -> None:
    outcome: list[Any] = []

    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.accept()
        try:
            for _ in range(SEND_BOUND):
                await web_socket.send("x")
        except ClientDisconnect as error:
            outcome.extend([str(error), web_socket.state])
        outcome.append(await web_socket.receive())

    raw = RawWebSocket(app_with("/ws", handler), "/ws")
    raw.client_sends({"type": "websocket.receive", "text": "hello"})
    raw.client_sends({"type": "websocket.disconnect", "code": 1001})
    await raw.finished()
    # Once the client has gone, receive() says so, whatever it sent before.
    assert outcome == ["the client has gone", WebSocketState.DISCONNECTED, None]
    assert len(raw.sent) < 100


async def test_no_receive_is_left_pending_once_the_handler_returns() -> None:
    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.accept()
        for _ in range(20):
            await web_socket.send("x")

    raw = RawWebSocket(app_with("/ws", handler), "/ws")
    await raw.finished()
    raw.client_sends({"type": "websocket.receive", "text": "after the end"})
    await asyncio.sleep(0.01)
    assert raw.incoming.qsize() == 1  # the pending receive was cancelled: nobody takes it
    assert raw.sent[-1] == {"type": "websocket.close"}


class FailingReceive(RawWebSocket):
    """A server whose receive fails on a ``server.failure`` message."""

    @one_at_a_time
    async def _receive(self) -> dict[str, Any]:
        message = await self.incoming.get()
        if message["type"] == "server.failure":
            raise RuntimeError("the server failed")
        return message


async def test_a_pending_receive_that_failed_leaves_no_unretrieved_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.accept()
        for _ in range(16):
            await web_socket.send("x")
        await asyncio.sleep(0.01)  # the pending receive fails meanwhile

    raw = FailingReceive(app_with("/ws", handler), "/ws")
    raw.client_sends({"type": "server.failure"})
    with caplog.at_level(logging.ERROR):
        await raw.finished()
        del raw
        gc.collect()
        await asyncio.sleep(0)
    assert "never retrieved" not in caplog.text


async def test_a_handler_returning_without_accepting_is_rejected() -> None:
    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        return

    raw = RawWebSocket(app_with("/ws", handler), "/ws")
    await raw.finished()
    assert [message["type"] for message in raw.sent] == ["websocket.close"]


async def test_the_log_lines_name_the_handler_and_the_path(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def leaves(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.accept()
        for _ in range(SEND_BOUND):
            await web_socket.send("x")

    async def fails(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        raise LookupError("no such room")

    with caplog.at_level(logging.DEBUG, logger="bareasgi"):
        raw = RawWebSocket(app_with("/ws", leaves), "/ws")
        raw.client_sends({"type": "websocket.disconnect", "code": 1001})
        await raw.finished()
        await RawWebSocket(app_with("/room", fails), "/room").finished()
    assert [record.getMessage() for record in caplog.records] == [
        f"The client left the WebSocket of {__name__}.{leaves.__qualname__}",
        f"Unhandled exception in WebSocket handler {__name__}.{fails.__qualname__} for /room",
    ]


class RefusingSend(RawWebSocket):
    """A server whose send raises OSError once the client has gone, as uvicorn's does."""

    refuse = False

    async def _send(self, message: dict[str, Any]) -> None:
        if self.refuse:
            raise OSError("connection reset")
        await super()._send(message)


async def test_a_handler_failing_after_the_client_left_unnoticed_does_not_escape_the_app(
    caplog: pytest.LogCaptureFixture,
) -> None:
    accepted = asyncio.Event()
    fail = asyncio.Event()
    seen: list[Any] = []

    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.accept()
        accepted.set()
        await fail.wait()
        try:
            await web_socket.send("x")
        except ClientDisconnect as error:
            seen.extend([str(error), web_socket.state])
        raise RuntimeError("cleanup failed")

    async def forgets(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.accept()
        accepted.set()
        await fail.wait()
        raise RuntimeError("cleanup failed")

    for app in (app_with("/ws", handler), app_with("/ws", forgets)):
        accepted.clear()
        fail.clear()
        raw = RefusingSend(app, "/ws")
        await wait_for(accepted)
        raw.refuse = True
        fail.set()
        with caplog.at_level(logging.ERROR, logger="bareasgi"):
            await raw.finished()  # the close(1011) the framework tries fails quietly
    assert seen == ["the client has gone", WebSocketState.DISCONNECTED]
    failures = [r.exc_info[1] for r in caplog.records if r.exc_info is not None]
    assert [str(error) for error in failures] == ["cleanup failed", "cleanup failed"]
