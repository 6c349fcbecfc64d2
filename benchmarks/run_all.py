"""Run every benchmark, then write the summary and the chart: what ``make bench`` runs.

Each of ``SECTIONS`` runs in its own interpreter (throughput.py is skipped with a note
without ``wrk``, instructions.py without ``valgrind``). Then, from whatever results are
there, ``summary.md`` (which docs/explanation/performance.md includes: the environment,
each benchmark's table or "Not run.", the targets and whether each is met, the commands)
and the chart of the in-process cost. benchmarks/README.md says what ``--quick``,
``--only`` and ``--results`` do. The exit code is non-zero if a benchmark failed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import framework_cost
import import_time
import instructions
import memory
import throughput
import websocket_echo
from harness import (
    BENCH_DIR,
    IN_PROCESS_LIMIT,
    PEERS,
    RESULTS_DIR,
    ROOT,
    Doc,
    Markdown,
    names,
    progress,
    table,
)

SECTIONS: dict[str, tuple[str, Markdown]] = {
    "framework_cost": ("Framework cost, in process", framework_cost.markdown),
    "instructions": ("Instructions per request, in process", instructions.markdown),
    "throughput": ("Requests per second through uvicorn", throughput.markdown),
    "websocket_echo": ("WebSocket messages per second through uvicorn", websocket_echo.markdown),
    "memory": ("Peak memory while streaming", memory.markdown),
    "import_time": ("Import times", import_time.markdown),
}
PUBLISHED_CHART = ROOT / "docs/images/performance.png"
FRAMEWORKS = ("bare", "bareasgi", *PEERS)
COLORS = {"bare": "#9e9e9e", "bareasgi": "#00897b", "starlette": "#5c6bc0",
          "falcon": "#f4a261", "blacksheep": "#454545", "asgineer": "#c2185b"}
SIDE_BY_SIDE_FLOOR = 0.95  # of the bare app's requests/s, both hellos
ROUTES_LIMIT = 1.15  # routes1000 against route1
Target = tuple[str, str, bool | None]  # what, measured, met (None: not measured)


def environment_line(docs: dict[str, Doc]) -> str:
    if not docs:
        return "No benchmark has been run yet: see the commands below."
    machine = next(iter(docs.values()))["machine"]
    dates = sorted({doc["date"][:10] for doc in docs.values()})
    commits = sorted({doc.get("commit", "unknown") for doc in docs.values()})
    versions: dict[str, str] = {}
    for doc in docs.values():
        versions |= doc["versions"]
    return (f"Measured on {' to '.join(sorted({dates[0], dates[-1]}))} (bareasgi at commit "
            f"{', '.join(commits)}) on `{machine['platform']}`, {machine['processor']}, "
            f"{machine['cpu_count']} cores, {machine['implementation']} {machine['python']}; "
            + ", ".join(f"{name} {version}" for name, version in versions.items())
            + ". The machine is shared and noisy: read the ratios, not the absolute times.")


def targets(docs: dict[str, Doc]) -> list[Target]:
    """Issue 14's targets, each with what was measured and whether it is met."""
    found: list[Target] = []
    cost = docs.get("framework_cost", {"results": {}})
    if "framework_cost" not in docs:
        found.append(("In-process framework cost", "not measured", None))
    for case, by_framework in cost["results"].items():
        mine = by_framework.get("bareasgi", {})
        if "ratio_to_bare" not in mine:
            continue
        ratio, to_peers = mine["ratio_to_bare"], mine["ratio_to_peers"]
        found.append((f"In-process {case}: at most {IN_PROCESS_LIMIT:g}x bare", f"{ratio:.2f}x",
                      ratio <= IN_PROCESS_LIMIT))
        beaten = [f"{peer} ({r:.2f}x)" for peer, r in to_peers.items() if r >= 1.0]
        measured = ("as cheap or cheaper: " + ", ".join(beaten) if beaten else
                    f"cheapest; {max(to_peers.values()):.2f}x the next" if to_peers else "no peer")
        found.append((f"In-process {case}: below every peer", measured,
                      not beaten if to_peers else None))
    routing = cost["results"].get("routes1000", {}).get("bareasgi", {}).get("ratio_to_route1")
    if routing is not None:
        found.append((f"1000 routes: at most {ROUTES_LIMIT:g}x one route", f"{routing:.2f}x",
                      routing <= ROUTES_LIMIT))
    rates = docs.get("throughput")
    side = rates["side_by_side"] if rates else {}
    for app, hello in (("bareasgi", "hello"), (throughput.SEED, "seed-style hello")):
        text = f"Through uvicorn side by side, {hello}: at least {SIDE_BY_SIDE_FLOOR:g} of bare"
        if app not in side:
            found.append((text, "not measured", None))
            continue
        measured = f"{side[app]['ratio']:.3f}"
        if app == "bareasgi" and rates:
            measured += (f" (back to back: {rates['ratio']:.3f}, per second of server CPU: "
                         f"{rates['cpu_ratio']:.3f})")
        found.append((text, measured, side[app]["ratio"] >= SIDE_BY_SIDE_FLOOR))
    if "memory" not in docs:
        return [*found, ("Streaming 1 GiB either way: peak RSS growth under 32 MiB",
                         "not measured", None)]
    limit, size = (docs["memory"]["settings"][key] for key in ("target_mib", "size_mib"))
    return found + [
        (f"{r['direction'].capitalize()} {size} MiB: peak RSS growth under {limit:g} MiB",
         f"{r['growth_mib']:.1f} MiB", r["growth_mib"] < limit)
        for r in docs["memory"]["results"] if r["app"] == "bareasgi"]


