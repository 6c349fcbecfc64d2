"""The middleware example: the application-wide chain, a route-local chain, server-timing."""

import re

import pytest

from bareasgi.testing import TestClient
from examples.middleware.app import app

TIMING = re.compile(r"app;dur=\d+\.\d{3}")


async def test_the_chain_runs_in_order():
    response = await TestClient(app).get("/")
    assert response.status == 200
    assert response.text == "The first middleware ran, then the second, then the handler.\n"


async def test_the_shared_info_is_left_alone():
    await TestClient(app).get("/")
    assert app.info == {}


@pytest.mark.parametrize("headers", [{}, {"authorization": "Bearer guess"}])
async def test_the_route_chain_refuses_without_the_token(headers):
    response = await TestClient(app).get("/secret", headers=headers)
    assert response.status == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.text == "Send the header authorization: Bearer let-me-in.\n"


async def test_the_route_chain_lets_the_token_through():
    response = await TestClient(app).get("/secret", headers={"authorization": "Bearer let-me-in"})
    assert response.status == 200
    assert response.text == "The secret is that there is no secret.\n"


@pytest.mark.parametrize(
    ("path", "status"), [("/", 200), ("/secret", 401), ("/missing", 404)]
)
async def test_every_response_is_timed(path, status):
    response = await TestClient(app).get(path)
    assert response.status == status
    assert TIMING.fullmatch(response.headers["server-timing"])
    assert response.headers["content-length"] == str(len(response.body))


async def test_a_405_is_timed_too():
    response = await TestClient(app).post("/")
    assert response.status == 405
    assert response.headers["allow"] == "GET, HEAD"
    assert TIMING.fullmatch(response.headers["server-timing"])
