"""The gallery server: the documentation site, with every example running live beside it.

``make run`` builds the site into ``site/`` and starts this on http://127.0.0.1:9009
(``$GALLERY_PORT`` chooses another port; ``$GALLERY_SITE`` another site folder).
Each ``examples/NAME/app.py`` is mounted under ``/try/NAME/``, so a reader can open a
tutorial and try the example it explains in the same browser tab. An example with no
page of its own answers ``/try/NAME/`` with the request console (``gallery/console.py``);
the console of an example that has a page is at ``/console/NAME/``. The server loads
nothing from any other host.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from bareasgi import Application, bytes_writer, text_writer
from bareasgi.static import file_response, static_files
from bareasgi.streaming import fixed_response
from bareasgi.types import (
    ASGIApp,
    Content,
    HttpRequestCallback,
    HttpResponse,
    Info,
    RouteMatches,
    Scope,
)
from gallery.console import (
    ASSETS,
    back_link_bar,
    console_page,
    examples_page,
    load_example,
    serves_own_page,
    with_back_link,
    with_console,
)

ROOT = Path(__file__).resolve().parents[1]
TEXT = b"text/plain; charset=utf-8"
HTML = (b"content-type", b"text/html; charset=utf-8")
# Material's icon, which the built site carries; browsers ask for /favicon.ico on any page
# that names no icon of its own, as the examples' pages do.
FAVICON = Path("assets") / "images" / "favicon.png"


def example_names(root: Path = ROOT) -> list[str]:
    """The folder name of every ``examples/NAME/app.py``, in alphabetical order."""
    return sorted(path.parent.name for path in (root / "examples").glob("*/app.py"))


def example_apps() -> dict[str, ASGIApp]:
    """Every example's ``app``, by folder name, in alphabetical order."""
    return {name: load_example(name).app for name in example_names()}


def missing_page_handler(site: Path) -> HttpRequestCallback:
    """A handler answering 404 with the site's own 404 page, or a line of text before a build."""
    missing_page = site / "404.html"

    async def missing(
        scope: Scope, info: Info, matches: RouteMatches, content: Content
    ) -> HttpResponse:
        if not missing_page.is_file():
            return 404, [(b"content-type", TEXT)], text_writer("Not Found")
        page = await asyncio.to_thread(missing_page.read_bytes)
        return 404, [HTML, (b"content-length", b"%d" % len(page))], bytes_writer(page)

    return missing


def site_handler(site: Path) -> HttpRequestCallback:
    """A handler serving a built MkDocs site with ``bareasgi.static``, and its 404 page."""
    if not site.is_dir():
        message = f"The documentation site is not built in {site}: run make docs."
        return fixed_response(404, [(b"content-type", TEXT)], text_writer(message))
    files = static_files(site)
    missing = missing_page_handler(site)

    async def serve_site(
        scope: Scope, info: Info, matches: RouteMatches, content: Content
    ) -> HttpResponse:
        response = await files(scope, info, matches, content)
        status = response if isinstance(response, int) else response[0]
        if status != 404:
            return response
        return await missing(scope, info, matches, content)

    return serve_site


def consoles_handler(pages: dict[str, bytes], site: Path) -> HttpRequestCallback:
    """``/console/NAME/``: the console of an example that has a page of its own.

    The console of an example without one is its ``/try/NAME/`` page, so the request
    is redirected there.
    """
    missing = missing_page_handler(site)

    async def console(
        scope: Scope, info: Info, matches: RouteMatches, content: Content
    ) -> HttpResponse:
        name = matches["name"]
        page = pages.get(name)
        if page is not None:
            return 200, [HTML, (b"content-length", b"%d" % len(page))], bytes_writer(page)
        if name in example_names():
            return 307, [(b"location", f"/try/{name}/".encode())]
        return await missing(scope, info, matches, content)

    return console


def favicon_handler(site: Path) -> HttpRequestCallback:
    """``/favicon.ico``: the site's icon, so that no page's request for it fails."""

    async def favicon(
        scope: Scope, info: Info, matches: RouteMatches, content: Content
    ) -> HttpResponse:
        return await file_response(scope, site / FAVICON, content_type="image/png")

    return favicon


def create_app(site: Path | None = None) -> Application:
    """The gallery: ``site`` served at ``/``, each example mounted at ``/try/NAME``.

    ``site`` defaults to ``$GALLERY_SITE``, else the ``site/`` folder ``make docs`` builds.
    """
    site = site or Path(os.environ.get("GALLERY_SITE", ROOT / "site"))
    app = Application()
    consoles: dict[str, bytes] = {}
    examples = [load_example(name) for name in example_names()]
    for example in examples:
        name = example.name
        page = console_page(example)
        if serves_own_page(example.app):
            app.mount(example.base, with_back_link(example.app, back_link_bar(example)))
            consoles[name] = page
        else:
            app.mount(example.base, with_console(example.app, page))
    index = examples_page(examples)
    length = (b"content-length", b"%d" % len(index))
    app.http_router.add(
        {"GET"}, "/try/", fixed_response(200, [HTML, length], bytes_writer(index))
    )
    app.http_router.add({"GET"}, "/try", fixed_response(308, [(b"location", b"/try/")]))
    app.http_router.add({"GET"}, "/console/{name}/", consoles_handler(consoles, site))
    app.http_router.add({"GET"}, "/_gallery/{path:path}", static_files(ASSETS))
    app.http_router.add({"GET"}, "/favicon.ico", favicon_handler(site))
    app.http_router.add({"GET"}, "/{path:path}", site_handler(site))
    return app


if __name__ == "__main__":
    import uvicorn  # a server is imported only where the file runs itself

    uvicorn.run(create_app(), host="127.0.0.1", port=int(os.environ.get("GALLERY_PORT", "9009")))
