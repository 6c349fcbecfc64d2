"""The request body a handler reads (its ``content`` argument), and the readers of it."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import AsyncIterable, Callable
from typing import Any

from .errors import ClientDisconnect, HTTPError
from .types import Content, Message, Receive, Scope

logger = logging.getLogger("bareasgi")

DEFAULT_MAX_SIZE = 1024 * 1024
"""The body size, in bytes, the readers stop at unless told otherwise (1 MiB).

A handler reading a body holds all of it in memory, so without a limit one client
could exhaust it. ``max_size=None`` reads any size, for those who choose it.
"""


class RequestBody:
    """The ``content`` a handler receives: an async iterator over the request body chunks.

    Chunks are delivered as the server receives them, empty ones skipped. It can be
    iterated once. If the client disconnects before the body is complete, iterating
    raises ``ClientDisconnect``. The framework makes it; a test may make one over
    any ``receive``.

    Args:
        receive: The ASGI ``receive`` callable the body is read from.
    """

    # Most requests never read their body, so everything but ``receive`` is set on first use.
    __slots__ = ("_deferred", "_handed_over", "_receive", "_receiving", "_state", "_watcher")

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._state: _BodyState | None = None
        self._handed_over = False
        self._watcher: asyncio.Task[None] | None = None
        # A reader is awaiting ``receive``: a watcher asked for meanwhile (the task it
        # would watch kept in ``_deferred``) starts once that receive returns, as ASGI
        # allows one pending receive at a time.
        self._receiving = False
        self._deferred: asyncio.Task[Any] | None = None

    @property
    def disconnected(self) -> bool:
        """True once the server has reported that the client went away."""
        return self._state is not None and self._state.disconnected

    def __aiter__(self) -> RequestBody:
        return self

    async def __anext__(self) -> bytes:
        state = self._state or self._start()
        while True:
            if state.pending:
                return state.pending.popleft()
            if not state.more:
                raise StopAsyncIteration
            if state.disconnected:
                raise _incomplete()
            if self._handed_over:
                # The disconnect watcher owns ``receive`` now; it hands chunks over.
                state.waiter = asyncio.get_running_loop().create_future()
                await state.waiter
            else:
                self._receiving = True
                try:
                    message = await self._receive()
                finally:
                    self._received()
                state.take(message)

    async def read(self, max_size: int | None = DEFAULT_MAX_SIZE) -> bytes:
        """Read the whole body (what ``bytes_reader`` does), receiving directly when it can.

        Args:
            max_size: The largest body in bytes that is read; None for no limit.

        Returns:
            The body, empty if the request has none.

        Raises:
            HTTPError: 413 once more than ``max_size`` bytes have arrived.
            ClientDisconnect: the client went away before the body was complete.
        """
        if self._state is not None or self._handed_over:
            return await read_chunks(self, max_size)
        # Nothing read yet and nobody else receiving: loop on receive, the cheapest way.
        state = self._start()
        receive = self._receive
        chunks = []
        size = 0
        while True:
            self._receiving = True
            try:
                message = await receive()
            finally:
                self._received()
            if self._handed_over:
                # A streaming response started meanwhile: its watcher receives from now on,
                # keeping the (later) chunks it gets; read on from what both have.
                later = state.pending
                state.pending = deque(chunks)
                state.take(message, latest=False)
                state.pending.extend(later)
                return await read_chunks(self, max_size)
            if message["type"] != "http.request":
                state.take(message)
                if state.disconnected:
                    raise _incomplete()
                continue
            chunk = message.get("body", b"")
            if chunk:
                size += len(chunk)
                if max_size is not None and size > max_size:
                    state.more = message.get("more_body", False)
                    raise too_large(max_size)
                chunks.append(chunk)
            if not message.get("more_body", False):
                state.more = False
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def _start(self) -> _BodyState:
        self._state = _BodyState()
        return self._state

    def _received(self) -> None:
        """The reader's receive has returned: start the watcher that waited for it."""
        self._receiving = False
        task = self._deferred
        if task is not None:
            self._deferred = None
            self._start_watcher(task)

    def watch_for_disconnect(self, task: asyncio.Task[Any]) -> None:
        """Cancel ``task`` if the client disconnects, watching from the loop's next turn.

        The watcher task is created only if ``task`` yields to the event loop, so a
        response sent without waiting costs no task. From now on only the watcher
        calls ``receive``; a reader waits for the body chunks it keeps: an ASGI
        ``receive`` must not be awaited twice at once. If a reader is awaiting
        ``receive`` already, the watcher starts once that call returns. The
        framework calls it for a streaming response.

        Args:
            task: The task sending the response.
        """
        self._handed_over = True
        loop = task.get_loop()
        starter = _starter
        if starter is None or starter.loop is not loop:
            starter = _use_starter(loop)
        starter.add(self, task)

    def stop_watching(self) -> None:
        """Stop the watcher started by ``watch_for_disconnect``, or stop it from starting.

        A reader still waiting for the watcher's chunks (a task the writer started) is
        woken, and calls ``receive`` itself from then on.
        """
        self._handed_over = False
        self._deferred = None
        if self._watcher is not None:
            self._watcher.cancel()
        elif _starter is not None:
            _starter.forget(self)
        if self._state is not None:
            self._state.wake()

    def _start_watcher(self, task: asyncio.Task[Any]) -> None:
        # Called at the loop's next turn: a stream that has ended meanwhile needs no watcher.
        if self._handed_over and self._watcher is None:
            if self._receiving:
                self._deferred = task
            else:
                self._watcher = task.get_loop().create_task(self._cancel_on_disconnect(task))

    async def _cancel_on_disconnect(self, task: asyncio.Task[Any]) -> None:
        state = self._state or self._start()
        try:
            while not state.disconnected:
                state.take(await self._receive())
        except Exception:
            # A server whose receive fails cannot report a disconnect: stop watching, and
            # let a reader waiting for chunks call receive itself again.
            logger.exception("Receiving failed; no longer watching for a disconnect")
            self._handed_over = False
            state.wake()
            return
        task.cancel()


