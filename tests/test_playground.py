"""The in-browser playground: each example runs in headless chromium from the static site alone.

The site is built afresh and served by ``python -m http.server``: no bareasgi server runs.
Every request to another host is aborted and counted; there must be none. One browser
context serves every page, so after the first page Pyodide comes from a warm cache.

The click's cost is printed by ``pytest -s -k cost tests/test_playground.py``.
"""

from __future__ import annotations

import itertools
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    Request,
    expect,
    sync_playwright,
)

from tests.browser import CHROMIUM, CHROMIUM_ARGS, CHROMIUM_MISSING, NEEDS_CHROMIUM, VIEWPORT
from tests.realserver import REPO_ROOT, Server, free_port, start_process
from tests.requirements import need
from tools import playground

pytestmark = NEEDS_CHROMIUM
FIRST_ANSWER_MS = 60_000  # the cap for one example, from the click to its first answer
EXAMPLES = sorted(path.parent.name for path in (REPO_ROOT / "examples").glob("*/app.py"))
# Those that need a package a browser page cannot have say so instead (tested on their page).
RUNNABLE = [name for name in EXAMPLES if not playground.example_entry(name)["unsupported"]]
# What each example's first answer shows; any example not listed must answer below 500.
FIRST_ANSWERS = {
    "simple": "Hello, World!",
    "rest": "Michael Caine",
    "routing": "id: int = 42",
    "errors": "Dune",
    "middleware": "then the handler",
    "testing": "[]",
    "streaming": "tick 1 of 5",
    "websocket": "<script",
    "lifespan": '"ticks"',
    "server_sent_events": "data: ",
    "http2_push": "(pushed: /style.css)",
    "hypercorn": "Hello, World!",
    "cors": '"greeting"',
    "static_files": "<html",
    "compression": "content-encoding: gzip",
    "cookies": "Log in",
    "forms": "<form",
}


def page_of(example: str) -> str:
    """The URL path of the page that embeds the example's app.py."""
    embed = f'--8<-- "examples/{example}/app.py"'
    for page in sorted((REPO_ROOT / "docs").rglob("*.md")):
        if embed in page.read_text(encoding="utf-8"):
            return "/" + page.relative_to(REPO_ROOT / "docs").with_suffix("").as_posix() + "/"
    raise AssertionError(f"no page embeds examples/{example}/app.py")


@pytest.fixture(scope="module")
def site(built_site: Path) -> Path:
    """The documentation site, built afresh with its playground."""
    try:
        playground.verify_pyodide()
    except playground.PlaygroundUnavailable as error:
        need(False, str(error))
    manifest = built_site / "playground" / "manifest.json"
    assert manifest.is_file(), "the build left the playground out"
    return built_site


@pytest.fixture(scope="module")
def static_server(site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A plain static file server over the built site."""
    port = free_port()
    command = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "--directory"]
    with start_process(
        [*command, str(site), str(port)],
        name="http.server",
        port=port,
        tmp_dir=tmp_path_factory.mktemp("logs"),
    ) as server:
        yield server


class Offsite:
    """Counts the requests to a host other than 127.0.0.1 (the browser cannot resolve any)."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def __call__(self, request: Request) -> None:
        url = request.url
        if urlsplit(url).hostname != "127.0.0.1" and not url.startswith(("data:", "blob:")):
            self.urls.append(url)


def new_context(browser: Browser, offsite: Offsite) -> BrowserContext:
    context = browser.new_context(viewport=VIEWPORT)
    context.on("request", offsite)
    return context


BLOCK_OTHER_HOSTS = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"


@pytest.fixture(scope="module")
def driver() -> Iterator[Playwright]:
    need(CHROMIUM, CHROMIUM_MISSING)
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="module")
def browser(driver: Playwright) -> Iterator[Browser]:
    """Chromium that resolves no host but 127.0.0.1, so any other request is aborted.

    Blocking by address, not by intercepting requests, keeps the browser's HTTP cache
    working (interception turns it off), as a reader's second visit has it.
    """
    args = [*CHROMIUM_ARGS, BLOCK_OTHER_HOSTS]
    chromium = driver.chromium.launch(executable_path=CHROMIUM, args=args)
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.fixture(scope="module")
def offsite() -> Offsite:
    return Offsite()


