"""The Application: the ASGI entry point that dispatches each connection by scope type."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from .http import WatcherStarter, check_async, check_response, serve_http
from .lifespan import serve_lifespan
from .middleware import chain
from .mounting import forward_to_mount, route_path
from .routing import HttpRouter, WebSocketRouter
from .streaming import fixed_response
from .types import (
    ASGIApp,
    HttpChainedCallback,
    HttpMiddlewareCallback,
    HttpRequestCallback,
    HttpResponse,
    Info,
    LifespanRequestHandler,
    Receive,
    Scope,
    Send,
)
from .websocket import serve_websocket

H = TypeVar("H", bound=Callable[..., Any])


class Application:
    """An ASGI 3 application whose handlers are plain async functions.

    Every argument is keyword-only and optional: ``Application()`` is a working
    application that answers every request with a 404 until routes are added.

    Args:
        middlewares: Middleware run around every HTTP handler, the first outermost.
            404 and 405 responses go through it too.
        http_router: The router for HTTP requests; a new ``HttpRouter`` if None.
        web_socket_router: The router for WebSockets; a new ``WebSocketRouter`` if None.
        startup_handlers: ``async def h(scope, info, message)`` run in order at startup.
        shutdown_handlers: The same, run in order at shutdown.
        not_found_response: What to answer when no route matches the path: an HTTP
            handler, or a response tuple whose writer is None or made by
            ``text_writer`` / ``bytes_writer`` (which can be sent repeatedly).
        info: The dictionary passed to every handler; the very object given, not a copy.

    Raises:
        TypeError: a middleware, or a callable ``not_found_response``, is not an
            async function.

    Example:
        ```python
        app = Application(info={"visits": 0})

        @app.on_http_request({"GET"}, "/")
        async def index(scope, info, matches, content):
            info["visits"] += 1
            return text_response(200, None, f"Visit {info['visits']}")
        ```
    """

    def __init__(
        self,
        *,
        middlewares: list[HttpMiddlewareCallback] | None = None,
        http_router: HttpRouter | None = None,
        web_socket_router: WebSocketRouter | None = None,
        startup_handlers: list[LifespanRequestHandler] | None = None,
        shutdown_handlers: list[LifespanRequestHandler] | None = None,
        not_found_response: HttpRequestCallback | HttpResponse | None = None,
        info: Info | None = None,
    ) -> None:
        self._info: Info = info if info is not None else {}
        for middleware in middlewares or ():
            check_async(middleware, "middleware")
        self._middlewares = middlewares if middlewares is not None else []
        self._http_router = http_router if http_router is not None else HttpRouter()
        self._ws_router = web_socket_router if web_socket_router is not None else WebSocketRouter()
        self._startup_handlers = startup_handlers if startup_handlers is not None else []
        self._shutdown_handlers = shutdown_handlers if shutdown_handlers is not None else []
        if not_found_response is not None:
            self._http_router.not_found = _not_found_handler(not_found_response)
        self._mounts: list[tuple[str, ASGIApp]] = []
        # Chains are built once per handler and rebuilt only if the middleware list changes.
        self._chains: dict[HttpRequestCallback, HttpChainedCallback] = {}
        self._chained_middlewares: list[HttpMiddlewareCallback] = []
        self._watchers = WatcherStarter()

    @property
    def info(self) -> Info:
        """The dictionary shared by all handlers."""
        return self._info

    @property
    def middlewares(self) -> list[HttpMiddlewareCallback]:
        """The application-wide middleware, outermost first; changes take effect at once."""
        return self._middlewares

    @property
    def http_router(self) -> HttpRouter:
        """The HTTP router; register routes with ``add(methods, path, handler)``."""
        return self._http_router

    @property
    def ws_router(self) -> WebSocketRouter:
        """The WebSocket router; register routes with ``add(path, handler)``."""
        return self._ws_router

    @property
    def startup_handlers(self) -> list[LifespanRequestHandler]:
        """The startup handlers, run in order."""
        return self._startup_handlers

    @property
    def shutdown_handlers(self) -> list[LifespanRequestHandler]:
        """The shutdown handlers, run in order."""
        return self._shutdown_handlers

    @property
    def mounts(self) -> list[tuple[str, ASGIApp]]:
        """The mounted applications as ``(prefix, app)``, longest prefix first."""
        return self._mounts

    def mount(self, prefix: str, app: ASGIApp) -> None:
        """Serve another ASGI application under a path prefix.

        Requests whose path is ``prefix`` or starts with ``prefix + "/"`` go to
        ``app`` with ``prefix`` added to the scope's ``root_path`` (the path is
        left whole, as ASGI servers give it). An HTTP request for the prefix itself
        is redirected to ``prefix + "/"``, so pages using relative URLs work; a
        WebSocket connection to it, which cannot follow a redirect, goes to ``app``.
        Mounted applications receive lifespan events after this application's
        startup handlers and before its shutdown handlers.

        Args:
            prefix: The path prefix, such as ``"/api"``.
            app: Any ASGI 3 application, another ``Application`` included.

        Raises:
            ValueError: ``prefix`` does not start with ``/``, ends with ``/``, or is
                already mounted.
        """
        if not prefix.startswith("/") or prefix.endswith("/"):
            raise ValueError(f"mount {prefix!r}: the prefix must start, and not end, with '/'")
        if any(prefix == existing for existing, _ in self._mounts):
            raise ValueError(f"mount {prefix!r}: already mounted")
        self._mounts.append((prefix, app))
        self._mounts.sort(key=lambda mount: len(mount[0]), reverse=True)

    def on_http_request(self, methods: Iterable[str], path: str) -> Callable[[H], H]:
        """Decorate an HTTP handler to register it for ``methods`` at ``path``.

        The same as ``app.http_router.add(methods, path, handler)``, run when the
        handler is decorated (its errors are raised then); the decorated function
        is returned unchanged.

        Args:
            methods: The methods the route answers, such as ``{"GET", "POST"}``.
            path: The path template, such as ``"/items/{id:int}"``.

        Example:
            ```python
            @app.on_http_request({"GET"}, "/hello/{name}")
            async def hello(scope, info, matches, content):
                return text_response(200, None, f"Hello, {matches['name']}!")
            ```
        """

        def register(handler: H) -> H:
            self._http_router.add(methods, path, handler)
            return handler

        return register

    def on_ws_request(self, path: str) -> Callable[[H], H]:
        """Decorate a WebSocket handler to register it at ``path``.

        The same as ``app.ws_router.add(path, handler)``, run when the handler is
        decorated (its errors are raised then); the decorated function is
        returned unchanged.

        Args:
            path: The path template, such as ``"/ws/{room}"``.
        """

        def register(handler: H) -> H:
            self._ws_router.add(path, handler)
            return handler

        return register

    def on_startup(self, handler: H) -> H:
        """Register a startup handler and return it unchanged; used bare, as ``@app.on_startup``.

        Startup handlers run in the order they were added, before the server
        accepts requests. One that raises makes the server's startup fail.

        Args:
            handler: ``async def handler(scope, info, message)``.
        """
        self._startup_handlers.append(handler)
        return handler

    def on_shutdown(self, handler: H) -> H:
        """Register a shutdown handler and return it unchanged; used bare, as ``@app.on_shutdown``.

        Shutdown handlers run in the order they were added, after the server
        has stopped taking requests.

        Args:
            handler: ``async def handler(scope, info, message)``.
        """
        self._shutdown_handlers.append(handler)
        return handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            path = route_path(scope) if scope.get("root_path") else scope["path"]
            if self._mounts and await forward_to_mount(self._mounts, path, scope, receive, send):
                return
            handler, matches = self._http_router.resolve(scope["method"], path)
            if self._middlewares:
                handler = self._chain(handler)
            await serve_http(scope, receive, send, handler, matches, self._info, self._watchers)
        elif kind == "websocket":
            path = route_path(scope) if scope.get("root_path") else scope["path"]
            if self._mounts and await forward_to_mount(self._mounts, path, scope, receive, send):
                return
            found = self._ws_router.resolve(path)
            await serve_websocket(scope, receive, send, found, self._info)
        elif kind == "lifespan":
            await serve_lifespan(
                scope,
                receive,
                send,
                self._info,
                self._startup_handlers,
                self._shutdown_handlers,
                [app for _, app in self._mounts],
            )
        else:
            raise ValueError(f"bareasgi does not handle the ASGI scope type {kind!r}")

    def _chain(self, handler: HttpRequestCallback) -> HttpChainedCallback:
        if self._chained_middlewares != self._middlewares:
            self._chains.clear()
            self._chained_middlewares = list(self._middlewares)
        chained = self._chains.get(handler)
        if chained is None:
            chained = self._chains[handler] = chain(self._middlewares, handler)
        return chained


def _not_found_handler(response: HttpRequestCallback | HttpResponse) -> HttpRequestCallback:
    if callable(response):
        check_async(response, "not_found_response")
        return response
    # The framework's check of every response, made once here: a response it would refuse
    # would be a 500 for every unknown path.
    try:
        return fixed_response(*check_response(response, "not_found_response"))
    except (TypeError, ValueError) as problem:
        raise type(problem)(f"not_found_response: {problem}") from None
