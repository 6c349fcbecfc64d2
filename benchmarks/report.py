"""Turn the benchmark results into a Markdown summary and a chart for the documentation.

Reads the JSON files the benchmarks write into ``benchmarks/results/`` (``framework_cost``,
``throughput``, ``memory``, ``import_time``; any that is missing is reported as not run)
and writes

- ``benchmarks/results/summary.md``: the date, machine and versions, one table per
  benchmark, the performance targets with whether each is met (computed from the numbers,
  never written by hand), and the exact commands that produced the results. The
  documentation page ``docs/explanation/performance.md`` includes it;
- ``docs/images/performance.png``: the in-process framework cost per case, grouped bars
  per framework on a log scale, and below it each framework's ratio to the bare ASGI app.

Measures nothing itself. Run (matplotlib is in ``benchmarks/requirements.txt``)::

    python benchmarks/report.py [--results DIR] [--summary PATH] [--chart PATH]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common import RESULTS_DIR, ROOT

NAMES = ("framework_cost", "throughput", "memory", "import_time")
DEFAULT_CHART = ROOT / "docs" / "images" / "performance.png"
FRAMEWORKS = ("bare", "bareasgi", "starlette", "falcon", "blacksheep", "asgineer")
PEERS = FRAMEWORKS[2:]
CASES = ("hello", "json", "route1", "routes1000", "stream", "upload", "websocket")
COLORS = {"bare": "#9e9e9e", "bareasgi": "#00897b", "starlette": "#5c6bc0",
          "falcon": "#f4a261", "blacksheep": "#454545", "asgineer": "#c2185b"}
SERVER_VERSIONS = ("uvicorn", "httptools", "uvloop")

Docs = dict[str, dict[str, Any] | None]


def load(results_dir: Path) -> Docs:
    """Each benchmark's JSON document, or None when it has not been run."""
    docs: Docs = {}
    for name in NAMES:
        path = results_dir / f"{name}.json"
        docs[name] = json.loads(path.read_text()) if path.exists() else None
    return docs


class Costs:
    """framework_cost.json's results: medians, and ratios of samples paired by round."""

    def __init__(self, doc: dict[str, Any] | None) -> None:
        results = doc["results"] if doc is not None else []
        self.samples: dict[tuple[str, str], list[float]] = {
            (r["framework"], r["case"]): r["samples_us"] for r in results if "samples_us" in r
        }

    def __bool__(self) -> bool:
        return bool(self.samples)

    def has(self, framework: str, case: str) -> bool:
        return (framework, case) in self.samples

    def median(self, framework: str, case: str) -> float:
        return statistics.median(self.samples[framework, case])

    def ratio(self, mine: tuple[str, str], other: tuple[str, str]) -> float:
        """Median over rounds of the ratio of the two samples taken in the same round."""
        pairs = zip(self.samples[mine], self.samples[other], strict=True)
        return statistics.median(a / b for a, b in pairs)

    def to_bare(self, framework: str, case: str) -> float:
        return self.ratio((framework, case), ("bare", case))

    def routing(self, framework: str) -> float | None:
        """routes1000 against route1, paired by round (they share their rounds)."""
        if not (self.has(framework, "routes1000") and self.has(framework, "route1")):
            return None
        return self.ratio((framework, "routes1000"), (framework, "route1"))


# --- the environment ------------------------------------------------------------------------


def first_doc(docs: Docs) -> dict[str, Any] | None:
    return next((doc for doc in docs.values() if doc is not None), None)


def versions_line(docs: Docs) -> str:
    versions: dict[str, str] = {}
    for doc in docs.values():
        if doc is not None:
            versions.update(doc["versions"])
    names = ["bareasgi", *SERVER_VERSIONS, *PEERS]
    return ", ".join(f"{name} {versions[name]}" for name in names if name in versions)


