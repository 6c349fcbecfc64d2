"""Framework cost per request: bareasgi against a bare ASGI app and peer frameworks.

What is measured: the time, in microseconds, one request takes when an ASGI app is called
directly in-process - no server, no sockets, no HTTP parsing - so only the framework's own
work (routing, request/response objects, body handling) and the app's handler are timed.
The hand-written bare ASGI app in ``apps.py`` is the floor; every result is also given as
a ratio to it. Peers: Starlette, Falcon (``falcon.asgi.App``), BlackSheep and Asgineer.

Cases, identical in every framework (one app per case, built in ``apps.py``):
hello (text), json, route1 / routes1000 (``/route{i}/{a:int}/{b}`` with 1 or 1000 routes
registered, hitting route 500), stream (64 KiB in 4 KiB chunks from an async generator),
upload (a 1 MiB body in 64 KiB chunks, answered with its length) and websocket (accept,
echo one text message, close).

How: each (framework, case) runs in its own worker subprocess, every worker pinned to the
same core with ``taskset`` when possible (a shared machine's cores differ in speed). A
worker builds the app, checks once that it answers correctly (status 200 and the expected
body, or the websocket echo), warms up, and picks a batch size N so one batch takes about
``--target`` seconds.
The driver awaits ``app(scope, receive, send)`` N times in one coroutine under
``asyncio.run`` (default event loop), with a fresh scope dict and a fresh receive/send pair
per request, timed with ``time.perf_counter_ns``. ``receive`` behaves like uvicorn's: once
the request is delivered it blocks until the response is complete, then reports a
disconnect. Rounds are interleaved across frameworks (round 1 runs every framework once,
then round 2, ...; route1 and routes1000 share their rounds) and the median over rounds is
reported. Ratios are paired: the median over rounds of the ratio of two samples taken in the
same round (to bare, or routes1000 to route1), which a noisy machine disturbs far less than
the ratio of two medians.

Run (the peers are benchmark-only dependencies)::

    pip install -r benchmarks/requirements.txt
    python benchmarks/framework_cost.py [--rounds 9] [--target 0.3] [--json [PATH]]

Output: a Markdown table on stdout, progress on stderr. ``--json`` also writes the results,
with the date, machine and package versions, to ``benchmarks/results/framework_cost.json``
(or PATH), which ``report.py`` reads; ``run_all.py`` (``make bench``) runs it that way.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import IO, Any

from apps import (
    BUILDERS,
    CASE_NAMES,
    DISTRIBUTIONS,
    HELLO,
    MESSAGE,
    ROUTE_BODY,
    ROUTE_PATH,
    STREAM_CHUNK,
    STREAM_CHUNKS,
    UPLOAD_CHUNK,
    UPLOAD_CHUNKS,
    WS_TEXT,
    ASGIApp,
    Message,
    Scope,
)
from common import CLIENT_CPU, RESULTS_DIR, can_pin, pinned, write_results

DEFAULT_JSON = RESULTS_DIR / "framework_cost.json"
WORKER_CPU = CLIENT_CPU  # every worker runs on this core, so that none gets a faster one
MARKER = "@@bench "  # prefixes worker protocol lines, so stray prints cannot confuse us
CHECK_TIMEOUT_S = 5.0

# --- cases ----------------------------------------------------------------------------------

Check = Callable[[list[Message]], "str | None"]


@dataclass(frozen=True)
class Case:
    scope: Scope  # template; each request gets a fresh copy
    incoming: tuple[Message, ...]  # what receive() returns, in order
    final: Message  # what receive() returns once the response is complete
    check: Check
    must_read_body: bool = False


def http_scope(method: str, path: str, extra: list[tuple[bytes, bytes]]) -> Scope:
    headers = [(b"host", b"localhost:8000"), (b"user-agent", b"bench"), (b"accept", b"*/*")]
    return {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1", "method": method, "scheme": "http", "path": path,
        "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": headers + extra, "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


def ws_scope() -> Scope:
    headers = [
        (b"host", b"localhost:8000"), (b"upgrade", b"websocket"), (b"connection", b"Upgrade"),
        (b"sec-websocket-version", b"13"), (b"sec-websocket-key", b"dGhlIHNhbXBsZSBub25jZQ=="),
    ]
    return {
        "type": "websocket", "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1", "scheme": "ws", "path": "/ws", "raw_path": b"/ws",
        "query_string": b"", "root_path": "", "headers": headers,
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000), "subprotocols": [],
    }


def header(start: Message, name: bytes) -> bytes:
    for key, value in start.get("headers", []):
        if bytes(key).lower() == name:
            return bytes(value)
    return b""


def http_check(content_type: bytes, expected: Callable[[bytes], bool]) -> Check:
    def check(sent: list[Message]) -> str | None:
        starts = [m for m in sent if m["type"] == "http.response.start"]
        if len(starts) != 1 or starts[0]["status"] != 200:
            return f"expected one 200 response start, got {starts!r}"
        if not header(starts[0], b"content-type").startswith(content_type):
            return f"content-type {header(starts[0], b'content-type')!r}"
        bodies = [m for m in sent if m["type"] == "http.response.body"]
        if not bodies or bodies[-1].get("more_body", False):
            return "response body never completed"
        body = b"".join(m.get("body", b"") for m in bodies)
        return None if expected(body) else f"unexpected body {body[:80]!r}"

    return check


def ws_check(sent: list[Message]) -> str | None:
    if not sent or sent[0]["type"] != "websocket.accept":
        return f"expected websocket.accept first, got {sent[:1]!r}"
    echoed = [m.get("text") for m in sent if m["type"] == "websocket.send"]
    return None if echoed == [WS_TEXT] else f"expected one echo, got {echoed!r}"


def is_json_message(body: bytes) -> bool:
    try:
        return bool(json.loads(body) == MESSAGE)
    except ValueError:
        return False


def build_cases() -> dict[str, Case]:
    get: tuple[Message, ...] = ({"type": "http.request", "body": b"", "more_body": False},)
    upload = tuple(
        {"type": "http.request", "body": UPLOAD_CHUNK, "more_body": i < UPLOAD_CHUNKS - 1}
        for i in range(UPLOAD_CHUNKS)
    )
    size = str(len(UPLOAD_CHUNK) * UPLOAD_CHUNKS).encode()
    upload_headers = [(b"content-type", b"application/octet-stream"), (b"content-length", size)]
    ws_in = ({"type": "websocket.connect"}, {"type": "websocket.receive", "text": WS_TEXT})
    done: Message = {"type": "http.disconnect"}
    route = Case(http_scope("GET", ROUTE_PATH, []), get, done,
                 http_check(b"text/plain", lambda b: b == ROUTE_BODY))
    return {
        "hello": Case(http_scope("GET", "/hello", []), get, done,
                      http_check(b"text/plain", lambda b: b == HELLO.encode())),
        "json": Case(http_scope("GET", "/json", []), get, done,
                     http_check(b"application/json", is_json_message)),
        "route1": route,
        "routes1000": route,
        "stream": Case(http_scope("GET", "/stream", []), get, done,
                       http_check(b"application/octet-stream",
                                  lambda b: b == STREAM_CHUNK * STREAM_CHUNKS)),
        "upload": Case(http_scope("POST", "/upload", upload_headers), upload, done,
                       http_check(b"text/plain", lambda b: b == size), must_read_body=True),
        "websocket": Case(ws_scope(), ws_in, {"type": "websocket.disconnect", "code": 1000},
                          ws_check),
    }


# --- driver (worker side) -------------------------------------------------------------------


def releases(message: Message) -> bool:
    """Whether the app's message completes what the client waits for before disconnecting."""
    kind = message["type"]
    if kind == "http.response.body":
        return not message.get("more_body", False)
    return kind in ("websocket.send", "websocket.close")


