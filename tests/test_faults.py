"""Faults and their defined outcomes: clients that leave, cancelled handlers, failing code.

A client may disconnect at any stage: while uploading, before the response starts, in
the middle of a streamed body, during a WebSocket conversation. The task running the
application may be cancelled. Middleware, writers and startup handlers may raise. A
server may be stopped while requests are in flight. For each, the test checks the
outcome the documentation defines, and that nothing else is logged as an error: in
process with ``caplog`` (which also sees asyncio's "exception was never retrieved"), and
under a real uvicorn in the server's stderr.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from bareasgi import (
    Application,
    ClientDisconnect,
    Content,
    HTTPError,
    Info,
    RouteMatches,
    Scope,
    WebSocket,
    bytes_reader,
    text_writer,
)
from bareasgi.testing import DISCONNECT, LifespanFailure, TestClient
from bareasgi.types import Message
from tests.realserver import (
    Server,
    free_port,
    poll,
    server_command,
    start_process,
    start_server,
    traceback_endings,
)
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

TIMEOUT = 5.0
SOAK_APP = "benchmarks.soak_app:app"


def logged_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Every message logged at ERROR or above, by any logger (asyncio's included)."""
    return [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]


def app_with(handler: Any, methods: set[str] | None = None, **options: Any) -> Application:
    app = Application(**options)
    app.http_router.add(methods or {"GET", "POST"}, "/", handler)
    return app


class TrackedWriter:
    """An endless streamed body that records how far it got and whether it was closed.

    It keeps the generator it made, so that garbage collection cannot close it behind
    the framework's back and hide a writer the framework forgot to close.
    """

    def __init__(self, delay: float | None = 0.001) -> None:
        self.delay = delay
        self.chunks = 0
        self.closed = False
        self.first_sent = asyncio.Event()
        self.made: list[AsyncIterator[bytes]] = []

    def __call__(self) -> AsyncIterator[bytes]:
        self.made.append(self._generate())
        return self.made[-1]

    async def _generate(self) -> AsyncIterator[bytes]:
        try:
            while True:
                self.chunks += 1
                yield b"chunk;"
                self.first_sent.set()
                if self.delay is not None:
                    await asyncio.sleep(self.delay)
        finally:
            self.closed = True


async def until(condition: Callable[[], bool], timeout: float = TIMEOUT) -> None:
    """Let the event loop run until ``condition()`` holds; fail after ``timeout`` seconds."""

    async def wait() -> None:
        while not condition():
            await asyncio.sleep(0)

    await asyncio.wait_for(wait(), timeout)


async def no_tasks_left(before: set[asyncio.Task[Any]]) -> set[asyncio.Task[Any]]:
    """The tasks created since ``before`` still pending after one loop iteration."""
    await asyncio.sleep(0)
    return asyncio.all_tasks() - before


# -- the client disconnects ---------------------------------------------------------------------


async def test_disconnect_during_upload_ends_the_read_sends_nothing_and_logs_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[str] = []

    async def upload(scope: Scope, info: Info, matches: RouteMatches, content: Content) -> Any:
        try:
            await bytes_reader(content)
            seen.append("read the whole body")
        except ClientDisconnect:
            seen.append("ClientDisconnect")
            raise
        return 200

    async def parts() -> AsyncIterator[Any]:
        yield b"part one;"
        yield b"part two;"
        yield DISCONNECT

    response = await TestClient(app_with(upload), timeout=TIMEOUT).post("/", body=parts())

    assert seen == ["ClientDisconnect"]
    assert response.status == 0  # nothing was sent
    assert response.messages == []
    assert logged_errors(caplog) == []


