"""The auth example: logging in, sessions, CSRF, the bearer API, and attacks."""

import asyncio
import re
import time
from html.parser import HTMLParser
from urllib.parse import quote

import pytest

from bareasgi.testing import TestClient
from examples.auth import app as auth
from examples.auth.app import app

FORM = "application/x-www-form-urlencoded"
PASSWORD = "analytical%20engine"


@pytest.fixture(autouse=True)
def nobody_logged_out_and_no_failures():
    app.info["logged_out"].clear()
    auth.THROTTLE.failures.clear()


def cookie_value(response, name):
    for header in response.headers.get_all("set-cookie"):
        match = re.match(rf"{name}=([^;]*);", header)
        if match:
            return match.group(1)
    return None


class Browser:
    """A TestClient with a cookie jar, as a browser keeps one."""

    def __init__(self, root_path=""):
        self.client = TestClient(app, root_path=root_path)
        self.cookies = {}

    async def request(self, method, path, body=None, headers=None):
        sent = dict(headers or {})
        if self.cookies:
            sent["cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            sent.setdefault("content-type", FORM)
        response = await self.client.request(method, path, headers=sent, body=body)
        for name in ("csrf", "session"):
            value = cookie_value(response, name)
            if value == "":
                self.cookies.pop(name, None)
            elif value is not None:
                self.cookies[name] = value
        return response

    async def csrf(self, path="/login"):
        page = await self.request("GET", path)
        return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)

    async def log_in(self, name="ada", password=PASSWORD):
        token = await self.csrf()
        body = f"csrf={token}&name={name}&password={password}"
        return await self.request("POST", "/login", body)


def forged(purpose, name, issued_ns):
    value = f"{name}.{issued_ns}"
    return f"{value}.{auth.sign(purpose, value)}"


async def test_the_login_page_carries_a_csrf_token_bound_to_a_cookie():
    browser = Browser()
    response = await browser.request("GET", "/login")
    assert response.status == 200
    assert '<form method="post" action="login">' in response.text
    assert re.search(r'name="csrf" value="[\w-]{43}"', response.text)
    csrf_cookie = response.headers["set-cookie"]
    assert re.fullmatch(
        r"csrf=[\w-]+; Path=/; HttpOnly; SameSite=Lax", csrf_cookie
    )
    again = await browser.request("GET", "/login")
    assert "set-cookie" not in again.headers  # the browser has one now


async def test_logging_in_sets_a_signed_session_cookie_and_redirects_home():
    browser = Browser()
    response = await browser.log_in()
    assert response.status == 303
    assert response.headers["location"] == "./"
    cookie = response.headers["set-cookie"]
    assert re.fullmatch(
        r"session=ada\.\d+\.[\w-]{43}; Path=/; Max-Age=3600; HttpOnly; "
        r"SameSite=Lax",
        cookie,
    )
    page = await browser.request("GET", "/")
    assert page.status == 200
    assert "<h1>Hello, ada!</h1>" in page.text
    assert '<form method="post" action="logout">' in page.text


async def test_a_page_without_a_session_redirects_to_the_login_page():
    response = await TestClient(app).get("/")
    assert response.status == 303
    assert response.headers["location"] == "/login"


async def test_everything_works_under_a_prefix():
    browser = Browser(root_path="/try/auth")
    response = await browser.request("GET", "/")
    assert response.headers["location"] == "/try/auth/login"
    response = await browser.log_in()
    assert "Path=/try/auth/;" in response.headers["set-cookie"]
    assert (await browser.request("GET", "/")).status == 200


@pytest.mark.parametrize(
    ("name", "password"),
    [("ada", "wrong"), ("ada", ""), ("grace", PASSWORD), ("", "")],
)
async def test_a_wrong_name_or_password_is_refused(name, password):
    browser = Browser()
    response = await browser.log_in(name, password)
    assert response.status == 403
    assert "Wrong name or password." in response.text
    assert "session" not in browser.cookies
    assert (await browser.request("GET", "/")).status == 303


async def test_an_unknown_name_costs_a_hash_too(monkeypatch):
    hashed = []
    original = auth.hash_password
    monkeypatch.setattr(
        auth, "hash_password", lambda *args: hashed.append(1) or original(*args)
    )
    assert auth.check_password("nobody", "x") is False
    assert auth.check_password("ada", "x") is False
    assert hashed == [1, 1]


