"""Startup and shutdown handlers: order, info, failures, and background tasks."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from bareasgi import Application, text_response
from bareasgi.testing import LifespanFailure, TestClient
from tests.scripted import one_receive_at_a_time

TIMEOUT = 5
LIFESPAN_SCOPE = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}}


async def run_lifespan(app: Application, *phases: str) -> list[dict[str, Any]]:
    """Send ``lifespan.<phase>`` for each phase, waiting for each answer; return what was sent.

    Stops sending once the application answers a phase with ``.failed``; waits for the
    application to return in every case.
    """
    incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outgoing: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        outgoing.put_nowait(message)

    receive = one_receive_at_a_time(incoming.get)
    task = asyncio.ensure_future(app(dict(LIFESPAN_SCOPE), receive, send))
    try:
        for phase in phases:
            incoming.put_nowait({"type": f"lifespan.{phase}"})
            answer = await asyncio.wait_for(outgoing.get(), TIMEOUT)
            if answer["type"].endswith(".failed"):
                break
        await asyncio.wait_for(task, TIMEOUT)
    finally:
        task.cancel()
    return sent


def recording(log: list[str], name: str, fail: BaseException | None = None) -> Any:
    async def handler(scope: Any, info: Any, message: Any) -> None:
        log.append(name)
        if fail is not None:
            raise fail

    handler.__name__ = handler.__qualname__ = name
    return handler


# -- order and arguments ------------------------------------------------------------------------


async def test_startup_handlers_run_in_order_on_entry_and_shutdown_handlers_on_exit() -> None:
    log: list[str] = []
    app = Application(
        startup_handlers=[recording(log, "start-1"), recording(log, "start-2")],
        shutdown_handlers=[recording(log, "stop-1"), recording(log, "stop-2")],
    )

    async with TestClient(app):
        assert log == ["start-1", "start-2"]

    assert log == ["start-1", "start-2", "stop-1", "stop-2"]


async def test_lifespan_messages_at_the_asgi_level_report_both_phases_complete() -> None:
    log: list[str] = []
    app = Application(
        startup_handlers=[recording(log, "start-1"), recording(log, "start-2")],
        shutdown_handlers=[recording(log, "stop-1")],
    )

    sent = await run_lifespan(app, "startup", "shutdown")

    assert sent == [{"type": "lifespan.startup.complete"}, {"type": "lifespan.shutdown.complete"}]
    assert log == ["start-1", "start-2", "stop-1"]


async def test_a_second_startup_is_answered_but_runs_nothing_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log: list[str] = []
    app = Application(
        startup_handlers=[recording(log, "start")], shutdown_handlers=[recording(log, "stop")]
    )

    sent = await run_lifespan(app, "startup", "startup", "shutdown")

    assert [m["type"] for m in sent] == [
        "lifespan.startup.complete",
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]
    assert log == ["start", "stop"]
    assert "startup runs only once" in caplog.text


async def test_application_without_lifespan_handlers_completes_both_phases() -> None:
    sent = await run_lifespan(Application(), "startup", "shutdown")

    assert sent == [{"type": "lifespan.startup.complete"}, {"type": "lifespan.shutdown.complete"}]


async def test_handlers_receive_the_lifespan_scope_the_app_info_and_the_message() -> None:
    given: dict[str, Any] = {}
    seen: list[Any] = []

    async def handler(scope: Any, info: Any, message: Any) -> None:
        seen.append((scope["type"], info, message["type"]))

    app = Application(info=given, startup_handlers=[handler], shutdown_handlers=[handler])

    async with TestClient(app):
        pass

    assert seen == [
        ("lifespan", given, "lifespan.startup"),
        ("lifespan", given, "lifespan.shutdown"),
    ]
    assert all(info is given for _, info, _ in seen)


async def test_values_put_in_info_at_startup_are_seen_by_http_handlers() -> None:
    async def connect(scope: Any, info: Any, message: Any) -> None:
        info["database"] = {"connected": True}

    async def disconnect(scope: Any, info: Any, message: Any) -> None:
        info["database"]["connected"] = False

    async def status(scope: Any, info: Any, matches: Any, content: Any) -> Any:
        return text_response(200, None, str(info["database"]["connected"]))

    app = Application(startup_handlers=[connect], shutdown_handlers=[disconnect])
    app.http_router.add({"GET"}, "/status", status)

    async with TestClient(app) as client:
        assert (await client.get("/status")).text == "True"

    assert app.info["database"] == {"connected": False}


# -- startup failure ----------------------------------------------------------------------------


async def test_startup_failure_at_the_asgi_level_sends_failed_naming_the_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log: list[str] = []
    app = Application(
        startup_handlers=[
            recording(log, "first"),
            recording(log, "broken", RuntimeError("database unreachable")),
            recording(log, "never"),
        ],
        shutdown_handlers=[recording(log, "stop")],
    )

    with caplog.at_level(logging.ERROR, logger="bareasgi"):
        sent = await run_lifespan(app, "startup")

    assert len(sent) == 1
    assert sent[0]["type"] == "lifespan.startup.failed"
    assert "RuntimeError" in sent[0]["message"]
    assert "database unreachable" in sent[0]["message"]
    assert log == ["first", "broken"]
    assert any(
        r.name == "bareasgi" and r.exc_info and isinstance(r.exc_info[1], RuntimeError)
        for r in caplog.records
    )


async def test_startup_failure_raises_lifespan_failure_in_the_test_client() -> None:
    log: list[str] = []
    app = Application(
        startup_handlers=[
            recording(log, "first"),
            recording(log, "broken", RuntimeError("database unreachable")),
            recording(log, "never"),
        ],
        shutdown_handlers=[recording(log, "stop")],
    )

    with pytest.raises(LifespanFailure) as failure:
        async with TestClient(app):
            log.append("body ran")

    assert "RuntimeError" in str(failure.value)
    assert "database unreachable" in str(failure.value)
    assert log == ["first", "broken"]


@pytest.mark.parametrize(
    "error", [ValueError("bad setting"), KeyError("missing"), OSError("no port")]
)
async def test_startup_failure_message_names_the_exception_type(error: Exception) -> None:
    app = Application(startup_handlers=[recording([], "broken", error)])

    sent = await run_lifespan(app, "startup")

    assert sent[0]["type"] == "lifespan.startup.failed"
    assert type(error).__name__ in sent[0]["message"]
    assert str(error) in sent[0]["message"]


# -- shutdown failure ---------------------------------------------------------------------------


async def test_shutdown_failure_sends_failed_naming_the_error_and_still_runs_the_rest(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log: list[str] = []
    app = Application(
        shutdown_handlers=[
            recording(log, "first"),
            recording(log, "broken", RuntimeError("flush failed")),
            recording(log, "after"),
        ],
    )

    with caplog.at_level(logging.ERROR, logger="bareasgi"):
        sent = await run_lifespan(app, "startup", "shutdown")

    assert sent[0] == {"type": "lifespan.startup.complete"}
    assert len(sent) == 2
    assert sent[1]["type"] == "lifespan.shutdown.failed"
    assert "RuntimeError" in sent[1]["message"]
    assert "flush failed" in sent[1]["message"]
    assert log == ["first", "broken", "after"]
    assert any(
        r.name == "bareasgi" and r.exc_info and isinstance(r.exc_info[1], RuntimeError)
        for r in caplog.records
    )


async def test_shutdown_failure_raises_lifespan_failure_after_running_every_handler() -> None:
    log: list[str] = []
    app = Application(
        shutdown_handlers=[
            recording(log, "first"),
            recording(log, "broken", RuntimeError("flush failed")),
            recording(log, "after"),
        ],
    )

    with pytest.raises(LifespanFailure) as failure:
        async with TestClient(app):
            log.append("body ran")

    assert "RuntimeError" in str(failure.value)
    assert "flush failed" in str(failure.value)
    assert log == ["body ran", "first", "broken", "after"]


# -- background tasks ---------------------------------------------------------------------------


async def test_background_task_started_at_startup_runs_until_stopped_at_shutdown() -> None:
    ticked = asyncio.Event()
    events: list[str] = []

    async def ticker(info: Any) -> None:
        try:
            while True:
                info["ticks"] += 1
                ticked.set()
                await asyncio.sleep(0.001)
        except asyncio.CancelledError:
            events.append("ticker cancelled")
            raise

    async def start_ticker(scope: Any, info: Any, message: Any) -> None:
        info["ticks"] = 0
        info["ticker"] = asyncio.create_task(ticker(info))

    async def stop_ticker(scope: Any, info: Any, message: Any) -> None:
        info["ticker"].cancel()
        try:
            await info["ticker"]
        except asyncio.CancelledError:
            events.append("ticker stopped")

    async def ticks(scope: Any, info: Any, matches: Any, content: Any) -> Any:
        return text_response(200, None, str(info["ticks"]))

    app = Application(startup_handlers=[start_ticker], shutdown_handlers=[stop_ticker])
    app.http_router.add({"GET"}, "/ticks", ticks)

    async with TestClient(app) as client:
        await asyncio.wait_for(ticked.wait(), TIMEOUT)
        first = int((await client.get("/ticks")).text)
        while int((await client.get("/ticks")).text) == first:
            await asyncio.sleep(0.001)
        assert not app.info["ticker"].done()

    assert first >= 1
    assert app.info["ticker"].cancelled()
    assert events == ["ticker cancelled", "ticker stopped"]
    count = app.info["ticks"]
    await asyncio.sleep(0.01)
    assert app.info["ticks"] == count


# -- mounted applications, found by mutation testing --------------------------------------------


async def test_a_mounted_app_finds_in_its_requests_what_it_stored_at_startup() -> None:
    # A server following the ASGI spec: one state namespace for the lifespan, a copy of
    # it in every request's scope.
    async def child(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                phase = message["type"].removeprefix("lifespan.")
                if phase == "startup":
                    scope["state"]["greeting"] = "hello from startup"
                await send({"type": f"lifespan.{phase}.complete"})
                if phase == "shutdown":
                    return
        greeting = scope["state"].get("greeting", "nothing").encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": greeting})

    parent = Application()
    parent.mount("/child", child)
    state: dict[str, Any] = {}
    lifespan = {**LIFESPAN_SCOPE, "state": state}
    incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outgoing: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    task = asyncio.ensure_future(parent(lifespan, incoming.get, outgoing.put))
    await incoming.put({"type": "lifespan.startup"})
    assert (await asyncio.wait_for(outgoing.get(), TIMEOUT))["type"] == "lifespan.startup.complete"

    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/child/x",
        "raw_path": b"/child/x",
        "query_string": b"",
        "root_path": "",
        "headers": [],
        "state": dict(state),
    }
    await asyncio.wait_for(parent(scope, receive, send), TIMEOUT)
    assert sent[-1]["body"] == b"hello from startup"
    await incoming.put({"type": "lifespan.shutdown"})
    await asyncio.wait_for(task, TIMEOUT)


async def test_a_mounted_app_that_fails_without_a_message_is_named_alone() -> None:
    async def child(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "lifespan.startup.failed"})

    parent = Application()
    parent.mount("/child", child)
    with pytest.raises(LifespanFailure) as caught:
        async with TestClient(parent):
            pass
    assert str(caught.value) == f"startup failed: MountedAppFailed: {child!r}: "


async def test_the_parent_stops_once_every_mounted_app_has_returned() -> None:
    log: list[str] = []

    async def child(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "lifespan.startup.complete"})
        await receive()
        await send({"type": "lifespan.shutdown.complete"})
        await asyncio.sleep(0.01)  # cleanup after answering, as servers allow
        log.append("child returned")

    parent = Application(shutdown_handlers=[recording(log, "parent shutdown")])
    parent.mount("/child", child)
    sent = await run_lifespan(parent, "startup", "shutdown")
    assert [message["type"] for message in sent] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]
    assert log == ["child returned", "parent shutdown"]


async def test_a_mounted_app_without_lifespan_has_its_error_logged_at_debug_level_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def refuses(scope: Any, receive: Any, send: Any) -> None:
        raise ValueError("no lifespan here")

    async def returns(scope: Any, receive: Any, send: Any) -> None:
        return

    parent = Application()
    parent.mount("/refuses", refuses)
    parent.mount("/returns", returns)
    with caplog.at_level(logging.DEBUG, logger="bareasgi"):
        async with TestClient(parent):
            pass
    [record] = caplog.records  # nothing for the one that returned
    assert (record.levelno, record.getMessage()) == (
        logging.DEBUG,
        "A mounted app ended its lifespan",
    )
    assert record.exc_info is not None and str(record.exc_info[1]) == "no lifespan here"


async def test_a_mounted_app_that_never_returns_after_shutdown_is_cancelled_not_waited_for(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A loop that answers every lifespan message and never returns is a common way to
    # write one; waiting for it to return held the parent's shutdown, and the server's.
    monkeypatch.setattr("bareasgi.lifespan.RETURN_GRACE", 0.05)
    log: list[str] = []

    async def child(scope: Any, receive: Any, send: Any) -> None:
        try:
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
        except asyncio.CancelledError:
            log.append("child cancelled")
            raise

    parent = Application(shutdown_handlers=[recording(log, "parent shutdown")])
    parent.mount("/child", child)
    with caplog.at_level(logging.WARNING, logger="bareasgi"):
        sent = await run_lifespan(parent, "startup", "shutdown")
    assert [message["type"] for message in sent] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]
    assert log == ["child cancelled", "parent shutdown"]
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert "had not returned 0.05 s after" in record.getMessage()
    assert repr(child) in record.getMessage()


def test_a_mounted_app_has_seconds_to_return_after_its_shutdown() -> None:
    from bareasgi import lifespan

    assert lifespan.RETURN_GRACE == 5.0


async def test_mounted_apps_already_started_are_shut_down_when_a_later_one_fails_to_start() -> (
    None
):
    # The server sends no shutdown after a failed startup: an app that was told it had
    # started would otherwise never hear of it, its resources left open.
    log: list[str] = []

    def mounted(name: str, fail: bool = False) -> Any:
        async def app(scope: Any, receive: Any, send: Any) -> None:
            while True:
                message = await receive()
                log.append(f"{name} {message['type']}")
                if fail:
                    await send({"type": "lifespan.startup.failed", "message": "no database"})
                    return
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return

        return app

    parent = Application()  # prefixes of one length: mounts start in the order given
    parent.mount("/m1", mounted("first"))
    parent.mount("/m2", mounted("second"))
    parent.mount("/m3", mounted("broken", fail=True))
    parent.mount("/m4", mounted("never"))
    sent = await run_lifespan(parent, "startup", "shutdown")
    assert [message["type"] for message in sent] == ["lifespan.startup.failed"]
    assert "no database" in sent[0]["message"]
    assert log == [
        "first lifespan.startup",
        "second lifespan.startup",
        "broken lifespan.startup",
        "second lifespan.shutdown",
        "first lifespan.shutdown",
    ]
