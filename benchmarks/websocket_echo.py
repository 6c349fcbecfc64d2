"""WebSocket messages per second through uvicorn: bareasgi's echo against the bare app's.

Each ``apps:FRAMEWORK_echo`` served by its own pinned uvicorn, side by side with bare's,
each loaded by a raw client (this script as ``client PORT ...``) that checks every echo;
method: docs/project/benchmarks.md.
"""

from __future__ import annotations

import asyncio
import base64
import os
import statistics
import sys
import time
from contextlib import ExitStack
from typing import Any

import harness
from apps import WS_TEXT

PAYLOAD = WS_TEXT.encode()
MASK = b"\x11\x22\x33\x44"


def masked(opcode: int, payload: bytes) -> bytes:
    """A client's frame (FIN set, short payload): masked, as a client's must be."""
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + MASK + bytes(
        byte ^ MASK[i % 4] for i, byte in enumerate(payload))


FRAME = masked(0x1, PAYLOAD)  # a text message
CLOSE = masked(0x8, (1000).to_bytes(2, "big"))  # close, normal closure
ECHO = bytes([0x81, len(PAYLOAD)]) + PAYLOAD  # the server's frame is not masked


async def connection(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection(harness.HOST, port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(f"GET /ws HTTP/1.1\r\nHost: {harness.HOST}:{port}\r\nUpgrade: websocket\r\n"
                 f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                 "Sec-WebSocket-Version: 13\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 101"):
        raise RuntimeError(f"no upgrade: {head[:80]!r}")
    return reader, writer


async def echo_rate(port: int, seconds: float, connections: int, window: int) -> float:
    """Messages echoed per second over ``connections`` connections, each every byte checked."""
    opened = [await connection(port) for _ in range(connections)]
    burst, echoes = FRAME * window, ECHO * window
    deadline = time.perf_counter() + seconds

    async def drive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> int:
        count = 0
        while time.perf_counter() < deadline:
            writer.write(burst)
            if await reader.readexactly(len(echoes)) != echoes:
                raise RuntimeError("an echo differs from the message sent")
            count += window
        writer.write(CLOSE)
        await asyncio.wait_for(reader.read(), 5)  # the server's close frame, then EOF
        writer.close()
        return count

    start = time.perf_counter()
    counts = await asyncio.gather(*(drive(*pair) for pair in opened))
    return sum(counts) / (time.perf_counter() - start)


def measure(settings: dict[str, Any]) -> dict[str, Any]:
    names = ["bare", "bareasgi", *settings["side_peers"]]
    rates: dict[str, list[float]] = {name: [] for name in names}
    with ExitStack() as stack:
        servers = {name: stack.enter_context(harness.serve(harness.uvicorn(
            f"apps:{name}_echo", "--ws", "websockets-sansio"), name)) for name in names}
        for name, server in servers.items():  # checks every echo, and warms up
            asyncio.run(echo_rate(server.port, 1, settings["connections"], settings["window"]))
            harness.progress(f"  {name}: echoes correctly, warmed up")

        def client(name: str) -> list[str]:
            return harness.pinned(harness.CLIENT_CPU, [
                sys.executable, __file__, "client", str(servers[name].port),
                *(str(settings[key]) for key in ("side_duration_s", "connections", "window"))])

        def rate(name: str, output: str) -> float:
            rates[name].append(float(output))
            return rates[name][-1]

        side = harness.side_by_side(settings["side_rounds"], names[1:], client, rate,
                                    settings["side_duration_s"] + 60)
    return {"median_messages_per_s": {name: statistics.median(r) for name, r in rates.items()},
            "side_by_side": side}


def markdown(doc: dict[str, Any]) -> list[str]:
    settings, sides = doc["settings"], doc["side_by_side"]
    return [
        f"WebSocket echo through `{settings['server']}` (one process): {settings['side_rounds']} "
        f"side-by-side rounds of {settings['side_duration_s']:g} s, the bare app's server and "
        "one other loaded at once, both on core 0, each by a raw client on core 1 with "
        f"{settings['connections']} connections sending {settings['window']} 20-byte text "
        "messages at a time and checking every echo. Each rate is a share of a core shared "
        "with another server, which differs from round to round: compare the ratios.", "",
        *harness.table(["app", "median messages/s", "messages/s, app / bare",
                        "middle half of the rounds"],
                       [[name, f"{rate:,.0f}", "1" if name == "bare" else
                         f"**{sides[name]['ratio']:.3f}**" if name == "bareasgi" else
                         f"{sides[name]['ratio']:.3f}",
                         harness.spread(sides[name]["round_ratios"]) if name in sides else "-"]
                        for name, rate in doc["median_messages_per_s"].items()]),
    ]


if __name__ == "__main__":
    if sys.argv[1:2] == ["client"]:  # one load generator of side_by_side: PORT S CONNS WINDOW
        port, seconds, connections, window = map(int, sys.argv[2:6])
        print(asyncio.run(echo_rate(port, seconds, connections, window)))
    else:
        harness.main(__doc__, "websocket_echo", measure, markdown, {
            "pinned": harness.can_pin(),
            "server": "uvicorn --http httptools --loop uvloop --ws websockets-sansio"},
            {**harness.side_options(8), "connections": (16, None, "connections per client"),
             "window": (8, None, "messages in flight per connection")})
