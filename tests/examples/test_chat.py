"""The chat example in process: in memory, and on a real redis-server.

Every behaviour is checked in both modes (``mode`` fixture); what only Redis does
(history shared across restarts of the app, Redis going away and coming back) is
checked with the real server, which a fixture starts on a free port.
"""

import asyncio
import json
import re
import signal
import threading

import pytest
import redis

from bareasgi.testing import TestClient, WebSocketClosed
from examples.chat import app as chat
from examples.chat.app import app
from tests.redisserver import start_redis


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    with start_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture(params=["memory", "redis"])
def mode(request, monkeypatch):
    if request.param == "redis":
        server = request.getfixturevalue("redis_server")
        if server.process is None:  # a test stopped it and failed
            server.start()
        with redis.Redis.from_url(server.url) as client:
            client.flushall()
        monkeypatch.setenv("REDIS_URL", server.url)
    else:
        monkeypatch.delenv("REDIS_URL", raising=False)
    return request.param


@pytest.fixture
def redis_mode(redis_server, monkeypatch):
    if redis_server.process is None:
        redis_server.start()
    with redis.Redis.from_url(redis_server.url) as client:
        client.flushall()
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    return redis_server


async def receive_json(ws):
    return json.loads(await ws.receive())


async def next_event(response):
    """The data of the next event of an event stream, as JSON."""
    async for chunk in response:
        if not chunk.startswith(b":"):  # not a keep-alive comment
            lines = chunk.decode().splitlines()
            fields = dict(line.split(": ", 1) for line in lines if line)
            return fields["id"], json.loads(fields["data"])
    raise AssertionError("the event stream ended")


async def wait_until(check, timeout=5.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


# The page ---------------------------------------------------------------


async def test_the_page_joins_over_a_websocket_with_relative_urls(mode):
    async with TestClient(app) as client:
        response = await client.get("/")
    assert response.status == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = response.text
    assert 'new URL("ws", location.href)' in page
    assert 'fetch("messages")' in page
    assert 'maxlength="1000"' in page
    # No URL starting with "/": the page also works mounted under a prefix.
    assert not re.search(r"""(href|src|action)=["']/|URL\(["']/""", page)
    assert "{{" not in page


async def test_the_page_says_where_the_messages_live(mode):
    async with TestClient(app) as client:
        page = (await client.get("/")).text
    if mode == "redis":
        assert "Messages go through Redis" in page
    else:
        assert "this process's memory" in page
        assert "REDIS_URL" in page


# Messages ---------------------------------------------------------------


async def test_a_posted_message_reaches_every_websocket_and_the_history(mode):
    async with (
        TestClient(app) as client,
        client.websocket("/ws") as alice,
        client.websocket("/ws") as bob,
    ):
        response = await client.post("/messages", json={"text": "Hello"})
        assert response.status == 201
        posted = response.json()
        assert posted["text"] == "Hello" and posted["id"]
        assert await receive_json(alice) == posted
        assert await receive_json(bob) == posted

        await bob.send(json.dumps({"text": "Hi Alice"}))
        from_bob = await receive_json(alice)
        assert from_bob["text"] == "Hi Alice"
        assert await receive_json(bob) == from_bob

        history = (await client.get("/messages")).json()
        assert history == [posted, from_bob]


async def test_message_ids_are_not_used_again_after_a_restart(mode):
    ids = []
    for _ in range(2):
        async with TestClient(app) as client:
            response = await client.post("/messages", json={"text": "hi"})
            ids.append(response.json()["id"])
        await asyncio.sleep(0.002)  # the ids start from the clock, in ms
    assert ids[0] != ids[1]


async def test_the_history_is_the_last_100_oldest_first(mode):
    async with TestClient(app) as client:
        assert (await client.get("/messages")).json() == []
        for number in range(1, 106):
            await client.post("/messages", json={"text": f"#{number}"})
        history = (await client.get("/messages")).json()
    assert [message["text"] for message in history] == [
        f"#{number}" for number in range(6, 106)
    ]
    assert len({message["id"] for message in history}) == 100


async def test_events_carry_each_message_with_its_id(mode):
    async with (
        TestClient(app) as client,
        client.stream("GET", "/events") as response,
    ):
        assert response.status == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        posted = (await client.post("/messages", json={"text": "é ✓"})).json()
        event_id, data = await next_event(response)
    assert data == posted
    assert event_id == posted["id"]


async def test_clients_that_leave_are_no_longer_in_the_room(mode):
    async with TestClient(app) as client:
        room = app.info["room"]
        head = await client.head("/events")
        assert head.status == 200
        assert head.headers["content-type"].startswith("text/event-stream")
        async with client.websocket("/ws"), client.stream("GET", "/events"):
            await wait_until(lambda: room.clients == 2)
        assert room.clients == 0


async def test_mounted_under_a_prefix_it_works_the_same(mode):
    async with TestClient(app, root_path="/try/chat") as client:
        async with client.websocket("/ws") as ws:
            await ws.send(json.dumps({"text": "under a prefix"}))
            assert (await receive_json(ws))["text"] == "under a prefix"
        assert (await client.get("/messages")).status == 200


# Bad input --------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        (b"{", 400, "not valid JSON"),
        (b"[1]", 400, '"text" string'),
        (b'{"text": 5}', 400, '"text" string'),
        (b'{"txt": "hi"}', 400, '"text" string'),
        (b'{"text": "  "}', 400, "empty"),
        (json.dumps({"text": "x" * 1001}).encode(), 413, "1000 characters"),
        (b'{"text": "' + b"x" * 20_000 + b'"}', 413, ""),
    ],
    ids=["not-json", "list", "number", "no-text", "blank", "long", "huge"],
)
async def test_a_bad_post_is_a_4xx_that_says_why(mode, body, status, says):
    headers = {"content-type": "application/json"}
    async with TestClient(app) as client:
        response = await client.post("/messages", body=body, headers=headers)
        assert (response.status, says in response.text) == (status, True)
        assert (await client.get("/messages")).json() == []


