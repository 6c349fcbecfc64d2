"""The server-sent events example: the event stream, its format, and the page that reads it."""

import re

import pytest

from bareasgi.testing import TestClient
from examples.server_sent_events import app as example
from examples.server_sent_events.app import app, sse

EVENT = re.compile(rb"id: (\d+)\ndata: \d\d:\d\d:\d\d\n\n")


@pytest.fixture(autouse=True)
def fast_events(monkeypatch):
    monkeypatch.setattr(example, "INTERVAL", 0)
    monkeypatch.setattr(example, "KEEP_ALIVE_EVERY", 3)


async def read_chunks(client, count, headers=None):
    """The first `count` chunks of the event stream; then the client disconnects."""
    chunks = []
    async with client.stream("GET", "/events", headers=headers) as response:
        assert response.status == 200
        assert response.headers["content-type"] == "text/event-stream"
        assert response.headers["cache-control"] == "no-cache"
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


async def test_events_are_numbered_with_a_keep_alive_comment_now_and_then():
    chunks = await read_chunks(TestClient(app), 8)
    assert chunks[3] == chunks[7] == b": keep-alive\n\n"
    events = [EVENT.fullmatch(chunk) for chunk in chunks[:3] + chunks[4:7]]
    assert [int(event[1]) for event in events] == [1, 2, 3, 4, 5, 6]


async def test_a_reconnecting_browser_carries_on_after_its_last_event_id():
    chunks = await read_chunks(TestClient(app), 2, headers={"Last-Event-ID": "40"})
    assert [EVENT.fullmatch(chunk)[1] for chunk in chunks] == [b"41", b"42"]


async def test_an_unusable_last_event_id_starts_again_from_one():
    chunks = await read_chunks(TestClient(app), 1, headers={"Last-Event-ID": "soon"})
    assert EVENT.fullmatch(chunks[0])[1] == b"1"


def test_each_line_of_data_gets_its_own_data_field():
    assert sse("one\ntwo", 7) == b"id: 7\ndata: one\ndata: two\n\n"