@pytest.mark.parametrize("send_fails", [False, True], ids=["send dropped", "send raises"])
@pytest.mark.parametrize("streamed", [False, True], ids=["in-memory body", "streamed body"])
async def test_disconnect_before_the_response_starts_ends_quietly(
    streamed: bool, send_fails: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """The handler runs to its end (nothing watches during it); its response then goes
    nowhere, and a streamed body is stopped as soon as the disconnect is seen."""
    waiting = asyncio.Event()
    proceed = asyncio.Event()
    writer = TrackedWriter()

    async def slow(scope: Scope, info: Info, matches: RouteMatches, content: Content) -> Any:
        waiting.set()
        await proceed.wait()
        return 200, None, writer() if streamed else text_writer("too late")

    server = ScriptedHttpServer(body_messages([b""]), send_fails_after_disconnect=send_fails)
    task = asyncio.ensure_future(app_with(slow)(http_scope(), server.receive, server.send))
    await asyncio.wait_for(waiting.wait(), TIMEOUT)
    server.disconnect()
    proceed.set()
    await asyncio.wait_for(task, TIMEOUT)

    assert server.delivered == []
    assert http_problems(server.sent) == []
    assert writer.chunks <= 1
    assert writer.chunks == 0 or writer.closed  # a writer that started was closed
    assert logged_errors(caplog) == []


async def test_disconnect_mid_stream_closes_the_writer_and_logs_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    writer = TrackedWriter()

    async def stream(scope: Scope, info: Info, matches: RouteMatches, content: Content) -> Any:
        return 200, None, writer()

    async with TestClient(app_with(stream), timeout=TIMEOUT).stream("GET", "/") as response:
        received = 0
        async for _ in response:
            received += 1
            if received == 3:
                break
    # Leaving the block disconnected the client and waited for the application to return.

    assert writer.closed
    assert writer.chunks < 10
    assert logged_errors(caplog) == []


@pytest.mark.parametrize("delay", [0.001, None], ids=["writer awaits", "writer never awaits"])
async def test_send_failing_mid_stream_closes_the_writer_and_leaves_no_task(
    delay: float | None, caplog: pytest.LogCaptureFixture
) -> None:
    writer = TrackedWriter(delay)

    async def stream(scope: Scope, info: Info, matches: RouteMatches, content: Content) -> Any:
        return 200, None, writer()

    before = asyncio.all_tasks()
    server = ScriptedHttpServer(
        body_messages([b""]), disconnect_after_sends=3, send_fails_after_disconnect=True
    )

    await run_app(app_with(stream), http_scope(), server.receive, server.send)

    assert writer.closed
    assert not server.response_ended
    assert http_problems(server.sent) == []
    assert await no_tasks_left(before) == set()
    assert logged_errors(caplog) == []


async def test_client_leaving_a_websocket_ends_receive_with_its_close_code(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outcome: list[Any] = []

    async def chat(scope: Scope, info: Info, matches: RouteMatches, ws: WebSocket) -> None:
        await ws.accept()
        while (message := await ws.receive()) is not None:
            await ws.send(message)
        outcome.append(ws.close_code)

    app = Application()
    app.ws_router.add("/ws", chat)
    async with TestClient(app, timeout=TIMEOUT).websocket("/ws") as ws:
        await ws.send("hello")
        assert await ws.receive() == "hello"
        await ws.close(1001)

    assert outcome == [1001]
    assert logged_errors(caplog) == []


async def test_client_gone_while_a_websocket_handler_sends_ends_it_quietly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cleaned_up: list[bool] = []

    async def ticker(scope: Scope, info: Info, matches: RouteMatches, ws: WebSocket) -> None:
        await ws.accept()
        try:
            while True:
                await ws.send("tick")
                await asyncio.sleep(0)
        finally:
            cleaned_up.append(True)

    class GoneAfterTwoTicks(ScriptedReceive):
        async def send(self, message: Message) -> None:
            if len(self.sent) >= 3:
                raise OSError("the connection is closed")
            await super().send(message)

    app = Application()
    app.ws_router.add("/ws", ticker)
    server = GoneAfterTwoTicks([{"type": "websocket.connect"}])

    await run_app(app, websocket_scope(), server.receive, server.send)

    sent = [message["type"] for message in server.sent]
    assert sent == ["websocket.accept", "websocket.send", "websocket.send"]
    assert cleaned_up == [True]
    assert logged_errors(caplog) == []


# -- the task running the application is cancelled ----------------------------------------------


async def test_cancelled_while_the_handler_waits_propagates_and_sends_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    waiting = asyncio.Event()

    async def slow(scope: Scope, info: Info, matches: RouteMatches, content: Content) -> Any:
        waiting.set()
        await asyncio.sleep(3600)
        return 200  # pragma: no cover - cancelled before

    server = ScriptedHttpServer(body_messages([b""]))
    task = asyncio.ensure_future(app_with(slow)(http_scope(), server.receive, server.send))
    await asyncio.wait_for(waiting.wait(), TIMEOUT)
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, TIMEOUT)
    assert task.cancelled()
    assert server.sent == []
    assert logged_errors(caplog) == []


async def test_cancelled_while_the_body_is_read_propagates(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def upload(scope: Scope, info: Info, matches: RouteMatches, content: Content) -> Any:
        await bytes_reader(content)
        return 200  # pragma: no cover - cancelled before

    server = ScriptedHttpServer([{"type": "http.request", "body": b"part", "more_body": True}])
    task = asyncio.ensure_future(app_with(upload)(http_scope("POST"), server.receive, server.send))
    await until(lambda: server.receives == 2)  # the reader waits for the rest of the body
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, TIMEOUT)
    assert server.sent == []
    assert logged_errors(caplog) == []


@pytest.mark.parametrize("also_disconnected", [False, True], ids=["cancelled", "both at once"])
async def test_cancelled_while_streaming_propagates_and_closes_the_writer(
    also_disconnected: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """The server's cancellation is never mistaken for, or swallowed as, a disconnect."""
    writer = TrackedWriter(delay=3600)

    async def stream(scope: Scope, info: Info, matches: RouteMatches, content: Content) -> Any:
        return 200, None, writer()

    before = asyncio.all_tasks()
    server = ScriptedHttpServer(body_messages([b""]))
    task = asyncio.ensure_future(app_with(stream)(http_scope(), server.receive, server.send))
    await asyncio.wait_for(writer.first_sent.wait(), TIMEOUT)
    await until(lambda: server.receives == 2)  # the disconnect watcher waits in receive
    if also_disconnected:
        server.disconnect()
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, TIMEOUT)
    assert writer.closed
    assert not server.response_ended
    assert http_problems(server.sent) == []
    assert await no_tasks_left(before - {task}) == set()
    assert logged_errors(caplog) == []


async def test_cancelled_websocket_handler_propagates_without_a_1011_close(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def chat(scope: Scope, info: Info, matches: RouteMatches, ws: WebSocket) -> None:
        await ws.accept()
        await ws.receive()

    app = Application()
    app.ws_router.add("/ws", chat)
    server = ScriptedReceive([{"type": "websocket.connect"}])
    task = asyncio.ensure_future(app(websocket_scope(), server.receive, server.send))
    await until(lambda: bool(server.sent))  # accepted: the handler waits in receive
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, TIMEOUT)
    assert [m["type"] for m in server.sent] == ["websocket.accept"]
    assert logged_errors(caplog) == []


async def test_cancelled_startup_handler_propagates(caplog: pytest.LogCaptureFixture) -> None:
    started = asyncio.Event()

    async def slow_start(scope: Scope, info: Info, message: Any) -> None:
        started.set()
        await asyncio.sleep(3600)

    server = ScriptedReceive([{"type": "lifespan.startup"}])
    app = Application(startup_handlers=[slow_start])
    task = asyncio.ensure_future(app(lifespan_scope(), server.receive, server.send))
    await asyncio.wait_for(started.wait(), TIMEOUT)
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, TIMEOUT)
    assert server.sent == []
    assert logged_errors(caplog) == []