class _BodyState:
    __slots__ = ("disconnected", "more", "pending", "waiter")

    def __init__(self) -> None:
        self.pending: deque[bytes] = deque()
        self.more = True
        self.disconnected = False
        self.waiter: asyncio.Future[None] | None = None

    def take(self, message: Message, latest: bool = True) -> None:
        """Keep what ``message`` brings; ``latest`` False: later ones may have come already."""
        kind = message["type"]
        if kind == "http.request":
            chunk = message.get("body", b"")
            if chunk:
                self.pending.append(chunk)
            more = message.get("more_body", False)
            self.more = more if latest else self.more and more
        elif kind == "http.disconnect":
            self.disconnected = True
        self.wake()

    def wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)


def _incomplete() -> ClientDisconnect:
    return ClientDisconnect("the client disconnected before sending the whole body")


def too_large(max_size: int) -> HTTPError:
    """The 413 for a request body longer than ``max_size`` bytes."""
    return HTTPError(413, f"The request body is larger than {max_size} bytes.")


async def read_chunks(content: AsyncIterable[bytes], max_size: int | None = None) -> bytes:
    """Read any async iterable of chunks into one ``bytes``; 413 past ``max_size`` bytes."""
    chunks = []
    size = 0
    async for chunk in content:
        size += len(chunk)
        if max_size is not None and size > max_size:
            raise too_large(max_size)
        chunks.append(chunk)
    return b"".join(chunks)


class _WatcherStarter:
    """Starts, at the event loop's next turn, the watchers asked for during this one.

    One ``call_soon`` serves every request that streams in the same turn of the loop
    (a loaded server runs many per turn), and a request that finishes without
    yielding costs only a list entry, skipped when the turn ends.
    """

    __slots__ = ("loop", "pending", "scheduled")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.pending: list[tuple[RequestBody, asyncio.Task[Any]]] = []
        self.scheduled = False

    def add(self, content: RequestBody, task: asyncio.Task[Any]) -> None:
        self.pending.append((content, task))
        if not self.scheduled:
            self.scheduled = True
            self.loop.call_soon(self.start)

    def forget(self, content: RequestBody) -> None:
        # Usually the request that asked last is the one finishing: drop it now, so that
        # a turn running many requests keeps no list of them.
        pending = self.pending
        if pending and pending[-1][0] is content:
            pending.pop()

    def start(self) -> None:
        pending, self.pending = self.pending, []
        self.scheduled = False
        for content, task in pending:
            content._start_watcher(task)


_starter: _WatcherStarter | None = None  # the current event loop's


def _use_starter(loop: asyncio.AbstractEventLoop) -> _WatcherStarter:
    global _starter
    _starter = _WatcherStarter(loop)
    return _starter


