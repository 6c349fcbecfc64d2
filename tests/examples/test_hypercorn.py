"""The hypercorn example: the route in process, then the server itself, started and stopped."""

import asyncio
import socket

import httpx
import pytest

from bareasgi.testing import TestClient
from examples.hypercorn.app import app, main


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def get_once_listening(client, path, timeout=10.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            return await client.get(path)
        except httpx.ConnectError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.02)


async def test_hello_world():
    response = await TestClient(app).get("/hello-world")
    assert response.status == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text == "Hello, World!\n"


async def test_main_serves_until_the_trigger_returns():
    port = free_port()
    stop = asyncio.Event()
    server = asyncio.create_task(main(f"127.0.0.1:{port}", shutdown_trigger=stop.wait))
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        response = await get_once_listening(client, "/hello-world")
    assert response.status_code == 200
    assert response.text == "Hello, World!\n"
    assert response.headers["server"] == "hypercorn-h11"

    stop.set()
    await asyncio.wait_for(server, timeout=10)  # main returns once the server has stopped
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", port)
