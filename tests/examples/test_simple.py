"""The hello-world example that `make run` serves."""

import pytest

from bareasgi.testing import TestClient
from examples.simple.app import app


@pytest.mark.parametrize("path", ["/", "/hello", "/deep/down/here"])
async def test_every_get_says_hello(path):
    response = await TestClient(app).get(path)
    assert response.status == 200
    assert response.text == "Hello, World!\n"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"


async def test_other_methods_are_405():
    response = await TestClient(app).post("/")
    assert response.status == 405
    assert response.headers["allow"] == "GET, HEAD"
