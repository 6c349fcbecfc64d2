"""Real uvicorn, hypercorn and granian processes for tests, started and always stopped.

``start_server("uvicorn", "package.module:app", tmp_dir=tmp_path)`` is a context manager:
it starts ``python -m uvicorn`` (``hypercorn``, ``granian``) from the root of the repository
on a free port, polls until the server answers an HTTP request (no fixed sleeps), yields a
:class:`Server`, and on the way out terminates the process, killing its whole process group
if it does not stop in time. The server's stderr goes to a file in ``tmp_dir``;
:meth:`Server.server_errors` picks out the lines in which the server itself reports that
the application broke the ASGI protocol or raised.

:func:`start_process` does the same for any command that ends up serving HTTP on a given
port, such as an example's ``if __name__ == "__main__":`` block.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
STARTUP_TIMEOUT = 20.0
SHUTDOWN_TIMEOUT = 10.0
POLL_INTERVAL = 0.05
# granian logs to stdout by default; this sends its log to stderr, where the tests read it.
GRANIAN_LOG_CONFIG = REPO_ROOT / "tests" / "granian-log.json"

ServerKind = Literal["uvicorn", "hypercorn", "granian"]
SERVER_KINDS: tuple[ServerKind, ...] = ("uvicorn", "hypercorn")
# The examples' real-server matrix adds granian (Rust, ASGI interface), run from the dev
# extra; the starter tests install only the first two.
EXAMPLE_SERVER_KINDS: tuple[ServerKind, ...] = (*SERVER_KINDS, "granian")

# What the servers themselves log when an application misbehaves.
SERVER_ASGI_ERRORS = (
    "Exception in ASGI application",  # uvicorn
    "ASGI callable returned without",  # uvicorn
    "Exception in 'lifespan' protocol",  # uvicorn
    "'lifespan' protocol appears unsupported",  # uvicorn
    "Application startup failed",  # uvicorn
    "Application shutdown failed",  # uvicorn
    "Error in ASGI Framework",  # hypercorn
    "ASGI Framework Lifespan error",  # hypercorn
    "Application callable raised an exception",  # granian
    "Unexpected exit from worker",  # granian
)

T = TypeVar("T")


def server_errors(log: str) -> list[str]:
    """The lines of ``log`` in which a server reports an ASGI error."""
    return [line for line in log.splitlines() if any(error in line for error in SERVER_ASGI_ERRORS)]


def traceback_endings(log: str) -> list[str]:
    """The exception line ending each traceback in ``log``."""
    endings = []
    in_traceback = False
    for line in log.splitlines():
        if line.startswith("Traceback (most recent call last):"):
            in_traceback = True
        elif in_traceback and line and not line[0].isspace():
            endings.append(line)
            in_traceback = False
    return endings


@dataclass
class Server:
    """A running server process, answering on ``base_url``."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    stderr_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def server_errors(self) -> list[str]:
        return server_errors(self.stderr())


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing is listening on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def server_command(
    kind: ServerKind, target: str, port: int, extra_args: Sequence[str] = ()
) -> list[str]:
    """The command line serving the ASGI app ``target`` (``module:attribute``) on ``port``.

    ``extra_args`` are added to the server's own options, such as ``["--ws", "wsproto"]``.
    """
    if kind == "uvicorn":
        return [sys.executable, "-m", "uvicorn", target, "--port", str(port), *extra_args]
    if kind == "granian":
        return [
            sys.executable, "-m", "granian", "--interface", "asgi",
            "--host", "127.0.0.1", "--port", str(port),
            "--log-config", str(GRANIAN_LOG_CONFIG), *extra_args, target,
        ]  # fmt: skip
    return [sys.executable, "-m", "hypercorn", target, "--bind", f"127.0.0.1:{port}", *extra_args]


def poll(check: Callable[[], T], timeout: float) -> T:
    """Call ``check`` until it returns something truthy or ``timeout`` seconds pass.

    Returns the last result, truthy or not.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(POLL_INTERVAL)


def _wait_until_answering(
    server: Server, probe_path: str, probe_status: int | None, timeout: float
) -> None:
    url = f"{server.base_url}{probe_path}"
    last: str = "no answer"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(
                f"{server.name} exited with {server.process.returncode} before answering:\n"
                f"{server.stderr()}"
            )
        try:
            status = httpx.get(url, timeout=1.0).status_code
        except httpx.TransportError as error:
            last = repr(error)
        else:
            if probe_status is None or status == probe_status:
                return
            last = f"status {status}, expected {probe_status}"
        time.sleep(POLL_INTERVAL)
    pytest.fail(
        f"{server.name} did not answer GET {probe_path} within {timeout} s ({last}):\n"
        f"{server.stderr()}"
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate ``process`` (started in its own session), then kill whatever is left of it.

    SIGTERM goes to the server's main process only, so that it shuts down as it would in
    production (lifespan shutdown included). If it has not exited within
    ``SHUTDOWN_TIMEOUT`` seconds, the whole process group is killed; so are any worker
    processes left behind once it has exited.
    """
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=SHUTDOWN_TIMEOUT)
        except subprocess.TimeoutExpired:
            _kill_group(process.pid)
            process.wait(timeout=SHUTDOWN_TIMEOUT)
    _kill_group(process.pid)


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # the group is empty: all have exited
        os.killpg(pgid, signal.SIGKILL)


@contextmanager
def start_process(
    command: Sequence[str],
    *,
    name: str,
    port: int,
    tmp_dir: Path,
    probe_path: str = "/",
    probe_status: int | None = 200,
    startup_timeout: float = STARTUP_TIMEOUT,
    cwd: Path = REPO_ROOT,
    env: Mapping[str, str] | None = None,
) -> Iterator[Server]:
    """Run ``command`` in ``cwd`` (the repository root); yield once it answers on ``port``.

    ``probe_path`` is polled with GET until the answer has ``probe_status`` (any status
    if it is ``None``). ``env`` is added to this process's environment. The process is
    stopped on the way out, whatever happened.
    """
    stderr_path = tmp_dir / f"{name}.stderr.log"
    with stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            list(command),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            start_new_session=True,
        )
    server = Server(name=name, process=process, port=port, stderr_path=stderr_path)
    try:
        _wait_until_answering(server, probe_path, probe_status, startup_timeout)
        yield server
    finally:
        stop(process)


@contextmanager
def start_server(
    kind: ServerKind,
    target: str,
    *,
    tmp_dir: Path,
    probe_path: str = "/",
    probe_status: int | None = 200,
    startup_timeout: float = STARTUP_TIMEOUT,
    extra_args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> Iterator[Server]:
    """Serve ``target`` (``module:attribute``) with a real ``kind`` server on a free port."""
    port = free_port()
    with start_process(
        server_command(kind, target, port, extra_args),
        name=kind,
        port=port,
        tmp_dir=tmp_dir,
        probe_path=probe_path,
        probe_status=probe_status,
        startup_timeout=startup_timeout,
        env=env,
    ) as server:
        yield server
