"""The application ``soak.py`` serves under uvicorn, one route per kind of load.

``python -m uvicorn benchmarks.soak_app:app`` from the repository's root; tests/test_faults.py
serves it too, for its shutdown tests. ``/unavailable``'s 503 is the only 5xx it chooses;
``/admin/tasks`` counts the asyncio tasks of the server's process, its own included;
``/stream`` sleeps ``delay`` s before each chunk but the first; WebSocket ``/ws/flood`` sends
64 KiB messages and never reads: a client that resets must not freeze the server with it.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator
from urllib.parse import parse_qs

from bareasgi import (
    Application,
    Content,
    HTTPError,
    HttpResponse,
    Info,
    RouteMatches,
    Scope,
    WebSocket,
    json_reader,
    json_response,
    text_response,
)

JSON_MAX_SIZE = 64 * 1024
UPLOAD_MAX_SIZE = 4 * 1024 * 1024
STREAM_MAX_CHUNKS = 10_000
STREAM_MAX_CHUNK_SIZE = 1024 * 1024
STREAM_MAX_DELAY = 1.0


def _query(scope: Scope) -> dict[str, str]:
    query_string: bytes = scope["query_string"]
    return {name: values[0] for name, values in parse_qs(query_string.decode("latin-1")).items()}


def _number(query: dict[str, str], name: str, default: float, maximum: float) -> float:
    try:
        value = float(query.get(name, default))
    except ValueError:
        raise HTTPError(400, f"{name} must be a number") from None
    if not 0 <= value <= maximum:
        raise HTTPError(400, f"{name} must be between 0 and {maximum}")
    return value


async def plain(scope: Scope, info: Info, matches: RouteMatches, content: Content) -> HttpResponse:
    return text_response(200, None, "ok")


async def sums(scope: Scope, info: Info, matches: RouteMatches, content: Content) -> HttpResponse:
    document = await json_reader(content, max_size=JSON_MAX_SIZE, scope=scope)
    items = document.get("items") if isinstance(document, dict) else None
    if not isinstance(items, list) or not all(isinstance(item, int) for item in items):
        raise HTTPError(422, "expected {\"items\": [int, ...]}")
    return json_response(200, None, {"count": len(items), "sum": sum(items)})


async def stream(scope: Scope, info: Info, matches: RouteMatches, content: Content) -> HttpResponse:
    query = _query(scope)
    chunks = int(_number(query, "chunks", 10, STREAM_MAX_CHUNKS))
    size = int(_number(query, "size", 1024, STREAM_MAX_CHUNK_SIZE))
    delay = _number(query, "delay", 0.0, STREAM_MAX_DELAY)
    chunk = b"s" * size

    async def body() -> AsyncIterator[bytes]:
        for index in range(chunks):
            if index and delay:
                await asyncio.sleep(delay)
            yield chunk

    headers = [(b"content-type", b"application/octet-stream"),
               (b"content-length", str(chunks * size).encode("ascii"))]
    return 200, headers, body()


async def upload(scope: Scope, info: Info, matches: RouteMatches, content: Content) -> HttpResponse:
    length, crc = 0, 0
    async for chunk in content:
        length += len(chunk)
        if length > UPLOAD_MAX_SIZE:
            raise HTTPError(413, f"at most {UPLOAD_MAX_SIZE} bytes")
        crc = zlib.crc32(chunk, crc)
    return json_response(200, None, {"length": length, "crc32": crc})


async def refuse(scope: Scope, info: Info, matches: RouteMatches, content: Content) -> HttpResponse:
    return text_response(503, [(b"retry-after", b"1")], "deliberately unavailable")


async def census(scope: Scope, info: Info, matches: RouteMatches, content: Content) -> HttpResponse:
    tasks = asyncio.all_tasks()
    running = sorted(repr(task.get_coro())[:120] for task in tasks)
    return json_response(200, None, {"tasks": len(tasks), "running": running})


async def ws_echo(scope: Scope, info: Info, matches: RouteMatches, web_socket: WebSocket) -> None:
    await web_socket.accept()
    async for message in web_socket:
        await web_socket.send(message)


FLOOD_MESSAGE = b"q" * 65536


async def ws_flood(scope: Scope, info: Info, matches: RouteMatches, web_socket: WebSocket) -> None:
    # No try/except: send() raises ClientDisconnect once the client has gone, and the
    # framework ends the exchange quietly.
    await web_socket.accept()
    while True:
        await web_socket.send(FLOOD_MESSAGE)


app = Application()
for method, path, handler in (("GET", "/plain", plain), ("POST", "/json", sums),
                              ("GET", "/stream", stream), ("POST", "/upload", upload),
                              ("GET", "/unavailable", refuse),
                              ("GET", "/admin/tasks", census)):
    app.http_router.add({method}, path, handler)
app.ws_router.add("/ws", ws_echo)
app.ws_router.add("/ws/flood", ws_flood)
