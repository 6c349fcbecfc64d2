"""Cookies: logging in sets a session cookie, every page reads it.

Logging out expires it.
"""

import html
import os
import secrets
from datetime import timedelta
from urllib.parse import parse_qs

from bareasgi import (
    Application,
    Content,
    HttpResponse,
    Info,
    RouteMatches,
    Scope,
    text_reader,
    text_response,
)
from bareasgi.cookies import expire_cookie, request_cookies, set_cookie

HTML = [(b"content-type", b"text/html; charset=utf-8")]
LOGIN_PAGE = """<!DOCTYPE html>
<title>Cookies</title>
<form method="post" action="login">
  <label>Name <input name="name" required maxlength="40"></label>
  <button>Log in</button>
</form>
"""
WELCOME_PAGE = """<!DOCTYPE html>
<title>Cookies</title>
<p>Hello, {name}! Your session cookie brought you back.
<form method="post" action="logout"><button>Log out</button></form>
"""


def cookie_path(scope: Scope) -> str:
    # The cookie is sent back to this application only, wherever it is mounted.
    return f"{scope.get('root_path', '')}/"


async def index(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    session_id = request_cookies(scope).get("session")
    name = info["sessions"].get(session_id)
    if name is not None:
        page = WELCOME_PAGE.format(name=html.escape(name))
        return text_response(200, HTML, page)
    headers = list(HTML)
    if session_id is not None:
        # The cookie names no session (the server restarted, say): the
        # browser can forget it.
        headers.append(expire_cookie("session", path=cookie_path(scope)))
    return text_response(200, headers, LOGIN_PAGE)


async def login(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    form = parse_qs(await text_reader(content, max_size=1000))
    name = form.get("name", [""])[0].strip()
    if not 0 < len(name) <= 40:
        return text_response(400, None, "Give a name of 1 to 40 characters.\n")
    session_id = secrets.token_urlsafe(16)
    info["sessions"][session_id] = name
    # http_only keeps the session from scripts; served over HTTPS, add
    # secure=True.
    cookie = set_cookie(
        "session", session_id,
        max_age=timedelta(hours=1),
        path=cookie_path(scope),
        http_only=True,
    )
    # 303 See Other: the browser follows with a GET, so a reload does not post
    # the form again.
    return 303, [(b"location", b"./"), cookie]


async def logout(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    info["sessions"].pop(request_cookies(scope).get("session"), None)
    expired = expire_cookie("session", path=cookie_path(scope))
    return 303, [(b"location", b"./"), expired]


app = Application(info={"sessions": {}})
app.http_router.add({"GET"}, "/", index)
app.http_router.add({"POST"}, "/login", login)
app.http_router.add({"POST"}, "/logout", logout)

if __name__ == "__main__":
    import uvicorn

    port = int(os.environ.get("PORT", "8000"))
    uvicorn.run(app, host="127.0.0.1", port=port)
