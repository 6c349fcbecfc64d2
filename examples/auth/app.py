"""Login, sessions and CSRF: signed cookies, and a bearer-token API."""

import asyncio
import base64
import hashlib
import hmac
import html
import os
import secrets
import time

from bareasgi import (
    Application,
    Content,
    Headers,
    HttpChainedCallback,
    HTTPError,
    HttpResponse,
    Info,
    RouteMatches,
    Scope,
    json_reader,
    json_response,
    mw,
    text_response,
)
from bareasgi.cookies import expire_cookie, request_cookies, set_cookie
from bareasgi.forms import FormData, read_urlencoded
from bareasgi.headers import request_header

# The key that signs sessions and tokens. Set AUTH_SECRET so that they
# outlive a restart and work in every process; else each start makes one.
SECRET = os.environ.get("AUTH_SECRET", "").encode() or secrets.token_bytes(32)
SESSION_SECONDS = 60 * 60
TOKEN_SECONDS = 15 * 60
HTML = [(b"content-type", b"text/html; charset=utf-8")]
LOGIN_PAGE = """<!DOCTYPE html>
<title>Log in</title>
<h1>Log in</h1>
<p id="message" role="alert">{message}</p>
<form method="post" action="login">
  <input type="hidden" name="csrf" value="{csrf}">
  <label>Name <input name="name" autocomplete="username" required></label>
  <label>Password
    <input name="password" type="password" required
           autocomplete="current-password">
  </label>
  <button>Log in</button>
</form>
"""
HOME_PAGE = """<!DOCTYPE html>
<title>Welcome</title>
<h1>Hello, {name}!</h1>
<p>Only a logged-in user sees this page.</p>
<form method="post" action="logout">
  <input type="hidden" name="csrf" value="{csrf}">
  <button>Log out</button>
</form>
"""


def hash_password(password: str, salt: bytes) -> bytes:
    # scrypt is slow and needs memory on purpose: each guess costs as much.
    return hashlib.scrypt(
        password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32
    )


def new_user(password: str) -> tuple[bytes, bytes]:
    salt = secrets.token_bytes(16)
    return salt, hash_password(password, salt)


# Each user's salt and hash: the password itself is never kept.
USERS = {"ada": new_user("analytical engine")}
# An unknown name is checked against this, so that it takes as long.
NOBODY = new_user(secrets.token_urlsafe())


def check_password(name: str, password: str) -> bool:
    salt, expected = USERS.get(name, NOBODY)
    # compare_digest takes as long wherever the first difference is.
    same = hmac.compare_digest(hash_password(password, salt), expected)
    return same and name in USERS


def sign(purpose: str, value: str) -> str:
    # The purpose is signed too: a session cookie is not an API token.
    message = f"{purpose}:{value}".encode()
    digest = hmac.new(SECRET, message, "sha256").digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def make_ticket(purpose: str, name: str) -> str:
    """The user's name and the time now, signed."""
    value = f"{name}.{time.time_ns()}"
    return f"{value}.{sign(purpose, value)}"


def read_ticket(
    purpose: str, ticket: str, lifetime: int, info: Info
) -> str | None:
    """The user a ticket names, or None: forged, expired or logged out."""
    value, _, signature = ticket.rpartition(".")
    if not hmac.compare_digest(
        signature.encode(), sign(purpose, value).encode()
    ):
        return None
    name, _, issued_at = value.partition(".")
    issued = int(issued_at)
    if time.time_ns() > issued + lifetime * 10**9:
        return None
    # Logging out ends every session of the user issued before it.
    if issued < info["logged_out"].get(name, 0):
        return None
    return name


def cookie_path(scope: Scope) -> str:
    # The cookies go back to this application only, wherever it is mounted.
    return f"{scope.get('root_path', '')}/"


def csrf_token(scope: Scope) -> tuple[str, Headers]:
    """The token a form carries, and a cookie to set if the browser has none.

    It signs a random value held in a cookie, and the session: another
    site can make the browser post, but cannot read the token.
    """
    cookies = request_cookies(scope)
    nonce = cookies.get("csrf")
    headers = list(HTML)
    if not nonce:
        nonce = secrets.token_urlsafe(16)
        headers.append(
            set_cookie("csrf", nonce, path=cookie_path(scope), http_only=True)
        )
    token = sign("csrf", f"{nonce}.{cookies.get('session', '')}")
    return token, headers


