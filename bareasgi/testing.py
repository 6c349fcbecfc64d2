"""An in-process test client that drives an ASGI application with no server and no network.

It speaks ASGI to the application the way a server does, and checks the
application's side of the protocol as it goes: a response that is never
finished, a message sent after the response ended, or an exception that escapes
the application fails the test with a clear ``ProtocolError`` or the
exception itself. ::

    async with TestClient(app) as client:          # runs lifespan startup and shutdown
        response = await client.get("/info")
        assert response.status == 200
        assert response.json() == {"name": "Michael Caine"}
"""

from __future__ import annotations

import asyncio
import json as json_module
import os
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping
from typing import Any, Literal
from urllib.parse import quote, unquote

from .types import ASGIApp, Message
from .websocket import _close_code, _close_reason

__all__ = [
    "DISCONNECT",
    "LifespanFailure",
    "ProtocolError",
    "Response",
    "ResponseHeaders",
    "StreamingResponse",
    "TestClient",
    "WebSocketClosed",
    "WebSocketRejected",
    "WebSocketSession",
]

RequestHeaders = Mapping[str, str] | Iterable[tuple[bytes | str, bytes | str]]
Body = bytes | str | AsyncIterable[Any] | None

DISCONNECT: Any = object()
"""Yield this from a request body iterable to make the client disconnect at that point."""

_APP_DONE: Any = object()


class ProtocolError(AssertionError):
    """The application broke the ASGI protocol, and the test fails with this.

    For example: it returned without finishing a response, sent a message after
    the response ended, or kept running past the client's ``timeout``. It is an
    ``AssertionError``, so pytest reports it as a failed assertion.
    """


class LifespanFailure(RuntimeError):
    """The application reported ``lifespan.startup.failed`` or ``lifespan.shutdown.failed``.

    Raised on entering or leaving ``async with TestClient(app)``; its message is
    the one the application sent, naming the handler's error.
    """


class WebSocketRejected(Exception):
    """The application closed the WebSocket before accepting it (a server answers 403).

    Raised on entering ``async with client.websocket(path)``, for example for a
    path no WebSocket route matches.

    Args:
        code: The close code the application sent.

    Attributes:
        code: The close code the application sent.
    """

    def __init__(self, code: int) -> None:
        super().__init__(f"the WebSocket was rejected with close code {code}")
        self.code = code


class WebSocketClosed(Exception):
    """The application closed the WebSocket while the test waited for a message.

    Raised by `WebSocketSession.receive`. A handler that raised closes with
    ``1011``.

    Args:
        code: The close code the application sent.
        reason: The close reason the application sent.

    Attributes:
        code: The close code the application sent.
        reason: The close reason the application sent.
    """

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"the application closed the WebSocket with code {code} {reason!r}")
        self.code = code
        self.reason = reason


