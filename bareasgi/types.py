"""Type aliases for annotating applications, handlers and middleware."""

from __future__ import annotations

from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
"""The ASGI connection scope, passed through from the server untouched."""

Message = MutableMapping[str, Any]
"""One ASGI event, received from or sent to the server."""

Receive = Callable[[], Awaitable[Message]]
"""The ASGI ``receive`` callable."""

Send = Callable[[Message], Awaitable[None]]
"""The ASGI ``send`` callable."""

ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
"""Any ASGI 3 application."""

Info = dict[str, Any]
"""The application-wide dictionary shared by every handler."""

RouteMatches = dict[str, Any]
"""Path variables by name, already converted to their declared types."""

Content = AsyncIterable[bytes]
"""The request body, as an async iterator over the chunks the server receives."""

Header = tuple[bytes, bytes]
"""One header as ASGI carries it: a lower-case name and a value, both bytes."""

Headers = list[Header]
"""A list of headers, passed to the server untouched."""

Writer = AsyncIterable[bytes]
"""A response body: an async iterator of byte chunks, each sent as it is yielded."""

PushResponse = tuple[str, Headers]
"""An HTTP/2 server push: the path to push and its request headers."""

PushResponses = Iterable[PushResponse]
"""The pushes to send with a response."""

HttpFullResponse = tuple[int, Headers | None, Writer | None, PushResponses | None]
"""The full response tuple ``(status, headers, writer, pushes)`` middleware receives."""

HttpResponse = (
    int
    | tuple[int]
    | tuple[int, Headers | None]
    | tuple[int, Headers | None, Writer | None]
    | HttpFullResponse
)
"""What an HTTP handler may return: a status, or a tuple of 1 to 4 response items."""

HttpRequestCallback = Callable[[Scope, Info, RouteMatches, Content], Awaitable[HttpResponse]]
"""An HTTP handler: ``async def handler(scope, info, matches, content)``."""

HttpChainedCallback = Callable[[Scope, Info, RouteMatches, Content], Awaitable[HttpFullResponse]]
"""The next handler as middleware sees it: it always returns the full 4-tuple."""

HttpMiddlewareCallback = Callable[
    [Scope, Info, RouteMatches, Content, HttpChainedCallback], Awaitable[HttpResponse]
]
"""Middleware: ``async def middleware(scope, info, matches, content, handler)``."""

LifespanRequestHandler = Callable[[Scope, Info, Message], Awaitable[None]]
"""A startup or shutdown handler: ``async def handler(scope, info, message)``."""
