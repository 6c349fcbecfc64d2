"""Peak memory of a uvicorn server while 1 GiB streams through it, each way.

``bare_big`` and ``bareasgi_big`` below, each direction in a fresh pinned uvicorn warmed up
with 16 MiB: the growth of ``VmHWM`` over the transfer, after ``clear_refs`` (target for
bareasgi: under 32 MiB). Linux only; method: docs/project/benchmarks.md.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import harness
from apps import Receive, Scope, Send

from bareasgi import Application, text_response

MIB = 1024 * 1024
CHUNK_SIZE = 64 * 1024
WARMUP_SIZE = 16 * MIB
TARGET_MIB = 32.0
TIMEOUT_S = 300.0
OCTETS = b"application/octet-stream"


async def fresh_chunks(size: int) -> AsyncIterator[bytes]:
    """``size`` zero bytes in 64 KiB chunks, each chunk a new object."""
    whole, rest = divmod(size, CHUNK_SIZE)
    for _ in range(whole):
        yield bytes(CHUNK_SIZE)
    if rest:
        yield bytes(rest)


def stream_headers(size: int) -> list[tuple[bytes, bytes]]:
    return [(b"content-type", OCTETS), (b"content-length", str(size).encode())]


async def _stream(scope: Any, info: Any, matches: Any, content: Any) -> Any:
    return 200, stream_headers(matches["size"]), fresh_chunks(matches["size"])


async def _upload(scope: Any, info: Any, matches: Any, content: Any) -> Any:
    digest, size = hashlib.sha256(), 0
    async for chunk in content:
        digest.update(chunk)
        size += len(chunk)
    return text_response(200, None, f"{size} {digest.hexdigest()}")


bareasgi_big = Application()
bareasgi_big.http_router.add({"GET"}, "/stream/{size:int}", _stream)
bareasgi_big.http_router.add({"POST"}, "/upload", _upload)


async def bare_big(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["path"].startswith("/stream/"):
        size = int(scope["path"][len("/stream/"):])
        await send({"type": "http.response.start", "status": 200,
                    "headers": stream_headers(size)})
        async for chunk in fresh_chunks(size):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return
    digest, size, more = hashlib.sha256(), 0, True
    while more:
        message = await receive()
        digest.update(message.get("body", b""))
        size += len(message.get("body", b""))
        more = message.get("more_body", False)
    body = f"{size} {digest.hexdigest()}".encode()
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def transfer(port: int, direction: str, size: int) -> None:
    """GET /stream/SIZE, or POST SIZE bytes in 64 KiB chunks to /upload, reading the answer
    into one reused buffer; checks the size streamed, or the size and digest answered."""
    conn = http.client.HTTPConnection(harness.HOST, port, timeout=TIMEOUT_S)
    digest, received, buffer = hashlib.sha256(), 0, memoryview(bytearray(256 * 1024))
    try:
        if direction == "stream":
            conn.request("GET", f"/stream/{size}")
        else:
            chunk = bytes(range(256)) * (CHUNK_SIZE // 256)
            conn.putrequest("POST", "/upload")
            conn.putheader("content-type", "application/octet-stream")
            conn.putheader("content-length", str(size))
            conn.endheaders()
            for start in range(0, size, CHUNK_SIZE):
                conn.send(chunk[: size - start])
                digest.update(chunk[: size - start])
        response = conn.getresponse()
        while n := response.readinto(buffer):
            received += n
    finally:
        conn.close()
    expected = str(size) if direction == "stream" else f"{size} {digest.hexdigest()}"
    got = str(received) if direction == "stream" else buffer[:received].tobytes().decode()
    if response.status != 200 or got != expected:
        raise RuntimeError(f"{direction}: {response.status} {got!r}, expected {expected!r}")


def measure_one(app: str, direction: str, size: int) -> dict[str, Any]:
    """Start a fresh server, warm it up, and measure the peak RSS growth of one transfer."""
    with harness.serve(harness.uvicorn(f"memory:{app}_big"), app) as server:
        transfer(server.port, direction, WARMUP_SIZE)
        try:
            Path(f"/proc/{server.pid}/clear_refs").write_text("5")  # peak := current RSS
            reset = True
        except OSError:
            reset = False
        baseline_kib = harness.status_kib(server.pid, "VmRSS" if reset else "VmHWM")
        start = time.perf_counter()
        transfer(server.port, direction, size)
        seconds = time.perf_counter() - start
        peak_kib = harness.status_kib(server.pid, "VmHWM")
    return {
        "app": app, "direction": direction, "size_bytes": size,
        "baseline_rss_mib": baseline_kib / 1024, "peak_rss_mib": peak_kib / 1024,
        "growth_mib": max(0, peak_kib - baseline_kib) / 1024,
        "seconds": seconds, "mib_per_s": size / MIB / seconds,
        "baseline": "VmRSS after clear_refs" if reset else "VmHWM before (clear_refs refused)",
    }


def measure(settings: dict[str, Any]) -> dict[str, Any]:
    if not Path("/proc/self/status").exists():
        sys.exit("memory.py needs Linux's /proc")
    results = []
    for direction in ("stream", "upload"):
        for app in ("bare", "bareasgi"):
            results.append(measure_one(app, direction, settings["size_mib"] * MIB))
            harness.progress(f"  {app:>8} {direction}: +{results[-1]['growth_mib']:.1f} MiB "
                             f"peak RSS ({results[-1]['mib_per_s']:.0f} MiB/s)")
    return {"results": results}


def pin_client() -> bool:
    """Pin this process, the client, to the client's core; False when that is not possible."""
    if not harness.can_pin() or not hasattr(os, "sched_setaffinity"):
        return False
    os.sched_setaffinity(0, {harness.CLIENT_CPU})
    return True


def markdown(doc: dict[str, Any]) -> list[str]:
    settings = doc["settings"]
    return [
        f"Peak RSS growth of the uvicorn process while {settings['size_mib']} MiB go through "
        f"it in {settings['chunk_kib']} KiB chunks, after a {settings['warmup_mib']} MiB "
        "warm-up; the bare ASGI app doing the same is the reference.", "",
        *harness.table(["app", "direction", "baseline RSS (MiB)", "peak growth (MiB)", "MiB/s"],
                       [[r["app"], r["direction"], f"{r['baseline_rss_mib']:.1f}",
                         f"**{r['growth_mib']:.1f}**" if r["app"] == "bareasgi"
                         else f"{r['growth_mib']:.1f}", f"{r['mib_per_s']:.0f}"]
                        for r in doc["results"]], numeric_from=2),
    ]


if __name__ == "__main__":
    harness.main(__doc__, "memory", measure, markdown, {
        "chunk_kib": CHUNK_SIZE // 1024, "warmup_mib": WARMUP_SIZE // MIB,
        "target_mib": TARGET_MIB, "pinned": pin_client(),
        "server": "uvicorn --http httptools --loop uvloop"},
        {"size_mib": (1024, 256, "MiB transferred each way")})
