"""Import time of bareasgi, against asyncio (which it imports) and Starlette.

A fresh pinned interpreter per sample: ``python -c "import X"`` minus ``python -c pass``,
and ``-X importtime``'s figure for X; method: docs/project/benchmarks.md.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from typing import Any

from harness import CLIENT_CPU, ROOT, can_pin, interleave, main, pinned, table

MODULES = {"asyncio": "import asyncio", "bareasgi": "import bareasgi",
           "starlette": "import starlette.applications"}
# As after an install: byte-code caches are written once (by the warm-up) and then used.
ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def wall_ms(statement: str) -> float:
    """Milliseconds for a fresh interpreter to run ``statement`` and exit."""
    start = time.perf_counter()
    subprocess.run(pinned(CLIENT_CPU, [sys.executable, "-c", statement]), check=True, cwd=ROOT,
                   env=ENV)
    return (time.perf_counter() - start) * 1e3


def importtime_ms(module: str) -> float:
    """The cumulative import time ``-X importtime`` reports for ``module``'s package, in ms."""
    command = pinned(CLIENT_CPU, [sys.executable, "-X", "importtime", "-c", MODULES[module]])
    done = subprocess.run(command, check=True, cwd=ROOT, capture_output=True, text=True,
                          env=ENV)
    total_us = 0
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cumulative, name = line.split("|")
            package = name.strip()
            top_level = name.startswith(" ") and not name.startswith("  ")
            if top_level and (package == module or package.startswith(module + ".")):
                total_us += int(cumulative)
    if total_us == 0:
        raise RuntimeError(f"-X importtime reported nothing for {module}")
    return total_us / 1e3


def markdown(doc: dict[str, Any]) -> list[str]:
    return [
        f"Fresh interpreter per sample, median of {doc['settings']['runs']} interleaved runs. "
        "*Wall* is `python -c \"STATEMENT\"` minus `python -c pass` "
        f"({doc['startup_ms']:.1f} ms); *-X importtime* is the cumulative time Python reports "
        "for the statement's package.", "",
        *table(["module", "statement", "wall (ms)", "-X importtime (ms)"],
               [[name, f"`{m['statement']}`", f"{m['wall_minus_startup_ms']:.1f}",
                 f"{m['importtime_ms']:.1f}"] for name, m in doc["modules"].items()],
               numeric_from=2),
    ]


def measure(settings: dict[str, Any]) -> dict[str, Any]:
    statements = {"pass": "pass", **MODULES}
    for statement in statements.values():  # warm the file cache, write the byte-code caches
        wall_ms(statement)
    names, runs = list(statements), settings["runs"]
    wall = dict(zip(names, interleave(runs, names, lambda n: wall_ms(statements[n])),
                    strict=True))
    cumulative = dict(zip(MODULES, interleave(runs, list(MODULES), importtime_ms), strict=True))
    startup = statistics.median(wall["pass"])
    modules = {name: {"statement": statement, "wall_ms": statistics.median(wall[name]),
                      "wall_minus_startup_ms": statistics.median(wall[name]) - startup,
                      "importtime_ms": statistics.median(cumulative[name])}
               for name, statement in MODULES.items()}
    return {"startup_ms": startup, "modules": modules,
            "samples": {"wall_ms": wall, "importtime_ms": cumulative}}


if __name__ == "__main__":
    main(__doc__, "import_time", measure, markdown, {"pinned": can_pin()},
         {"runs": (40, 10, "fresh interpreters per statement")})
