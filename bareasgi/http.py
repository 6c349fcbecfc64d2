"""One HTTP exchange: running the handler, checking its response, sending it.

The exchange (`_Exchange`) is also the handler's ``content``. A body in memory (a
``BodyWriter``) is sent at once; any other writer streams, stopped if the client goes
away, and the exchange holds that stream's one state, its stage (`_Exchange.stream`)."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import re
import sys
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any, cast

from .errors import ClientDisconnect, HTTPError
from .request import RequestBody
from .streaming import BodyWriter, close_writer, text_response
from .types import (
    Headers,
    HttpFullResponse,
    HttpRequestCallback,
    Info,
    PushResponses,
    Receive,
    RouteMatches,
    Scope,
    Send,
)

logger = logging.getLogger("bareasgi")
_PADDING = ((), (None, None, None), (None, None), (None,), ())  # to make a tuple of 4
_NO_BODY = BodyWriter((b"",))  # one empty chunk: the body message that ends the response


def handler_name(handler: object) -> str:
    """Name a handler for a log line; a ``str`` is already a name."""
    if isinstance(handler, str):
        return handler
    name = getattr(handler, "__qualname__", None) or type(handler).__qualname__
    module = getattr(handler, "__module__", None)
    return f"{module}.{name}" if module else str(name)


def check_async(callback: object, what: str) -> None:
    """Raise ``TypeError``, naming ``callback`` as ``what``, unless it is an async function
    or an object with an async ``__call__``.

    Handlers and middleware are checked when they are given: found at request time
    instead, the mistake could only be a 500.
    """
    call = getattr(callback, "__call__", None)  # noqa: B004 - async callable objects count
    if not (inspect.iscoroutinefunction(callback) or inspect.iscoroutinefunction(call)):
        raise TypeError(f"{what} {callback!r} must be an async function (async def)")


def full_response(response: Any, handler: object) -> HttpFullResponse:
    """Turn what a handler returned into the full ``(status, headers, writer, pushes)`` tuple.

    Raises:
        TypeError: the value is not a status or a tuple of 1 to 4 items starting
            with one; the message names the handler.
        ValueError: the status is not from 200 to 599.
    """
    whole = type(response) is tuple and 0 < len(response) <= 4
    status = response[0] if whole else response
    if whole and type(status) is int and 200 <= status <= 599:
        return response + _PADDING[len(response)]  # type: ignore[no-any-return]
    if isinstance(status, bool) or not isinstance(status, int):
        raise TypeError(
            f"{handler_name(handler)} returned {response!r:.100}; expected a status int or a "
            "tuple (status, headers, writer, pushes) of 1 to 4 items"
        )
    if not 200 <= status <= 599:
        raise ValueError(
            f"{handler_name(handler)} returned the status {status}; "
            "a response's status is from 200 to 599"
        )
    # int(): an IntEnum such as HTTPStatus.OK goes to the server as a plain int.
    full: HttpFullResponse = (int(status), *(response[1:] if whole else ()), None, None, None)[:4]
    return full


NOT_TOKEN = re.compile(rb"[^!#$%&'*+\-.^_`|~0-9A-Za-z]")
"""A byte that cannot be in an HTTP token (RFC 9110): a method, a header or cookie name."""


def is_token(text: str | bytes) -> bool:
    """True if ``text`` is an HTTP token: not empty, and no byte matches `NOT_TOKEN`.

    Args:
        text: A method, a header name or a cookie name; a ``str`` is checked as UTF-8.
    """
    raw = text.encode("utf-8") if isinstance(text, str) else text
    return bool(raw) and NOT_TOKEN.search(raw) is None


_bad_value = re.compile(rb"[\r\n\0]").search
# Most response headers repeat from response to response (names, content types, short
# lengths): those that passed are remembered, so that checking one is a single set
# lookup. Checking each name and value every time instead (two regular-expression
# searches a header) costs an in-process hello 23 % more instructions (callgrind, 37.4k
# against 30.4k). Bounded: a header seen for the first time, or a long one, is checked
# in full.
_GOOD_HEADERS: set[tuple[bytes, bytes]] = set()


def header_problem(headers: object) -> str | None:
    """Say what is wrong with a list of response headers, or None if it can go to the server.

    Names must be HTTP tokens and values free of CR, LF and NUL, both as ``bytes``: a
    header that could split the response (header injection) never reaches the server.
    """
    try:
        for pair in headers:  # type: ignore[attr-defined]
            name, value = pair
            if type(value) is not bytes or type(name) is not bytes:
                return f"{name!r}: {value!r:.60} is not a pair of bytes"
            if _bad_value(value) is not None:
                return f"the value of {name!r} contains CR, LF or NUL"
            if not name or NOT_TOKEN.search(name):
                return f"{name!r} is not a valid header name"
            if type(pair) is tuple and len(value) <= 64 and len(_GOOD_HEADERS) < 4096:
                _GOOD_HEADERS.add(pair)
    except (TypeError, ValueError):
        return f"headers must be a list of (bytes, bytes) pairs, not {headers!r:.80}"
    return None


def check_response(response: Any, handler: object) -> HttpFullResponse:
    """What ``handler`` returned as the full tuple (`full_response`), checked for the server.

    Headers and pushes are checked (a ``BodyWriter`` checks its chunks when made).
    Headers or pushes given as a one-shot iterable are taken into a list once, so what
    is checked is what is sent.

    Raises:
        TypeError: as `full_response` raises it.
        ValueError: something cannot go to the server; the message says what.
    """
    if type(response) is tuple and 0 < len(response) <= 4:
        # The usual response (a status, a list of headers seen before, no pushes) is
        # checked in the fewest steps: the full path below costs a hello 2 % more
        # instructions, or 5 % for a short tuple (callgrind, in process).
        whole = response + _PADDING[len(response)]
        status, headers, writer, pushes = whole
        if type(status) is int and 200 <= status <= 599 and type(headers) is list:
            try:
                if pushes is None and _GOOD_HEADERS.issuperset(headers):
                    return whole
            except TypeError:  # a pair that is not hashable: a list, say
                pass
    response = full_response(response, handler)
    status, headers, writer, pushes = response
    if headers is not None and type(headers) is not list:
        if isinstance(headers, (Mapping, str, bytes, bytearray)) or not isinstance(
            headers, Iterable
        ):
            raise ValueError(f"headers must be a list of (bytes, bytes) pairs, not {headers!r:.80}")
        headers = list(headers)
        response = status, headers, writer, pushes
    if headers:
        problem = header_problem(headers)
        if problem is not None:
            raise ValueError(problem)
    if pushes is not None:
        pushes = list(pushes) if isinstance(pushes, Iterable) else pushes
        problem = _push_problem(pushes)
        if problem is not None:
            raise ValueError(problem)
        response = status, headers, writer, pushes
    checked: HttpFullResponse = response
    return checked


def _push_problem(pushes: object) -> str | None:
    try:
        for path, headers in pushes:  # type: ignore[attr-defined]
            if type(path) is not str or not path.startswith("/"):
                return f"a push path must be a str starting with '/', not {path!r}"
            problem = header_problem(headers)
            if problem is not None:
                return f"push {path}: {problem}"
    except (TypeError, ValueError):
        return f"pushes must be (path, headers) pairs, not {pushes!r:.80}"
    return None


def error_response(error: Exception, source: object, scope: Scope) -> HttpFullResponse:
    """The response for an exception raised by ``source`` (a handler or middleware).

    An ``HTTPError`` becomes its own response, or, if its body or headers cannot be sent,
    the plain 500, logged; anything else is logged with its traceback, naming ``source``,
    and becomes the plain 500.
    """
    answer = error if isinstance(error, HTTPError) else _original_error(error)
    if answer is not None:
        try:
            return check_response(answer.to_response(), source)
        except Exception as problem:  # whatever fails, the error cannot be sent
            # Its body or headers are the raiser's mistake, as in a malformed response;
            # raised from here it would escape to the server.
            logger.error(
                "%s raised %r, which cannot be sent, so 500: %s",
                handler_name(source),
                error,
                problem,
                exc_info=error,
            )
            return internal_error()
    logger.error(
        "Unhandled exception in %s for %s %s",
        handler_name(source),
        scope["method"],
        scope["path"],
        exc_info=error,
    )
    return internal_error()


def _original_error(error: Exception) -> HTTPError | None:
    """The ``HTTPError`` for a ``urllib.error.HTTPError`` raised the original bareASGI's way.

    bareASGI 3 answered a raised ``urllib.error.HTTPError(url, code, msg, hdrs, fp)``
    with ``code``, ``msg`` as the body and ``hdrs`` (``(bytes, bytes)`` pairs, or None)
    as headers. One whose headers are a message object came from ``urllib.request``:
    an upstream server's error, whose text and headers are not for the client (None).
    """
    module = sys.modules.get("urllib.error")  # never imported here just to check
    if module is None or not isinstance(error, module.HTTPError):
        return None
    hdrs = error.hdrs
    code = error.code
    if hdrs is not None and not isinstance(hdrs, (list, tuple)):
        return None
    if isinstance(code, bool) or not isinstance(code, int) or not 200 <= code <= 599:
        return None
    message = error.msg
    body = message if isinstance(message, (str, bytes)) else None
    return HTTPError(code, body, list(hdrs or ()))


def internal_error() -> HttpFullResponse:
    """The 500 response sent for an unhandled exception; it reveals nothing of the error."""
    return text_response(500, None, "Internal Server Error")


NOT_STARTED = "not started"
STARTED = "started"
FINISHED = "finished"


async def serve_http(
    scope: Scope,
    receive: Receive,
    send: Send,
    handler: HttpRequestCallback,
    matches: RouteMatches,
    info: Info,
    watchers: WatcherStarter,
) -> None:
    """Run one HTTP request through ``handler``, then check its response and send it.

    The one way a response is sent: checked (`check_response`; a bad one is logged and
    becomes the plain 500), then start, pushes and the body, always ended.
    """
    exchange = _Exchange(receive)
    try:
        response = await handler(scope, info, matches, exchange)
    except ClientDisconnect:
        return
    except Exception as error:
        response = error_response(error, handler, scope)
    try:
        status, headers, writer, pushes = check_response(response, handler)
    except (TypeError, ValueError) as problem:
        logger.error("%s returned a bad response, so 500: %s", handler_name(handler), problem)
        status, headers, writer, pushes = internal_error()
    path = None
    if status == 204 or status == 304 or scope["method"] == "HEAD":
        if writer is not None and type(writer) is not BodyWriter:
            await close_writer(writer)
        # A HEAD keeps the headers of its GET. A 204 or 304 has no body (RFC 9110, 15.3.5
        # and 15.4.5), whatever the writer; nor a content-length: uvicorn's httptools
        # layer would wait for that many body bytes.
        if (status == 204 or status == 304) and headers:
            headers = [pair for pair in headers if pair[0].lower() != b"content-length"]
        chunks = _NO_BODY
    elif type(writer) is BodyWriter:
        chunks = writer or _NO_BODY
    elif writer is None:
        chunks = _NO_BODY
    elif getattr(writer, "pathsend", None) is not None and "http.response.pathsend" in (
        scope.get("extensions") or ()
    ):
        # A writer naming the whole file it sends (``pathsend``, its absolute path), such
        # as the bareasgi.static one, lets a server that can send files do it.
        path = writer.pathsend  # type: ignore[attr-defined]
        await close_writer(writer)
        chunks = _NO_BODY
    else:
        try:
            iterator = writer.__aiter__()
        except Exception:
            logger.exception(
                "%s returned a writer that is not async iterable", handler_name(handler)
            )
            status, headers, writer, pushes = internal_error()
            chunks = cast(BodyWriter, writer)
        else:
            await exchange.stream(scope, send, status, headers, pushes, iterator, handler, watchers)
            return
    try:
        await send({"type": "http.response.start", "status": status, "headers": headers or []})
        if pushes:
            await _push(scope, send, pushes)
        if path is not None:
            await send({"type": "http.response.pathsend", "path": path})
        else:
            if len(chunks) > 1:
                for chunk in chunks[:-1]:
                    if chunk:
                        await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": chunks[-1], "more_body": False})
    except OSError:
        logger.debug("The client went away while %s was responding", handler_name(handler))


async def _push(scope: Scope, send: Send, pushes: PushResponses) -> None:
    if "http.response.push" in (scope.get("extensions") or ()):
        for path, headers in pushes:
            await send({"type": "http.response.push", "path": path, "headers": headers})


class _Exchange(RequestBody):
    """One HTTP exchange: the request body the handler reads and, if its response
    streams, that stream's stage.

    `stream` sets the stage, read by the disconnect watcher too. It goes from
    ``NOT_STARTED`` (nothing sent: an error is the server's, and raised to it) to
    ``STARTED`` (the start is sent: an error can only end the body) to ``FINISHED``
    (nothing more is sent: the body has ended, or the client has gone), never back.
    """

    __slots__ = ("_watcher", "stage")

    def __init__(self, receive: Receive) -> None:
        # RequestBody's fields too: calling its __init__ cost an in-process hello 1.4k
        # instructions, about 5 % (callgrind).
        self._receive = receive
        self._body = None
        self._handed_over = False

    async def stream(
        self,
        scope: Scope,
        send: Send,
        status: int,
        headers: Headers | None,
        pushes: PushResponses | None,
        iterator: AsyncIterator[bytes],
        handler: object,
        watchers: WatcherStarter,
    ) -> None:
        """Start the response, then send each chunk as the writer yields it, then end it.

        The writer runs in this task. If it is still running at the event loop's next
        turn, a watcher task starts and, on a disconnect, cancels this task: the writer
        is interrupted at whatever it awaits, its ``finally`` runs, and the cancellation
        is withdrawn here, so the server sees the application return normally. A writer
        whose chunks are all ready ends before then, and no task is made. An error in
        the writer is logged and the response ended.
        """
        task = asyncio.current_task()
        assert task is not None  # an ASGI application always runs inside a task
        self._handed_over = True  # the watcher alone receives from now on
        self._watcher: asyncio.Task[None] | None = None
        self.stage = NOT_STARTED
        watchers.add(self, task)
        try:
            try:
                await send(
                    {"type": "http.response.start", "status": status, "headers": headers or []}
                )
                self.stage = STARTED
                if pushes:
                    await _push(scope, send, pushes)
            except OSError as error:
                raise ClientDisconnect("the client went away") from error
            async for chunk in iterator:
                if not chunk:
                    continue
                if type(chunk) is not bytes:
                    if not isinstance(chunk, (bytearray, memoryview)):
                        raise TypeError(
                            f"the writer of {handler_name(handler)} yielded "
                            f"{type(chunk).__name__}, expected bytes"
                        )
                    chunk = bytes(chunk)
                try:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                except OSError as error:
                    raise ClientDisconnect("the client went away") from error
            try:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            except OSError as error:
                raise ClientDisconnect("the client went away") from error
            self.stage = FINISHED
        except ClientDisconnect:
            logger.debug("The client went away while %s was streaming", handler_name(handler))
        except asyncio.CancelledError:
            if not self.disconnected or _withdraw_cancellation(task) > 0:
                raise
            logger.debug("The client went away while %s was streaming", handler_name(handler))
        except Exception:
            if self.stage is NOT_STARTED:
                raise  # the server refused to start the response: its error, not the writer's
            logger.exception(
                "The writer of %s failed after the response started", handler_name(handler)
            )
            if self.disconnected:  # it failed while being stopped, in a finally or an except
                _withdraw_cancellation(task)
            await close_writer(iterator)
            with contextlib.suppress(OSError):  # the client went away meanwhile: nothing to end
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            self.stage = FINISHED
        finally:
            if self._watcher is not None:
                self._watcher.cancel()
            else:
                watchers.forget(self)
            self._take_back()
            if self.stage is not FINISHED:
                self.stage = FINISHED
                await close_writer(iterator)

    async def _cancel_on_disconnect(self, task: asyncio.Task[Any]) -> None:
        if await self.watch_until_disconnect():
            task.cancel()


class WatcherStarter:
    """Starts, at the event loop's next turn, the watchers of the streams still running then.

    A writer whose chunks are all ready ends within its first turn, and needs no
    watcher. One ``call_soon`` serves all the streams started in a turn; with one
    for each, the in-process stream case cost about 10 % more. An `Application`
    owns one, for the loop it runs in.
    """

    __slots__ = ("loop", "pending")

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.pending: list[tuple[_Exchange, asyncio.Task[Any]]] | None = None

    def add(self, exchange: _Exchange, task: asyncio.Task[Any]) -> None:
        """Start ``exchange``'s watcher at the next turn of ``task``'s loop, if it still streams."""
        loop = task.get_loop()
        if self.pending is None or loop is not self.loop:
            self.loop = loop
            self.pending = []
            loop.call_soon(self._start, self.pending)
        self.pending.append((exchange, task))

    def forget(self, exchange: _Exchange) -> None:
        """Drop ``exchange``, which has ended; usually the last added, the only one looked at."""
        if self.pending and self.pending[-1][0] is exchange:
            self.pending.pop()

    def _start(self, pending: list[tuple[_Exchange, asyncio.Task[Any]]]) -> None:
        if self.pending is pending:
            self.pending = None
        for exchange, task in pending:
            if exchange.stage is not FINISHED:  # else it has ended meanwhile
                exchange._watcher = task.get_loop().create_task(
                    exchange._cancel_on_disconnect(task)
                )



def _withdraw_cancellation(task: asyncio.Task[Any]) -> int:
    """Withdraw the watcher's cancellation of ``task``; return how many others remain."""
    if sys.version_info >= (3, 11) and task.cancelling():
        return task.uncancel()
    return 0
