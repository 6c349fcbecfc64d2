"""Header helpers: find and set headers in ASGI header lists, parse content-type and accept.

An opt-in extra: ``import bareasgi`` does not load it. ASGI carries headers as a list
of ``(bytes, bytes)`` pairs; request header names are lower case, response header
names are whatever the application wrote, so lookups here ignore case.
"""

from __future__ import annotations

from collections.abc import Iterable

from .types import Headers, Scope

__all__ = [
    "find_all_headers",
    "find_header",
    "parse_accept",
    "parse_content_type",
    "request_header",
    "set_header",
]


def find_header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    """The value of the first header called ``name`` (any case), or None.

    Args:
        headers: ``(bytes, bytes)`` pairs: a request's ``scope["headers"]`` or
            a response's header list.
        name: The header name, in any letter case.

    Example:
        ```python
        agent = find_header(scope["headers"], b"user-agent") or b"unknown"
        ```
    """
    name = name.lower()
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def find_all_headers(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> list[bytes]:
    """The values of every header called ``name`` (any case), in order.

    Args:
        headers: ``(bytes, bytes)`` pairs.
        name: The header name, in any letter case.

    Returns:
        The values, an empty list when there are none.
    """
    name = name.lower()
    return [value for key, value in headers if key.lower() == name]


def request_header(scope: Scope, name: bytes) -> bytes | None:
    """The value of the request header ``name``, or None; repeated headers are joined by ``, ``.

    HTTP allows a header that holds a list to be sent several times; joined, the
    values read as the one list they stand for. ``Cookie`` is the exception (its
    separator is ``; ``): read it with ``find_all_headers``, or ``bareasgi.cookies``.

    Args:
        scope: The request's ASGI scope.
        name: The header name, in any letter case.

    Example:
        ```python
        token = request_header(scope, b"authorization")
        if token != b"Bearer let-me-in":
            raise HTTPError(401, "Who are you?")
        ```
    """
    values = find_all_headers(scope.get("headers") or (), name)
    return b", ".join(values) if values else None


def set_header(headers: Headers | None, name: bytes, value: bytes) -> Headers:
    """A new header list with every header ``name`` (any case) replaced by one ``name: value``.

    The list given is left as it was: a handler may return the same list for
    every request, so middleware should not change it in place.

    Args:
        headers: The headers, or None for none.
        name: The header name.
        value: Its value.

    Example:
        ```python
        async def no_store(scope, info, matches, content, handler):
            status, headers, writer, pushes = await handler(
                scope, info, matches, content
            )
            headers = set_header(headers, b"cache-control", b"no-store")
            return status, headers, writer, pushes
        ```
    """
    lowered = name.lower()
    kept = [(key, item) for key, item in headers or () if key.lower() != lowered]
    kept.append((name, value))
    return kept


def add_vary(headers: Headers, field: bytes) -> Headers:
    """``headers`` with ``field`` listed in ``vary``: added, or merged into the ``vary`` there.

    A response that depends on a request header says so in ``vary``, so that caches
    keep its variants apart.

    Args:
        headers: The response headers.
        field: The request header the response depends on, such as ``b"Origin"``.

    Returns:
        ``headers`` itself when a ``vary`` there already lists ``field`` (in any
        letter case) or ``*``; otherwise a new list whose one ``vary`` header, at
        the end, lists what the others did and ``field``.
    """
    values = find_all_headers(headers, b"vary")
    wanted = field.lower()
    for value in values:
        for item in value.split(b","):
            if item.strip().lower() in (b"*", wanted):
                return headers
    if not values:
        return [*headers, (b"vary", field)]
    kept = [header for header in headers if header[0].lower() != b"vary"]
    kept.append((b"vary", b", ".join([*(value for value in values if value.strip()), field])))
    return kept


def _parameters(parts: Iterable[bytes]) -> dict[str, str]:
    parameters = {}
    for part in parts:
        key, equals, value = part.partition(b"=")
        if not equals:
            continue
        value = value.strip()
        if len(value) >= 2 and value[:1] == value[-1:] == b'"':
            value = value[1:-1].replace(b'\\"', b'"')
        parameters[key.strip().lower().decode("latin-1")] = value.decode("latin-1")
    return parameters


def parse_content_type(value: bytes | None) -> tuple[str, dict[str, str]]:
    """Split a content-type into its lower-case media type and its parameters.

    ``b'text/HTML; Charset="utf-8"'`` gives ``("text/html", {"charset": "utf-8"})``;
    None or an empty value gives ``("", {})``.

    Args:
        value: A ``content-type`` header's value, or None.

    Example:
        ```python
        kind, parameters = parse_content_type(
            request_header(scope, b"content-type")
        )
        charset = parameters.get("charset", "utf-8")
        ```
    """
    if not value:
        return "", {}
    media_type, *parameters = value.split(b";")
    return media_type.strip().lower().decode("latin-1"), _parameters(parameters)


def parse_accept(value: bytes | None) -> list[tuple[str, float]]:
    """Parse an Accept, Accept-Encoding or Accept-Language value into ``(item, q)`` pairs.

    Items are lower case, best first (ties keep the client's order); a missing ``q``
    is 1, one that does not parse is 0, and items with ``q=0`` are kept, since they
    say what the client refuses.

    Args:
        value: The header's value, or None.

    Example:
        ```python
        >>> parse_accept(b"text/html;q=0.5, application/json")
        [('application/json', 1.0), ('text/html', 0.5)]
        ```
    """
    if not value:
        return []
    items = []
    for index, part in enumerate(value.split(b",")):
        item, *parameters = part.split(b";")
        name = item.strip().lower().decode("latin-1")
        if not name:
            continue
        q_text = _parameters(parameters).get("q", "1")
        try:
            q = float(q_text)
        except ValueError:
            q = 0.0
        # NaN parses as a float, but compares false with everything: it would sort at
        # random and count as neither accepted nor refused.
        q = min(max(q, 0.0), 1.0) if q == q else 0.0
        items.append((-q, index, name))
    return [(name, -negative_q) for negative_q, _, name in sorted(items)]