@pytest.fixture(scope="module")
def context(browser: Browser, offsite: Offsite) -> Iterator[BrowserContext]:
    """One context for every page: Pyodide is downloaded once, then comes from the cache."""
    context = new_context(browser, offsite)
    try:
        yield context
    finally:
        context.close()
    assert offsite.urls == [], f"requests to other hosts: {offsite.urls}"


def open_example(context: BrowserContext, server: Server, example: str) -> tuple[Page, list[str]]:
    page = context.new_page()
    page.set_default_timeout(FIRST_ANSWER_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(server.base_url + page_of(example))
    return page, errors


def click_run(page: Page) -> None:
    page.get_by_role("button", name="Run in your browser").click()
    expect(page.locator(".playground-answer-status[data-status]")).to_be_visible(
        timeout=FIRST_ANSWER_MS
    )


def answer(page: Page) -> str:
    return page.locator(".playground-answer").inner_text()


def send(page: Page, method: str, path: str, headers: str = "", body: str = "") -> None:
    page.locator(".playground-method").select_option(method)
    page.locator(".playground-path").fill(path)
    page.locator(".playground-headers").fill(headers)
    page.locator(".playground-body").fill(body)
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".playground-answer-status")).to_contain_text(f"{method} {path} → ")


def manifest_entry(page: Page, example: str) -> dict[str, Any]:
    manifest = page.evaluate("fetch('/playground/manifest.json').then((r) => r.json())")
    entry: dict[str, Any] = manifest["examples"][example]
    return entry


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_example_page_has_the_button(
    context: BrowserContext, static_server: Server, example: str
) -> None:
    page, errors = open_example(context, static_server, example)
    try:
        button = page.locator(f'.playground[data-example="{example}"] button')
        expect(button).to_have_text("Run in your browser")
        unsupported = manifest_entry(page, example)["unsupported"]
        if unsupported:
            expect(button).to_be_disabled()
            expect(page.locator(".playground-note")).to_contain_text(unsupported)
        else:
            expect(button).to_be_enabled()
        assert errors == []
    finally:
        page.close()


@pytest.fixture(scope="module")
def shared_page(context: BrowserContext, static_server: Server) -> Iterator[Page]:
    """One page whose Python runs every example: Pyodide starts once for all of them."""
    page, errors = open_example(context, static_server, "simple")
    click_run(page)
    yield page
    page.close()
    assert errors == []


@pytest.mark.parametrize("example", RUNNABLE)
def test_every_example_answers_its_first_request(shared_page: Page, example: str) -> None:
    page = shared_page
    # The panel the page's button opens, here for this example, beside the first one.
    page.evaluate(
        """(name) => {
            const container = document.createElement("div");
            container.className = "playground";
            container.dataset.example = name;
            container.id = `run-${name}`;
            container.append(document.createElement("button"));
            document.querySelector("article").append(container);
            // Not awaited: a streamed answer (server-sent events) never ends.
            import("/playground/playground.js").then((m) => m.start(container));
        }""",
        example,
    )
    panel = page.locator(f"#run-{example}")
    status = panel.locator(".playground-answer-status[data-status]")
    error = panel.locator(".playground-error:not([hidden])")
    # Whichever comes first: the answer, or the traceback of what went wrong.
    expect(status.or_(error).first).to_be_visible(timeout=FIRST_ANSWER_MS)
    assert error.count() == 0, error.inner_text()
    code = int(status.get_attribute("data-status") or 0)
    if example in FIRST_ANSWERS:
        assert code == 200
        expect(panel.locator(".playground-answer")).to_contain_text(FIRST_ANSWERS[example])
    else:
        assert 0 < code < 500, panel.locator(".playground-answer").inner_text()


