"""The gallery server: the documentation site, with every example running live beside it.

``make run`` builds the site into ``site/`` and starts this on http://127.0.0.1:9009.
Each ``examples/NAME/app.py`` is mounted under ``/try/NAME/``, so a reader can open a
tutorial and try the example it explains in the same browser tab.
"""

from __future__ import annotations

import asyncio
import importlib
import mimetypes
import os
from pathlib import Path

import uvicorn

from bareasgi import Application, HTTPError, bytes_writer
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


def example_apps() -> dict[str, ASGIApp]:
    """Every example's ``app``, by folder name, in alphabetical order."""
    names = sorted(path.parent.name for path in (ROOT / "examples").glob("*/app.py"))
    return {name: importlib.import_module(f"examples.{name}.app").app for name in names}


def site_handler(site: Path) -> HttpRequestCallback:
    """A handler serving the files of a built MkDocs site, and its 404 page."""
    site = site.resolve()

    async def serve_site(
        scope: Scope, info: Info, matches: RouteMatches, content: Content
    ) -> HttpResponse:
        target = (site / matches["path"]).resolve()
        if not target.is_relative_to(site):
            return await _not_found(site)
        if target.is_dir():
            if matches["path"] and not matches["path"].endswith("/"):
                location = target.name + "/"
                return 308, [(b"location", location.encode()), (b"content-length", b"0")]
            target = target / "index.html"
        if not target.is_file():
            return await _not_found(site)
        return await _file_response(200, target)

    return serve_site


async def _file_response(status: int, path: Path) -> HttpResponse:
    data = await asyncio.to_thread(path.read_bytes)
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if kind.startswith("text/") or kind in ("application/javascript", "application/json"):
        kind += "; charset=utf-8"
    headers = [(b"content-type", kind.encode()), (b"content-length", str(len(data)).encode())]
    return status, headers, bytes_writer(data)


async def _not_found(site: Path) -> HttpResponse:
    page = site / "404.html"
    if page.is_file():
        return await _file_response(404, page)
    raise HTTPError(404)


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