class ResponseHeaders:
    """Response headers with case-insensitive lookup by ``str`` name.

    ``headers["content-type"]`` is the first value (``KeyError`` if there is
    none), ``"etag" in headers`` tests for one, and ``len(headers)`` counts the
    pairs.

    Args:
        raw: The ``(bytes, bytes)`` pairs the application sent.

    Attributes:
        raw: The pairs exactly as the application sent them, in order.
    """

    def __init__(self, raw: Iterable[tuple[bytes, bytes]]) -> None:
        self.raw = list(raw)

    def get_all(self, name: str) -> list[str]:
        """All values of the header ``name``, in order.

        Args:
            name: The header name, in any letter case.

        Returns:
            The values decoded as Latin-1; an empty list if there are none.
        """
        key = name.lower().encode("latin-1")
        return [value.decode("latin-1") for item, value in self.raw if item.lower() == key]

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of the header ``name``, or ``default``.

        Args:
            name: The header name, in any letter case.
            default: What to return when there is no such header.
        """
        values = self.get_all(name)
        return values[0] if values else default

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and bool(self.get_all(name))

    def __len__(self) -> int:
        return len(self.raw)

    def __repr__(self) -> str:
        return f"ResponseHeaders({self.raw!r})"


class Response:
    """A complete HTTP response, as `TestClient.request` returns it.

    Args:
        status: The status code.
        headers: The headers.
        body: The whole body.
        pushes: The HTTP/2 pushes sent.
        messages: The ASGI messages the application sent.

    Attributes:
        status: The status code, or 0 if the client disconnected before the response started.
        headers: The headers, looked up case-insensitively.
        body: The whole body.
        pushes: The HTTP/2 pushes sent, as ``(path, headers)``.
        messages: Every ASGI message the application sent, in order.
    """

    def __init__(
        self,
        status: int,
        headers: ResponseHeaders,
        body: bytes,
        pushes: list[tuple[str, list[tuple[bytes, bytes]]]],
        messages: list[Message],
    ) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.pushes = pushes
        self.messages = messages

    @property
    def text(self) -> str:
        """The body decoded as UTF-8."""
        return self.body.decode("utf-8")

    def json(self) -> Any:
        """The body parsed as JSON.

        Raises:
            json.JSONDecodeError: the body is not JSON.
        """
        return json_module.loads(self.body)

    def __repr__(self) -> str:
        return f"<Response {self.status} {len(self.body)} bytes>"


class _Exchange:
    """One HTTP request: the ``receive`` and ``send`` the application is given."""

    def __init__(self, app: ASGIApp, scope: dict[str, Any], body: Body) -> None:
        self.scope = scope
        self.body = body
        self.disconnected = asyncio.Event()
        self.started = asyncio.Event()
        self.finished = False
        self.status = 0
        self.headers = ResponseHeaders(())
        self.pushes: list[tuple[str, list[tuple[bytes, bytes]]]] = []
        self.messages: list[Message] = []
        self.chunks: asyncio.Queue[Any] = asyncio.Queue()
        self._body_iterator: AsyncIterator[Any] | None = None
        self._body_done = False
        self._receiving = False
        self._start_sent = False
        self.task = asyncio.ensure_future(app(scope, self.receive, self.send))
        self.task.add_done_callback(self._app_done)

    def _app_done(self, _: object) -> None:
        self.started.set()
        self.chunks.put_nowait(_APP_DONE)

    async def receive(self) -> Message:
        if self._receiving:
            raise ProtocolError("the application awaited receive() twice at the same time")
        self._receiving = True
        try:
            return await self._receive()
        finally:
            self._receiving = False

    async def _receive(self) -> Message:
        if not self._body_done and not self.disconnected.is_set():
            chunk, more = await self._next_body_chunk()
            if chunk is DISCONNECT:
                self.disconnected.set()
            else:
                self._body_done = not more
                return {"type": "http.request", "body": chunk, "more_body": more}
        await self.disconnected.wait()
        return {"type": "http.disconnect"}

    async def _next_body_chunk(self) -> tuple[Any, bool]:
        body = self.body
        if body is None or isinstance(body, (bytes, str)):
            data = body.encode("utf-8") if isinstance(body, str) else body or b""
            return data, False
        if self._body_iterator is None:
            self._body_iterator = aiter(body)
        try:
            chunk = await anext(self._body_iterator)
        except StopAsyncIteration:
            return b"", False
        if chunk is DISCONNECT:
            return chunk, False
        return (chunk.encode("utf-8") if isinstance(chunk, str) else bytes(chunk)), True

    async def send(self, message: Message) -> None:
        self.messages.append(message)
        kind = message["type"]
        if self.finished:
            raise ProtocolError(f"the application sent {kind!r} after the response finished")
        # Once the client has gone nothing is delivered, but the messages must still make
        # a valid response: a server checks them whether or not anyone is listening.
        delivered = not self.disconnected.is_set()
        if kind == "http.response.start":
            if self._start_sent:
                raise ProtocolError("the application started the response twice")
            _check_start(message)
            self._start_sent = True
            if delivered:
                self.status = message["status"]
                self.headers = ResponseHeaders(message.get("headers") or [])
                self.started.set()
        elif not self._start_sent:
            raise ProtocolError(f"the application sent {kind!r} before http.response.start")
        elif kind == "http.response.push":
            if delivered:
                self.pushes.append((message["path"], list(message["headers"])))
        elif kind == "http.response.pathsend":
            path = message["path"]
            if not os.path.isabs(path):
                raise ProtocolError(f"http.response.pathsend needs an absolute path, not {path!r}")
            if "http.response.pathsend" not in (self.scope.get("extensions") or {}):
                raise ProtocolError("the application used pathsend, which was not offered")
            if delivered:
                with open(path, "rb") as file:  # as a server would, send the file itself
                    self.chunks.put_nowait(file.read())
            self.finished = True
            self.disconnected.set()
        elif kind == "http.response.body":
            body = message.get("body", b"")
            if not isinstance(body, bytes):
                raise ProtocolError(f"the response body must be bytes, not {type(body).__name__}")
            if delivered:
                self.chunks.put_nowait(body)
            if not message.get("more_body", False):
                self.finished = True
                # A server reports the connection as done once the response is complete.
                self.disconnected.set()
        else:
            raise ProtocolError(f"the application sent an unknown message type {kind!r}")

    async def wait_for_app(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(asyncio.shield(self.task), timeout)
        except asyncio.TimeoutError:
            self.task.cancel()
            raise ProtocolError(
                f"the application was still running {timeout} s after the client stopped waiting"
            ) from None
        if not self.finished and not self.disconnected.is_set():
            raise ProtocolError("the application returned without finishing the response")


class StreamingResponse:
    """A response read while the application produces it.

    ``async for chunk in response`` yields each body chunk as the application
    sends it; ``disconnect`` makes the client go away. `TestClient.stream`
    makes it; you do not create it yourself.

    Args:
        exchange: The request in flight.
        timeout: Seconds to wait for each chunk.

    Attributes:
        status: The status code.
        headers: The headers, a `ResponseHeaders`.
        pushes: The HTTP/2 pushes sent before the body.

    Example:
        ```python
        async with client.stream("GET", "/ticks?count=100") as response:
            async for chunk in response:
                break  # leaving the block disconnects the client
        ```
    """

    def __init__(self, exchange: _Exchange, timeout: float) -> None:
        self._exchange = exchange
        self._timeout = timeout
        self.status = exchange.status
        self.headers = exchange.headers
        self.pushes = exchange.pushes

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        exchange = self._exchange
        while True:
            chunk = await asyncio.wait_for(exchange.chunks.get(), self._timeout)
            if chunk is _APP_DONE:
                await exchange.wait_for_app(self._timeout)
                return
            if chunk:
                yield chunk
            if exchange.finished and exchange.chunks.empty():
                return

    async def read(self) -> bytes:
        """Read the rest of the body.

        Raises:
            TimeoutError: a chunk took longer than the client's ``timeout``.
        """
        return b"".join([chunk async for chunk in self])

    async def disconnect(self) -> None:
        """Disconnect the client, then wait for the application to stop.

        Raises:
            ProtocolError: the application was still running ``timeout``
                seconds later.
        """
        self._exchange.disconnected.set()
        await self._exchange.wait_for_app(self._timeout)

    @property
    def finished(self) -> bool:
        """True once the application has sent the last body message."""
        return self._exchange.finished


class _Stream:
    def __init__(self, exchange: _Exchange, timeout: float) -> None:
        self._exchange = exchange
        self._timeout = timeout

    async def __aenter__(self) -> StreamingResponse:
        exchange = self._exchange
        await asyncio.wait_for(exchange.started.wait(), self._timeout)
        if exchange.task.done():
            await exchange.wait_for_app(self._timeout)
        return StreamingResponse(exchange, self._timeout)

    async def __aexit__(self, *exc_info: object) -> None:
        exchange = self._exchange
        if not exchange.finished:
            exchange.disconnected.set()
        await exchange.wait_for_app(self._timeout)


class WebSocketSession:
    """The client side of an in-process WebSocket conversation.

    ``async with client.websocket(path) as session`` gives one, already
    accepted; leaving the block closes it from the client side.

    Args:
        app: The application.
        scope: The WebSocket scope.
        timeout: Seconds to wait for the application.

    Attributes:
        subprotocol: The subprotocol the application accepted with, or None.
        accept_headers: The headers the application accepted with.
        close_code: The code the application closed with, once it has.
        close_reason: The reason the application closed with, once it has.

    Example:
        ```python
        async with client.websocket("/ws") as session:
            await session.send("Hello")
            assert await session.receive() == "You said: Hello"
        ```
    """

    def __init__(self, app: ASGIApp, scope: dict[str, Any], timeout: float) -> None:
        self._timeout = timeout
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Any] = asyncio.Queue()
        self._to_app.put_nowait({"type": "websocket.connect"})
        self.subprotocol: str | None = None
        self.accept_headers: list[tuple[bytes, bytes]] = []
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self._offered: list[str] = list(scope.get("subprotocols") or [])
        self._client_closed = False
        self._accepted = False
        self._app_closed = False
        self._receiving = False
        self._task = asyncio.ensure_future(app(scope, self._receive, self._send))
        self._task.add_done_callback(lambda _: self._from_app.put_nowait(_APP_DONE))

    async def _receive(self) -> Message:
        # ASGI allows one pending receive() at a time, as for HTTP.
        if self._receiving:
            raise ProtocolError("the application awaited receive() twice at the same time")
        self._receiving = True
        try:
            return await self._to_app.get()
        finally:
            self._receiving = False

    async def _send(self, message: Message) -> None:
        if self._client_closed:
            raise OSError("the client has closed the WebSocket")
        if self._app_closed:
            raise ProtocolError(f"the application sent {message['type']!r} after closing")
        kind = message["type"]
        if kind == "websocket.accept":
            # A client fails the connection then: browsers and the websockets library
            # refuse the handshake; hypercorn and uvicorn with wsproto fail themselves.
            chosen = message.get("subprotocol")
            if chosen is not None and chosen not in self._offered:
                raise ProtocolError(
                    f"the application accepted with the subprotocol {chosen!r}, which the "
                    f"client did not offer ({self._offered})"
                )
            self._accepted = True
        elif kind == "websocket.close" and self._accepted:
            # Before the accept, a server answers 403 whatever the code; after it, a code
            # or reason no client accepts fails the connection (see WebSocket.close).
            try:
                _close_code(message.get("code", 1000))
                _close_reason(message.get("reason") or "")
            except ValueError as problem:
                message_text = f"the application closed the WebSocket badly: {problem}"
                raise ProtocolError(message_text) from None
        self._app_closed = kind == "websocket.close"
        self._from_app.put_nowait(message)

    async def _next(self) -> Message:
        message: Message = await asyncio.wait_for(self._from_app.get(), self._timeout)
        if message is _APP_DONE:
            await self._task  # re-raises what escaped the application
            raise ProtocolError("the application returned without closing the WebSocket")
        if message["type"] == "websocket.close":
            self.close_code = message.get("code", 1000)
            self.close_reason = message.get("reason") or ""
        return message

    async def _open(self) -> WebSocketSession:
        message = await self._next()
        if message["type"] == "websocket.close":
            await self._finish()
            raise WebSocketRejected(self.close_code or 1000)
        if message["type"] != "websocket.accept":
            raise ProtocolError(f"expected websocket.accept, got {message['type']!r}")
        self.subprotocol = message.get("subprotocol")
        self.accept_headers = list(message.get("headers") or [])
        return self

    async def send(self, data: str | bytes) -> None:
        """Send a text or binary message to the application.

        Args:
            data: A ``str`` is sent as a text message, ``bytes`` as binary.
        """
        key = "text" if isinstance(data, str) else "bytes"
        await self._to_app.put({"type": "websocket.receive", key: data})

    async def receive(self) -> str | bytes:
        """The next message the application sends.

        Returns:
            A ``str`` for a text message, ``bytes`` for a binary one.

        Raises:
            WebSocketClosed: the application closed the socket instead.
            ProtocolError: the application returned without closing, or sent
                nothing within ``timeout`` seconds.
        """
        message = await self._next()
        if message["type"] == "websocket.close":
            raise WebSocketClosed(self.close_code or 1000, self.close_reason or "")
        if message["type"] != "websocket.send":
            raise ProtocolError(f"unexpected message {message['type']!r}")
        text = message.get("text")
        return text if text is not None else bytes(message.get("bytes") or b"")

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close from the client side, then wait for the application to finish.

        Args:
            code: The close code the client sends.
            reason: The close reason the client sends.

        Raises:
            ProtocolError: the handler was still running ``timeout`` seconds
                later.
        """
        if not self._client_closed and self.close_code is None:
            self._client_closed = True
            await self._to_app.put({"type": "websocket.disconnect", "code": code, "reason": reason})
        await self._finish()

    async def _finish(self) -> None:
        try:
            await asyncio.wait_for(asyncio.shield(self._task), self._timeout)
        except asyncio.TimeoutError:
            self._task.cancel()
            raise ProtocolError("the WebSocket handler did not finish after the close") from None


