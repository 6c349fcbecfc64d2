"""Framework cost per request, in process: bareasgi against a bare ASGI app and the peers.

Each app of ``apps.py`` awaited directly by a pinned worker subprocess per (framework,
case), in interleaved rounds, ratios paired by round (route1 with routes1000, hello with
hello_seed); method: docs/project/benchmarks.md.
"""

from __future__ import annotations

import asyncio
import gc
import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import apps
import harness
from apps import ASGIApp, Message, Scope
from harness import PEERS, paired_ratio

MARKER = "@@bench "  # prefixes worker protocol lines, so stray prints cannot confuse us
# A case measured against another case of the same rounds: its floor, and its peers' case.
BASE_CASE = {"hello_seed": "hello"}
GROUPS = (("hello", "hello_seed"), ("route1", "routes1000"))

# --- cases ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    scope: Scope  # template; each request gets a fresh copy
    incoming: tuple[Message, ...]  # what receive() returns, in order
    final: Message  # what receive() returns once the response is complete
    expected: tuple[object, ...]  # the answer() of a correct app
    must_read_body: bool = False


def scope_for(kind: str, path: str, extra: list[tuple[bytes, bytes]]) -> Scope:
    headers = [(b"host", b"localhost:8000"), (b"user-agent", b"bench"), (b"accept", b"*/*")]
    ws = kind == "websocket"
    scope: Scope = {
        "type": kind, "http_version": "1.1",
        "asgi": {"version": "3.0", "spec_version": "2.4" if ws else "2.3"},
        "scheme": "ws" if ws else "http", "path": path, "raw_path": path.encode(),
        "query_string": b"", "root_path": "", "headers": headers + extra,
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
    }
    if ws:
        scope["subprotocols"] = []
    else:
        scope["method"] = "POST" if path == "/upload" else "GET"
    return scope


def answer(sent: list[Message]) -> tuple[object, ...]:
    """What a client got: WebSocket, the first message and the texts sent; HTTP, the status,
    media types and body (parsed if JSON) of one complete response."""
    if sent and sent[0]["type"].startswith("websocket"):
        return sent[0]["type"], [m.get("text") for m in sent if m["type"] == "websocket.send"]
    starts = [m for m in sent if m["type"] == "http.response.start"]
    bodies = [m for m in sent if m["type"] == "http.response.body"]
    if len(starts) != 1 or not bodies or bodies[-1].get("more_body", False):
        return "no single complete response", starts
    types = [bytes(value).split(b";")[0] for name, value in starts[0]["headers"]
             if bytes(name).lower() == b"content-type"]
    body = b"".join(m.get("body", b"") for m in bodies)
    return starts[0]["status"], types, json.loads(body) if b"application/json" in types else body


def build_case(name: str) -> Case:
    path, done = apps.path_of(name), {"type": "http.disconnect"}
    if name == "websocket":
        return Case(scope_for("websocket", path, [
            (b"upgrade", b"websocket"), (b"connection", b"Upgrade"),
            (b"sec-websocket-version", b"13"), (b"sec-websocket-key", b"dGhlIHNhbXBsZSBub25jZQ=="),
        ]), ({"type": "websocket.connect"}, {"type": "websocket.receive", "text": apps.WS_TEXT}),
            {"type": "websocket.disconnect", "code": 1000}, ("websocket.accept", [apps.WS_TEXT]))
    if name == "upload":
        size = str(len(apps.UPLOAD_CHUNK) * apps.UPLOAD_CHUNKS).encode()
        return Case(scope_for("http", path, [(b"content-type", b"application/octet-stream"),
                                             (b"content-length", size)]),
                    tuple({"type": "http.request", "body": apps.UPLOAD_CHUNK,
                           "more_body": i < apps.UPLOAD_CHUNKS - 1}
                          for i in range(apps.UPLOAD_CHUNKS)),
                    done, (200, [b"text/plain"], size), must_read_body=True)
    content_type, body = {
        "hello": (b"text/plain", apps.HELLO.encode()), "route": (b"text/plain", apps.ROUTE_BODY),
        "json": (b"application/json", apps.MESSAGE),
        "stream": (b"application/octet-stream", apps.STREAM_CHUNK * apps.STREAM_CHUNKS),
    }[name.removesuffix("_seed").removesuffix("s1000").removesuffix("1")]
    return Case(scope_for("http", path, []),
                ({"type": "http.request", "body": b"", "more_body": False},), done,
                (200, [content_type], body))


