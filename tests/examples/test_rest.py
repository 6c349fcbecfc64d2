"""The REST example: read, update and delete the info dict as JSON, with clear client errors."""

import pytest

from bareasgi.testing import TestClient
from examples.rest.app import app


@pytest.fixture(autouse=True)
def restore_info():
    saved = dict(app.info)
    yield
    app.info.clear()
    app.info.update(saved)


async def test_get_returns_the_info_as_json():
    response = await TestClient(app).get("/info")
    assert response.status == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"name": "Michael Caine", "occupation": "Actor"}


async def test_post_updates_the_info():
    client = TestClient(app)
    response = await client.post("/info", json={"occupation": "Knight", "born": 1933})
    assert response.status == 204
    assert response.body == b""
    response = await client.get("/info")
    assert response.json() == {"name": "Michael Caine", "occupation": "Knight", "born": 1933}


async def test_the_content_type_may_have_parameters_and_any_case():
    response = await TestClient(app).post(
        "/info", headers={"content-type": "Application/JSON; charset=utf-8"}, body='{"a": 1}'
    )
    assert response.status == 204
    assert app.info["a"] == 1


async def test_malformed_json_is_a_400_that_says_where():
    response = await TestClient(app).post(
        "/info", headers={"content-type": "application/json"}, body='{"name": '
    )
    assert response.status == 400
    assert response.text.startswith("The request body is not valid JSON: ")
    assert "line 1 column 10" in response.text
    assert app.info["name"] == "Michael Caine"


@pytest.mark.parametrize("body", ["[1, 2]", '"Alfie"', "null"])
async def test_json_that_is_not_an_object_is_a_400(body):
    response = await TestClient(app).post(
        "/info", headers={"content-type": "application/json"}, body=body
    )
    assert response.status == 400
    assert response.text == "The body must be a JSON object."


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "Expected a JSON body: send content-type: application/json."),
        (
            {"content-type": "text/plain"},
            "Expected a JSON body (application/json), not text/plain.",
        ),
    ],
)
async def test_a_body_that_is_not_declared_json_is_a_415(headers, message):
    response = await TestClient(app).post("/info", headers=headers, body='{"name": "Harry"}')
    assert response.status == 415
    assert response.text == message
    assert app.info["name"] == "Michael Caine"


async def test_delete_removes_a_key():
    client = TestClient(app)
    response = await client.delete("/info/occupation")
    assert response.status == 204
    response = await client.get("/info")
    assert response.json() == {"name": "Michael Caine"}


async def test_deleting_an_unknown_key_is_a_404():
    response = await TestClient(app).delete("/info/age")
    assert response.status == 404
    assert response.text == "There is no key 'age'."


async def test_other_methods_are_405():
    response = await TestClient(app).put("/info", json={})
    assert response.status == 405
    assert response.headers["allow"] == "GET, HEAD, POST"