async def test_a_login_without_the_csrf_token_is_refused():
    browser = Browser()
    await browser.csrf()  # the cookie is there, the form field is not
    body = f"name=ada&password={PASSWORD}"
    response = await browser.request("POST", "/login", body)
    assert response.status == 403
    assert response.text == "The form is stale or forged: reload the page."
    assert "session" not in browser.cookies


async def test_a_csrf_token_from_another_browser_is_refused():
    attacker = Browser()
    token = await attacker.csrf()
    victim = Browser()
    await victim.csrf()
    body = f"csrf={token}&name=ada&password={PASSWORD}"
    response = await victim.request("POST", "/login", body)
    assert response.status == 403


async def test_a_csrf_token_without_its_cookie_is_refused():
    browser = Browser()
    token = await browser.csrf()
    browser.cookies.clear()
    body = f"csrf={token}&name=ada&password={PASSWORD}"
    response = await browser.request("POST", "/login", body)
    assert response.status == 403


async def test_the_login_form_token_no_longer_serves_once_logged_in():
    browser = Browser()
    old = await browser.csrf()
    await browser.log_in()
    response = await browser.request("POST", "/logout", f"csrf={old}")
    assert response.status == 403
    assert (await browser.request("GET", "/")).status == 200


@pytest.mark.parametrize(
    "session",
    [
        "ada",
        "garbage",
        "ada.1.x",
        "ada.1.é",
        # Ada's name replaced, her signature kept.
        "grace." + forged("session", "ada", time.time_ns()).partition(".")[2],
        # Signed for another purpose: an API token is not a session.
        forged("token", "ada", time.time_ns()),
    ],
)
async def test_a_forged_session_cookie_is_sent_to_the_login_page(session):
    client = TestClient(app)
    response = await client.get("/", headers={"cookie": f"session={session}"})
    assert response.status == 303
    assert response.headers["location"] == "/login"


async def test_an_expired_session_cookie_is_sent_to_the_login_page():
    hour_and_a_bit = (auth.SESSION_SECONDS + 1) * 10**9
    session = forged("session", "ada", time.time_ns() - hour_and_a_bit)
    response = await TestClient(app).get(
        "/", headers={"cookie": f"session={session}"}
    )
    assert response.status == 303


async def test_logging_out_expires_the_cookie_and_ends_the_session():
    browser = Browser()
    await browser.log_in()
    stolen = browser.cookies["session"]
    token = await browser.csrf("/")
    response = await browser.request("POST", "/logout", f"csrf={token}")
    assert response.status == 303
    assert response.headers["location"] == "login"
    assert response.headers["set-cookie"].startswith("session=; Path=/;")
    assert "session" not in browser.cookies
    # A copy of the cookie taken before the logout opens nothing.
    replay = await TestClient(app).get("/", headers={"cookie": f"session={stolen}"})
    assert replay.status == 303
    # Logging in again works.
    await browser.log_in()
    assert (await browser.request("GET", "/")).status == 200


async def test_logging_out_needs_the_csrf_token():
    browser = Browser()
    await browser.log_in()
    response = await browser.request("POST", "/logout", "csrf=nope")
    assert response.status == 403
    assert (await browser.request("GET", "/")).status == 200


async def test_logging_out_without_a_session_just_clears_the_cookie():
    browser = Browser()
    token = await browser.csrf()
    response = await browser.request("POST", "/logout", f"csrf={token}")
    assert response.status == 303


async def api_token(client, name="ada", password="analytical engine"):
    return await client.post(
        "/api/token", json={"name": name, "password": password}
    )


async def test_the_api_gives_a_bearer_token_for_a_name_and_password():
    client = TestClient(app)
    response = await api_token(client)
    assert response.status == 200
    assert response.headers["cache-control"] == "no-store"
    reply = response.json()
    assert reply["token_type"] == "Bearer"
    assert reply["expires_in"] == 900
    me = await client.get(
        "/api/me", headers={"authorization": f"Bearer {reply['access_token']}"}
    )
    assert (me.status, me.json()) == (200, {"name": "ada"})


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer",
        "Bearer nonsense",
        "Basic YWRhOmFuYWx5dGljYWwgZW5naW5l",
        f"Bearer {forged('session', 'ada', time.time_ns())}",
        f"Bearer {forged('token', 'ada', time.time_ns() - 901 * 10**9)}",
    ],
)
async def test_the_api_answers_401_without_a_valid_token(authorization):
    headers = {"authorization": authorization} if authorization else {}
    response = await TestClient(app).get("/api/me", headers=headers)
    assert response.status == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "valid token" in response.json()["error"]


