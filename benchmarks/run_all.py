"""Run every benchmark, then write the summary and the chart: what ``make bench`` runs.

Runs, one after the other, each in its own interpreter (the same Python as this one):
``framework_cost.py --json`` (in-process framework cost), ``throughput.py`` (requests/s
through uvicorn, skipped with a note if ``wrk`` is not installed), ``memory.py`` (peak RSS
while 1 GiB streams each way) and ``import_time.py``; each writes its JSON into
``benchmarks/results/``. Then ``report.py`` writes ``benchmarks/results/summary.md`` and
``docs/images/performance.png`` from whatever results are there. About 5 minutes in all.

Run (the peers and matplotlib are benchmark-only dependencies; wrk is a Debian package)::

    pip install -r benchmarks/requirements.txt
    apt-get install -y wrk
    python benchmarks/run_all.py [--quick] [--only NAME,...]

``--quick`` runs short versions (fewer rounds, 256 MiB for memory) to check that everything
works; its figures are too noisy to publish. The exit code is non-zero if a benchmark failed.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time

from common import BENCH_DIR, ROOT

FULL = {
    "framework_cost": ["--json"],
    "throughput": [],
    "memory": [],
    "import_time": [],
}
QUICK = {
    "framework_cost": ["--json", "--rounds", "3", "--target", "0.1"],
    "throughput": ["--rounds", "2", "--duration", "2", "--warmup", "1", "--side-rounds", "2"],
    "memory": ["--size-mib", "256"],
    "import_time": ["--runs", "10"],
}


def run(name: str, arguments: list[str]) -> bool:
    """Run ``benchmarks/NAME.py ARGUMENTS``; True if it succeeded."""
    command = [sys.executable, str(BENCH_DIR / f"{name}.py"), *arguments]
    print(f"== {name}: {' '.join(command[1:])}", file=sys.stderr, flush=True)
    start = time.perf_counter()
    code = subprocess.run(command, cwd=ROOT).returncode
    print(f"== {name}: exit code {code} after {time.perf_counter() - start:.0f} s",
          file=sys.stderr, flush=True)
    return code == 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true",
                        help="short runs, to check that everything works")
    parser.add_argument("--only", default=",".join(FULL),
                        help="comma-separated benchmarks to run (default all); the report "
                             "always runs")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = QUICK if args.quick else FULL
    selected = [name for name in args.only.split(",") if name]
    unknown = sorted(set(selected) - set(plan))
    if unknown:
        print(f"unknown benchmark: {', '.join(unknown)}", file=sys.stderr)
        return 2
    failed = []
    for name in selected:
        if name == "throughput" and shutil.which("wrk") is None:
            print("== throughput: skipped, wrk is not installed (apt-get install -y wrk)",
                  file=sys.stderr)
            continue
        if not run(name, plan[name]):
            failed.append(name)
    report_ok = run("report", [])
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 0 if report_ok and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
