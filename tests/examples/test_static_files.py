"""The static files example: the public/ folder as a site, and a download."""

import pytest

from bareasgi.testing import TestClient
from examples.static_files.app import PUBLIC, app


@pytest.mark.parametrize(
    ("path", "name", "content_type"),
    [
        ("/", "index.html", "text/html; charset=utf-8"),
        ("/style.css", "style.css", "text/css; charset=utf-8"),
        ("/logo.svg", "logo.svg", "image/svg+xml"),
        ("/notes.txt", "notes.txt", "text/plain; charset=utf-8"),
        ("/guide/", "guide/index.html", "text/html; charset=utf-8"),
    ],
)
async def test_the_files_of_public_are_served(path, name, content_type):
    response = await TestClient(app).get(path)
    assert response.status == 200
    assert response.body == (PUBLIC / name).read_bytes()
    assert response.headers["content-type"] == content_type
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["etag"]


async def test_the_page_links_its_files_relative_to_itself():
    page = (await TestClient(app).get("/")).text
    for link in ('href="style.css"', 'src="logo.svg"', 'href="notes.txt"', 'href="download"'):
        assert link in page
    assert 'href="guide"' in page


async def test_the_folder_redirects_to_its_slash_wherever_the_app_is_mounted():
    for client in (TestClient(app), TestClient(app, root_path="/try/static_files")):
        response = await client.get("/guide")
        assert response.status == 308
        assert response.headers["location"] == "guide/"


async def test_a_browser_revalidating_gets_304():
    client = TestClient(app)
    first = await client.get("/style.css")
    again = await client.get("/style.css", headers={"if-none-match": first.headers["etag"]})
    assert (again.status, again.body) == (304, b"")


async def test_a_range_is_a_partial_response():
    response = await TestClient(app).get("/notes.txt", headers={"range": "bytes=0-4"})
    assert response.status == 206
    assert response.headers["content-range"].startswith("bytes 0-4/")
    assert response.body == b"Notes"


async def test_the_download_is_an_attachment():
    response = await TestClient(app).get("/download")
    assert response.status == 200
    assert response.headers["content-disposition"] == 'attachment; filename="notes.txt"'
    assert response.body == (PUBLIC / "notes.txt").read_bytes()


@pytest.mark.parametrize("path", ["/../app.py", "/guide/../../app.py", "/missing.txt"])
async def test_nothing_outside_public_is_served(path):
    response = await TestClient(app).get(path)
    assert (response.status, response.text) == (404, "Not Found")
