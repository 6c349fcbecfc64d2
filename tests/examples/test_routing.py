"""The routing example: typed path variables, and what does not match."""

import pytest

from bareasgi.testing import TestClient
from examples.routing.app import app


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("/users/alice", "name: str = alice\n"),
        ("/users/42", "name: str = 42\n"),
        ("/items/42", "id: int = 42\n"),
        ("/items/-3", "id: int = -3\n"),
        ("/prices/9.5", "amount: float = 9.5\n"),
        ("/prices/3", "amount: float = 3.0\n"),
        ("/day/2024-05-01", "when: datetime = 2024-05-01 00:00:00\n"),
        ("/files/docs/guide/intro.md", "rest: str = docs/guide/intro.md\n"),
        ("/files/", "rest: str = \n"),
    ],
)
async def test_each_variable_is_converted_to_its_type(path, text):
    response = await TestClient(app).get(path)
    assert response.status == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text == text


@pytest.mark.parametrize(
    "path",
    ["/items/abc", "/items/4.5", "/prices/cheap", "/day/2024-02-30", "/day/yesterday",
     "/users/", "/users/alice/more", "/files"],
)
async def test_a_value_that_does_not_convert_is_a_404(path):
    response = await TestClient(app).get(path)
    assert response.status == 404
    assert response.text == "Not Found"


@pytest.mark.parametrize("path", ["/users/alice", "/items/42", "/day/2024-05-01", "/files/a/b"])
async def test_a_wrong_method_is_a_405_with_allow(path):
    response = await TestClient(app).post(path)
    assert response.status == 405
    assert response.headers["allow"] == "GET, HEAD"


async def test_head_gets_the_headers_without_the_body():
    response = await TestClient(app).head("/items/42")
    assert response.status == 200
    assert response.headers["content-length"] == str(len("id: int = 42\n"))
    assert response.body == b""
