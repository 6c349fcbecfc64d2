"""Run every benchmark, then write the summary and the chart: what ``make bench`` runs.

Each of ``NAMES`` runs in its own interpreter (throughput.py is skipped with a note without
``wrk``), then ``report.py`` from whatever results are there; benchmarks/README.md says how
to install and what ``--quick``, ``--only`` and ``--results`` do. The exit code is non-zero
if a benchmark failed.
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
