"""The HTTP/2 push example: the page pushes its stylesheet only when the server can push."""

from bareasgi.testing import TestClient
from examples.http2_push.app import app


async def test_an_http2_server_is_asked_to_push_the_stylesheet():
    response = await TestClient(app, server_push=True).get("/")
    assert response.status == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.pushes == [("/style.css", [])]


async def test_the_push_follows_the_root_path_the_app_is_mounted_at():
    client = TestClient(app, server_push=True, root_path="/examples/http2_push")
    response = await client.get("/")
    assert response.pushes == [("/examples/http2_push/style.css", [])]


async def test_without_push_the_page_is_served_all_the_same():
    response = await TestClient(app).get("/")
    assert response.status == 200
    assert response.pushes == []
    assert not any(message["type"] == "http.response.push" for message in response.messages)
    # The page links the stylesheet relative to itself, so the link works mounted too.
    assert '<link rel="stylesheet" href="style.css">' in response.text


async def test_the_stylesheet_is_served():
    response = await TestClient(app).get("/style.css")
    assert response.status == 200
    assert response.headers["content-type"] == "text/css; charset=utf-8"
    assert "font-family: system-ui" in response.text
