"""One HTTP exchange: running the handler, checking its response, sending it.

A response goes through three stages, each with its own error rule: before it
starts (an error still becomes a clean 500), started (headers are out: an error
can only end the body), and finished (the last body message, ``more_body:
False``, has been sent). A body already in memory (a ``BodyWriter``) is sent at
once. Any other writer really streams: it runs in the request's task, and a
watcher task, started only once the writer waits for something, stops it at once
if the client goes away. The request body is ``bareasgi.request.RequestBody``."""

from __future__ import annotations

import asyncio
import logging
import re
import sys
from collections.abc import AsyncIterator, Iterable, Mapping
from types import AsyncGeneratorType
from typing import Any

from .errors import ClientDisconnect, HTTPError
from .request import RequestBody
from .streaming import BodyWriter, text_response
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
    Writer,
)

logger = logging.getLogger("bareasgi")

_PADDING: tuple[tuple[None, ...], ...] = ((), (None, None, None), (None, None), (None,), ())


def handler_name(handler: object) -> str:
    """Name a handler for a log line; a ``str`` is already a name."""
    if isinstance(handler, str):
        return handler
    name = getattr(handler, "__qualname__", None) or type(handler).__qualname__
    module = getattr(handler, "__module__", None)
    return f"{module}.{name}" if module else str(name)


def full_response(response: Any, handler: object) -> HttpFullResponse:
    """Turn what a handler returned into the full ``(status, headers, writer, pushes)`` tuple.

    Raises:
        TypeError: the value is not a status or a tuple of 1 to 4 items starting
            with one; the message names the handler.
        ValueError: the status is not from 200 to 599.
    """
    if type(response) is tuple:
        size = len(response)
        if 0 < size <= 4 and isinstance(response[0], int) and not isinstance(response[0], bool):
            _check_status(response[0], handler)
            if type(response[0]) is not int:  # an IntEnum such as HTTPStatus.OK
                response = (int(response[0]), *response[1:])
            full: HttpFullResponse = response + _PADDING[size]
            return full
    elif isinstance(response, int) and not isinstance(response, bool):
        _check_status(response, handler)
        return int(response), None, None, None
    raise TypeError(
        f"{handler_name(handler)} returned {response!r:.100}; expected a status int or a tuple "
        "(status, headers, writer, pushes) of 1 to 4 items"
    )


def _check_status(status: int, handler: object) -> None:
    if not 200 <= status <= 599:
        raise ValueError(
            f"{handler_name(handler)} returned the status {status}; "
            "a response's status is from 200 to 599"
        )


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
# Header names, and most values (content types, short lengths), repeat from response to
# response: the good ones are remembered, within bounds, so most checks are set lookups.
_GOOD_NAMES: set[bytes] = set()
_GOOD_VALUES: set[bytes] = set()


def header_problem(headers: object) -> str | None:
    """Say what is wrong with a list of response headers, or None if it can go to the server.

    Names must be HTTP tokens and values free of CR, LF and NUL, both as ``bytes``: a
    header that could split the response (header injection) never reaches the server.
    """
    try:
        for name, value in headers:  # type: ignore[attr-defined]
            if type(value) is not bytes or type(name) is not bytes:
                return f"{name!r}: {value!r:.60} is not a pair of bytes"
            if value not in _GOOD_VALUES:
                if _bad_value(value) is not None:
                    return f"the value of {name!r} contains CR, LF or NUL"
                if len(value) <= 64 and len(_GOOD_VALUES) < 4096:
                    _GOOD_VALUES.add(value)
            if name not in _GOOD_NAMES:
                if not name or NOT_TOKEN.search(name):
                    return f"{name!r} is not a valid header name"
                if len(_GOOD_NAMES) < 1024:
                    _GOOD_NAMES.add(name)
    except (TypeError, ValueError):
        return f"headers must be a list of (bytes, bytes) pairs, not {headers!r:.80}"
    return None


def check_response(
    response: HttpFullResponse, headers_checked: bool = False
) -> tuple[HttpFullResponse, str | None]:
    """Check what goes to the server before the response starts: headers, pushes, body chunks.

    Headers or pushes given as a one-shot iterable are taken into a list once, so what
    is checked is what is sent; ``headers_checked`` says a header list passed already.
    Returns the response to send and the problem, if any.
    """
    status, headers, writer, pushes = response
    if headers is not None and type(headers) is not list:
        if isinstance(headers, (Mapping, str, bytes, bytearray)) or not isinstance(
            headers, Iterable
        ):
            return response, f"headers must be a list of (bytes, bytes) pairs, not {headers!r:.80}"
        headers = list(headers)
    if headers and not headers_checked:
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
    original = _original_error_response(error)
    if original is not None:
        return original
    logger.error(
        "Unhandled exception in %s for %s %s",
        handler_name(source),
        scope["method"],
        scope["path"],
        exc_info=error,
    )
    return internal_error()


