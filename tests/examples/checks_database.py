"""The database example under a real server, on a database file of its own."""

from __future__ import annotations

from pathlib import Path

from tests.examples.serving import Example, Served


def check(served: Served) -> None:
    client = served.client

    response = client.post("/notes", json={"title": "First", "body": "One"})
    assert response.status_code == 201
    created = response.json()
    assert response.headers["location"] == f"/notes/{created['id']}"
    assert client.get(response.headers["location"]).json() == created

    response = client.post("/notes", json={"title": "First", "body": "Again"})
    assert response.status_code == 409
    response = client.post("/notes", json={"title": "", "body": ""})
    assert response.status_code == 422

    for number in range(3):
        client.post("/notes", json={"title": f"More {number}", "body": ""})
    page = client.get("/notes", params={"limit": 3}).json()
    assert [note["title"] for note in page["notes"]] == [
        "First",
        "More 0",
        "More 1",
    ]
    assert page["next"] == "notes?limit=3&offset=3"

    location = f"/notes/{created['id']}"
    response = client.put(location, json={"title": "Renamed", "body": "1"})
    assert response.json()["title"] == "Renamed"
    assert client.delete(location).status_code == 204
    assert client.get(location).status_code == 404


EXAMPLE = Example(
    check,
    probe_path="/notes",
    environ=lambda tmp: {"NOTES_DATABASE": str(Path(tmp) / "notes.sqlite3")},
)
