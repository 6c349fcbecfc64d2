"""Middleware chains, application-wide and route-local.

Middleware is ``async def middleware(scope, info, matches, content, handler)``.
The ``handler`` it receives always returns the full ``(status, headers, writer,
pushes)`` tuple, whatever the handler behind it returned, so middleware can
inspect or change the response without checking its shape. An ``HTTPError``
raised further in arrives as its response tuple too, and any other exception as
the plain 500 response (logged where it was raised), so middleware that adds
headers (CORS, timing) adds them to error responses as well.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence

from .errors import ClientDisconnect
from .http import check_async, error_response, full_response
from .types import (
    Content,
    HttpChainedCallback,
    HttpFullResponse,
    HttpMiddlewareCallback,
    HttpRequestCallback,
    HttpResponse,
    Info,
    RouteMatches,
    Scope,
)


def _link(
    callback: Callable[..., Awaitable[HttpResponse]], inner: HttpChainedCallback | None
) -> HttpChainedCallback:
    """The handler (``inner`` None) or a middleware given ``inner``, returning the full tuple."""

    async def call(
        scope: Scope, info: Info, matches: RouteMatches, content: Content
    ) -> HttpFullResponse:
        try:
            if inner is None:
                response = await callback(scope, info, matches, content)
            else:
                response = await callback(scope, info, matches, content, inner)
            return full_response(response, callback)
        except ClientDisconnect:
            raise
        except Exception as error:
            return error_response(error, callback, scope)

    return call


def chain(
    middlewares: Sequence[HttpMiddlewareCallback], handler: HttpRequestCallback
) -> HttpChainedCallback:
    """Wrap ``handler`` so the first middleware runs outermost and the handler innermost."""
    call = _link(handler, None)
    for middleware in reversed(middlewares):
        call = _link(middleware, call)
    # Log lines name the handler, not this wrapper.
    return functools.update_wrapper(call, handler, updated=())


def mw(*middlewares: HttpMiddlewareCallback, handler: HttpRequestCallback) -> HttpChainedCallback:
    """Build a middleware chain around one handler, for one route.

    ``mw(a, b, handler=h)`` runs ``a`` around ``b`` around ``h``. The
    application-wide middleware still runs outside this chain.

    Args:
        *middlewares: ``async def middleware(scope, info, matches, content,
            handler)`` functions, the first outermost.
        handler: The route's HTTP handler, innermost; keyword-only.

    Returns:
        An HTTP handler to register on a route. Like the ``handler`` middleware
        receives, it always returns the full tuple, errors included.

    Raises:
        TypeError: a middleware or the handler is not an async function.

    Example:
        ```python
        async def require_token(scope, info, matches, content, handler):
            if (b"authorization", b"Bearer let-me-in") not in scope["headers"]:
                return text_response(401, None, "Who are you?")
            return await handler(scope, info, matches, content)

        app.http_router.add({"GET"}, "/secret", mw(require_token, handler=secret))
        ```
    """
    for middleware in middlewares:
        check_async(middleware, "middleware")
    check_async(handler, "mw(): the handler")
    return chain(middlewares, handler)