class _WebSocketConnect:
    def __init__(self, session: WebSocketSession) -> None:
        self._session = session

    async def __aenter__(self) -> WebSocketSession:
        return await self._session._open()

    async def __aexit__(self, *exc_info: object) -> None:
        await self._session.close()


class TestClient:
    """Drive an ASGI application in process.

    Args:
        app: The application.
        server_push: Offer the ``http.response.push`` extension, as an HTTP/2 server does.
        pathsend: Offer the ``http.response.pathsend`` extension, as some servers do: the
            application may then hand over a file's path, and the client reads the file.
        root_path: The ASGI ``root_path`` to put in every scope; as uvicorn does, the
            request path is given with it in front.
        timeout: Seconds to wait for the application before failing with
            ``ProtocolError`` instead of hanging the test.

    ``async with TestClient(app) as client`` runs lifespan startup on entry and
    shutdown on exit; without ``async with`` no lifespan events are sent.

    Attributes:
        app: The application.
        server_push: Whether the push extension is offered.
        pathsend: Whether the pathsend extension is offered.
        root_path: The ``root_path`` put in every scope.
        timeout: Seconds to wait for the application.

    Raises:
        LifespanFailure: on entry or exit, when a startup or shutdown handler
            failed.

    Example:
        ```python
        async with TestClient(app) as client:
            response = await client.post("/info", json={"born": 1933})
            assert response.status == 204
        ```
    """

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        app: ASGIApp,
        *,
        server_push: bool = False,
        pathsend: bool = False,
        root_path: str = "",
        timeout: float = 30.0,
    ) -> None:
        self.app = app
        self.server_push = server_push
        self.pathsend = pathsend
        self.root_path = root_path
        self.timeout = timeout
        self._lifespan_task: asyncio.Task[None] | None = None
        self._lifespan_in: asyncio.Queue[Message] = asyncio.Queue()
        self._lifespan_out: asyncio.Queue[Any] = asyncio.Queue()

    async def __aenter__(self) -> TestClient:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
        self._lifespan_task = asyncio.ensure_future(
            self.app(scope, self._lifespan_in.get, self._lifespan_out.put)
        )
        self._lifespan_task.add_done_callback(lambda _: self._lifespan_out.put_nowait(_APP_DONE))
        await self._lifespan("startup")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._lifespan("shutdown")

    async def _lifespan(self, phase: Literal["startup", "shutdown"]) -> None:
        task = self._lifespan_task
        if task is None or task.done():
            return
        await self._lifespan_in.put({"type": f"lifespan.{phase}"})
        message = await asyncio.wait_for(self._lifespan_out.get(), self.timeout)
        if message is _APP_DONE:
            await task  # re-raises what escaped the application, failing the test
            raise ProtocolError("the application returned during lifespan without answering")
        if message["type"] == f"lifespan.{phase}.failed":
            raise LifespanFailure(message.get("message", ""))
        if message["type"] != f"lifespan.{phase}.complete":
            raise ProtocolError(f"unexpected lifespan message {message['type']!r}")
        if phase == "shutdown":
            await asyncio.wait_for(task, self.timeout)

    def _http_scope(
        self,
        method: str,
        path: str,
        headers: RequestHeaders | None,
        extra: list[tuple[bytes, bytes]],
    ) -> dict[str, Any]:
        path, _, query = path.partition("?")
        raw_headers = [(b"host", b"testserver"), *_encode_headers(headers), *extra]
        return {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "2" if self.server_push else "1.1",
            "method": method.upper(),
            "scheme": "http",
            "path": self.root_path + unquote(path),
            "raw_path": quote(self.root_path + unquote(path)).encode("ascii"),
            "query_string": _query_bytes(query),
            "root_path": self.root_path,
            "headers": raw_headers,
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
            "extensions": self._extensions(),
        }

    def _extensions(self) -> dict[str, dict[str, Any]]:
        extensions: dict[str, dict[str, Any]] = {}
        if self.server_push:
            extensions["http.response.push"] = {}
        if self.pathsend:
            extensions["http.response.pathsend"] = {}
        return extensions

    def _exchange(
        self, method: str, path: str, headers: RequestHeaders | None, body: Body, json: Any
    ) -> _Exchange:
        extra: list[tuple[bytes, bytes]] = []
        if json is not None:
            body = json_module.dumps(json).encode("utf-8")
            extra.append((b"content-type", b"application/json"))
        if isinstance(body, str):
            body = body.encode("utf-8")
        if isinstance(body, bytes):
            extra.append((b"content-length", str(len(body)).encode("ascii")))
        elif body is not None:
            extra.append((b"transfer-encoding", b"chunked"))
        return _Exchange(self.app, self._http_scope(method, path, headers, extra), body)

    async def request(
        self,
        method: str,
        path: str,
        *,
        headers: RequestHeaders | None = None,
        body: Body = None,
        json: Any = None,
    ) -> Response:
        """Send a request and wait for the whole response.

        Args:
            method: The HTTP method.
            path: The path, optionally with ``?query``; percent-escapes are decoded
                into ``scope['path']`` as a server does. The query goes into
                ``scope['query_string']`` as a client sends it: non-ASCII text as
                UTF-8 and spaces percent-escaped.
            headers: A dict or a list of pairs (``str`` or ``bytes``).
            body: ``bytes``, ``str``, or an async iterable of chunks, each sent as a
                separate ASGI message (yield ``DISCONNECT`` to disconnect there).
            json: An object to send as a JSON body with its content type.

        Returns:
            The whole response. If the client disconnected (a body that
            yielded ``DISCONNECT``) before the response started, its status
            is 0.

        Raises:
            ProtocolError: the application broke the ASGI protocol or did not
                finish within ``timeout`` seconds.
            Exception: whatever escaped the application, re-raised.
        """
        exchange = self._exchange(method, path, headers, body, json)
        await exchange.wait_for_app(self.timeout)
        chunks = []
        while not exchange.chunks.empty():
            chunk = exchange.chunks.get_nowait()
            if chunk is not _APP_DONE:
                chunks.append(chunk)
        return Response(
            exchange.status, exchange.headers, b"".join(chunks), exchange.pushes, exchange.messages
        )

    def stream(
        self,
        method: str,
        path: str,
        *,
        headers: RequestHeaders | None = None,
        body: Body = None,
        json: Any = None,
    ) -> _Stream:
        """Send a request and read the response as it streams: ``async with client.stream(...)``.

        Leaving the block before the response has finished disconnects the client.

        Args:
            method: The HTTP method.
            path: The path, optionally with ``?query``.
            headers: A dict or a list of pairs (``str`` or ``bytes``).
            body: The request body, as for `request`.
            json: An object to send as a JSON body with its content type.

        Returns:
            An async context manager whose value is a `StreamingResponse`,
            available once the status and headers have arrived.
        """
        return _Stream(self._exchange(method, path, headers, body, json), self.timeout)

    async def get(self, path: str, **kwargs: Any) -> Response:
        """Send a GET request and wait for the whole response.

        Args:
            path: The path, optionally with ``?query``.
            **kwargs: ``headers``, ``body`` or ``json``, as for `request`.
        """
        return await self.request("GET", path, **kwargs)

    async def head(self, path: str, **kwargs: Any) -> Response:
        """Send a HEAD request and wait for the whole response.

        Args:
            path: The path, optionally with ``?query``.
            **kwargs: ``headers``, ``body`` or ``json``, as for `request`.
        """
        return await self.request("HEAD", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Response:
        """Send a POST request and wait for the whole response.

        Args:
            path: The path, optionally with ``?query``.
            **kwargs: ``headers``, ``body`` or ``json``, as for `request`.
        """
        return await self.request("POST", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> Response:
        """Send a PUT request and wait for the whole response.

        Args:
            path: The path, optionally with ``?query``.
            **kwargs: ``headers``, ``body`` or ``json``, as for `request`.
        """
        return await self.request("PUT", path, **kwargs)

    async def patch(self, path: str, **kwargs: Any) -> Response:
        """Send a PATCH request and wait for the whole response.

        Args:
            path: The path, optionally with ``?query``.
            **kwargs: ``headers``, ``body`` or ``json``, as for `request`.
        """
        return await self.request("PATCH", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> Response:
        """Send a DELETE request and wait for the whole response.

        Args:
            path: The path, optionally with ``?query``.
            **kwargs: ``headers``, ``body`` or ``json``, as for `request`.
        """
        return await self.request("DELETE", path, **kwargs)

    async def options(self, path: str, **kwargs: Any) -> Response:
        """Send an OPTIONS request and wait for the whole response.

        Args:
            path: The path, optionally with ``?query``.
            **kwargs: ``headers``, ``body`` or ``json``, as for `request`.
        """
        return await self.request("OPTIONS", path, **kwargs)

    def websocket(
        self,
        path: str,
        *,
        subprotocols: list[str] | None = None,
        headers: RequestHeaders | None = None,
    ) -> _WebSocketConnect:
        """Open a WebSocket: ``async with client.websocket("/ws") as ws``.

        Args:
            path: The path, optionally with ``?query``.
            subprotocols: The subprotocols the client offers.
            headers: A dict or a list of pairs (``str`` or ``bytes``).

        Returns:
            An async context manager whose value is a `WebSocketSession`.

        Raises:
            WebSocketRejected: on entry, if the application closes before accepting.
        """
        path, _, query = path.partition("?")
        scope = {
            "type": "websocket",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "scheme": "ws",
            "path": self.root_path + unquote(path),
            "raw_path": quote(self.root_path + unquote(path)).encode("ascii"),
            "query_string": _query_bytes(query),
            "root_path": self.root_path,
            "headers": [(b"host", b"testserver"), *_encode_headers(headers)],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
            "subprotocols": list(subprotocols or []),
            "extensions": {},
        }
        return _WebSocketConnect(WebSocketSession(self.app, scope, self.timeout))


def _check_start(message: Message) -> None:
    # What a server needs to send the response at all.
    status = message.get("status")
    if isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599:
        raise ProtocolError(f"the status must be an int from 200 to 599, not {status!r}")
    for pair in message.get("headers") or ():
        if not (
            isinstance(pair, (tuple, list))
            and len(pair) == 2
            and all(isinstance(item, bytes) for item in pair)
        ):
            raise ProtocolError(f"headers must be (bytes, bytes) pairs, not {pair!r:.80}")


def _query_bytes(query: str) -> bytes:
    # As an HTTP client sends it (httpx, browsers): text beyond ASCII in UTF-8, and spaces,
    # percent-escaped; escapes already there, and the query's own delimiters, kept.
    return quote(query, safe="!$%&'()*+,/:;=?@[]~").encode("ascii")


def _encode_headers(headers: RequestHeaders | None) -> list[tuple[bytes, bytes]]:
    if headers is None:
        return []
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    return [
        (
            (name.encode("latin-1") if isinstance(name, str) else name).lower(),
            value.encode("latin-1") if isinstance(value, str) else value,
        )
        for name, value in pairs
    ]
