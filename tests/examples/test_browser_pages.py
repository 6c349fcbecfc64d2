"""The templates and auth examples in Chromium, mounted under /try/NAME.

The pages are served by a real uvicorn process (tests/realserver.py) under the
prefixes the gallery uses, so a link, form action or redirect that forgot the
prefix fails here. With ``SCREENSHOTS=1`` the final pages are saved to
docs/images/examples/NAME.png, as in tests/examples/test_browser.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser import NEEDS_CHROMIUM, open_page, save_screenshot
from tests.realserver import REPO_ROOT, Server, start_server

SCREENSHOTS = REPO_ROOT / "docs" / "images" / "examples"
pytestmark = NEEDS_CHROMIUM


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp_dir = tmp_path_factory.mktemp("mounted")
    with start_server(
        "uvicorn",
        "tests.examples.mounted:app",
        tmp_dir=tmp_dir,
        probe_path="/try/auth/login",
    ) as server:
        yield server
    assert server.server_errors() == [], server.stderr()


def _screenshot(page: Page, name: str) -> None:
    save_screenshot(page.screenshot(), SCREENSHOTS, name)


def test_templates_page_adds_an_item_and_redirects_back(
    server: Server, browser: Browser
) -> None:
    home = f"{server.base_url}/try/templates/"
    with open_page(browser) as page:
        page.goto(home)
        expect(page).to_have_title("Shopping list")
        # The stylesheet, found by its relative URL, is applied.
        expect(page.locator("h1")).to_have_css("color", "rgb(0, 121, 107)")
        before = page.locator("#items li").count()

        page.locator("input[name=item]").fill("Apples <b>& pears</b>")
        page.get_by_role("button", name="Add").click()
        expect(page.locator("#items li").last).to_have_text(
            "Apples <b>& pears</b>"
        )
        assert page.url == home  # the 303 brought the browser back with a GET
        page.reload()  # a reload repeats the GET, not the post
        expect(page.locator("#items li")).to_have_count(before + 1)

        page.locator("input[name=item]").fill("   ")
        page.get_by_role("button", name="Add").click()
        expect(page.get_by_role("alert")).to_have_text(
            "Give an item of 1 to 80 characters."
        )
        _screenshot(page, "templates")


def test_auth_pages_log_in_and_out(server: Server, browser: Browser) -> None:
    base = f"{server.base_url}/try/auth/"
    with open_page(browser) as page:
        page.goto(base)
        expect(page).to_have_url(f"{base}login")

        page.get_by_label("Name").fill("ada")
        page.get_by_label("Password").fill("wrong")
        page.get_by_role("button", name="Log in").click()
        expect(page.locator("#message")).to_have_text("Wrong name or password.")
        # The inline style is applied: the file needs no stylesheet.
        expect(page.locator("h1")).to_have_css("color", "rgb(0, 121, 107)")
        # The name typed is back in its field; the password is not.
        expect(page.get_by_label("Name")).to_have_value("ada")
        expect(page.get_by_label("Password")).to_have_value("")
        _screenshot(page, "auth-login")

        page.get_by_label("Password").fill("analytical engine")
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(base)
        expect(page.locator("h1")).to_have_text("Hello, ada!")
        cookies = {c["name"]: c for c in page.context.cookies()}
        assert cookies["session"]["httpOnly"] is True
        assert cookies["session"]["path"] == "/try/auth/"
        _screenshot(page, "auth")

        page.get_by_role("button", name="Log out").click()
        expect(page).to_have_url(f"{base}login")
        page.goto(base)
        expect(page).to_have_url(re.compile(r"/try/auth/login$"))
