"""Compression: large responses are gzipped for clients that accept it.

Small ones are sent as they are.
"""

import asyncio
import os
from collections.abc import AsyncIterator

from bareasgi import (
    Application,
    Content,
    HttpResponse,
    Info,
    RouteMatches,
    Scope,
    json_response,
    text_response,
)
from bareasgi.compression import compression_middleware

PAGE = """<!DOCTYPE html>
<title>Compression</title>
<p>This page is too small to be worth compressing.
<p><a href="planets.json">planets.json</a> is large: it is compressed whole.
<p><a href="countdown">countdown</a> is streamed: each line is compressed
as it is written.
"""
INTERVAL = 0.5  # seconds between the lines of the countdown
HTML = [(b"content-type", b"text/html; charset=utf-8")]


async def index(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    return text_response(200, HTML, PAGE)


async def planets(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    data = {
        "planets": [
            {"id": n, "name": f"Planet {n}", "moons": n % 7}
            for n in range(1, 501)
        ]
    }
    return json_response(200, None, data)


async def countdown(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    async def writer() -> AsyncIterator[bytes]:
        for n in range(5, 0, -1):
            yield f"{n}, counting down to lift-off\n".encode()
            await asyncio.sleep(INTERVAL)
        yield b"Lift-off!\n"

    # nosniff: browsers show plain text as it arrives, instead of buffering
    # it to guess its type.
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"x-content-type-options", b"nosniff"),
    ]
    return 200, headers, writer()


app = Application(middlewares=[compression_middleware(minimum_size=500)])
app.http_router.add({"GET"}, "/", index)
app.http_router.add({"GET"}, "/planets.json", planets)
app.http_router.add({"GET"}, "/countdown", countdown)

if __name__ == "__main__":
    import uvicorn

    port = int(os.environ.get("PORT", "8000"))
    uvicorn.run(app, host="127.0.0.1", port=port)
