"""Lifespan: a background task started with the server and stopped with it."""

import asyncio
import contextlib
import os

from bareasgi import (
    Application,
    Content,
    HttpResponse,
    Info,
    Message,
    RouteMatches,
    Scope,
    json_response,
)

app = Application(info={"interval": 1.0})  # seconds between ticks


async def tick(info: Info) -> None:
    while True:
        await asyncio.sleep(info["interval"])
        info["ticks"] += 1


@app.on_startup
async def start_ticker(scope: Scope, info: Info, message: Message) -> None:
    info["ticks"] = 0
    info["ticker"] = asyncio.create_task(tick(info))


@app.on_shutdown
async def stop_ticker(scope: Scope, info: Info, message: Message) -> None:
    info["ticker"].cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await info["ticker"]  # wait until the task has really stopped


@app.on_http_request({"GET"}, "/")
async def status(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    state = {"ticks": info["ticks"], "running": not info["ticker"].done()}
    return json_response(200, None, state)


if __name__ == "__main__":
    import uvicorn

    port = int(os.environ.get("PORT", "8000"))
    uvicorn.run(app, host="127.0.0.1", port=port)