class Exchange:
    """One request's receive/send pair, modelled on uvicorn's."""

    __slots__ = ("_final", "_incoming", "_next", "_waiter", "released", "sent")

    def __init__(self, incoming: tuple[Message, ...], final: Message) -> None:
        self._incoming = incoming
        self._final = final
        self._next = 0
        self._waiter: asyncio.Future[None] | None = None
        self.released = False
        self.sent: list[Message] = []

    async def receive(self) -> Message:
        index = self._next
        if index < len(self._incoming):
            self._next = index + 1
            return dict(self._incoming[index])
        if not self.released:
            if self._waiter is None:
                self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        return dict(self._final)

    async def send(self, message: Message) -> None:
        self.sent.append(message)
        if not self.released and releases(message):
            self.released = True
            if self._waiter is not None and not self._waiter.done():
                self._waiter.set_result(None)

    @property
    def consumed(self) -> bool:
        return self._next == len(self._incoming)


def fresh_scope(template: Scope) -> Scope:
    scope = dict(template)
    scope["headers"] = list(template["headers"])
    return scope


async def verify(app: ASGIApp, case: Case) -> str | None:
    exchange = Exchange(case.incoming, case.final)
    try:
        call = app(fresh_scope(case.scope), exchange.receive, exchange.send)
        await asyncio.wait_for(call, CHECK_TIMEOUT_S)
    except Exception as exc:
        return f"app raised {type(exc).__name__}: {exc}"
    if case.must_read_body and not exchange.consumed:
        return "app did not read the whole request body"
    return case.check(exchange.sent)


