"""Tests for the to-do app, run in process with bareasgi's TestClient.

No server, no network. They need pytest and pytest-asyncio with
asyncio_mode = "auto" (here, set in pyproject.toml).
"""

from collections.abc import AsyncIterator

import pytest

from bareasgi.testing import TestClient

from .app import create_app


@pytest.fixture
async def client() -> AsyncIterator[TestClient]:
    # A fresh app for each test, with its lifespan run.
    async with TestClient(create_app()) as client:
        yield client


async def test_the_list_starts_empty(client: TestClient) -> None:
    response = await client.get("/todos")
    assert response.status == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == []


async def test_an_added_todo_is_listed(client: TestClient) -> None:
    response = await client.post("/todos", json={"title": "Buy milk"})
    assert response.status == 201
    assert response.json() == {"id": 1, "title": "Buy milk"}

    response = await client.get("/todos")
    assert response.json() == [{"id": 1, "title": "Buy milk"}]


@pytest.mark.parametrize(
    "body", ['"Buy milk"', '{"name": "Buy milk"}', "{not json"]
)
async def test_a_bad_body_is_a_400(client: TestClient, body: str) -> None:
    response = await client.post("/todos", body=body)
    assert response.status == 400
    assert "JSON" in response.text


async def test_a_deleted_todo_is_gone(client: TestClient) -> None:
    await client.post("/todos", json={"title": "Buy milk"})
    await client.post("/todos", json={"title": "Walk the dog"})

    response = await client.delete("/todos/1")
    assert response.status == 204
    assert response.body == b""

    response = await client.get("/todos")
    assert response.json() == [{"id": 2, "title": "Walk the dog"}]


async def test_deleting_an_unknown_todo_is_a_404(client: TestClient) -> None:
    response = await client.delete("/todos/7")
    assert response.status == 404
    assert response.text == "There is no to-do 7."
