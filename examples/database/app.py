"""A notes service on SQLite: the standard library's sqlite3, off the loop."""

import asyncio
import os
import re
import sqlite3
from typing import Any
from urllib.parse import parse_qs

from bareasgi import (
    Application,
    Content,
    Header,
    HTTPError,
    HttpResponse,
    Info,
    Message,
    RouteMatches,
    Scope,
    json_reader,
    json_response,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS notes (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL
)
"""
COLUMNS = "id, title, body"
MAX_PAGE = 100


def connect(path: str) -> sqlite3.Connection:
    # The connection moves between worker threads; a lock keeps one at a time.
    connection = sqlite3.connect(path, check_same_thread=False)
    connection.row_factory = sqlite3.Row
    connection.execute(SCHEMA)
    return connection


async def open_database(scope: Scope, info: Info, message: Message) -> None:
    path = os.environ.get("NOTES_DATABASE", "notes.sqlite3")
    info["db"] = await asyncio.to_thread(connect, path)
    info["db_lock"] = asyncio.Lock()


async def close_database(scope: Scope, info: Info, message: Message) -> None:
    async with info["db_lock"]:
        await asyncio.to_thread(info.pop("db").close)


async def query(
    info: Info, sql: str, parameters: tuple[object, ...] = ()
) -> list[dict[str, Any]]:
    """Run one statement in a thread, committed; return its rows as dicts."""

    def run(connection: sqlite3.Connection) -> list[dict[str, Any]]:
        # "with" commits, or rolls back if the statement fails.
        with connection:
            cursor = connection.execute(sql, parameters)
            return [dict(row) for row in cursor.fetchall()]

    async with info["db_lock"]:
        return await asyncio.to_thread(run, info["db"])


def is_text(value: object, low: int, high: int) -> bool:
    """Whether value is text of low to high characters SQLite can store."""
    if not isinstance(value, str) or not low <= len(value) <= high:
        return False
    try:
        value.encode()
    except UnicodeEncodeError:  # a lone surrogate, as "\ud800" in JSON
        return False
    return True


async def valid_note(scope: Scope, content: Content) -> tuple[str, str]:
    """The title and body of a note in the request, or a 422 saying why."""
    note = await json_reader(content, max_size=65536, scope=scope)
    if not isinstance(note, dict) or set(note) != {"title", "body"}:
        raise HTTPError(422, 'Send an object with "title" and "body" only.')
    title, body = note["title"], note["body"]
    if isinstance(title, str):
        title = title.strip()
    if not is_text(title, 1, 100):
        raise HTTPError(422, "The title must be text of 1 to 100 characters.")
    if not is_text(body, 0, 10_000):
        message = "The body must be text of 10000 characters at most."
        raise HTTPError(422, message)
    return title, body


def number_parameter(
    scope: Scope, name: str, default: int, low: int, high: int
) -> int:
    """A whole number from low to high in the query string, or a 422."""
    query = parse_qs(
        scope["query_string"].decode("latin-1"), keep_blank_values=True
    )
    if name not in query:
        return default
    value = query[name][0]
    number = int(value) if re.fullmatch(r"[0-9]{1,10}", value) else -1
    if not low <= number <= high:
        message = f"{name} must be a whole number from {low} to {high}."
        raise HTTPError(422, message)
    return number


def find_id(matches: RouteMatches) -> int:
    """The note id in the path; out of SQLite's range, no note has it."""
    note_id: int = matches["id"]
    if not 0 < note_id < 2**63:
        raise HTTPError(404, f"There is no note {note_id}.")
    return note_id


async def list_notes(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    limit = number_parameter(scope, "limit", 20, 1, MAX_PAGE)
    offset = number_parameter(scope, "offset", 0, 0, 10**9)
    # One row more than asked for tells whether there is a next page.
    rows = await query(
        info,
        f"SELECT {COLUMNS} FROM notes ORDER BY id LIMIT ? OFFSET ?",
        (limit + 1, offset),
    )
    page: dict[str, Any] = {"notes": rows[:limit], "next": None}
    if len(rows) > limit:
        page["next"] = f"notes?limit={limit}&offset={offset + limit}"
    return json_response(200, None, page)


def location(scope: Scope, note_id: int) -> Header:
    # root_path keeps the link right wherever the application is mounted.
    path = f"{scope.get('root_path', '')}/notes/{note_id}"
    return (b"location", path.encode())


async def create_note(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    title, body = await valid_note(scope, content)
    try:
        # Parameters, never string formatting: the values are never SQL.
        [note] = await query(
            info,
            "INSERT INTO notes (title, body) VALUES (?, ?)"
            f" RETURNING {COLUMNS}",
            (title, body),
        )
    except sqlite3.IntegrityError as error:
        raise HTTPError(409, f"A note titled {title!r} exists.") from error
    return json_response(201, [location(scope, note["id"])], note)


async def read_note(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    note_id = find_id(matches)
    rows = await query(
        info, f"SELECT {COLUMNS} FROM notes WHERE id = ?", (note_id,)
    )
    if not rows:
        raise HTTPError(404, f"There is no note {note_id}.")
    return json_response(200, None, rows[0])


async def update_note(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    note_id = find_id(matches)
    title, body = await valid_note(scope, content)
    try:
        rows = await query(
            info,
            "UPDATE notes SET title = ?, body = ? WHERE id = ?"
            f" RETURNING {COLUMNS}",
            (title, body, note_id),
        )
    except sqlite3.IntegrityError as error:
        raise HTTPError(409, f"A note titled {title!r} exists.") from error
    if not rows:
        raise HTTPError(404, f"There is no note {note_id}.")
    return json_response(200, None, rows[0])


async def delete_note(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    note_id = find_id(matches)
    rows = await query(
        info, "DELETE FROM notes WHERE id = ? RETURNING id", (note_id,)
    )
    if not rows:
        raise HTTPError(404, f"There is no note {note_id}.")
    return 204


app = Application(
    startup_handlers=[open_database], shutdown_handlers=[close_database]
)
app.http_router.add({"GET", "HEAD"}, "/notes", list_notes)
app.http_router.add({"POST"}, "/notes", create_note)
app.http_router.add({"GET", "HEAD"}, "/notes/{id:int}", read_note)
app.http_router.add({"PUT"}, "/notes/{id:int}", update_note)
app.http_router.add({"DELETE"}, "/notes/{id:int}", delete_note)

if __name__ == "__main__":
    import uvicorn

    port = int(os.environ.get("PORT", "8000"))
    uvicorn.run(app, host="127.0.0.1", port=port)
