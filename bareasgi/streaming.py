"""Request body readers, response body writers and response builders."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any

from .errors import HTTPError
from .request import DEFAULT_MAX_SIZE, RequestBody, read_chunks
from .types import Content, Headers, HttpFullResponse, Scope

# Shared by every response built here: a tuple cannot change, and one fewer is made each time.
_TEXT_PLAIN = (b"content-type", b"text/plain; charset=utf-8")
_APPLICATION_JSON = (b"content-type", b"application/json")


class BodyWriter(tuple[bytes, ...]):
    """A response body already held in memory: a tuple of byte chunks.

    It is an async iterable like any writer, and can be iterated more than once.
    The framework recognises it and sends its chunks directly, without starting a
    task to watch for the client going away: there is nothing to wait for.
    """

    __slots__ = ()

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[bytes]:
        for chunk in self:
            yield chunk

    def __repr__(self) -> str:
        return f"BodyWriter({sum(map(len, self))} bytes in {len(self)} chunks)"


class _ClosingStream:
    """An async generator wrapping another iterator ``inner``, closing it however it ends.

    The generator's own ``finally`` closes ``inner``, but only once it has started: a
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
            aclose = getattr(self._inner, "aclose", None)
            if aclose is not None:
                await aclose()


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
        return BodyWriter((text.encode(encoding),))
    return BodyWriter(
        tuple(text[i : i + chunk_size].encode(encoding) for i in range(0, len(text), chunk_size))
    )


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


def _with_entity_headers(
    headers: Headers | None, content_type: tuple[bytes, bytes], body: bytes
) -> Headers:
    length = (b"content-length", b"%d" % len(body))
    if not headers:
        return [content_type, length]
    # The length is the body's own: one given would be a second, perhaps different, one.
    kept = [(name, value) for name, value in headers if name.lower() != b"content-length"]
    if any(name.lower() == b"content-type" for name, _ in kept):
        return [*kept, length]
    return [*kept, content_type, length]


def text_response(status: int, headers: Headers | None, text: str) -> HttpFullResponse:
    """Build a whole response whose body is ``text`` in UTF-8.

    Args:
        status: The HTTP status code.
        headers: Headers to send, or ``None``. Unless they name a
            ``content-type``, ``text/plain; charset=utf-8`` is added. Do not
            pass a ``content-length``: it is always added.
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
    body = text.encode("utf-8")
    return status, _with_entity_headers(headers, _TEXT_PLAIN, body), BodyWriter((body,)), None


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
    """
    kind = (b"content-type", content_type)
    return status, _with_entity_headers(headers, kind, buf), BodyWriter((buf,)), None


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
            ``content-type``, ``application/json`` is added. Do not pass a
            ``content-length``: it is always added.
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
    body = dumps(obj).encode("utf-8")
    return status, _with_entity_headers(headers, _APPLICATION_JSON, body), BodyWriter((body,)), None
