"""The header helpers extra."""

import pytest

from bareasgi.headers import (
    find_all_headers,
    find_header,
    parse_accept,
    parse_content_type,
    request_header,
    set_header,
)

HEADERS = [(b"Content-Type", b"text/plain"), (b"x-a", b"1"), (b"X-A", b"2")]


def test_find_header_ignores_case_and_returns_the_first():
    assert find_header(HEADERS, b"content-type") == b"text/plain"
    assert find_header(HEADERS, b"X-a") == b"1"
    assert find_header(HEADERS, b"missing") is None


def test_find_all_headers_keeps_order():
    assert find_all_headers(HEADERS, b"x-a") == [b"1", b"2"]
    assert find_all_headers(HEADERS, b"none") == []


def test_request_header_joins_repeated_headers():
    scope = {"headers": [(b"accept", b"text/html"), (b"accept", b"application/json")]}
    assert request_header(scope, b"Accept") == b"text/html, application/json"
    assert request_header(scope, b"host") is None
    assert request_header({}, b"host") is None


def test_set_header_replaces_every_copy_and_leaves_the_input_alone():
    result = set_header(HEADERS, b"x-a", b"3")
    assert result == [(b"Content-Type", b"text/plain"), (b"x-a", b"3")]
    assert len(HEADERS) == 3
    assert set_header(None, b"x-b", b"1") == [(b"x-b", b"1")]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"text/plain", ("text/plain", {})),
        (b'Text/HTML; Charset="utf-8"', ("text/html", {"charset": "utf-8"})),
        (
            b"multipart/form-data; boundary=----x; charset=UTF-8",
            ("multipart/form-data", {"boundary": "----x", "charset": "UTF-8"}),
        ),
        (b'a/b; name="quoted \\"inner\\""; flag', ("a/b", {"name": 'quoted "inner"'})),
        (b"", ("", {})),
        (None, ("", {})),
    ],
)
def test_parse_content_type(value, expected):
    assert parse_content_type(value) == expected


def test_parse_accept_orders_by_quality_keeping_ties_in_client_order():
    value = b"deflate;q=0.5, GZIP, br;q=1.0, identity;q=0, *;q=0.1, bad;q=x"
    assert parse_accept(value) == [
        ("gzip", 1.0),
        ("br", 1.0),
        ("deflate", 0.5),
        ("*", 0.1),
        ("identity", 0.0),
        ("bad", 0.0),
    ]
    assert parse_accept(None) == []
    assert parse_accept(b" , ") == []
    assert parse_accept(b"a;q=7") == [("a", 1.0)]


def test_parse_accept_takes_a_q_of_nan_or_infinity_as_one_that_does_not_parse() -> None:
    value = b"a;q=nan, b;q=0.5, c;q=-inf, d;q=inf, e;q=NaN"
    assert parse_accept(value) == [("d", 1.0), ("b", 0.5), ("a", 0.0), ("c", 0.0), ("e", 0.0)]
