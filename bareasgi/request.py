"""The request body a handler reads: the ``content`` argument of every HTTP handler."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterable
from typing import Any

from .errors import ClientDisconnect, HTTPError
from .types import Message, Receive

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
    raises ``ClientDisconnect``.
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
                    raise _too_large(max_size)
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
        ``receive`` already, the watcher starts once that call returns.
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


def _too_large(max_size: int) -> HTTPError:
    return HTTPError(413, f"The request body is larger than {max_size} bytes.")


async def read_chunks(content: AsyncIterable[bytes], max_size: int | None = None) -> bytes:
    """Read any async iterable of chunks into one ``bytes``; 413 past ``max_size`` bytes."""
    chunks = []
    size = 0
    async for chunk in content:
        size += len(chunk)
        if max_size is not None and size > max_size:
            raise _too_large(max_size)
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

