"""Cross-origin resource sharing (CORS): let pages from other origins call the application.

An opt-in extra: ``import bareasgi`` does not load it. A browser lets a page read a
response from another origin (scheme, host and port) only if the response says that
the page's origin may; for a request that is more than a simple ``GET`` or form ``POST``,
it first asks with a *preflight*, an ``OPTIONS`` request carrying
``Access-Control-Request-Method``. ``CORSMiddleware`` answers preflights itself and
adds the ``Access-Control-*`` headers to every other response:

```python
from bareasgi.cors import CORSMiddleware

cors = CORSMiddleware(
    allow_origins=["https://app.example.com"], allow_methods=["GET", "PUT"]
)
app = Application(middlewares=[cors])
```

The rules it follows:

- A request without an ``Origin`` header is not a CORS request: the handler's
  response goes out unchanged, but for ``Vary: Origin`` (or, with the literal
  wildcard, ``Access-Control-Allow-Origin: *``) so that a cache never serves it to
  a CORS request it does not fit.
- A preflight never reaches the handler, so it works for paths that have no
  ``OPTIONS`` route. An allowed one gets ``204`` with the ``Access-Control-Allow-*``
  headers; one whose origin, method or headers are not allowed gets ``400`` and a
  text body saying which.
- Any other request from an allowed origin gets ``Access-Control-Allow-Origin`` (and
  ``-Allow-Credentials`` and ``-Expose-Headers`` if configured) on whatever the handler
  answered, error responses and ``HTTPError`` included; these replace any the handler
  set. From any other origin the response is left alone: the browser then withholds
  it from the page. Requests are never refused for their origin, since browsers send
  ``Origin`` on same-origin ``POST`` requests too.
- ``*`` is sent as the allowed origin only for ``allow_origins=["*"]`` without
  credentials. Otherwise the request's origin is echoed back, with ``Vary: Origin``,
  because browsers refuse ``*`` on a request that carries credentials.
- Error responses get the headers too: an ``HTTPError`` and the ``500`` for an
  unhandled exception both reach middleware as responses, so a page reads the
  real status instead of a CORS failure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import cast

from .headers import add_vary, request_header
from .http import is_token
from .streaming import text_response
from .types import (
    Content,
    Headers,
    HttpChainedCallback,
    HttpFullResponse,
    Info,
    RouteMatches,
    Scope,
)

__all__ = ["SAFELISTED_HEADERS", "CORSMiddleware"]

SAFELISTED_HEADERS = frozenset({"accept", "accept-language", "content-language", "content-type"})
"""Request headers always allowed: ``content-type`` is listed so JSON requests need no setup."""

# What a browser sends as Origin: scheme://host[:port] with no path, or "null".
_ORIGIN = re.compile(r"(?:[a-z][a-z0-9+.\-]*://[^\s,/?#*]+|null)\Z", re.IGNORECASE)

# Browsers leave these out of the Origin they send.
_DEFAULT_PORTS = {"http": "80", "https": "443", "ws": "80", "wss": "443"}
_ALLOW_ORIGIN = b"access-control-allow-origin"
_CREDENTIALS = (b"access-control-allow-credentials", b"true")
_CORS_RESPONSE_HEADERS = frozenset(
    {_ALLOW_ORIGIN, b"access-control-allow-credentials", b"access-control-expose-headers"}
)


class CORSMiddleware:
    """Middleware that answers CORS preflights and adds CORS headers to responses.

    Use it application-wide, ``Application(middlewares=[cors])``, which also answers
    preflights for paths with no ``OPTIONS`` route, or around one route with
    ``mw(cors, handler=h)``; a route-local one sees preflights only if the route's
    methods include ``OPTIONS``. All arguments are keyword-only, and a bad one raises
    at construction, not at the first request.

    Args:
        allow_origins: The origins allowed, as browsers send them:
            ``"https://example.com"``, ``"http://localhost:8000"``, no path and no
            trailing slash; ``"*"`` allows every origin. A single string is one origin.
        allow_origin_regex: A regular expression an origin must match in full to be
            allowed, for example ``r"https://[a-z0-9-]+\\.example\\.com"``; with
            ``allow_origins``, an origin allowed by either is allowed.
        allow_methods: The methods a preflight may ask for; ``"*"`` allows any.
        allow_headers: The request headers a preflight may ask for, in any case;
            ``"*"`` allows any. ``SAFELISTED_HEADERS`` are always allowed.
        allow_credentials: Let pages send cookies and ``Authorization``
            (``fetch(url, {credentials: "include"})``) and read the answer.
            The origin allowed is echoed back, never ``*``; combined with
            ``allow_origins="*"`` it is refused, as every site could then read
            answers made with its visitors' cookies.
        expose_headers: Response headers, beyond the few a browser always shows, that
            a page's script may read; ``"*"`` exposes all, but only without credentials.
        max_age: How many seconds a browser may cache a preflight answer (browsers
            cap it: Chrome at 7200); None sends no ``Access-Control-Max-Age``.

    Raises:
        ValueError: ``"*"`` with ``allow_credentials``; the origin ``null``, which
            any site can send from a sandboxed frame; an origin that is not
            ``scheme://host[:port]`` or ``*``
            (a pattern such as ``https://*.example.com`` belongs in
            ``allow_origin_regex``), or one browsers never send (with its scheme's
            default port, or a host that is not ASCII); a regular expression that
            does not compile; a method or header name that is not an HTTP token;
            ``expose_headers="*"`` with credentials; a negative ``max_age``.
        TypeError: ``max_age`` is not an int, or ``allow_origin_regex`` is a bytes pattern.
    """

    def __init__(
        self,
        *,
        allow_origins: str | Iterable[str] = (),
        allow_origin_regex: str | re.Pattern[str] | None = None,
        allow_methods: str | Iterable[str] = ("GET", "HEAD", "POST"),
        allow_headers: str | Iterable[str] = (),
        allow_credentials: bool = False,
        expose_headers: str | Iterable[str] = (),
        max_age: int | None = 600,
    ) -> None:
        origins = _as_list(allow_origins, "allow_origins")
        self._any_origin = "*" in origins
        if self._any_origin and allow_credentials:
            raise ValueError(
                "allow_origins='*' with allow_credentials=True would let every website read "
                "the answers made with its visitors' cookies: list the origins you trust, or "
                "match them with allow_origin_regex"
            )
        self._origins = frozenset(_check_origin(origin) for origin in origins if origin != "*")
        self._origin_regex = _compile(allow_origin_regex)
        self._credentials = bool(allow_credentials)
        # The one case where the answer is the same for every origin: no Vary needed.
        self._literal_any = self._any_origin and not self._credentials

        methods = [
            _check_token(method, "allow_methods").upper()
            for method in _as_list(allow_methods, "allow_methods")
        ]
        self._any_method = "*" in methods
        self._methods = frozenset(methods)
        self._methods_value = ", ".join(dict.fromkeys(methods)).encode("latin-1")

        headers = [
            _check_token(name, "allow_headers").lower()
            for name in _as_list(allow_headers, "allow_headers")
        ]
        self._any_header = "*" in headers
        self._headers = SAFELISTED_HEADERS | set(headers)
        self._headers_value = ", ".join(sorted(self._headers)).encode("latin-1")

        exposed = [
            _check_token(name, "expose_headers")
            for name in _as_list(expose_headers, "expose_headers")
        ]
        if "*" in exposed and self._credentials:
            raise ValueError(
                "expose_headers='*' exposes nothing when allow_credentials is set (browsers "
                "then read it as a header named '*'): list the headers to expose"
            )

        if max_age is not None:
            if not isinstance(max_age, int) or isinstance(max_age, bool):
                raise TypeError(f"max_age must be an int number of seconds, not {max_age!r}")
            if max_age < 0:
                raise ValueError(f"max_age must be 0 or more seconds, not {max_age}")
        self._max_age = None if max_age is None else str(max_age).encode("ascii")

        # Headers every allowed actual response gets after Access-Control-Allow-Origin.
        self._extra: Headers = []
        if self._credentials:
            self._extra.append(_CREDENTIALS)
        if exposed:
            value = ", ".join(dict.fromkeys(exposed)).encode("latin-1")
            self._extra.append((b"access-control-expose-headers", value))
        self._star: Headers = [(_ALLOW_ORIGIN, b"*"), *self._extra]

    def allows_origin(self, origin: str | bytes) -> bool:
        """Whether ``origin``, an ``Origin`` header's value, is allowed.

        Useful beyond HTTP: a WebSocket handler can check the handshake's ``Origin`` with it.

        Args:
            origin: The value, as ``str`` or ``bytes``.
        """
        if isinstance(origin, bytes):
            origin = origin.decode("latin-1")
        lowered = origin.lower()
        if lowered in self._origins:
            return True
        if lowered == "null":
            # Any site can send "null" (from a sandboxed frame, say): it is never echoed.
            # Allowing every origin without credentials answers "*", the same for all.
            return self._literal_any
        if not (self._any_origin or self._origin_regex):
            return False
        # Anything else would be echoed back: it must have the shape of one origin.
        if not _ORIGIN.match(origin):
            return False
        return self._any_origin or bool(self._origin_regex and self._origin_regex.fullmatch(origin))

    async def __call__(
        self,
        scope: Scope,
        info: Info,
        matches: RouteMatches,
        content: Content,
        handler: HttpChainedCallback,
    ) -> HttpFullResponse:
        """Answer a preflight, or call ``handler`` and add the CORS headers to its response."""
        origin = request_header(scope, b"origin")
        if origin is not None and scope["method"] == "OPTIONS":
            method = request_header(scope, b"access-control-request-method")
            if method is not None:
                requested = request_header(scope, b"access-control-request-headers")
                return self._preflight(origin, method, requested)
        status, headers, writer, pushes = await handler(scope, info, matches, content)
        return status, self._response_headers(headers, origin), writer, pushes

    def _response_headers(self, headers: Headers | None, origin: bytes | None) -> Headers:
        if self._literal_any:
            return _merge(headers, self._star, vary=False)
        if origin is not None and self.allows_origin(origin):
            return _merge(headers, [(_ALLOW_ORIGIN, origin), *self._extra], vary=True)
        return _merge(headers, [], vary=True)

    def _preflight(self, origin: bytes, method: bytes, requested: bytes | None) -> HttpFullResponse:
        problems = []
        headers: Headers = []
        vary = [] if self._literal_any else [b"Origin"]
        if self._literal_any:
            headers.append((_ALLOW_ORIGIN, b"*"))
        elif self.allows_origin(origin):
            headers.append((_ALLOW_ORIGIN, origin))
            if self._credentials:
                headers.append(_CREDENTIALS)
        else:
            problems.append(f"the origin {_show(origin)} is not allowed")

        method_text = method.decode("latin-1").strip()
        if self._any_method and is_token(method_text):
            # Echoed, since "*" means any method only to requests without credentials.
            headers.append((b"access-control-allow-methods", method_text.encode("latin-1")))
            vary.append(b"Access-Control-Request-Method")
        elif method_text in self._methods:
            headers.append((b"access-control-allow-methods", self._methods_value))
        else:
            problems.append(f"the method {_show(method)} is not allowed")

        names = [name.strip().lower() for name in (requested or b"").decode("latin-1").split(",")]
        names = [name for name in names if name]
        if self._any_header:
            refused = [name for name in names if not is_token(name)]
            if names and not refused:
                # Echoed: "*" would not cover authorization, nor anything with credentials.
                headers.append((b"access-control-allow-headers", ", ".join(names).encode()))
                vary.append(b"Access-Control-Request-Headers")
        else:
            refused = [name for name in names if name not in self._headers]
            headers.append((b"access-control-allow-headers", self._headers_value))
        if refused:
            shown = ", ".join(_show(name.encode("latin-1")) for name in refused)
            verb = "is" if len(refused) == 1 else "are"
            problems.append(f"the header{'s' * (len(refused) > 1)} {shown} {verb} not allowed")

        if problems:
            text = "CORS preflight refused: " + "; ".join(problems) + ".\n"
            kept = [
                header for header in headers if header[0] == _ALLOW_ORIGIN or header == _CREDENTIALS
            ]
            if vary:
                kept.append((b"vary", b", ".join(vary)))
            return text_response(400, kept, text)
        if self._max_age is not None:
            headers.append((b"access-control-max-age", self._max_age))
        if vary:
            headers.append((b"vary", b", ".join(vary)))
        return 204, headers, None, None


def _as_list(value: str | Iterable[str], argument: str) -> list[str]:
    # A lone string is one item: iterating "https://a.com" would give its letters.
    if isinstance(value, (str, bytes, bytearray)) or not isinstance(value, Iterable):
        items: list[object] = [value]
    else:
        items = list(value)  # once: it may be an iterator
    for item in items:
        if not isinstance(item, str):
            raise TypeError(
                f"{argument} must be a str or an iterable of str, not {type(item).__name__}"
            )
    return cast("list[str]", items)  # each item checked above


def _check_origin(origin: str) -> str:
    lowered = origin.lower()
    if lowered == "null":
        raise ValueError(
            "allow_origins: 'null' is the origin of sandboxed frames, local files and "
            "redirected requests, which any website can produce: it cannot be allowed"
        )
    if _ORIGIN.match(lowered):
        return _check_host(origin, lowered)
    if "*" in origin:
        raise ValueError(
            f"allow_origins: {origin!r} is not an origin; '*' is only allowed alone, "
            "use allow_origin_regex for a pattern"
        )
    scheme, separator, rest = lowered.partition("://")
    if separator and rest and any(mark in rest for mark in "/?#"):
        bare = f"{scheme}://{re.split(r'[/?#]', rest, maxsplit=1)[0]}"
        raise ValueError(
            f"allow_origins: {origin!r} has a path; browsers send an origin without one, "
            f"such as {bare!r}"
        )
    raise ValueError(
        f"allow_origins: {origin!r} is not an origin: write scheme://host[:port], "
        "such as 'https://example.com', or '*'"
    )


def _check_host(origin: str, lowered: str) -> str:
    """``lowered``, unless browsers never send it: they serialise an origin without its
    scheme's default port, and with an internationalised host in its ASCII form."""
    scheme, _, host = lowered.partition("://")
    name, colon, port = host.rpartition(":")
    if not colon or not port.isdigit():
        name, colon, port = host, "", ""
    if colon and _DEFAULT_PORTS.get(scheme) == port:
        raise ValueError(
            f"allow_origins: {origin!r} names its scheme's default port, which browsers "
            f"leave out of Origin: write {f'{scheme}://{name}'!r}"
        )
    if not name.isascii():
        # No suggestion made here: Python's idna codec follows IDNA 2003, which maps some
        # names (with a "ß", say) differently from browsers.
        raise ValueError(
            f"allow_origins: {origin!r} is not ASCII: browsers send an internationalised "
            "host name in its ASCII (punycode) form, as 'xn--...' labels; write that"
        )
    return lowered