async def run_batch(app: ASGIApp, case: Case, n: int) -> int:
    """Time n requests; returns nanoseconds."""
    template, incoming, final = case.scope, case.incoming, case.final
    start = time.perf_counter_ns()
    for _ in range(n):
        exchange = Exchange(incoming, final)
        await app(fresh_scope(template), exchange.receive, exchange.send)
    return time.perf_counter_ns() - start


async def calibrate(app: ASGIApp, case: Case, target_s: float) -> int:
    """Warm up, then choose the batch size that takes about target_s."""
    n = 8
    while True:
        elapsed = await run_batch(app, case, n)
        if elapsed > 0.05e9:
            break
        n *= 4
    n = max(1, int(n * target_s * 1e9 / elapsed))
    await run_batch(app, case, n)  # full-size warm-up
    return n


def emit(out: IO[str], payload: dict[str, Any]) -> None:
    out.write(MARKER + json.dumps(payload) + "\n")
    out.flush()


async def serve(framework: str, case_name: str, target_s: float) -> None:
    out = sys.stdout
    sys.stdout = sys.stderr  # anything the framework prints goes to stderr
    case = build_cases()[case_name]
    try:
        app = BUILDERS[framework](case_name)
        error = await verify(app, case)
    except Exception as exc:
        error = f"could not build the app: {type(exc).__name__}: {exc}"
    if error is not None:
        emit(out, {"error": error})
        return
    n = await calibrate(app, case, target_s)
    emit(out, {"n": n, "version": framework_version(framework)})
    while sys.stdin.readline().strip() == "run":
        gc.collect()
        emit(out, {"ns": await run_batch(app, case, n)})


def framework_version(framework: str) -> str:
    dist = DISTRIBUTIONS.get(framework)
    return metadata.version(dist) if dist else "-"


# --- orchestration (parent side) ------------------------------------------------------------


class WorkerError(RuntimeError):
    pass


class Worker:
    """A subprocess that serves one (framework, case) and times batches on request."""

    def __init__(self, framework: str, case: str, target_s: float) -> None:
        command = pinned(WORKER_CPU, [sys.executable, str(Path(__file__).resolve()), "--worker",
                                      framework, "--case", case, "--target", str(target_s)])
        self.framework = framework
        self.case = case
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)
        hello = self._read()
        if "error" in hello:
            self.close()
            raise WorkerError(hello["error"])
        self.n: int = hello["n"]
        self.version: str = hello["version"]

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith(MARKER):
                return dict(json.loads(line[len(MARKER):]))
        raise WorkerError(f"worker exited with code {self.proc.wait()}")

    def run(self) -> float:
        """One timed batch; returns microseconds per request."""
        assert self.proc.stdin is not None
        self.proc.stdin.write("run\n")
        self.proc.stdin.flush()
        return float(self._read()["ns"]) / self.n / 1000

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


def case_groups(cases: list[str]) -> list[list[str]]:
    """The cases measured in the same rounds: one each, but route1 and routes1000 together,
    so that the cost of 1000 routes against one is compared at the same moments."""
    groups: list[list[str]] = []
    for case in cases:
        if case == "routes1000" and "route1" in cases:
            continue  # measured with route1
        paired = case == "route1" and "routes1000" in cases
        groups.append(["route1", "routes1000"] if paired else [case])
    return groups


Results = dict[tuple[str, str], dict[str, Any]]


def start_workers(group: list[str], frameworks: list[str], args: argparse.Namespace,
                  results: Results) -> list[Worker]:
    workers: list[Worker] = []
    for case in group:
        for framework in frameworks:  # started one by one so start-ups do not overlap
            try:
                workers.append(Worker(framework, case, args.target))
            except WorkerError as exc:
                print(f"  {framework}/{case}: FAILED: {exc}", file=sys.stderr)
                results[framework, case] = {"error": str(exc)}
    return workers


