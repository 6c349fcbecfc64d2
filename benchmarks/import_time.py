"""Import time of bareasgi, against asyncio (which it imports) and Starlette.

What is measured, for each module, in a fresh interpreter every time:

- *wall*: the wall-clock time of ``python -c "import X"`` minus that of ``python -c pass``
  (the bare interpreter start-up), medians over many interleaved runs;
- *importtime*: what ``python -X importtime -c "import X"`` reports for the statement - the
  cumulative microseconds of the top-level entries for X's package - median over runs.
  Steadier than wall-clock, but it leaves out the interpreter's own overhead of the option.

The statements are ``import asyncio``, ``import bareasgi`` (the whole framework: its
``__init__`` imports every module, asyncio included) and ``import starlette.applications``
(what a Starlette app needs; ``import starlette`` alone loads only the version string).

The byte-code caches are written first, as an install does (``PYTHONDONTWRITEBYTECODE`` is
removed from the environment: without the caches every run would compile the sources).
Every interpreter runs pinned to core 1 with ``taskset`` when possible (``pinned`` in the
results); the wall-clock times include ``taskset`` itself, which the subtraction removes.

Run::

    python benchmarks/import_time.py [--runs 40] [--json PATH]

Output: a Markdown table on stdout, progress on stderr, the results as JSON in
``benchmarks/results/import_time.json`` (or ``--json PATH``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from typing import Any

from common import CLIENT_CPU, RESULTS_DIR, ROOT, can_pin, pinned, results_parser, write_results

MODULES = {
    "asyncio": "import asyncio",
    "bareasgi": "import bareasgi",
    "starlette": "import starlette.applications",
}
BASELINE = "pass"
# As after an install: byte-code caches are written once (by the warm-up) and then used.
ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
DEFAULT_JSON = RESULTS_DIR / "import_time.json"


def wall_ms(statement: str) -> float:
    """Milliseconds for a fresh interpreter to run ``statement`` and exit."""
    start = time.perf_counter()
    subprocess.run(pinned(CLIENT_CPU, [sys.executable, "-c", statement]), check=True, cwd=ROOT,
                   env=ENV)
    return (time.perf_counter() - start) * 1e3


def importtime_ms(module: str, statement: str) -> float:
    """The cumulative import time ``-X importtime`` reports for ``module``'s package, in ms."""
    command = pinned(CLIENT_CPU, [sys.executable, "-X", "importtime", "-c", statement])
    done = subprocess.run(command, check=True, cwd=ROOT, capture_output=True, text=True,
                          env=ENV)
    total_us = 0
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line.split("|")
        if name.startswith(" ") and not name.startswith("  "):  # top level: one space
            package = name.strip()
            if package == module or package.startswith(module + "."):
                total_us += int(cumulative)
    if total_us == 0:
        raise RuntimeError(f"-X importtime reported nothing for {module}")
    return total_us / 1e3


def measure(runs: int) -> dict[str, dict[str, list[float]]]:
    """Interleaved runs: every statement once per round, in a rotating order."""
    names = [BASELINE, *MODULES]
    statements = {BASELINE: BASELINE, **MODULES}
    wall: dict[str, list[float]] = {name: [] for name in names}
    cumulative: dict[str, list[float]] = {name: [] for name in MODULES}
    for name in names:  # warm the file system cache and write the byte-code caches
        wall_ms(statements[name])
    for round_ in range(runs):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            wall[name].append(wall_ms(statements[name]))
            if name in MODULES:
                cumulative[name].append(importtime_ms(name, statements[name]))
        if (round_ + 1) % 10 == 0:
            print(f"  {round_ + 1}/{runs} runs", file=sys.stderr)
    return {"wall_ms": wall, "importtime_ms": cumulative}


def summarize(samples: dict[str, dict[str, list[float]]]) -> dict[str, Any]:
    startup = statistics.median(samples["wall_ms"][BASELINE])
    modules = {}
    for name, statement in MODULES.items():
        wall = statistics.median(samples["wall_ms"][name])
        modules[name] = {
            "statement": statement,
            "wall_ms": wall,
            "wall_minus_startup_ms": wall - startup,
            "importtime_ms": statistics.median(samples["importtime_ms"][name]),
        }
    return {"startup_ms": startup, "modules": modules, "samples": samples}


def markdown(summary: dict[str, Any]) -> str:
    lines = ["| module | statement | wall minus start-up (ms) | -X importtime (ms) |",
             "|---|---|---|---|"]
    for name, module in summary["modules"].items():
        lines.append(f"| {name} | `{module['statement']}` | "
                     f"{module['wall_minus_startup_ms']:.1f} | {module['importtime_ms']:.1f} |")
    lines.append(f"\nBare interpreter start-up (`python -c pass`): {summary['startup_ms']:.1f} ms")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = results_parser(__doc__, DEFAULT_JSON)
    parser.add_argument("--runs", type=int, default=40,
                        help="fresh interpreters per statement (default 40)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    summary = summarize(measure(args.runs))
    print(markdown(summary))
    settings = {"runs": args.runs, "pinned": can_pin()}
    write_results(args.json, {"settings": settings, **summary})
    return 0


if __name__ == "__main__":
    sys.exit(main())
