"""HTTP/2 server push: the page's response pushes the stylesheet it uses."""

import os
from pathlib import Path

from bareasgi import (
    Application,
    Content,
    HttpResponse,
    Info,
    PushResponses,
    RouteMatches,
    Scope,
    text_writer,
)

HERE = Path(__file__).parent
PAGE = (HERE / "index.html").read_text(encoding="utf-8")
STYLE = (HERE / "style.css").read_text(encoding="utf-8")


async def index(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    # A push names an absolute path, so put the root path the app is mounted
    # at in front: it is then the URL the page's relative href="style.css"
    # resolves to. Servers that cannot push (HTTP/1.1, uvicorn) do not offer
    # the extension, and the push is left out.
    pushes: PushResponses = [(f"{scope.get('root_path', '')}/style.css", [])]
    headers = [(b"content-type", b"text/html; charset=utf-8")]
    return 200, headers, text_writer(PAGE), pushes


async def style(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    headers = [(b"content-type", b"text/css; charset=utf-8")]
    return 200, headers, text_writer(STYLE)


app = Application()
app.http_router.add({"GET"}, "/", index)
app.http_router.add({"GET"}, "/style.css", style)

if __name__ == "__main__":
    # hypercorn, because uvicorn speaks no HTTP/2 and so cannot push.
    import asyncio

    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    port = int(os.environ.get("PORT", "8000"))
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    # hypercorn types the scope and messages as TypedDicts, which mypy does
    # not match with bareasgi's plain mappings; the app is ASGI all the same.
    asyncio.run(serve(app, config))  # type: ignore[arg-type]