# --- the worker: one (framework, case), timing batches on request ---------------------------


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


def fresh_scope(template: Scope) -> Scope:
    scope = dict(template)
    scope["headers"] = list(template["headers"])
    return scope


async def verify(app: ASGIApp, case: Case) -> str | None:
    exchange = Exchange(case.incoming, case.final)
    try:
        await asyncio.wait_for(app(fresh_scope(case.scope), exchange.receive, exchange.send), 5)
        got = answer(exchange.sent)
    except Exception as exc:
        return f"app raised {type(exc).__name__}: {exc}"
    if case.must_read_body and exchange._next != len(case.incoming):
        return "app did not read the whole request body"
    return None if got == case.expected else f"expected {case.expected!r:.200}, got {got!r:.200}"


async def run_batch(app: ASGIApp, case: Case, n: int) -> int:
    """Time n requests; returns nanoseconds."""
    template, incoming, final = case.scope, case.incoming, case.final
    start = time.perf_counter_ns()
    for _ in range(n):
        exchange = Exchange(incoming, final)
        await app(fresh_scope(template), exchange.receive, exchange.send)
    return time.perf_counter_ns() - start


async def work(framework: str, case_name: str, target_s: float) -> None:
    """Build and check the app, size a batch to ``target_s``, then time a batch per line."""
    def emit(payload: dict[str, Any]) -> None:
        sys.__stdout__.write(MARKER + json.dumps(payload) + "\n")  # type: ignore[union-attr]
        sys.__stdout__.flush()  # type: ignore[union-attr]

    sys.stdout = sys.stderr  # anything the framework prints goes to stderr
    case = build_case(case_name)
    try:
        app = apps.BUILDERS[framework](case_name)
        error = await verify(app, case)
    except Exception as exc:
        error = f"could not build the app: {type(exc).__name__}: {exc}"
    if error is not None:
        emit({"error": error})
        return
    n = 8
    while (elapsed := await run_batch(app, case, n)) < 0.05e9:  # warm up while sizing
        n *= 4
    n = max(1, int(n * target_s * 1e9 / elapsed))
    await run_batch(app, case, n)  # full-size warm-up
    version = metadata.version(framework) if framework not in ("bare", "handlers") else "-"
    emit({"n": n, "version": version})
    while sys.stdin.readline().strip() == "run":
        gc.collect()
        emit({"ns": await run_batch(app, case, n)})


