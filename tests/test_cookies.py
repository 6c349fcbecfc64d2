"""The cookies extra: reading request cookies, building set-cookie headers, expiring cookies."""

import re
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from http.cookies import SimpleCookie

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bareasgi import Application, text_response
from bareasgi.cookies import expire_cookie, parse_cookie_header, request_cookies, set_cookie
from bareasgi.testing import TestClient
from tests.fuzzing import property_settings


def attributes(header):
    """The attributes of a set-cookie value, by lower-case name (flags map to True)."""
    name, value = header
    assert name == b"set-cookie"
    _, *parts = value.decode().split("; ")
    found = {}
    for part in parts:
        key, equals, item = part.partition("=")
        found[key.lower()] = item if equals else True
    return found


# Reading -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (b"a=1", {"a": "1"}),
        (b"a=1; b=2", {"a": "1", "b": "2"}),
        (b"a=1;b=2", {"a": "1", "b": "2"}),
        (b' session = "quoted value" ; x=', {"session": "quoted value", "x": ""}),
        (b"a=b=c", {"a": "b=c"}),
        (b'a="', {"a": '"'}),
        (b"junk; =nameless; a=1; ;;", {"a": "1"}),
        (b"a=first; a=second", {"a": "first"}),
        (b"", {}),
        (b"caf\xc3\xa9=cr\xe8me", {"caf\xc3\xa9": "cr\xe8me"}),
    ],
)
def test_parse_cookie_header_tolerates_what_clients_send(header, expected):
    assert parse_cookie_header(header) == expected


def test_request_cookies_reads_every_cookie_header():
    scope = {"headers": [(b"cookie", b"a=1; b=2"), (b"host", b"x"), (b"Cookie", b"c=3; a=9")]}
    assert request_cookies(scope) == {"a": "1", "b": "2", "c": "3"}
    assert request_cookies({"headers": []}) == {}
    assert request_cookies({}) == {}


async def test_a_handler_reads_the_cookies_of_a_request():
    app = Application()

    @app.on_http_request({"GET"}, "/")
    async def show(scope, info, matches, content):
        return text_response(200, None, repr(sorted(request_cookies(scope).items())))

    response = await TestClient(app).get("/", headers={"cookie": "theme=dark; lang=en"})
    assert response.text == "[('lang', 'en'), ('theme', 'dark')]"
    response = await TestClient(app).get("/", headers={"cookie": "%%%; ;=;theme"})
    assert response.status == 200
    assert response.text == "[]"


# Setting -----------------------------------------------------------------------------------------


def test_set_cookie_defaults_to_the_whole_site_and_same_site_lax():
    assert set_cookie("theme", "dark") == (b"set-cookie", b"theme=dark; Path=/; SameSite=Lax")
    assert set_cookie(b"theme", b"dark") == set_cookie("theme", "dark")


def test_set_cookie_writes_every_attribute():
    header = set_cookie(
        "sid",
        "abc123",
        max_age=3600,
        expires=datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
        path="/app",
        domain="example.com",
        secure=True,
        http_only=True,
        same_site="strict",
        partitioned=True,
    )
    assert header == (
        b"set-cookie",
        b"sid=abc123; Path=/app; Domain=example.com; Max-Age=3600; "
        b"Expires=Wed, 02 Jan 2030 03:04:05 GMT; Secure; HttpOnly; SameSite=Strict; Partitioned",
    )


def test_a_browser_style_parser_reads_what_set_cookie_writes():
    header = set_cookie("sid", "abc", max_age=60, path="/p", http_only=True, secure=True)
    cookie = SimpleCookie()
    cookie.load(header[1].decode())
    morsel = cookie["sid"]
    assert (morsel.value, morsel["max-age"], morsel["path"]) == ("abc", "60", "/p")
    assert morsel["httponly"] is True and morsel["secure"] is True


def test_max_age_may_be_a_timedelta():
    assert attributes(set_cookie("a", "b", max_age=timedelta(days=1)))["max-age"] == "86400"


def test_expires_in_seconds_is_a_date_that_far_from_now():
    before = time.time()
    expires = attributes(set_cookie("a", "b", expires=3600))["expires"]
    when = parsedate_to_datetime(expires).timestamp()
    assert before + 3600 - 1 <= when <= time.time() + 3600
    assert expires.endswith(" GMT")


def test_expires_as_a_datetime_is_converted_to_gmt():
    naive = attributes(set_cookie("a", "b", expires=datetime(2030, 6, 1, 12, 0)))
    assert naive["expires"] == "Sat, 01 Jun 2030 12:00:00 GMT"
    paris = timezone(timedelta(hours=2))
    aware = attributes(set_cookie("a", "b", expires=datetime(2030, 6, 1, 14, 0, tzinfo=paris)))
    assert aware["expires"] == "Sat, 01 Jun 2030 12:00:00 GMT"


