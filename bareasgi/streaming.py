"""Response body writers and response builders."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable
from typing import Any
from urllib.parse import quote

from .types import (
    Headers,
    HttpFullResponse,
    HttpRequestCallback,
    HttpResponse,
    PushResponses,
    Scope,
    Writer,
)

logger = logging.getLogger("bareasgi")

# Shared by every response built here: a tuple cannot change, and one fewer is made each time.
_TEXT_PLAIN = (b"content-type", b"text/plain; charset=utf-8")
_APPLICATION_JSON = (b"content-type", b"application/json")


# Makes a BodyWriter of chunks encoded here, bytes by construction, without checking them.
_encoded = tuple.__new__


class BodyWriter(tuple[bytes, ...]):
    """A response body already held in memory: a tuple of byte chunks.

    It is an async iterable like any writer, and can be iterated more than once.
    The framework recognises it and sends its chunks directly, without starting a
    task to watch for the client going away: there is nothing to wait for.

    Raises:
        TypeError: a chunk is not ``bytes``; checked here, once, not when it is sent.
    """

    __slots__ = ()

    def __new__(cls, chunks: Iterable[bytes] = ()) -> BodyWriter:
        writer = super().__new__(cls, chunks)
        for chunk in writer:
            if type(chunk) is not bytes:
                raise TypeError(f"a BodyWriter holds bytes, not {type(chunk).__name__}")
        return writer

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[bytes]:
        for chunk in self:
            yield chunk

    def __repr__(self) -> str:
        return f"BodyWriter({sum(map(len, self))} bytes in {len(self)} chunks)"


class _ClosingStream:
    """Iterates ``outer``, an async generator over ``inner``, and closes ``inner`` however it ends.

    ``outer``'s own ``finally`` closes ``inner``, but only once it has started: a
    generator closed before its first iteration (a HEAD request, a client gone before
    the first chunk) runs nothing. Then ``inner`` is closed here.
    """

    __slots__ = ("_inner", "_outer", "_started")

    def __init__(self, outer: AsyncGenerator[bytes, None], inner: object) -> None:
        self._outer = outer
        self._inner = inner
        self._started = False

    def __aiter__(self) -> _ClosingStream:
        return self

    def __anext__(self) -> Any:
        self._started = True
        return self._outer.__anext__()

    async def aclose(self) -> None:
        await self._outer.aclose()
        if not self._started:
            self._started = True  # closed once only
            await close_writer(self._inner)


async def close_writer(writer: object) -> None:
    """Close ``writer`` if it has ``aclose``, so its ``finally`` blocks run now, not at GC.

    A failure is logged, not raised: a writer inside another (compressed, server-sent
    events) then fails as one the framework closes itself does, logged once.
    """
    aclose = getattr(writer, "aclose", None)
    if aclose is None:
        return
    try:
        await aclose()
    except Exception:
        logger.exception("Closing the writer %r failed", writer)


def bytes_writer(buf: bytes, chunk_size: int = -1) -> BodyWriter:
    """Make a writer that sends ``buf`` as the response body.

    Args:
        buf: The body.
        chunk_size: If positive, send the body in chunks of at most this many
            bytes; otherwise, and by default, in one chunk.

    Returns:
        A `BodyWriter` to return as the third item of a response.

    Example:
        ```python
        async def logo(scope, info, matches, content):
            headers = [(b"content-type", b"image/png")]
            return 200, headers, bytes_writer(PNG_BYTES)
        ```
    """
    if chunk_size <= 0 or len(buf) <= chunk_size:
        return BodyWriter((buf,))
    return BodyWriter(tuple(buf[i : i + chunk_size] for i in range(0, len(buf), chunk_size)))


def text_writer(text: str, encoding: str = "utf-8", chunk_size: int = -1) -> BodyWriter:
    """Make a writer that sends ``text``, encoded, as the response body.

    It adds no headers: say the charset in the ``content-type`` you return with
    it, or use `text_response`, which also adds ``content-length``.

    Args:
        text: The body.
        encoding: The encoding to send the text in.
        chunk_size: If positive, send the body in chunks of at most this many
            characters, each encoded on its own; otherwise in one chunk.

    Returns:
        A `BodyWriter` to return as the third item of a response.

    Raises:
        UnicodeEncodeError: ``text`` has a character ``encoding`` cannot encode.

    Example:
        ```python
        async def hello(scope, info, matches, content):
            headers = [(b"content-type", b"text/plain; charset=utf-8")]
            return 200, headers, text_writer("Hello, World!")
        ```
    """
    if chunk_size <= 0 or len(text) <= chunk_size:
        return _encoded(BodyWriter, (text.encode(encoding),))
    return BodyWriter(
        tuple(text[i : i + chunk_size].encode(encoding) for i in range(0, len(text), chunk_size))
    )


# The content-length header of each small body size, made once: formatting the length
# anew cost 4 % of an in-process hello (callgrind), and a header made once is checked
# the fastest (its hash is kept, and it compares by identity).
_SMALL_LENGTHS = tuple((b"content-length", b"%d" % size) for size in range(1024))


def _whole_response(
    status: int, headers: Headers | None, content_type: tuple[bytes, bytes], body: bytes
) -> HttpFullResponse:
    """The response of the builders below: ``body`` with its content-type and content-length.

    ``content_type`` is added unless ``headers`` name one; a content-length among
    ``headers`` is dropped, as the length is the body's own.
    """
    size = len(body)
    length = _SMALL_LENGTHS[size] if size < 1024 else (b"content-length", b"%d" % size)
    if not headers:
        headers = [content_type, length]
    else:
        headers = [(name, value) for name, value in headers if name.lower() != b"content-length"]
        if not any(name.lower() == b"content-type" for name, _ in headers):
            headers.append(content_type)
        headers.append(length)
    return status, headers, _encoded(BodyWriter, (body,)), None


def text_response(status: int, headers: Headers | None, text: str) -> HttpFullResponse:
    """Build a whole response whose body is ``text`` in UTF-8.

    Args:
        status: The HTTP status code.
        headers: Headers to send, or ``None``. Unless they name a
            ``content-type``, ``text/plain; charset=utf-8`` is added. A
            ``content-length`` among them is replaced by the body's own.
        text: The body.

    Returns:
        The full ``(status, headers, writer, pushes)`` tuple, to return from a
        handler as it is.

    Example:
        ```python
        async def page(scope, info, matches, content):
            headers = [(b"content-type", b"text/html; charset=utf-8")]
            return text_response(200, headers, "<p>Hello</p>")
        ```
    """
    return _whole_response(status, headers, _TEXT_PLAIN, text.encode())


def bytes_response(
    status: int,
    headers: Headers | None,
    buf: bytes,
    content_type: bytes = b"application/octet-stream",
) -> HttpFullResponse:
    """Build a response of bytes, adding content-type (unless given) and content-length.

    Args:
        status: The HTTP status code.
        headers: Other headers, or None; a ``content-type`` among them wins over
            ``content_type``.
        buf: The body.
        content_type: The content type when ``headers`` give none.

    Returns:
        The full response tuple.

    Raises:
        TypeError: ``buf`` is not ``bytes``.
    """
    if type(buf) is not bytes:
        raise TypeError(f"a response body is bytes, not {type(buf).__name__}")
    return _whole_response(status, headers, (b"content-type", content_type), buf)


def json_response(
    status: int,
    headers: Headers | None,
    obj: Any,
    dumps: Callable[[Any], str] = json.dumps,
) -> HttpFullResponse:
    """Build a whole response whose body is ``obj`` as JSON.

    Args:
        status: The HTTP status code.
        headers: Headers to send, or ``None``. Unless they name a
            ``content-type``, ``application/json`` is added. A
            ``content-length`` among them is replaced by the body's own.
        obj: The value to serialise.
        dumps: The function that serialises ``obj`` to a ``str``,
            ``json.dumps`` by default.

    Returns:
        The full ``(status, headers, writer, pushes)`` tuple, to return from a
        handler as it is.

    Raises:
        TypeError: ``dumps`` cannot serialise ``obj``; ``json.dumps`` raises it
            for values such as a ``set`` or a ``datetime``.

    Example:
        ```python
        async def get_info(scope, info, matches, content):
            return json_response(200, None, info)
        ```
    """
    return _whole_response(status, headers, _APPLICATION_JSON, dumps(obj).encode())


def fixed_response(
    status: int,
    headers: Headers | None,
    writer: Writer | None = None,
    pushes: PushResponses | None = None,
) -> HttpRequestCallback:
    """A handler answering every request with the same response.

    Each request gets its own copy of the header list.

    Raises:
        TypeError: ``writer`` is not a ``BodyWriter`` (made by `text_writer`,
            `bytes_writer` or a ``*_response`` builder): it is sent for every
            request, and an async generator can be sent only once.
    """
    if writer is not None and not isinstance(writer, BodyWriter):
        raise TypeError(
            "the writer is sent for every request, so it must be made by text_writer() or "
            "bytes_writer(); an async generator can be sent only once"
        )

    async def respond(*_: Any) -> HttpResponse:
        return status, list(headers or ()), writer, pushes

    respond.__qualname__ = respond.__name__ = f"respond_{status}"
    return respond


def redirect_with_slash(segment: str, scope: Scope) -> HttpFullResponse:
    """A 308 from the request's last path segment, ``segment``, to ``segment/``.

    The ``location`` is relative to the request's own URL, so it holds under any
    root path or mount; the query string is kept.
    """
    location = quote(segment, safe="").encode("ascii") + b"/"
    query: bytes = scope.get("query_string") or b""
    if query:
        location += b"?" + query
    return 308, [(b"location", location), (b"content-length", b"0")], None, None