def environment_lines(docs: Docs) -> list[str]:
    doc = first_doc(docs)
    if doc is None:
        return ["No benchmark has been run yet: see the commands below."]
    machine = doc["machine"]
    dates = sorted({d["date"][:10] for d in docs.values() if d is not None})
    commits = sorted({d.get("commit", "unknown") for d in docs.values() if d is not None})
    return [
        f"Measured on {' to '.join([dates[0], dates[-1]] if len(dates) > 1 else dates)} "
        f"(bareasgi at commit {', '.join(commits)}) on `{machine['platform']}`, "
        f"{machine['processor']}, {machine['cpu_count']} cores, {machine['implementation']} "
        f"{machine['python']}; {versions_line(docs)}. The machine is shared and noisy: read "
        "the ratios, not the absolute times.",
    ]


# --- one section per benchmark --------------------------------------------------------------


def cost_cell(table: Costs, framework: str, case: str) -> str:
    if not table.has(framework, case):
        return "-"
    text = f"{table.median(framework, case):.1f}"
    if table.has("bare", case):
        text += f" ({table.to_bare(framework, case):.1f}x)"
    return f"**{text}**" if framework == "bareasgi" else text


def framework_cost_lines(doc: dict[str, Any] | None) -> list[str]:
    if doc is None:
        return ["Not run."]
    table = Costs(doc)
    settings = doc["settings"]
    lines = [
        f"Median microseconds per request over {settings['rounds']} interleaved rounds, the app "
        "called in-process (no server, no sockets), and in brackets the ratio to the "
        "hand-written bare ASGI app (the median of the ratios of samples taken in the same "
        "round); lower is better.",
        "",
        "| case | " + " | ".join(FRAMEWORKS) + " |",
        "|---" + "|---:" * len(FRAMEWORKS) + "|",
    ]
    for case in CASES:
        cells = [cost_cell(table, framework, case) for framework in FRAMEWORKS]
        lines.append(f"| {case} | " + " | ".join(cells) + " |")
    routing = [table.routing(framework) for framework in FRAMEWORKS]
    lines.append("| *routes1000 / route1* | "
                 + " | ".join(f"{r:.2f}" if r is not None else "-" for r in routing) + " |")
    return lines


