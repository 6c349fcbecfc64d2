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

    ASGI allows one pending ``receive()`` at a time: while a response streams, the
    task of `watch_until_disconnect` receives, and readers take the chunks it keeps.

    Args:
        receive: The ASGI ``receive`` callable the body is read from.
    """

    # Most requests never read their body, so its state is made on first use.
    __slots__ = ("_body", "_handed_over", "_receive")

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._body: _BodyState | None = None
        self._handed_over = False  # the disconnect watcher receives, not the readers

    @property
    def disconnected(self) -> bool:
        """True once the server has reported that the client went away."""
        return self._body is not None and self._body.disconnected

    def __aiter__(self) -> RequestBody:
        return self

    async def __anext__(self) -> bytes:
        body = self._body or self._start()
        while True:
            if body.pending:
                return body.pending.popleft()
            if not body.more:
                raise StopAsyncIteration
            if body.disconnected:
                raise _incomplete()
            if self._handed_over or body.receiving:
                # The watcher receives and keeps the chunks, or another task's reader is
                # receiving: ASGI allows one pending receive() at a time.
                await body.changed()
                continue
            body.take(await self._receive_turn(body))

    async def read(self, max_size: int | None = DEFAULT_MAX_SIZE) -> bytes:
        """Read the whole body, receiving directly when it can; `bytes_reader` calls this.

        Args:
            max_size: As for `bytes_reader`, which says what is returned and raised.
        """
        if self._body is not None or self._handed_over:
            return await read_chunks(self, max_size)
        # Nothing read yet: loop on receive, the cheapest way. A watcher starting
        # meanwhile waits until this reader has received the whole body.
        body = self._start()
        chunks = []
        size = 0
        while True:
            message = await self._receive_turn(body)
            if message["type"] != "http.request":
                body.take(message)
                if body.disconnected:
                    raise _incomplete()
                continue
            chunk = message.get("body", b"")
            if chunk:
                size += len(chunk)
                if max_size is not None and size > max_size:
                    body.more = message.get("more_body", False)
                    raise too_large(max_size)
                chunks.append(chunk)
            if not message.get("more_body", False):
                body.more = False
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def _receive_turn(self, body: _BodyState) -> Message:
        """A reader's ``receive``; a watcher starting meanwhile waits for it to end."""
        body.receiving = True
        try:
            return await self._receive()
        finally:
            body.receiving = False
            body.wake()  # a watcher may be waiting for its turn

    def _start(self) -> _BodyState:
        self._body = _BodyState()
        return self._body

    async def watch_until_disconnect(self) -> bool:
        """Receive until the client disconnects, keeping body chunks for the readers.

        The framework runs it in a task while a response streams, so that a client
        going away is noticed even when nobody reads the body; cancelling the task
        hands ``receive`` back to the readers.

        Returns:
            True once the client has disconnected; False if ``receive`` failed
            (logged), which leaves ``receive`` to the readers.
        """
        body = self._body or self._start()
        try:
            while not body.disconnected:
                if body.receiving:
                    await body.changed()  # a reader's receive is pending: one at a time
                else:
                    body.take(await self._receive())
        except Exception:
            # A server whose receive fails cannot report a disconnect.
            logger.exception("Receiving failed; no longer watching for a disconnect")
            self._take_back()
            return False
        return True

    def _take_back(self) -> None:
        """Readers call ``receive`` again; one waiting for the watcher is woken to do so."""
        self._handed_over = False
        if self._body is not None:
            self._body.wake()


class _BodyState:
    """What has been received of the body, and who may call ``receive`` now."""

    __slots__ = ("disconnected", "more", "pending", "receiving", "waiter")

    def __init__(self) -> None:
        self.pending: deque[bytes] = deque()
        self.more = True
        self.disconnected = False
        self.receiving = False  # a reader awaits receive: a watcher waits for its turn
        self.waiter: asyncio.Future[None] | None = None

    def take(self, message: Message) -> None:
        """Keep what ``message`` brings, and wake whoever waits for it."""
        kind = message["type"]
        if kind == "http.request":
            chunk = message.get("body", b"")
            if chunk:
                self.pending.append(chunk)
            self.more = message.get("more_body", False)
        elif kind == "http.disconnect":
            self.disconnected = True
        self.wake()

    async def changed(self) -> None:
        """Wait until a message is taken or ``receive`` changes hands."""
        if self.waiter is None or self.waiter.done():
            self.waiter = asyncio.get_running_loop().create_future()
        await self.waiter

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


async def bytes_reader(content: Content, max_size: int | None = DEFAULT_MAX_SIZE) -> bytes:
    """Read the whole request body.

    Args:
        content: The handler's ``content`` argument.
        max_size: The largest body in bytes that is read, 1 MiB (``DEFAULT_MAX_SIZE``)
            unless given, None for no limit; the rest of a longer one is not buffered.

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
    if isinstance(content, RequestBody):
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
    except ValueError as error:  # UnicodeDecodeError included
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
