"""The cookies example: logging in sets a session cookie, pages read it, logging out expires it."""

import re

import pytest

from bareasgi.testing import TestClient
from examples.cookies.app import app

FORM = {"content-type": "application/x-www-form-urlencoded"}
EXPIRED = "session=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"


@pytest.fixture(autouse=True)
def no_sessions():
    app.info["sessions"].clear()


async def log_in(client, name="Ada"):
    response = await client.post("/login", headers=FORM, body=f"name={name}")
    cookie = response.headers["set-cookie"]
    return response, re.match(r"session=([\w-]+);", cookie).group(1)


async def test_a_visitor_without_a_cookie_sees_the_login_form():
    response = await TestClient(app).get("/")
    assert response.status == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert '<form method="post" action="login">' in response.text
    assert "set-cookie" not in response.headers


async def test_logging_in_sets_a_session_cookie_and_redirects():
    response, session_id = await log_in(TestClient(app))
    assert response.status == 303
    assert response.headers["location"] == "./"
    assert response.headers["set-cookie"] == (
        f"session={session_id}; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax"
    )
    assert app.info["sessions"] == {session_id: "Ada"}


async def test_the_cookie_brings_the_visitor_back():
    client = TestClient(app)
    _, session_id = await log_in(client, "Ada%20%3Cb%3E")
    response = await client.get("/", headers={"cookie": f"theme=dark; session={session_id}"})
    assert "Hello, Ada &lt;b&gt;! Your session cookie brought you back." in response.text
    assert '<form method="post" action="logout">' in response.text
    assert "set-cookie" not in response.headers


async def test_logging_out_ends_the_session_and_expires_the_cookie():
    client = TestClient(app)
    _, session_id = await log_in(client)
    response = await client.post("/logout", headers={"cookie": f"session={session_id}"})
    assert response.status == 303
    assert response.headers["location"] == "./"
    assert response.headers["set-cookie"] == EXPIRED
    assert app.info["sessions"] == {}


async def test_logging_out_without_a_session_still_expires_the_cookie():
    response = await TestClient(app).post("/logout")
    assert response.status == 303
    assert response.headers["set-cookie"] == EXPIRED


async def test_a_cookie_naming_no_session_is_expired():
    response = await TestClient(app).get("/", headers={"cookie": "session=stale"})
    assert '<form method="post" action="login">' in response.text
    assert response.headers["set-cookie"] == EXPIRED


async def test_the_cookie_path_follows_the_mount_point():
    client = TestClient(app, root_path="/try/cookies")
    response, _ = await log_in(client)
    assert "; Path=/try/cookies/;" in response.headers["set-cookie"]


@pytest.mark.parametrize("body", ["", "name=", "name=%20%20", "other=1", "name=" + "x" * 41])
async def test_a_missing_or_overlong_name_is_a_400(body):
    response = await TestClient(app).post("/login", headers=FORM, body=body)
    assert response.status == 400
    assert response.text == "Give a name of 1 to 40 characters.\n"
    assert "set-cookie" not in response.headers
    assert app.info["sessions"] == {}


async def test_an_oversized_form_is_a_413():
    response = await TestClient(app).post("/login", headers=FORM, body="name=" + "x" * 2000)
    assert response.status == 413