class Worker:
    """The parent's handle on a worker subprocess (this script as ``worker FRAMEWORK CASE
    TARGET_S``), sized and warmed up once started."""

    def __init__(self, framework: str, case: str, target_s: float) -> None:
        self.framework, self.case = framework, case
        command = [sys.executable, str(Path(__file__).resolve()), "worker", framework, case,
                   str(target_s)]
        self.proc = subprocess.Popen(harness.pinned(harness.CLIENT_CPU, command),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        hello = self._read()
        if "error" in hello:
            self.close()
            raise RuntimeError(hello["error"])
        self.n: int = hello["n"]
        self.version: str = hello["version"]

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith(MARKER):
                return dict(json.loads(line[len(MARKER):]))
        raise RuntimeError(f"worker exited with code {self.proc.wait()}")

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


# --- the parent: groups of cases in interleaved rounds --------------------------------------

Results = dict[str, dict[str, dict[str, Any]]]  # case -> framework -> result


def measure_group(group: list[str], settings: dict[str, Any], results: Results) -> None:
    workers: list[Worker] = []
    try:
        for case in group:
            for framework in settings["frameworks"]:  # one by one: start-ups do not overlap
                if not apps.supports(framework, case):
                    continue
                try:
                    workers.append(Worker(framework, case, settings["target_s"]))
                except RuntimeError as exc:
                    harness.progress(f"  {framework}/{case}: FAILED: {exc}")
                    results.setdefault(case, {})[framework] = {"error": str(exc)}
        samples = harness.interleave(settings["rounds"], workers, Worker.run,
                                     lambda w: f"{w.framework}/{w.case}")
    finally:
        for worker in workers:
            worker.close()
    for worker, timings in zip(workers, samples, strict=True):
        results.setdefault(worker.case, {})[worker.framework] = {
            "median_us": statistics.median(timings), "samples_us": timings, "n": worker.n,
            "version": worker.version,
        }


def add_ratios(results: Results) -> None:
    """``ratio_to_bare`` everywhere; ``ratio_to_route1`` for routes1000; for bareasgi, its
    ratio to each peer (``ratio_to_peers``), all paired by round."""
    for case, by_framework in results.items():
        base = results.get(BASE_CASE.get(case, case), {})
        for framework, result in by_framework.items():
            if "samples_us" not in result:
                continue
            mine = result["samples_us"]
            if "samples_us" in base.get("bare", {}):
                result["ratio_to_bare"] = paired_ratio(mine, base["bare"]["samples_us"])
            route1 = results.get("route1", {}).get(framework, {})
            if case == "routes1000" and "samples_us" in route1:
                result["ratio_to_route1"] = paired_ratio(mine, route1["samples_us"])
            if framework == "bareasgi":
                result["ratio_to_peers"] = {
                    peer: paired_ratio(mine, base[peer]["samples_us"])
                    for peer in PEERS if "samples_us" in base.get(peer, {})}


def measure(settings: dict[str, Any]) -> dict[str, Any]:
    settings["frameworks"] = ["bare", *(f for f in settings["frameworks"] if f != "bare")]
    cases = settings["cases"]
    unknown = sorted({*settings["frameworks"]} - {*apps.BUILDERS}) + sorted(
        {*cases} - {*apps.CASE_NAMES})
    if unknown:
        sys.exit(f"unknown framework or case: {', '.join(unknown)}")
    results: Results = {}
    for case in cases:
        if case not in results:
            group = next(([c for c in g if c in cases] for g in GROUPS if case in g), [case])
            harness.progress(f"case {' + '.join(group)}:")
            measure_group(group, settings, results)
    add_ratios(results)
    return {"results": results}


def markdown(doc: dict[str, Any]) -> list[str]:
    results: Results = doc["results"]
    frameworks: list[str] = doc["settings"]["frameworks"]

    def cell(case: str, framework: str) -> str:
        result = results.get(case, {}).get(framework, {})
        if "median_us" not in result:
            return "error" if "error" in result else "-"
        text = f"{result['median_us']:.1f}"
        if "ratio_to_bare" in result:
            text += f" ({result['ratio_to_bare']:.2f}x)"
        return f"**{text}**" if framework == "bareasgi" else text

    def routing(framework: str) -> str:
        ratio = results.get("routes1000", {}).get(framework, {}).get("ratio_to_route1")
        return f"{ratio:.2f}" if ratio is not None else "-"

    return [
        f"Median microseconds per request over {doc['settings']['rounds']} interleaved rounds, "
        "the app called in-process (no server, no sockets), and in brackets the ratio to the "
        "hand-written bare ASGI app (the median of the ratios of samples taken in the same "
        "round); lower is better. *hello_seed* is bareasgi's hello written as the original "
        "bareASGI documentation writes it (`text_writer`, no content-length), measured in "
        "the rounds of hello and compared with the others' hello. *handlers* is bareasgi's "
        "own handlers with no framework around them (`apps.build_handlers_only`: no router, "
        "response check, error handling or exchange state): what the shape of the bareASGI "
        "API costs, below which no implementation of it can go.", "",
        *harness.table(["case", *frameworks],
               [[case, *(cell(case, f) for f in frameworks)] for case in doc["settings"]["cases"]]
               + [["*routes1000 / route1*", *map(routing, frameworks)]]),
    ]


if __name__ == "__main__":
    if sys.argv[1:2] == ["worker"]:
        asyncio.run(work(sys.argv[2], sys.argv[3], float(sys.argv[4])))
        sys.exit()
    document = harness.main(
        __doc__, "framework_cost", measure, markdown,
        {"loop": "asyncio (default event loop)", "pinned": harness.can_pin()},
        {"rounds": (9, 3, "timed rounds"), "target_s": (0.3, 0.1, "seconds per timed batch"),
         "frameworks": (list(apps.BUILDERS), None, "frameworks; 'bare' is always included"),
         "cases": (list(apps.CASE_NAMES), None, "cases")})
    sys.exit(any("error" in r for c in document["results"].values() for r in c.values()))
