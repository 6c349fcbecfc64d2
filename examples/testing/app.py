"""A to-do list kept in memory.

A factory makes the application, so that each test gets a fresh one.
"""

import itertools
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


async def list_todos(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    todos = [
        {"id": todo_id, "title": title}
        for todo_id, title in info["todos"].items()
    ]
    return json_response(200, None, todos)


async def add_todo(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    body = await json_reader(content, max_size=10_000)
    if not isinstance(body, dict) or not isinstance(body.get("title"), str):
        message = 'Send a JSON object such as {"title": "Buy milk"}.'
        raise HTTPError(400, message)
    todo = {"id": next(info["ids"]), "title": body["title"]}
    info["todos"][todo["id"]] = todo["title"]
    return json_response(201, None, todo)


async def delete_todo(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    if info["todos"].pop(matches["id"], None) is None:
        raise HTTPError(404, f"There is no to-do {matches['id']}.")
    return 204


def create_app() -> Application:
    app = Application(info={"todos": {}, "ids": itertools.count(1)})
    app.http_router.add({"GET"}, "/todos", list_todos)
    app.http_router.add({"POST"}, "/todos", add_todo)
    app.http_router.add({"DELETE"}, "/todos/{id:int}", delete_todo)
    return app


app = create_app()

if __name__ == "__main__":
    import uvicorn

    port = int(os.environ.get("PORT", "8000"))
    uvicorn.run(app, host="127.0.0.1", port=port)
