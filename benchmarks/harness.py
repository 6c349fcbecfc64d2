"""What every benchmark shares: its command line, interleaved rounds, paired ratios, results.

:func:`parser` (``--json PATH``, ``--quick``), :func:`interleave` and :func:`paired_ratio`
(why: docs/project/benchmarks.md), :func:`finish` (the table, and the JSON with
:func:`environment` and the command), :class:`Server` with :func:`uvicorn`, and
:func:`side_by_side`.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
HOST = "127.0.0.1"
SERVER_CPU = 0  # servers run here ...
CLIENT_CPU = 1  # ... and load generators, clients and in-process workers here
PEERS = ("starlette", "falcon", "blacksheep", "asgineer")
PACKAGES = ("bareasgi", "uvicorn", "httptools", "uvloop", "websockets", "httpx", *PEERS,
            "matplotlib")
T = TypeVar("T")


# --- the command line and the results -------------------------------------------------------


def parser(doc: str, name: str) -> argparse.ArgumentParser:
    """The command line of benchmark ``name``, described by its docstring's first line."""
    result = argparse.ArgumentParser(description=doc.split("\n", 1)[0])
    result.add_argument("--json", type=Path, default=RESULTS_DIR / f"{name}.json",
                        metavar="PATH", help=f"where to write the results (default "
                        f"benchmarks/results/{name}.json)")
    result.add_argument("--quick", action="store_true",
                        help="a short run to check that everything works (noisy figures)")
    return result


def side_arguments(cli: argparse.ArgumentParser, rounds: int) -> None:
    """``--side-rounds``, ``--side-duration`` and ``--side-peers``, for :func:`side_by_side`."""
    cli.add_argument("--side-rounds", type=int, default=rounds,
                     help=f"side-by-side rounds (default {rounds}; 0 skips them)")
    cli.add_argument("--side-duration", type=int, default=2,  # wrk takes whole seconds
                     help="whole seconds per side-by-side round (default 2)")
    cli.add_argument("--side-peers", type=lambda text: [p for p in text.split(",") if p],
                     default=list(PEERS), metavar="NAMES",
                     help=f"peers measured side by side (default {','.join(PEERS)}; '' for none)")


def environment() -> dict[str, Any]:
    """When and where a benchmark ran: date, machine, Python and package versions, commit."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(), "machine": platform.machine(),
            "processor": cpu_model(), "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "implementation": platform.python_implementation(),
        },
        "versions": versions,
        "commit": git_commit(),
    }


def git_commit() -> str:
    """The commit checked out, marked ``+modified`` if tracked files in ``bareasgi/`` changed."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True,
                              text=True).stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD")
        changed = git("status", "--porcelain", "--untracked-files=no", "--", "bareasgi")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}+modified" if changed else head


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def command_line() -> str:
    """The command that is running, as someone would type it from the repository root."""
    script = Path(sys.argv[0]).resolve()
    shown = script.relative_to(ROOT) if script.is_relative_to(ROOT) else script
    return " ".join(["python", str(shown), *sys.argv[1:]])


def finish(path: Path, results: dict[str, Any], markdown: Callable[[dict[str, Any]], list[str]],
           ) -> dict[str, Any]:
    """Write ``results`` with the environment and the command as JSON, print its table."""
    document = {**environment(), "command": command_line(), **results}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
    print("\n".join(markdown(document)))
    print(f"wrote {path}", file=sys.stderr)
    return document


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# --- rounds and ratios ----------------------------------------------------------------------


def interleave(rounds: int, subjects: Sequence[T], sample: Callable[[T], float],
               label: Callable[[T], str] = str) -> list[list[float]]:
    """``rounds`` rounds of one ``sample`` per subject, the first subject rotating each round.

    Sample ``i`` of every subject is taken in round ``i``, so two subjects' samples of the
    same round can be compared pairwise (:func:`paired_ratio`).
    """
    samples: list[list[float]] = [[] for _ in subjects]
    for round_ in range(rounds):
        shift = round_ % max(1, len(subjects))
        order = list(range(len(subjects)))
        for index in order[shift:] + order[:shift]:
            samples[index].append(sample(subjects[index]))
            progress(f"  round {round_ + 1}/{rounds} {label(subjects[index]):>22}: "
                     f"{samples[index][-1]:,.3g}")
    return samples


def paired_ratio(samples: Sequence[float], floor: Sequence[float]) -> float:
    """The median over rounds of ``samples[i] / floor[i]``."""
    return statistics.median(a / b for a, b in zip(samples, floor, strict=True))


