"""A WebSocket echo server, with a page whose script sends messages and lists the replies."""

from pathlib import Path

import uvicorn

from bareasgi import Application, text_writer

PAGE = (Path(__file__).parent / "index.html").read_text(encoding="utf-8")


async def index(scope, info, matches, content):
    return 200, [(b"content-type", b"text/html; charset=utf-8")], text_writer(PAGE)


async def echo(scope, info, matches, web_socket):
    await web_socket.accept()
    while True:
        message = await web_socket.receive()
        if message is None:  # the client has gone: web_socket.close_code says how
            break
        await web_socket.send(f"You said: {message}")


app = Application()
app.http_router.add({"GET"}, "/", index)
app.ws_router.add("/ws", echo)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=9009)
