"""The database example: a notes service on SQLite, in a temporary file."""

import sqlite3

import pytest

from bareasgi.testing import LifespanFailure, TestClient
from examples.database.app import app


@pytest.fixture
def database(tmp_path, monkeypatch):
    path = tmp_path / "notes.sqlite3"
    monkeypatch.setenv("NOTES_DATABASE", str(path))
    return path


@pytest.fixture
async def client(database):
    async with TestClient(app) as client:
        yield client


async def add(client, title, body="..."):
    response = await client.post("/notes", json={"title": title, "body": body})
    assert response.status == 201, response.text
    return response.json()


async def test_creating_a_note_answers_201_with_its_location(client):
    response = await client.post(
        "/notes", json={"title": "  Shopping ", "body": "Milk"}
    )
    assert response.status == 201
    assert response.json() == {"id": 1, "title": "Shopping", "body": "Milk"}
    assert response.headers["location"] == "/notes/1"
    again = await client.get(response.headers["location"])
    assert (again.status, again.json()) == (200, response.json())


async def test_the_location_includes_the_mount_point(database):
    async with TestClient(app, root_path="/try/database") as client:
        note = await add(client, "Mounted")
        response = await client.get(f"/notes/{note['id']}")
    assert response.status == 200


async def test_the_notes_are_kept_in_the_file_across_restarts(database):
    async with TestClient(app) as client:
        await add(client, "Kept")
    assert "db" not in app.info  # closed at shutdown
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT title FROM notes").fetchall() == [
            ("Kept",)
        ]
    async with TestClient(app) as client:
        response = await client.get("/notes/1")
    assert response.json()["title"] == "Kept"


async def test_a_second_note_with_the_same_title_is_a_409(client):
    await add(client, "Once")
    response = await client.post("/notes", json={"title": "Once", "body": ""})
    assert response.status == 409
    assert response.text == "A note titled 'Once' exists."
    other = await add(client, "Other")
    response = await client.put(
        f"/notes/{other['id']}", json={"title": "Once", "body": ""}
    )
    assert response.status == 409
    assert (await client.get(f"/notes/{other['id']}")).json() == other


async def test_listing_pages_through_the_notes(client):
    for number in range(5):
        await add(client, f"Note {number}")
    response = await client.get("/notes?limit=2")
    page = response.json()
    assert [note["title"] for note in page["notes"]] == ["Note 0", "Note 1"]
    assert page["next"] == "notes?limit=2&offset=2"
    page = (await client.get("/" + page["next"])).json()
    assert [note["title"] for note in page["notes"]] == ["Note 2", "Note 3"]
    page = (await client.get("/notes?limit=2&offset=4")).json()
    assert [note["title"] for note in page["notes"]] == ["Note 4"]
    assert page["next"] is None
    page = (await client.get("/notes")).json()
    assert len(page["notes"]) == 5


async def test_an_empty_list_is_an_empty_page(client):
    response = await client.get("/notes")
    assert (response.status, response.json()) == (
        200,
        {"notes": [], "next": None},
    )


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=101", "limit=x", "limit=", "offset=-1", "limit=1e3",
     "limit=" + "9" * 5000, "offset=%C2%B2"],
)
async def test_a_bad_paging_parameter_is_a_422(client, query):
    response = await client.get(f"/notes?{query}")
    assert response.status == 422
    assert "must be a whole number from" in response.text


async def test_updating_a_note_replaces_it(client):
    note = await add(client, "Draft")
    response = await client.put(
        f"/notes/{note['id']}", json={"title": "Final", "body": "Done"}
    )
    assert response.status == 200
    assert response.json() == {"id": note["id"], "title": "Final", "body": "Done"}


async def test_deleting_a_note_answers_204_then_404(client):
    note = await add(client, "Gone soon")
    response = await client.delete(f"/notes/{note['id']}")
    assert (response.status, response.body) == (204, b"")
    assert (await client.delete(f"/notes/{note['id']}")).status == 404
    response = await client.get(f"/notes/{note['id']}")
    assert (response.status, response.text) == (404, "There is no note 1.")


@pytest.mark.parametrize("note_id", ["7", "0", "-1", "9" * 30])
async def test_a_note_that_does_not_exist_is_a_404(client, note_id):
    body = {"title": "t", "body": "b"}
    assert (await client.get(f"/notes/{note_id}")).status == 404
    assert (await client.put(f"/notes/{note_id}", json=body)).status == 404
    assert (await client.delete(f"/notes/{note_id}")).status == 404


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "Send an object"),
        ({"title": "t"}, "Send an object"),
        ({"title": "t", "body": "b", "extra": 1}, "Send an object"),
        ({"title": "", "body": "b"}, "The title must be"),
        ({"title": "   ", "body": "b"}, "The title must be"),
        ({"title": "x" * 101, "body": "b"}, "The title must be"),
        ({"title": 5, "body": "b"}, "The title must be"),
        ({"title": "\ud800", "body": "b"}, "The title must be"),
        ({"title": "t", "body": None}, "The body must be"),
        ({"title": "t", "body": "x" * 10_001}, "The body must be"),
    ],
)
async def test_invalid_input_is_a_422_that_says_why(client, body, message):
    note = await add(client, "Existing")
    for response in (
        await client.post("/notes", json=body),
        await client.put(f"/notes/{note['id']}", json=body),
    ):
        assert response.status == 422
        assert response.text.startswith(message)
    assert (await client.get("/notes")).json()["notes"] == [note]


async def test_a_body_that_is_not_json_is_refused(client):
    assert (await client.post("/notes", body="title=x")).status == 415
    response = await client.post(
        "/notes", headers={"content-type": "application/json"}, body="{"
    )
    assert response.status == 400


async def test_sql_in_a_value_is_stored_as_text(client):
    title = "x'); DROP TABLE notes; --"
    note = await add(client, title)
    assert (await client.get(f"/notes/{note['id']}")).json()["title"] == title
    assert len((await client.get("/notes")).json()["notes"]) == 1


async def test_a_database_that_cannot_be_opened_stops_the_startup(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("NOTES_DATABASE", str(tmp_path / "missing" / "x.db"))
    with pytest.raises(LifespanFailure, match="unable to open database file"):
        async with TestClient(app):
            pass
