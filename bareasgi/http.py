"""One HTTP exchange: the request body, running the handler, sending the response.

A response goes through three stages, each with its own error rule: before it
starts (an error still becomes a clean 500), started (headers are out: an error
can only end the body), and finished (the last body message, ``more_body:
False``, has been sent). A body already in memory (a
``BodyWriter``) is sent at once. Any other writer
really streams: it runs in the request's task, and a watcher task, started only
once the writer waits for something, stops it at once if the client goes away.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
from collections import deque
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

from .errors import ClientDisconnect, HTTPError
from .streaming import BodyWriter
from .types import (
    Headers,
    HttpFullResponse,
    HttpRequestCallback,
    Info,
    Message,
    PushResponses,
    Receive,
    RouteMatches,
    Scope,
    Send,
    Writer,
)

logger = logging.getLogger("bareasgi")

_PADDING: tuple[tuple[None, ...], ...] = ((), (None, None, None), (None, None), (None,), ())
_INTERNAL_ERROR_BODY = b"Internal Server Error"


class RequestBody:
    """The ``content`` a handler receives: an async iterator over the request body chunks.

    Chunks are delivered as the server receives them, empty ones skipped. It can be
    iterated once. If the client disconnects before the body is complete, iterating
    raises ``ClientDisconnect``.
    """

    # Most requests never read their body, so everything but ``receive`` is set on first use.
    __slots__ = ("_handed_over", "_receive", "_state")

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._state: _BodyState | None = None
        self._handed_over = False

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
                raise ClientDisconnect("the client disconnected before sending the whole body")
            if self._handed_over:
                # The disconnect watcher owns ``receive`` now; it hands chunks over.
                state.waiter = asyncio.get_running_loop().create_future()
                await state.waiter
            else:
                state.take(await self._receive())

    def _start(self) -> _BodyState:
        self._state = _BodyState()
        return self._state

    def hand_over_receive(self) -> None:
        """From now on, only ``wait_for_disconnect`` calls ``receive``.

        The reader then waits for the body chunks it hands over instead of calling
        ``receive`` itself: an ASGI ``receive`` must not be awaited twice at once.
        """
        self._handed_over = True

    def take_back_receive(self) -> None:
        """Undo ``hand_over_receive``: the reader calls ``receive`` itself again."""
        self._handed_over = False
        state = self._state
        if state is not None and state.waiter is not None and not state.waiter.done():
            state.waiter.set_result(None)

    async def wait_for_disconnect(self) -> None:
        """Receive until the client disconnects, keeping any body chunks for the reader."""
        state = self._state or self._start()
        while not state.disconnected:
            state.take(await self._receive())


class _BodyState:
    __slots__ = ("disconnected", "more", "pending", "waiter")

    def __init__(self) -> None:
        self.pending: deque[bytes] = deque()
        self.more = True
        self.disconnected = False
        self.waiter: asyncio.Future[None] | None = None

    def take(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.request":
            chunk = message.get("body", b"")
            if chunk:
                self.pending.append(chunk)
            self.more = message.get("more_body", False)
        elif kind == "http.disconnect":
            self.disconnected = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)


def describe(handler: object) -> str:
    """Name a handler for a log line."""
    name = getattr(handler, "__qualname__", None) or type(handler).__qualname__
    module = getattr(handler, "__module__", None)
    return f"{module}.{name}" if module else str(name)


def normalize(response: Any, handler: object) -> HttpFullResponse:
    """Turn what a handler returned into the full ``(status, headers, writer, pushes)`` tuple.

    Raises:
        TypeError: the value is not a status or a tuple of 1 to 4 items starting
            with one; the message names the handler.
    """
    if type(response) is tuple:
        size = len(response)
        if 0 < size <= 4 and isinstance(response[0], int) and not isinstance(response[0], bool):
            if type(response[0]) is not int:  # an IntEnum such as HTTPStatus.OK
                response = (int(response[0]), *response[1:])
            full: HttpFullResponse = response + _PADDING[size]
            return full
    elif isinstance(response, int) and not isinstance(response, bool):
        return int(response), None, None, None
    raise TypeError(
        f"{describe(handler)} returned {response!r:.100}; expected a status int or a tuple "
        "(status, headers, writer, pushes) of 1 to 4 items"
    )


_BAD_NAME = re.compile(rb"[^!#$%&'*+\-.^_`|~0-9A-Za-z]")
_bad_value = re.compile(rb"[\r\n\0]").search
_GOOD_NAMES: set[bytes] = set()


def header_problem(headers: object) -> str | None:
    """Say what is wrong with a list of response headers, or None if it can go to the server.

    Names must be HTTP tokens and values free of CR, LF and NUL, both as ``bytes``: a
    header that could split the response (header injection) never reaches the server.
    """
    try:
        for name, value in headers:  # type: ignore[attr-defined]
            if type(value) is not bytes or type(name) is not bytes:
                return f"{name!r}: {value!r:.60} is not a pair of bytes"
            if _bad_value(value) is not None:
                return f"the value of {name!r} contains CR, LF or NUL"
            if name not in _GOOD_NAMES:
                if not name or _BAD_NAME.search(name):
                    return f"{name!r} is not a valid header name"
                if len(_GOOD_NAMES) < 1024:  # names are few: remember them, within reason
                    _GOOD_NAMES.add(name)
    except (TypeError, ValueError):
        return f"headers must be a list of (bytes, bytes) pairs, not {headers!r:.80}"
    return None


def checked(response: HttpFullResponse) -> tuple[HttpFullResponse, str | None]:
    """Check what goes to the server before the response starts: headers, pushes, body chunks.

    Headers or pushes given as a one-shot iterable are taken into a list once, so what
    is checked is what is sent. Returns the response to send and the problem, if any.
    """
    status, headers, writer, pushes = response
    if headers is not None and type(headers) is not list:
        if isinstance(headers, (Mapping, str, bytes, bytearray)) or not isinstance(
            headers, Iterable
        ):
            return response, f"headers must be a list of (bytes, bytes) pairs, not {headers!r:.80}"
        headers = list(headers)
    if headers:
        problem = header_problem(headers)
        if problem is not None:
            return response, problem
    if pushes is not None:
        try:
            pushes = list(pushes)
            for path, push_headers in pushes:
                if type(path) is not str or not path.startswith("/"):
                    return response, f"a push path must be a str starting with '/', not {path!r}"
                problem = header_problem(push_headers)
                if problem is not None:
                    return response, f"push {path}: {problem}"
        except (TypeError, ValueError):
            return response, f"pushes must be (path, headers) pairs, not {pushes!r:.80}"
    if type(writer) is BodyWriter:
        for chunk in writer:
            if type(chunk) is not bytes:
                return response, f"the body holds a {type(chunk).__name__}, not bytes"
    return (status, headers, writer, pushes), None


def error_response(error: Exception, source: object, scope: Scope) -> HttpFullResponse:
    """The response for an exception raised by ``source`` (a handler or middleware).

    An ``HTTPError`` becomes its own response; anything else is logged with its
    traceback, naming ``source``, and becomes the plain 500.
    """
    if isinstance(error, HTTPError):
        return error.to_response()
    logger.error(
        "Unhandled exception in %s for %s %s",
        describe(source),
        scope["method"],
        scope["path"],
        exc_info=error,
    )
    return internal_error()


def internal_error() -> HttpFullResponse:
    """The 500 response sent for an unhandled exception; it reveals nothing of the error."""
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(_INTERNAL_ERROR_BODY)).encode("ascii")),
    ]
    return 500, headers, BodyWriter((_INTERNAL_ERROR_BODY,)), None


async def serve_http(
    scope: Scope,
    receive: Receive,
    send: Send,
    handler: HttpRequestCallback,
    matches: RouteMatches,
    info: Info,
) -> None:
    """Run one HTTP request through ``handler`` and send its response."""
    content = RequestBody(receive)
    try:
        response = await handler(scope, info, matches, content)
        if type(response) is not tuple or len(response) != 4 or type(response[0]) is not int:
            response = normalize(response, handler)
    except ClientDisconnect:
        return
    except Exception as error:
        response = error_response(error, handler, scope)
    status, headers, writer, pushes = response
    # The common case, a list of headers and one chunk of bytes in memory, is sent right here.
    if (
        type(writer) is BodyWriter
        and len(writer) == 1
        and type(writer[0]) is bytes
        and pushes is None
        and scope["method"] != "HEAD"
        and (headers is None or (type(headers) is list and header_problem(headers) is None))
    ):
        try:
            await send({"type": "http.response.start", "status": status, "headers": headers or []})
            await send({"type": "http.response.body", "body": writer[0], "more_body": False})
        except OSError:
            logger.debug("The client went away while %s was responding", describe(handler))
        return
    if headers or pushes is not None or type(writer) is BodyWriter:
        response, problem = checked(response)
        if problem is not None:
            logger.error("%s returned a bad response, so 500: %s", describe(handler), problem)
            response = internal_error()
    await send_response(scope, send, content, response, handler)


async def send_response(
    scope: Scope,
    send: Send,
    content: RequestBody,
    response: HttpFullResponse,
    handler: object,
) -> None:
    """Send a normalised response: start, pushes, then the body, always ending it."""
    status, headers, writer, pushes = response
    if scope["method"] == "HEAD" and writer is not None:
        await _close(writer)
        writer = None
    # A writer naming the whole file it sends lets a server that can send files do it.
    path = getattr(writer, "pathsend", None) if writer is not None else None
    if path is not None and "http.response.pathsend" in (scope.get("extensions") or ()):
        await _send_path(scope, send, status, headers, pushes, path)
        await _close(writer)  # type: ignore[arg-type]
        return
    iterator: AsyncIterator[bytes] | None = None
    if writer is not None and type(writer) is not BodyWriter:
        try:
            iterator = writer.__aiter__()
        except Exception:
            logger.exception("%s returned a writer that is not async iterable", describe(handler))
            status, headers, writer, pushes = internal_error()
    try:
        await send({"type": "http.response.start", "status": status, "headers": headers or []})
        if pushes:
            await _push(scope, send, pushes)
        if iterator is not None:
            await _stream(send, content, iterator, handler)
        elif writer is None:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        else:
            chunks: BodyWriter = writer  # type: ignore[assignment]
            for chunk in chunks[:-1]:
                if chunk:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            last = chunks[-1] if chunks else b""
            await send({"type": "http.response.body", "body": last, "more_body": False})
    except (OSError, ClientDisconnect):
        logger.debug("The client went away while %s was responding", describe(handler))
        if iterator is not None:
            await _close(iterator)


async def _send_path(
    scope: Scope,
    send: Send,
    status: int,
    headers: Headers | None,
    pushes: PushResponses | None,
    path: str,
) -> None:
    """Let the server send the file itself (the ``http.response.pathsend`` extension).

    Any writer with a ``pathsend`` attribute holding the absolute path of the whole
    file it would send, such as the ``bareasgi.static`` file writer, is sent this way.
    """
    try:
        await send({"type": "http.response.start", "status": status, "headers": headers or []})
        if pushes:
            await _push(scope, send, pushes)
        await send({"type": "http.response.pathsend", "path": path})
    except OSError:
        logger.debug("The client went away before %s was sent", path)


async def _push(scope: Scope, send: Send, pushes: PushResponses) -> None:
    if "http.response.push" not in (scope.get("extensions") or ()):
        return
    for path, headers in pushes:
        await send({"type": "http.response.push", "path": path, "headers": headers})


async def _stream(
    send: Send, content: RequestBody, iterator: AsyncIterator[bytes], handler: object
) -> None:
    """Stream the writer in this task while a second task watches for a disconnect.

    The watcher starts only if the writer yields control to the event loop: a
    writer whose chunks are all ready is sent without creating any task. On a
    disconnect the watcher cancels this task: the writer is interrupted at
    whatever it awaits, its ``finally`` runs, and the cancellation is withdrawn
    here, so the server sees the application return normally.
    """
    task = asyncio.current_task()
    assert task is not None  # an ASGI application always runs inside a task
    loop = asyncio.get_running_loop()
    content.hand_over_receive()
    watcher: asyncio.Task[None] | None = None

    def start_watcher() -> None:
        nonlocal watcher
        watcher = loop.create_task(_cancel_on_disconnect(content, task))

    start = loop.call_soon(start_watcher)
    try:
        await _send_chunks(send, iterator, handler)
    except asyncio.CancelledError:
        if not content.disconnected or _still_cancelled(task):
            raise
        logger.debug("The client went away while %s was streaming", describe(handler))
    finally:
        start.cancel()
        if watcher is not None:
            watcher.cancel()


async def _cancel_on_disconnect(content: RequestBody, task: asyncio.Task[Any]) -> None:
    try:
        await content.wait_for_disconnect()
    except Exception:
        # A server whose receive fails cannot report a disconnect: stop watching, and let a
        # writer that reads the body call receive itself again rather than wait for chunks.
        logger.exception("Receiving while streaming failed; no longer watching for a disconnect")
        content.take_back_receive()
        return
    task.cancel()


def _still_cancelled(task: asyncio.Task[Any]) -> bool:
    """Withdraw our own cancellation; True if someone else cancelled the task too."""
    if sys.version_info >= (3, 11):
        return task.uncancel() > 0
    return False


async def _send_chunks(send: Send, iterator: AsyncIterator[bytes], handler: object) -> None:
    """Send each chunk as the writer yields it, then end the response.

    An error in the writer is logged and the response ended; an ``OSError`` from
    ``send`` means the client has gone and becomes ``ClientDisconnect``.
    """
    exhausted = False  # a writer that ran to its end needs no closing
    try:
        async for chunk in iterator:
            if not chunk:
                continue
            if type(chunk) is not bytes:
                if not isinstance(chunk, (bytearray, memoryview)):
                    raise TypeError(
                        f"the writer of {describe(handler)} yielded {type(chunk).__name__}, "
                        "expected bytes"
                    )
                chunk = bytes(chunk)
            try:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            except OSError as error:
                raise ClientDisconnect("the client went away") from error
        exhausted = True
    except ClientDisconnect:
        raise
    except Exception:
        logger.exception("The writer of %s failed after the response started", describe(handler))
    finally:
        if not exhausted:
            await _close(iterator)
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _close(writer: Writer | AsyncIterator[bytes]) -> None:
    """Close an async generator so its ``finally`` blocks run now, not at garbage collection."""
    aclose = getattr(writer, "aclose", None)
    if aclose is None:
        return
    try:
        await aclose()
    except Exception:
        logger.exception("Closing the writer %r failed", writer)

