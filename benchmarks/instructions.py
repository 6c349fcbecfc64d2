"""Instructions per request, in process, counted by callgrind: bareasgi against the bare app
and against its own handlers with no framework around them (``handlers``).

Time on a shared machine is noisy; the number of instructions a request executes is not.
Each (framework, case) runs twice under ``valgrind --tool=callgrind`` (with
``PYTHONHASHSEED=0``, so that a count repeats), for N and for 5N requests of
``framework_cost.py``'s driver after the same warm-up: the difference over 4N is the count
per request, the driver's own work included, with start-up and warm-up cancelled out.
Method: docs/project/benchmarks.md.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import apps
import framework_cost
import harness

FRAMEWORKS = ["bare", "bareasgi", "handlers"]
CASES = ["hello", "hello_seed", "json", "route1", "websocket"]
WARM_UP = 200


def collected(framework: str, case: str, requests: int) -> int:
    """The instructions callgrind counts for a whole run of ``requests`` after the warm-up."""
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
               sys.executable, str(Path(__file__).resolve()), "worker", framework, case,
               str(requests)]
    done = subprocess.run(command, capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONHASHSEED": "0"})
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise RuntimeError(f"callgrind counted nothing for {framework}/{case}:\n{done.stderr}")
    return int(found.group(1))


async def work(framework: str, case_name: str, requests: int) -> None:
    """The counted process: build the app, warm it up, then serve ``requests`` requests."""
    case = framework_cost.build_case(case_name)
    app = apps.BUILDERS[framework](case_name)
    await framework_cost.run_batch(app, case, WARM_UP)
    await framework_cost.run_batch(app, case, requests)


def measure(settings: dict[str, Any]) -> dict[str, Any]:
    requests = settings["requests"]
    counts: dict[str, dict[str, float]] = {}
    counted: dict[tuple[str, str], float] = {}  # the bare app's hello serves two cases
    for case in settings["cases"]:
        for framework in settings["frameworks"]:
            base = framework_cost.BASE_CASE.get(case, case)
            run = framework, base if framework == "bare" else case
            if not apps.supports(*run):
                continue
            if run not in counted:
                harness.progress(f"  {'/'.join(run)}")
                few, many = (collected(*run, n) for n in (requests, 5 * requests))
                counted[run] = (many - few) / (4 * requests)
            counts.setdefault(case, {})[framework] = counted[run]
    return {"counts": counts}


def markdown(doc: dict[str, Any]) -> list[str]:
    counts: dict[str, dict[str, float]] = doc["counts"]
    frameworks = [f for f in doc["settings"]["frameworks"] if f != "bare"]

    def cell(case: str, framework: str) -> str:
        count, bare = counts[case].get(framework), counts[case].get("bare")
        if count is None:
            return "-"
        return f"{count / 1000:.1f}k" + (f" ({count / bare:.2f}x)" if bare else "")

    def part(case: str, bareasgi: float | None = None) -> str:
        """bareasgi's count, or ``bareasgi`` if given, less that of its handlers."""
        mine, floor = bareasgi or counts[case].get("bareasgi"), counts[case].get("handlers")
        return f"{(mine - floor) / 1000:.1f}k" if mine and floor else "-"

    limit = harness.IN_PROCESS_LIMIT

    return [
        "Thousands of instructions per request (per connection for websocket), counted by "
        "callgrind, and in brackets the ratio to the bare app: the driver's own work is "
        "included, and instructions differ in cost, so a ratio of counts is not a ratio of "
        "times, but it does not change with the machine's load. *handlers* "
        "is bareasgi's handlers with no framework around them, as in the table above; "
        "*framework's part* is bareasgi's count less theirs, and the last column what it "
        f"would be with bareasgi at {limit:g}x the bare app. The seed-style hello is compared "
        "with the bare app's hello.", "",
        *harness.table(["case", "bare", *frameworks, "framework's part", f"at {limit:g}x bare"],
                       [[case, f"{counts[case]['bare'] / 1000:.1f}k",
                         *(cell(case, f) for f in frameworks), part(case),
                         part(case, limit * counts[case]["bare"])]
                        for case in doc["settings"]["cases"] if case in counts]),
    ]


if __name__ == "__main__":
    if sys.argv[1:2] == ["worker"]:
        asyncio.run(work(sys.argv[2], sys.argv[3], int(sys.argv[4])))
        sys.exit()
    harness.main(
        __doc__, "instructions", measure, markdown, {"valgrind": "callgrind, PYTHONHASHSEED=0"},
        {"requests": (500, 100, "requests counted in the shorter run (the longer has 5x)"),
         "frameworks": (FRAMEWORKS, None, "frameworks; 'bare' must be one"),
         "cases": (CASES, None, "cases")})
