"""The chat example on several real processes sharing one real Redis, and behind nginx.

Two uvicorn processes on two ports; ``uvicorn --workers 2``, gunicorn with uvicorn
workers and granian with two workers on one port; Debian's nginx in front of two
processes. The commands are the ones docs/how-to/scaling-out.md and deployment.md show.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest
import redis
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.examples.checks_chat import read_event
from tests.realserver import (
    REPO_ROOT,
    Server,
    free_port,
    server_command,
    start_process,
    stop,
)
from tests.redisserver import RedisServer, start_redis
from tests.requirements import need

TARGET = "examples.chat.app:app"
TIMEOUT = 10.0
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with start_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def shared(redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> RedisServer:
    """REDIS_URL set for the servers started by the test, on a running, empty Redis."""
    if redis_server.process is None:  # a test stopped it and failed
        redis_server.start()
    with redis.Redis.from_url(redis_server.url) as client:
        client.flushall()
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    return redis_server


def uvicorn(port: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "uvicorn", TARGET, "--port", str(port), *extra]


def gunicorn(port: int) -> list[str]:
    return [
        sys.executable, "-m", "gunicorn", TARGET, "-k", "uvicorn_worker.UvicornWorker",
        "--workers", "2", "--bind", f"127.0.0.1:{port}",
    ]  # fmt: skip


def granian(port: int) -> list[str]:
    return server_command("granian", TARGET, port, ["--workers", "2"])


@contextmanager
def serve(command: list[str], port: int, tmp_path: Path, name: str) -> Iterator[Server]:
    with start_process(command, name=name, port=port, tmp_dir=tmp_path) as server:
        yield server


def post(base_url: str, text: str) -> httpx.Response:
    return httpx.post(f"{base_url}/messages", json={"text": text}, timeout=TIMEOUT)


def texts(messages: list[dict[str, str]]) -> list[str]:
    return [message["text"] for message in messages]


def test_two_processes_share_one_room_and_recover_from_a_redis_restart(
    shared: RedisServer, tmp_path: Path
) -> None:
    port_a, port_b = free_port(), free_port()
    with (
        serve(uvicorn(port_a), port_a, tmp_path, "a") as a,
        serve(uvicorn(port_b), port_b, tmp_path, "b") as b,
        connect(f"{b.ws_url}/ws", open_timeout=TIMEOUT) as ws,
        httpx.Client(timeout=TIMEOUT) as client,
        client.stream("GET", f"{b.base_url}/events") as events,
    ):
        assert "Messages go through Redis" in httpx.get(a.base_url).text
        lines = events.iter_lines()
        posted = post(a.base_url, "from a").json()
        assert json.loads(ws.recv(timeout=TIMEOUT)) == posted
        assert json.loads(read_event(lines)["data"]) == posted
        ws.send(json.dumps({"text": "from b"}))
        from_b = json.loads(ws.recv(timeout=TIMEOUT))
        assert json.loads(read_event(lines)["data"]) == from_b
        history_a = httpx.get(f"{a.base_url}/messages").json()
        assert history_a == httpx.get(f"{b.base_url}/messages").json()
        assert history_a == [posted, from_b]

        shared.stop()
        assert post(a.base_url, "lost").status_code == 503
        assert httpx.get(f"{b.base_url}/messages").status_code == 503
        shared.start()
        after = post(a.base_url, "after the restart")
        assert after.status_code == 201
        # B's reader reconnected by itself: its clients get the message.
        assert json.loads(ws.recv(timeout=TIMEOUT)) == after.json()
        assert json.loads(read_event(lines)["data"]) == after.json()
    for server in (a, b):
        assert server.server_errors() == [], server.stderr()


@pytest.mark.parametrize(
    "command",
    [
        lambda port: uvicorn(port, "--workers", "2"),
        gunicorn,
        granian,
    ],
    ids=["uvicorn-workers", "gunicorn", "granian"],
)
def test_two_workers_on_one_port_deliver_each_message_once_to_each_client(
    shared: RedisServer, tmp_path: Path, command: Callable[[int], list[str]]
) -> None:
    port = free_port()
    with serve(command(port), port, tmp_path, "workers") as server, ExitStack() as stack:
        # Many connections, so that both workers get some.
        sockets = [
            stack.enter_context(connect(f"{server.ws_url}/ws", open_timeout=TIMEOUT))
            for _ in range(20)
        ]
        sent = [f"message {number}" for number in range(5)]
        for text in sent:
            assert post(server.base_url, text).status_code == 201
        for ws in sockets:
            got = [json.loads(ws.recv(timeout=TIMEOUT))["text"] for _ in sent]
            assert got == sent
            with pytest.raises(TimeoutError):  # and nothing twice
                ws.recv(timeout=0.05)
        assert texts(httpx.get(f"{server.base_url}/messages").json()) == sent


def test_without_redis_two_workers_split_the_room(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What scaling-out.md warns of: without Redis, two workers are two rooms."""
    monkeypatch.delenv("REDIS_URL", raising=False)
    port = free_port()
    command = uvicorn(port, "--workers", "2")
    with serve(command, port, tmp_path, "split") as server, ExitStack() as stack:
        sockets = [
            stack.enter_context(connect(f"{server.ws_url}/ws", open_timeout=TIMEOUT))
            for _ in range(20)
        ]
        # Ten posts, each a new connection, which the kernel gives to either worker.
        sent = [f"message {number}" for number in range(10)]
        for text in sent:
            assert post(server.base_url, text).status_code == 201
        reached = {text: 0 for text in sent}
        # Everything sent is on its way: a second for the first socket, then the
        # others have had it in their buffers for as long.
        wait = 1.0
        for ws in sockets:
            with contextlib.suppress(TimeoutError):
                while True:
                    reached[json.loads(ws.recv(timeout=wait))["text"]] += 1
            wait = 0.05
    # A message reaches only the clients of the worker that took its POST: with the
    # connections spread over two workers, some messages miss some clients.
    assert any(count < len(sockets) for count in reached.values()), reached


