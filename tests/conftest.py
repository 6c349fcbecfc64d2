"""Fixtures shared across the test suite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.browser import CHROMIUM, CHROMIUM_ARGS, CHROMIUM_MISSING
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
