"""Fixtures shared across the test suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.browser import CHROMIUM, CHROMIUM_ARGS, CHROMIUM_MISSING
from tests.requirements import need

# The ``needs`` marker: a missing outside part skips locally and fails in CI.
pytest_plugins = ["tests.requirements"]


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
