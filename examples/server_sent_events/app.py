"""Server-sent events: the server's clock as an event stream.

The page lists the events as they arrive.
"""

import asyncio
import itertools
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

from bareasgi import (
    Application,
    Content,
    HttpResponse,
    Info,
    RouteMatches,
    Scope,
    text_writer,
)
from bareasgi.sse import ServerSentEvent, event_response, last_event_id

PAGE = (Path(__file__).parent / "index.html").read_text(encoding="utf-8")
INTERVAL = 1.0  # seconds between events
KEEP_ALIVE = 15.0  # seconds without an event before a keep-alive comment


async def index(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    headers = [(b"content-type", b"text/html; charset=utf-8")]
    return 200, headers, text_writer(PAGE)


async def clock(first_id: int) -> AsyncIterator[ServerSentEvent]:
    """The time every INTERVAL seconds, as events numbered from first_id."""
    for event_id in itertools.count(first_id):
        yield ServerSentEvent(time.strftime("%H:%M:%S"), id=event_id)
        await asyncio.sleep(INTERVAL)


async def events(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    # A browser that reconnects sends the id of the last event it got: carry
    # on from there. Anything else (text, or a number longer than any id sent
    # here) starts again from 1.
    last_id = last_event_id(scope) or ""
    known = last_id.isdecimal() and len(last_id) <= 12
    first_id = int(last_id) + 1 if known else 1
    return event_response(clock(first_id), keep_alive=KEEP_ALIVE)


app = Application()
app.http_router.add({"GET"}, "/", index)
app.http_router.add({"GET"}, "/events", events)

if __name__ == "__main__":
    import uvicorn

    port = int(os.environ.get("PORT", "8000"))
    uvicorn.run(app, host="127.0.0.1", port=port)
