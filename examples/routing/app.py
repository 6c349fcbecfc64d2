"""Typed path variables.

Each route answers with the name, Python type and value of what it matched.
"""

import os

from bareasgi import (
    Application,
    Content,
    HttpResponse,
    Info,
    RouteMatches,
    Scope,
    text_response,
)


async def echo(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    lines = [
        f"{name}: {type(value).__name__} = {value}\n"
        for name, value in matches.items()
    ]
    return text_response(200, None, "".join(lines))


app = Application()
# Each route is GET only: a POST to a path one of them matches is a 405 with
# an allow header.
# /users/alice: one non-empty segment, as a str
app.http_router.add({"GET"}, "/users/{name}", echo)
# /items/42 as an int; /items/abc does not match: 404
app.http_router.add({"GET"}, "/items/{id:int}", echo)
app.http_router.add({"GET"}, "/prices/{amount:float}", echo)
# /day/2024-05-01: a date in any strptime format
app.http_router.add({"GET"}, "/day/{when:datetime:%Y-%m-%d}", echo)
# /files/docs/intro.md: the rest of the path, slashes too
app.http_router.add({"GET"}, "/files/{rest:path}", echo)

if __name__ == "__main__":
    import uvicorn

    port = int(os.environ.get("PORT", "8000"))
    uvicorn.run(app, host="127.0.0.1", port=port)
