"""The CORS example under a real server: preflights, allowed and refused origins, a JSON PUT."""

from __future__ import annotations

from tests.examples.serving import Example, Served

ALLOWED = "http://127.0.0.1:5173"
REFUSED = "http://localhost:8000"


def check(served: Served) -> None:
    client = served.client

    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert 'new URL("greeting", location.href)' in page.text

    response = client.get("/greeting", headers={"origin": ALLOWED})
    assert (response.status_code, response.json()) == (200, {"greeting": "Hello"})
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert response.headers["vary"] == "Origin"

    response = client.get("/greeting", headers={"origin": REFUSED})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers

    # What a browser sends before a PUT with a JSON body.
    request = {
        "access-control-request-method": "PUT",
        "access-control-request-headers": "content-type",
    }
    response = client.options("/greeting", headers={"origin": ALLOWED, **request})
    assert response.status_code == 204
    assert response.content == b""
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert response.headers["access-control-allow-methods"] == "GET, PUT"
    assert response.headers["access-control-max-age"] == "600"

    response = client.options("/greeting", headers={"origin": REFUSED, **request})
    assert response.status_code == 400
    assert response.text == f"CORS preflight refused: the origin {REFUSED!r} is not allowed.\n"

    response = client.put("/greeting", headers={"origin": ALLOWED}, json={"greeting": "Bonjour"})
    assert (response.status_code, response.json()) == (200, {"greeting": "Bonjour"})
    assert response.headers["access-control-allow-origin"] == ALLOWED

    response = client.put("/greeting", headers={"origin": ALLOWED}, json={"greeting": 3})
    assert response.status_code == 400
    assert response.headers["access-control-allow-origin"] == ALLOWED


EXAMPLE = Example(check, probe_path="/greeting")
