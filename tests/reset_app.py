"""The application tests/test_reliability.py serves with real servers.

Run it with ``python -m uvicorn tests.reset_app:app`` (or hypercorn) from the root of
the repository.

Routes:

* ``GET /health``: a short text answer, to show the server still answers.
* WebSocket ``/flood``: sends 64 KiB binary messages without ever receiving, until the
  client goes; ``GET /flood-state`` says how many handlers have ended and how.
* ``GET /static/{path}``: the files of the directory named by ``RELIABILITY_STATIC``, if
  set, behind the compression middleware.
"""

from __future__ import annotations

import os

from bareasgi import (
    Application,
    ClientDisconnect,
    Content,
    HttpResponse,
    Info,
    RouteMatches,
    Scope,
    WebSocket,
    json_response,
    text_response,
)

ENDINGS: dict[str, int] = {}


async def health(scope: Scope, info: Info, matches: RouteMatches, content: Content) -> HttpResponse:
    return text_response(200, None, "ok")


async def flood(scope: Scope, info: Info, matches: RouteMatches, web_socket: WebSocket) -> None:
    await web_socket.accept()
    try:
        while True:
            await web_socket.send(b"q" * 65536)
    except ClientDisconnect:
        ENDINGS["ClientDisconnect"] = ENDINGS.get("ClientDisconnect", 0) + 1
        raise
    except BaseException as error:
        ENDINGS[type(error).__name__] = ENDINGS.get(type(error).__name__, 0) + 1
        raise


async def flood_state(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    return json_response(200, None, ENDINGS)


app = Application()
if os.environ.get("RELIABILITY_STATIC"):
    from bareasgi.compression import compression_middleware
    from bareasgi.static import static_files

    app.middlewares.append(compression_middleware())
    app.http_router.add(
        {"GET", "HEAD"}, "/static/{path:path}", static_files(os.environ["RELIABILITY_STATIC"])
    )
app.http_router.add({"GET"}, "/health", health)
app.http_router.add({"GET"}, "/flood-state", flood_state)
app.ws_router.add("/flood", flood)
