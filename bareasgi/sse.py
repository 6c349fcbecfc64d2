"""Server-sent events: format events, stream them with keep-alive comments, read Last-Event-ID.

An opt-in extra: ``import bareasgi`` does not load it. A ``text/event-stream`` response is
an ordinary streamed response whose body is a series of events, which the browser's
``EventSource`` reads and reconnects to by itself. ::

    from bareasgi.sse import ServerSentEvent, event_response, last_event_id

    async def ticks(scope, info, matches, content):
        last = last_event_id(scope)  # from the client: check it before trusting it
        start = int(last) + 1 if last and last.isdecimal() and len(last) < 10 else 1

        async def events():
            for number in itertools.count(start):
                yield ServerSentEvent(f"tick {number}", id=number)
                await asyncio.sleep(1)

        return event_response(events(), keep_alive=15)

When the client goes away, bareasgi closes the writer, which closes ``events()`` in turn:
its ``finally`` blocks run at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Any

from .headers import request_header
from .streaming import _ClosingStream, close_writer
from .types import Headers, HttpFullResponse, Scope

__all__ = [
    "KEEP_ALIVE",
    "ServerSentEvent",
    "event_response",
    "event_stream_headers",
    "event_writer",
    "format_comment",
    "format_event",
    "last_event_id",
]

logger = logging.getLogger("bareasgi")

KEEP_ALIVE = b": keep-alive\n\n"
"""The comment ``event_writer`` sends when no event came for a while."""

_EVENT_STREAM_HEADERS: Headers = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    # Neither browsers nor proxies may keep a copy of a live stream.
    (b"cache-control", b"no-cache"),
    # nginx buffers responses by default, which would hold events back.
    (b"x-accel-buffering", b"no"),
]


@dataclass(frozen=True)
class ServerSentEvent:
    """One event: its data, and optionally its type, id and reconnection delay.

    The fields are checked when the event is made, so a bad one fails where it is
    written, not later in the stream.

    Args:
        data: The text the browser receives as ``event.data``; see
            `format_event`.
        event: The event type, or None for ``message``.
        id: The event's id, which the browser sends back in
            ``Last-Event-ID`` when it reconnects.
        retry: How many milliseconds the browser waits before reconnecting.

    Attributes:
        data: The event's text.
        event: The event type.
        id: The event's id.
        retry: The reconnection delay in milliseconds.

    Raises:
        TypeError: As `format_event` raises for the same fields.
        ValueError: As `format_event` raises for the same fields.
    """

    data: str | None = None
    event: str | None = None
    id: str | int | None = None
    retry: int | None = None

    def __post_init__(self) -> None:
        _check(self.data, self.event, self.id, self.retry)

    def encode(self) -> bytes:
        """The event in the wire format, as ``format_event`` gives it."""
        return _format(self.data, self.event, self.id, self.retry)


def format_event(
    data: str | None = None,
    *,
    event: str | None = None,
    id: str | int | None = None,
    retry: int | None = None,
) -> bytes:
    """Format one event for a ``text/event-stream`` body, ending with its blank line.

    Args:
        data: The text the browser receives as ``event.data``. Each of its lines (split at
            CR LF, CR or LF) becomes a ``data:`` line, which the browser joins back with
            ``\\n``. None sends no data, so the browser updates its id or retry delay but
            dispatches nothing.
        event: The event type, which ``addEventListener(type, ...)`` listens for; the
            browser calls it ``message`` if None or empty.
        id: The event's id. The browser sends the last one back in ``Last-Event-ID`` when
            it reconnects (see ``last_event_id``); ``""`` makes it forget it.
        retry: How many milliseconds the browser waits before reconnecting.

    Raises:
        TypeError: ``data`` or ``event`` is neither a ``str`` nor None, or ``id`` is
            neither a ``str``, an ``int`` nor None.
        ValueError: ``event`` or ``id`` contains CR or LF (or ``id`` NUL), which would
            end the field early; ``retry`` is not a whole number of 0 or more.
    """
    _check(data, event, id, retry)
    return _format(data, event, id, retry)


def format_comment(text: str = "") -> bytes:
    """Format a comment, which ``EventSource`` ignores; each line of ``text`` gets ``:``.

    Args:
        text: The comment; empty for a bare ``:`` line.
    """
    return "".join(f": {line}\n" for line in _lines(text)).encode() + b"\n"


def _check(data: object, event: str | None, id: str | int | None, retry: int | None) -> None:
    # Anything else would be sent as its str(): b"1" as "b'1'", True as "True".
    if data is not None and not isinstance(data, str):
        raise TypeError(f"data must be a str or None, not {type(data).__name__}")
    if event is not None and not isinstance(event, str):
        raise TypeError(f"event must be a str or None, not {type(event).__name__}")
    if id is not None and (isinstance(id, bool) or not isinstance(id, (str, int))):
        raise TypeError(f"id must be a str or an int, not {type(id).__name__}")
    if event is not None and ("\r" in event or "\n" in event):
        raise ValueError(f"an event type cannot contain CR or LF: {event!r:.80}")
    if isinstance(id, str) and ("\r" in id or "\n" in id or "\0" in id):
        raise ValueError(f"an event id cannot contain CR, LF or NUL: {id!r:.80}")
    if retry is not None and (type(retry) is not int or retry < 0):
        raise ValueError(f"retry must be a whole number of milliseconds, 0 or more: {retry!r}")


def _lines(text: str) -> list[str]:
    # The three line endings the format knows; str.splitlines() knows others, and drops
    # a trailing empty line that the browser would keep.
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.split("\n")


def _format(data: str | None, event: str | None, id: str | int | None, retry: int | None) -> bytes:
    parts = []
    if event is not None:
        parts.append(f"event: {event}\n")
    if id is not None:
        parts.append(f"id: {id}\n")
    if retry is not None:
        parts.append(f"retry: {retry}\n")
    if data is not None:
        parts.extend(f"data: {line}\n" for line in _lines(data))
    parts.append("\n")
    return "".join(parts).encode()


def _encode(item: ServerSentEvent | str) -> bytes:
    if isinstance(item, ServerSentEvent):
        return item.encode()
    if not isinstance(item, str):
        raise TypeError(
            f"the event source yielded {type(item).__name__}, expected ServerSentEvent or str"
        )
    return _format(item, None, None, None)


def event_writer(
    events: AsyncIterable[ServerSentEvent | str], *, keep_alive: float | None = 15.0
) -> AsyncIterator[bytes]:
    """Make a writer that sends each event as it comes, with keep-alive comments in between.

    Each item of ``events`` is sent as soon as it is produced, a ``str`` as the data of a
    plain ``message`` event. When ``keep_alive`` seconds pass without an event, the
    writer sends ``KEEP_ALIVE``, a comment the browser ignores: it keeps proxies and
    load balancers from closing a stream that looks idle. None or 0 turns it off.

    However the writer ends (``events`` is exhausted or raises, or the client goes away and
    the framework closes the writer), ``events`` is closed too, so its ``finally`` blocks
    run at once. With keep-alive on, ``events`` is advanced in a helper task, one per
    event, so that it is never interrupted while the writer waits.

    Args:
        events: An async iterable of `ServerSentEvent` or ``str`` items.
        keep_alive: Seconds without an event before a keep-alive comment is
            sent; None or 0 for never.

    Returns:
        A writer to return with `event_stream_headers`.

    Raises:
        ValueError: ``keep_alive`` is not None nor a number of seconds, 0 or more.
    """
    _check_keep_alive(keep_alive)
    iterator = aiter(events)
    # Closed before its first event (a HEAD request), the generator runs no finally:
    # the wrapper closes ``events`` then.
    return _ClosingStream(_event_chunks(iterator, keep_alive), iterator)


def _check_keep_alive(keep_alive: object) -> None:
    # Checked when the writer is made: a negative wait times out at once, so the writer
    # would send keep-alive comments in a busy loop; NaN and strings fail only later.
    if keep_alive is None:
        return
    if isinstance(keep_alive, bool) or not isinstance(keep_alive, (int, float)) or not (
        keep_alive >= 0
    ):
        raise ValueError(
            f"keep_alive must be a number of seconds, 0 or more, or None, not {keep_alive!r}"
        )


async def _event_chunks(
    iterator: AsyncIterator[ServerSentEvent | str], keep_alive: float | None
) -> AsyncGenerator[bytes, None]:
    pending: asyncio.Task[tuple[bool, Any]] | None = None
    try:
        if not keep_alive:
            async for item in iterator:
                yield _encode(item)
            return
        while True:
            if pending is None:
                pending = asyncio.create_task(_next(iterator))
            done, _ = await asyncio.wait((pending,), timeout=keep_alive)
            if not done:
                yield KEEP_ALIVE
                continue
            more, item = pending.result()
            pending = None
            if not more:
                return
            yield _encode(item)
    finally:
        if pending is not None:
            # The iterator cannot be closed while a task is still inside it.
            pending.cancel()
            await asyncio.wait((pending,))
            # Retrieved here, so asyncio does not report it later as never retrieved; logged
            # once, as close_writer logs a failing close.
            error = None if pending.cancelled() else pending.exception()
            if error is not None:
                logger.error(
                    "The event source %r failed while closing", iterator, exc_info=error
                )
        await close_writer(iterator)


async def _next(iterator: AsyncIterator[Any]) -> tuple[bool, Any]:
    # StopAsyncIteration is turned into a value: a task cannot carry it as an exception.
    try:
        return True, await anext(iterator)
    except StopAsyncIteration:
        return False, None


def event_stream_headers(headers: Headers | None = None) -> Headers:
    """The headers of an event stream, with ``headers`` added.

    They are ``content-type: text/event-stream; charset=utf-8``, ``cache-control:
    no-cache`` and ``x-accel-buffering: no`` (nginx then passes each event on at once);
    a header of the same name in ``headers`` replaces the default.

    Args:
        headers: More headers to send, or None.
    """
    if not headers:
        return list(_EVENT_STREAM_HEADERS)
    given = {name.lower() for name, _ in headers}
    return [header for header in _EVENT_STREAM_HEADERS if header[0] not in given] + headers


def event_response(
    events: AsyncIterable[ServerSentEvent | str],
    *,
    keep_alive: float | None = 15.0,
    headers: Headers | None = None,
    status: int = 200,
) -> HttpFullResponse:
    """Build an event stream response: ``event_stream_headers`` and ``event_writer``.

    Args:
        events: An async iterable of `ServerSentEvent` or ``str`` items.
        keep_alive: Seconds without an event before a keep-alive comment;
            None or 0 for never.
        headers: More headers to send, or None.
        status: The status code.

    Returns:
        The full response tuple, to return from a handler as it is.

    Raises:
        ValueError: ``keep_alive`` is not None nor a number of seconds, 0 or more.

    Example:
        ```python
        async def clock(scope, info, matches, content):
            async def events():
                while True:
                    yield ServerSentEvent(time.strftime("%H:%M:%S"))
                    await asyncio.sleep(1)

            return event_response(events())
        ```
    """
    writer = event_writer(events, keep_alive=keep_alive)
    return status, event_stream_headers(headers), writer, None


def last_event_id(scope: Scope) -> str | None:
    """The ``Last-Event-ID`` a reconnecting browser sends, or None on a first connection.

    It is the ``id`` of the last event the browser received, as the client sent it:
    check it before trusting it (``value.isdecimal() and len(value) < 10`` before
    ``int(value)``, say: ``int`` raises ``ValueError`` for more than 4300 digits).

    Args:
        scope: The request's scope.
    """
    value = request_header(scope, b"last-event-id")
    return None if value is None else value.decode("utf-8", errors="replace")
