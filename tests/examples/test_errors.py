"""The errors example: HTTPError responses, the custom 404, and a 500 that reveals nothing."""

import logging

from bareasgi.testing import TestClient
from examples.errors.app import app


async def test_a_known_book():
    response = await TestClient(app).get("/books/1")
    assert response.status == 200
    assert response.text == "Dune"


async def test_an_unknown_book_is_the_http_error_404():
    response = await TestClient(app).get("/books/3")
    assert response.status == 404
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text == "There is no book 3."


async def test_an_http_error_can_set_its_headers():
    response = await TestClient(app).delete("/books/1")
    assert response.status == 403
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-length"] == str(len(response.body))
    assert response.json() == {"error": "The library is read-only."}


async def test_an_unknown_path_gets_the_custom_not_found_response():
    response = await TestClient(app).get("/no/such/page")
    assert response.status == 404
    assert response.text == "There is nothing at /no/such/page.\n"


async def test_a_wrong_method_is_still_a_405():
    response = await TestClient(app).post("/books/1")
    assert response.status == 405
    assert response.headers["allow"] == "DELETE, GET, HEAD"


async def test_an_unhandled_exception_is_a_500_that_reveals_nothing(caplog):
    with caplog.at_level(logging.ERROR, logger="bareasgi"):
        response = await TestClient(app).get("/crash")
    assert response.status == 500
    assert response.text == "Internal Server Error"
    assert "hunter2" not in response.text

    [record] = [r for r in caplog.records if r.name == "bareasgi"]
    assert record.levelno == logging.ERROR
    assert "GET /crash" in record.getMessage()
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], RuntimeError)
    assert "hunter2" in caplog.text
