"""The server-sent events example: the event stream, its format, and the page that reads it."""

import re

import pytest

from bareasgi.sse import KEEP_ALIVE
from bareasgi.testing import TestClient
from examples.server_sent_events import app as example
from examples.server_sent_events.app import app

EVENT = re.compile(rb"id: (\d+)\ndata: \d\d:\d\d:\d\d\n\n")


@pytest.fixture(autouse=True)
def fast_events(monkeypatch):
    monkeypatch.setattr(example, "INTERVAL", 0)


async def read_chunks(client, count, headers=None):
    """The first `count` chunks of the event stream; then the client disconnects."""
    chunks = []
    async with client.stream("GET", "/events", headers=headers) as response:
        assert response.status == 200
        assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["x-accel-buffering"] == "no"
        async for chunk in response:
            chunks.append(chunk)
            if len(chunks) == count:
                break
    return chunks


async def test_the_page_listens_to_events_relative_to_itself():
    response = await TestClient(app).get("/")
    assert response.status == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert 'new EventSource("events")' in response.text
    assert 'id="log"' in response.text and 'id="status"' in response.text


async def test_events_are_numbered_from_one_each_with_the_time():
    chunks = await read_chunks(TestClient(app), 5)
    assert [int(EVENT.fullmatch(chunk)[1]) for chunk in chunks] == [1, 2, 3, 4, 5]


async def test_a_keep_alive_comment_is_sent_while_no_event_is_due(monkeypatch):
    monkeypatch.setattr(example, "INTERVAL", 5.0)
    monkeypatch.setattr(example, "KEEP_ALIVE", 0.05)
    chunks = await read_chunks(TestClient(app), 3)
    assert EVENT.fullmatch(chunks[0])[1] == b"1"
    assert chunks[1:] == [KEEP_ALIVE, KEEP_ALIVE]


async def test_a_reconnecting_browser_carries_on_after_its_last_event_id():
    chunks = await read_chunks(TestClient(app), 2, headers={"Last-Event-ID": "40"})
    assert [EVENT.fullmatch(chunk)[1] for chunk in chunks] == [b"41", b"42"]


@pytest.mark.parametrize("last_id", ["soon", "-3", "4.5", "9" * 5000, ""])
async def test_an_unusable_last_event_id_starts_again_from_one(last_id):
    chunks = await read_chunks(TestClient(app), 1, headers={"Last-Event-ID": last_id})
    assert EVENT.fullmatch(chunks[0])[1] == b"1"


async def test_the_clock_stops_when_the_client_leaves(monkeypatch):
    clocks = []
    original = example.clock

    def tracked(first_id):
        clocks.append(original(first_id))
        return clocks[-1]

    monkeypatch.setattr(example, "clock", tracked)
    await read_chunks(TestClient(app), 2)
    [clock] = clocks
    assert clock.ag_frame is None  # closed, not left suspended for the garbage collector