async def test_a_wrong_password_gets_no_token():
    response = await api_token(TestClient(app), password="guess")
    assert response.status == 401
    assert response.json() == {"error": "Wrong name or password."}


@pytest.mark.parametrize("body", [[], {"name": "ada"}, {"name": 1, "password": "x"}])
async def test_a_token_request_without_name_and_password_is_a_422(body):
    response = await TestClient(app).post("/api/token", json=body)
    assert response.status == 422


async def test_a_token_request_that_is_not_json_is_refused():
    client = TestClient(app)
    assert (await client.post("/api/token", body="name=ada")).status == 415
    response = await client.post(
        "/api/token", headers={"content-type": "application/json"}, body="{"
    )
    assert response.status == 400


# Throttling: a name that failed five times is refused for five minutes.


async def fail_until_locked(browser, name="ada"):
    for _ in range(auth.THROTTLE.limit):
        assert (await browser.log_in(name, "guess")).status == 403


def started_ago(name, seconds):
    """Move the first failure of ``name`` back in time by ``seconds``."""
    count, since = auth.THROTTLE.failures[name]
    auth.THROTTLE.failures[name] = (count, since - seconds)


async def test_five_failures_lock_the_name_with_a_429_and_retry_after():
    browser = Browser()
    await fail_until_locked(browser)
    # Even the right password is refused now: it is not even checked.
    response = await browser.log_in()
    assert response.status == 429
    assert 290 <= int(response.headers["retry-after"]) <= 300
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    message = re.search(r'<p id="message" role="alert">(.*)</p>', response.text)
    assert message.group(1) == (
        "Too many failed logins for this name. Try again in 5 minutes."
    )
    assert '<form method="post" action="login">' in response.text
    assert "session" not in browser.cookies


async def test_the_lock_ends_when_its_time_is_over():
    browser = Browser()
    await fail_until_locked(browser)
    started_ago("ada", 270)
    response = await browser.log_in()
    assert response.status == 429
    assert 29 <= int(response.headers["retry-after"]) <= 30
    assert "Try again in a minute." in response.text
    started_ago("ada", 30)
    assert (await browser.log_in()).status == 303
    assert (await browser.request("GET", "/")).status == 200


async def test_failures_older_than_the_window_start_a_new_count():
    browser = Browser()
    for _ in range(auth.THROTTLE.limit - 1):
        await browser.log_in("ada", "guess")
    started_ago("ada", auth.THROTTLE.seconds)
    await browser.log_in("ada", "guess")
    assert auth.THROTTLE.failures["ada"][0] == 1


async def test_a_successful_login_resets_the_count():
    browser = Browser()
    for _ in range(auth.THROTTLE.limit - 1):
        await browser.log_in("ada", "guess")
    assert (await browser.log_in()).status == 303
    assert "ada" not in auth.THROTTLE.failures
    for _ in range(auth.THROTTLE.limit - 1):
        assert (await browser.log_in("ada", "guess")).status == 403
    assert (await browser.log_in()).status == 303


async def test_a_locked_name_does_not_lock_another():
    browser = Browser()
    await fail_until_locked(browser, "grace")
    assert (await browser.log_in("grace", PASSWORD)).status == 429
    assert (await browser.log_in()).status == 303
    await fail_until_locked(Browser(), "ada")
    assert (await Browser().log_in("grace2", "guess")).status == 403


async def test_a_known_and_an_unknown_name_are_locked_alike(monkeypatch):
    answers = []
    for name in ("ada", "nobody"):
        browser = Browser()
        await fail_until_locked(browser, name)
        hashed = []
        monkeypatch.setattr(auth, "hash_password", hashed.append)
        response = await browser.log_in(name, "guess")
        monkeypatch.undo()
        assert hashed == []  # refused before any hashing
        page = re.sub(r'value="[\w-]+"', "", response.text)
        answers.append((response.status, response.headers["retry-after"], page))
    assert answers[0] == answers[1]
    assert answers[0][0] == 429


