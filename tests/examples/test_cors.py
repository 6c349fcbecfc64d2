"""The CORS example: a JSON API that pages from 127.0.0.1 (any port) and localhost:3000 may call."""

import re

import pytest

from bareasgi.testing import TestClient
from examples.cors.app import app

ALLOWED = ["http://127.0.0.1:8000", "http://127.0.0.1:5173", "http://localhost:3000"]
REFUSED = ["http://localhost:8000", "https://127.0.0.1:8000", "http://127.0.0.1.evil.example"]


@pytest.fixture(autouse=True)
def restore_info():
    saved = dict(app.info)
    yield
    app.info.clear()
    app.info.update(saved)


def preflight(origin):
    return {
        "origin": origin,
        "access-control-request-method": "PUT",
        "access-control-request-headers": "content-type",
    }


async def test_the_page_calls_the_api_under_the_servers_other_name():
    response = await TestClient(app).get("/")
    assert response.status == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = response.text
    assert 'new URL("greeting", location.href)' in page
    assert 'api.hostname === "localhost" ? "127.0.0.1" : "localhost"' in page
    # No URL starting with "/": the page also works mounted under a prefix.
    assert not re.search(r"""(href|src|action)=["']/|URL\(["']/""", page)


@pytest.mark.parametrize("origin", ALLOWED)
async def test_an_allowed_origin_may_read_the_greeting(origin):
    response = await TestClient(app).get("/greeting", headers={"origin": origin})
    assert response.status == 200
    assert response.json() == {"greeting": "Hello"}
    assert response.headers["access-control-allow-origin"] == origin
    assert response.headers["vary"] == "Origin"


@pytest.mark.parametrize("origin", REFUSED)
async def test_another_origin_gets_no_cors_headers(origin):
    response = await TestClient(app).get("/greeting", headers={"origin": origin})
    assert response.status == 200  # answered: the browser is the one that withholds it
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize("origin", ALLOWED)
async def test_a_preflight_for_a_json_put_is_allowed(origin):
    response = await TestClient(app).options("/greeting", headers=preflight(origin))
    assert response.status == 204
    assert response.headers["access-control-allow-origin"] == origin
    assert response.headers["access-control-allow-methods"] == "GET, PUT"
    assert "content-type" in response.headers["access-control-allow-headers"].split(", ")
    assert response.headers["access-control-max-age"] == "600"


@pytest.mark.parametrize("origin", REFUSED)
async def test_a_preflight_from_another_origin_is_refused(origin):
    response = await TestClient(app).options("/greeting", headers=preflight(origin))
    assert response.status == 400
    assert response.text == f"CORS preflight refused: the origin {origin!r} is not allowed.\n"


async def test_a_preflight_for_delete_is_refused():
    headers = {**preflight(ALLOWED[0]), "access-control-request-method": "DELETE"}
    response = await TestClient(app).options("/greeting", headers=headers)
    assert response.status == 400
    assert response.text == "CORS preflight refused: the method 'DELETE' is not allowed.\n"


async def test_put_changes_the_greeting():
    client = TestClient(app)
    headers = {"origin": ALLOWED[0]}
    response = await client.put("/greeting", headers=headers, json={"greeting": "Bonjour"})
    assert response.status == 200
    assert response.json() == {"greeting": "Bonjour"}
    assert response.headers["access-control-allow-origin"] == ALLOWED[0]
    assert (await client.get("/greeting")).json() == {"greeting": "Bonjour"}


@pytest.mark.parametrize("body", [{"greeting": 3}, ["Bonjour"], {}])
async def test_put_without_a_greeting_is_a_400_with_cors_headers(body):
    headers = {"origin": ALLOWED[0]}
    response = await TestClient(app).put("/greeting", headers=headers, json=body)
    assert response.status == 400
    assert response.text == 'Send a JSON object such as {"greeting": "Bonjour"}.'
    # The page can read the error, since the middleware adds its headers to errors too.
    assert response.headers["access-control-allow-origin"] == ALLOWED[0]
