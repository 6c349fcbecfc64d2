"""A WebSocket echo server.

Its page has a script that sends messages and lists the replies.
"""

import os
from pathlib import Path

from bareasgi import (
    Application,
    Content,
    HttpResponse,
    Info,
    RouteMatches,
    Scope,
    WebSocket,
    text_writer,
)

PAGE = (Path(__file__).parent / "index.html").read_text(encoding="utf-8")


async def index(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    headers = [(b"content-type", b"text/html; charset=utf-8")]
    return 200, headers, text_writer(PAGE)


async def echo(
    scope: Scope, info: Info, matches: RouteMatches, web_socket: WebSocket
) -> None:
    await web_socket.accept()
    while True:
        message = await web_socket.receive()
        if message is None:  # the client left: web_socket.close_code says how
            break
        if isinstance(message, bytes):  # a binary message: show it in hex
            message = f"{len(message)} bytes, {message.hex(' ')}"
        await web_socket.send(f"You said: {message}")


app = Application()
app.http_router.add({"GET"}, "/", index)
app.ws_router.add("/ws", echo)

if __name__ == "__main__":
    import uvicorn

    port = int(os.environ.get("PORT", "8000"))
    uvicorn.run(app, host="127.0.0.1", port=port)
