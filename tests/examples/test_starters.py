"""Every example works as a starter: copied alone into an empty folder, served by one server.

This is what a reader does: build the wheel (``make wheel``), make a venv holding only the
wheel and one server, copy ``examples/NAME/`` somewhere, and run ``hypercorn app:app`` or
``uvicorn app:app`` there. Each example is started that way, outside the repository, with
hypercorn alone and with ``uvicorn[standard]`` alone, and its main route must answer 200;
an example with a ``# Needs:`` line must also pass its whole real-server check there.

An example that needs more than bareasgi says so on one line of its ``app.py``, which the
page embedding it shows too::

    # Needs: bareasgi[forms] jinja2

The words after ``Needs:`` are pip requirements: ``bareasgi[EXTRA]`` stands for the wheel
with that extra. To keep this fast, there is one venv per server, reused by every example;
an example's needs are installed apart from it (``pip install --target``, put on
``PYTHONPATH`` for that example only), so that no example sees another's packages. pip
installs from the package index, with its cache. Without a reachable index the tests skip
locally and fail in CI (tests/requirements.py).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.examples.serving import Served
from tests.examples.test_servers import EXAMPLES, discover_examples
from tests.realserver import REPO_ROOT, SERVER_KINDS, ServerKind, free_port, start_process
from tests.requirements import need

pytestmark = pytest.mark.starters

EXAMPLES_DIR = REPO_ROOT / "examples"
NEEDS_LINE = re.compile(r"^# Needs: (.+)$", re.MULTILINE)
BAREASGI = re.compile(r"bareasgi(\[[\w,\s-]+\])?")
SERVER_PACKAGES: dict[ServerKind, str] = {
    "hypercorn": "hypercorn",
    "uvicorn": "uvicorn[standard]",
}
# What pip says when it cannot reach the package index (as opposed to a real error).
OFFLINE = (
    "NewConnectionError",
    "Temporary failure in name resolution",
    "Network is unreachable",
    "No matching distribution found",
)
PIP_TIMEOUT = 600  # seconds: a cold cache downloads uvicorn[standard] and its build tools


def example_needs(app_py: Path) -> list[str]:
    """The pip requirements on the example's ``# Needs:`` line; none without one."""
    found = NEEDS_LINE.findall(app_py.read_text(encoding="utf-8"))
    assert len(found) <= 1, f"{app_py}: more than one '# Needs:' line"
    return found[0].split() if found else []


def _pip(*args: str) -> None:
    """Run pip (this interpreter's) with ``args``; skip or fail if the index is unreachable."""
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet", *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT)
    if result.returncode != 0:
        output = result.stdout + result.stderr
        offline = [sign for sign in OFFLINE if sign in output]
        need(
            not offline,
            f"pip cannot reach the package index ({', '.join(offline)}): it is needed to "
            "build the wheel and install hypercorn and uvicorn",
        )
        pytest.fail(f"{' '.join(command)} failed:\n{output}", pytrace=False)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built as ``make wheel`` builds it, from a copy of what goes in it."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO_ROOT / name, source / name)
    shutil.copytree(
        REPO_ROOT / "bareasgi", source / "bareasgi", ignore=shutil.ignore_patterns("__pycache__")
    )
    dist = tmp_path_factory.mktemp("dist")
    _pip("wheel", "--no-deps", "--wheel-dir", str(dist), str(source))
    (built,) = dist.glob("bareasgi-*-py3-none-any.whl")
    return built


@pytest.fixture(scope="module", params=SERVER_KINDS)
def venv(
    request: pytest.FixtureRequest, wheel: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[ServerKind, Path]:
    """A venv, outside the repository, holding only the wheel and one server."""
    kind: ServerKind = request.param
    venv = tmp_path_factory.mktemp(f"venv-{kind}")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    _pip("--python", python, "install", str(wheel), SERVER_PACKAGES[kind])
    return kind, venv


@pytest.fixture(scope="module")
def needs_dir(
    wheel: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], Path | None]:
    """The folder with what an example's ``# Needs:`` line asks for (None if nothing)."""
    made: dict[str, Path | None] = {}

    def folder(name: str) -> Path | None:
        if name not in made:
            requirements = [
                f"{wheel}{match.group(1) or ''}"
                if (match := BAREASGI.fullmatch(requirement))
                else requirement
                for requirement in example_needs(EXAMPLES_DIR / name / "app.py")
            ]
            made[name] = None
            if requirements:
                made[name] = tmp_path_factory.mktemp(f"needs-{name}")
                _pip("install", "--target", str(made[name]), *requirements)
        return made[name]

    return folder


def server_command(kind: ServerKind, venv: Path, port: int) -> list[str]:
    """What a reader types in the example's folder, with the venv's server."""
    if kind == "uvicorn":
        return [str(venv / "bin" / "uvicorn"), "app:app", "--port", str(port)]
    return [str(venv / "bin" / "hypercorn"), "app:app", "--bind", f"127.0.0.1:{port}"]


@pytest.mark.parametrize("name", discover_examples())
def test_example_copied_alone_starts_and_answers(
    name: str,
    venv: tuple[ServerKind, Path],
    needs_dir: Callable[[str], Path | None],
    tmp_path: Path,
) -> None:
    kind, venv_path = venv
    starter = tmp_path / name
    shutil.copytree(
        EXAMPLES_DIR / name, starter, ignore=shutil.ignore_patterns("__pycache__")
    )
    needs = needs_dir(name)
    probe_path = EXAMPLES[name].probe_path
    port = free_port()
    with start_process(
        server_command(kind, venv_path, port),
        name=f"{name}-{kind}",
        port=port,
        tmp_dir=tmp_path,
        probe_path=probe_path,
        cwd=starter,
        # Nothing from outside the venv: not the repository, not the user's site-packages.
        env={"PYTHONPATH": str(needs or ""), "PYTHONNOUSERSITE": "1"},
    ) as server:
        response = httpx.get(f"{server.base_url}{probe_path}", timeout=10)
        assert response.status_code == 200, server.stderr()
        if needs is not None:
            # The whole real-server check, so that what the line names is shown to be enough.
            with httpx.Client(base_url=server.base_url, timeout=10) as client:
                EXAMPLES[name].check(Served(name=name, kind=kind, server=server, client=client))
    assert server.server_errors() == [], server.stderr()


def test_needs_lines_name_requirements() -> None:
    """A ``# Needs:`` line lists pip requirements, bareasgi's only with an extra."""
    for name in discover_examples():
        for requirement in example_needs(EXAMPLES_DIR / name / "app.py"):
            if requirement.startswith("bareasgi"):
                assert BAREASGI.fullmatch(requirement) and "[" in requirement, (
                    f"examples/{name}/app.py: {requirement!r} is not bareasgi[EXTRA]"
                )
