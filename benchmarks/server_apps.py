"""The apps that ``throughput.py`` and ``memory.py`` serve with uvicorn (``server_apps:NAME``).

Not a benchmark itself. ``bare_hello`` and ``bareasgi_hello`` are the hello-world apps of
``apps.py``, exactly those that ``framework_cost.py`` measures in-process; so are
``starlette_hello``, ``falcon_hello``, ``blacksheep_hello`` and ``asgineer_hello``, built
only when asked for, so that a missing peer cannot stop the others from being served.

``bareasgi_big`` and ``bare_big`` serve the memory benchmark, each written the way a
careful user of it would, without buffering anything:

- ``GET /stream/{size}`` answers ``size`` bytes (with a content-length) from a writer that
  yields a new 64 KiB chunk each time, so a framework that kept chunks would grow;
- ``POST /upload`` reads the body chunk by chunk as it arrives (bareasgi: iterating
  ``content``), feeds each chunk to SHA-256 and drops it, and answers ``"SIZE HEXDIGEST"``.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Any

from apps import BUILDERS, ASGIApp, Receive, Scope, Send, build_bare, build_bareasgi

from bareasgi import Application, text_response

CHUNK_SIZE = 64 * 1024
OCTETS = b"application/octet-stream"

bare_hello = build_bare("hello")
bareasgi_hello = build_bareasgi("hello")


async def fresh_chunks(size: int) -> AsyncIterator[bytes]:
    """``size`` zero bytes in 64 KiB chunks, each chunk a new object."""
    whole, rest = divmod(size, CHUNK_SIZE)
    for _ in range(whole):
        yield bytes(CHUNK_SIZE)
    if rest:
        yield bytes(rest)


def stream_headers(size: int) -> list[tuple[bytes, bytes]]:
    return [(b"content-type", OCTETS), (b"content-length", str(size).encode())]


def upload_answer(size: int, digest: Any) -> str:
    return f"{size} {digest.hexdigest()}"


# --- bareasgi -------------------------------------------------------------------------------


async def _stream(scope: Any, info: Any, matches: Any, content: Any) -> Any:
    size: int = matches["size"]
    return 200, stream_headers(size), fresh_chunks(size)


async def _upload(scope: Any, info: Any, matches: Any, content: Any) -> Any:
    digest = hashlib.sha256()
    size = 0
    async for chunk in content:
        digest.update(chunk)
        size += len(chunk)
    return text_response(200, None, upload_answer(size, digest))


bareasgi_big = Application()
bareasgi_big.http_router.add({"GET"}, "/stream/{size:int}", _stream)
bareasgi_big.http_router.add({"POST"}, "/upload", _upload)


# --- bare ASGI ------------------------------------------------------------------------------


async def _bare_stream(size: int, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": stream_headers(size)})
    async for chunk in fresh_chunks(size):
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _bare_upload(receive: Receive, send: Send) -> None:
    digest = hashlib.sha256()
    size = 0
    more = True
    while more:
        message = await receive()
        chunk = message.get("body", b"")
        digest.update(chunk)
        size += len(chunk)
        more = message.get("more_body", False)
    body = upload_answer(size, digest).encode()
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def bare_big(scope: Scope, receive: Receive, send: Send) -> None:
    path: str = scope["path"]
    if scope["method"] == "GET" and path.startswith("/stream/"):
        await _bare_stream(int(path[len("/stream/"):]), send)
    elif scope["method"] == "POST" and path == "/upload":
        await _bare_upload(receive, send)
    else:
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def __getattr__(name: str) -> ASGIApp:
    """``starlette_hello`` and the like: a peer's hello-world app, built when uvicorn asks."""
    framework = name.removesuffix("_hello")
    if name.endswith("_hello") and framework in BUILDERS:
        return BUILDERS[framework]("hello")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


APPS: dict[str, ASGIApp] = {
    "bare_hello": bare_hello, "bareasgi_hello": bareasgi_hello,
    "bare_big": bare_big, "bareasgi_big": bareasgi_big,
}
