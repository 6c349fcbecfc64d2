"""Load and soak: many mixed requests through a real uvicorn, looking for leaks and errors.

Not a timing benchmark: it sends the kinds of ``WEIGHTS`` to ``soak_app.py`` and reports
answers by kind, 5xx the app did not choose, RSS at start, checkpoint and end, tasks left
and errors in the server's log; docs/project/reliability-checks.md has the details::

    python benchmarks/soak.py --requests 100000 --concurrency 64
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import socket
import struct
import sys
import tempfile
import time
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import WebSocketException

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: the server fixture lives in tests/
    sys.path.insert(0, str(ROOT))
if str(ROOT / "benchmarks") not in sys.path:  # imported by tests/test_soak.py
    sys.path.append(str(ROOT / "benchmarks"))

from harness import environment, status_kib  # noqa: E402

from tests import realserver  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "soak.json"
APP = "benchmarks.soak_app:app"
REQUEST_TIMEOUT = 30.0
SETTLE_TIMEOUT = 10.0

# Kinds of request and how often each is sent.
WEIGHTS = {"plain": 30, "json": 15, "stream": 15, "upload": 15, "websocket": 10, "ws_reset": 3,
           "not_found": 10, "unavailable": 5}
ABORTABLE = {"stream", "upload", "websocket"}
STREAM_CHUNKS, STREAM_SIZE, STREAM_DELAY = 8, 4096, 0.001
UPLOAD_CHUNKS, UPLOAD_SIZE = 8, 8192
WS_MESSAGES = 3


class AbortUpload(Exception):
    """Raised by an upload's body to make the client drop the connection part-way."""


class Unexpected(Exception):
    """The server answered something the soak app never answers to that request."""


class Client:
    """Sends the requests of one kind each (the method named after the kind), checking
    every answer, and counts what it saw."""

    def __init__(self, http: httpx.AsyncClient, ws_url: str) -> None:
        self.http, self.ws_url = http, ws_url
        self.outcomes: Counter[tuple[str, str]] = Counter()
        self.unchosen_5xx, self.completed, self.unexpected = 0, 0, list[str]()

    async def run(self, kind: str, abort: bool) -> None:
        job: Callable[[bool], Awaitable[str]] = getattr(self, kind)
        try:
            outcome = await asyncio.wait_for(job(abort), REQUEST_TIMEOUT)
        except (Unexpected, httpx.HTTPError, WebSocketException, OSError,
                asyncio.TimeoutError) as error:
            outcome = "unexpected"
            if len(self.unexpected) < 50:
                detail = "" if isinstance(error, Unexpected) else f"{type(error).__name__}: "
                self.unexpected.append(f"{kind}: {detail}{error}")
        self.outcomes[(kind, outcome)] += 1
        self.completed += 1

    def _expect(self, response: httpx.Response, status: int, body: object = None) -> str:
        """The status as the outcome, if it and the ``body`` (bytes, or what the JSON says)
        are what the soak app answers; else Unexpected."""
        if response.status_code != status:
            if response.status_code >= 500:  # only /unavailable's 503 is the app's choice
                self.unchosen_5xx += 1
            raise Unexpected(f"{response.status_code} {response.text[:100]!r}")
        if body is not None and body != (response.content if isinstance(body, bytes)
                                         else response.json()):
            raise Unexpected(f"body {response.text[:80]!r}")
        return str(status)

    async def plain(self, abort: bool) -> str:
        return self._expect(await self.http.get("/plain"), 200, b"ok")

    async def json(self, abort: bool) -> str:
        items = [random.randrange(1000) for _ in range(random.randrange(1, 50))]
        response = await self.http.post("/json", json={"items": items})
        return self._expect(response, 200, {"count": len(items), "sum": sum(items)})

    async def stream(self, abort: bool) -> str:
        params = {"chunks": STREAM_CHUNKS, "size": STREAM_SIZE, "delay": STREAM_DELAY}
        async with self.http.stream("GET", "/stream", params=params) as response:
            outcome = self._expect(response, 200)
            received = 0
            async for chunk in response.aiter_raw():
                received += len(chunk)
                if abort:
                    return "aborted"  # leaving the block closes the connection
        if received != STREAM_CHUNKS * STREAM_SIZE:
            raise Unexpected(f"{received} bytes streamed")
        return outcome

    async def upload(self, abort: bool) -> str:
        chunk = random.randbytes(UPLOAD_SIZE)

        async def body() -> AsyncIterator[bytes]:
            for index in range(UPLOAD_CHUNKS):
                if abort and index == UPLOAD_CHUNKS // 2:
                    raise AbortUpload
                yield chunk
                await asyncio.sleep(0)

        try:
            response = await self.http.post("/upload", content=body())
        except AbortUpload:
            return "aborted"
        crc = zlib.crc32(chunk * UPLOAD_CHUNKS)
        return self._expect(response, 200, {"length": len(chunk) * UPLOAD_CHUNKS, "crc32": crc})

    async def websocket(self, abort: bool) -> str:
        async with ws_connect(f"{self.ws_url}/ws", open_timeout=REQUEST_TIMEOUT, close_timeout=5,
                              compression=None) as ws:
            for index in range(WS_MESSAGES):
                message = f"message {index}"
                await ws.send(message)
                echo = await ws.recv()
                if echo != message:
                    raise Unexpected(f"echo {echo!r} for {message!r}")
                if abort:  # drop without a closing handshake, as a client that vanished
                    ws.transport.abort()
                    return "aborted"
        return "closed"

    async def ws_reset(self, abort: bool) -> str:
        async with ws_connect(f"{self.ws_url}/ws/flood", open_timeout=REQUEST_TIMEOUT,
                              close_timeout=5, compression=None, max_size=None) as ws:
            message = await ws.recv()
            if len(message) != 65536:
                raise Unexpected(f"flood message of {len(message)} bytes")
            # Close with a TCP reset (SO_LINGER 0), as a client whose connection broke.
            sock = ws.transport.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            ws.transport.abort()
        return "reset"

    async def not_found(self, abort: bool) -> str:
        response = await self.http.get(f"/missing/{random.randrange(10**6)}")
        return self._expect(response, 404)

    async def unavailable(self, abort: bool) -> str:
        return self._expect(await self.http.get("/unavailable"), 503)