# -- exceptions in middleware and writers -------------------------------------------------------


async def ok_handler(scope: Scope, info: Info, matches: RouteMatches, content: Content) -> Any:
    return 200, None, text_writer("from the handler")


async def failing_before(
    scope: Scope, info: Info, matches: RouteMatches, content: Content, handler: Any
) -> Any:
    raise RuntimeError("middleware failed before the handler")


async def failing_after(
    scope: Scope, info: Info, matches: RouteMatches, content: Content, handler: Any
) -> Any:
    await handler(scope, info, matches, content)
    raise RuntimeError("middleware failed after the handler")


async def refusing(
    scope: Scope, info: Info, matches: RouteMatches, content: Content, handler: Any
) -> Any:
    raise HTTPError(403, "not for you")


async def returns_garbage(
    scope: Scope, info: Info, matches: RouteMatches, content: Content, handler: Any
) -> Any:
    return {"status": 200}


@pytest.mark.parametrize(
    ("middleware", "status", "body", "logged"),
    [
        (failing_before, 500, b"Internal Server Error", "failing_before"),
        (failing_after, 500, b"Internal Server Error", "failing_after"),
        (refusing, 403, b"not for you", None),
        (returns_garbage, 500, b"Internal Server Error", "returns_garbage"),
    ],
    ids=["raises before", "raises after", "raises HTTPError", "returns garbage"],
)
async def test_exception_in_middleware_is_its_defined_response_and_one_log_record(
    middleware: Any, status: int, body: bytes, logged: str | None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = app_with(ok_handler, middlewares=[middleware])

    response = await TestClient(app, timeout=TIMEOUT).get("/")

    assert (response.status, response.body) == (status, body)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    if logged is None:
        assert errors == []
    else:
        assert len(errors) == 1, logged_errors(caplog)
        message = errors[0].getMessage()
        assert message == f"Unhandled exception in tests.test_faults.{logged} for GET /"


async def test_middleware_failing_after_a_streaming_handler_never_starts_its_writer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    writer = TrackedWriter()

    async def stream(scope: Scope, info: Info, matches: RouteMatches, content: Content) -> Any:
        return 200, None, writer()

    response = await TestClient(
        app_with(stream, middlewares=[failing_after]), timeout=TIMEOUT
    ).get("/")

    assert response.status == 500
    assert writer.chunks == 0
    assert len(logged_errors(caplog)) == 1


@pytest.mark.parametrize("fail_after", [0, 2], ids=["before the first chunk", "after two"])
async def test_writer_raising_ends_the_response_with_what_was_sent_and_one_log_record(
    fail_after: int, caplog: pytest.LogCaptureFixture
) -> None:
    async def failing_stream(
        scope: Scope, info: Info, matches: RouteMatches, content: Content
    ) -> Any:
        async def body() -> AsyncIterator[bytes]:
            for index in range(fail_after):
                yield f"chunk {index};".encode()
                await asyncio.sleep(0)
            raise RuntimeError("the writer failed")

        return 200, None, body()

    response = await TestClient(app_with(failing_stream), timeout=TIMEOUT).get("/")

    assert response.status == 200  # the status was sent before the writer ran
    assert response.body == b"".join(f"chunk {i};".encode() for i in range(fail_after))
    assert response.messages[-1] == {"type": "http.response.body", "body": b"", "more_body": False}
    assert logged_errors(caplog) == [
        "The writer of tests.test_faults.test_writer_raising_ends_the_response_with_what_was_sent_"
        "and_one_log_record.<locals>.failing_stream failed after the response started"
    ]


async def test_writer_raising_while_closed_after_a_disconnect_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def stream(scope: Scope, info: Info, matches: RouteMatches, content: Content) -> Any:
        async def body() -> AsyncIterator[bytes]:
            try:
                while True:
                    yield b"tick;"
                    await asyncio.sleep(0.001)
            finally:
                raise RuntimeError("cleanup failed")

        return 200, None, body()

    server = ScriptedHttpServer(body_messages([b""]), disconnect_after_sends=3)

    await run_app(app_with(stream), http_scope(), server.receive, server.send)

    assert http_problems(server.sent) == []
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, logged_errors(caplog)
    assert errors[0].exc_info is not None and str(errors[0].exc_info[1]) == "cleanup failed"


# -- a startup handler fails --------------------------------------------------------------------


async def test_failing_startup_handler_fails_startup_naming_the_error_and_stops_there(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ran: list[str] = []

    async def connect_database(scope: Scope, info: Info, message: Any) -> None:
        ran.append("connect_database")
        raise ConnectionRefusedError("database at db:5432 refused")

    async def warm_cache(scope: Scope, info: Info, message: Any) -> None:
        ran.append("warm_cache")

    app = Application(startup_handlers=[connect_database, warm_cache])
    before = asyncio.all_tasks()

    with pytest.raises(LifespanFailure, match="ConnectionRefusedError: database at db:5432"):
        async with TestClient(app, timeout=TIMEOUT):
            pass  # pragma: no cover - startup fails

    assert ran == ["connect_database"]
    assert logged_errors(caplog) == ["A lifespan handler failed"]
    assert await no_tasks_left(before) == set()


FAILING_STARTUP_APP = """
import uvicorn
from bareasgi import Application

async def connect_database(scope, info, message):
    raise ConnectionRefusedError("database at db:5432 refused")

app = Application(startup_handlers=[connect_database])
uvicorn.run(app, host="127.0.0.1", port={port})
"""


def test_failing_startup_makes_uvicorn_exit_with_the_error_named(tmp_path: Path) -> None:
    port = free_port()
    try:
        finished = subprocess.run(
            [sys.executable, "-c", FAILING_STARTUP_APP.format(port=port)],
            cwd=Path(__file__).resolve().parents[1],
            capture_output=True,
            text=True,
            timeout=30,
            start_new_session=True,
        )
    except subprocess.TimeoutExpired as expired:
        pytest.fail(f"uvicorn did not exit after the failed startup: {expired.stderr!r}")
    log = finished.stderr

    assert finished.returncode != 0
    assert "ConnectionRefusedError: database at db:5432 refused" in log
    assert "Application startup failed. Exiting." in log
    assert "Exception in 'lifespan' protocol" not in log, log  # the app did not raise to it


# -- shutdown while requests are in flight (a real uvicorn) -------------------------------------


@pytest.fixture
def soak_server(tmp_path: Path) -> Iterator[Server]:
    with start_server("uvicorn", SOAK_APP, tmp_dir=tmp_path, probe_path="/plain") as server:
        yield server


def wait_for_exit(server: Server, timeout: float = 15.0) -> int:
    try:
        return server.process.wait(timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"uvicorn was still running {timeout} s after SIGTERM:\n{server.stderr()}")


def assert_clean_shutdown(server: Server, returncode: int) -> None:
    log = server.stderr()
    # uvicorn re-raises the SIGTERM it handled once it has shut down gracefully.
    assert returncode in (0, -signal.SIGTERM), log
    assert "Application shutdown complete." in log, log
    assert server.server_errors() == [], log
    assert traceback_endings(log) == [], log


def test_sigterm_lets_an_in_flight_stream_finish_then_exits_cleanly(soak_server: Server) -> None:
    count, size = 30, 1024
    with httpx.Client(base_url=soak_server.base_url, timeout=30) as client, client.stream(
        "GET", "/stream", params={"chunks": count, "size": size, "delay": 0.03}
    ) as response:
        chunks = response.iter_raw()
        received = [next(chunks)]
        soak_server.process.send_signal(signal.SIGTERM)
        received.extend(chunks)

    assert len(b"".join(received)) == count * size
    assert_clean_shutdown(soak_server, wait_for_exit(soak_server))


def test_sigterm_waits_for_an_endless_stream_until_its_client_leaves(soak_server: Server) -> None:
    with httpx.Client(base_url=soak_server.base_url, timeout=30) as client, client.stream(
        "GET", "/stream", params={"chunks": 10_000, "delay": 0.05}
    ) as response:
        chunks = response.iter_raw()  # kept: dropping the iterator would close the response
        next(chunks)
        soak_server.process.send_signal(signal.SIGTERM)
        waiting = poll(lambda: "Waiting for connections to close" in soak_server.stderr(), 10)
        assert waiting, soak_server.stderr()
        assert soak_server.process.poll() is None  # still serving the stream
    # Leaving the block closed the connection: the writer stops, and uvicorn can exit.

    assert_clean_shutdown(soak_server, wait_for_exit(soak_server))


def test_sigterm_closes_an_open_websocket_with_1012_and_exits_cleanly(
    soak_server: Server,
) -> None:
    with connect(f"{soak_server.ws_url}/ws", open_timeout=10) as ws:
        ws.send("before")
        assert ws.recv(timeout=10) == "before"
        soak_server.process.send_signal(signal.SIGTERM)
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)

    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012
    assert_clean_shutdown(soak_server, wait_for_exit(soak_server))


def test_graceful_timeout_cancels_the_stream_and_only_uvicorn_reports_it(tmp_path: Path) -> None:
    """uvicorn cancels what is still running after ``--timeout-graceful-shutdown`` and logs
    that cancellation itself; the application lets it through, closing the writer."""
    port = free_port()
    command = [*server_command("uvicorn", SOAK_APP, port), "--timeout-graceful-shutdown", "1"]
    with start_process(
        command, name="uvicorn", port=port, tmp_dir=tmp_path, probe_path="/plain"
    ) as server, httpx.Client(base_url=server.base_url, timeout=30) as client:
        started = time.monotonic()
        with client.stream("GET", "/stream", params={"chunks": 10_000, "delay": 0.05}) as response:
            chunks = response.iter_raw()
            next(chunks)
            server.process.send_signal(signal.SIGTERM)
            with pytest.raises(httpx.RemoteProtocolError):
                for _ in chunks:
                    pass
        returncode = wait_for_exit(server)

    log = server.stderr()
    assert time.monotonic() - started < 15, log
    assert returncode in (0, -signal.SIGTERM), log
    assert "Application shutdown complete." in log, log
    assert traceback_endings(log) == [
        "asyncio.exceptions.CancelledError: Task cancelled, timeout graceful shutdown exceeded"
    ], log
