"""Requests per second through uvicorn: bareasgi's hello world against the bare app's.

Each hello of ``apps.py`` served by its own pinned uvicorn, loaded by ``wrk`` on the other
core: back to back against bare (with server CPU per request), then side by side
(``harness.side_by_side``); method: docs/project/benchmarks.md.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import statistics
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import harness
from apps import HELLO

BACK_TO_BACK = ("bare", "bareasgi")
SEED = "bareasgi_hello_seed"


def parse_wrk(output: str) -> tuple[float, int, float]:
    """wrk's requests/s, request count and mean latency (ms); an error if any request failed
    or was not answered 2xx."""
    found = re.search(r"Latency\s+([\d.]+)(us|ms|s)\b(?s:.*)\b(\d+) requests in(?s:.*)"
                      r"Requests/sec:\s*([\d.]+)", output)
    if found is None or "Non-2xx" in output or "Socket errors" in output:
        raise RuntimeError(f"wrk saw errors, or no Requests/sec:\n{output}")
    latency_ms = float(found.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[found.group(2)]
    return float(found.group(4)), int(found.group(3)), latency_ms


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(settings: dict[str, Any]) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install -y wrk")
    apps = {name: f"apps:{name}_hello" for name in BACK_TO_BACK}
    apps |= {SEED: f"apps:{SEED}"} | {peer: f"apps:{peer}_hello" for peer in settings["side_peers"]}
    with ExitStack() as stack:
        servers = {name: stack.enter_context(harness.serve(harness.uvicorn(app), name))
                   for name, app in apps.items()}

        def wrk(name: str, seconds: float) -> list[str]:
            return harness.pinned(harness.CLIENT_CPU, [
                "wrk", "-t1", f"-c{settings['connections']}", f"-d{seconds:g}s",
                "--timeout", "10s", servers[name].url + "/hello"])

        for name, server in servers.items():
            conn = http.client.HTTPConnection(harness.HOST, server.port, timeout=10)
            conn.request("GET", "/hello")
            response = conn.getresponse()
            if response.status != 200 or response.read() != HELLO.encode():
                raise RuntimeError(f"{name} answered {response.status}")
            conn.close()
            subprocess.run(wrk(name, settings["warmup_s"]), check=True, capture_output=True)
            harness.progress(f"  {name}: answers correctly, warmed up")
        cpu_us: dict[str, list[float]] = {name: [] for name in BACK_TO_BACK}
        latency: dict[str, list[float]] = {name: [] for name in BACK_TO_BACK}

        def alone(name: str) -> float:
            before, seconds = cpu_seconds(servers[name].pid), settings["duration_s"]
            done = subprocess.run(wrk(name, seconds), capture_output=True, text=True,
                                  check=True, timeout=seconds + 60)
            rps, count, latency_ms = parse_wrk(done.stdout)
            cpu_us[name].append((cpu_seconds(servers[name].pid) - before) * 1e6 / count)
            latency[name].append(latency_ms)
            return rps

        rps = dict(zip(BACK_TO_BACK, harness.interleave(settings["rounds"], BACK_TO_BACK,
                                                        alone), strict=True))
        side = harness.side_by_side(
            settings["side_rounds"], [n for n in servers if n != "bare"],
            lambda name: wrk(name, settings["side_duration_s"]),
            lambda name, output: parse_wrk(output)[0], settings["side_duration_s"] + 60)
    return {
        "apps": {name: {"median_requests_per_s": statistics.median(rps[name]),
                        "samples_requests_per_s": rps[name],
                        "median_server_cpu_us_per_request": statistics.median(cpu_us[name]),
                        "samples_server_cpu_us_per_request": cpu_us[name],
                        "median_latency_ms": statistics.median(latency[name])}
                 for name in BACK_TO_BACK},
        "ratio": harness.paired_ratio(rps["bareasgi"], rps["bare"]),
        "cpu_ratio": harness.paired_ratio(cpu_us["bare"], cpu_us["bareasgi"]),
        "side_by_side": side,
    }


def markdown(doc: dict[str, Any]) -> list[str]:
    settings, apps = doc["settings"], doc["apps"]
    bare = apps["bare"]["median_requests_per_s"]
    lines = [
        f"`GET /hello` through `{settings['server']}` (one process), loaded by `wrk -t1 "
        f"-c{settings['connections']}`"
        + (", server and wrk pinned to separate cores" if settings["pinned"] else "")
        + f". Back to back: {settings['rounds']} rounds of {settings['duration_s']:g} s, "
        "each loading the two apps one after the other.", "",
        *harness.table(["app", "median requests/s", "ratio of medians",
                        "server CPU per request (us)", "median mean latency (ms)"],
                       [[name, f"{app['median_requests_per_s']:,.0f}",
                         f"{app['median_requests_per_s'] / bare:.3f}",
                         f"{app['median_server_cpu_us_per_request']:.1f}",
                         f"{app['median_latency_ms']:.2f}"]
                        for name, app in apps.items()]), "",
        f"Requests/s, bareasgi / bare: **{doc['ratio']:.3f}** (the median of the ratios of the "
        f"rounds); per second of server CPU time: **{doc['cpu_ratio']:.3f}**.",
    ]
    if doc["side_by_side"]:
        lines += [
            "", f"Side by side: {settings['side_rounds']} rounds in which the bare app's server "
            "and one other, both on core 0, are loaded at once for "
            f"{settings['side_duration_s']:g} s by one wrk each. The scheduler gives each server "
            "half of the core and the machine's noise slows both alike, so their ratio of "
            "requests/s is the steadiest figure here; it is a little pessimistic for the app "
            f"with more code, whose cache lines the bare server evicts. `{SEED}` is bareasgi's "
            "hello written as the original bareASGI documentation writes it (`text_writer`, "
            "no content-length, so the response is chunked).", "",
            *harness.table(["app", "requests/s, app / bare", "middle half of the rounds"],
                           [[name, f"**{side['ratio']:.3f}**" if name.startswith("bareasgi")
                             else f"{side['ratio']:.3f}", harness.spread(side["round_ratios"])]
                            for name, side in doc["side_by_side"].items()]),
        ]
    return lines


if __name__ == "__main__":
    harness.main(__doc__, "throughput", measure, markdown,
                 {"pinned": harness.can_pin(), "server": "uvicorn --http httptools --loop uvloop"},
                 {"rounds": (40, 2, "back-to-back rounds"),
                  "duration_s": (1, None, "whole seconds per back-to-back wrk run"),
                  "warmup_s": (2.0, 1.0, "seconds of warm-up per app"),
                  **harness.side_options(12), "connections": (64, None, "wrk -c")})
