"""Templates: pages rendered with Jinja2, and a form that posts back."""
# Needs: bareasgi[templates]

import os
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from bareasgi import (
    Application,
    Content,
    HttpFullResponse,
    HttpResponse,
    Info,
    RouteMatches,
    Scope,
    text_response,
)
from bareasgi.forms import read_urlencoded
from bareasgi.static import static_files

HERE = Path(__file__).parent
HTML = [(b"content-type", b"text/html; charset=utf-8")]
# Autoescaping turns a visitor's "<script>" into text, not markup.
templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
MAX_ITEMS = 20


def render(status: int, name: str, **context: Any) -> HttpFullResponse:
    page = templates.get_template(name).render(**context)
    return text_response(status, HTML, page)


async def index(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    return render(200, "index.html", items=info["items"])


async def add_item(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    form = await read_urlencoded(scope, content, max_size=4096)
    item = form.get("item", "").strip()
    if not 0 < len(item) <= 80:
        # The page again, with the message and what was typed.
        return render(
            422,
            "index.html",
            items=info["items"],
            error="Give an item of 1 to 80 characters.",
            typed=item,
        )
    info["items"].append(item)
    # Anyone may post: keep the newest items only, so memory stays bounded.
    del info["items"][:-MAX_ITEMS]
    # 303 See Other: the browser follows with a GET, so a reload
    # shows the list instead of posting the form again.
    return 303, [(b"location", b"./")]


app = Application(info={"items": ["Milk", "Bread"]})
app.http_router.add({"GET", "HEAD"}, "/", index)
app.http_router.add({"POST"}, "/items", add_item)
app.http_router.add(
    {"GET", "HEAD"}, "/static/{path:path}", static_files(HERE / "static")
)

if __name__ == "__main__":
    import uvicorn

    port = int(os.environ.get("PORT", "8000"))
    uvicorn.run(app, host="127.0.0.1", port=port)
