"""The cookies example under a real server: httpx keeps the session cookie as a browser does."""

from __future__ import annotations

from tests.examples.serving import Example, Served


def check(served: Served) -> None:
    client = served.client  # its cookie jar stores and sends cookies like a browser

    page = client.get("/")
    assert page.status_code == 200
    assert 'action="login"' in page.text

    response = client.post("/login", data={"name": "Ada"})
    assert response.status_code == 303
    assert response.headers["location"] == "./"
    assert "; HttpOnly; SameSite=Lax" in response.headers["set-cookie"]
    assert client.cookies["session"]

    page = client.get("/")
    assert "Hello, Ada!" in page.text

    # Following the redirect as a browser does: the next page already has the cookie.
    response = client.post("/logout", follow_redirects=True)
    assert response.status_code == 200
    assert [step.status_code for step in response.history] == [303]
    assert "Max-Age=0" in response.history[0].headers["set-cookie"]
    assert "session" not in client.cookies
    assert 'action="login"' in response.text

    response = client.post("/login", data={"name": "Grace"}, follow_redirects=True)
    assert "Hello, Grace!" in response.text
    client.cookies.clear()

    response = client.get("/", headers={"cookie": "session=stale"})
    assert 'action="login"' in response.text
    assert response.headers["set-cookie"].startswith("session=; Path=/; Max-Age=0;")

    response = client.post("/login", data={"name": ""})
    assert response.status_code == 400


EXAMPLE = Example(check, probe_path="/")
