"""The reader's path: the site as ``make run`` serves it, walked in a headless chromium.

Starting at ``/``, every page reachable by same-site links is opened at 1280 px. The walk
records every link (checked with its own GET), every asset the pages load, every console
error, and every request to another origin, which is aborted, so the walk also proves the
site works with no network. Each example's ``/try/NAME/`` page must be reached and usable;
the REST example's console must really change the example's data. No code block of the
documentation may need sideways scrolling at 1280 px, and no page may scroll sideways at
a phone's 390 px.

With ``SCREENSHOTS=1`` (``make screenshots``) every page is also photographed at 1280 and
390 px into ``build/screenshots/`` for a person to look through.
"""

from __future__ import annotations

import json
import os
import re
import time
import warnings
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urldefrag, urljoin, urlsplit

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    Request,
    Response,
    Route,
    expect,
)

from tests.browser import NEEDS_CHROMIUM, TIMEOUT_MS
from tests.realserver import REPO_ROOT, Server

pytestmark = NEEDS_CHROMIUM
EXAMPLES = sorted(path.parent.name for path in (REPO_ROOT / "examples").glob("*/app.py"))
LOOPBACK = ("127.0.0.1", "localhost")
MOST_PAGES = 300  # far more than the site has: a walk past it has found a loop of URLs
LONGEST_LINE = 79  # the project's limit for example and snippet lines
WIDE, NARROW = 1280, 390
SCREENSHOTS = REPO_ROOT / "build" / "screenshots"


@dataclass
class Walk:
    """What the walk found; filled page by page."""

    origin: str
    pages: dict[str, str] = field(default_factory=dict)  # path -> content type
    links: dict[str, str] = field(default_factory=dict)  # same-site URL -> first page using it
    off_site_links: set[str] = field(default_factory=set)
    assets: dict[str, int] = field(default_factory=dict)  # URL -> status
    failed: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    off_host: list[str] = field(default_factory=list)  # requests aborted by the walk
    wide_code: list[str] = field(default_factory=list)  # short lines, yet too wide: layout
    long_lines: list[str] = field(default_factory=list)  # too wide, over the 79 allowed
    wide_pages: list[str] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)  # try page -> start of its text
    seconds: float = 0.0

    def is_ours(self, url: str) -> bool:
        """Whether ``url`` is served by the gallery, under either name of this machine.

        The CORS example's page calls its API as ``localhost`` from ``127.0.0.1`` (two
        origins, one server); any other host is off the machine.
        """
        parts = urlsplit(url)
        return parts.hostname in LOOPBACK and parts.port == self.port

    @property
    def port(self) -> int | None:
        return urlsplit(self.origin).port


# Run in each page at 1280 px: its links, and the code blocks of the article that are
# wider than their box, by the longest line of each.
SURVEY = """() => ({
  text: document.body ? document.body.innerText.trim().slice(0, 300) : "",
  links: [...document.querySelectorAll("a[href]")].map((a) => a.href),
  wideCode: [...document.querySelectorAll("article pre > code")]
    .filter((code) => code.scrollWidth > code.clientWidth + 1)
    .map((code) => code.innerText.split("\\n")
      .reduce((a, b) => (b.length > a.length ? b : a), "")),
})"""
PAGE_WIDER_THAN_VIEWPORT = "() => document.documentElement.scrollWidth > window.innerWidth + 1"
# What a page cuts off when it moves on: its event streams and requests still running.
CUT_OFF = "net::ERR_ABORTED"
SEARCH_INDEX = "/search/search_index.json"


def _is_docs_page(path: str) -> bool:
    return not path.startswith(("/try/", "/console/"))


def _slug(path: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", path).strip("-") or "home"


def _watch(page: Page, walk: Walk, current: list[str]) -> None:
    """Record the assets, failures and console errors of whatever ``page`` shows."""

    def on_response(response: Response) -> None:
        if response.request.resource_type != "document":
            walk.assets.setdefault(response.url, response.status)

    def on_failed(request: Request) -> None:
        if walk.is_ours(request.url) and request.failure != CUT_OFF:
            walk.failed.append(f"{request.url} ({request.failure}) on {current[0]}")

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            walk.console_errors.append(f"{current[0]}: {message.text}")

    page.on("response", on_response)
    page.on("requestfailed", on_failed)
    page.on("console", on_console)
    page.on("pageerror", lambda error: walk.console_errors.append(f"{current[0]}: {error}"))


def _screenshot(page: Page, width: int, path: str) -> None:
    if os.environ.get("SCREENSHOTS") == "1":
        folder = SCREENSHOTS / str(width)
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=folder / f"{_slug(path)}.png", full_page=True, animations="disabled")


def _check_link(client: httpx.Client, walk: Walk, url: str, on_page: str) -> bool:
    """GET a same-site link, reading only its headers (it may be an endless stream).

    Redirects within the site are followed, as a browser follows them. Returns whether
    the link is a page to walk: an HTML page, or an example's ``/try/NAME/``.
    """
    with client.stream("GET", url, follow_redirects=True) as answer:
        if answer.status_code != 200 or not walk.is_ours(str(answer.url)):
            walk.failed.append(f"{url} answers {answer.status_code} on {on_page}")
            return False
        # An example's own page may be plain text or JSON, which the browser shows too.
        is_try_page = re.fullmatch(r"/try/[^/]+/", urlsplit(url).path) is not None
        return is_try_page or answer.headers.get("content-type", "").startswith("text/html")


