"""The lifespan example: the ticker runs between startup and shutdown, and only then."""

import asyncio

import pytest

from bareasgi.testing import TestClient
from examples.lifespan.app import app


@pytest.fixture(autouse=True)
def fast_ticks(monkeypatch):
    monkeypatch.setitem(app.info, "interval", 0.01)


async def wait_for_ticks(count):
    async def ticks_reach_count():
        while app.info["ticks"] < count:
            await asyncio.sleep(0.01)

    await asyncio.wait_for(ticks_reach_count(), timeout=5)


async def test_the_ticker_runs_while_the_app_is_up():
    async with TestClient(app) as client:
        ticker = app.info["ticker"]
        response = await client.get("/")
        assert response.status == 200
        assert response.json()["running"] is True

        await wait_for_ticks(3)
        response = await client.get("/")
        assert response.json()["ticks"] >= 3

    assert ticker.done()
    assert ticker.cancelled()


async def test_the_ticker_stops_counting_at_shutdown():
    async with TestClient(app):
        await wait_for_ticks(1)
    ticks = app.info["ticks"]
    await asyncio.sleep(0.05)
    assert app.info["ticks"] == ticks
    response = await TestClient(app).get("/")
    assert response.json() == {"ticks": ticks, "running": False}


async def test_each_startup_counts_from_zero():
    async with TestClient(app):
        await wait_for_ticks(2)
    app.info["interval"] = 60  # no tick before the request below
    async with TestClient(app) as client:
        response = await client.get("/")
        assert response.json() == {"ticks": 0, "running": True}
