"""Lifespan: start a background task when the server starts and stop it when it shuts down."""

import asyncio
import contextlib

import uvicorn

from bareasgi import Application, json_response

app = Application(info={"interval": 1.0})  # seconds between ticks


async def tick(info):
    while True:
        await asyncio.sleep(info["interval"])
        info["ticks"] += 1


@app.on_startup
async def start_ticker(scope, info, message):
    info["ticks"] = 0
    info["ticker"] = asyncio.create_task(tick(info))


@app.on_shutdown
async def stop_ticker(scope, info, message):
    info["ticker"].cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await info["ticker"]  # wait until the task has really stopped


@app.on_http_request({"GET"}, "/")
async def status(scope, info, matches, content):
    return json_response(200, None, {"ticks": info["ticks"], "running": not info["ticker"].done()})


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=9009)
