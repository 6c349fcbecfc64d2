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
import re
import string
from dataclasses import dataclass
from pathlib import Path

from bareasgi import Application
from bareasgi.mounting import route_path
from bareasgi.routing import PathTemplate, Variable
from bareasgi.types import ASGIApp, Message, Receive, Scope, Send

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ASSETS = HERE / "assets"
PAGE_TEMPLATE = string.Template((HERE / "console.html").read_text(encoding="utf-8"))
INDEX_TEMPLATE = string.Template((HERE / "examples.html").read_text(encoding="utf-8"))
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


def examples_page(examples: list[Example]) -> bytes:
    """The ``/try/`` page: every example, a link to try it and one to its docs page."""
    e = html.escape
    items = "\n".join(
        f'<li><h2><a href="{e(example.base)}/">{e(example.name)}</a></h2>'
        f"<p>{e(example.summary)}</p>"
        f'<p class="muted">Explained in the {e(example.docs_kind)} '
        f'<a href="{e(example.docs_url)}">{e(example.docs_title)}</a>.</p></li>'
        for example in examples
    )
    return INDEX_TEMPLATE.substitute(items=items).encode("utf-8")


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


# Where the back link goes in an example's own page: just inside <body>, else after
# the head or the title.
_BODY = re.compile(rb"<body[^>]*>", re.IGNORECASE)
_AFTER_HEAD = re.compile(rb"</head>|</title>", re.IGNORECASE)
_BAR_STYLE = (
    "font:15px/1.4 system-ui,sans-serif;background:#00796b;padding:8px 16px;"
    "margin:0 0 12px"
)


def back_link_bar(example: Example) -> bytes:
    """The bar linking an example's own page back to the docs page that explains it."""
    e = html.escape
    return (
        f'<div class="gallery-back" style="{_BAR_STYLE}">'
        f'<a href="{e(example.docs_url)}" style="color:#fff">'
        f"← Back to the {e(example.docs_kind)}: {e(example.docs_title)}</a></div>"
    ).encode()


def with_back_link(app: ASGIApp, bar: bytes) -> ASGIApp:
    """``app``, with ``bar`` put at the top of each HTML page it answers.

    An example's own pages are its code, shown as they are on the docs page; only in the
    gallery do they get a way back to that page. Only ``200`` HTML answers to ``GET`` and
    ``HEAD`` without a ``content-encoding`` are touched. The body is held back only until
    the place for the bar has arrived (at most ``_BAR_SEARCH`` bytes); a page without one
    goes out as it is.
    """

    async def app_with_bar(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await app(scope, receive, send)
            return
        held: Message | None = None  # the start of a page that may get the bar
        chunks: list[bytes] = []

        async def release(page: bytes, more_body: bool, with_bar: bool) -> None:
            nonlocal held
            assert held is not None
            start, held = held, None
            if with_bar:
                start = {**start, "headers": _longer(start["headers"], len(bar))}
            await send(start)
            await send({"type": "http.response.body", "body": page, "more_body": more_body})

        async def send_with_bar(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start" and _html_page(message):
                held = message
                return
            if message["type"] != "http.response.body" or held is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            more_body = bool(message.get("more_body", False))
            page = b"".join(chunks)
            if scope["method"] == "HEAD":
                await release(page, more_body, with_bar=True)
                return
            found = _BODY.search(page)
            if found is None and (not more_body or len(page) > _BAR_SEARCH):
                found = _AFTER_HEAD.search(page)  # a page may leave <body> out
                if found is None:
                    await release(page, more_body, with_bar=False)
                    return
            if found is not None:
                at = found.end()
                await release(page[:at] + bar + page[at:], more_body, with_bar=True)

        await app(scope, receive, send_with_bar)

    return app_with_bar


_BAR_SEARCH = 64 * 1024


def _html_page(start: Message) -> bool:
    headers = {bytes(name).lower(): bytes(value) for name, value in start.get("headers", [])}
    return (
        start["status"] == 200
        and headers.get(b"content-type", b"").startswith(b"text/html")
        and b"content-encoding" not in headers
    )


def _longer(headers: list[tuple[bytes, bytes]], extra: int) -> list[tuple[bytes, bytes]]:
    """``headers`` with any ``content-length`` grown by ``extra``; a list, for the cookies."""
    return [
        (name, b"%d" % (int(value) + extra) if name.lower() == b"content-length" else value)
        for name, value in headers
    ]
