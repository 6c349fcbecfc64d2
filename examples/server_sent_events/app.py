"""Server-sent events: the server's clock as an event stream, and a page that lists the events."""

import asyncio
import itertools
import time
from pathlib import Path

import uvicorn

from bareasgi import Application, text_writer

PAGE = (Path(__file__).parent / "index.html").read_text(encoding="utf-8")
INTERVAL = 1.0  # seconds between events
KEEP_ALIVE_EVERY = 15  # events between keep-alive comments


def sse(data, event_id):
    """Format one event: its id, a data line per line of text, and a blank line to end it."""
    lines = [f"id: {event_id}", *(f"data: {line}" for line in data.split("\n"))]
    return ("\n".join(lines) + "\n\n").encode()


async def index(scope, info, matches, content):
    return 200, [(b"content-type", b"text/html; charset=utf-8")], text_writer(PAGE)


async def events(scope, info, matches, content):
    # A browser that reconnects sends the id of the last event it got: carry on from there.
    last_id = dict(scope["headers"]).get(b"last-event-id", b"")
    first_id = int(last_id) + 1 if last_id.isdigit() else 1

    async def writer():
        for event_id in itertools.count(first_id):
            yield sse(time.strftime("%H:%M:%S"), event_id)
            if event_id % KEEP_ALIVE_EVERY == 0:
                # A comment, which EventSource ignores: it keeps proxies from timing out a
                # stream whose events are far apart.
                yield b": keep-alive\n\n"
            await asyncio.sleep(INTERVAL)

    headers = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
    return 200, headers, writer()


app = Application()
app.http_router.add({"GET"}, "/", index)
app.http_router.add({"GET"}, "/events", events)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=9009)
