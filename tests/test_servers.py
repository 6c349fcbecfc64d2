"""The application in tests/server_app.py, served by real uvicorn and hypercorn processes.

Each server starts once per module (per parameter) and is always stopped by the fixture,
whatever the tests do. The clients are real too: httpx for HTTP and ``websockets`` for
WebSocket, talking over a socket to the server's process.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.realserver import (
    SERVER_KINDS,
    Server,
    ServerKind,
    poll,
    start_server,
    traceback_endings,
)

APP = "tests.server_app:app"
BOOM_MESSAGE = "deliberate failure: secret-boom-detail"


@pytest.fixture(scope="module", params=SERVER_KINDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    kind: ServerKind = request.param
    with start_server(
        kind, APP, tmp_dir=tmp_path_factory.mktemp(kind), probe_path="/hello"
    ) as running:
        yield running
    # Shutting down is covered too: the lifespan shutdown and any connections still open.
    assert running.server_errors() == [], running.stderr()


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=10.0) as http_client:
        yield http_client


def test_get_returns_text(client: httpx.Client) -> None:
    response = client.get("/hello")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == "Hello, World!"


def test_typed_path_variable_is_matched_and_converted(client: httpx.Client) -> None:
    response = client.get("/items/42")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"id": 42}


def test_path_variable_of_the_wrong_type_is_not_found(client: httpx.Client) -> None:
    assert client.get("/items/abc").status_code == 404


def test_post_echoes_a_body_sent_with_content_length(client: httpx.Client) -> None:
    body = secrets.token_bytes(256 * 1024)

    response = client.post("/echo", content=body)

    assert response.status_code == 200
    assert response.content == body


def test_post_echoes_a_chunked_body(client: httpx.Client) -> None:
    parts = [secrets.token_bytes(16 * 1024) for _ in range(8)]

    response = client.post("/echo", content=iter(parts))

    assert response.status_code == 200
    assert response.content == b"".join(parts)


def test_wrong_method_is_405_with_allow_header(client: httpx.Client) -> None:
    response = client.post("/hello", content=b"x")

    assert response.status_code == 405
    allowed = {method.strip() for method in response.headers.get("allow", "").split(",")}
    assert "GET" in allowed


def test_unknown_path_is_404_with_the_same_non_empty_body_each_time(client: httpx.Client) -> None:
    first = client.get("/no/such/path")
    second = client.get("/no/such/path")

    assert (first.status_code, second.status_code) == (404, 404)
    assert first.content
    assert first.content == second.content


def test_head_on_a_get_route_has_the_get_headers_and_no_body(client: httpx.Client) -> None:
    get = client.get("/hello")
    head = client.head("/hello")

    def comparable(response: httpx.Response) -> list[tuple[str, str]]:
        return sorted((k, v) for k, v in response.headers.items() if k not in ("date", "server"))

    assert head.status_code == get.status_code == 200
    assert comparable(head) == comparable(get)
    assert head.content == b""


def test_streaming_response_reaches_the_client_before_it_is_finished(
    server: Server, client: httpx.Client
) -> None:
    """The last chunk is produced only after the client says it has read the first one.

    A server or framework that buffers the response would deliver nothing until the
    writer gave up waiting, and the last chunk would then read ``never released``.
    """
    token = secrets.token_hex(8)
    reads: list[bytes] = []
    with client.stream("GET", "/stream", params={"token": token}) as response:
        assert response.status_code == 200
        for data in response.iter_raw():
            if not reads:
                with httpx.Client(base_url=server.base_url, timeout=10.0) as other:
                    release = other.post("/stream-release", params={"token": token})
                    assert release.status_code == 204
            reads.append(data)

    body = b"".join(reads)
    assert not body.endswith(b"never released\n"), "nothing arrived until the response was complete"
    assert body == b"chunk 0\nchunk 1\nchunk 2\nchunk 3\nreleased\n"
    assert len(reads) > 1


def test_handler_exception_is_500_without_details(client: httpx.Client) -> None:
    response = client.get("/boom")

    assert response.status_code == 500
    assert response.content == b"Internal Server Error"
    assert "secret-boom-detail" not in response.text


def test_websocket_echoes_text_and_bytes(server: Server) -> None:
    with connect(f"{server.ws_url}/ws", open_timeout=10) as ws:
        ws.send("hello")
        assert ws.recv(timeout=10) == "hello"
        ws.send(b"\x00\x01binary")
        assert ws.recv(timeout=10) == b"\x00\x01binary"


def test_websocket_to_an_unrouted_path_is_rejected_with_403(server: Server) -> None:
    with pytest.raises(InvalidStatus) as raised, connect(f"{server.ws_url}/no-such-socket"):
        pass

    assert raised.value.response.status_code == 403


def test_client_disconnect_stops_the_streaming_writer(server: Server, client: httpx.Client) -> None:
    token = secrets.token_hex(8)
    with (
        httpx.Client(base_url=server.base_url, timeout=10.0) as leaving,
        leaving.stream("GET", "/endless", params={"token": token}) as response,
    ):
        assert response.status_code == 200
        next(response.iter_raw())
    # Leaving the block before the body ends closes the connection.

    def state() -> dict[str, Any] | None:
        current: dict[str, Any] | None = client.get("/stream-state", params={"token": token}).json()
        return current if current and current["stopped"] else None

    stopped = poll(state, timeout=10.0)
    assert stopped, "the writer was still running 10 s after the client disconnected"
    assert not stopped["completed"], stopped


def test_server_logged_no_asgi_errors(server: Server, client: httpx.Client) -> None:
    """Only the deliberate 500 may leave a traceback; the server never reports an ASGI error.

    This runs after the other tests on the same server, so their requests are in the log.
    """
    assert client.get("/boom").status_code == 500
    poll(lambda: BOOM_MESSAGE in server.stderr(), timeout=5.0)  # let the log catch up
    log = server.stderr()

    assert server.server_errors() == [], log
    unexpected = [end for end in traceback_endings(log) if BOOM_MESSAGE not in end]
    assert unexpected == [], log