def test_attributes_can_be_left_out():
    assert set_cookie("a", "b", path=None, same_site=None) == (b"set-cookie", b"a=b")


@pytest.mark.parametrize("same_site", ["none", "None", "NONE"])
def test_same_site_none_with_secure(same_site):
    assert attributes(set_cookie("a", "b", same_site=same_site, secure=True))["samesite"] == "None"


@pytest.mark.parametrize("value", ['"quoted"', "", "a!#$%&'()*+-./:<=>?@[]^_`{|}~"])
def test_values_made_of_cookie_octets_are_allowed(value):
    assert set_cookie("a", value)[1].startswith(b"a=" + value.encode() + b";")


def test_prefixed_names_with_their_attributes_are_allowed():
    assert set_cookie("__Host-id", "1", secure=True)[1].startswith(b"__Host-id=1;")
    assert set_cookie("__Secure-id", "1", secure=True, domain="example.com")


# Refusing ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "is empty"),
        ("my cookie", "contains a space"),
        ("a=b", "contains '='"),
        ("a;b", "contains ';'"),
        ("a,b", "contains ','"),
        ("caf\u00e9", "contains a non-ASCII character"),
        ("a\tb", r"contains the control character '\t'"),
        ("a\x7fb", r"contains the control character '\x7f'"),  # DEL, the last control
        (b"a\x80b", "contains a non-ASCII character"),  # the first byte past ASCII
    ],
)
def test_a_name_that_is_not_a_token_is_refused(name, problem):
    with pytest.raises(ValueError, match=f"cookie name .* {re.escape(problem)}") as raised:
        set_cookie(name, "x")
    assert "letters, digits" in str(raised.value)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("two words", "a space"),
        ("a;b", "';'"),
        ("a,b", "','"),
        ('a"b', "'\"'"),
        ("a\\b", r"'\\'"),
        ("line\nbreak", r"the control character '\n'"),
        ("cr\u00e8me", "a non-ASCII character"),
        ('"quoted but spaced"', "a space"),
    ],
)
def test_a_value_a_cookie_cannot_hold_is_refused_with_advice(value, problem):
    expected = f"the value of cookie 'a' contains {re.escape(problem)}"
    with pytest.raises(ValueError, match=expected) as raised:
        set_cookie("a", value)
    assert "urllib.parse.quote()" in str(raised.value)


def test_a_cookie_too_large_for_browsers_is_refused():
    set_cookie("a", "x" * 4095)
    with pytest.raises(ValueError, match="4097 bytes long: browsers drop"):
        set_cookie("a", "x" * 4096)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"same_site": "none"}, "same_site='None' requires secure=True"),
        ({"same_site": "relaxed"}, "same_site must be 'Strict', 'Lax', 'None' or None"),
        ({"same_site": True}, "same_site must be"),
        ({"partitioned": True}, "partitioned=True requires secure=True"),
        ({"path": "/a;b"}, "cookie path '/a;b' contains ';'"),
        ({"path": "/a\r\nSet-Cookie: x=y"}, "cookie path .* contains '\\\\r'"),
        ({"domain": "example.com Secure"}, "cookie domain .* contains ' '"),
        ({"domain": "example.com;Secure"}, "cookie domain .* contains ';'"),
        ({"domain": "b\u00fccher.example"}, "is not ASCII: give an internationalised domain"),
        ({"max_age": 1.5}, "max_age must be a whole number of seconds or a timedelta"),
        ({"max_age": True}, "max_age must be"),
        ({"expires": "tomorrow"}, "expires must be a datetime or a number of seconds"),
        ({"expires": 1e300}, "seconds from now is not a date"),
    ],
)
def test_bad_attributes_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        set_cookie("a", "b", **options)


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("__Secure-id", {}),
        ("__secure-id", {}),
        ("__Host-id", {}),
        ("__Host-id", {"secure": True, "path": "/app"}),
        ("__Host-id", {"secure": True, "domain": "example.com"}),
    ],
)
def test_a_prefixed_name_without_its_attributes_is_refused(name, options):
    with pytest.raises(ValueError, match=f"cookie '{name}': a __"):
        set_cookie(name, "1", **options)


# Expiring ----------------------------------------------------------------------------------------


def test_expire_cookie_empties_it_with_max_age_zero_and_a_past_date():
    assert expire_cookie("sid") == (
        b"set-cookie",
        b"sid=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
    )


