"""bareasgi: a lightweight ASGI framework whose handlers are plain async functions."""

from .application import Application
from .errors import ClientDisconnect, HTTPError
from .middleware import mw
from .request import RequestBody, bytes_reader, json_reader, text_reader
from .routing import HttpRouter, PathTemplate, WebSocketRouter
from .streaming import (
    BodyWriter,
    bytes_response,
    bytes_writer,
    json_response,
    text_response,
    text_writer,
)
from .types import (
    ASGIApp,
    Content,
    Header,
    Headers,
    HttpChainedCallback,
    HttpFullResponse,
    HttpMiddlewareCallback,
    HttpRequestCallback,
    HttpResponse,
    Info,
    LifespanRequestHandler,
    Message,
    PushResponse,
    PushResponses,
    Receive,
    RouteMatches,
    Scope,
    Send,
    Writer,
)
from .websocket import WebSocket, WebSocketRequestCallback, WebSocketState

__all__ = [
    "ASGIApp",
    "Application",
    "BodyWriter",
    "ClientDisconnect",
    "Content",
    "HTTPError",
    "Header",
    "Headers",
    "HttpChainedCallback",
    "HttpFullResponse",
    "HttpMiddlewareCallback",
    "HttpRequestCallback",
    "HttpResponse",
    "HttpRouter",
    "Info",
    "LifespanRequestHandler",
    "Message",
    "PathTemplate",
    "PushResponse",
    "PushResponses",
    "Receive",
    "RequestBody",
    "RouteMatches",
    "Scope",
    "Send",
    "WebSocket",
    "WebSocketRequestCallback",
    "WebSocketRouter",
    "WebSocketState",
    "Writer",
    "bytes_reader",
    "bytes_response",
    "bytes_writer",
    "json_reader",
    "json_response",
    "mw",
    "text_reader",
    "text_response",
    "text_writer",
]


# The original bareASGI's cookie helpers came from bareutils; these are in bareasgi.cookies.
_MOVED = {
    "encode_set_cookie": "bareasgi.cookies.set_cookie (or expire_cookie)",
    "decode_cookies": "bareasgi.cookies.request_cookies (or parse_cookie_header)",
    "encode_cookies": "http.cookies.SimpleCookie, from the standard library",
    "decode_set_cookie": "http.cookies.SimpleCookie, from the standard library",
}


def __getattr__(name: str) -> object:
    moved = _MOVED.get(name)
    if moved is None:
        raise AttributeError(f"module 'bareasgi' has no attribute {name!r}")
    # ImportError, not AttributeError: "from bareasgi import ..." would replace the
    # message of an AttributeError with its own, losing the pointer.
    raise ImportError(
        f"bareasgi has no {name}, the original's cookie helper: use {moved}; the "
        "cookie helpers are in bareasgi.cookies",
        name=name,
    )
