"""Streaming both ways: a response written tick by tick.

And an upload hashed as it arrives.
"""

import asyncio
import hashlib
import logging
import os
import re
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
    json_response,
)

logger = logging.getLogger(__name__)
TICK_INTERVAL = 0.5  # seconds between ticks


async def ticks(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    query = parse_qs(scope["query_string"].decode("latin-1"))
    text = query.get("count", ["10"])[0]
    # Not str.isdigit(): it lets "²" through, which int() refuses, as it
    # refuses a number of over 4,300 digits.
    if not re.fullmatch(r"[0-9]{1,6}", text):
        message = "count must be 0 to 999999, as in /ticks?count=5"
        raise HTTPError(400, message)
    count = int(text)

    async def writer() -> AsyncIterator[bytes]:
        tick = 0
        try:
            while tick < count:
                await asyncio.sleep(TICK_INTERVAL)
                tick += 1
                yield f"tick {tick} of {count}\n".encode()
        finally:
            # This runs however the response ends: a client that disconnects
            # closes the writer.
            if tick < count:
                message = "The client left after %d of %d ticks"
                logger.info(message, tick, count)

    # nosniff: browsers show plain text as it arrives, instead of buffering
    # it to guess its type.
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"x-content-type-options", b"nosniff"),
    ]
    return 200, headers, writer()


async def sha256(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    digest, size = hashlib.sha256(), 0
    # Each chunk as the server receives it: the body is never whole.
    async for chunk in content:
        digest.update(chunk)
        size += len(chunk)
    result = {"sha256": digest.hexdigest(), "bytes": size}
    return json_response(200, None, result)


app = Application()
app.http_router.add({"GET"}, "/ticks", ticks)
app.http_router.add({"POST"}, "/sha256", sha256)

if __name__ == "__main__":
    import uvicorn

    logging.basicConfig(level=logging.INFO)  # show the "client left" lines
    port = int(os.environ.get("PORT", "8000"))
    uvicorn.run(app, host="127.0.0.1", port=port)
