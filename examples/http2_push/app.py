"""HTTP/2 server push: the response to the page pushes the stylesheet the page links to."""

import asyncio
from pathlib import Path

from hypercorn.asyncio import serve
from hypercorn.config import Config

from bareasgi import Application, text_writer

HERE = Path(__file__).parent
PAGE = (HERE / "index.html").read_text(encoding="utf-8")
STYLE = (HERE / "style.css").read_text(encoding="utf-8")


async def index(scope, info, matches, content):
    # A push names an absolute path, so put the root path the app is mounted at in front: it
    # is then the URL the page's relative href="style.css" resolves to. Servers that cannot
    # push (HTTP/1.1, uvicorn) do not offer the extension, and the push is left out.
    pushes = [(f"{scope.get('root_path', '')}/style.css", [])]
    return 200, [(b"content-type", b"text/html; charset=utf-8")], text_writer(PAGE), pushes


async def style(scope, info, matches, content):
    return 200, [(b"content-type", b"text/css; charset=utf-8")], text_writer(STYLE)


app = Application()
app.http_router.add({"GET"}, "/", index)
app.http_router.add({"GET"}, "/style.css", style)

if __name__ == "__main__":
    config = Config()
    config.bind = ["127.0.0.1:9009"]
    asyncio.run(serve(app, config))