def check_csrf(scope: Scope, form: FormData[str]) -> None:
    expected, _ = csrf_token(scope)
    sent = form.get("csrf", "")
    if not hmac.compare_digest(sent.encode(), expected.encode()):
        raise HTTPError(403, "The form is stale or forged: reload the page.")


async def login_page_required(
    scope: Scope,
    info: Info,
    matches: RouteMatches,
    content: Content,
    handler: HttpChainedCallback,
) -> HttpResponse:
    """Middleware for pages: without a valid session, go and log in."""
    session = request_cookies(scope).get("session", "")
    name = read_ticket("session", session, SESSION_SECONDS, info)
    if name is None:
        login = scope.get("root_path", "") + "/login"
        return 303, [(b"location", login.encode())]
    scope["user"] = name
    return await handler(scope, info, matches, content)


async def token_required(
    scope: Scope,
    info: Info,
    matches: RouteMatches,
    content: Content,
    handler: HttpChainedCallback,
) -> HttpResponse:
    """Middleware for the API: without a valid bearer token, a 401."""
    header = request_header(scope, b"authorization") or b""
    scheme, _, token = header.decode("latin-1").partition(" ")
    name = None
    if scheme.lower() == "bearer":
        name = read_ticket("token", token, TOKEN_SECONDS, info)
    if name is None:
        challenge = [(b"www-authenticate", b"Bearer")]
        error = {"error": "Send a valid token: Authorization: Bearer ..."}
        return json_response(401, challenge, error)
    scope["user"] = name
    return await handler(scope, info, matches, content)


async def login_page(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    csrf, headers = csrf_token(scope)
    page = LOGIN_PAGE.format(message="", csrf=csrf)
    return text_response(200, headers, page)


async def login(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    form = await read_urlencoded(scope, content, max_size=4096)
    check_csrf(scope, form)
    name = form.get("name", "")
    # Hashing takes a while: a thread keeps other requests going.
    password = form.get("password", "")
    if not await asyncio.to_thread(check_password, name, password):
        csrf, headers = csrf_token(scope)
        page = LOGIN_PAGE.format(message="Wrong name or password.", csrf=csrf)
        return text_response(403, headers, page)
    session = set_cookie(
        "session",
        make_ticket("session", name),
        max_age=SESSION_SECONDS,
        path=cookie_path(scope),
        http_only=True,
        secure=scope.get("scheme") == "https",
    )
    return 303, [(b"location", b"./"), session]


async def logout(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    form = await read_urlencoded(scope, content, max_size=4096)
    check_csrf(scope, form)
    session = request_cookies(scope).get("session", "")
    name = read_ticket("session", session, SESSION_SECONDS, info)
    if name is not None:
        info["logged_out"][name] = time.time_ns()
    gone = expire_cookie("session", path=cookie_path(scope))
    return 303, [(b"location", b"login"), gone]


async def home(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    csrf, headers = csrf_token(scope)
    name = html.escape(scope["user"])
    return text_response(200, headers, HOME_PAGE.format(name=name, csrf=csrf))


async def issue_token(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    body = await json_reader(content, max_size=4096, scope=scope)
    name = body.get("name") if isinstance(body, dict) else None
    password = body.get("password") if isinstance(body, dict) else None
    if not isinstance(name, str) or not isinstance(password, str):
        error = {"error": "Send a JSON object with a name and a password."}
        return json_response(422, None, error)
    if not await asyncio.to_thread(check_password, name, password):
        challenge = [(b"www-authenticate", b"Bearer")]
        error = {"error": "Wrong name or password."}
        return json_response(401, challenge, error)
    token = make_ticket("token", name)
    reply = {"access_token": token, "token_type": "Bearer",
             "expires_in": TOKEN_SECONDS}
    return json_response(200, [(b"cache-control", b"no-store")], reply)


async def me(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    return json_response(200, None, {"name": scope["user"]})


app = Application(info={"logged_out": {}})
app.http_router.add(
    {"GET", "HEAD"}, "/", mw(login_page_required, handler=home)
)
app.http_router.add({"GET", "HEAD"}, "/login", login_page)
app.http_router.add({"POST"}, "/login", login)
app.http_router.add({"POST"}, "/logout", logout)
app.http_router.add({"POST"}, "/api/token", issue_token)
app.http_router.add(
    {"GET", "HEAD"}, "/api/me", mw(token_required, handler=me)
)

if __name__ == "__main__":
    import uvicorn

    port = int(os.environ.get("PORT", "8000"))
    uvicorn.run(app, host="127.0.0.1", port=port)