async def bytes_reader(content: Content, max_size: int | None = DEFAULT_MAX_SIZE) -> bytes:
    """Read the whole request body.

    Args:
        content: The handler's ``content`` argument.
        max_size: A body longer than this many bytes stops the reading and
            raises ``HTTPError(413)`` without buffering the rest; 1 MiB
            (``DEFAULT_MAX_SIZE``) unless given, None for no limit.

    Returns:
        The body, empty if the request has none.

    Raises:
        HTTPError: 413 when the body is longer than ``max_size``.
        ClientDisconnect: The client went away before the body was complete.

    Example:
        ```python
        async def upload(scope, info, matches, content):
            data = await bytes_reader(content, max_size=1_000_000)
            return text_response(200, None, f"{len(data)} bytes")
        ```
    """
    if type(content) is RequestBody:
        return await content.read(max_size)
    return await read_chunks(content, max_size)


async def text_reader(
    content: Content, encoding: str = "utf-8", max_size: int | None = DEFAULT_MAX_SIZE
) -> str:
    """Read the whole request body as text.

    Args:
        content: The handler's ``content`` argument.
        encoding: The encoding to decode the body with.
        max_size: The largest body in bytes that is read, 1 MiB unless given,
            None for no limit; see `bytes_reader`.

    Returns:
        The decoded body.

    Raises:
        HTTPError: 400 when the body does not decode, with a message that
            names the encoding, never the body; 413 when it is longer than
            ``max_size``.
        ClientDisconnect: The client went away before the body was complete.

    Example:
        ```python
        async def shout(scope, info, matches, content):
            text = await text_reader(content, max_size=10_000)
            return text_response(200, None, text.upper())
        ```
    """
    data = await bytes_reader(content, max_size)
    try:
        return data.decode(encoding)
    except UnicodeError as error:  # some codecs, such as punycode, raise UnicodeError itself
        raise HTTPError(400, f"The request body is not valid {encoding} text.") from error


async def json_reader(
    content: Content,
    loads: Callable[[bytes], Any] = json.loads,
    max_size: int | None = DEFAULT_MAX_SIZE,
    *,
    scope: Scope | None = None,
) -> Any:
    """Read the whole request body as JSON.

    Args:
        content: The handler's ``content`` argument.
        loads: The function that parses the body's bytes, ``json.loads`` by
            default; a faster parser such as ``orjson.loads`` fits. A
            ``ValueError`` it raises becomes a 400.
        max_size: The largest body in bytes that is read, 1 MiB unless given,
            None for no limit; see `bytes_reader`.
        scope: The request's scope. When given, the content type is checked
            first: anything but ``application/json`` or
            ``application/*+json`` (parameters and letter case aside) is
            refused before any of the body is read.

    Returns:
        The parsed value: an object, a list, a string, a number, a bool or
        ``None``. Check its type before you use it.

    Raises:
        HTTPError: 400 when the body is not valid JSON, with a message that
            names the line and column where parsing failed, never the body;
            415 when ``scope`` is given and the content type is not JSON; 413
            when the body is longer than ``max_size``.
        ClientDisconnect: The client went away before the body was complete.

    Example:
        ```python
        async def update(scope, info, matches, content):
            changes = await json_reader(content, scope=scope)
            if not isinstance(changes, dict):
                raise HTTPError(400, "The body must be a JSON object.")
            info.update(changes)
            return 204
        ```
    """
    if scope is not None:
        _require_json_content_type(scope)
    data = await bytes_reader(content, max_size)
    try:
        return loads(data)
    except json.JSONDecodeError as error:
        raise HTTPError(
            400,
            f"The request body is not valid JSON: {error.msg} at line {error.lineno} "
            f"column {error.colno}.",
        ) from error
    except (ValueError, UnicodeDecodeError) as error:
        raise HTTPError(400, "The request body is not valid JSON.") from error
    except RecursionError as error:
        # Nesting deeper than the interpreter's recursion limit: a few kilobytes of
        # "[" are enough. The client's mistake, so a 400, not a logged 500.
        message = "The request body is not valid JSON: it is nested too deeply."
        raise HTTPError(400, message) from error


def _require_json_content_type(scope: Scope) -> None:
    for name, value in scope.get("headers") or ():
        if name.lower() == b"content-type":
            kind = value.split(b";", 1)[0].strip().lower()
            if kind == b"application/json" or (
                kind.startswith(b"application/") and kind.endswith(b"+json")
            ):
                return
            shown = kind.decode("latin-1")
            raise HTTPError(415, f"Expected a JSON body (application/json), not {shown}.")
    raise HTTPError(415, "Expected a JSON body: send content-type: application/json.")
