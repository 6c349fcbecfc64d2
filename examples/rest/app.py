"""A small REST API over the info dict.

Read it, update it from JSON, delete one key.
"""

import os

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
)


async def get_info(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    return json_response(200, None, info)


async def update_info(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    # Given the scope, a body not sent as JSON is a 415; malformed JSON is a
    # 400 that says where.
    changes = await json_reader(content, max_size=10_000, scope=scope)
    if not isinstance(changes, dict):
        raise HTTPError(400, "The body must be a JSON object.")
    info.update(changes)
    return 204


async def delete_info(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    key = matches["key"]
    if key not in info:
        raise HTTPError(404, f"There is no key {key!r}.")
    del info[key]
    return 204


app = Application(info={"name": "Michael Caine", "occupation": "Actor"})
app.http_router.add({"GET"}, "/info", get_info)
app.http_router.add({"POST"}, "/info", update_info)
app.http_router.add({"DELETE"}, "/info/{key}", delete_info)

if __name__ == "__main__":
    import uvicorn

    port = int(os.environ.get("PORT", "8000"))
    uvicorn.run(app, host="127.0.0.1", port=port)
