"""A scripted ASGI server for tests that drive an application message by message.

:class:`ScriptedHttpServer` hands the application the ``receive`` messages of a script,
records what it sends, and can make the client disconnect at a chosen point: after a
number of receives, after a number of sends, or when the test says so. Once the script is
used up, ``receive`` waits as a real server's does: until the client disconnects, or the
response has ended (uvicorn then reports ``http.disconnect``).

:func:`http_problems` checks a recorded message sequence against the ASGI HTTP rules;
:func:`run_app` calls the application with a timeout, so a test that would hang fails.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from bareasgi.types import ASGIApp, Message, Scope

DEFAULT_TIMEOUT = 5.0

OVERLAPPING_RECEIVES: list[str] = []
"""Where an application awaited one of these servers' ``receive`` twice at once.

ASGI allows one pending ``receive()``. The application may catch the error raised at
it, so each is also recorded here, and a fixture in conftest.py fails the test.
"""


def one_receive_at_a_time(
    receive: Callable[[], Awaitable[Message]], name: str = "receive"
) -> Callable[[], Awaitable[Message]]:
    """Wrap ``receive`` so that awaiting it twice at the same time fails, as in real servers."""
    pending = False

    async def strict_receive() -> Message:
        nonlocal pending
        if pending:
            problem = f"the application awaited {name}() twice at the same time"
            OVERLAPPING_RECEIVES.append(problem)
            raise AssertionError(problem)
        pending = True
        try:
            return await receive()
        finally:
            pending = False

    return strict_receive


ServerT = TypeVar("ServerT")


def one_at_a_time(
    receive: Callable[[ServerT], Awaitable[Message]],
) -> Callable[[ServerT], Awaitable[Message]]:
    """Decorate a test server's ``receive`` method: awaiting it twice at the same time fails."""

    @functools.wraps(receive)
    async def strict_receive(server: ServerT) -> Message:
        if getattr(server, "_receive_pending", False):
            problem = f"the application awaited {type(server).__name__}.receive() twice at once"
            OVERLAPPING_RECEIVES.append(problem)
            raise AssertionError(problem)
        server._receive_pending = True  # type: ignore[attr-defined]
        try:
            return await receive(server)
        finally:
            server._receive_pending = False  # type: ignore[attr-defined]

    return strict_receive


def http_scope(
    method: str = "GET",
    path: str = "/",
    *,
    headers: Iterable[tuple[bytes, bytes]] = (),
    extensions: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An HTTP scope as uvicorn gives it: ``path`` already percent-decoded."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode("utf-8"),
        "query_string": b"",
        "root_path": "",
        "headers": list(headers),
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "extensions": extensions if extensions is not None else {},
    }


def websocket_scope(path: str = "/ws") -> dict[str, Any]:
    """A WebSocket scope as uvicorn gives it."""
    return {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "scheme": "ws",
        "path": path,
        "raw_path": path.encode("utf-8"),
        "query_string": b"",
        "root_path": "",
        "headers": [],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "subprotocols": [],
        "extensions": {},
    }


def lifespan_scope() -> dict[str, Any]:
    """A lifespan scope."""
    return {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}


def body_messages(chunks: Iterable[bytes]) -> list[Message]:
    """``http.request`` messages carrying ``chunks``, the last one with ``more_body`` False."""
    parts = list(chunks) or [b""]
    return [
        {"type": "http.request", "body": chunk, "more_body": index < len(parts) - 1}
        for index, chunk in enumerate(parts)
    ]


