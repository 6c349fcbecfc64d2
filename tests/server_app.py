"""The application tests/test_servers.py serves with real uvicorn and hypercorn processes.

Run it with ``python -m uvicorn tests.server_app:app`` or
``python -m hypercorn tests.server_app:app`` from the root of the repository.

Routes:

* ``GET /hello``: plain text.
* ``GET /items/{id:int}``: the route matches as JSON.
* ``POST /echo``: the request body, sent back.
* ``GET /boom``: a handler that raises, so the framework answers 500.
* ``GET /stream?token=T``: five chunks; the last one is produced only once
  ``POST /stream-release?token=T`` has arrived (or after a timeout, and then it says so).
* ``GET /endless?token=T``: chunks for a minute, unless the client goes away first;
  ``GET /stream-state?token=T`` tells whether the writer has stopped, and why.
* WebSocket ``/ws``: echoes text as text and bytes as bytes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs

from bareasgi import (
    Application,
    Content,
    HttpResponse,
    Info,
    RouteMatches,
    Scope,
    WebSocket,
    bytes_reader,
    bytes_writer,
    json_response,
    text_response,
)

STREAM_CHUNKS = 5
STREAM_CHUNK_DELAY = 0.1
STREAM_RELEASE_TIMEOUT = 15.0
ENDLESS_CHUNK_DELAY = 0.05
ENDLESS_CHUNK_LIMIT = 1200  # a minute: far longer than any test waits
BOOM_MESSAGE = "deliberate failure: secret-boom-detail"


def _token(scope: Scope) -> str:
    query_string: bytes = scope["query_string"]
    return parse_qs(query_string.decode("latin-1")).get("token", [""])[0]


def _release_event(info: Info, token: str) -> asyncio.Event:
    events: dict[str, asyncio.Event] = info["stream_releases"]
    return events.setdefault(token, asyncio.Event())


async def hello(scope: Scope, info: Info, matches: RouteMatches, content: Content) -> HttpResponse:
    return text_response(200, None, "Hello, World!")


async def get_item(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    return json_response(200, None, matches)


async def echo(scope: Scope, info: Info, matches: RouteMatches, content: Content) -> HttpResponse:
    body = await bytes_reader(content)
    return 200, [(b"content-type", b"application/octet-stream")], bytes_writer(body)


async def boom(scope: Scope, info: Info, matches: RouteMatches, content: Content) -> HttpResponse:
    raise RuntimeError(BOOM_MESSAGE)


async def stream(scope: Scope, info: Info, matches: RouteMatches, content: Content) -> HttpResponse:
    release = _release_event(info, _token(scope))

    async def chunks() -> AsyncIterator[bytes]:
        for index in range(STREAM_CHUNKS - 1):
            yield f"chunk {index}\n".encode()
            await asyncio.sleep(STREAM_CHUNK_DELAY)
        try:
            await asyncio.wait_for(release.wait(), STREAM_RELEASE_TIMEOUT)
        except asyncio.TimeoutError:
            yield b"never released\n"
        else:
            yield b"released\n"

    return 200, [(b"content-type", b"text/plain")], chunks()


async def stream_release(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    _release_event(info, _token(scope)).set()
    return 204


async def endless(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    state: dict[str, Any] = {"chunks": 0, "stopped": False, "completed": False}
    info["endless_states"][_token(scope)] = state

    async def chunks() -> AsyncIterator[bytes]:
        try:
            for _ in range(ENDLESS_CHUNK_LIMIT):
                yield b"." * 1024
                state["chunks"] += 1
                await asyncio.sleep(ENDLESS_CHUNK_DELAY)
            state["completed"] = True
        finally:
            state["stopped"] = True

    return 200, [(b"content-type", b"text/plain")], chunks()


async def stream_state(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    return json_response(200, None, info["endless_states"].get(_token(scope)))


async def ws_echo(scope: Scope, info: Info, matches: RouteMatches, web_socket: WebSocket) -> None:
    await web_socket.accept()
    while True:
        message = await web_socket.receive()
        if message is None:
            break
        await web_socket.send(message)
    await web_socket.close()


app = Application(info={"stream_releases": {}, "endless_states": {}})
app.http_router.add({"GET"}, "/hello", hello)
app.http_router.add({"GET"}, "/items/{id:int}", get_item)
app.http_router.add({"POST"}, "/echo", echo)
app.http_router.add({"GET"}, "/boom", boom)
app.http_router.add({"GET"}, "/stream", stream)
app.http_router.add({"POST"}, "/stream-release", stream_release)
app.http_router.add({"GET"}, "/endless", endless)
app.http_router.add({"GET"}, "/stream-state", stream_state)
app.ws_router.add("/ws", ws_echo)