async def test_a_post_that_is_not_json_by_its_type_is_415(mode):
    async with TestClient(app) as client:
        response = await client.post(
            "/messages", body=b'{"text": "hi"}', headers={"content-type": "text/plain"}
        )
    assert response.status == 415


async def test_a_message_of_exactly_the_limit_is_fine(mode):
    async with TestClient(app) as client:
        response = await client.post("/messages", json={"text": "x" * 1000})
    assert response.status == 201


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (b'{"text": "binary"}', 1003),
        ("hello", 1007),
        ('{"message": "hi"}', 1007),
        ('{"text": ""}', 1007),
        ("[" * 5_000 + "]" * 5_000, 1007),
        (json.dumps({"text": "x" * 1001}), 1009),
        ("x" * 20_000, 1009),
    ],
    ids=["binary", "not-json", "no-text", "empty", "deep", "long", "huge"],
)
async def test_a_bad_frame_closes_the_websocket_with_a_clear_code(
    mode, frame, code
):
    async with TestClient(app) as client, client.websocket("/ws") as ws:
        await ws.send(frame)
        with pytest.raises(WebSocketClosed) as closed:
            await ws.receive()
        assert closed.value.code == code
        assert closed.value.reason
        assert (await client.get("/messages")).json() == []


# Slow clients -----------------------------------------------------------


def test_an_inbox_that_overflows_ends_and_drops_what_waited():
    inbox = chat.Inbox()
    for number in range(chat.QUEUE_SIZE):
        inbox.put({"id": str(number), "text": "x"})
    assert inbox.ended_by is None
    inbox.put({"id": "one too many", "text": "x"})
    assert inbox.ended_by == (1013, chat.TOO_SLOW[1])
    inbox.put({"id": "after the end", "text": "x"})
    assert asyncio.run(inbox.get()) is None


async def test_a_client_100_messages_behind_is_closed_with_1013(mode):
    async with (
        TestClient(app) as client,
        client.websocket("/ws") as slow,
        client.stream("GET", "/events") as events,
    ):
        room = app.info["room"]
        # Delivered with no pause, so neither client can take any off.
        for number in range(chat.QUEUE_SIZE + 1):
            room.deliver({"id": str(number), "text": "flood"})
        with pytest.raises(WebSocketClosed) as closed:
            await slow.receive()
        assert closed.value.code == 1013
        assert await events.read() == b""  # the stream ends, empty

        # Those who reconnect get the new messages again.
        async with client.websocket("/ws") as again:
            await client.post("/messages", json={"text": "caught up"})
            assert (await receive_json(again))["text"] == "caught up"


# Shutdown ---------------------------------------------------------------


async def test_shutdown_closes_websockets_with_1001_and_ends_streams(mode):
    client = TestClient(app)
    await client.__aenter__()
    async with (
        client.websocket("/ws") as ws,
        client.stream("GET", "/events") as events,
    ):
        await client.__aexit__(None, None, None)
        with pytest.raises(WebSocketClosed) as closed:
            await ws.receive()
        assert closed.value.code == 1001
        assert await events.read() == b""

        # Whoever comes during the shutdown is sent away at once.
        async with client.websocket("/ws") as late:
            with pytest.raises(WebSocketClosed) as closed:
                await late.receive()
            assert closed.value.code == 1001


