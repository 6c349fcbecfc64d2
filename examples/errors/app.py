"""Errors: HTTPError for the failures you expect, a custom 404, and a 500.

The 500 hides the bug from the client; the log has it.
"""

import json
import os

from bareasgi import (
    Application,
    Content,
    HTTPError,
    HttpResponse,
    Info,
    RouteMatches,
    Scope,
    text_response,
)

BOOKS = {1: "Dune", 2: "Emma"}


async def get_book(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    book_id = matches["id"]
    if book_id not in BOOKS:
        raise HTTPError(404, f"There is no book {book_id}.")
    return text_response(200, None, BOOKS[book_id])


async def delete_book(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    body = json.dumps({"error": "The library is read-only."})
    raise HTTPError(403, body, [(b"content-type", b"application/json")])


async def crash(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    # The client gets a bare 500; the message and traceback go to the
    # "bareasgi" logger.
    raise RuntimeError("the database password is 'hunter2'")


async def not_found(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    return text_response(404, None, f"There is nothing at {scope['path']}.\n")


app = Application(not_found_response=not_found)
app.http_router.add({"GET"}, "/books/{id:int}", get_book)
app.http_router.add({"DELETE"}, "/books/{id:int}", delete_book)
app.http_router.add({"GET"}, "/crash", crash)

if __name__ == "__main__":
    import uvicorn

    port = int(os.environ.get("PORT", "8000"))
    uvicorn.run(app, host="127.0.0.1", port=port)