def summary(docs: dict[str, Doc]) -> str:
    lines = ["<!-- Generated by benchmarks/run_all.py from benchmarks/results/*.json. -->", "",
             environment_line(docs)]
    for name, (title, section) in SECTIONS.items():
        lines += ["", f"### {title}", "", *(section(docs[name]) if name in docs else ["Not run."])]
    verdicts = {True: "met", False: "**not met**", None: "not measured"}
    lines += ["", "### Targets in this run", "",
              *table(["target", "measured", ""],
                     [[t, m, verdicts[met]] for t, m, met in targets(docs)], numeric_from=3)]
    lines += ["", "### Commands", "", "```bash",
              "pip install -e . -r benchmarks/requirements.txt",
              "apt-get install -y wrk          # the load generator of throughput.py",
              "apt-get install -y valgrind     # callgrind counts for instructions.py",
              "python benchmarks/run_all.py    # all of the following, in this order",
              *(doc["command"] for doc in docs.values()), "```"]
    return "\n".join(lines) + "\n"


def draw_chart(doc: Doc, path: Path) -> None:
    """Two panels: microseconds per request, and the ratio to bare, per case and framework."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    results = doc["results"]
    cases = [case for case in doc["settings"]["cases"] if "bareasgi" in results.get(case, {})]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 8.4), sharex=True,
                                      gridspec_kw={"height_ratios": [1.15, 1]})
    for axes, key, frameworks in ((top, "median_us", FRAMEWORKS),
                                  (bottom, "ratio_to_bare", FRAMEWORKS[1:])):
        width = 0.84 / len(frameworks)
        for index, framework in enumerate(frameworks):
            xs = [i + (index - (len(frameworks) - 1) / 2) * width for i in range(len(cases))]
            values = [results[case].get(framework, {}).get(key, float("nan")) for case in cases]
            bars = axes.bar(xs, values, width, label=framework, color=COLORS[framework],
                            edgecolor="white", linewidth=0.5)
            if key == "ratio_to_bare" and framework == "bareasgi":
                for bar, value in zip(bars, values, strict=True):
                    axes.annotate(f"{value:.1f}x", xy=(bar.get_x() + bar.get_width(),
                                  bar.get_height()), xytext=(0, 2), textcoords="offset points",
                                  ha="right", va="bottom", fontsize=9, color=COLORS[framework],
                                  fontweight="bold")
        axes.set_yscale("log")
        axes.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        axes.yaxis.set_minor_formatter(NullFormatter())
        axes.grid(axis="y", which="major", color="#dddddd", linewidth=0.8)
        axes.set_axisbelow(True)
        axes.spines[["top", "right"]].set_visible(False)
    top.set_ylabel("median microseconds per request")
    top.set_ylim(bottom=1.0)
    top.legend(ncol=len(FRAMEWORKS), loc="upper center", bbox_to_anchor=(0.5, 1.13),
               frameon=False, fontsize=10)
    bottom.axhline(1.0, color=COLORS["bare"], linewidth=1.2, linestyle="--")
    bottom.set_ylabel("ratio to the bare ASGI app (dashed: 1)")
    bottom.set_xticks(range(len(cases)), cases, fontsize=11)
    bottom.set_ylim(bottom=0.8)
    fig.suptitle("Framework cost per request, in process (lower is better)", fontsize=14,
                 fontweight="bold")
    machine = doc["machine"]
    fig.text(0.01, 0.005, f"Median of {doc['settings']['rounds']} interleaved rounds, "
             f"{doc['date'][:10]}, {machine['implementation']} {machine['python']}, "
             f"{machine['cpu_count']} cores ({machine['processor']}).\nhello_seed is bareasgi's "
             "alone, its ratio against bare's hello. Asgineer has no router: its route1/"
             "routes1000 dispatch by hand, like bare. benchmarks/framework_cost.py",
             fontsize=8, color="#666666", ha="left", va="bottom")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, facecolor="white")
    plt.close(fig)


def main() -> int:
    cli = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    cli.add_argument("--quick", action="store_true",
                     help="short runs, to check that everything works")
    cli.add_argument("--only", type=names, default=list(SECTIONS), metavar="NAMES",
                     help="comma-separated benchmarks to run (default all; '' for none: only "
                          "the summary and the chart, which are always rewritten)")
    cli.add_argument("--results", type=Path, metavar="DIR",
                     help="write results, summary and chart here (default: where published)")
    args = cli.parse_args()
    if unknown := sorted(set(args.only) - set(SECTIONS)):
        cli.error(f"unknown benchmark: {', '.join(unknown)}")
    failed = []
    for name in args.only:
        tool = {"throughput": "wrk", "instructions": "valgrind"}.get(name)
        if tool is not None and shutil.which(tool) is None:
            progress(f"== {name}: skipped, {tool} is not installed (apt-get install -y {tool})")
            continue
        command = [sys.executable, str(BENCH_DIR / f"{name}.py"), *(["--quick"] * args.quick),
                   *(["--json", str(args.results / f"{name}.json")] if args.results else [])]
        progress(f"== {name}: {' '.join(command[1:])}")
        start = time.perf_counter()
        code = subprocess.run(command, cwd=ROOT).returncode
        progress(f"== {name}: exit code {code} after {time.perf_counter() - start:.0f} s")
        failed += [name] if code else []
    results = args.results or RESULTS_DIR
    docs = {name: json.loads((results / f"{name}.json").read_text())
            for name in SECTIONS if (results / f"{name}.json").exists()}
    (results / "summary.md").write_text(summary(docs))
    progress(f"wrote {results / 'summary.md'}")
    if "framework_cost" in docs:
        chart = args.results / "performance.png" if args.results else PUBLISHED_CHART
        draw_chart(docs["framework_cost"], chart)
        progress(f"wrote {chart}")
    if failed:
        progress(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
