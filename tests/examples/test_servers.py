"""Every example in examples/, served by real uvicorn, hypercorn and granian processes.

The examples are discovered (every ``examples/NAME/app.py``), and each must have an entry in
``EXAMPLES`` below: a new example without one fails these tests loudly. For each example and
each server, one server process serves ``examples.NAME.app:app`` from the repository root;
it is stopped before the next one starts. The clients are real too: httpx for HTTP (streamed
reads and chunked uploads where the example streams), ``websockets`` for WebSockets and, for
HTTP/2 server push under hypercorn, an ``h2`` client speaking cleartext HTTP/2.

Each example's ``if __name__ == "__main__":`` block is run too, as ``python examples/NAME/app.py``
with ``PORT`` set to a free port.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import re
import secrets
import signal
import socket
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import (
    ConnectionTerminated,
    DataReceived,
    PushedStreamReceived,
    ResponseReceived,
    StreamEnded,
    StreamReset,
)
from websockets.sync.client import connect

from tests.examples.serving import Example, Served
from tests.realserver import (
    EXAMPLE_SERVER_KINDS,
    REPO_ROOT,
    free_port,
    poll,
    start_process,
    start_server,
    stop,
    traceback_endings,
)

EXAMPLES_DIR = REPO_ROOT / "examples"
TIMEOUT = 10.0


def discover_examples() -> list[str]:
    """The names of the folders holding an example: examples/NAME/app.py."""
    return sorted(path.parent.name for path in EXAMPLES_DIR.glob("*/app.py"))


# simple -----------------------------------------------------------------------------------------


def check_simple(served: Served) -> None:
    client = served.client
    for path in ("/", "/hello", "/deep/down/here"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
        assert response.text == "Hello, World!\n"

    head = client.head("/")
    assert head.status_code == 200
    assert head.content == b""

    response = client.post("/", content=b"x")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"


# rest -------------------------------------------------------------------------------------------


def check_rest(served: Served) -> None:
    client = served.client
    json_type = {"content-type": "application/json"}

    response = client.get("/info")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"name": "Michael Caine", "occupation": "Actor"}

    # A JSON body uploaded in chunks, without a content-length.
    body = json.dumps({"occupation": "Knight", "born": 1933}).encode()
    chunks = [body[i : i + 7] for i in range(0, len(body), 7)]
    response = client.post("/info", headers=json_type, content=iter(chunks))
    assert response.status_code == 204
    assert response.content == b""
    expected = {"name": "Michael Caine", "occupation": "Knight", "born": 1933}
    assert client.get("/info").json() == expected

    response = client.post("/info", headers=json_type, content=b'{"name": ')
    assert response.status_code == 400
    assert "line 1 column 10" in response.text

    response = client.post("/info", headers=json_type, content=b"[1, 2]")
    assert response.status_code == 400
    assert response.text == "The body must be a JSON object."

    response = client.post("/info", headers={"content-type": "text/plain"}, content=b"{}")
    assert response.status_code == 415

    assert client.delete("/info/born").status_code == 204
    assert client.get("/info").json() == {"name": "Michael Caine", "occupation": "Knight"}
    response = client.delete("/info/born")
    assert response.status_code == 404
    assert response.text == "There is no key 'born'."

    response = client.put("/info", json={})
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, POST"


# routing ----------------------------------------------------------------------------------------


def check_routing(served: Served) -> None:
    client = served.client
    expected = {
        "/users/alice": "name: str = alice\n",
        "/items/42": "id: int = 42\n",
        "/items/-3": "id: int = -3\n",
        "/prices/9.5": "amount: float = 9.5\n",
        "/day/2024-05-01": "when: datetime = 2024-05-01 00:00:00\n",
        "/files/docs/guide/intro.md": "rest: str = docs/guide/intro.md\n",
        # Percent-encoded by the client; the server decodes the path before routing.
        "/users/J%C3%BCrgen": "name: str = Jürgen\n",
    }
    for path, text in expected.items():
        response = client.get(path)
        assert (response.status_code, response.text) == (200, text), path

    for path in ("/items/abc", "/prices/cheap", "/day/2024-02-30", "/users/alice/more", "/"):
        assert client.get(path).status_code == 404, path

    response = client.post("/items/42", content=b"")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"


# errors -----------------------------------------------------------------------------------------


def check_errors(served: Served) -> None:
    client = served.client

    response = client.get("/books/1")
    assert (response.status_code, response.text) == (200, "Dune")

    response = client.get("/books/3")
    assert (response.status_code, response.text) == (404, "There is no book 3.")

    response = client.delete("/books/1")
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"error": "The library is read-only."}

    response = client.get("/no/such/page")
    assert (response.status_code, response.text) == (404, "There is nothing at /no/such/page.\n")

    response = client.get("/crash")
    assert (response.status_code, response.text) == (500, "Internal Server Error")
    assert "hunter2" not in response.text
    # The traceback goes to the "bareasgi" logger, which ends up on the server's stderr.
    assert poll(lambda: "hunter2" in served.server.stderr(), timeout=5.0), "no traceback logged"


# middleware -------------------------------------------------------------------------------------

TIMING = re.compile(r"app;dur=\d+\.\d{3}")


def check_middleware(served: Served) -> None:
    client = served.client

    response = client.get("/")
    assert response.status_code == 200
    assert response.text == "The first middleware ran, then the second, then the handler.\n"
    assert TIMING.fullmatch(response.headers["server-timing"])

    response = client.get("/secret")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert TIMING.fullmatch(response.headers["server-timing"])

    response = client.get("/secret", headers={"authorization": "Bearer let-me-in"})
    assert response.status_code == 200
    assert response.text == "The secret is that there is no secret.\n"

    response = client.get("/missing")
    assert response.status_code == 404
    assert TIMING.fullmatch(response.headers["server-timing"])


# lifespan ---------------------------------------------------------------------------------------


def check_lifespan(served: Served) -> None:
    client = served.client

    first = client.get("/")
    assert first.status_code == 200
    assert first.json()["running"] is True

    # The ticker started at startup ticks once a second while the server runs.
    def ticked() -> bool:
        state = client.get("/").json()
        return bool(state["running"] and state["ticks"] > first.json()["ticks"])

    assert poll(ticked, timeout=5.0), "the background task did not tick within 5 s"


# testing ----------------------------------------------------------------------------------------


def check_testing(served: Served) -> None:
    client = served.client

    response = client.get("/todos")
    assert (response.status_code, response.json()) == (200, [])

    response = client.post("/todos", content=iter([b'{"title": ', b'"Buy milk"}']))
    assert (response.status_code, response.json()) == (201, {"id": 1, "title": "Buy milk"})
    assert client.get("/todos").json() == [{"id": 1, "title": "Buy milk"}]

    response = client.post("/todos", json={"name": "no title"})
    assert response.status_code == 400

    assert client.delete("/todos/1").status_code == 204
    assert client.delete("/todos/1").status_code == 404
    assert client.get("/todos").json() == []


# websocket --------------------------------------------------------------------------------------


def check_websocket(served: Served) -> None:
    page = served.client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "new WebSocket(" in page.text

    with connect(f"{served.server.ws_url}/ws", open_timeout=TIMEOUT) as ws:
        for text in ("hello", "grüße, and a second message"):
            ws.send(text)
            assert ws.recv(timeout=TIMEOUT) == f"You said: {text}"


# streaming --------------------------------------------------------------------------------------


def check_streaming(served: Served) -> None:
    client = served.client

    # Each tick reaches the client as it is written, half a second apart.
    arrivals: list[tuple[float, str]] = []
    with client.stream("GET", "/ticks", params={"count": "3"}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
        for line in response.iter_lines():
            arrivals.append((time.monotonic(), line))
    assert [line for _, line in arrivals] == ["tick 1 of 3", "tick 2 of 3", "tick 3 of 3"]
    spread = arrivals[-1][0] - arrivals[0][0]
    assert spread > 0.5, f"the ticks arrived together ({spread:.3f} s apart): buffered"

    # A client that leaves in the middle: the server must take it in its stride.
    with client.stream("GET", "/ticks", params={"count": "100"}) as response:
        assert next(response.iter_raw()) == b"tick 1 of 100\n"

    response = client.get("/ticks", params={"count": "many"})
    assert response.status_code == 400

    # An upload in chunks, hashed as it arrives.
    chunks = [secrets.token_bytes(64 * 1024) for _ in range(16)]
    response = client.post("/sha256", content=iter(chunks))
    assert response.status_code == 200
    body = b"".join(chunks)
    assert response.json() == {"sha256": hashlib.sha256(body).hexdigest(), "bytes": len(body)}


# server_sent_events -----------------------------------------------------------------------------

CLOCK = re.compile(r"\d\d:\d\d:\d\d")


def read_events(lines: Iterator[str], count: int) -> list[dict[str, str]]:
    """The first ``count`` events of an event stream, each as its fields; comments skipped."""
    events: list[dict[str, str]] = []
    fields: dict[str, str] = {}
    for line in lines:
        if line == "":
            if fields:
                events.append(fields)
                fields = {}
                if len(events) == count:
                    return events
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
    raise AssertionError(f"the stream ended after {len(events)} events: {events}")


def check_server_sent_events(served: Served) -> None:
    client = served.client

    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert 'new EventSource("events")' in page.text

    # An endless stream: read two events, a second apart, then leave.
    with client.stream("GET", "/events") as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["x-accel-buffering"] == "no"
        events = read_events(response.iter_lines(), 2)
    assert [event["id"] for event in events] == ["1", "2"]
    assert all(CLOCK.fullmatch(event["data"]) for event in events), events

    # A reconnecting browser sends the id of the last event it got.
    with client.stream("GET", "/events", headers={"last-event-id": "41"}) as response:
        [event] = read_events(response.iter_lines(), 1)
    assert event["id"] == "42"


# http2_push -------------------------------------------------------------------------------------


@dataclass
class H2Stream:
    """One stream of an HTTP/2 connection, as the client saw it."""

    request: dict[str, str] = field(default_factory=dict)  # the pushed request, for a push
    response: dict[str, str] = field(default_factory=dict)
    body: bytearray = field(default_factory=bytearray)
    ended: bool = False


def h2_get(port: int, path: str) -> tuple[H2Stream, list[H2Stream]]:
    """GET ``path`` over cleartext HTTP/2 with prior knowledge (h2c), as one client stream.

    Returns the response, and the streams the server pushed with it, each read to its end.
    PUSH_PROMISE frames come on the request's stream before it ends, so by the time the
    response has ended every push has been announced.
    """
    connection = H2Connection(config=H2Configuration(client_side=True, header_encoding="utf-8"))
    streams: dict[int, H2Stream] = {}
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        connection.initiate_connection()
        stream_id = connection.get_next_available_stream_id()
        streams[stream_id] = H2Stream()
        request = [
            (":method", "GET"),
            (":scheme", "http"),
            (":authority", f"127.0.0.1:{port}"),
            (":path", path),
        ]
        connection.send_headers(stream_id, request, end_stream=True)
        sock.sendall(connection.data_to_send())

        while not all(stream.ended for stream in streams.values()):
            data = sock.recv(65536)
            assert data, f"the server closed the connection; streams so far: {streams}"
            for event in connection.receive_data(data):
                if isinstance(event, PushedStreamReceived):
                    assert event.pushed_stream_id is not None and event.headers is not None
                    streams[event.pushed_stream_id] = H2Stream(request=_h2_headers(event.headers))
                elif isinstance(event, ResponseReceived):
                    assert event.stream_id is not None and event.headers is not None
                    streams[event.stream_id].response = _h2_headers(event.headers)
                elif isinstance(event, DataReceived):
                    assert event.stream_id is not None and event.data is not None
                    streams[event.stream_id].body += event.data
                    connection.acknowledge_received_data(
                        event.flow_controlled_length or 0, event.stream_id
                    )
                elif isinstance(event, StreamEnded):
                    assert event.stream_id is not None
                    streams[event.stream_id].ended = True
                elif isinstance(event, (StreamReset, ConnectionTerminated)):
                    raise AssertionError(f"{event}; streams so far: {streams}")
            sock.sendall(connection.data_to_send())

        connection.close_connection()
        sock.sendall(connection.data_to_send())
    response = streams.pop(stream_id)
    return response, list(streams.values())


def _h2_headers(headers: Iterable[tuple[bytes | str, bytes | str]]) -> dict[str, str]:
    def text(value: bytes | str) -> str:
        return value.decode() if isinstance(value, bytes) else value

    return {text(name): text(value) for name, value in headers}


def check_http2_push(served: Served) -> None:
    client = served.client
    style = (EXAMPLES_DIR / "http2_push" / "style.css").read_text(encoding="utf-8")

    # HTTP/1.1, under either server: no push, and the browser fetches the stylesheet itself.
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert '<link rel="stylesheet" href="style.css">' in page.text
    response = client.get("/style.css")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/css; charset=utf-8"
    assert response.text == style

    if served.kind != "hypercorn":
        return  # uvicorn, and granian as started here, speak HTTP/1.1 only

    h2_page, pushes = h2_get(served.server.port, "/")
    assert h2_page.response[":status"] == "200"
    assert h2_page.body.decode() == page.text
    pushed_paths = [push.request.get(":path") for push in pushes]
    assert pushed_paths == ["/style.css"], "the stylesheet was not pushed with the page"
    [push] = pushes
    assert push.request[":method"] == "GET"
    assert push.response[":status"] == "200"
    assert push.response["content-type"] == "text/css; charset=utf-8"
    assert push.body.decode() == style


# hypercorn --------------------------------------------------------------------------------------


def check_hypercorn(served: Served) -> None:
    client = served.client

    response = client.get("/hello-world")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text == "Hello, World!\n"

    assert client.get("/").status_code == 404


# ------------------------------------------------------------------------------------------------

EXAMPLES: dict[str, Example] = {
    "simple": Example(check_simple),
    "rest": Example(check_rest, probe_path="/info"),
    "routing": Example(check_routing, probe_path="/items/1"),
    "errors": Example(check_errors, probe_path="/books/1", deliberate_errors=("hunter2",)),
    "middleware": Example(check_middleware),
    "lifespan": Example(check_lifespan),
    "testing": Example(check_testing, probe_path="/todos"),
    "websocket": Example(check_websocket),
    "streaming": Example(check_streaming, probe_path="/ticks?count=0"),
    "server_sent_events": Example(check_server_sent_events),
    "http2_push": Example(check_http2_push),
    "hypercorn": Example(check_hypercorn, probe_path="/hello-world"),
}


def _load_check_modules() -> None:
    """Add the checks of examples that keep theirs in tests/examples/checks_NAME.py."""
    for path in sorted(Path(__file__).parent.glob("checks_*.py")):
        module = importlib.import_module(f"tests.examples.{path.stem}")
        EXAMPLES[path.stem.removeprefix("checks_")] = module.EXAMPLE


_load_check_modules()


def _example(name: str) -> Example:
    example = EXAMPLES.get(name)
    if example is None:
        pytest.fail(
            f"examples/{name}/app.py has no check: add one to EXAMPLES in {Path(__file__).name}"
        )
    return example


def test_every_example_has_a_check() -> None:
    discovered = set(discover_examples())
    assert discovered, f"no example found in {EXAMPLES_DIR}"
    without_a_check = sorted(discovered - EXAMPLES.keys())
    without_an_example = sorted(EXAMPLES.keys() - discovered)
    assert without_a_check == [], f"examples with no check in EXAMPLES: {without_a_check}"
    assert without_an_example == [], f"checks for no example: {without_an_example}"


@pytest.fixture(
    scope="module",
    params=[(name, kind) for name in discover_examples() for kind in EXAMPLE_SERVER_KINDS],
    ids=lambda param: f"{param[0]}-{param[1]}",
)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    name, kind = request.param
    example = _example(name)
    tmp_dir = tmp_path_factory.mktemp(f"{name}-{kind}")
    with (
        start_server(
            kind,
            f"examples.{name}.app:app",
            tmp_dir=tmp_dir,
            probe_path=example.probe_path,
            env=example.environ(tmp_dir),
        ) as server,
        httpx.Client(base_url=server.base_url, timeout=TIMEOUT) as client,
    ):
        yield Served(name=name, kind=kind, server=server, client=client)


def test_example_works_with_real_clients(served: Served) -> None:
    _example(served.name).check(served)


def test_example_server_logged_no_errors(served: Served) -> None:
    """No ASGI-error line from the server, no traceback but the example's deliberate ones.

    Runs after the check on the same server, and stops it first: shutting down is covered too.
    """
    served.client.close()
    stop(served.server.process)
    log = served.server.stderr()

    assert served.server.server_errors() == [], log
    deliberate = _example(served.name).deliberate_errors
    unexpected = [
        end for end in traceback_endings(log) if not any(error in end for error in deliberate)
    ]
    assert unexpected == [], log


@pytest.mark.parametrize("name", discover_examples())
def test_example_main_block_serves_until_sigterm(name: str, tmp_path: Path) -> None:
    """``PORT=N python examples/NAME/app.py`` serves on port N; SIGTERM stops it cleanly."""
    example = _example(name)
    port = free_port()
    with start_process(
        [sys.executable, f"examples/{name}/app.py"],
        name=f"{name}-main",
        port=port,
        tmp_dir=tmp_path,
        probe_path=example.probe_path,
        env={**example.environ(tmp_path), "PORT": str(port)},
    ) as server:
        assert httpx.get(f"{server.base_url}{example.probe_path}").status_code == 200
        stop(server.process)

    # uvicorn.run re-raises the SIGTERM it handled once it has shut down; hypercorn exits 0.
    returncode = server.process.returncode
    assert returncode in (0, -signal.SIGTERM), f"exit status {returncode}:\n{server.stderr()}"
    assert server.server_errors() == [], server.stderr()
