"""Requests per second through a real server: bareasgi hello world against the bare ASGI app.

What is measured: how many ``GET /hello`` requests per second uvicorn serves with each app,
and the ratio bareasgi / bare. This includes everything a deployed app pays - sockets,
HTTP parsing in httptools, uvloop, uvicorn's ASGI glue - so it shows how much of a real
request's cost the framework is. The apps are ``bare_hello`` and ``bareasgi_hello`` from
``server_apps.py`` (the hello-world apps of ``apps.py``).

How: each app is served by its own uvicorn process (``--http httptools --loop
uvloop``, one process each, no access log) pinned to core 0 with ``taskset``; the load
generator ``wrk`` (Debian package ``wrk``) runs pinned to core 1, by default with one
thread and 64 connections for 1 s (wrk takes whole seconds). Everything stays on the
loopback interface. After checking each app's answer and a warm-up run of each, rounds
alternate between the apps (the first app changes every round); many short rounds pair the
two apps more closely in time than a few long ones. Reported: each app's median requests/s
over rounds, and the ratio bareasgi / bare as the median of the per-round ratios - the two
runs of a round are back to back, so they share the machine's conditions, which makes that
ratio robust to a noisy machine - along with the ratio of the medians. Only the app being
loaded is busy; the other server sleeps. Also reported, from ``/proc/PID/stat``: the
server's CPU time per request (user + system), and the ratio of requests per server CPU
second, bareasgi / bare - what each app would serve on a core of its own, whatever else the
machine is doing.

Then, side by side (``--side-rounds``, default 12 rounds of 2 s): the bare app's server and
one other are loaded at once, one wrk each, both servers still on core 0; the others are
bareasgi and, here only, the peers' hello-world apps (``--side-peers``). The scheduler
gives each half of the core and whatever else runs on the machine slows both alike, so the
ratio of their requests/s is their cost ratio, much steadier than back-to-back rounds give
it: served against itself, the bare app came out at 1.001 side by side, and at 0.97 and
1.03 in two back-to-back runs. It is a little pessimistic for the app with more code, whose
cache lines the other evicts.

Run::

    apt-get install -y wrk
    python benchmarks/throughput.py [--rounds 40] [--duration 1] [--side-rounds 12]
        [--connections 64] [--json PATH]

Output: a Markdown table on stdout, progress on stderr, the results as JSON in
``benchmarks/results/throughput.json`` (or ``--json PATH``).
"""

from __future__ import annotations

import argparse
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

from apps import HELLO
from common import (
    CLIENT_CPU,
    HOST,
    RESULTS_DIR,
    UvicornServer,
    can_pin,
    pinned,
    results_parser,
    write_results,
)

APPS = {"bare": "bare_hello", "bareasgi": "bareasgi_hello"}
PEERS = ("starlette", "falcon", "blacksheep", "asgineer")  # side by side only
PATH = "/hello"
DEFAULT_JSON = RESULTS_DIR / "throughput.json"
UNITS_S = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def check_answer(server: UvicornServer) -> None:
    """Fail unless the app answers ``GET /hello`` with 200 and the hello text."""
    conn = http.client.HTTPConnection(HOST, server.port, timeout=10)
    try:
        conn.request("GET", PATH)
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    if response.status != 200 or body != HELLO.encode():
        raise RuntimeError(f"{server.app}: got {response.status} {body[:80]!r}")


def wrk_command(server: UvicornServer, args: argparse.Namespace, duration_s: float) -> list[str]:
    return pinned(CLIENT_CPU, [
        "wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{duration_s:g}s",
        "--timeout", "10s", server.url + PATH,
    ])


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def parse_wrk(output: str) -> dict[str, Any]:
    """Requests/s, request count, mean latency and error counts from wrk's report."""
    rps = re.search(r"Requests/sec:\s*([\d.]+)", output)
    count = re.search(r"(\d+) requests in", output)
    if rps is None or count is None:
        raise RuntimeError(f"no Requests/sec in wrk's output:\n{output}")
    latency = re.search(r"Latency\s+([\d.]+)(us|ms|s|m|h)\b", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                       output)
    return {
        "requests_per_s": float(rps.group(1)),
        "requests": int(count.group(1)),
        "latency_mean_ms": float(latency.group(1)) * UNITS_S[latency.group(2)] * 1e3
        if latency else None,
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": sum(int(n) for n in errors.groups()) if errors else 0,
    }


