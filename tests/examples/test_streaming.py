"""The streaming example: ticks sent as they happen, and an upload hashed chunk by chunk."""

import hashlib
import logging
import re

import pytest

from bareasgi.testing import DISCONNECT, TestClient
from examples.streaming import app as example
from examples.streaming.app import app


@pytest.fixture(autouse=True)
def fast_ticks(monkeypatch):
    monkeypatch.setattr(example, "TICK_INTERVAL", 0.001)


async def test_each_tick_arrives_as_its_own_chunk():
    async with TestClient(app).stream("GET", "/ticks?count=3") as response:
        assert response.status == 200
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
        assert response.headers["x-content-type-options"] == "nosniff"
        chunks = [chunk async for chunk in response]
    assert chunks == [b"tick 1 of 3\n", b"tick 2 of 3\n", b"tick 3 of 3\n"]


async def test_ten_ticks_by_default(caplog):
    with caplog.at_level(logging.INFO):
        response = await TestClient(app).get("/ticks")
    assert response.text.splitlines()[-1] == "tick 10 of 10"
    assert len(response.text.splitlines()) == 10
    assert "The client left" not in caplog.text


# "%C2%B2" is "²", which str.isdigit() accepts and int() refuses; "%D9%A3" is an
# Arabic-Indic 3; int() refuses 5,000 digits.
@pytest.mark.parametrize(
    "count", ["ten", "-1", "2.5", "%20", "%C2%B2", "%D9%A3", "1000000", "9" * 5000]
)
async def test_a_count_that_is_not_a_whole_number_is_a_400(count):
    response = await TestClient(app).get(f"/ticks?count={count}")
    assert response.status == 400
    assert response.text == "count must be 0 to 999999, as in /ticks?count=5"


async def test_a_client_that_leaves_stops_the_writer(caplog):
    caplog.set_level(logging.INFO, logger=example.__name__)
    async with TestClient(app).stream("GET", "/ticks?count=1000") as response:
        async for chunk in response:
            if chunk == b"tick 2 of 1000\n":
                break
    # Leaving the block disconnected the client and waited for the application to stop.
    assert re.search(r"The client left after \d+ of 1000 ticks", caplog.text)


async def test_an_upload_is_hashed_chunk_by_chunk():
    chunks = [b"x" * 65536, b"hello", b"", b"world"]

    async def upload():
        for chunk in chunks:
            yield chunk

    response = await TestClient(app).post("/sha256", body=upload())
    assert response.status == 200
    data = b"".join(chunks)
    assert response.json() == {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


async def test_an_empty_upload_is_hashed_too():
    response = await TestClient(app).post("/sha256")
    assert response.json() == {"sha256": hashlib.sha256(b"").hexdigest(), "bytes": 0}


async def test_an_upload_cut_short_gets_no_response():
    async def upload():
        yield b"the start, and then"
        yield DISCONNECT

    response = await TestClient(app).post("/sha256", body=upload())
    assert response.status == 0  # the client left before the response started