def throughput_lines(doc: dict[str, Any] | None) -> list[str]:
    if doc is None:
        return ["Not run (it needs `wrk`: `apt-get install -y wrk`)."]
    settings, apps = doc["settings"], doc["apps"]
    bare = apps["bare"]["median_requests_per_s"]
    lines = [
        f"`GET /hello` through `{settings['server']}` (one process), loaded by "
        f"`wrk -t{settings['threads']} -c{settings['connections']} "
        f"-d{settings['duration_s']:g}s`, {settings['rounds']} interleaved rounds"
        + (", server and wrk pinned to separate cores" if settings["pinned"] else "") + ".",
        "",
        "| app | median requests/s | ratio of medians | server CPU per request (us) "
        "| median mean latency (ms) | errors |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, app in apps.items():
        rps = app["median_requests_per_s"]
        lines.append(f"| {name} | {rps:,.0f} | {rps / bare:.3f} | "
                     f"{app['median_server_cpu_us_per_request']:.1f} | "
                     f"{app['median_latency_ms']:.2f} | {app['errors']} |")
    rounds = ", ".join(f"{ratio:.2f}" for ratio in doc["round_ratios"])
    lines += [
        "", f"Requests/s, bareasgi / bare: **{doc['ratio']:.3f}**, the median of the ratios of "
        f"the rounds ({rounds}); each round runs the two apps back to back. Requests per "
        f"second of server CPU time, bareasgi / bare: **{doc['cpu_ratio']:.3f}** (median of the "
        "rounds), what each would serve with a core to itself.",
    ]
    side = doc.get("side_by_side")
    if side:
        lines += [
            "",
            f"Side by side: {settings['side_rounds']} rounds in which the bare app's server and "
            f"one other, both on core 0, are loaded at once for {settings['side_duration_s']:g} s"
            " by one wrk each. The scheduler gives each server half of the core and the "
            "machine's noise slows both alike, so their ratio of requests/s is the steadiest "
            "figure here; it is a little pessimistic for the app with more code, whose cache "
            "lines the bare server evicts. Median of the rounds, and the middle half of them:",
            "",
            "| app | requests/s, app / bare | middle half of the rounds |",
            "|---|---:|---:|",
        ]
        for name, result in side.items():
            ratio = f"{result['ratio']:.3f}"
            spread = "-"
            if len(result["round_ratios"]) > 1:
                low, _, high = statistics.quantiles(result["round_ratios"], n=4)
                spread = f"{low:.3f} to {high:.3f}"
            lines.append(f"| {name} | " + (f"**{ratio}**" if name == "bareasgi" else ratio)
                         + f" | {spread} |")
    return lines


def memory_lines(doc: dict[str, Any] | None) -> list[str]:
    if doc is None:
        return ["Not run."]
    settings = doc["settings"]
    lines = [
        f"Peak RSS growth of the uvicorn process while {settings['size_mib']} MiB go through "
        f"it in {settings['chunk_kib']} KiB chunks, after a {settings['warmup_mib']} MiB "
        "warm-up; the bare ASGI app doing the same is the reference.",
        "",
        "| app | direction | baseline RSS (MiB) | peak growth (MiB) | MiB/s |",
        "|---|---|---:|---:|---:|",
    ]
    for r in doc["results"]:
        growth = f"{r['growth_mib']:.1f}"
        lines.append(f"| {r['app']} | {r['direction']} | {r['baseline_rss_mib']:.1f} | "
                     + (f"**{growth}**" if r["app"] == "bareasgi" else growth)
                     + f" | {r['mib_per_s']:.0f} |")
    return lines


def import_time_lines(doc: dict[str, Any] | None) -> list[str]:
    if doc is None:
        return ["Not run."]
    lines = [
        f"Fresh interpreter per sample, median of {doc['settings']['runs']} interleaved runs. "
        "*Wall* is `python -c \"STATEMENT\"` minus `python -c pass` "
        f"({doc['startup_ms']:.1f} ms); *-X importtime* is the cumulative time Python reports "
        "for the statement's package.",
        "",
        "| module | statement | wall (ms) | -X importtime (ms) |",
        "|---|---|---:|---:|",
    ]
    for name, module in doc["modules"].items():
        lines.append(f"| {name} | `{module['statement']}` | "
                     f"{module['wall_minus_startup_ms']:.1f} | {module['importtime_ms']:.1f} |")
    return lines


# --- targets --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    text: str
    measured: str
    met: bool | None  # None: not measured


def beaten_by(table: Costs, case: str) -> list[str]:
    """The peers at least as cheap as bareasgi on ``case``, compared round by round."""
    mine = ("bareasgi", case)
    return [f"{peer} ({table.ratio(mine, (peer, case)):.2f}x)" for peer in PEERS
            if table.has(peer, case) and table.ratio(mine, (peer, case)) >= 1.0]


def cost_targets(doc: dict[str, Any] | None) -> list[Target]:
    table = Costs(doc)
    if not (table.has("bareasgi", "hello") and table.has("bare", "hello")):
        return [Target("In-process framework cost", "not measured", None)]
    hello = table.to_bare("bareasgi", "hello")
    targets = [Target("In-process hello: at most 2x bare", f"{hello:.2f}x", hello <= 2.0)]
    for case in CASES:
        if not table.has("bareasgi", case):
            continue
        beaten = beaten_by(table, case)
        closest = max((table.ratio(("bareasgi", case), (peer, case)) for peer in PEERS
                       if table.has(peer, case)), default=None)
        measured = ("as cheap or cheaper: " + ", ".join(beaten) if beaten
                    else f"cheapest; {closest:.2f}x the next" if closest else "no peer")
        targets.append(Target(f"In-process {case}: below every peer", measured, not beaten))
    routing = table.routing("bareasgi")
    if routing is not None:
        targets.append(Target("1000 routes: at most 1.15x one route", f"{routing:.2f}x",
                              routing <= 1.15))
    return targets


def throughput_target(doc: dict[str, Any] | None) -> list[Target]:
    text = "Through uvicorn: at least 0.90 of bare's requests/s"
    if doc is None:
        return [Target(text, "not measured", None)]
    measured = f"{doc['ratio']:.3f} (per second of server CPU: {doc['cpu_ratio']:.3f}"
    if "bareasgi" in doc.get("side_by_side", {}):
        measured += f"; side by side: {doc['side_by_side']['bareasgi']['ratio']:.3f}"
    measured += ")"
    return [Target(text, measured, doc["ratio"] >= 0.90)]


def memory_targets(doc: dict[str, Any] | None) -> list[Target]:
    if doc is None:
        return [Target("Streaming 1 GiB either way: peak RSS growth under 32 MiB",
                       "not measured", None)]
    limit = doc["settings"]["target_mib"]
    return [
        Target(f"{r['direction'].capitalize()} {doc['settings']['size_mib']} MiB: peak RSS "
               f"growth under {limit:g} MiB", f"{r['growth_mib']:.1f} MiB",
               r["growth_mib"] < limit)
        for r in doc["results"] if r["app"] == "bareasgi"
    ]


def target_lines(docs: Docs) -> list[str]:
    targets = (cost_targets(docs["framework_cost"]) + throughput_target(docs["throughput"])
               + memory_targets(docs["memory"]))
    verdicts = {True: "met", False: "**not met**", None: "not measured"}
    lines = ["| target | measured | |", "|---|---|---|"]
    lines += [f"| {t.text} | {t.measured} | {verdicts[t.met]} |" for t in targets]
    return lines


# --- the whole summary ----------------------------------------------------------------------


def reproduce_lines(docs: Docs) -> list[str]:
    commands = [
        "pip install -e . -r benchmarks/requirements.txt",
        "apt-get install -y wrk          # the load generator of throughput.py",
        "python benchmarks/run_all.py    # all of the following, in this order",
    ]
    commands += [doc["command"] for doc in docs.values() if doc is not None]
    commands.append("python benchmarks/report.py")
    return ["```bash", *commands, "```"]


SECTIONS: tuple[tuple[str, str, Callable[[dict[str, Any] | None], list[str]]], ...] = (
    ("Framework cost, in process", "framework_cost", framework_cost_lines),
    ("Requests per second through uvicorn", "throughput", throughput_lines),
    ("Peak memory while streaming", "memory", memory_lines),
    ("Import times", "import_time", import_time_lines),
)


def summary(docs: Docs) -> str:
    lines = ["<!-- Generated by benchmarks/report.py from benchmarks/results/*.json. -->", ""]
    lines += environment_lines(docs)
    for title, name, section in SECTIONS:
        lines += ["", f"### {title}", "", *section(docs[name])]
    lines += ["", "### Targets in this run", "", *target_lines(docs)]
    lines += ["", "### Commands", "", *reproduce_lines(docs)]
    return "\n".join(lines) + "\n"


# --- the chart ------------------------------------------------------------------------------


def draw_chart(table: Costs, path: Path, footnote: str) -> None:
    """Two panels: microseconds per request, and the ratio to bare, per case and framework."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cases = [case for case in CASES if table.has("bare", case)]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 8.4), sharex=True,
                                      gridspec_kw={"height_ratios": [1.15, 1]})
    draw_bars(top, table, cases, FRAMEWORKS, ratio=False)
    draw_bars(bottom, table, cases, FRAMEWORKS[1:], ratio=True)
    style_axes(top, bottom, cases)
    fig.suptitle("Framework cost per request, in process (lower is better)", fontsize=14,
                 fontweight="bold")
    fig.text(0.01, 0.005, footnote, fontsize=8, color="#666666", ha="left", va="bottom")
    fig.tight_layout(rect=(0, 0.025, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, facecolor="white")
    plt.close(fig)


def draw_bars(axes: Any, table: Costs, cases: list[str], frameworks: tuple[str, ...],
              ratio: bool) -> None:
    """Grouped bars, one group per case; the ratio panel labels bareasgi's bars."""
    width = 0.84 / len(frameworks)
    for index, framework in enumerate(frameworks):
        xs = [i + (index - (len(frameworks) - 1) / 2) * width for i in range(len(cases))]
        values = [(table.to_bare if ratio else table.median)(framework, case)
                  if table.has(framework, case) else float("nan") for case in cases]
        bars = axes.bar(xs, values, width, label=framework, color=COLORS[framework],
                        edgecolor="white", linewidth=0.5)
        if ratio and framework == "bareasgi":
            label_bars(axes, bars, [f"{v:.1f}x" for v in values])


def label_bars(axes: Any, bars: Any, labels: list[str]) -> None:
    """Label each bar above it, right-aligned on its right edge (the gap on its left is free)."""
    for bar, label in zip(bars, labels, strict=True):
        axes.annotate(label, xy=(bar.get_x() + bar.get_width(), bar.get_height()),
                      xytext=(0, 2), textcoords="offset points", ha="right", va="bottom",
                      fontsize=9, color=COLORS["bareasgi"], fontweight="bold")


def style_axes(top: Any, bottom: Any, cases: list[str]) -> None:
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    def plain(value: float, _: int) -> str:
        return f"{value:g}"

    for axes in (top, bottom):
        axes.set_yscale("log")
        axes.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        axes.yaxis.set_major_formatter(FuncFormatter(plain))
        axes.yaxis.set_minor_formatter(NullFormatter())
        axes.grid(axis="y", which="major", color="#dddddd", linewidth=0.8)
        axes.set_axisbelow(True)
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)
    top.set_ylabel("median microseconds per request")
    top.set_ylim(bottom=1.0)
    top.legend(ncol=len(FRAMEWORKS), loc="upper center", bbox_to_anchor=(0.5, 1.13),
               frameon=False, fontsize=10)
    bottom.axhline(1.0, color=COLORS["bare"], linewidth=1.2, linestyle="--")
    bottom.set_ylabel("ratio to the bare ASGI app (dashed: 1)")
    bottom.set_xticks(range(len(cases)), cases, fontsize=11)
    bottom.set_ylim(bottom=0.8)



