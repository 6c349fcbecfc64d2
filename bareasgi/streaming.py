"""Request body readers, response body writers and response builders."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from .errors import HTTPError
from .request import RequestBody, read_chunks
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


def bytes_writer(buf: bytes, chunk_size: int = -1) -> BodyWriter:
    """Make a writer that sends ``buf``, in chunks of ``chunk_size`` bytes if it is positive."""
    if chunk_size <= 0 or len(buf) <= chunk_size:
        return BodyWriter((buf,))
    return BodyWriter(tuple(buf[i : i + chunk_size] for i in range(0, len(buf), chunk_size)))


def text_writer(text: str, encoding: str = "utf-8", chunk_size: int = -1) -> BodyWriter:
    """Make a writer that sends ``text`` encoded, in chunks of ``chunk_size`` characters if set."""
    if chunk_size <= 0 or len(text) <= chunk_size:
        return BodyWriter((text.encode(encoding),))
    return BodyWriter(
        tuple(text[i : i + chunk_size].encode(encoding) for i in range(0, len(text), chunk_size))
    )


async def bytes_reader(content: Content, max_size: int | None = None) -> bytes:
    """Read the whole request body.

    Args:
        content: The handler's ``content`` argument.
        max_size: If given, a body longer than this many bytes stops the reading
            and raises ``HTTPError(413)`` without buffering the rest.
    """
    if type(content) is RequestBody:
        return await content.read(max_size)
    return await read_chunks(content, max_size)


async def text_reader(
    content: Content, encoding: str = "utf-8", max_size: int | None = None
) -> str:
    """Read the whole request body as text; a body that does not decode is ``HTTPError(400)``."""
    data = await bytes_reader(content, max_size)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        raise HTTPError(400, f"The request body is not valid {encoding} text.") from error


async def json_reader(
    content: Content,
    loads: Callable[[bytes], Any] = json.loads,
    max_size: int | None = None,
    *,
    scope: Scope | None = None,
) -> Any:
    """Read the whole request body as JSON; malformed JSON is ``HTTPError(400)``.

    The message names the line and column where parsing failed, never the body itself.
    Given the request's ``scope``, a content type other than ``application/json`` (or
    ``application/*+json``) is ``HTTPError(415)``, before any of the body is read.
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
    if any(name.lower() == b"content-type" for name, _ in headers):
        return [*headers, length]
    return [*headers, content_type, length]


def text_response(status: int, headers: Headers | None, text: str) -> HttpFullResponse:
    """Build a UTF-8 text response, adding content-type (unless given) and content-length."""
    body = text.encode("utf-8")
    return status, _with_entity_headers(headers, _TEXT_PLAIN, body), BodyWriter((body,)), None


def json_response(
    status: int,
    headers: Headers | None,
    obj: Any,
    dumps: Callable[[Any], str] = json.dumps,
) -> HttpFullResponse:
    """Build a JSON response, adding content-type (unless given) and content-length."""
    body = dumps(obj).encode("utf-8")
    return status, _with_entity_headers(headers, _APPLICATION_JSON, body), BodyWriter((body,)), None
