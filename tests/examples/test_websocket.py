"""The WebSocket echo example: the page, and the conversation its script has."""

import re

from bareasgi.testing import TestClient
from examples.websocket.app import app


async def test_the_page_connects_to_ws_relative_to_itself():
    response = await TestClient(app).get("/")
    assert response.status == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = response.text
    assert 'new URL("ws", location.href)' in page
    for element_id in ("message", "send", "log", "status"):
        assert f'id="{element_id}"' in page
    # No URL starting with "/": the page also works mounted under a prefix.
    assert not re.search(r"""(href|src|action)=["']/|URL\(["']/""", page)


async def test_every_message_is_echoed():
    async with TestClient(app) as client, client.websocket("/ws") as ws:
        await ws.send("Hello")
        assert await ws.receive() == "You said: Hello"
        await ws.send("and again")
        assert await ws.receive() == "You said: and again"


async def test_the_echo_works_mounted_under_a_prefix():
    client = TestClient(app, root_path="/examples/websocket")
    async with client.websocket("/ws") as ws:
        await ws.send("Hi")
        assert await ws.receive() == "You said: Hi"


async def test_a_binary_message_is_described_in_hex():
    async with TestClient(app) as client, client.websocket("/ws") as ws:
        await ws.send(b"\x00\x01bin")
        assert await ws.receive() == "You said: 5 bytes, 00 01 62 69 6e"