def chart_footnote(doc: dict[str, Any] | None) -> str:
    if doc is None:
        return ""
    machine = doc["machine"]
    return (f"Median of {doc['settings']['rounds']} interleaved rounds, {doc['date'][:10]}, "
            f"{machine['implementation']} {machine['python']}, {machine['cpu_count']} cores "
            f"({machine['processor']}). Asgineer has no router: its route1/routes1000 dispatch "
            "by hand, like bare. benchmarks/framework_cost.py")


# --- main -----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--results", type=Path, default=RESULTS_DIR, metavar="DIR",
                        help="where the JSON results are (default benchmarks/results)")
    parser.add_argument("--summary", type=Path, metavar="PATH",
                        help="the Markdown summary to write (default DIR/summary.md)")
    parser.add_argument("--chart", type=Path, default=DEFAULT_CHART, metavar="PATH",
                        help="the PNG chart to write (default docs/images/performance.png)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    docs = load(args.results)
    summary_path = args.summary or args.results / "summary.md"
    summary_path.write_text(summary(docs))
    print(f"wrote {summary_path}", file=sys.stderr)
    table = Costs(docs["framework_cost"])
    if table:
        draw_chart(table, args.chart, chart_footnote(docs["framework_cost"]))
        print(f"wrote {args.chart}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