async def test_a_client_that_does_not_leave_does_not_hold_the_shutdown(
    monkeypatch, caplog
):
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setattr(chat, "DRAIN_TIMEOUT", 0)
    client = TestClient(app)
    await client.__aenter__()
    async with client.websocket("/ws") as ws:
        await client.__aexit__(None, None, None)
        assert "1 clients still connected" in caplog.text
        with pytest.raises(WebSocketClosed):
            await ws.receive()


async def test_sigterm_sends_the_clients_away_before_the_server_stops(mode):
    calls = []

    def server_handler(signum, frame):
        calls.append((signum, app.info["room"].clients))

    before = signal.signal(signal.SIGTERM, server_handler)
    try:
        async with TestClient(app) as client:
            assert signal.getsignal(signal.SIGTERM) is not server_handler
            async with (
                client.websocket("/ws") as ws,
                client.stream("GET", "/events") as events,
            ):
                signal.raise_signal(signal.SIGTERM)
                await wait_until(lambda: calls)
                # By the time the server hears of it, the clients are gone.
                assert calls == [(signal.SIGTERM, 0)]
                with pytest.raises(WebSocketClosed) as closed:
                    await ws.receive()
                assert closed.value.code == 1001
                assert await events.read() == b""
        assert signal.getsignal(signal.SIGTERM) is server_handler
    finally:
        signal.signal(signal.SIGTERM, before)


def test_started_off_the_main_thread_it_touches_no_signal_handler(monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    handlers = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)

    async def chat_once():
        async with TestClient(app) as client:
            assert (
                signal.getsignal(signal.SIGTERM),
                signal.getsignal(signal.SIGINT),
            ) == handlers
            response = await client.post("/messages", json={"text": "hi"})
            return response.status

    statuses = []
    thread = threading.Thread(
        target=lambda: statuses.append(asyncio.run(chat_once()))
    )
    thread.start()
    thread.join()
    assert statuses == [201]


# Redis only -------------------------------------------------------------


async def test_the_redis_history_outlives_the_app(redis_mode):
    async with TestClient(app) as client:
        await client.post("/messages", json={"text": "before the restart"})
    async with TestClient(app) as client, client.websocket("/ws") as ws:
        history = (await client.get("/messages")).json()
        assert [message["text"] for message in history] == [
            "before the restart"
        ]
        # The old message is history, not news: the socket gets the new one.
        await client.post("/messages", json={"text": "after"})
        assert (await receive_json(ws))["text"] == "after"


async def test_without_redis_publishers_get_503_and_subscribers_wait(
    redis_mode,
):
    async with (
        TestClient(app) as client,
        client.websocket("/ws") as listener,
        client.stream("GET", "/events") as events,
    ):
        await client.post("/messages", json={"text": "one"})
        assert (await receive_json(listener))["text"] == "one"
        assert (await next_event(events))[1]["text"] == "one"

        redis_mode.stop()
        response = await client.post("/messages", json={"text": "two"})
        assert response.status == 503
        assert response.headers["retry-after"] == "1"
        assert response.text == "The chat is unavailable: try again.\n"
        assert (await client.get("/messages")).status == 503
        async with client.websocket("/ws") as talker:
            await talker.send(json.dumps({"text": "three"}))
            with pytest.raises(WebSocketClosed) as closed:
                await talker.receive()
            assert closed.value.code == 1013

        redis_mode.start()  # empty: nothing was saved
        # The subscribers reconnected by themselves: the next message arrives.
        response = await client.post("/messages", json={"text": "four"})
        assert response.status == 201
        assert (await receive_json(listener))["text"] == "four"
        assert (await next_event(events))[1]["text"] == "four"
        history = (await client.get("/messages")).json()
        assert [message["text"] for message in history] == ["four"]


async def test_started_without_redis_it_serves_once_redis_comes(redis_mode):
    redis_mode.stop()
    async with TestClient(app) as client:
        assert (await client.get("/")).status == 200
        response = await client.post("/messages", json={"text": "too soon"})
        assert response.status == 503
        async with client.websocket("/ws") as ws:
            redis_mode.start()
            response = await client.post("/messages", json={"text": "now"})
            assert response.status == 201
            assert (await receive_json(ws))["text"] == "now"
