"""The gallery server behind `make run`: the built site plus every example mounted live."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urljoin

import pytest

from bareasgi import Application, bytes_writer, text_response
from bareasgi.testing import TestClient
from docs import hooks
from gallery.app import create_app, example_apps, example_names
from gallery.console import (
    Example,
    console_page,
    docs_page,
    load_example,
    serves_own_page,
    variable_hints,
    with_back_link,
    with_console,
)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = example_names()
FAVICON = b"\x89PNG fake icon"


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "index.html").write_text("<h1>home</h1>")
    (tmp_path / "404.html").write_text("<h1>lost</h1>")
    (tmp_path / "guide").mkdir()
    (tmp_path / "guide" / "index.html").write_text("<h1>guide</h1>")
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "site.css").write_text("body {}")
    (tmp_path / "assets" / "images").mkdir()
    (tmp_path / "assets" / "images" / "favicon.png").write_bytes(FAVICON)
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


async def hello(scope, info, matches, content):
    return text_response(200, None, "hello")


@pytest.mark.parametrize("name", EXAMPLES)
async def test_every_try_page_answers_with_something_to_use(site, name):
    async with TestClient(create_app(site)) as client:
        response = await client.get(f"/try/{name}/")
        if response.status in (302, 303, 307):  # a login page first, say: followed
            location = urljoin(f"/try/{name}/", response.headers["location"])
            assert location.startswith(f"/try/{name}/")
            response = await client.get(location)
    assert response.status == 200
    assert response.text.strip() and not response.text.startswith("Not Found")


async def test_an_example_without_a_page_answers_with_its_console(site):
    async with TestClient(create_app(site)) as client:
        page = await client.get("/try/rest/")
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        routes = re.findall(r'data-method="(\w+)" data-path="([^"]+)"', page.text)
        assert routes == [("GET", "/info"), ("POST", "/info"), ("DELETE", "/info/{key}")]
        assert '<a class="back" href="/tutorials/rest/">' in page.text
        assert "A REST API" in page.text  # the title of the page it links back to
        head = await client.head("/try/rest/")
        assert (head.status, head.body) == (200, b"")
        assert head.headers["content-length"] == page.headers["content-length"]
        # Everything but the console's own URL still reaches the example.
        assert (await client.get("/try/rest/info")).json()["name"] == "Michael Caine"
        assert (await client.post("/try/rest/", body=b"")).status == 404


async def test_an_example_with_a_page_keeps_it_and_has_its_console_beside_it(site):
    async with TestClient(create_app(site)) as client:
        own = await client.get("/try/websocket/")
        assert "<title>WebSocket echo</title>" in own.text
        console = await client.get("/console/websocket/")
        assert console.status == 200
        assert 'class="socket" data-path="/ws"' in console.text
        assert 'href="/try/websocket/"' in console.text  # and a link to the page itself
        redirect = await client.get("/console/rest/")  # the console of rest is its try page
        assert (redirect.status, redirect.headers["location"]) == (307, "/try/rest/")
        missing = await client.get("/console/no-such-example/")
        assert (missing.status, missing.text) == (404, "<h1>lost</h1>")


async def test_an_examples_own_page_links_back_to_its_docs_page_in_the_gallery(site):
    async with TestClient(create_app(site)) as client:
        page = await client.get("/try/websocket/")
        head = await client.head("/try/websocket/")
    bar = '<a href="/tutorials/websocket/" style="color:#fff">← Back to the tutorial: WebSockets'
    assert bar in page.text
    # Just inside <body>: the page itself follows, unchanged.
    assert re.search(r"<body[^>]*><div class=\"gallery-back\"", page.text)
    assert head.status == 200 and head.body == b""
    # The example itself, outside the gallery, is as the docs page shows it.
    async with TestClient(example_apps()["websocket"]) as client:
        assert "gallery-back" not in (await client.get("/")).text


async def test_the_back_link_goes_inside_body_as_it_arrives_and_keeps_every_header():
    app = Application()
    page = b"<!doctype html><title>t</title><p>hi"
    cookies = [(b"set-cookie", b"a=1"), (b"set-cookie", b"b=2")]
    html = (b"content-type", b"text/html")

    @app.on_http_request({"GET"}, "/whole")
    async def whole(scope, info, matches, content):
        length = (b"content-length", b"%d" % len(page))
        return 200, [html, length, *cookies], bytes_writer(page)

    async def chunks():
        yield b"<!doctype html><title>t</title><bo"
        yield b'dy class="x"><p>one'
        yield b"<p>two"

    @app.on_http_request({"GET"}, "/stream")
    async def streamed(scope, info, matches, content):
        return 200, [html], chunks()

    @app.on_http_request({"GET"}, "/bare")
    async def bare(scope, info, matches, content):
        return 200, [html], bytes_writer(b"<p>no head, no body")

    @app.on_http_request({"GET"}, "/text")
    async def text(scope, info, matches, content):
        return text_response(200, None, "<body>plain")

    async with TestClient(with_back_link(app, b"<nav>back</nav>")) as client:
        response = await client.get("/whole")
        assert response.body == b"<!doctype html><title>t</title><nav>back</nav><p>hi"
        assert response.headers.get_all("set-cookie") == ["a=1", "b=2"]
        assert response.headers["content-length"] == str(len(response.body))
        head = await client.head("/whole")
        assert head.headers["content-length"] == response.headers["content-length"]
        streamed_page = (await client.get("/stream")).body
        assert streamed_page == (
            b'<!doctype html><title>t</title><body class="x"><nav>back</nav><p>one<p>two'
        )
        assert (await client.get("/bare")).body == b"<p>no head, no body"
        assert (await client.get("/text")).text == "<body>plain"
        assert (await client.post("/whole")).status == 405


async def test_the_consoles_assets_and_the_favicon_are_served(site):
    client = TestClient(create_app(site))
    script = await client.get("/_gallery/console.js")
    assert script.headers["content-type"].startswith("text/javascript")
    style = await client.get("/_gallery/console.css")
    assert style.headers["content-type"] == "text/css; charset=utf-8"
    icon = await client.get("/favicon.ico")
    assert (icon.status, icon.body, icon.headers["content-type"]) == (200, FAVICON, "image/png")


def test_the_console_loads_nothing_from_another_host():
    page = console_page(load_example("rest")).decode()
    loaded = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert loaded and all(url.startswith("/") for url in loaded), loaded
    for asset in (ROOT / "gallery" / "assets").iterdir():
        assert "http://" not in asset.read_text() and "https://" not in asset.read_text()


def test_whether_an_app_has_its_own_page_is_read_from_its_router():
    assert {name for name in EXAMPLES if not serves_own_page(example_apps()[name])} >= {
        "rest", "routing", "errors", "streaming", "hypercorn", "testing"
    }
    post_only = Application()
    post_only.http_router.add({"POST"}, "/", hello)  # GET / is a 405: no page
    assert not serves_own_page(post_only)
    catch_all = Application()
    catch_all.http_router.add({"GET"}, "/{rest:path}", hello)
    assert serves_own_page(catch_all)

    async def plain_asgi(scope, receive, send):
        pass

    assert serves_own_page(plain_asgi)  # nothing to read: the app is taken at its word


def test_the_console_says_what_each_path_variable_accepts():
    assert variable_hints("/items/{id:int}/{rest:path}") == [
        "{id}: a whole number",
        "{rest}: the rest of the path, slashes included",
    ]
    assert variable_hints("/day/{when:datetime:%Y-%m-%d}") == [
        "{when}: a date and time in the format %Y-%m-%d"
    ]
    assert variable_hints("/info") == []


def test_the_console_page_escapes_what_it_shows():
    app = Application()
    app.http_router.add({"GET"}, "/<b>", hello)
    example = Example("odd", app, "<script>alert(1)</script>", "/", "Home", "documentation")
    page = console_page(example).decode()
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert 'data-path="/&lt;b&gt;"' in page


def test_an_example_without_a_docs_page_links_back_to_the_home_page(tmp_path):
    example = load_example("rest", root=tmp_path)
    assert (example.docs_url, example.docs_kind) == ("/", "documentation")


def test_the_console_links_back_to_the_page_embedding_the_example_whatever_its_name():
    chat = load_example("chat")
    assert (chat.docs_url, chat.docs_kind) == ("/how-to/scaling-out/", "how-to guide")


async def test_the_console_wrapper_passes_lifespan_and_websockets_through():
    app = Application()
    app.http_router.add({"GET"}, "/other", hello)
    events = []
    app.startup_handlers.append(lambda *_: _record(events))
    wrapped = with_console(app, b"<p>console</p>")
    async with TestClient(wrapped) as client:
        assert (await client.get("/")).text == "<p>console</p>"
        assert (await client.get("/other")).text == "hello"
    assert events == ["started"]


async def _record(events):
    events.append("started")


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_example_page_offers_try_it_under_its_first_paragraph(name):
    found = docs_page(name)
    assert found is not None, f"no tutorial or how-to page embeds examples/{name}/app.py"
    page = found[0]
    blocks = page.read_text(encoding="utf-8").split("\n\n")
    heading = next(i for i, block in enumerate(blocks) if block.startswith("# "))
    assert blocks[heading + 2].strip() == f'{{{{ try_it("{name}") }}}}'


def test_the_try_it_macro_adds_a_console_button_only_beside_a_page_of_its_own():
    rest = hooks.expand('{{ try_it("rest") }}')
    assert 'href="/try/rest/">Try it live</a>' in rest and "/console/" not in rest
    websocket = hooks.expand('{{ try_it("websocket") }}')
    assert 'href="/try/websocket/">Try it live</a>' in websocket
    assert 'href="/console/websocket/">Request console</a>' in websocket


async def test_try_lists_every_example_with_its_page(site):
    client = TestClient(create_app(site))
    redirect = await client.get("/try")
    assert (redirect.status, redirect.headers["location"]) == (308, "/try/")
    page = await client.get("/try/")
    assert page.status == 200
    assert page.headers["content-type"].startswith("text/html")
    for name in example_names():
        example = load_example(name)
        assert f'<a href="/try/{name}/">{name}</a>' in page.text
        assert f'<a href="{example.docs_url}">' in page.text