class ScriptedHttpServer:
    """Plays the server's side of one ASGI HTTP exchange from a script.

    Args:
        script: The messages ``receive`` returns, in order.
        disconnect_after_receives: The client disconnects instead of the message at
            this index of the script (0: before anything arrives).
        disconnect_after_sends: The client disconnects once the application has sent
            this many messages.
        send_fails_after_disconnect: Once the client has gone, ``send`` raises
            ``OSError`` as some servers' do, instead of dropping the message as
            uvicorn's does.
    """

    def __init__(
        self,
        script: Iterable[Message] = (),
        *,
        disconnect_after_receives: int | None = None,
        disconnect_after_sends: int | None = None,
        send_fails_after_disconnect: bool = False,
    ) -> None:
        self.script = list(script)
        self.disconnect_after_receives = disconnect_after_receives
        self.disconnect_after_sends = disconnect_after_sends
        self.send_fails_after_disconnect = send_fails_after_disconnect
        self.sent: list[Message] = []
        self.delivered: list[Message] = []
        self.receives = 0
        self.ended = False
        self._gone = asyncio.Event()
        self._changed = asyncio.Event()

    @property
    def disconnected(self) -> bool:
        """True once the client has gone (before the response ended)."""
        return self._gone.is_set() and not self.ended

    def disconnect(self) -> None:
        """Make the client go away now."""
        self._gone.set()

    @one_at_a_time
    async def receive(self) -> Message:
        index = self.receives
        self.receives += 1
        await asyncio.sleep(0)  # a real server's receive always yields to the loop
        if self.disconnect_after_receives is not None and index >= self.disconnect_after_receives:
            self._gone.set()
        if index < len(self.script) and not self._gone.is_set():
            return self.script[index]
        await self._gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        self.sent.append(message)
        self._changed.set()
        if self._gone.is_set():
            if self.send_fails_after_disconnect and not self.ended:
                raise OSError("the client has gone")
            return
        self.delivered.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            self.ended = True
            self._gone.set()
        if (
            self.disconnect_after_sends is not None
            and len(self.sent) >= self.disconnect_after_sends
        ):
            self._gone.set()

    async def wait_until(self, predicate: Any, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Wait until ``predicate(sent_messages)`` is true."""

        async def wait() -> None:
            while not predicate(self.sent):
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(wait(), timeout)

    @property
    def start(self) -> Message | None:
        """The ``http.response.start`` message, if one was sent."""
        return next((m for m in self.sent if m["type"] == "http.response.start"), None)

    @property
    def status(self) -> int | None:
        """The status of the response, or None if it never started."""
        start = self.start
        return None if start is None else int(start["status"])

    @property
    def body(self) -> bytes:
        """The body the client received."""
        return b"".join(
            m.get("body", b"") for m in self.delivered if m["type"] == "http.response.body"
        )

    @property
    def response_ended(self) -> bool:
        """True if a body message with ``more_body`` False was sent."""
        return any(
            m["type"] == "http.response.body" and not m.get("more_body", False) for m in self.sent
        )


def http_problems(sent: list[Message]) -> list[str]:
    """What is wrong with the messages an application sent for one HTTP response.

    The rules: ``http.response.start`` comes first and once; pushes come after it and
    before any body; every body is ``bytes``; nothing comes after the body message with
    ``more_body`` False. A sequence may stop early (the client may have gone).
    """
    problems = []
    started = ended = body_seen = False
    for index, message in enumerate(sent):
        kind = message.get("type")
        if ended:
            problems.append(f"message {index} ({kind}) after the response ended")
        if kind == "http.response.start":
            if started:
                problems.append(f"message {index}: a second http.response.start")
            if type(message.get("status")) is not int:
                problems.append(f"message {index}: status {message.get('status')!r} is not int")
            started = True
        elif not started:
            problems.append(f"message {index} ({kind}) before http.response.start")
        elif kind == "http.response.push":
            if body_seen:
                problems.append(f"message {index}: a push after the body started")
        elif kind == "http.response.body":
            body_seen = True
            if type(message.get("body", b"")) is not bytes:
                problems.append(f"message {index}: body {message.get('body')!r:.40} is not bytes")
            ended = not message.get("more_body", False)
        else:
            problems.append(f"message {index}: unknown type {kind!r}")
    return problems


class ScriptedReceive:
    """A ``receive`` returning a script of messages, then waiting forever.

    For WebSocket and lifespan conversations, where the application decides when to
    stop; ``sent`` records what it sends.
    """

    def __init__(self, script: Iterable[Message]) -> None:
        self.script = list(script)
        self.sent: list[Message] = []
        self._never = asyncio.Event()

    @one_at_a_time
    async def receive(self) -> Message:
        await asyncio.sleep(0)
        if self.script:
            return self.script.pop(0)
        await self._never.wait()
        raise AssertionError("unreachable")

    async def send(self, message: Message) -> None:
        self.sent.append(message)


async def run_app(
    app: ASGIApp, scope: Scope, receive: Any, send: Any, timeout: float = DEFAULT_TIMEOUT
) -> None:
    """Call the application as a server does, failing instead of hanging after ``timeout``."""
    call: Awaitable[None] = app(scope, receive, send)
    await asyncio.wait_for(call, timeout)
