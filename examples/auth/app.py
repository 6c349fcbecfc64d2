"""Login, sessions and CSRF: signed cookies, and a bearer-token API."""

import asyncio
import base64
import hashlib
import hmac
import html
import math
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
# Inline, so that the file works alone: no stylesheet to serve.
STYLE = """<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font: 1.125rem/1.5 system-ui, sans-serif; color: #222;
         max-width: 22rem; margin: 3rem auto; padding: 0 1rem; }
  h1 { color: #00796b; font-size: 1.75rem; }
  label, input, button { display: block; width: 100%; }
  input, button { box-sizing: border-box; font: inherit;
                  padding: .5rem .75rem; border-radius: .375rem; }
  input { margin: .25rem 0 1rem; border: 1px solid #767676; }
  button { border: 0; color: #fff; background: #00796b; cursor: pointer; }
  button:hover, button:focus-visible { background: #005b4f; }
  #message { padding: .5rem .75rem; border-radius: .375rem;
             color: #8c1d18; background: #fdecea; }
  #message:empty { display: none; }
</style>"""
LOGIN_PAGE = """<!DOCTYPE html>
<html lang="en">
<title>Log in</title>
{style}
<h1>Log in</h1>
<p id="message" role="alert">{message}</p>
<form method="post" action="login">
  <input type="hidden" name="csrf" value="{csrf}">
  <label>Name
    <input name="name" value="{name}" required autocomplete="username">
  </label>
  <label>Password
    <input name="password" type="password" required
           autocomplete="current-password">
  </label>
  <button>Log in</button>
</form>
"""
HOME_PAGE = """<!DOCTYPE html>
<html lang="en">
<title>Welcome</title>
{style}
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


class Throttle:
    """Failed logins per user name, in this process's memory.

    After `limit` failures within `seconds` of the first, the name is
    refused until those seconds have passed. At most `size` names are
    kept: a client sending made-up names cannot fill the memory.
    """

    def __init__(self, limit: int, seconds: int, size: int) -> None:
        self.limit, self.seconds, self.size = limit, seconds, size
        # name -> (failures, when the first was), oldest first.
        self.failures: dict[str, tuple[int, float]] = {}

    def wait(self, name: str) -> int:
        """The seconds before `name` may try again: 0 if it may now."""
        count, since = self.failures.get(name, (0, 0.0))
        left = since + self.seconds - time.monotonic()
        return math.ceil(left) if count >= self.limit and left > 0 else 0

    def count(self, name: str) -> None:
        """Count a failure of `name`; `forget` takes it back."""
        now = time.monotonic()
        count, since = self.failures.get(name, (0, now))
        if now - since >= self.seconds:  # its time is over: start again
            del self.failures[name]
            count, since = 0, now
        if name not in self.failures:
            self.make_room(now)
        self.failures[name] = (count + 1, since)

    def make_room(self, now: float) -> None:
        """Drop the names whose time is over and, if still full, the oldest."""
        # The dictionary keeps the order the names came in: oldest first.
        while self.failures:
            oldest = next(iter(self.failures))
            over = now - self.failures[oldest][1] >= self.seconds
            if not over and len(self.failures) < self.size:
                break
            del self.failures[oldest]

    def forget(self, name: str) -> None:
        """Forget the failures of `name`: it has just logged in."""
        self.failures.pop(name, None)


# Five failures lock a name for five minutes from the first of them. With
# several processes, keep the counts in a store they share, such as Redis.
THROTTLE = Throttle(limit=5, seconds=5 * 60, size=10_000)


def too_many(wait: int) -> str:
    minutes = math.ceil(wait / 60)
    later = "a minute" if minutes == 1 else f"{minutes} minutes"
    return f"Too many failed logins for this name. Try again in {later}."


async def verify(name: str, password: str) -> bool:
    """Check a password, counting it as a failure until it is right."""
    # Counted before the check: guesses sent all at once all count.
    THROTTLE.count(name)
    # Hashing takes a while: a thread keeps other requests going.
    right = await asyncio.to_thread(check_password, name, password)
    if right:
        THROTTLE.forget(name)
    return right


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


def login_form(
    scope: Scope, status: int, name: str = "", message: str = "", wait: int = 0
) -> HttpResponse:
    """The login page, with a message; `wait` adds a Retry-After.

    The name typed comes back in its field, so that only the password is
    typed again. The password itself never comes back.
    """
    csrf, headers = csrf_token(scope)
    if wait:
        headers.append((b"retry-after", str(wait).encode()))
    # The name is whatever the client sent: escaped, it stays text.
    page = LOGIN_PAGE.format(
        style=STYLE, message=message, csrf=csrf, name=html.escape(name)
    )
    return text_response(status, headers, page)


async def login_page(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    return login_form(scope, 200)


async def login(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    form = await read_urlencoded(scope, content, max_size=4096)
    check_csrf(scope, form)
    name = form.get("name", "")
    password = form.get("password", "")
    # Refused before any hashing, known name or not: a flood costs little.
    wait = THROTTLE.wait(name)
    if wait:
        return login_form(scope, 429, name, too_many(wait), wait)
    if not await verify(name, password):
        return login_form(scope, 403, name, "Wrong name or password.")
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
    page = HOME_PAGE.format(style=STYLE, name=name, csrf=csrf)
    return text_response(200, headers, page)


async def issue_token(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    body = await json_reader(content, max_size=4096, scope=scope)
    name = body.get("name") if isinstance(body, dict) else None
    password = body.get("password") if isinstance(body, dict) else None
    if not isinstance(name, str) or not isinstance(password, str):
        error = {"error": "Send a JSON object with a name and a password."}
        return json_response(422, None, error)
    wait = THROTTLE.wait(name)
    if wait:
        retry = [(b"retry-after", str(wait).encode())]
        return json_response(429, retry, {"error": too_many(wait)})
    if not await verify(name, password):
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