def run_wrk(server: UvicornServer, args: argparse.Namespace, duration_s: float) -> dict[str, Any]:
    command = wrk_command(server, args, duration_s)
    cpu_before = cpu_seconds(server.pid)
    done = subprocess.run(command, capture_output=True, text=True, check=True,
                          timeout=duration_s + 60)
    run = parse_wrk(done.stdout)
    run["server_cpu_s"] = cpu_seconds(server.pid) - cpu_before
    return run


Runs = dict[str, list[dict[str, Any]]]


def measure(args: argparse.Namespace) -> tuple[Runs, dict[str, list[float]]]:
    """Back-to-back rounds, then side-by-side rounds."""
    apps = {**APPS, **{name: f"{name}_hello" for name in args.side_peers}}
    with ExitStack() as stack:
        servers = {name: stack.enter_context(UvicornServer(app)) for name, app in apps.items()}
        for name, server in servers.items():
            check_answer(server)
            run_wrk(server, args, args.warmup)
            print(f"  {name}: answers correctly, warmed up", file=sys.stderr)
        return back_to_back(servers, args), side_by_side(servers, args)


def back_to_back(servers: dict[str, UvicornServer], args: argparse.Namespace) -> Runs:
    """Each round loads bare, then bareasgi, or the other way round (alternating)."""
    runs: Runs = {name: [] for name in APPS}
    names = list(APPS)
    for round_ in range(args.rounds):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            run = run_wrk(servers[name], args, args.duration)
            runs[name].append(run)
            print(f"  round {round_ + 1}/{args.rounds} {name:>8}: "
                  f"{run['requests_per_s']:,.0f} requests/s", file=sys.stderr)
    return runs


def side_by_side(
    servers: dict[str, UvicornServer], args: argparse.Namespace
) -> dict[str, list[float]]:
    """Each round loads the bare app and one other at once: returns their ratios by app.

    Both servers share core 0 and are busy all the time, so the scheduler gives each
    half of the core, and whatever else the machine does slows both alike: the ratio of
    their requests/s is the ratio of their costs, far steadier than back-to-back runs
    give it. It is a little pessimistic for the app with more code, whose cache lines
    the bare server evicts.
    """
    others = [name for name in servers if name != "bare"]
    ratios: dict[str, list[float]] = {name: [] for name in others}
    for round_ in range(args.side_rounds):
        shift = round_ % len(others)
        for name in others[shift:] + others[:shift]:
            pair = {"bare": servers["bare"], name: servers[name]}
            loads = {
                key: subprocess.Popen(wrk_command(server, args, args.side_duration),
                                      stdout=subprocess.PIPE, text=True)
                for key, server in pair.items()
            }
            rps = {}
            for key, load in loads.items():
                output, _ = load.communicate(timeout=args.side_duration + 60)
                if load.returncode != 0:
                    raise RuntimeError(f"wrk failed against {key}:\n{output}")
                rps[key] = parse_wrk(output)["requests_per_s"]
            ratios[name].append(rps[name] / rps["bare"])
            print(f"  side by side {round_ + 1}/{args.side_rounds} {name:>10}: "
                  f"{ratios[name][-1]:.3f} of bare", file=sys.stderr)
    return ratios


