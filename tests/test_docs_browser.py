"""The built documentation site, served by the gallery, opened in a real headless chromium."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from tests.browser import NEEDS_CHROMIUM, open_page
from tests.realserver import REPO_ROOT, Server, free_port, start_process

pytestmark = NEEDS_CHROMIUM
SCREENSHOTS = REPO_ROOT / "docs" / "images" / "site"


@pytest.fixture(scope="module")
def gallery(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The site built afresh into a temporary folder and served by the gallery server."""
    site = tmp_path_factory.mktemp("site")
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(site)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert build.returncode == 0, build.stderr
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "--factory", "gallery.app:create_app"]
    os.environ["GALLERY_SITE"] = str(site)
    try:
        with start_process(
            [*command, "--port", str(port)],
            name="gallery",
            port=port,
            tmp_dir=tmp_path_factory.mktemp("logs"),
        ) as server:
            yield server
    finally:
        del os.environ["GALLERY_SITE"]


def screenshot(image: bytes, name: str) -> None:
    assert image.startswith(b"\x89PNG")
    if os.environ.get("SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        (SCREENSHOTS / f"{name}.png").write_bytes(image)


def test_home_page_renders_with_navigation_and_highlighted_code(browser: Browser, gallery):
    with open_page(browser) as page:
        page.goto(gallery.base_url + "/")
        expect(page.locator("article h1")).to_contain_text("bareasgi")
        expect(page.locator(".md-tabs")).to_contain_text("Tutorial")
        code = page.locator("article .highlight code").first
        expect(code).to_contain_text("async def hello")
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
        expect(page.locator("article")).to_contain_text("defined on lines 8-9")
        screenshot(page.screenshot(full_page=True), "tutorial")


def test_try_it_link_opens_the_live_example(browser: Browser, gallery):
    with open_page(browser) as page:
        page.goto(gallery.base_url + "/tutorials/simple/")
        page.get_by_role("link", name="Try it live").click()
        expect(page.locator("body")).to_contain_text("Hello, World!")
        assert page.url == gallery.base_url + "/try/simple/"
