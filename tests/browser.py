"""A headless Debian chromium driven by Playwright, shared by the browser tests."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, Page, ViewportSize

from tests.requirements import needs

CHROMIUM = shutil.which("chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT: ViewportSize = {"width": 900, "height": 600}
TIMEOUT_MS = 10_000

CHROMIUM_MISSING = "no chromium on the PATH: install one with `apt-get install chromium`"
# Skips the browser tests locally, fails them in CI (tests/requirements.py).
NEEDS_CHROMIUM = needs(CHROMIUM, CHROMIUM_MISSING)


@contextmanager
def open_page(browser: Browser) -> Iterator[Page]:
    """A page in a fresh browser context, closed on the way out; fails if its script raised.

    Close it before the server stops, so that no connection of the page keeps it waiting.
    """
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        yield page
        assert errors == [], f"the page's script raised: {errors}"
    finally:
        context.close()




def save_screenshot(image: bytes, folder: Path, name: str) -> None:
    """Check ``image`` is a PNG; with ``SCREENSHOTS=1`` (``make screenshots``) keep it.

    It goes to ``folder/NAME.png``, where the documentation shows it.
    """
    assert image.startswith(b"\x89PNG")
    if os.environ.get("SCREENSHOTS") == "1":
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.png").write_bytes(image)