async def tasks(http: httpx.AsyncClient, baseline: int | None = None) -> dict[str, Any]:
    """The soak app's task census; given a ``baseline``, once the count is back to it (or
    after ``SETTLE_TIMEOUT`` seconds: connections closed by clients take a moment)."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while True:
        response = await http.get("/admin/tasks")
        answer: dict[str, Any] = response.raise_for_status().json()
        if baseline is None or answer["tasks"] <= baseline or time.monotonic() > deadline:
            return answer
        await asyncio.sleep(0.1)


async def drive(base_url: str, ws_url: str, pid: int, requests: int, concurrency: int,
                checkpoint: int, abort_rate: float, seed: int, max_seconds: float,
                ) -> dict[str, Any]:
    """Send the load in two phases, measuring between them with nothing in flight."""
    rng = random.Random(seed)
    kinds = rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()), k=requests)
    aborts = [kind in ABORTABLE and rng.random() < abort_rate for kind in kinds]
    random.seed(seed)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=base_url, limits=limits,
                                 timeout=REQUEST_TIMEOUT) as http:
        client = Client(http, ws_url)
        baseline, rss_start, issued = await tasks(http), status_kib(pid, "VmRSS"), 0

        async def worker(stop_at: int) -> None:
            nonlocal issued
            while issued < stop_at and time.monotonic() < started + max_seconds:
                index = issued
                issued += 1
                await client.run(kinds[index], aborts[index])

        phases = {}
        for name, stop_at in (("checkpoint", checkpoint), ("end", requests)):
            await asyncio.gather(*(worker(stop_at) for _ in range(concurrency)))
            phases[name] = {"requests": client.completed, "rss_kib": status_kib(pid, "VmRSS"),
                            "seconds": round(time.monotonic() - started, 1)}
        elapsed = time.monotonic() - started
        final = await tasks(http, baseline["tasks"])
    rss = {name: phases[name]["rss_kib"] for name in ("checkpoint", "end")}
    return {
        "completed": client.completed, "timed_out": client.completed < requests,
        "elapsed_s": round(elapsed, 1),
        "requests_per_s": round(client.completed / elapsed) if elapsed else None,
        "aborted_on_purpose": sum(aborts[: client.completed]),
        "outcomes": {kind: {outcome: n for (k, outcome), n in sorted(client.outcomes.items())
                            if k == kind} for kind in WEIGHTS},
        "unchosen_5xx": client.unchosen_5xx, "unexpected": client.unexpected,
        "unexpected_count": sum(n for (_, o), n in client.outcomes.items() if o == "unexpected"),
        "rss_kib": {"start": rss_start, **rss, "peak": status_kib(pid, "VmHWM")},
        "rss_ratio_end_to_checkpoint": round(rss["end"] / rss["checkpoint"], 3),
        "phases": phases,
        "tasks": {"baseline": baseline["tasks"], "end": final["tasks"],
                  "left": final["tasks"] - baseline["tasks"], "running_at_end": final["running"],
                  "running_at_baseline": baseline["running"]},
    }


def run(requests: int = 100_000, concurrency: int = 64, *, checkpoint: int = 10_000,
        abort_rate: float = 0.05, seed: int = 1, max_seconds: float = 1800.0,
        output: Path | None = RESULTS) -> dict[str, Any]:
    """Serve the soak app, send the load, stop the server; return (and write) the results."""
    checkpoint = max(1, min(checkpoint, requests))
    port = realserver.free_port()
    command = [sys.executable, "-m", "uvicorn", APP, "--host", "127.0.0.1", "--port", str(port),
               "--no-access-log", "--log-level", "warning"]
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        with realserver.start_process(command, name="uvicorn", port=port, tmp_dir=Path(tmp),
                                      probe_path="/plain") as server:
            results = asyncio.run(drive(server.base_url, server.ws_url, server.process.pid,
                                        requests, concurrency, checkpoint, abort_rate, seed,
                                        max_seconds))
        log = server.stderr()  # read once stopped: the log includes the shutdown too
    results = {
        **environment(),
        "command": f"python benchmarks/soak.py --requests {requests} --concurrency {concurrency}",
        "server": f"python -m uvicorn {APP} --no-access-log --log-level warning",
        "requests": requests, "concurrency": concurrency, "checkpoint": checkpoint,
        "abort_rate": abort_rate, "seed": seed, **results,
        "server_exit_code": server.process.returncode,
        "server_errors": realserver.server_errors(log),
        "server_tracebacks": realserver.traceback_endings(log),
        "server_stderr_lines": len(log.splitlines()),
    }
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(results, indent=2) + "\n")
    return results


def summary(r: dict[str, Any]) -> str:
    """The results in a few lines of text."""
    rss, tasks, phases = r["rss_kib"], r["tasks"], r["phases"]
    return "\n".join([
        f"{r['completed']} of {r['requests']} requests, {r['concurrency']} clients, "
        f"{r['elapsed_s']} s ({r['requests_per_s']} requests/s), "
        f"{r['aborted_on_purpose']} aborted by the client on purpose",
        *(f"  {kind}: " + (", ".join(f"{o}: {n}" for o, n in outcomes.items()) or "-")
          for kind, outcomes in r["outcomes"].items()),
        f"5xx the app did not choose: {r['unchosen_5xx']}; unexpected answers or errors: "
        f"{r['unexpected_count']}",
        f"RSS: {rss['start'] / 1024:.1f} MiB at start, {rss['checkpoint'] / 1024:.1f} after "
        f"{phases['checkpoint']['requests']}, {rss['end'] / 1024:.1f} after "
        f"{phases['end']['requests']} (end / checkpoint {r['rss_ratio_end_to_checkpoint']:.3f}), "
        f"peak {rss['peak'] / 1024:.1f}",
        f"tasks: baseline {tasks['baseline']}, end {tasks['end']}, left {tasks['left']}",
        f"server: exit code {r['server_exit_code']}, {len(r['server_errors'])} errors and "
        f"{len(r['server_tracebacks'])} tracebacks in stderr",
        *(f"unexpected: {problem}" for problem in r["unexpected"][:10]),
        *(f"stderr: {line}" for line in r["server_errors"][:10] + r["server_tracebacks"][:10]),
    ])


def main() -> int:
    cli = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    cli.add_argument("--requests", type=int, default=100_000, help="requests to send")
    cli.add_argument("--concurrency", type=int, default=64, help="concurrent clients")
    cli.add_argument("--json", type=Path, default=RESULTS, help="where to write the results")
    args = cli.parse_args()
    if args.requests < 1 or args.concurrency < 1:
        cli.error("--requests and --concurrency must be positive")
    results = run(args.requests, args.concurrency, output=args.json)
    print(f"{summary(results)}\n\nwritten to {args.json}")
    healthy = (results["unchosen_5xx"] == 0 and results["unexpected_count"] == 0
               and results["tasks"]["left"] <= 0 and not results["server_errors"]
               and not results["server_tracebacks"])
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
