"""The chat page in a real headless chromium: two pages on two processes, one room."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, expect

from tests.browser import NEEDS_CHROMIUM, open_page
from tests.examples.test_chat_processes import redis_server, serve, shared, uvicorn
from tests.realserver import free_port
from tests.redisserver import RedisServer

__all__ = ["redis_server", "shared"]  # the fixtures, used by name
pytestmark = NEEDS_CHROMIUM


def test_a_message_typed_on_one_process_shows_on_a_page_of_the_other(
    shared: RedisServer, browser: Browser, tmp_path: Path
) -> None:
    port_a, port_b = free_port(), free_port()
    with (
        serve(uvicorn(port_a), port_a, tmp_path, "a") as a,
        serve(uvicorn(port_b), port_b, tmp_path, "b") as b,
        open_page(browser) as alice,
        open_page(browser) as bob,
    ):
        alice.goto(f"{a.base_url}/")
        bob.goto(f"{b.base_url}/")
        for page in (alice, bob):
            expect(page.locator("#mode")).to_contain_text("through Redis")
            expect(page.locator("#status")).to_have_text("Connected.")

        alice.locator("#message").fill("Hello from process A")
        alice.locator("#send").click()
        for page in (alice, bob):
            expect(page.locator("#log li")).to_have_text(["Hello from process A"])
        expect(alice.locator("#message")).to_have_value("")

        # A page opened later reads the history, and shows each message once.
        with open_page(browser) as carol:
            carol.goto(f"{b.base_url}/")
            expect(carol.locator("#status")).to_have_text("Connected.")
            expect(carol.locator("#log li")).to_have_text(["Hello from process A"])
