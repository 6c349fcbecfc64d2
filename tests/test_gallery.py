"""The gallery server behind `make run`: the built site plus every example mounted live."""

from __future__ import annotations

from pathlib import Path

import pytest

from bareasgi.testing import TestClient
from gallery.app import create_app, example_apps

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "index.html").write_text("<h1>home</h1>")
    (tmp_path / "404.html").write_text("<h1>lost</h1>")
    (tmp_path / "guide").mkdir()
    (tmp_path / "guide" / "index.html").write_text("<h1>guide</h1>")
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "site.css").write_text("body {}")
    return tmp_path


async def test_serves_the_site_with_content_types(site):
    client = TestClient(create_app(site))
    home = await client.get("/")
    assert (home.status, home.text) == (200, "<h1>home</h1>")
    assert home.headers["content-type"] == "text/html; charset=utf-8"
    css = await client.get("/assets/site.css")
    assert css.headers["content-type"] == "text/css; charset=utf-8"
    assert css.headers["content-length"] == "7"
    assert (await client.get("/guide/")).text == "<h1>guide</h1>"


async def test_a_folder_without_its_slash_redirects(site):
    response = await TestClient(create_app(site)).get("/guide")
    assert response.status == 308
    assert response.headers["location"] == "guide/"


@pytest.mark.parametrize("path", ["/missing.html", "/%2e%2e/pyproject.toml", "/../../etc/passwd"])
async def test_unknown_paths_and_paths_leaving_the_site_get_the_404_page(site, path):
    response = await TestClient(create_app(site)).get(path)
    assert (response.status, response.text) == (404, "<h1>lost</h1>")


async def test_site_files_carry_validators_and_answer_conditional_requests(site):
    client = TestClient(create_app(site))
    css = await client.get("/assets/site.css")
    etag = css.headers["etag"].encode()
    again = await client.get("/assets/site.css", headers=[(b"if-none-match", etag)])
    assert (again.status, again.body) == (304, b"")


async def test_a_site_not_built_yet_says_how_to_build_it(tmp_path):
    response = await TestClient(create_app(tmp_path / "site")).get("/")
    assert response.status == 404
    assert "run make docs" in response.text


def test_every_example_is_mounted_under_try():
    app = create_app(ROOT / "site")
    examples = sorted(p.parent.name for p in (ROOT / "examples").glob("*/app.py"))
    assert sorted(prefix for prefix, _ in app.mounts) == [f"/try/{name}" for name in examples]
    assert list(example_apps()) == examples


async def test_examples_answer_under_their_prefix(site):
    async with TestClient(create_app(site)) as client:  # runs every example's lifespan too
        response = await client.get("/try/simple/")
        assert response.text == "Hello, World!\n"
        assert (await client.get("/try/simple")).headers["location"] == "simple/"
