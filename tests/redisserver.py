"""A real redis-server for tests: on a free port, with no persistence, always stopped.

``start_redis(tmp_dir)`` is a context manager yielding a :class:`RedisServer` once it
answers ``PING``; ``RedisServer.stop()`` and ``start()`` take it away and bring it back on
the same port (with no data: nothing is saved), as a restart in production would.
Without ``redis-server`` on the PATH, ``need_redis()`` skips the test (fails it in CI).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.realserver import free_port, stop
from tests.requirements import need

REDIS_SERVER = shutil.which("redis-server")
STARTUP_TIMEOUT = 10.0


def need_redis() -> None:
    """Skip (locally) or fail (in CI) without Debian's redis-server."""
    need(REDIS_SERVER, "no redis-server on the PATH: apt-get install redis-server")


def ping(port: int) -> bool:
    """True if a Redis server answers PING on 127.0.0.1:``port``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """A redis-server process on 127.0.0.1:``port``, which can be stopped and started again."""

    def __init__(self, port: int, tmp_dir: Path) -> None:
        self.port = port
        self.tmp_dir = tmp_dir
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start the server and wait until it answers PING."""
        assert REDIS_SERVER is not None
        self.starts += 1
        log = self.tmp_dir / f"redis-{self.port}-{self.starts}.log"
        command = [
            REDIS_SERVER,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.tmp_dir),
            "--logfile", str(log),
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not ping(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                text = log.read_text(errors="replace") if log.exists() else ""
                raise RuntimeError(f"redis-server did not start on {self.port}:\n{text}")
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop the server (its data goes with it)."""
        if self.process is not None:
            stop(self.process)
            self.process = None


@contextmanager
def start_redis(tmp_dir: Path) -> Iterator[RedisServer]:
    """A redis-server on a free port, stopped on the way out."""
    need_redis()
    server = RedisServer(free_port(), tmp_dir)
    server.start()
    try:
        yield server
    finally:
        server.stop()
