"""Fan-out of the chat example: one publisher, many WebSocket subscribers, rate and latency.

``examples/chat/app.py`` under uvicorn in each of ``SETUPS`` (a ``redis-server`` started on
a free port), in interleaved rounds: ``--subscribers`` WebSockets, ``--messages`` posts
paced at ``--rate``, then in a burst. At high rates the one client process may be the
limit: compare the setups. Method: docs/project/benchmarks.md.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import shutil
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from harness import HOST, main, progress, serve, table
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

SETUPS = {"memory-1-process": (False, 1), "redis-1-process": (True, 1),
          "redis-2-workers": (True, 2)}  # Redis?, workers


@dataclass
class Subscriber:
    """What one WebSocket received: arrival times by message number, and how it ended."""

    arrivals: dict[int, float] = field(default_factory=dict)
    close_code: int | None = None


async def subscribe(url: str, subscriber: Subscriber, ready: asyncio.Event) -> None:
    async with connect(url, max_queue=None, open_timeout=30) as ws:
        ready.set()
        try:
            async for frame in ws:
                number = int(json.loads(frame)["text"])
                subscriber.arrivals[number] = time.perf_counter()
        except ConnectionClosed:
            pass
        subscriber.close_code = ws.close_code


async def fan_out(base_url: str, subscribers: int, messages: int, rate: float) -> dict[str, Any]:
    ws_url = base_url.replace("http://", "ws://") + "/ws"
    received = [Subscriber() for _ in range(subscribers)]
    tasks = []
    # Connect in batches, each socket open before the next batch starts.
    for start in range(0, subscribers, 100):
        batch = [asyncio.Event() for _ in received[start : start + 100]]
        for subscriber, ready in zip(received[start : start + 100], batch, strict=True):
            tasks.append(asyncio.create_task(subscribe(ws_url, subscriber, ready)))
        await asyncio.wait_for(asyncio.gather(*(ready.wait() for ready in batch)), 60)

    sent: dict[int, float] = {}
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        interval = 1 / rate if rate else 0.0
        first = time.perf_counter()
        for number in range(messages):
            # Paced from the start, so that one slow POST does not shift all the others.
            delay = first + number * interval - time.perf_counter()
            if interval and delay > 0:
                await asyncio.sleep(delay)
            sent[number] = time.perf_counter()
            response = await client.post("/messages", json={"text": str(number)})
            response.raise_for_status()

    def delivered() -> int:
        return sum(len(subscriber.arrivals) for subscriber in received)

    expected = subscribers * messages
    deadline = time.perf_counter() + 30
    while delivered() < expected and time.perf_counter() < deadline:
        if all(task.done() for task in tasks):
            break
        await asyncio.sleep(0.05)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)

    latencies = sorted(arrival - sent[number] for subscriber in received
                       for number, arrival in subscriber.arrivals.items())
    last = max((max(s.arrivals.values()) for s in received if s.arrivals), default=first)
    count = len(latencies)
    return {
        "subscribers": subscribers, "messages": messages, "offered_rate_msgs_per_s": rate,
        "deliveries_expected": expected, "deliveries": count, "deliveries_lost": expected - count,
        "subscribers_cut_off": sum(1 for s in received if s.close_code == 1013),
        "delivered_msgs_per_s": round(count / (last - first), 1) if count else 0.0,
        "latency_ms": {
            "p50": round(1000 * statistics.median(latencies), 2) if count else None,
            "p99": round(1000 * latencies[int(0.99 * (count - 1))], 2) if count else None,
            "max": round(1000 * latencies[-1], 2) if count else None,
        },
    }


def run_setup(name: str, redis_url: str, settings: dict[str, Any]) -> dict[str, Any]:
    use_redis, workers = SETUPS[name]
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    env |= {"PYTHONUNBUFFERED": "1"} | ({"REDIS_URL": redis_url} if use_redis else {})
    command = [sys.executable, "-m", "uvicorn", "examples.chat.app:app", "--host", HOST,
               "--workers", str(workers), "--no-access-log", "--log-level", "warning"]
    with serve(lambda port: [*command, "--port", str(port)], name, env) as server:
        time.sleep(0.5 * workers)  # every worker started, not only the first
        phases = {phase: asyncio.run(fan_out(server.url, settings["subscribers"],
                                             settings["messages"], rate))
                  for phase, rate in (("paced", settings["rate"]), ("burst", 0))}
    for phase, m in phases.items():
        progress(f"{name:18} {phase:6} {m['delivered_msgs_per_s']:>9} deliveries/s  latency "
                 + " ".join(f"{p} {ms} ms" for p, ms in m["latency_ms"].items())
                 + f"  lost {m['deliveries_lost']}  cut off {m['subscribers_cut_off']}")
    return {"setup": name, "workers": workers, "redis": use_redis, **phases}


def measure(settings: dict[str, Any]) -> dict[str, Any]:
    redis_server = shutil.which("redis-server")
    if redis_server is None:
        sys.exit("fanout.py needs redis-server on the PATH: apt-get install redis-server")
    # Each subscriber is a socket, on both sides: raise the open-file limit to match.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, max(soft, 4 * settings["subscribers"] + 256))
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    results = []
    with serve(lambda port: [redis_server, "--port", str(port), "--bind", HOST, "--save", "",
                             "--appendonly", "no", "--loglevel", "warning"],
               "redis-server") as redis:
        # Rounds interleave the setups, so that a busy moment of the machine does not
        # land on one setup alone; every round is kept.
        for round_number in range(1, settings["rounds"] + 1):
            for name in settings["setups"]:
                result = run_setup(name, f"redis://{HOST}:{redis.port}/0", settings)
                results.append({"round": round_number, **result})
    # The machine is shared: how busy it was is part of the result.
    return {"benchmark": "fanout", "load_average": [round(v, 2) for v in os.getloadavg()],
            "results": results}


def markdown(document: dict[str, Any]) -> list[str]:
    """The results as the Markdown table the performance page includes."""
    first = document["results"][0]["paced"]
    return [
        f"{first['subscribers']:,} WebSocket subscribers, {first['messages']} messages "
        f"per phase, paced at {first['offered_rate_msgs_per_s']:g} messages/s; "
        f"`{document['command']}` on {document['date'][:10]}, "
        f"{document['machine']['cpu_count']} cores, load average "
        f"{document['load_average'][0]} at the end.", "",
        *table(["setup", "round", "phase", "deliveries/s", "p50 ms", "p99 ms", "lost", "cut off"],
               [[r["setup"], r["round"], phase, f"{m['delivered_msgs_per_s']:,.0f}",
                 m["latency_ms"]["p50"], m["latency_ms"]["p99"], m["deliveries_lost"],
                 m["subscribers_cut_off"]]
                for r in document["results"] for phase in ("paced", "burst")
                for m in (r[phase],)], text=[2]),
    ]


if __name__ == "__main__":
    main(__doc__, "fanout", measure, markdown, {}, {
        "subscribers": (1000, 100, "WebSocket subscribers"),
        "messages": (200, 20, "messages posted per phase"),
        "rate": (5.0, None, "messages per second in the paced phase"),
        "setups": (list(SETUPS), None, "setups to run"),
        "rounds": (2, 1, "times each setup runs")}, markdown_file=True)