def _check_token(name: str, argument: str) -> str:
    if name == "*" or is_token(name):
        return name
    raise ValueError(f"{argument}: {name!r} is not a valid HTTP method or header name")


def _compile(pattern: str | re.Pattern[str] | None) -> re.Pattern[str] | None:
    if pattern is None or isinstance(pattern, re.Pattern):
        if pattern is not None and not isinstance(pattern.pattern, str):
            raise TypeError("allow_origin_regex must be a str pattern, not a bytes one")
        return pattern
    try:
        return re.compile(pattern)
    except re.error as error:
        raise ValueError(
            f"allow_origin_regex {pattern!r} is not a valid regular expression: {error}"
        ) from error


def _merge(headers: Headers | None, added: Headers, vary: bool) -> Headers:
    """A new list: ``headers`` less the CORS headers ``added`` replaces, then ``added``.

    With ``vary``, the ``vary`` header lists ``Origin`` too (see `add_vary`).
    """
    if added:
        kept = [
            header for header in headers or () if header[0].lower() not in _CORS_RESPONSE_HEADERS
        ]
        kept.extend(added)
    else:
        kept = list(headers or ())
    return add_vary(kept, b"Origin") if vary else kept


def _show(value: bytes) -> str:
    """Quote a value from the request for a message, cut short if long."""
    text = value.decode("latin-1")
    return repr(text if len(text) <= 80 else text[:80] + "...")