def measure_group(group: list[str], frameworks: list[str], args: argparse.Namespace,
                  results: Results) -> None:
    """Interleaved rounds over every (framework, case) of the group: sample i of each is
    taken in round i, so samples of the same round can be compared pairwise."""
    workers = start_workers(group, frameworks, args, results)
    samples: dict[Worker, list[float]] = {worker: [] for worker in workers}
    try:
        for round_ in range(args.rounds):
            shift = round_ % max(1, len(workers))
            for worker in workers[shift:] + workers[:shift]:  # rotate who goes first
                samples[worker].append(worker.run())
    finally:
        for worker in workers:
            worker.close()
    for worker in workers:
        results[worker.framework, worker.case] = {
            "median_us": statistics.median(samples[worker]),
            "samples_us": samples[worker], "n": worker.n, "version": worker.version,
        }
        print(f"  {worker.framework:>10}/{worker.case}: "
              f"{results[worker.framework, worker.case]['median_us']:.2f} us (n={worker.n})",
              file=sys.stderr)


def paired_ratio(samples: list[float], floor: list[float]) -> float:
    """The median over rounds of ``samples[i] / floor[i]``: on a noisy machine, steadier than
    the ratio of the medians, since the two samples of a round are taken moments apart."""
    return statistics.median(a / b for a, b in zip(samples, floor, strict=True))


def add_ratios(results: Results) -> None:
    """Add ``ratio_to_bare`` to every result, and ``ratio_to_route1`` to routes1000's."""
    for (framework, case), result in results.items():
        bare = results.get(("bare", case), {})
        if "samples_us" in result and "samples_us" in bare:
            result["ratio_to_bare"] = paired_ratio(result["samples_us"], bare["samples_us"])
        one = results.get((framework, "route1"), {})
        if case == "routes1000" and "samples_us" in result and "samples_us" in one:
            result["ratio_to_route1"] = paired_ratio(result["samples_us"], one["samples_us"])


def cell(results: Results, framework: str, case: str) -> str:
    result = results.get((framework, case), {})
    if "median_us" not in result:
        return "error" if "error" in result else "-"
    text = f"{result['median_us']:.1f}"
    ratio = result.get("ratio_to_bare")
    return f"{text} ({ratio:.1f}x)" if ratio is not None else text


def routing_ratio(results: Results, framework: str) -> str:
    ratio = results.get((framework, "routes1000"), {}).get("ratio_to_route1")
    return f"{ratio:.2f}" if ratio is not None else "-"


def markdown(results: dict[tuple[str, str], dict[str, Any]], frameworks: list[str],
             cases: list[str]) -> str:
    lines = [
        "Median microseconds per request (median ratio to the bare ASGI app in the same round).",
        "",
        "| framework | " + " | ".join(cases) + " | routes1000/route1 |",
        "|---" * (len(cases) + 2) + "|",
    ]
    for framework in frameworks:
        cells = [cell(results, framework, case) for case in cases]
        lines.append(f"| {framework} | " + " | ".join(cells)
                     + f" | {routing_ratio(results, framework)} |")
    return "\n".join(lines)


def write_json(path: Path, results: dict[tuple[str, str], dict[str, Any]],
               args: argparse.Namespace, frameworks: list[str], cases: list[str]) -> None:
    settings = {"rounds": args.rounds, "target_s": args.target, "frameworks": frameworks,
                "cases": cases, "loop": "asyncio (default event loop)",
                "pinned": can_pin()}
    write_results(path, {
        "settings": settings,
        "results": [{"framework": f, "case": c, **r} for (f, c), r in results.items()],
    })


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=9, help="timed rounds (default 9)")
    parser.add_argument("--target", type=float, default=0.3,
                        help="seconds per timed batch (default 0.3)")
    parser.add_argument("--frameworks", default=",".join(BUILDERS),
                        help="comma-separated, default all; 'bare' is always included")
    parser.add_argument("--cases", default=",".join(CASE_NAMES), help="comma-separated")
    parser.add_argument("--json", metavar="PATH", type=Path, nargs="?", const=DEFAULT_JSON,
                        help="also write the results as JSON, by default to "
                             "benchmarks/results/framework_cost.json")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        asyncio.run(serve(args.worker, args.case, args.target))
        return 0
    frameworks = ["bare", *(f for f in args.frameworks.split(",") if f and f != "bare")]
    cases = [c for c in args.cases.split(",") if c]
    unknown = sorted(set(frameworks) - set(BUILDERS)) + sorted(set(cases) - set(CASE_NAMES))
    if unknown:
        print(f"unknown framework or case: {', '.join(unknown)}", file=sys.stderr)
        return 2
    results: dict[tuple[str, str], dict[str, Any]] = {}
    for group in case_groups(cases):
        print(f"case {' + '.join(group)}:", file=sys.stderr)
        measure_group(group, frameworks, args, results)
    add_ratios(results)
    print(markdown(results, frameworks, cases))
    if args.json:
        write_json(args.json, results, args, frameworks, cases)
    failed = any("error" in r for r in results.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
