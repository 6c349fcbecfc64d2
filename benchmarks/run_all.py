"""Run every benchmark, then write the summary and the chart: what ``make bench`` runs.

Runs, one after the other, each in its own interpreter (the same Python as this one):
``framework_cost.py`` (in-process framework cost), ``throughput.py`` (requests/s through
uvicorn; skipped with a note if ``wrk`` is not installed), ``websocket_echo.py`` (WebSocket
messages/s through uvicorn), ``memory.py`` (peak RSS while 1 GiB streams each way) and
``import_time.py``; each writes its JSON into ``benchmarks/results/``. Then ``report.py``
writes ``benchmarks/results/summary.md`` and ``docs/images/performance.png`` from whatever
results are there. About 10 minutes in all.

Run (the peers and matplotlib are benchmark-only dependencies; wrk is a Debian package)::

    pip install -r benchmarks/requirements.txt
    apt-get install -y wrk
    python benchmarks/run_all.py [--quick] [--only NAME,...] [--results DIR]

``--quick`` runs short versions (each benchmark's ``--quick``: fewer rounds, 256 MiB for
memory) to check that everything works in about two minutes; its figures are too noisy to
publish. ``--results DIR`` writes the results, the summary and the chart into DIR instead
(a scratch directory, for such a check). The exit code is non-zero if a benchmark failed.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

from harness import BENCH_DIR, ROOT

NAMES = ("framework_cost", "throughput", "websocket_echo", "memory", "import_time")


def run(name: str, arguments: list[str]) -> bool:
    """Run ``benchmarks/NAME.py ARGUMENTS``; True if it succeeded."""
    command = [sys.executable, str(BENCH_DIR / f"{name}.py"), *arguments]
    print(f"== {name}: {' '.join(command[1:])}", file=sys.stderr, flush=True)
    start = time.perf_counter()
    code = subprocess.run(command, cwd=ROOT).returncode
    print(f"== {name}: exit code {code} after {time.perf_counter() - start:.0f} s",
          file=sys.stderr, flush=True)
    return code == 0


def main(argv: list[str] | None = None) -> int:
    cli = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    cli.add_argument("--quick", action="store_true",
                     help="short runs, to check that everything works")
    cli.add_argument("--only", default=",".join(NAMES),
                     help="comma-separated benchmarks to run (default all); the report "
                          "always runs")
    cli.add_argument("--results", type=Path, metavar="DIR",
                     help="write results, summary and chart here (default: where published)")
    args = cli.parse_args(argv)
    selected = [name for name in args.only.split(",") if name]
    unknown = sorted(set(selected) - set(NAMES))
    if unknown:
        print(f"unknown benchmark: {', '.join(unknown)}", file=sys.stderr)
        return 2
    failed = []
    for name in selected:
        if name == "throughput" and shutil.which("wrk") is None:
            print("== throughput: skipped, wrk is not installed (apt-get install -y wrk)",
                  file=sys.stderr)
            continue
        options = ["--quick"] if args.quick else []
        if args.results:
            options += ["--json", str(args.results / f"{name}.json")]
        if not run(name, options):
            failed.append(name)
    report = []
    if args.results:
        report = ["--results", str(args.results), "--chart", str(args.results / "performance.png")]
    report_ok = run("report", report)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 0 if report_ok and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
