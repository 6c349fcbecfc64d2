"""Cookies: read them from a request, and build ``set-cookie`` headers to set or expire them.

An opt-in extra: ``import bareasgi`` does not load it. In a handler:

    from bareasgi.cookies import expire_cookie, request_cookies, set_cookie

    theme = request_cookies(scope).get("theme", "light")  # read a cookie
    headers = [set_cookie("theme", "dark", max_age=86400)]  # set one, for a day
    headers = [expire_cookie("theme")]  # have the browser delete it

Reading is lenient: a malformed pair in a ``cookie`` header is skipped, never an
error, since any client can send anything. Writing is strict: a name, value or
attribute that a browser would reject or misread raises ``ValueError`` at once,
instead of a cookie that silently never arrives. Cookie values are sent and
received as they are; they are visible to the client and can be changed by it.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime, formatdate

from .headers import find_all_headers
from .http import NOT_TOKEN
from .types import Header, Scope

__all__ = ["expire_cookie", "parse_cookie_header", "request_cookies", "set_cookie"]

# RFC 6265: a name is an HTTP token; a value is cookie-octets, optionally inside double quotes.
_NOT_COOKIE_OCTET = re.compile(rb"[^\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]")
# An attribute value may hold anything but control characters and the ';' that ends it.
_BAD_IN_ATTRIBUTE = re.compile(r"[\x00-\x1f\x7f;]")
_BAD_IN_DOMAIN = re.compile(r"[\x00-\x20\x7f;,]")
_SAME_SITE = {"strict": "Strict", "lax": "Lax", "none": "None"}
# Browsers drop a cookie whose name and value together are longer than this.
_MAX_SIZE = 4096
_EXPIRED = "Thu, 01 Jan 1970 00:00:00 GMT"


def parse_cookie_header(value: bytes) -> dict[str, str]:
    """The cookies in one ``cookie`` header value, by name.

    Pairs are separated by ``;``; a value in double quotes loses its quotes; pairs
    without ``=`` or without a name are skipped. A name sent twice keeps its first
    value: browsers send the cookie with the most specific path first. Names and
    values are decoded as Latin-1, as ASGI header bytes conventionally are, so no
    byte is ever lost or an error.

    Args:
        value: The header's value.

    Example:
        ```python
        >>> parse_cookie_header(b'session=abc123; theme="dark"')
        {'session': 'abc123', 'theme': 'dark'}
        ```
    """
    cookies: dict[str, str] = {}
    for pair in value.split(b";"):
        name, equals, item = pair.partition(b"=")
        name = name.strip()
        if not equals or not name:
            continue
        item = item.strip()
        if len(item) >= 2 and item[:1] == item[-1:] == b'"':
            item = item[1:-1]
        cookies.setdefault(name.decode("latin-1"), item.decode("latin-1"))
    return cookies


def request_cookies(scope: Scope) -> dict[str, str]:
    """The cookies the request carries, by name, from every ``cookie`` header.

    HTTP/2 clients may split cookies over several ``cookie`` headers; they are read
    in order, as one. See ``parse_cookie_header`` for how pairs are read.

    Args:
        scope: The request's scope.

    Returns:
        The cookies by name; an empty dict when there are none.

    Example:
        ```python
        session = request_cookies(scope).get("session")
        ```
    """
    values = find_all_headers(scope.get("headers") or (), b"cookie")
    if not values:
        return {}
    return parse_cookie_header(values[0] if len(values) == 1 else b";".join(values))


def set_cookie(
    name: str | bytes,
    value: str | bytes,
    *,
    max_age: int | timedelta | None = None,
    expires: datetime | int | float | None = None,
    path: str | None = "/",
    domain: str | None = None,
    secure: bool = False,
    http_only: bool = False,
    same_site: str | None = "Lax",
    partitioned: bool = False,
) -> Header:
    """Build the ``(b"set-cookie", ...)`` header that sets a cookie, to add to a response.

    Without ``max_age`` or ``expires`` the cookie lasts until the browser closes.

    Args:
        name: The cookie name, an HTTP token: letters, digits and ``!#$%&'*+-.^_`|~``.
        value: The value: printable ASCII except space, double quote, comma,
            semicolon and backslash, optionally inside double quotes. Encode
            anything else first, for example with ``urllib.parse.quote``, and
            decode it after reading.
        max_age: How long the cookie lasts, in seconds or as a timedelta.
        expires: When the cookie expires: a datetime (naive ones are taken as UTC)
            or a number of seconds from now. Browsers prefer ``max_age`` when both
            are given; ``expires`` serves very old ones.
        path: The path the cookie is sent for, ``/`` (the whole site) by default;
            None leaves it to the browser, which uses the request's directory.
        domain: The domain the cookie is sent to, with its subdomains; None (the
            default) means this host only.
        secure: Send the cookie over HTTPS only.
        http_only: Hide the cookie from JavaScript; do this for session cookies.
        same_site: ``"Strict"``, ``"Lax"`` (the default) or ``"None"`` (any case),
            or None to leave the attribute out.
        partitioned: Keep the cookie per top-level site (CHIPS), for cookies of
            embedded third-party content.

    Raises:
        ValueError: The name or value is not allowed in a cookie, an attribute holds
            a control character or ``;``, ``same_site`` is unknown, ``SameSite=None``
            or ``partitioned`` is asked for without ``secure``, or a ``__Secure-`` or
            ``__Host-`` name lacks the attributes its prefix requires.
    """
    raw_name = _name_bytes(name)
    raw_value = _value_bytes(raw_name, value)
    if len(raw_name) + len(raw_value) > _MAX_SIZE:
        raise ValueError(
            f"cookie {raw_name.decode()!r} is {len(raw_name) + len(raw_value)} bytes long: "
            f"browsers drop cookies whose name and value exceed {_MAX_SIZE} bytes"
        )
    parts = [raw_name + b"=" + raw_value]
    if path is not None:
        parts.append(b"Path=" + _attribute("path", path, _BAD_IN_ATTRIBUTE))
    if domain is not None:
        parts.append(b"Domain=" + _attribute("domain", domain, _BAD_IN_DOMAIN))
    if max_age is not None:
        parts.append(b"Max-Age=%d" % _seconds(max_age))
    if expires is not None:
        parts.append(b"Expires=" + _http_date(expires).encode("ascii"))
    if secure:
        parts.append(b"Secure")
    if http_only:
        parts.append(b"HttpOnly")
    if same_site is not None:
        site = _SAME_SITE.get(same_site.lower()) if isinstance(same_site, str) else None
        if site is None:
            raise ValueError(
                f"same_site must be 'Strict', 'Lax', 'None' or None, not {same_site!r}"
            )
        if site == "None" and not secure:
            raise ValueError("same_site='None' requires secure=True: browsers reject it otherwise")
        parts.append(b"SameSite=" + site.encode("ascii"))
    if partitioned:
        if not secure:
            raise ValueError("partitioned=True requires secure=True: browsers reject it otherwise")
        parts.append(b"Partitioned")
    _check_prefix(raw_name, secure, path, domain)
    return b"set-cookie", b"; ".join(parts)


def expire_cookie(
    name: str | bytes,
    *,
    path: str | None = "/",
    domain: str | None = None,
    secure: bool = False,
    partitioned: bool = False,
) -> Header:
    """Build the ``set-cookie`` header that makes the browser delete a cookie at once.

    It sets an empty value with ``Max-Age=0`` and an ``Expires`` date in the past.
    ``path`` and ``domain`` must be those the cookie was set with, or the browser
    deletes nothing; a ``Secure`` or partitioned cookie needs ``secure`` or
    ``partitioned`` here too.

    Args:
        name: The cookie's name.
        path: The path the cookie was set with.
        domain: The domain the cookie was set with, or None.
        secure: True if the cookie was set ``Secure``.
        partitioned: True if the cookie was set ``Partitioned``.

    Raises:
        ValueError: As ``set_cookie`` does for the same arguments.

    Example:
        ```python
        async def logout(scope, info, matches, content):
            headers = [expire_cookie("session")]
            return text_response(200, headers, "Signed out.")
        ```
    """
    header = set_cookie(
        name,
        b"",
        max_age=0,
        path=path,
        domain=domain,
        secure=secure,
        same_site=None,
        partitioned=partitioned,
    )
    return header[0], header[1] + b"; Expires=" + _EXPIRED.encode("ascii")


def _name_bytes(name: str | bytes) -> bytes:
    raw = name.encode("utf-8") if isinstance(name, str) else name
    bad = NOT_TOKEN.search(raw)
    if bad is not None or not raw:
        problem = "is empty" if bad is None else f"contains {_describe(raw, bad.start())}"
        raise ValueError(
            f"cookie name {name!r} {problem}: a name may hold only letters, digits and "
            "!#$%&'*+-.^_`|~"
        )
    return raw


def _value_bytes(name: bytes, value: str | bytes) -> bytes:
    raw = value.encode("utf-8") if isinstance(value, str) else value
    inner = raw[1:-1] if len(raw) >= 2 and raw[:1] == raw[-1:] == b'"' else raw
    bad = _NOT_COOKIE_OCTET.search(inner)
    if bad is not None:
        raise ValueError(
            f"the value of cookie {name.decode()!r} contains {_describe(inner, bad.start())}, "
            "which a cookie value cannot hold (spaces, '\"', ',', ';', '\\', control and "
            "non-ASCII characters): encode the value first, for example with "
            "urllib.parse.quote(), and decode it when reading"
        )
    return raw


def _describe(data: bytes, index: int) -> str:
    byte = data[index]
    if byte == 0x20:
        return "a space"
    if byte < 0x20 or byte == 0x7F:
        return f"the control character {chr(byte)!r}"
    if byte >= 0x80:
        return "a non-ASCII character"
    return repr(chr(byte))


def _attribute(what: str, value: str, bad: re.Pattern[str]) -> bytes:
    found = bad.search(value)
    if found is not None:
        raise ValueError(
            f"cookie {what} {value!r} contains {found.group()!r}, which it cannot hold"
        )
    try:
        return value.encode("ascii")
    except UnicodeEncodeError:
        advice = (
            "give an internationalised domain in its ASCII (punycode) form"
            if what == "domain"
            # Browsers match the path against the request's URL, which is percent-encoded.
            else "percent-encode it, as the URL does, with urllib.parse.quote()"
        )
        raise ValueError(f"cookie {what} {value!r} is not ASCII: {advice}") from None


def _seconds(max_age: int | timedelta) -> int:
    if isinstance(max_age, timedelta):
        return int(max_age.total_seconds())
    if isinstance(max_age, bool) or not isinstance(max_age, int):
        raise ValueError(
            f"max_age must be a whole number of seconds or a timedelta, not {max_age!r}"
        )
    return max_age


def _http_date(expires: datetime | int | float) -> str:
    """``expires`` as an HTTP date, such as ``Wed, 21 Oct 2015 07:28:00 GMT``."""
    if isinstance(expires, datetime):
        moment = expires.replace(tzinfo=timezone.utc) if expires.tzinfo is None else expires
        try:
            utc = moment.astimezone(timezone.utc)
        except OverflowError:  # in UTC it falls before year 1 or after 9999
            raise ValueError(f"expires={expires!r} is not a date in UTC") from None
        return format_datetime(utc, usegmt=True)
    if isinstance(expires, bool) or not isinstance(expires, (int, float)):
        raise ValueError(f"expires must be a datetime or a number of seconds, not {expires!r}")
    try:
        return formatdate(time.time() + expires, usegmt=True)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"expires={expires!r} seconds from now is not a date") from None


def _check_prefix(name: bytes, secure: bool, path: str | None, domain: str | None) -> None:
    # Browsers silently refuse a prefixed cookie without these attributes.
    lowered = name.lower()
    if lowered.startswith(b"__host-"):
        if not secure or path != "/" or domain is not None:
            raise ValueError(
                f"cookie {name.decode()!r}: a __Host- cookie needs secure=True, path='/' "
                "and no domain"
            )
    elif lowered.startswith(b"__secure-") and not secure:
        raise ValueError(f"cookie {name.decode()!r}: a __Secure- cookie needs secure=True")
