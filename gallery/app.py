"""The gallery server: the documentation site, with every example running live beside it.

``make run`` builds the site into ``site/`` and starts this on http://127.0.0.1:9009.
Each ``examples/NAME/app.py`` is mounted under ``/try/NAME/``, so a reader can open a
tutorial and try the example it explains in the same browser tab.
"""

from __future__ import annotations

import asyncio
import importlib
import os
from pathlib import Path

import uvicorn

from bareasgi import Application, bytes_writer, text_writer
from bareasgi.routing import fixed_response
from bareasgi.static import static_files
from bareasgi.types import (
    ASGIApp,
    Content,
    HttpRequestCallback,
    HttpResponse,
    Info,
    RouteMatches,
    Scope,
)

ROOT = Path(__file__).resolve().parents[1]
TEXT = b"text/plain; charset=utf-8"


def example_apps() -> dict[str, ASGIApp]:
    """Every example's ``app``, by folder name, in alphabetical order."""
    names = sorted(path.parent.name for path in (ROOT / "examples").glob("*/app.py"))
    return {name: importlib.import_module(f"examples.{name}.app").app for name in names}


def site_handler(site: Path) -> HttpRequestCallback:
    """A handler serving a built MkDocs site with ``bareasgi.static``, and its 404 page."""
    if not site.is_dir():
        message = f"The documentation site is not built in {site}: run make docs."
        return fixed_response(404, [(b"content-type", TEXT)], text_writer(message))
    files = static_files(site)
    missing_page = site / "404.html"

    async def serve_site(
        scope: Scope, info: Info, matches: RouteMatches, content: Content
    ) -> HttpResponse:
        response = await files(scope, info, matches, content)
        status = response if isinstance(response, int) else response[0]
        if status != 404 or not missing_page.is_file():
            return response
        page = await asyncio.to_thread(missing_page.read_bytes)
        kind = (b"content-type", b"text/html; charset=utf-8")
        return 404, [kind, (b"content-length", b"%d" % len(page))], bytes_writer(page)

    return serve_site


def create_app(site: Path | None = None) -> Application:
    """The gallery: ``site`` served at ``/``, each example mounted at ``/try/NAME``.

    ``site`` defaults to ``$GALLERY_SITE``, else the ``site/`` folder ``make docs`` builds.
    """
    site = site or Path(os.environ.get("GALLERY_SITE", ROOT / "site"))
    app = Application()
    for name, example in example_apps().items():
        app.mount(f"/try/{name}", example)
    app.http_router.add({"GET"}, "/{path:path}", site_handler(site))
    return app


if __name__ == "__main__":
    uvicorn.run(create_app(), host="127.0.0.1", port=9009)
