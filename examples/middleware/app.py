"""Middleware: a chain around every route, and a chain around one route.

The outermost middleware times each response.
"""

import os
import time

from bareasgi import (
    Application,
    Content,
    HttpChainedCallback,
    HttpResponse,
    Info,
    RouteMatches,
    Scope,
    mw,
    text_response,
)


async def timer(
    scope: Scope,
    info: Info,
    matches: RouteMatches,
    content: Content,
    handler: HttpChainedCallback,
) -> HttpResponse:
    start = time.perf_counter()
    response = await handler(scope, info, matches, content)
    status, headers, writer, pushes = response
    # Time to produce the response; a streaming body is sent after this
    # returns.
    milliseconds = (time.perf_counter() - start) * 1000
    timing = f"app;dur={milliseconds:.3f}".encode()
    headers = [*(headers or []), (b"server-timing", timing)]
    return status, headers, writer, pushes


# Per-request data travels in a copy of the scope: info is shared by every
# request.
async def first(
    scope: Scope,
    info: Info,
    matches: RouteMatches,
    content: Content,
    handler: HttpChainedCallback,
) -> HttpResponse:
    scope = {**scope, "message": "The first middleware ran, "}
    return await handler(scope, info, matches, content)


async def second(
    scope: Scope,
    info: Info,
    matches: RouteMatches,
    content: Content,
    handler: HttpChainedCallback,
) -> HttpResponse:
    scope = {**scope, "message": scope["message"] + "then the second, "}
    return await handler(scope, info, matches, content)


async def hello(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    return text_response(200, None, scope["message"] + "then the handler.\n")


async def require_token(
    scope: Scope,
    info: Info,
    matches: RouteMatches,
    content: Content,
    handler: HttpChainedCallback,
) -> HttpResponse:
    if (b"authorization", b"Bearer let-me-in") not in scope["headers"]:
        headers = [(b"www-authenticate", b"Bearer")]
        text = "Send the header authorization: Bearer let-me-in.\n"
        return text_response(401, headers, text)
    return await handler(scope, info, matches, content)


async def secret(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    return text_response(200, None, "The secret is that there is no secret.\n")


# timer is the outermost, second the innermost.
app = Application(middlewares=[timer, first, second])
app.http_router.add({"GET"}, "/", hello)
app.http_router.add({"GET"}, "/secret", mw(require_token, handler=secret))

if __name__ == "__main__":
    import uvicorn

    port = int(os.environ.get("PORT", "8000"))
    uvicorn.run(app, host="127.0.0.1", port=port)