def test_rest_console_post_changes_info_and_the_next_get_shows_it(
    context: BrowserContext, static_server: Server
) -> None:
    page, errors = open_example(context, static_server, "rest")
    try:
        click_run(page)
        send(page, "POST", "/info", "content-type: application/json", '{"name": "Ada"}')
        expect(page.locator(".playground-answer-status")).to_have_attribute("data-status", "204")
        send(page, "GET", "/info")
        expect(page.locator(".playground-answer-body")).to_contain_text('"name": "Ada"')
        expect(page.locator(".playground-answer-body")).to_contain_text('"occupation"')
        assert errors == []
    finally:
        page.close()


def chunk_times(page: Page) -> list[int]:
    return [
        int(value)
        for value in page.locator(".playground-chunk").evaluate_all(
            "(chunks) => chunks.map((chunk) => chunk.dataset.at)"
        )
    ]


def test_streaming_shows_the_chunks_as_the_writer_yields_them(
    context: BrowserContext, static_server: Server
) -> None:
    page, errors = open_example(context, static_server, "streaming")
    try:
        click_run(page)
        body = page.locator(".playground-answer-body")
        expect(body).to_contain_text("tick 5 of 5")
        times = chunk_times(page)
        assert len(times) == 5, times
        # The writer sleeps half a second before each tick: the page shows each on its own.
        assert all(later - earlier >= 300 for earlier, later in itertools.pairwise(times)), times
        assert errors == []
    finally:
        page.close()


def test_server_sent_events_tick_until_stopped(
    context: BrowserContext, static_server: Server
) -> None:
    page, errors = open_example(context, static_server, "server_sent_events")
    try:
        click_run(page)
        expect(page.locator(".playground-answer-body")).to_contain_text("id: 3")
        page.get_by_role("button", name="Stop").click()
        expect(page.locator(".playground-stopped")).to_be_visible()
        ticks = page.locator(".playground-chunk").count()
        time.sleep(1.5)  # the app's clock yields every second: stopped, nothing more arrives
        assert page.locator(".playground-chunk").count() == ticks
        assert errors == []
    finally:
        page.close()


def test_websocket_console_echoes_and_closes(
    context: BrowserContext, static_server: Server
) -> None:
    page, errors = open_example(context, static_server, "websocket")
    try:
        click_run(page)
        console = page.locator(".playground-websocket")
        expect(console).to_be_visible()
        expect(page.locator(".playground-ws-path")).to_have_value("/ws")
        console.get_by_role("button", name="Connect").click()
        expect(console).to_contain_text("Connected to /ws")
        page.locator(".playground-ws-message").fill("hello from the page")
        console.get_by_role("button", name="Send text").click()
        expect(console).to_contain_text("← You said: hello from the page")
        page.locator(".playground-ws-code").fill("4000")
        console.get_by_role("button", name="Close").click()
        expect(console).to_contain_text("Closed with code 4000")
        assert errors == []
    finally:
        page.close()


def test_a_form_on_an_own_page_is_posted_to_the_app_in_the_page(
    context: BrowserContext, static_server: Server
) -> None:
    page, errors = open_example(context, static_server, "forms")
    try:
        click_run(page)
        frame = page.frame_locator(".playground-own-page")
        frame.get_by_label("Name").fill("Ada")
        frame.get_by_role("button", name="Send").click()
        expect(frame.locator("body")).to_contain_text("name: Ada", timeout=FIRST_ANSWER_MS)
        assert errors == []
    finally:
        page.close()


def test_an_own_page_websocket_talks_to_the_app_in_the_page(
    context: BrowserContext, static_server: Server
) -> None:
    page, errors = open_example(context, static_server, "websocket")
    try:
        click_run(page)
        frame = page.frame_locator(".playground-own-page")
        expect(frame.locator("#status")).to_have_text("Connected.", timeout=FIRST_ANSWER_MS)
        frame.locator("#message").fill("hello from the frame")
        frame.get_by_role("button", name="Send").click()
        expect(frame.locator("#log")).to_contain_text("You said: hello from the frame")
        assert errors == []
    finally:
        page.close()


