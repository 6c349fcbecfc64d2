"""The auth example under a real server: httpx keeps the cookies as a browser does."""

from __future__ import annotations

import re

from tests.examples.serving import Example, Served

PASSWORD = "analytical engine"


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


def check(served: Served) -> None:
    client = served.client

    response = client.get("/", follow_redirects=True)
    assert [step.status_code for step in response.history] == [303]
    assert response.url.path == "/login"
    token = csrf_of(response.text)
    assert client.cookies["csrf"]

    # Attacks first: no token, a wrong password.
    response = client.post("/login", data={"name": "ada", "password": PASSWORD})
    assert response.status_code == 403
    form = {"csrf": token, "name": "ada", "password": "guess"}
    response = client.post("/login", data=form)
    assert response.status_code == 403
    assert "Wrong name or password." in response.text
    # The name comes back in its field, the password does not.
    assert 'name="name" value="ada"' in response.text
    assert "guess" not in response.text
    assert "session" not in client.cookies

    form["password"] = PASSWORD
    response = client.post("/login", data=form, follow_redirects=True)
    assert [step.status_code for step in response.history] == [303]
    assert "Hello, ada!" in response.text
    stolen = client.cookies["session"]

    response = client.post("/logout", data={"csrf": csrf_of(response.text)})
    assert response.status_code == 303
    assert "session" not in client.cookies
    response = client.get("/", headers={"cookie": f"session={stolen}"})
    assert response.status_code == 303

    client.cookies.clear()
    response = client.get("/api/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    response = client.post(
        "/api/token", json={"name": "ada", "password": PASSWORD}
    )
    assert response.status_code == 200
    bearer = {"authorization": f"Bearer {response.json()['access_token']}"}
    response = client.get("/api/me", headers=bearer)
    assert (response.status_code, response.json()) == (200, {"name": "ada"})

    # Five wrong passwords lock the name, for the API and the form alike.
    guess = {"name": "grace", "password": "guess"}
    for _ in range(5):
        assert client.post("/api/token", json=guess).status_code == 401
    response = client.post("/api/token", json=guess)
    assert response.status_code == 429
    assert 0 < int(response.headers["retry-after"]) <= 300
    guess["csrf"] = csrf_of(client.get("/login").text)
    response = client.post("/login", data=guess)
    assert response.status_code == 429
    assert "Try again in 5 minutes." in response.text
    assert 'name="name" value="grace"' in response.text


EXAMPLE = Example(check, probe_path="/login")
