"""Streaming both ways: a response written tick by tick, and an upload hashed as it arrives."""

import asyncio
import hashlib
import logging
from urllib.parse import parse_qs

import uvicorn

from bareasgi import Application, HTTPError, json_response

logger = logging.getLogger(__name__)
TICK_INTERVAL = 0.5  # seconds between ticks


async def ticks(scope, info, matches, content):
    text = parse_qs(scope["query_string"].decode()).get("count", ["10"])[0]
    if not text.isdigit():
        raise HTTPError(400, "count must be a whole number, as in /ticks?count=5")
    count = int(text)

    async def writer():
        tick = 0
        try:
            while tick < count:
                await asyncio.sleep(TICK_INTERVAL)
                tick += 1
                yield f"tick {tick} of {count}\n".encode()
        finally:
            # This runs however the response ends: a client that disconnects closes the writer.
            if tick < count:
                logger.info("The client left after %d of %d ticks", tick, count)

    # nosniff: browsers show plain text as it arrives, instead of buffering it to guess its type.
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"x-content-type-options", b"nosniff"),
    ]
    return 200, headers, writer()


async def sha256(scope, info, matches, content):
    digest, size = hashlib.sha256(), 0
    async for chunk in content:  # each chunk as the server receives it: the body is never whole
        digest.update(chunk)
        size += len(chunk)
    return json_response(200, None, {"sha256": digest.hexdigest(), "bytes": size})


app = Application()
app.http_router.add({"GET"}, "/ticks", ticks)
app.http_router.add({"POST"}, "/sha256", sha256)

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)  # show the "client left" lines
    uvicorn.run(app, host="127.0.0.1", port=9009)