def summarize(runs: Runs) -> dict[str, Any]:
    apps: dict[str, Any] = {}
    for name, app_runs in runs.items():
        rps = [run["requests_per_s"] for run in app_runs]
        cpu_us = [run["server_cpu_s"] * 1e6 / run["requests"] for run in app_runs]
        apps[name] = {
            "median_requests_per_s": statistics.median(rps),
            "samples_requests_per_s": rps,
            "median_server_cpu_us_per_request": statistics.median(cpu_us),
            "samples_server_cpu_us_per_request": cpu_us,
            "median_latency_ms": statistics.median(
                run["latency_mean_ms"] for run in app_runs if run["latency_mean_ms"] is not None
            ),
            "errors": sum(run["non_2xx"] + run["socket_errors"] for run in app_runs),
        }
    pairs = zip(apps["bare"]["samples_requests_per_s"],
                apps["bareasgi"]["samples_requests_per_s"], strict=True)
    per_round = [b / a for a, b in pairs]
    cpu_pairs = zip(apps["bare"]["samples_server_cpu_us_per_request"],
                    apps["bareasgi"]["samples_server_cpu_us_per_request"], strict=True)
    return {
        "apps": apps,
        "ratio": statistics.median(per_round),
        "cpu_ratio": statistics.median(a / b for a, b in cpu_pairs),
        "ratio_of_medians": apps["bareasgi"]["median_requests_per_s"]
        / apps["bare"]["median_requests_per_s"],
        "round_ratios": per_round,
    }


def markdown(summary: dict[str, Any]) -> str:
    lines = ["| app | median requests/s | server CPU per request (us) | median latency (ms) "
             "| errors |", "|---|---|---|---|---|"]
    for name, app in summary["apps"].items():
        lines.append(f"| {name} | {app['median_requests_per_s']:,.0f} | "
                     f"{app['median_server_cpu_us_per_request']:.1f} | "
                     f"{app['median_latency_ms']:.2f} | {app['errors']} |")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = results_parser(__doc__, DEFAULT_JSON)
    parser.add_argument("--rounds", type=int, default=40, help="timed rounds (default 40)")
    parser.add_argument("--duration", type=int, default=1,
                        help="whole seconds per wrk run (default 1)")
    parser.add_argument("--side-rounds", type=int, default=12,
                        help="side-by-side rounds (default 12; 0 skips them)")
    parser.add_argument("--side-peers", type=lambda text: [p for p in text.split(",") if p],
                        default=list(PEERS), metavar="NAMES",
                        help="peers also measured side by side (default: "
                             f"{','.join(PEERS)}; '' for none)")
    parser.add_argument("--side-duration", type=int, default=2,
                        help="whole seconds per side-by-side round (default 2)")
    parser.add_argument("--warmup", type=float, default=2.0,
                        help="seconds of warm-up per app (default 2)")
    parser.add_argument("--connections", type=int, default=64, help="wrk -c (default 64)")
    parser.add_argument("--threads", type=int, default=1, help="wrk -t (default 1)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install -y wrk", file=sys.stderr)
        return 2
    alone, together = measure(args)
    summary = summarize(alone)
    print(markdown(summary))
    print(f"\nbareasgi / bare: {summary['ratio']:.3f} (median of the round ratios), "
          f"{summary['ratio_of_medians']:.3f} (ratio of the medians), "
          f"{summary['cpu_ratio']:.3f} (requests per server CPU second)", file=sys.stderr)
    if args.side_rounds:
        summary["side_by_side"] = {
            name: {"ratio": statistics.median(ratios), "round_ratios": ratios}
            for name, ratios in together.items()
        }
        for name, side in summary["side_by_side"].items():
            print(f"side by side, {name} / bare: {side['ratio']:.3f}", file=sys.stderr)
    settings = {"rounds": args.rounds, "duration_s": args.duration, "warmup_s": args.warmup,
                "side_rounds": args.side_rounds, "side_duration_s": args.side_duration,
                "side_peers": args.side_peers,
                "connections": args.connections, "threads": args.threads, "path": PATH,
                "pinned": can_pin(), "server": "uvicorn --http httptools --loop uvloop"}
    write_results(args.json, {"settings": settings, **summary})
    return 0


if __name__ == "__main__":
    sys.exit(main())
