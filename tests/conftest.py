"""Fixtures shared across the test suite."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.browser import CHROMIUM, CHROMIUM_ARGS, CHROMIUM_MISSING
from tests.realserver import REPO_ROOT, Server, free_port, start_process
from tests.requirements import need
from tests.scripted import OVERLAPPING_RECEIVES


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "needs(condition, reason): skip locally, fail in CI, unless condition"
    )
    config.addinivalue_line(
        "markers", "starters: examples run from a wheel in venvs outside the repository (slow)"
    )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Apply every ``needs`` marker (tests/requirements.py) before the test's fixtures."""
    for mark in item.iter_markers("needs"):
        need(*mark.args)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    need(CHROMIUM, CHROMIUM_MISSING)
    with sync_playwright() as playwright:
        # launch() gives the browser a fresh temporary profile, deleted when it closes.
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session", autouse=True)
def notes_database_outside_the_repository(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Path]:
    """Where the database example keeps its notes in every test that does not choose.

    The gallery runs every example's startup, and servers inherit the environment:
    without this, they would write notes.sqlite3 into the working tree.
    """
    path = tmp_path_factory.mktemp("notes") / "notes.sqlite3"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NOTES_DATABASE", str(path))
        yield path


@pytest.fixture(autouse=True)
def receive_awaited_once_at_a_time() -> Iterator[None]:
    """Fail a test in which the application awaited a test server's receive twice at once,
    even if it caught the error raised at it (tests/scripted.py)."""
    OVERLAPPING_RECEIVES.clear()
    yield
    overlaps = list(OVERLAPPING_RECEIVES)
    OVERLAPPING_RECEIVES.clear()
    assert overlaps == []


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The documentation site built afresh (``mkdocs build --strict``) into a temporary folder.

    Built once per session and shared: the gallery serves it, the playground tests serve it
    with a plain static file server.
    """
    site = tmp_path_factory.mktemp("site")
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(site)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert build.returncode == 0, build.stderr
    return site


@pytest.fixture(scope="session")
def gallery(tmp_path_factory: pytest.TempPathFactory, built_site: Path) -> Iterator[Server]:
    """The built site served as ``make run`` serves it: ``python -m gallery.app``, on a free
    port; shared by every browser test of the site.
    """
    port = free_port()
    with start_process(
        [sys.executable, "-m", "gallery.app"],
        name="gallery",
        port=port,
        tmp_dir=tmp_path_factory.mktemp("logs"),
        env={"GALLERY_PORT": str(port), "GALLERY_SITE": str(built_site)},
    ) as server:
        yield server
    assert server.server_errors() == [], server.stderr()
