"""The chat example under a real server, in memory: a WebSocket, an event stream, the history."""

from __future__ import annotations

import json

from websockets.sync.client import connect

from tests.examples.serving import Example, Served

TIMEOUT = 10.0


def read_event(lines) -> dict[str, str]:
    """The fields of the next event of an event stream; comments skipped."""
    fields: dict[str, str] = {}
    for line in lines:
        if line == "" and fields:
            return fields
        if line and not line.startswith(":"):
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
    raise AssertionError("the event stream ended")


def check(served: Served) -> None:
    client = served.client

    page = client.get("/")
    assert page.status_code == 200
    assert 'new URL("ws", location.href)' in page.text
    assert "this process's memory" in page.text

    with (
        connect(f"{served.server.ws_url}/ws", open_timeout=TIMEOUT) as ws,
        client.stream("GET", "/events") as events,
    ):
        assert events.headers["content-type"] == "text/event-stream; charset=utf-8"
        ws.send(json.dumps({"text": "over the socket"}))
        first = json.loads(ws.recv(timeout=TIMEOUT))
        assert first["text"] == "over the socket"
        response = client.post("/messages", json={"text": "posted"})
        assert response.status_code == 201
        second = response.json()
        assert json.loads(ws.recv(timeout=TIMEOUT)) == second
        lines = events.iter_lines()
        assert json.loads(read_event(lines)["data"]) == first
        assert read_event(lines)["id"] == second["id"]

    assert client.get("/messages").json() == [first, second]
    assert client.post("/messages", json={"text": ""}).status_code == 400


EXAMPLE = Example(check)