def spread(values: Sequence[float]) -> str:
    """The middle half of ``values``, as ``low to high``."""
    if len(values) < 2:
        return "-"
    low, _, high = statistics.quantiles(values, n=4)
    return f"{low:.3f} to {high:.3f}"


def table(header: Sequence[str], rows: Sequence[Sequence[object]], numeric_from: int = 1,
          text: Sequence[int] = ()) -> list[str]:
    """A Markdown table; columns from ``numeric_from`` on, but those in ``text``, are
    right-aligned."""
    align = ["---" if i < numeric_from or i in text else "---:" for i in range(len(header))]
    return ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|",
            *("| " + " | ".join(str(cell) for cell in row) + " |" for row in rows)]


# --- processes, cores and servers -----------------------------------------------------------


def can_pin() -> bool:
    """True when processes can be pinned to separate cores (taskset and 2+ cores)."""
    return shutil.which("taskset") is not None and (os.cpu_count() or 1) >= 2


def pinned(cpu: int, command: list[str]) -> list[str]:
    """``command`` run on core ``cpu`` through ``taskset``, when pinning is possible."""
    return ["taskset", "-c", str(cpu), *command] if can_pin() else command


def pin_this_process(cpu: int) -> bool:
    """Pin the calling process to core ``cpu``; False when that is not possible."""
    if not can_pin() or not hasattr(os, "sched_setaffinity"):
        return False
    os.sched_setaffinity(0, {cpu})
    return True


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def status_kib(pid: int, field: str) -> int:
    """A ``VmXXX`` field of ``/proc/PID/status`` (``VmRSS``, ``VmHWM``), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


def uvicorn(app: str, *options: str) -> Callable[[int], list[str]]:
    """The command for :class:`Server` that runs ``uvicorn APP`` (a ``module:attribute`` of
    ``benchmarks/``) with httptools and uvloop, one process, no access log, on core 0."""
    def command(port: int) -> list[str]:
        return pinned(SERVER_CPU, [
            sys.executable, "-m", "uvicorn", app, "--app-dir", str(BENCH_DIR), "--host", HOST,
            "--port", str(port), "--http", "httptools", "--loop", "uvloop", "--lifespan", "off",
            "--no-access-log", "--log-level", "warning", *options,
        ])

    return command


class Server:
    """A server process on a free loopback port, stopped when the ``with`` block ends.

    :attr:`pid` is the server itself (no supervisor, no reloader), so its ``/proc/PID``
    is the server's.
    """

    def __init__(self, command: Callable[[int], list[str]], name: str,
                 env: dict[str, str] | None = None, timeout_s: float = 20.0) -> None:
        self.name = name
        self.port = free_port()
        self.proc = subprocess.Popen(command(self.port), cwd=ROOT, env=env,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout_s
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {self.proc.returncode}")
            try:
                socket.create_connection((HOST, self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"{name} did not listen within {timeout_s} s") from None
                time.sleep(0.05)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if the server has not exited within 15 s."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()


def load_side_by_side(commands: dict[str, list[str]], timeout_s: float) -> dict[str, str]:
    """Run the load generators at once, one per server; return the output of each."""
    loads = {name: subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
             for name, command in commands.items()}
    outputs = {}
    for name, load in loads.items():
        outputs[name], _ = load.communicate(timeout=timeout_s)
        if load.returncode != 0:
            raise RuntimeError(f"the load against {name} failed:\n{outputs[name]}")
    return outputs


def side_by_side(rounds: int, others: Sequence[str], measure: Callable[[list[str]], dict[str,
                 float]]) -> dict[str, dict[str, Any]]:
    """Rounds in which the bare app and one other are loaded at once: by app, the median
    ``ratio`` of its rate to the bare app's and its ``round_ratios``.

    Both servers share core 0 and are busy all the time, so the scheduler gives each half
    of the core, and whatever else the machine does slows both alike: the ratio of their
    rates is the ratio of their costs, far steadier than back-to-back rounds give it. It is
    a little pessimistic for the app with more code, whose cache lines the other evicts.
    """
    def sample(name: str) -> float:
        rates = measure(["bare", name])
        return rates[name] / rates["bare"]

    samples = interleave(rounds, others, sample, lambda n: f"{n} / bare")
    return {name: {"ratio": statistics.median(ratios), "round_ratios": ratios}
            for name, ratios in zip(others, samples, strict=True) if ratios}
