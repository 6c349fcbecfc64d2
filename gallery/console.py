"""The request console: a page of the gallery for sending requests to one example.

An example with no page of its own (a JSON API, say) answers ``/try/NAME/`` with a
404, which tells a reader nothing. For such an example the gallery answers that
URL with this console instead: the example's routes, read from its routers, a form
that sends any request and shows the answer as it streams in, and a message
console for each WebSocket route. The page is plain HTML; ``assets/console.js``
adds the behaviour and ``assets/console.css`` the looks, with no outside library.
"""

from __future__ import annotations

import html
import importlib
import string
from dataclasses import dataclass
from pathlib import Path

from bareasgi import Application
from bareasgi.routing import PathTemplate, Variable, route_path
from bareasgi.types import ASGIApp, Receive, Scope, Send

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ASSETS = HERE / "assets"
PAGE_TEMPLATE = string.Template((HERE / "console.html").read_text(encoding="utf-8"))
# Where each kind of docs page lives, in the order a page is looked for.
DOCS_SECTIONS = (("tutorials", "tutorial"), ("how-to", "how-to guide"))
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
VARIABLE_HINTS = {
    "str": "one path segment",
    "int": "a whole number",
    "float": "a number",
    "datetime": "a date and time in ISO 8601, such as 2024-05-17",
    "path": "the rest of the path, slashes included",
}


@dataclass(frozen=True)
class Example:
    """One ``examples/NAME/app.py`` as the gallery shows it.

    Attributes:
        name: The folder name, which is also the ``/try/NAME/`` prefix.
        app: The module's ``app``.
        summary: The first line of the module's docstring.
        docs_url: The site path of the page that explains it, or ``/``.
        docs_title: That page's title.
        docs_kind: ``tutorial``, ``how-to guide``, or ``documentation``.
    """

    name: str
    app: ASGIApp
    summary: str
    docs_url: str
    docs_title: str
    docs_kind: str

    @property
    def base(self) -> str:
        """Where the example is mounted in the gallery."""
        return f"/try/{self.name}"


def load_example(name: str, root: Path = ROOT) -> Example:
    """Import ``examples/NAME/app.py`` and find the docs page that embeds it."""
    module = importlib.import_module(f"examples.{name}.app")
    summary = (module.__doc__ or "").strip().split("\n", 1)[0]
    found = docs_page(name, root)
    if found is None:
        return Example(name, module.app, summary, "/", "the documentation", "documentation")
    page, kind = found
    url = "/" + page.relative_to(root / "docs").with_suffix("").as_posix() + "/"
    return Example(name, module.app, summary, url, _page_title(page) or name, kind)


def docs_page(name: str, root: Path = ROOT) -> tuple[Path, str] | None:
    """The tutorial or how-to page embedding ``examples/NAME/app.py``, and its kind."""
    embed = f'--8<-- "examples/{name}/app.py"'
    for folder, kind in DOCS_SECTIONS:
        for page in sorted((root / "docs" / folder).glob("*.md")):
            if embed in page.read_text(encoding="utf-8"):
                return page, kind
    return None


def _page_title(page: Path) -> str | None:
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return None


def http_routes(app: ASGIApp) -> list[tuple[list[str], str]]:
    """The HTTP routes of a bareasgi application as ``(sorted methods, template)``.

    Any other ASGI application has no routes to read, so it has none here.
    """
    if not isinstance(app, Application):
        return []
    return [(sorted(methods), path) for methods, path, _ in app.http_router.routes()]


def websocket_routes(app: ASGIApp) -> list[str]:
    """The WebSocket path templates of a bareasgi application."""
    if not isinstance(app, Application):
        return []
    return [path for path, _ in app.ws_router.routes()]


def serves_own_page(app: ASGIApp) -> bool:
    """Whether ``GET /`` reaches one of the application's own routes.

    A request that only reaches the not-found or 405 handler does not count. An
    application that is not a bareasgi ``Application`` is taken at its word.
    """
    if not isinstance(app, Application):
        return True
    handler, _ = app.http_router.resolve("GET", "/")
    return any(handler is route[2] for route in app.http_router.routes())


def variable_hints(template: str) -> list[str]:
    """What each variable of a path template accepts, in words, for the form's hint."""
    parsed = PathTemplate(template)
    hints = []
    for segment in parsed.segments:
        if isinstance(segment, Variable):
            hint = VARIABLE_HINTS[segment.type]
            if segment.format is not None:
                hint = f"a date and time in the format {segment.format}"
            hints.append(f"{{{segment.name}}}: {hint}")
    if parsed.catch_all is not None:
        hints.append(f"{{{parsed.catch_all}}}: {VARIABLE_HINTS['path']}")
    return hints


def console_page(example: Example) -> bytes:
    """The console's HTML for ``example``, with its routes listed."""
    e = html.escape
    routes = "\n".join(
        '<li><button type="button" class="route" data-method="{m}" data-path="{p}" '
        'data-hint="{h}">{badges}<code>{p}</code></button></li>'.format(
            m=e(methods[0]),
            p=e(path),
            h=e("; ".join(variable_hints(path))),
            badges="".join(f'<span class="method m-{e(m.lower())}">{e(m)}</span>' for m in methods),
        )
        for methods, path in http_routes(example.app)
    )
    sockets = "\n".join(
        f'<li><button type="button" class="socket" data-path="{e(path)}">'
        f'<span class="method m-ws">WS</span><code>{e(path)}</code></button></li>'
        for path in websocket_routes(example.app)
    )
    own_page = (
        f'<p>The example also has a page of its own: <a href="{e(example.base)}/">'
        f"{e(example.base)}/</a>.</p>"
        if serves_own_page(example.app)
        else ""
    )
    fields = {
        "name": e(example.name),
        "summary": e(example.summary),
        "base": e(example.base),
        "docs_url": e(example.docs_url),
        "docs_title": e(example.docs_title),
        "docs_kind": e(example.docs_kind),
        "own_page": own_page,
        "routes": routes or '<li class="none">No HTTP routes to list.</li>',
        "sockets_hidden": "" if sockets else " hidden",
        "sockets": sockets,
        "methods": "".join(f"<option>{m}</option>" for m in METHODS),
    }
    return PAGE_TEMPLATE.substitute(fields).encode("utf-8")


def with_console(app: ASGIApp, page: bytes) -> ASGIApp:
    """``app``, except that ``GET /`` and ``HEAD /`` answer with ``page``."""
    headers = [
        (b"content-type", b"text/html; charset=utf-8"),
        (b"content-length", b"%d" % len(page)),
        (b"cache-control", b"no-cache"),
    ]

    async def console_or_app(scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in ("GET", "HEAD")
            or route_path(scope) != "/"
        ):
            await app(scope, receive, send)
            return
        body = page if scope["method"] == "GET" else b""
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    return console_or_app
