"""Helpers shared by the benchmark scripts: where results go, what machine ran them, a server.

Not a benchmark itself. Every script writes one JSON document into ``benchmarks/results/``
holding its results plus :func:`environment` (date, machine, Python and package versions)
and the command that produced it, which ``report.py`` turns into ``summary.md``.
:class:`UvicornServer` starts one of the apps in ``server_apps.py`` under uvicorn (httptools,
uvloop, one process, pinned to one core when ``taskset`` is available) on a free loopback
port, for ``throughput.py`` and ``memory.py``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from types import TracebackType
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
HOST = "127.0.0.1"
SERVER_CPU = 0  # uvicorn runs here ...
CLIENT_CPU = 1  # ... and the load generator or client here
PACKAGES = ("bareasgi", "uvicorn", "httptools", "uvloop", "starlette", "falcon", "blacksheep",
            "asgineer", "matplotlib")


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    """Installed versions of ``names``; a package that is not installed is left out."""
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def environment() -> dict[str, Any]:
    """When and where a benchmark ran: date, machine, Python and package versions."""
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "machine": platform.machine(),
            "processor": cpu_model(),
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "implementation": platform.python_implementation(),
        },
        "versions": package_versions(),
        "commit": git_commit(),
    }


def git_commit() -> str:
    """The commit checked out, marked ``+modified`` if tracked files in ``bareasgi/`` changed."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "bareasgi"],
            cwd=ROOT, check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}+modified" if status.strip() else head


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo, or ``platform.processor()``."""
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
    try:
        shown = str(script.relative_to(ROOT))
    except ValueError:
        shown = str(script)
    return " ".join(["python", shown, *sys.argv[1:]])


def write_results(path: Path, results: dict[str, Any]) -> Path:
    """Write ``results`` with the environment and the command line as JSON to ``path``."""
    document = {**environment(), "command": command_line(), **results}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


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


class UvicornServer:
    """``uvicorn server_apps:APP`` with httptools and uvloop, one process, on one core.

    Use as a context manager; :attr:`pid` is the server process itself (no supervisor,
    no reloader), so its ``/proc/PID/status`` is the server's memory.
    """

    def __init__(self, app: str, start_timeout_s: float = 20.0) -> None:
        self.app = app
        self.port = free_port()
        self.command = pinned(SERVER_CPU, [
            sys.executable, "-m", "uvicorn", f"server_apps:{app}", "--app-dir", str(BENCH_DIR),
            "--host", HOST, "--port", str(self.port), "--http", "httptools", "--loop", "uvloop",
            "--lifespan", "off", "--no-access-log", "--log-level", "warning",
        ])
        self.proc = subprocess.Popen(self.command, cwd=ROOT)
        self._wait_until_listening(start_timeout_s)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def _wait_until_listening(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"uvicorn exited with code {self.proc.returncode}")
            try:
                socket.create_connection((HOST, self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"uvicorn did not listen on port {self.port} in {timeout_s} s")

    def stop(self) -> None:
        """Stop the server: SIGTERM, then SIGKILL if it has not exited within 10 s."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> UvicornServer:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()


def results_parser(doc: str, default_json: Path) -> argparse.ArgumentParser:
    """A command line described by the script's docstring, with the usual ``--json PATH``."""
    parser = argparse.ArgumentParser(description=doc.split("\n", 1)[0])
    parser.add_argument("--json", type=Path, default=default_json, metavar="PATH",
                        help=f"where to write the results (default {default_json.name} "
                             "in benchmarks/results)")
    return parser
