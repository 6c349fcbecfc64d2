"""Hello, world: every GET request gets the same line of plain text."""

import os

from bareasgi import (
    Application,
    Content,
    HttpResponse,
    Info,
    RouteMatches,
    Scope,
    text_writer,
)


async def hello(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    headers = [(b"content-type", b"text/plain; charset=utf-8")]
    return 200, headers, text_writer("Hello, World!\n")


app = Application()
app.http_router.add({"GET"}, "/{rest:path}", hello)

if __name__ == "__main__":
    import uvicorn

    port = int(os.environ.get("PORT", "8000"))
    uvicorn.run(app, host="127.0.0.1", port=port)
