"""The built documentation site, served by the gallery, opened in a real headless chromium."""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from docs import hooks
from tests.browser import NEEDS_CHROMIUM, open_page, save_screenshot
from tests.realserver import REPO_ROOT

pytestmark = NEEDS_CHROMIUM
# Photographs for a person to look at, beside the site walk's: no page shows them, so
# they stay out of docs/ (tests/test_docs.py fails on an image no page shows).
SCREENSHOTS = REPO_ROOT / "build" / "screenshots" / "checks"


def screenshot(image: bytes, name: str) -> None:
    save_screenshot(image, SCREENSHOTS, name)


def test_home_page_renders_with_navigation_and_highlighted_code(browser: Browser, gallery):
    with open_page(browser) as page:
        page.goto(gallery.base_url + "/")
        expect(page.locator("article h1")).to_contain_text("bareasgi")
        expect(page.locator(".md-tabs")).to_contain_text("Tutorial")
        code = page.locator("article .highlight code", has_text="async def hello")
        expect(code.first).to_be_visible()
        assert page.locator("article .highlight .k").count() > 0  # keywords were highlighted
        screenshot(page.screenshot(), "home")


def test_tutorial_shows_the_example_with_line_numbers_and_highlighted_lines(
    browser: Browser, gallery
):
    source = (REPO_ROOT / "examples" / "simple" / "app.py").read_text().splitlines()
    with open_page(browser) as page:
        page.goto(gallery.base_url + "/tutorials/simple/")
        block = page.locator("article .highlight").first
        expect(block).to_contain_text("app.http_router.add")
        numbers = block.locator(".linenos, .linenodiv a, span.linenos")
        expect(numbers.first).to_be_visible()
        assert numbers.count() == len(source) or block.locator(".linenodiv").count() == 1
        expect(block.locator(".hll").first).to_contain_text("async def hello")
        first, last = hooks.line_range("examples/simple/app.py", "async def hello", "return 200")
        expect(page.locator("article")).to_contain_text(f"defined on lines {first}-{last}")
        screenshot(page.screenshot(full_page=True), "tutorial")


def test_try_it_link_opens_the_live_example(browser: Browser, gallery):
    with open_page(browser) as page:
        page.goto(gallery.base_url + "/tutorials/simple/")
        page.get_by_role("link", name="Try it live").click()
        expect(page.locator("body")).to_contain_text("Hello, World!")
        assert page.url == gallery.base_url + "/try/simple/"


def test_console_shows_a_streamed_body_chunk_by_chunk(browser: Browser, gallery):
    with open_page(browser) as page:
        page.goto(gallery.base_url + "/tutorials/streaming/")
        page.get_by_role("link", name="Try it live").click()
        page.locator("button.route", has_text="/ticks").click()
        page.locator("#path").fill("/ticks?count=3")
        page.get_by_role("button", name="Send").click()
        # The first tick is shown while the others are still on their way.
        expect(page.locator("#response-body .chunk")).to_have_count(1)
        expect(page.locator("#chunks")).to_contain_text("so far")
        expect(page.locator("#chunks")).to_contain_text("in 3 chunks, complete")
        expect(page.locator("#response-body .chunk")).to_have_text(
            ["tick 1 of 3\n", "tick 2 of 3\n", "tick 3 of 3\n"]
        )
        expect(page.locator("#response-headers")).to_contain_text("x-content-type-options")


def test_console_stop_cuts_a_stream_short(browser: Browser, gallery):
    with open_page(browser) as page:
        page.goto(gallery.base_url + "/try/streaming/")
        page.locator("#path").fill("/ticks?count=100")
        page.get_by_role("button", name="Send").click()
        expect(page.locator("#response-body .chunk")).to_have_count(1)
        page.get_by_role("button", name="Stop").click()
        expect(page.locator("#chunks")).to_contain_text("Stopped after")
        expect(page.get_by_role("button", name="Send")).to_be_enabled()


def test_console_says_what_is_wrong_with_a_header_line(browser: Browser, gallery):
    with open_page(browser) as page:
        page.goto(gallery.base_url + "/try/rest/")
        page.locator("#headers").fill("no colon here")
        page.get_by_role("button", name="Send").click()
        expect(page.locator("#status")).to_have_text(
            '"no colon here" is not a header: write it as name: value'
        )


def test_websocket_console_sends_messages_and_shows_the_replies(browser: Browser, gallery):
    with open_page(browser) as page:
        page.goto(gallery.base_url + "/tutorials/websocket/")
        page.get_by_role("link", name="Request console").click()
        expect(page.locator("#ws-path")).to_have_value("/ws")
        page.get_by_role("button", name="Connect").click()
        expect(page.locator("#ws-status")).to_have_text("Connected to /try/websocket/ws.")
        page.locator("#ws-message").fill("Hello, echo")
        page.locator("#ws-message").press("Enter")
        expect(page.locator("#ws-log li")).to_have_text(
            ["sentHello, echo", "receivedYou said: Hello, echo"]
        )
        page.get_by_role("button", name="Close").click()
        expect(page.locator("#ws-status")).to_have_text("Closed, code 1000: closed here.")


def test_search_finds_pages_with_the_site_served_alone(browser: Browser, gallery):
    with open_page(browser) as page:
        page.goto(gallery.base_url + "/")
        page.keyboard.press("s")  # Material's shortcut to the search box, at any width
        expect(page.locator("input.md-search__input")).to_be_focused()
        page.keyboard.type("middleware")
        results = page.locator(".md-search-result__item")
        expect(results.first).to_be_visible()
        results.first.locator("a").first.click()
        expect(page.locator("article")).to_contain_text("iddleware")