def _original_error_response(error: Exception) -> HttpFullResponse | None:
    """The response for a ``urllib.error.HTTPError`` raised the original bareASGI's way.

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
    return HTTPError(code, body, list(hdrs or ())).to_response()


def internal_error() -> HttpFullResponse:
    """The 500 response sent for an unhandled exception; it reveals nothing of the error."""
    return text_response(500, None, "Internal Server Error")


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
        if (
            type(response) is not tuple
            or len(response) != 4
            or type(response[0]) is not int
            or not 200 <= response[0] <= 599
        ):
            response = full_response(response, handler)
    except ClientDisconnect:
        return
    except Exception as error:
        response = error_response(error, handler, scope)
    status, headers, writer, pushes = response
    plain = (
        pushes is None
        and status != 204
        and status != 304
        and (headers is None or (type(headers) is list and header_problem(headers) is None))
    )
    if plain and scope["method"] != "HEAD":
        # The common cases, one chunk of bytes in memory or an async generator, go right away.
        if type(writer) is BodyWriter and len(writer) == 1 and type(writer[0]) is bytes:
            try:
                await send(
                    {"type": "http.response.start", "status": status, "headers": headers or []}
                )
                await send({"type": "http.response.body", "body": writer[0], "more_body": False})
            except OSError:
                logger.debug("The client went away while %s was responding", handler_name(handler))
            return
        if type(writer) is AsyncGeneratorType:
            await _stream(scope, send, content, response, writer, handler)
            return
    if not plain or type(writer) is BodyWriter:
        response, problem = check_response(response, headers_checked=plain)
        if problem is not None:
            logger.error("%s returned a bad response, so 500: %s", handler_name(handler), problem)
            response = internal_error()
    await send_response(scope, send, content, response, handler)


async def send_response(
    scope: Scope,
    send: Send,
    content: RequestBody,
    response: HttpFullResponse,
    handler: object,
) -> None:
    """Send a checked response: start, pushes, then the body, always ending it."""
    status, headers, writer, pushes = response
    if status == 204 or status == 304:
        # Neither has a body (RFC 9110, 15.3.5 and 15.4.5), whatever the writer; nor a
        # content-length: uvicorn's httptools layer would wait for that many body bytes.
        if headers:
            headers = [pair for pair in headers if pair[0].lower() != b"content-length"]
        if writer is not None:
            await _close(writer)
            writer = None
    elif scope["method"] == "HEAD" and writer is not None:
        await _close(writer)
        writer = None
    elif writer is not None and type(writer) is not BodyWriter:
        # A writer naming the whole file it sends lets a server that can send files do it.
        path = getattr(writer, "pathsend", None)
        if path is not None and "http.response.pathsend" in (scope.get("extensions") or ()):
            await _send_path(scope, send, status, headers, pushes, path)
            await _close(writer)
            return
        try:
            iterator = writer.__aiter__()
        except Exception:
            logger.exception(
                "%s returned a writer that is not async iterable", handler_name(handler)
            )
            status, headers, writer, pushes = internal_error()
        else:
            await _stream(scope, send, content, response, iterator, handler)
            return
    chunks = writer if isinstance(writer, BodyWriter) else ()  # None: no body
    try:
        await send({"type": "http.response.start", "status": status, "headers": headers or []})
        if pushes:
            await _push(scope, send, pushes)
        for chunk in chunks[:-1]:
            if chunk:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        last = chunks[-1] if chunks else b""
        await send({"type": "http.response.body", "body": last, "more_body": False})
    except OSError:
        logger.debug("The client went away while %s was responding", handler_name(handler))


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
    scope: Scope,
    send: Send,
    content: RequestBody,
    response: HttpFullResponse,
    iterator: AsyncIterator[bytes],
    handler: object,
) -> None:
    """Start the response, then send each chunk as the writer yields it, then end it.

    The writer runs in this task. If it yields control to the event loop, a watcher
    task starts and, on a disconnect, cancels this task: the writer is interrupted at
    whatever it awaits, its ``finally`` runs, and the cancellation is withdrawn here,
    so the server sees the application return normally. A writer whose chunks are all
    ready is sent without creating any task. An error in the writer is logged and the
    response ended.
    """
    task = asyncio.current_task()
    assert task is not None  # an ASGI application always runs inside a task
    content.watch_for_disconnect(task)
    started = exhausted = False  # a writer that ran to its end needs no closing
    try:
        status, headers, _, pushes = response
        try:
            await send({"type": "http.response.start", "status": status, "headers": headers or []})
            if pushes:
                await _push(scope, send, pushes)
        except OSError as error:
            raise ClientDisconnect("the client went away") from error
        started = True
        async for chunk in iterator:
            if not chunk:
                continue
            if type(chunk) is not bytes:
                if not isinstance(chunk, (bytearray, memoryview)):
                    raise TypeError(
                        f"the writer of {handler_name(handler)} yielded {type(chunk).__name__}, "
                        "expected bytes"
                    )
                chunk = bytes(chunk)
            try:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            except OSError as error:
                raise ClientDisconnect("the client went away") from error
        exhausted = True
    except ClientDisconnect:
        logger.debug("The client went away while %s was streaming", handler_name(handler))
        return
    except asyncio.CancelledError:
        if not content.disconnected or _withdraw_cancellation(task) > 0:
            raise
        logger.debug("The client went away while %s was streaming", handler_name(handler))
        return
    except Exception:
        if not started:
            raise  # the server refused to start the response: its error, not the writer's
        logger.exception(
            "The writer of %s failed after the response started", handler_name(handler)
        )
        if content.disconnected:  # it failed while being stopped, in a finally or an except
            _withdraw_cancellation(task)
    finally:
        content.stop_watching()
        if not exhausted:
            await _close(iterator)
    try:
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    except OSError:
        logger.debug("The client went away while %s was streaming", handler_name(handler))


def _withdraw_cancellation(task: asyncio.Task[Any]) -> int:
    """Withdraw the watcher's cancellation of ``task``; return how many others remain."""
    if sys.version_info >= (3, 11) and task.cancelling():
        return task.uncancel()
    return 0


async def _close(writer: Writer | AsyncIterator[bytes]) -> None:
    """Close an async generator so its ``finally`` blocks run now, not at garbage collection."""
    aclose = getattr(writer, "aclose", None)
    if aclose is None:
        return
    try:
        await aclose()
    except Exception:
        logger.exception("Closing the writer %r failed", writer)
