"""The compression example: a small page as it is, large JSON and a stream compressed."""

import gzip
import json
import zlib

import pytest

from bareasgi.testing import TestClient
from examples.compression import app as example
from examples.compression.app import app

GZIP = {"accept-encoding": "gzip, deflate, br"}


@pytest.fixture(autouse=True)
def fast_countdown(monkeypatch):
    monkeypatch.setattr(example, "INTERVAL", 0.001)


async def test_the_small_page_is_sent_as_it_is():
    response = await TestClient(app).get("/", headers=GZIP)
    assert response.status == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "content-encoding" not in response.headers
    assert int(response.headers["content-length"]) < 500
    assert '<a href="planets.json">' in response.text


async def test_the_large_json_is_gzipped_whole():
    response = await TestClient(app).get("/planets.json", headers=GZIP)
    assert response.status == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["vary"] == "Accept-Encoding"
    assert response.headers["content-length"] == str(len(response.body))
    data = json.loads(gzip.decompress(response.body))
    assert len(data["planets"]) == 500
    assert data["planets"][0] == {"id": 1, "name": "Planet 1", "moons": 1}
    assert len(response.body) * 5 < len(gzip.decompress(response.body))


async def test_the_large_json_is_deflated_for_a_client_that_prefers_it():
    response = await TestClient(app).get(
        "/planets.json", headers={"accept-encoding": "gzip;q=0.5, deflate"}
    )
    assert response.headers["content-encoding"] == "deflate"
    assert len(json.loads(zlib.decompress(response.body))["planets"]) == 500


async def test_a_client_that_accepts_no_coding_gets_plain_json():
    response = await TestClient(app).get("/planets.json")
    assert "content-encoding" not in response.headers
    assert response.headers["vary"] == "Accept-Encoding"
    assert len(response.json()["planets"]) == 500


async def test_the_countdown_is_compressed_line_by_line():
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    async with TestClient(app).stream("GET", "/countdown", headers=GZIP) as response:
        assert response.headers["content-encoding"] == "gzip"
        assert "content-length" not in response.headers
        assert response.headers["x-content-type-options"] == "nosniff"
        lines = [decompressor.decompress(chunk) async for chunk in response]
    # Each line arrives on its own and decodes at once; the last chunk ends the gzip stream.
    expected = [f"{n}, counting down to lift-off\n".encode() for n in range(5, 0, -1)]
    assert lines == [*expected, b"Lift-off!\n", b""]
    assert decompressor.eof


async def test_the_countdown_is_plain_for_a_client_without_gzip():
    response = await TestClient(app).get("/countdown")
    assert "content-encoding" not in response.headers
    assert response.text.splitlines() == [
        *(f"{n}, counting down to lift-off" for n in range(5, 0, -1)),
        "Lift-off!",
    ]