async def test_the_api_is_locked_too_and_shares_the_count():
    client = TestClient(app)
    browser = Browser()
    for _ in range(auth.THROTTLE.limit - 2):
        await browser.log_in("ada", "guess")
    for _ in range(2):
        assert (await api_token(client, password="guess")).status == 401
    response = await api_token(client)
    assert response.status == 429
    assert 290 <= int(response.headers["retry-after"]) <= 300
    assert response.json() == {
        "error": "Too many failed logins for this name. Try again in 5 minutes."
    }
    assert (await browser.log_in()).status == 429


async def test_guesses_sent_at_once_are_all_counted():
    client = TestClient(app)
    guesses = [api_token(client, password=f"guess {n}") for n in range(10)]
    statuses = sorted(r.status for r in await asyncio.gather(*guesses))
    assert statuses == [401] * auth.THROTTLE.limit + [429] * 5


async def test_made_up_names_cannot_grow_the_table(monkeypatch):
    monkeypatch.setattr(auth, "THROTTLE", auth.Throttle(5, 300, size=3))
    browser = Browser()
    for n in range(6):
        await browser.log_in(f"user{n}", "guess")
    assert list(auth.THROTTLE.failures) == ["user3", "user4", "user5"]


def test_the_table_drops_names_whose_time_is_over_first():
    throttle = auth.Throttle(limit=5, seconds=300, size=3)
    for name in ("a", "b", "c"):
        throttle.count(name)
    count, since = throttle.failures["b"]
    throttle.failures["b"] = (count, since - 300)
    throttle.failures["a"] = (count, since - 300)
    throttle.count("d")
    assert list(throttle.failures) == ["c", "d"]
    for n in range(10_000):
        throttle.count(f"name{n}")
    assert len(throttle.failures) == 3


# After a failed login the form comes back with the name typed, never the
# password: the user retypes only the password.


class Form(HTMLParser):
    """The attributes of each ``<input>`` of a page, by name, and every tag."""

    def __init__(self, page):
        super().__init__()
        self.inputs = {}
        self.tags = []
        self.feed(page)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "input":
            attributes = dict(attrs)
            self.inputs[attributes["name"]] = attributes


async def test_the_empty_login_form_has_an_empty_name():
    response = await Browser().request("GET", "/login")
    inputs = Form(response.text).inputs
    assert inputs["name"]["value"] == ""
    assert "value" not in inputs["password"]


@pytest.mark.parametrize("name", ["ada", "grace", "Zoë O'Hara"])
async def test_a_wrong_password_gives_the_name_back_not_the_password(name):
    response = await Browser().log_in(quote(name), "s3cret-guess")
    assert response.status == 403
    inputs = Form(response.text).inputs
    assert inputs["name"]["value"] == name
    assert "value" not in inputs["password"]
    assert "s3cret-guess" not in response.text


async def test_a_locked_name_gives_the_name_back_not_the_password():
    browser = Browser()
    await fail_until_locked(browser)
    response = await browser.log_in()
    assert response.status == 429
    inputs = Form(response.text).inputs
    assert inputs["name"]["value"] == "ada"
    assert "value" not in inputs["password"]
    assert "analytical" not in response.text


HOSTILE = '"><script>alert(1)</script><input name="x'


async def test_a_hostile_name_comes_back_as_text_not_markup():
    browser = Browser()
    response = await browser.log_in(quote(HOSTILE), "guess")
    assert response.status == 403
    assert (
        'value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;'
        '&lt;input name=&quot;x"'
    ) in response.text
    form = Form(response.text)
    assert form.inputs["name"]["value"] == HOSTILE
    assert "script" not in form.tags
    assert set(form.inputs) == {"csrf", "name", "password"}
    # The lock answers with the same escaped name.
    for _ in range(auth.THROTTLE.limit - 1):
        assert (await browser.log_in(quote(HOSTILE), "guess")).status == 403
    response = await browser.log_in(quote(HOSTILE), "guess")
    assert response.status == 429
    assert Form(response.text).inputs["name"]["value"] == HOSTILE
    assert "<script>" not in response.text
