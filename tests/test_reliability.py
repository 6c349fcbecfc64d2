"""Faults an outside probe found, each checked under the real servers where it needs them.

A WebSocket client that resets its connection while the handler only sends must not
freeze the server: the handler learns that the client has gone (``ClientDisconnect``)
and the server keeps answering other requests.
"""

from __future__ import annotations

import base64
import importlib
import json
import os
import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bareasgi.testing import TestClient
from tests.realserver import Server, ServerKind, poll, start_server

RESET_APP = "tests.reset_app:app"
TRIES = 4
ANSWER_TIMEOUT = 5.0


# uvicorn's two WebSocket layers (websockets' sans-I/O one by default, and wsproto) and
# hypercorn's each fail differently once the peer is gone.
WS_SERVERS: list[tuple[ServerKind, tuple[str, ...]]] = [
    ("uvicorn", ()),
    ("uvicorn", ("--ws", "wsproto")),
    ("hypercorn", ()),
]


@pytest.fixture(params=WS_SERVERS, ids=["uvicorn", "uvicorn-wsproto", "hypercorn"])
def reset_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    kind, extra_args = request.param
    with start_server(
        kind, RESET_APP, tmp_dir=tmp_path, probe_path="/health", extra_args=extra_args
    ) as server:
        yield server


def connect_read_once_and_reset(port: int) -> None:
    """Open a WebSocket on a raw socket, read once, and close with a TCP reset."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=ANSWER_TIMEOUT)
    try:
        key = base64.b64encode(os.urandom(16)).decode("ascii")
        sock.sendall(
            (
                "GET /flood HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{port}\r\n"
                "Upgrade: websocket\r\n"
                "Connection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode("ascii")
        )
        answer = sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 101"), answer[:100]
    finally:
        # SO_LINGER with a zero timeout: close() sends a RST instead of a FIN.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()


def test_a_websocket_client_resetting_mid_flood_never_freezes_the_server(
    reset_server: Server,
) -> None:
    for attempt in range(TRIES):
        connect_read_once_and_reset(reset_server.port)
        time.sleep(0.2)  # long enough for a spinning handler to take the whole loop
        started = time.monotonic()
        response = httpx.get(f"{reset_server.base_url}/health", timeout=ANSWER_TIMEOUT)
        assert response.text == "ok", f"try {attempt + 1}"
        assert time.monotonic() - started < ANSWER_TIMEOUT

    def endings() -> dict[str, int]:
        state: dict[str, int] = httpx.get(
            f"{reset_server.base_url}/flood-state", timeout=ANSWER_TIMEOUT
        ).json()
        return state if state.get("ClientDisconnect") == TRIES else {}

    assert poll(endings, ANSWER_TIMEOUT) == {"ClientDisconnect": TRIES}
    assert reset_server.server_errors() == []


# -- the examples that read JSON show their limit ----------------------------------------------


@pytest.mark.parametrize(
    ("module", "method", "path", "limit"),
    [
        ("examples.rest.app", "POST", "/info", 10_000),
        ("examples.cors.app", "PUT", "/greeting", 1_000),
        ("examples.testing.app", "POST", "/todos", 10_000),
    ],
)
async def test_examples_reading_json_refuse_a_body_over_their_max_size(
    module: str, method: str, path: str, limit: int
) -> None:
    app = importlib.import_module(module).app
    body = json.dumps({"padding": "x" * limit}).encode()

    response = await TestClient(app).request(
        method, path, headers={"content-type": "application/json"}, body=body
    )

    assert (response.status, response.text) == (
        413,
        f"The request body is larger than {limit} bytes.",
    )


# -- HEAD and 304 behind compression, as real servers send them --------------------------------


@pytest.mark.parametrize("kind", ["uvicorn", "hypercorn"])
def test_head_and_304_of_a_compressed_static_file_match_its_get_under_a_real_server(
    kind: ServerKind, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    public = tmp_path / "public"
    public.mkdir()
    (public / "big.txt").write_bytes(b"a line of text\n" * 10_000)
    monkeypatch.setenv("RELIABILITY_STATIC", str(public))
    with start_server(kind, RESET_APP, tmp_dir=tmp_path, probe_path="/health") as server:
        with httpx.Client(base_url=server.base_url, timeout=ANSWER_TIMEOUT) as client:
            gzip = {"accept-encoding": "gzip"}
            full = client.get("/static/big.txt", headers=gzip)
            head = client.head("/static/big.txt", headers=gzip)
            cached = client.get(
                "/static/big.txt", headers={**gzip, "if-none-match": full.headers["etag"]}
            )
            after = client.get("/health")  # the connection is still in a good state
        assert full.headers["content-encoding"] == head.headers["content-encoding"] == "gzip"
        assert full.content == b"a line of text\n" * 10_000  # httpx decodes it
        for name in ("etag", "vary", "content-type"):
            assert head.headers[name] == full.headers[name]
        assert cached.status_code == 304
        assert cached.headers["etag"] == full.headers["etag"]
        assert cached.headers["vary"] == full.headers["vary"]
        assert "content-length" not in cached.headers
        assert after.text == "ok"
        assert server.server_errors() == []
