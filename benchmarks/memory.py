"""Peak memory of a uvicorn server while 1 GiB streams through it, each way.

What is measured: how much the resident memory of the server process grows at its peak
(``VmHWM`` in ``/proc/PID/status``) while

- *stream*: the app answers ``GET /stream/1073741824`` with 1 GiB from a writer that yields
  a new 64 KiB chunk at a time, to a client that reads and discards it;
- *upload*: the client sends 1 GiB in 64 KiB chunks (with a content-length) to
  ``POST /upload``, and the app reads the body chunk by chunk as it arrives (bareasgi:
  ``async for chunk in content``), hashing each with SHA-256, and answers the size and
  digest, which the client checks.

The target for bareasgi is a growth under 32 MiB either way: nothing may hold on to the
body. The bare ASGI app doing the same is measured as a reference (what uvicorn itself
costs). The apps are ``bareasgi_big`` and ``bare_big`` in ``server_apps.py``.

How: for each (app, direction) a fresh uvicorn (httptools, uvloop, one process, pinned to
core 0) is started; a 16 MiB transfer warms it up (imports, buffers, allocator arenas);
then the peak is reset (``echo 5 > /proc/PID/clear_refs``, Linux; where that is not
allowed, the peak so far is the baseline instead), ``VmRSS`` is the baseline, the 1 GiB
transfer runs (client pinned to core 1, loopback only, bounded by a timeout), and the
growth is ``VmHWM - baseline``. Linux only (``/proc``).

Run::

    python benchmarks/memory.py [--size-mib 1024] [--json PATH]

Output: a Markdown table on stdout, progress on stderr, the results as JSON in
``benchmarks/results/memory.json`` (or ``--json PATH``).
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import sys
import time
from pathlib import Path
from typing import Any

from common import (
    CLIENT_CPU,
    HOST,
    RESULTS_DIR,
    UvicornServer,
    pin_this_process,
    results_parser,
    write_results,
)

MIB = 1024 * 1024
CHUNK_SIZE = 64 * 1024
WARMUP_SIZE = 16 * MIB
TARGET_MIB = 32.0
TIMEOUT_S = 300.0
APPS = {"bare": "bare_big", "bareasgi": "bareasgi_big"}
DIRECTIONS = ("stream", "upload")
DEFAULT_JSON = RESULTS_DIR / "memory.json"


# --- the server's memory --------------------------------------------------------------------


def status_kib(pid: int, field: str) -> int:
    """A ``VmXXX`` field of ``/proc/PID/status``, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


def reset_peak(pid: int) -> bool:
    """Reset the process's peak RSS to its current RSS; False if the kernel refuses."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


# --- the client -----------------------------------------------------------------------------


def download(port: int, size: int) -> None:
    """GET /stream/SIZE and read the body into one reused buffer, discarding it."""
    conn = http.client.HTTPConnection(HOST, port, timeout=TIMEOUT_S)
    try:
        conn.request("GET", f"/stream/{size}")
        response = conn.getresponse()
        if response.status != 200:
            raise RuntimeError(f"GET /stream: status {response.status}")
        buffer = memoryview(bytearray(256 * 1024))
        received = 0
        while True:
            n = response.readinto(buffer)
            if not n:
                break
            received += n
    finally:
        conn.close()
    if received != size:
        raise RuntimeError(f"GET /stream: received {received} bytes, expected {size}")


def upload(port: int, size: int) -> None:
    """POST SIZE bytes in 64 KiB chunks to /upload and check the size and digest answered."""
    chunk = bytes(range(256)) * (CHUNK_SIZE // 256)
    digest = hashlib.sha256()
    conn = http.client.HTTPConnection(HOST, port, timeout=TIMEOUT_S)
    try:
        conn.putrequest("POST", "/upload")
        conn.putheader("content-type", "application/octet-stream")
        conn.putheader("content-length", str(size))
        conn.endheaders()
        sent = 0
        while sent < size:
            piece = chunk[: size - sent]
            conn.send(piece)
            digest.update(piece)
            sent += len(piece)
        response = conn.getresponse()
        answer = response.read().decode()
    finally:
        conn.close()
    expected = f"{size} {digest.hexdigest()}"
    if response.status != 200 or answer != expected:
        raise RuntimeError(f"POST /upload: {response.status} {answer!r}, expected {expected!r}")


TRANSFERS = {"stream": download, "upload": upload}


# --- measurement ----------------------------------------------------------------------------


def measure_one(app: str, direction: str, size: int) -> dict[str, Any]:
    """Start a fresh server, warm it up, and measure the peak RSS growth of one transfer."""
    transfer = TRANSFERS[direction]
    with UvicornServer(APPS[app]) as server:
        transfer(server.port, WARMUP_SIZE)
        reset = reset_peak(server.pid)
        baseline_kib = status_kib(server.pid, "VmRSS" if reset else "VmHWM")
        start = time.perf_counter()
        transfer(server.port, size)
        seconds = time.perf_counter() - start
        peak_kib = status_kib(server.pid, "VmHWM")
    return {
        "app": app, "direction": direction, "size_bytes": size,
        "baseline_rss_mib": baseline_kib / 1024, "peak_rss_mib": peak_kib / 1024,
        "growth_mib": max(0, peak_kib - baseline_kib) / 1024,
        "seconds": seconds, "mib_per_s": size / MIB / seconds,
        "baseline": "VmRSS after clear_refs" if reset else "VmHWM before (clear_refs refused)",
    }


def markdown(results: list[dict[str, Any]]) -> str:
    lines = ["| app | direction | baseline RSS (MiB) | peak growth (MiB) | target | MiB/s |",
             "|---|---|---|---|---|---|"]
    for result in results:
        verdict = "met" if result["growth_mib"] < TARGET_MIB else "missed"
        target = f"< {TARGET_MIB:g} MiB: {verdict}" if result["app"] == "bareasgi" else "-"
        lines.append(f"| {result['app']} | {result['direction']} | "
                     f"{result['baseline_rss_mib']:.1f} | {result['growth_mib']:.1f} | "
                     f"{target} | {result['mib_per_s']:.0f} |")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = results_parser(__doc__, DEFAULT_JSON)
    parser.add_argument("--size-mib", type=int, default=1024,
                        help="MiB transferred each way (default 1024)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not Path("/proc/self/status").exists():
        print("memory.py needs Linux's /proc", file=sys.stderr)
        return 2
    pinned = pin_this_process(CLIENT_CPU)
    results = []
    for direction in DIRECTIONS:
        for app in APPS:
            result = measure_one(app, direction, args.size_mib * MIB)
            results.append(result)
            print(f"  {app:>8} {direction}: +{result['growth_mib']:.1f} MiB peak RSS "
                  f"({result['mib_per_s']:.0f} MiB/s)", file=sys.stderr)
    print(markdown(results))
    settings = {"size_mib": args.size_mib, "chunk_kib": CHUNK_SIZE // 1024,
                "warmup_mib": WARMUP_SIZE // MIB, "target_mib": TARGET_MIB, "pinned": pinned,
                "server": "uvicorn --http httptools --loop uvloop"}
    write_results(args.json, {"settings": settings, "results": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