# hypercorn is left out: its own SIGTERM handling runs at once, beside the example's,
# and closes the WebSockets itself (1011) without waiting. granian too: one run in four
# saw the connection dropped (1006) instead of closed with 1001 (see scaling-out.md).
@pytest.mark.parametrize("command", [uvicorn, gunicorn], ids=["uvicorn", "gunicorn"])
def test_sigterm_closes_websockets_with_1001_and_ends_event_streams(
    shared: RedisServer, tmp_path: Path, command: Callable[[int], list[str]]
) -> None:
    port = free_port()
    with (
        serve(command(port), port, tmp_path, "sigterm") as server,
        connect(f"{server.ws_url}/ws", open_timeout=TIMEOUT) as ws,
        httpx.Client(timeout=TIMEOUT) as client,
        client.stream("GET", f"{server.base_url}/events") as events,
    ):
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=TIMEOUT)
        assert ws.close_code == 1001
        assert list(events.iter_lines()) == []  # the stream ends, empty
        server.process.wait(timeout=TIMEOUT)
        assert time.monotonic() - started < 5
    assert server.process.returncode in (0, -signal.SIGTERM)
    assert server.server_errors() == [], server.stderr()


# nginx ------------------------------------------------------------------------------------


# As deployment.md starts the servers behind nginx.
BEHIND_NGINX = ("--root-path", "/chat", "--proxy-headers", "--forwarded-allow-ips", "127.0.0.1")


def nginx_config(tmp_path: Path, listen: int, ports: tuple[int, int]) -> Path:
    """A main config around examples/chat/nginx.conf, moved to free ports and tmp_path."""
    site = (REPO_ROOT / "examples" / "chat" / "nginx.conf").read_text()
    assert "127.0.0.1:8000;" in site and "127.0.0.1:8001;" in site and "listen 8080;" in site
    site = (
        site.replace("127.0.0.1:8000;", f"127.0.0.1:{ports[0]};")
        .replace("127.0.0.1:8001;", f"127.0.0.1:{ports[1]};")
        .replace("listen 8080;", f"listen 127.0.0.1:{listen};")
    )
    (tmp_path / "chat.conf").write_text(site)
    for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / name).mkdir()
    # As root, nginx's workers run as "nobody" unless told otherwise.
    user = "user root;\n" if os.geteuid() == 0 else ""
    main = f"""{user}pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log {tmp_path}/access.log;
    client_body_temp_path {tmp_path}/body;
    proxy_temp_path {tmp_path}/proxy;
    fastcgi_temp_path {tmp_path}/fastcgi;
    uwsgi_temp_path {tmp_path}/uwsgi;
    scgi_temp_path {tmp_path}/scgi;
    include {tmp_path}/chat.conf;
}}
"""
    path = tmp_path / "nginx.conf"
    path.write_text(main)
    return path


def test_nginx_in_front_of_two_processes(shared: RedisServer, tmp_path: Path) -> None:
    need(NGINX, "no nginx on the PATH: apt-get install nginx")
    assert NGINX is not None
    ports = free_port(), free_port()
    listen = free_port()
    config = nginx_config(tmp_path, listen, ports)
    check = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(config)],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    nginx_command = [NGINX, "-p", str(tmp_path), "-c", str(config), "-g", "daemon off;"]
    with (
        serve(uvicorn(ports[0], *BEHIND_NGINX), ports[0], tmp_path, "a"),
        serve(uvicorn(ports[1], *BEHIND_NGINX), ports[1], tmp_path, "b"),
        start_process(nginx_command, name="nginx", port=listen, tmp_dir=tmp_path) as nginx,
        httpx.Client(timeout=TIMEOUT) as client,
    ):
        for prefix in ("", "/chat"):
            base = f"{nginx.base_url}{prefix}"
            page = client.get(f"{base}/")
            assert page.status_code == 200 and 'new URL("ws"' in page.text
            ws_url = f"{nginx.ws_url}{prefix}/ws"
            with (
                connect(ws_url, open_timeout=TIMEOUT) as ws,
                client.stream("GET", f"{base}/events") as events,
            ):
                lines = events.iter_lines()
                ws.send(json.dumps({"text": f"via nginx{prefix}"}))
                sent = json.loads(ws.recv(timeout=TIMEOUT))
                assert sent["text"] == f"via nginx{prefix}"
                # Arrives while the stream is still open: nginx does not buffer it.
                assert json.loads(read_event(lines)["data"]) == sent
                later = post(base, "second").json()
                assert json.loads(read_event(lines)["data"]) == later
        stop(nginx.process)
