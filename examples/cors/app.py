"""A JSON API that pages from other origins may call.

The CORS middleware tells browsers which origins are allowed.
"""

import os
from pathlib import Path

from bareasgi import (
    Application,
    Content,
    HTTPError,
    HttpResponse,
    Info,
    RouteMatches,
    Scope,
    json_reader,
    json_response,
    text_writer,
)
from bareasgi.cors import CORSMiddleware

PAGE = (Path(__file__).parent / "index.html").read_text(encoding="utf-8")

cors = CORSMiddleware(
    # Say, a front end served by its own dev server,
    allow_origins=["http://localhost:3000"],
    # and pages from 127.0.0.1, on any port.
    allow_origin_regex=r"http://127\.0\.0\.1(:\d+)?",
    allow_methods=["GET", "PUT"],
)


async def index(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    headers = [(b"content-type", b"text/html; charset=utf-8")]
    return 200, headers, text_writer(PAGE)


async def get_greeting(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    return json_response(200, None, {"greeting": info["greeting"]})


async def set_greeting(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    body = await json_reader(content, max_size=1_000, scope=scope)
    if not isinstance(body, dict) or not isinstance(body.get("greeting"), str):
        example = '{"greeting": "Bonjour"}'
        raise HTTPError(400, f"Send a JSON object such as {example}.")
    info["greeting"] = body["greeting"]
    return json_response(200, None, {"greeting": info["greeting"]})


app = Application(middlewares=[cors], info={"greeting": "Hello"})
app.http_router.add({"GET"}, "/", index)
app.http_router.add({"GET"}, "/greeting", get_greeting)
app.http_router.add({"PUT"}, "/greeting", set_greeting)

if __name__ == "__main__":
    import uvicorn

    port = int(os.environ.get("PORT", "8000"))
    uvicorn.run(app, host="127.0.0.1", port=port)