def test_expire_cookie_repeats_the_path_domain_and_security_of_the_cookie():
    found = attributes(
        expire_cookie("__Secure-sid", path="/app", domain="example.com", secure=True,
                      partitioned=True)
    )
    assert found == {
        "path": "/app",
        "domain": "example.com",
        "max-age": "0",
        "secure": True,
        "partitioned": True,
        "expires": "Thu, 01 Jan 1970 00:00:00 GMT",
    }
    with pytest.raises(ValueError, match="a __Secure- cookie needs secure=True"):
        expire_cookie("__Secure-sid")


async def test_a_response_sets_and_expires_cookies_in_one_go():
    app = Application()

    @app.on_http_request({"GET"}, "/")
    async def swap(scope, info, matches, content):
        headers = [set_cookie("new", "1", http_only=True), expire_cookie("old")]
        return text_response(200, headers, "swapped")

    response = await TestClient(app).get("/")
    assert response.headers.get_all("set-cookie") == [
        "new=1; Path=/; HttpOnly; SameSite=Lax",
        "old=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
    ]


def test_importing_bareasgi_does_not_load_the_extra():
    code = "import bareasgi, sys; print('bareasgi.cookies' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False"


# Found by mutation testing (make mutation): each of these once let a mutant live.


@pytest.mark.parametrize("value", ['" x"', '"x "', " ab", "ab ", '"a"b"'])
def test_a_value_whose_first_or_last_character_is_not_allowed_is_refused(value):
    with pytest.raises(ValueError, match="cannot hold"):
        set_cookie("a", value)


def test_an_empty_quoted_value_is_allowed_and_read_back_empty():
    assert set_cookie("a", '""')[1].startswith(b'a=""')
    assert parse_cookie_header(b'a=""; b="x"') == {"a": "", "b": "x"}


def test_a_naive_expiry_is_utc_whatever_the_local_time_zone(monkeypatch):
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        header = set_cookie("a", "1", expires=datetime(2030, 1, 2, 3, 4, 5))
    finally:
        monkeypatch.undo()
        time.tzset()
    assert b"Expires=Wed, 02 Jan 2030 03:04:05 GMT" in header[1]


def test_a_non_ascii_path_is_refused_with_advice_about_paths_not_domains():
    with pytest.raises(ValueError, match="cookie path '/café' is not ASCII") as caught:
        set_cookie("a", "b", path="/café")
    assert "domain" not in str(caught.value)
    assert "percent-encode" in str(caught.value)


@pytest.mark.parametrize(
    "moment",
    [
        datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5))),
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))),
    ],
)
def test_an_expiry_that_is_no_date_in_utc_is_a_value_error(moment):
    # Converted to UTC, these fall outside the years a datetime can hold.
    with pytest.raises(ValueError, match="is not a date"):
        set_cookie("a", "b", expires=moment)


# Random input ------------------------------------------------------------------------------------

COOKIE_SETTINGS = property_settings(200)
COOKIE_PIECES = st.sampled_from(
    [b"a", b"b", b"=", b";", b"; ", b" ", b'"', b",", b"\xff", b"\xc3\xa9", b"\t", b"\0",
     b"\\", b"x" * 5000]
)


@given(header=st.lists(COOKIE_PIECES, max_size=12).map(b"".join))
@COOKIE_SETTINGS
def test_any_cookie_header_is_read_without_error_and_keeps_every_byte(header):
    cookies = parse_cookie_header(header)
    for name, value in cookies.items():
        assert name and name == name.strip()
        # Latin-1 maps each byte to one character, so nothing is lost or replaced.
        assert name.encode("latin-1") in header and value.encode("latin-1") in header


@given(
    name=st.text(max_size=8) | st.binary(max_size=8),
    value=st.text(max_size=12) | st.binary(max_size=12),
)
@COOKIE_SETTINGS
def test_any_name_and_value_is_refused_or_set_so_that_it_reads_back_the_same(name, value):
    try:
        header = set_cookie(name, value)
    except ValueError as error:
        assert "cookie" in str(error)
        return
    raw_name = name.encode() if isinstance(name, str) else name
    raw_value = value.encode() if isinstance(value, str) else value
    if len(raw_value) >= 2 and raw_value[:1] == raw_value[-1:] == b'"':
        raw_value = raw_value[1:-1]
    pair = header[1].split(b"; ")[0]
    assert parse_cookie_header(pair) == {raw_name.decode(): raw_value.decode("latin-1")}
    # What a browser stores is what a later request sends back.
    scope = {"headers": [(b"cookie", pair + b"; other=1")]}
    assert request_cookies(scope)[raw_name.decode()] == raw_value.decode("latin-1")