def test_an_own_page_a_service_worker_cannot_serve_says_why(
    context: BrowserContext, static_server: Server
) -> None:
    page, errors = open_example(context, static_server, "cors")
    try:
        click_run(page)
        expect(page.locator(".playground-notes")).to_contain_text("another origin")
        expect(page.locator(".playground-own-page")).to_have_count(0)
        assert errors == []
    finally:
        page.close()


def test_edited_code_runs_and_an_error_shows_its_traceback(
    context: BrowserContext, static_server: Server
) -> None:
    page, errors = open_example(context, static_server, "simple")
    try:
        click_run(page)
        page.get_by_text("Edit examples/simple/app.py and run it again").click()
        code = page.locator(".playground-code")
        code.fill(code.input_value().replace("Hello, World!", "Hello, playground!"))
        page.get_by_role("button", name="Run", exact=True).click()
        expect(page.locator(".playground-answer-body")).to_have_text("Hello, playground!\n")
        code.fill(code.input_value().replace("async def hello(", "async def hello(:"))
        page.get_by_role("button", name="Run", exact=True).click()
        error = page.locator(".playground-error")
        expect(error).to_contain_text("SyntaxError")
        expect(error).to_contain_text("app.py")
        expect(page.locator(".playground-status")).to_contain_text("did not start")
        assert errors == []
    finally:
        page.close()


def click_cost(context: BrowserContext, server: Server) -> dict[str, Any]:
    page, _ = open_example(context, server, "simple")
    try:
        clicked = page.evaluate("performance.now()")
        click_run(page)
        expect(page.locator(".playground-answer-body")).to_contain_text("Hello, World!")
        downloaded = page.evaluate(
            """(since) => performance.getEntriesByType("resource")
                .filter((entry) => entry.startTime >= since)
                .reduce((sum, entry) => sum + entry.transferSize, 0)""",
            clicked,
        )
        first = int(page.locator(".playground").get_attribute("data-first-answer-ms") or 0)
        return {"bytes": downloaded, "first_answer_ms": first}
    finally:
        page.close()


def test_click_cost_cold_and_warm(
    driver: Playwright,
    static_server: Server,
    offsite: Offsite,
    tmp_path: Path,
) -> None:
    # A profile on disk, as a reader's browser has: an in-memory cache keeps no 9 MB file.
    context = driver.chromium.launch_persistent_context(
        tmp_path / "profile",
        executable_path=CHROMIUM,
        args=[*CHROMIUM_ARGS, BLOCK_OTHER_HOSTS],
        viewport=VIEWPORT,
    )
    context.on("request", offsite)
    try:
        cold = click_cost(context, static_server)
        warm = click_cost(context, static_server)
    finally:
        context.close()
    print(f"\nplayground click cost: cold {cold}, warm {warm}")
    assert cold["bytes"] > 1_000_000  # Pyodide itself came over the wire
    assert warm["bytes"] < cold["bytes"] / 10  # and then from the cache
    assert 0 < cold["first_answer_ms"] < FIRST_ANSWER_MS
    assert 0 < warm["first_answer_ms"] < FIRST_ANSWER_MS
    assert offsite.urls == []


def test_an_own_page_runs_in_a_frame_answered_by_the_app_in_the_page(
    context: BrowserContext, static_server: Server
) -> None:
    page, errors = open_example(context, static_server, "server_sent_events")
    try:
        click_run(page)
        # The page's EventSource streams through the service worker from the app here.
        frame = page.frame_locator(".playground-own-page")
        expect(frame.locator("body")).to_contain_text("#3", timeout=FIRST_ANSWER_MS)
        # What a browser does to an idle service worker: it starts again with no memory
        # of which docs page runs which example.
        cdp = context.new_cdp_session(page)
        cdp.send("ServiceWorker.enable")
        cdp.send("ServiceWorker.stopAllWorkers")
        page.locator(".playground-own-page").evaluate("frame => frame.src = frame.src")
        expect(frame.locator("body")).to_contain_text("#3", timeout=FIRST_ANSWER_MS)
        assert errors == []
    finally:
        page.close()
