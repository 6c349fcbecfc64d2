"""The pages of the websocket, server_sent_events and http2_push examples, in a real Chromium.

Each example is served by a real uvicorn process (tests/realserver.py); Playwright drives
Debian's ``chromium`` with a fresh temporary profile. After the interaction, a screenshot of
the page at a fixed viewport is taken; with ``SCREENSHOTS=1`` in the environment (``make
screenshots``) it is saved to docs/images/examples/NAME.png for the documentation, so an
ordinary test run leaves the working tree as it was.

Without a ``chromium`` on the PATH these tests skip, saying how to install one; in CI
they fail (tests/requirements.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser import NEEDS_CHROMIUM, open_page, save_screenshot
from tests.realserver import REPO_ROOT, Server, start_server

SCREENSHOTS = REPO_ROOT / "docs" / "images" / "examples"
pytestmark = NEEDS_CHROMIUM

def _served(name: str, tmp_path: Path) -> Iterator[Server]:
    with start_server("uvicorn", f"examples.{name}.app:app", tmp_dir=tmp_path) as server:
        yield server
    assert server.server_errors() == [], server.stderr()


@pytest.fixture
def websocket_server(tmp_path: Path) -> Iterator[Server]:
    yield from _served("websocket", tmp_path)


@pytest.fixture
def sse_server(tmp_path: Path) -> Iterator[Server]:
    yield from _served("server_sent_events", tmp_path)


@pytest.fixture
def push_server(tmp_path: Path) -> Iterator[Server]:
    yield from _served("http2_push", tmp_path)


def _screenshot(page: Page, name: str) -> None:
    save_screenshot(page.screenshot(), SCREENSHOTS, name)


def test_websocket_page_shows_the_echo_of_a_typed_message(
    websocket_server: Server, browser: Browser
) -> None:
    with open_page(browser) as page:
        page.goto(f"{websocket_server.base_url}/")
        expect(page.locator("#status")).to_have_text("Connected.")

        for text in ("Hello from Chromium", "Is anybody there?"):
            page.locator("#message").fill(text)
            page.locator("#send").click()
            expect(page.locator("#log li").last).to_have_text(f"You said: {text}")

        expect(page.locator("#log li")).to_have_text(
            ["You said: Hello from Chromium", "You said: Is anybody there?"]
        )
        expect(page.locator("#message")).to_have_value("")
        _screenshot(page, "websocket")


def test_server_sent_events_page_lists_the_events(sse_server: Server, browser: Browser) -> None:
    with open_page(browser) as page:
        page.goto(f"{sse_server.base_url}/")
        expect(page.locator("#status")).to_have_text(re.compile(r"^Connected"))

        page.wait_for_function("document.querySelectorAll('#log li').length >= 2")
        items = page.locator("#log li").all_inner_texts()
        assert re.fullmatch(r"#1\s*\d\d:\d\d:\d\d", items[0]), items
        assert re.fullmatch(r"#2\s*\d\d:\d\d:\d\d", items[1]), items
        _screenshot(page, "server_sent_events")


def test_http2_push_page_says_it_came_over_http_1_1(push_server: Server, browser: Browser) -> None:
    # Browsers speak HTTP/2 only over TLS, so in cleartext the page always says http/1.1.
    with open_page(browser) as page:
        page.goto(f"{push_server.base_url}/")
        expect(page.locator("#protocol")).to_have_text("http/1.1")
        # The stylesheet, asked for as usual since nothing was pushed, is applied.
        expect(page.locator("h1")).to_have_css("color", "rgb(0, 121, 107)")
        _screenshot(page, "http2_push")