def walk_site(browser: Browser, gallery: Server) -> Walk:
    """Open every page reachable from ``/`` in one tab; check every link once."""
    started = time.monotonic()
    walk = Walk(origin=gallery.base_url)
    context = browser.new_context(viewport={"width": WIDE, "height": 800})

    empty_index: list[str] = []

    def guard(route: Route) -> None:
        url = route.request.url
        if not walk.is_ours(url):
            walk.off_host.append(url)
            route.abort()
        elif urlsplit(url).path == SEARCH_INDEX and walk.assets.get(url) == 200:
            # Material's search worker fetches and indexes the text of the whole site on
            # every page. Once the real index has answered 200, the later pages get an
            # empty one: that halves the walk's time. test_docs_browser searches for real.
            if not empty_index:
                config = httpx.get(url, timeout=10.0).json()["config"]
                empty_index.append(json.dumps({"config": config, "docs": []}))
            route.fulfill(status=200, content_type="application/json", body=empty_index[0])
        else:
            route.continue_()

    context.route("**/*", guard)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    current = ["/"]
    _watch(page, walk, current)
    queue = deque(["/"])
    queued = {"/"}
    try:
        with httpx.Client(timeout=10.0) as client:
            while queue:
                path = current[0] = queue.popleft()
                assert len(walk.pages) < MOST_PAGES, f"more than {MOST_PAGES} pages: {path}"
                page.set_viewport_size({"width": WIDE, "height": 800})
                response = page.goto(walk.origin + path, wait_until="load")
                assert response is not None and response.status == 200, path
                walk.pages[path] = response.headers.get("content-type", "")
                survey = page.evaluate(SURVEY)
                if path.startswith("/try/"):
                    walk.texts[path] = survey["text"]
                if _is_docs_page(path):
                    for line in survey["wideCode"]:
                        found = walk.long_lines if len(line) > LONGEST_LINE else walk.wide_code
                        found.append(f"{path}: {line.strip()}")
                _screenshot(page, WIDE, path)
                page.set_viewport_size({"width": NARROW, "height": 800})
                if page.evaluate(PAGE_WIDER_THAN_VIEWPORT):
                    walk.wide_pages.append(path)
                _screenshot(page, NARROW, path)
                for href in survey["links"]:
                    url = urldefrag(urljoin(walk.origin + path, href)).url
                    if not url.startswith(("http:", "https:")):
                        continue
                    if not walk.is_ours(url):
                        walk.off_site_links.add(url)
                    elif url not in walk.links:
                        walk.links[url] = path
                        target = urlsplit(url)
                        link = target.path + (f"?{target.query}" if target.query else "")
                        if _check_link(client, walk, url, path) and link not in queued:
                            queued.add(link)
                            queue.append(link)
    finally:
        context.close()
    walk.seconds = time.monotonic() - started
    return walk


@pytest.fixture(scope="module")
def walk(browser: Browser, gallery: Server) -> Iterator[Walk]:
    result = walk_site(browser, gallery)
    print(
        f"\nwalk: {len(result.pages)} pages, {len(result.links)} same-site links, "
        f"{len(result.off_site_links)} off-site links not followed, {len(result.assets)} "
        f"assets, {len(result.off_host)} off-host requests, {len(result.console_errors)} "
        f"console errors, in {result.seconds:.1f} s"
    )
    yield result


def test_every_link_and_asset_answers_200(walk: Walk):
    broken_assets = {url: status for url, status in walk.assets.items() if status != 200}
    assert walk.failed == [] and broken_assets == {}


def test_no_page_logs_a_console_error(walk: Walk):
    assert walk.console_errors == []


def test_no_request_leaves_the_site(walk: Walk):
    assert walk.off_host == []


def test_every_try_page_is_reached_and_usable(walk: Walk):
    """Each example's page, or its console, reached by a link, showing something to use."""
    usable = [
        name
        for name in EXAMPLES
        if (text := walk.texts.get(f"/try/{name}/")) and not text.startswith("Not Found")
    ]
    print(f"\ntry pages usable: {len(usable)}/{len(EXAMPLES)}")
    assert usable == EXAMPLES, {name: walk.texts.get(f"/try/{name}/") for name in EXAMPLES}


def test_no_docs_code_block_scrolls_sideways_at_1280px(walk: Walk):
    """A block of lines within the limit must fit: the site's layout is at fault if not.

    A line over the limit is the page's to shorten: those are listed, not failed on,
    while the pages are being rewritten.
    """
    if walk.long_lines:
        listing = "\n".join(walk.long_lines)
        warnings.warn(
            f"{len(walk.long_lines)} code blocks scroll sideways at 1280 px because a line "
            f"is longer than {LONGEST_LINE} characters:\n{listing}",
            stacklevel=1,
        )
    assert walk.wide_code == []


def test_no_page_scrolls_sideways_at_390px(walk: Walk):
    assert walk.wide_pages == []


def test_the_rest_console_sends_a_post_whose_effect_the_next_get_shows(
    browser: Browser, gallery: Server
):
    context = browser.new_context(viewport={"width": WIDE, "height": 800})
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(gallery.base_url + "/tutorials/rest/")
        page.get_by_role("link", name="Try it live").click()
        expect(page.locator("h1")).to_contain_text("examples/rest/app.py")

        page.locator("button.route", has_text="POST").click()
        expect(page.locator("#method")).to_have_value("POST")
        expect(page.locator("#headers")).to_have_value("content-type: application/json")
        page.locator("#body").fill('{"occupation": "Retired"}')
        page.get_by_role("button", name="Send").click()
        expect(page.locator("#status")).to_contain_text("204")

        page.locator("button.route", has_text="GET").click()
        page.get_by_role("button", name="Send").click()
        expect(page.locator("#status")).to_contain_text("200")
        expect(page.locator("#response-body")).to_contain_text('"occupation": "Retired"')
        expect(page.locator("#response-headers")).to_contain_text("application/json")
    finally:
        context.close()
