"""The templates example under a real server: a browser's round trip, by httpx."""

from __future__ import annotations

from tests.examples.serving import Example, Served


def check(served: Served) -> None:
    client = served.client

    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "<li>Milk</li>" in page.text

    style = client.get("/static/style.css")
    assert style.status_code == 200
    assert style.headers["content-type"] == "text/css; charset=utf-8"

    # The form posts, the 303 turns into a GET of the list.
    response = client.post(
        "/items", data={"item": "<i>Tea</i>"}, follow_redirects=True
    )
    assert [step.status_code for step in response.history] == [303]
    assert response.request.method == "GET"
    assert response.status_code == 200
    assert "<li>&lt;i&gt;Tea&lt;/i&gt;</li>" in response.text

    response = client.post("/items", data={"item": ""})
    assert response.status_code == 422
    assert "Give an item of 1 to 80 characters." in response.text


EXAMPLE = Example(check)
