"""The CORS extra: preflights answered by the middleware, CORS headers on every response."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bareasgi import Application, HTTPError, bytes_reader, mw, text_response
from bareasgi.cors import CORSMiddleware
from bareasgi.testing import TestClient
from tests.fuzzing import property_settings

SITE = "https://site.example"
OTHER = "https://other.example"


def app_with(cors: CORSMiddleware, calls: list[str] | None = None) -> Application:
    """An application with the CORS middleware and a GET /items route that records its calls."""
    seen = calls if calls is not None else []

    async def items(scope: Any, info: Any, matches: Any, content: Any) -> Any:
        seen.append(scope["method"])
        return text_response(200, None, "items")

    async def broken(scope: Any, info: Any, matches: Any, content: Any) -> Any:
        raise HTTPError(409, "It clashes.")

    app = Application(middlewares=[cors])
    app.http_router.add({"GET", "PUT"}, "/items", items)
    app.http_router.add({"GET"}, "/broken", broken)
    return app


def preflight(origin: str, method: str = "PUT", headers: str | None = None) -> dict[str, str]:
    request = {"origin": origin, "access-control-request-method": method}
    if headers is not None:
        request["access-control-request-headers"] = headers
    return request


# Configuration ----------------------------------------------------------------------------------


def test_a_regex_that_does_not_compile_is_a_value_error_naming_it():
    with pytest.raises(ValueError, match=re.escape("allow_origin_regex 'https://(a") + ".*valid"):
        CORSMiddleware(allow_origin_regex="https://(a")


def test_a_bytes_regex_is_a_type_error():
    with pytest.raises(TypeError, match="str pattern"):
        CORSMiddleware(allow_origin_regex=re.compile(b"x"))  # type: ignore[arg-type]


def test_an_origin_with_a_path_is_a_value_error_suggesting_the_bare_origin():
    with pytest.raises(ValueError, match=r"has a path.*'http://localhost:8000'"):
        CORSMiddleware(allow_origins=["http://localhost:8000/"])


def test_a_wildcard_inside_an_origin_points_to_the_regex_argument():
    with pytest.raises(ValueError, match="allow_origin_regex"):
        CORSMiddleware(allow_origins=["https://*.example.com"])


@pytest.mark.parametrize("origin", ["example.com", "", "https://", "https://a b.example"])
def test_something_that_is_not_an_origin_is_a_value_error(origin):
    with pytest.raises(ValueError, match="is not an origin"):
        CORSMiddleware(allow_origins=[origin])


@pytest.mark.parametrize(
    ("argument", "value"),
    [("allow_methods", ["GE T"]), ("allow_headers", ["x token"]), ("expose_headers", ["a:b"])],
)
def test_a_name_that_is_not_an_http_token_is_a_value_error(argument, value):
    with pytest.raises(ValueError, match=f"{argument}: .* is not a valid HTTP"):
        CORSMiddleware(**{argument: value})


def test_exposing_every_header_with_credentials_is_a_value_error():
    with pytest.raises(ValueError, match="list the headers to expose"):
        CORSMiddleware(allow_origins=[SITE], allow_credentials=True, expose_headers="*")


@pytest.mark.parametrize(
    ("max_age", "error"), [(-1, ValueError), (1.5, TypeError), (True, TypeError), ("60", TypeError)]
)
def test_a_max_age_that_is_not_a_count_of_seconds_is_refused(max_age, error):
    with pytest.raises(error, match="max_age"):
        CORSMiddleware(max_age=max_age)


@pytest.mark.parametrize("origins", ["*", ["*"], [SITE, "*"]])
def test_credentials_with_every_origin_is_refused_at_construction(origins):
    # Every site could then read answers made with its visitors' cookies.
    with pytest.raises(ValueError, match=r"allow_credentials=True.*list the origins"):
        CORSMiddleware(allow_origins=origins, allow_credentials=True)


@pytest.mark.parametrize("origin", ["null", "NULL"])
def test_the_null_origin_is_refused_at_construction(origin):
    # Sandboxed frames, local files and redirected requests all send "null": any site can.
    with pytest.raises(ValueError, match="null"):
        CORSMiddleware(allow_origins=[origin])


@pytest.mark.parametrize("credentials", [False, True])
async def test_the_null_origin_is_never_echoed_even_by_a_pattern_matching_it(credentials):
    cors = CORSMiddleware(allow_origin_regex=r".*", allow_credentials=credentials)
    assert not cors.allows_origin("null")
    client = TestClient(app_with(cors))
    response = await client.get("/items", headers={"origin": "null"})
    assert "access-control-allow-origin" not in response.headers
    response = await client.options("/items", headers=preflight("null", "GET"))
    assert "access-control-allow-origin" not in response.headers


async def test_every_origin_without_credentials_answers_null_with_a_star_not_an_echo():
    cors = CORSMiddleware(allow_origins="*")
    response = await TestClient(app_with(cors)).get("/items", headers={"origin": "null"})
    assert response.headers["access-control-allow-origin"] == "*"


def test_a_single_string_is_one_origin_not_its_letters():
    cors = CORSMiddleware(allow_origins=SITE)
    assert cors.allows_origin(SITE)
    assert not cors.allows_origin("h")


def test_configured_origins_ignore_case():
    assert CORSMiddleware(allow_origins=["HTTP://LocalHost:8000"]).allows_origin(
        "http://localhost:8000"
    )


def test_allows_origin_takes_str_or_bytes():
    cors = CORSMiddleware(allow_origin_regex=r"https://[a-z]+\.example")
    assert cors.allows_origin(SITE)
    assert cors.allows_origin(SITE.encode())
    assert not cors.allows_origin("https://site.example.org")


def test_import_bareasgi_does_not_load_the_extra():
    code = "import sys, bareasgi; sys.exit('bareasgi.cors' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# Preflight requests -----------------------------------------------------------------------------


async def test_a_preflight_for_a_path_without_an_options_route_is_answered():
    calls: list[str] = []
    cors = CORSMiddleware(allow_origins=[SITE], allow_methods=["GET", "PUT"], max_age=300)
    response = await TestClient(app_with(cors, calls)).options(
        "/items", headers=preflight(SITE, "PUT", "Content-Type")
    )
    assert response.status == 204
    assert response.body == b""
    assert response.headers["access-control-allow-origin"] == SITE
    assert response.headers["access-control-allow-methods"] == "GET, PUT"
    assert "content-type" in response.headers["access-control-allow-headers"].split(", ")
    assert response.headers["access-control-max-age"] == "300"
    assert response.headers["vary"] == "Origin"
    assert "access-control-allow-credentials" not in response.headers
    assert calls == []


async def test_a_preflight_for_an_unknown_path_is_answered_too():
    cors = CORSMiddleware(allow_origins=[SITE])
    response = await TestClient(app_with(cors)).options("/nowhere", headers=preflight(SITE, "GET"))
    assert response.status == 204
    assert response.headers["access-control-allow-origin"] == SITE


async def test_a_preflight_never_reaches_an_options_route():
    calls: list[str] = []

    async def options(scope: Any, info: Any, matches: Any, content: Any) -> Any:
        calls.append("options")
        return 200

    app = Application(middlewares=[CORSMiddleware(allow_origins=[SITE])])
    app.http_router.add({"OPTIONS"}, "/", options)
    response = await TestClient(app).options("/", headers=preflight(SITE, "POST"))
    assert response.status == 204
    assert calls == []


async def test_a_preflight_is_sent_as_one_start_and_one_empty_final_body():
    cors = CORSMiddleware(allow_origins=[SITE])
    response = await TestClient(app_with(cors)).options("/items", headers=preflight(SITE, "GET"))
    start, body = response.messages
    assert (start["type"], start["status"]) == ("http.response.start", 204)
    assert body == {"type": "http.response.body", "body": b"", "more_body": False}


async def test_a_preflight_from_an_unknown_origin_is_a_400_naming_it():
    cors = CORSMiddleware(allow_origins=[SITE])
    response = await TestClient(app_with(cors)).options("/items", headers=preflight(OTHER, "GET"))
    assert response.status == 400
    assert response.text == f"CORS preflight refused: the origin {OTHER!r} is not allowed.\n"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert "access-control-allow-origin" not in response.headers
    assert response.headers["vary"] == "Origin"


async def test_a_preflight_for_a_method_not_allowed_is_a_400_naming_it():
    cors = CORSMiddleware(allow_origins=[SITE])  # GET, HEAD, POST by default
    response = await TestClient(app_with(cors)).options("/items", headers=preflight(SITE, "PUT"))
    assert response.status == 400
    assert response.text == "CORS preflight refused: the method 'PUT' is not allowed.\n"
    # The origin is allowed, so a browser's console reports the method, not the origin.
    assert response.headers["access-control-allow-origin"] == SITE


async def test_a_preflight_for_headers_not_allowed_is_a_400_naming_them():
    cors = CORSMiddleware(allow_origins=[SITE], allow_headers=["x-one"])
    client = TestClient(app_with(cors))
    response = await client.options("/items", headers=preflight(SITE, "GET", "X-One, X-Two"))
    assert response.status == 400
    assert response.text == "CORS preflight refused: the header 'x-two' is not allowed.\n"
    response = await client.options("/items", headers=preflight(SITE, "GET", "x-two,x-three"))
    assert response.text == (
        "CORS preflight refused: the headers 'x-two', 'x-three' are not allowed.\n"
    )


async def test_a_preflight_lists_every_problem_at_once():
    cors = CORSMiddleware(allow_origins=[SITE])
    response = await TestClient(app_with(cors)).options(
        "/items", headers=preflight(OTHER, "DELETE", "x-token")
    )
    assert response.status == 400
    assert response.text == (
        f"CORS preflight refused: the origin {OTHER!r} is not allowed; the method 'DELETE' is "
        "not allowed; the header 'x-token' is not allowed.\n"
    )


async def test_a_long_refused_value_is_cut_short_in_the_message():
    cors = CORSMiddleware(allow_origins=[SITE])
    response = await TestClient(app_with(cors)).options(
        "/items", headers=preflight("https://" + "a" * 500 + ".example", "GET")
    )
    assert response.status == 400
    assert "a" * 100 not in response.text
    assert "...'" in response.text


async def test_safelisted_request_headers_need_no_configuration():
    cors = CORSMiddleware(allow_origins=[SITE])
    headers = preflight(SITE, "POST", "Accept, Accept-Language, Content-Language, Content-Type")
    response = await TestClient(app_with(cors)).options("/items", headers=headers)
    assert response.status == 204


async def test_allowed_headers_ignore_case():
    cors = CORSMiddleware(allow_origins=[SITE], allow_headers=["X-Token"])
    response = await TestClient(app_with(cors)).options(
        "/items", headers=preflight(SITE, "GET", "x-TOKEN")
    )
    assert response.status == 204
    assert "x-token" in response.headers["access-control-allow-headers"].split(", ")


async def test_any_header_echoes_the_requested_ones_authorization_included():
    cors = CORSMiddleware(allow_origins=[SITE], allow_headers="*")
    response = await TestClient(app_with(cors)).options(
        "/items", headers=preflight(SITE, "GET", "Authorization, X-Trace")
    )
    assert response.status == 204
    assert response.headers["access-control-allow-headers"] == "authorization, x-trace"
    assert response.headers["vary"] == "Origin, Access-Control-Request-Headers"


async def test_any_method_echoes_the_requested_one():
    cors = CORSMiddleware(allow_origins=[SITE], allow_methods="*")
    response = await TestClient(app_with(cors)).options(
        "/items", headers=preflight(SITE, "PROPFIND")
    )
    assert response.status == 204
    assert response.headers["access-control-allow-methods"] == "PROPFIND"
    assert response.headers["vary"] == "Origin, Access-Control-Request-Method"


async def test_every_origin_without_credentials_answers_a_literal_star_without_vary():
    cors = CORSMiddleware(allow_origins="*")
    response = await TestClient(app_with(cors)).options("/items", headers=preflight(OTHER, "GET"))
    assert response.status == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert "vary" not in response.headers


async def test_a_pattern_with_credentials_echoes_the_origin_never_a_star():
    cors = CORSMiddleware(allow_origin_regex=r"https?://.*", allow_credentials=True)
    response = await TestClient(app_with(cors)).options("/items", headers=preflight(OTHER, "GET"))
    assert response.status == 204
    assert response.headers["access-control-allow-origin"] == OTHER
    assert response.headers["access-control-allow-credentials"] == "true"
    assert response.headers["vary"] == "Origin"


async def test_no_max_age_sends_no_max_age_header():
    cors = CORSMiddleware(allow_origins=[SITE], max_age=None)
    response = await TestClient(app_with(cors)).options("/items", headers=preflight(SITE, "GET"))
    assert response.status == 204
    assert "access-control-max-age" not in response.headers


async def test_an_options_request_without_a_requested_method_is_no_preflight():
    cors = CORSMiddleware(allow_origins=[SITE])
    response = await TestClient(app_with(cors)).options("/items", headers={"origin": SITE})
    assert response.status == 405  # the router's answer, with CORS headers on it
    assert response.headers["allow"] == "GET, HEAD, PUT"
    assert response.headers["access-control-allow-origin"] == SITE


async def test_an_options_request_without_an_origin_is_no_preflight():
    cors = CORSMiddleware(allow_origins=[SITE])
    response = await TestClient(app_with(cors)).options(
        "/items", headers={"access-control-request-method": "GET"}
    )
    assert response.status == 405


# Actual requests --------------------------------------------------------------------------------


async def test_a_request_from_an_allowed_origin_gets_it_echoed_with_vary():
    calls: list[str] = []
    cors = CORSMiddleware(allow_origins=[SITE, OTHER])
    response = await TestClient(app_with(cors, calls)).get("/items", headers={"origin": SITE})
    assert (response.status, response.text) == (200, "items")
    assert response.headers["access-control-allow-origin"] == SITE
    assert response.headers["vary"] == "Origin"
    assert calls == ["GET"]


async def test_a_request_from_another_origin_is_answered_without_cors_headers():
    calls: list[str] = []
    cors = CORSMiddleware(allow_origins=[SITE], allow_credentials=True, expose_headers=["x-a"])
    response = await TestClient(app_with(cors, calls)).put("/items", headers={"origin": OTHER})
    # Not refused: browsers send Origin on same-origin writes too. The browser hides it.
    assert (response.status, response.text) == (200, "items")
    assert calls == ["PUT"]
    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-credentials" not in response.headers
    assert "access-control-expose-headers" not in response.headers
    assert response.headers["vary"] == "Origin"


async def test_a_request_without_an_origin_only_gets_vary():
    cors = CORSMiddleware(allow_origins=[SITE])
    response = await TestClient(app_with(cors)).get("/items")
    assert response.text == "items"
    assert response.headers["vary"] == "Origin"
    assert "access-control-allow-origin" not in response.headers


async def test_every_origin_without_credentials_puts_a_star_on_every_response():
    cors = CORSMiddleware(allow_origins="*", expose_headers=["x-total"])
    client = TestClient(app_with(cors))
    for headers in ({"origin": OTHER}, {}):
        response = await client.get("/items", headers=headers)
        assert response.headers["access-control-allow-origin"] == "*"
        assert response.headers["access-control-expose-headers"] == "x-total"
        assert "vary" not in response.headers


async def test_credentials_echo_the_origin_and_say_true():
    cors = CORSMiddleware(allow_origins=[SITE, OTHER], allow_credentials=True)
    response = await TestClient(app_with(cors)).get("/items", headers={"origin": OTHER})
    assert response.headers["access-control-allow-origin"] == OTHER
    assert response.headers["access-control-allow-credentials"] == "true"
    assert response.headers["vary"] == "Origin"


async def test_exposed_headers_are_listed_on_allowed_responses():
    cors = CORSMiddleware(allow_origins=[SITE], expose_headers=["X-Total", "ETag"])
    response = await TestClient(app_with(cors)).get("/items", headers={"origin": SITE})
    assert response.headers["access-control-expose-headers"] == "X-Total, ETag"


@pytest.mark.parametrize(("path", "status"), [("/broken", 409), ("/nowhere", 404)])
async def test_error_responses_get_cors_headers(path, status):
    cors = CORSMiddleware(allow_origins=[SITE])
    response = await TestClient(app_with(cors)).get(path, headers={"origin": SITE})
    assert response.status == status
    assert response.headers["access-control-allow-origin"] == SITE


async def test_a_method_not_allowed_gets_cors_headers():
    cors = CORSMiddleware(allow_origins=[SITE])
    response = await TestClient(app_with(cors)).delete("/items", headers={"origin": SITE})
    assert response.status == 405
    assert response.headers["access-control-allow-origin"] == SITE


async def test_an_unhandled_exception_is_a_500_with_cors_headers(caplog):
    async def crash(scope: Any, info: Any, matches: Any, content: Any) -> Any:
        raise RuntimeError("boom")

    app = Application(middlewares=[CORSMiddleware(allow_origins=[SITE])])
    app.http_router.add({"GET"}, "/", crash)
    response = await TestClient(app).get("/", headers={"origin": SITE})
    assert (response.status, response.text) == (500, "Internal Server Error")
    # The browser sees the 500 itself, not a CORS failure hiding it.
    assert response.headers["access-control-allow-origin"] == SITE
    assert "boom" in caplog.text and "crash" in caplog.text


@pytest.mark.parametrize(
    ("existing", "expected"),
    [
        ([(b"Vary", b"Accept-Encoding")], ["Accept-Encoding, Origin"]),
        ([(b"vary", b"origin")], ["origin"]),
        ([(b"vary", b"*")], ["*"]),
        ([(b"vary", b"Accept"), (b"vary", b"Cookie")], ["Accept, Cookie, Origin"]),
    ],
)
async def test_vary_is_merged_with_the_handlers(existing, expected):
    async def handler(scope: Any, info: Any, matches: Any, content: Any) -> Any:
        return 200, existing

    app = Application(middlewares=[CORSMiddleware(allow_origins=[SITE])])
    app.http_router.add({"GET"}, "/", handler)
    response = await TestClient(app).get("/", headers={"origin": SITE})
    assert response.headers.get_all("vary") == expected


async def test_the_cors_headers_replace_the_handlers_and_leave_its_list_alone():
    shared = [(b"Access-Control-Allow-Origin", b"https://stale.example"), (b"x-kept", b"1")]

    async def handler(scope: Any, info: Any, matches: Any, content: Any) -> Any:
        return 200, shared

    app = Application(middlewares=[CORSMiddleware(allow_origins=[SITE])])
    app.http_router.add({"GET"}, "/", handler)
    response = await TestClient(app).get("/", headers={"origin": SITE})
    assert response.headers.get_all("access-control-allow-origin") == [SITE]
    assert response.headers["x-kept"] == "1"
    assert shared == [(b"Access-Control-Allow-Origin", b"https://stale.example"), (b"x-kept", b"1")]


async def test_a_streamed_body_passes_through_untouched():
    async def chunks() -> Any:
        yield b"one "
        yield b"two"

    async def handler(scope: Any, info: Any, matches: Any, content: Any) -> Any:
        return 200, [(b"content-type", b"text/plain")], chunks()

    app = Application(middlewares=[CORSMiddleware(allow_origins=[SITE])])
    app.http_router.add({"GET"}, "/", handler)
    response = await TestClient(app).get("/", headers={"origin": SITE})
    assert response.text == "one two"
    assert response.headers["access-control-allow-origin"] == SITE


# Origins matched by a regular expression --------------------------------------------------------


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("http://127.0.0.1:8000", True),
        ("http://127.0.0.1", True),
        ("http://127.0.0.1:8000.evil.example", False),  # the whole origin must match
        ("http://127.0.0.1.evil.example", False),
        ("https://127.0.0.1:8000", False),
    ],
)
async def test_the_regex_must_match_the_whole_origin(origin, allowed):
    cors = CORSMiddleware(allow_origin_regex=r"http://127\.0\.0\.1(:\d+)?")
    response = await TestClient(app_with(cors)).get("/items", headers={"origin": origin})
    assert response.headers.get("access-control-allow-origin") == (origin if allowed else None)


async def test_a_compiled_regex_is_accepted_beside_a_list():
    cors = CORSMiddleware(allow_origins=[SITE], allow_origin_regex=re.compile(r"http://localhost"))
    client = TestClient(app_with(cors))
    for origin in (SITE, "http://localhost"):
        response = await client.get("/items", headers={"origin": origin})
        assert response.headers["access-control-allow-origin"] == origin


async def test_a_repeated_origin_header_is_never_echoed():
    cors = CORSMiddleware(allow_origin_regex=r".*")
    headers = [(b"origin", SITE.encode()), (b"origin", OTHER.encode())]
    response = await TestClient(app_with(cors)).get("/items", headers=headers)
    assert "access-control-allow-origin" not in response.headers


# A route-local CORS middleware ------------------------------------------------------------------


async def test_around_one_route_it_answers_preflights_if_the_route_takes_options():
    cors = CORSMiddleware(allow_origins=[SITE], allow_methods=["PUT"])

    async def save(scope: Any, info: Any, matches: Any, content: Any) -> Any:
        return 204

    app = Application()
    app.http_router.add({"PUT", "OPTIONS"}, "/save", mw(cors, handler=save))
    client = TestClient(app)
    response = await client.options("/save", headers=preflight(SITE, "PUT"))
    assert response.status == 204
    assert response.headers["access-control-allow-methods"] == "PUT"
    response = await client.put("/save", headers={"origin": SITE})
    assert response.status == 204
    assert response.headers["access-control-allow-origin"] == SITE


# Found by mutation testing (make mutation): each of these once let a mutant live.


async def test_the_handler_behind_gets_the_info_matches_and_body_unchanged():
    seen = []
    app = Application(middlewares=[CORSMiddleware(allow_origins=[SITE])], info={"k": 1})

    @app.on_http_request({"POST"}, "/items/{id:int}")
    async def item(scope, info, matches, content):
        seen.append((info, matches, await bytes_reader(content)))
        return 204

    response = await TestClient(app).post("/items/7", headers={"origin": SITE}, body=b"data")
    assert response.status == 204
    assert seen == [({"k": 1}, {"id": 7}, b"data")]


async def test_a_preflight_is_cached_for_600_seconds_unless_told_and_0_is_allowed():
    for options, expected in (({}, "600"), ({"max_age": 0}, "0")):
        cors = CORSMiddleware(allow_origins=[SITE], **options)
        response = await TestClient(app_with(cors)).options(
            "/items", headers=preflight(SITE, "GET")
        )
        assert response.headers["access-control-max-age"] == expected


@pytest.mark.parametrize("vary", [b"x-a,origin", b"X-A , Origin", b"origin"])
async def test_an_origin_already_in_vary_is_not_added_twice(vary):
    cors = CORSMiddleware(allow_origins=[SITE])
    app = Application(middlewares=[cors])

    @app.on_http_request({"GET"}, "/v")
    async def varied(scope, info, matches, content):
        return 200, [(b"vary", vary)], None

    response = await TestClient(app).get("/v", headers={"origin": SITE})
    assert response.headers.get_all("vary") == [vary.decode()]


@pytest.mark.parametrize("origins", ["*", [SITE]])
async def test_the_handlers_own_headers_stay_whatever_the_origin(origins):
    app = Application(middlewares=[CORSMiddleware(allow_origins=origins)])

    @app.on_http_request({"GET"}, "/h")
    async def tagged(scope, info, matches, content):
        return 200, [(b"x-own", b"1")], None

    for origin in (SITE, OTHER):
        response = await TestClient(app).get("/h", headers={"origin": origin})
        assert response.headers["x-own"] == "1"


async def test_any_header_allowed_still_refuses_names_that_are_not_tokens():
    cors = CORSMiddleware(allow_origins=[SITE], allow_headers="*")
    response = await TestClient(app_with(cors)).options(
        "/items", headers=preflight(SITE, "GET", "x-a, bad name")
    )
    assert response.status == 400
    assert "'bad name' is not allowed" in response.text
    assert "access-control-allow-headers" not in response.headers
    assert response.headers["vary"] == "Origin"


async def test_a_refused_preflight_keeps_only_the_origin_and_credentials_headers():
    # Enough for a browser's console to report the real problem (the 400), and no
    # methods or headers granted by a refusal.
    cors = CORSMiddleware(allow_origins=[SITE], allow_credentials=True)
    response = await TestClient(app_with(cors)).options("/items", headers=preflight(SITE, "PUT"))
    assert response.status == 400
    assert sorted(name.decode() for name, _ in response.headers.raw) == [
        "access-control-allow-credentials",
        "access-control-allow-origin",
        "content-length",
        "content-type",
        "vary",
    ]
    assert response.headers["access-control-allow-credentials"] == "true"


async def test_a_refused_preflight_lists_every_request_header_its_answer_depends_on():
    cors = CORSMiddleware(allow_origins=[SITE], allow_methods="*")
    response = await TestClient(app_with(cors)).options("/items", headers=preflight(OTHER, "GET"))
    assert response.status == 400
    assert response.headers["vary"] == "Origin, Access-Control-Request-Method"


def test_an_origin_with_a_url_in_its_query_is_refused_as_one_with_a_path():
    message = "has a path; browsers send an origin without one, such as 'https://site.example'"
    with pytest.raises(ValueError, match=re.escape(message)):
        CORSMiddleware(allow_origins=["https://site.example/go?to=https://other.example"])


async def test_a_refused_value_of_80_characters_is_shown_whole_and_a_longer_one_cut_at_80():
    cors = CORSMiddleware(allow_origins=[SITE])
    client = TestClient(app_with(cors))
    for length, shown in ((80, "m" * 80), (81, "m" * 80 + "...")):
        response = await client.options("/items", headers=preflight(SITE, "M" * length))
        expected = f"CORS preflight refused: the method {shown.upper()!r} is not allowed.\n"
        assert response.text == expected


@pytest.mark.parametrize(
    ("origin", "sent"),
    [
        ("https://example.com:443", "'https://example.com'"),
        ("http://example.com:80", "'http://example.com'"),
        ("HTTPS://Example.com:443", "'https://example.com'"),
    ],
)
def test_an_origin_with_its_default_port_is_refused_naming_what_browsers_send(origin, sent):
    # Browsers leave the default port out of Origin: this origin would never match.
    with pytest.raises(ValueError, match=f"default port.*{re.escape(sent)}"):
        CORSMiddleware(allow_origins=[origin])


@pytest.mark.parametrize("origin", ["https://bücher.example", "https://ß.de:8443"])
def test_an_origin_with_a_non_ascii_host_is_refused_asking_for_its_punycode(origin):
    # Browsers send the ASCII form of an internationalised host name: this would never match.
    with pytest.raises(ValueError, match=r"is not ASCII: .*punycode"):
        CORSMiddleware(allow_origins=[origin])


@pytest.mark.parametrize("origin", ["https://example.com:8443", "http://localhost:443"])
async def test_an_origin_with_another_port_is_allowed_and_matched(origin):
    cors = CORSMiddleware(allow_origins=[origin])
    assert cors.allows_origin(origin)


# Random preflights -------------------------------------------------------------------------------

CORS_SETTINGS = property_settings(80)
ODD_BYTES = st.lists(
    st.sampled_from(
        [SITE.encode(), b"HTTPS://SITE.EXAMPLE", b"null", b"*", b",", b" ", b"https://", b"/",
         b"x", b"GET", b"put", b"PUT", b"x-a", b"X-A", b"authorization", b"\xff", b"\t", b":",
         b";", b'"', b"\x7f"]
    ),
    max_size=6,
).map(b"".join)
CONFIGURATIONS = [
    {"allow_origins": [SITE], "allow_methods": ["PUT"], "allow_headers": ["x-a"]},
    {"allow_origins": [SITE], "allow_credentials": True, "allow_methods": "*"},
    {"allow_origins": "*", "allow_headers": "*"},
    {"allow_origin_regex": r"https://[a-z.]+", "allow_headers": "*", "allow_credentials": True},
]


@given(
    origin=ODD_BYTES,
    method=ODD_BYTES,
    requested=st.none() | ODD_BYTES,
    configuration=st.sampled_from(CONFIGURATIONS),
)
@CORS_SETTINGS
def test_any_preflight_is_a_204_or_a_400_that_says_why_and_echoes_only_an_allowed_origin(
    origin: bytes, method: bytes, requested: bytes | None, configuration: dict[str, Any]
) -> None:
    cors = CORSMiddleware(**configuration)
    headers = [(b"origin", origin), (b"access-control-request-method", method)]
    if requested is not None:
        headers.append((b"access-control-request-headers", requested))
    calls: list[str] = []
    response = asyncio.run(
        TestClient(app_with(cors, calls)).request("OPTIONS", "/items", headers=headers)
    )
    assert calls == []  # a preflight never reaches the handler
    assert response.status in (204, 400)
    if response.status == 400:
        assert response.text.startswith("CORS preflight refused: the ")
        assert response.text.endswith(".\n")
    echoed = response.headers.get_all("access-control-allow-origin")
    if configuration.get("allow_origins") == "*":
        assert echoed == ["*"]  # the same for every origin: nothing is echoed
    elif cors.allows_origin(origin):
        assert echoed == [origin.decode("latin-1")]
    else:
        assert echoed == []
        assert response.status == 400
    assert response.headers.get("vary") != ""


@pytest.mark.parametrize(
    ("argument", "value", "shown"),
    [
        ("allow_origins", b"https://a.example", "bytes"),
        ("allow_origins", [b"https://a.example"], "bytes"),
        ("allow_origins", None, "NoneType"),
        ("allow_methods", [b"GET"], "bytes"),
        ("allow_headers", b"x-a", "bytes"),
        ("expose_headers", [1], "int"),
    ],
)
def test_names_given_as_bytes_or_other_types_are_a_type_error_naming_the_argument(
    argument: str, value: Any, shown: str
) -> None:
    # ASGI headers are bytes, so bytes are easy to pass; they failed with AttributeError
    # or a TypeError about regular expressions, naming no argument.
    with pytest.raises(TypeError, match=f"{argument} must be a str or an iterable of str.*{shown}"):
        CORSMiddleware(**{argument: value})


def test_names_may_come_from_a_one_shot_iterator() -> None:
    cors = CORSMiddleware(allow_origins=(origin for origin in [SITE]), allow_methods=iter(["PUT"]))
    assert cors.allows_origin(SITE)
    assert cors._methods == {"PUT"}
