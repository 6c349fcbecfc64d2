"""The WebSocket object handlers receive, and one WebSocket exchange."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping

from .errors import ClientDisconnect
from .http import handler_name, header_problem
from .types import Headers, Info, Message, Receive, RouteMatches, Scope, Send

logger = logging.getLogger("bareasgi")


class WebSocketState(enum.Enum):
    """Where a WebSocket conversation stands."""

    CONNECTING = "connecting"
    """The client asked to connect; the handler has not accepted yet."""
    ACCEPTED = "accepted"
    """Messages can flow both ways."""
    CLOSED = "closed"
    """The application closed the socket."""
    DISCONNECTED = "disconnected"
    """The client closed the socket or went away."""


# Enum attribute lookups are slow; the hot paths compare against these.
_CONNECTING = WebSocketState.CONNECTING
_ACCEPTED = WebSocketState.ACCEPTED
_CLOSED = WebSocketState.CLOSED
_DISCONNECTED = WebSocketState.DISCONNECTED

# After this many sends with no receive between them, one receive is kept pending in a
# task, so that a handler that only sends still learns when the client goes: hypercorn
# drops what is sent to a closed connection without raising, and only its
# ``websocket.disconnect`` message tells. An echo handler, receiving between sends,
# never needs the task.
_WATCH_AFTER_SENDS = 16
# Messages the client sent while the handler was only sending are kept, at most this
# many, for the handler's next receive; past it, nothing more is received for it
# (the server's flow control then holds the client back).
_INBOX_LIMIT = 16
# The count of sends while a receive() waits (in another task): no send then reaches
# _WATCH_AFTER_SENDS and starts a receive of its own, for the server's receive must never
# be awaited twice at once; and every such send yields.
_RECEIVING = -(1 << 62)


class WebSocket:
    """A WebSocket connection, as a handler sees it.

    Call ``accept`` first, then ``receive`` and ``send`` messages, and
    ``close`` when done (the framework closes the socket if the handler
    returns without doing so). ``async for message in web_socket`` receives until
    the client disconnects.

    The framework makes one for each connection and passes it to the handler;
    you do not create it yourself.

    Args:
        receive: The ASGI ``receive`` callable of the connection.
        send: The ASGI ``send`` callable of the connection.
        scope: The connection's scope, whose ``subprotocols`` (those the client
            offered) ``accept`` may choose from; None not to check.

    Attributes:
        state: Where the conversation stands, a `WebSocketState`.
        close_code: The close code the client sent, once it has disconnected.
        close_reason: The close reason the client sent, once it has disconnected.

    Example:
        ```python
        async def echo(scope, info, matches, web_socket):
            await web_socket.accept()
            while (message := await web_socket.receive()) is not None:
                await web_socket.send(f"You said: {message}")
        ```
    """

    __slots__ = (
        "_pending",
        "_receive",
        "_scope",
        "_send",
        "_sends",
        "close_code",
        "close_reason",
        "state",
    )

    def __init__(self, receive: Receive, send: Send, scope: Scope | None = None) -> None:
        self._receive = receive
        self._send = send
        # Read only by accept(): getting the subprotocols here cost every connection
        # 1.3 % more instructions in the websocket case (callgrind); keeping the scope, 0.5 %.
        self._scope = scope
        self.state = _CONNECTING
        self._sends = 0  # sends since the handler last received, or _RECEIVING
        # The server's receives made while the handler only sent, oldest first: done
        # ones hold the client's messages for receive(), the last may still wait.
        self._pending: deque[asyncio.Task[Message]] | None = None
        self.close_code: int | None = None
        self.close_reason: str | None = None

    async def accept(self, subprotocol: str | None = None, headers: Headers | None = None) -> None:
        """Accept the connection, optionally choosing a subprotocol and adding headers.

        Args:
            subprotocol: The subprotocol chosen from those the client offered
                (``scope["subprotocols"]``), or None.
            headers: Extra headers for the handshake response.

        Raises:
            ClientDisconnect: the client went away before the handshake completed.
            RuntimeError: the socket was already accepted or closed.
            ValueError: the client did not offer ``subprotocol``, or ``headers`` are not
                ``(bytes, bytes)`` pairs a server can send (as for a response); nothing
                is sent.
        """
        if self.state is not _CONNECTING:
            raise RuntimeError(f"accept() on a WebSocket that is already {self.state.value}")
        # Both keys are optional in ASGI, and a message without them costs less to build.
        message: Message = {"type": "websocket.accept"}
        if subprotocol is not None:
            # Accepted anyway, no server delivers it: the websockets library and browsers
            # refuse the handshake; hypercorn and uvicorn with wsproto fail themselves.
            offered = None if self._scope is None else self._scope.get("subprotocols") or ()
            if offered is not None and subprotocol not in offered:
                raise ValueError(
                    f"accept(): the client did not offer the subprotocol {subprotocol!r} "
                    f"(it offered {list(offered)})"
                )
            message["subprotocol"] = subprotocol
        if headers:
            message["headers"] = _handshake_headers(headers)
        try:
            await self._send(message)
        except OSError as error:
            raise self._gone() from error
        self.state = _ACCEPTED

    async def receive(self) -> str | bytes | None:
        """Wait for the next message: ``str`` for text, ``bytes`` for binary.

        Returns None once the client has disconnected; ``close_code`` then
        holds the code it sent.
        """
        while self.state is _ACCEPTED:
            self._sends = _RECEIVING
            try:
                message = await (self._pending.popleft() if self._pending else self._receive())
            finally:
                self._sends = 0
            kind = message["type"]
            if kind == "websocket.receive":
                text: str | None = message.get("text")
                return text if text is not None else bytes(message.get("bytes") or b"")
            if kind == "websocket.disconnect":
                self._disconnected(message)
        if self.state is _CONNECTING:  # checked last, so a receive skips it: 0.3% of an echo
            raise RuntimeError("receive() before accept(): accept the WebSocket first")
        return None

    def _disconnected(self, message: Message) -> None:
        self.state = _DISCONNECTED
        self.close_code = message.get("code", 1005)
        self.close_reason = message.get("reason") or ""

    async def send(self, data: str | bytes) -> None:
        """Send a text (``str``) or binary (``bytes``) message.

        Args:
            data: A ``str`` goes out as a text message; ``bytes``,
                ``bytearray`` or ``memoryview`` as a binary one.

        Raises:
            TypeError: ``data`` is neither ``str`` nor bytes-like.
            RuntimeError: the socket is not accepted yet, or the application closed it.
            ClientDisconnect: the client has disconnected.
        """
        message: dict[str, object]
        if type(data) is str:
            message = {"type": "websocket.send", "text": data}
        elif isinstance(data, (bytes, bytearray, memoryview)):
            message = {"type": "websocket.send", "bytes": bytes(data)}
        elif isinstance(data, str):
            message = {"type": "websocket.send", "text": str(data)}
        else:
            raise TypeError(f"WebSocket.send() takes str or bytes, not {type(data).__name__}")
        if self.state is not _ACCEPTED:
            if self.state is _CONNECTING:
                raise RuntimeError("send() before accept(): accept the WebSocket first")
            if self.state is _CLOSED:
                raise RuntimeError("send() after close(): the application closed this WebSocket")
            raise ClientDisconnect("send() on a WebSocket the client has disconnected")
        try:
            await self._send(message)
        except OSError as error:
            raise self._gone() from error
        # A server's send may return at once, without waiting, even once the connection
        # is lost: uvicorn learns of the loss only when the loop runs its callback, and
        # hypercorn drops the message. A handler sending in a loop would then hold the
        # loop for ever. Yielding lets the server run, and the next send see the loss.
        # The first send after a receive need not: the receive let the server run, and
        # an echo's one send a message costs no turn of the loop.
        if self._sends:
            await asyncio.sleep(0)
            self._sends += 1
            if self._sends >= _WATCH_AFTER_SENDS:
                self._watch()
        else:
            self._sends = 1

    def _watch(self) -> None:
        """Keep a receive of the server's waiting; raise ClientDisconnect if the client left."""
        pending = self._pending
        if pending is None:
            pending = self._pending = deque()
        elif pending:
            last = pending[-1]
            if not last.done():
                return
            message = last.result()
            if message["type"] == "websocket.disconnect":
                pending.pop()
                self._disconnected(message)
                raise ClientDisconnect("the client has gone")
            if len(pending) >= _INBOX_LIMIT:
                return
        pending.append(asyncio.ensure_future(self._receive()))

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the socket; does nothing if it is already closed.

        Before ``accept``, closing rejects the connection (the server answers 403).

        Args:
            code: The WebSocket close code; ``1000`` is a normal closure.
            reason: A short text the client receives with the code.

        Raises:
            ValueError: ``code`` is not one a WebSocket endpoint may send (1000-1003,
                1007-1014, 3000-4999), or ``reason`` is not a ``str`` of at most 123
                bytes in UTF-8; the socket stays open, and nothing is sent.
            ClientDisconnect: the client had already gone away.
        """
        if self.state is _ACCEPTED or self.state is _CONNECTING:
            # ASGI's defaults (code 1000, no reason) go unsaid, as in accept().
            message: Message = {"type": "websocket.close"}
            if code != 1000:
                message["code"] = _close_code(code)
            if reason:
                message["reason"] = _close_reason(reason)
            self.state = _CLOSED
            try:
                await self._send(message)
            except OSError as error:
                raise self._gone() from error

    def _gone(self) -> ClientDisconnect:
        # A server's send fails with OSError once the client has gone. Only those
        # OSErrors mean a disconnect: the handler's own (timeouts, refused
        # connections) stay errors.
        self.state = _DISCONNECTED
        return ClientDisconnect("the client has gone")

    async def __aiter__(self) -> AsyncIterator[str | bytes]:
        while (message := await self.receive()) is not None:
            yield message


def _handshake_headers(headers: object) -> Headers:
    # Unchecked, no server sends them as given: uvicorn's websockets layer answers 403 or
    # an invalid response, with wsproto it and hypercorn fail in h11, granian drops them.
    if isinstance(headers, (Mapping, str, bytes, bytearray)) or not isinstance(headers, Iterable):
        raise ValueError(
            f"accept(): headers must be a list of (bytes, bytes) pairs, not {headers!r:.80}"
        )
    pairs = list(headers)  # a one-shot iterable is read once: what is checked is sent
    problem = header_problem(pairs)
    if problem is not None:
        raise ValueError(f"accept(): {problem}")
    return pairs


# The codes RFC 6455 (7.4) and the IANA registry let an endpoint send. 1004 is reserved;
# 1005, 1006 and 1015 stand for "no code", "dropped" and "TLS failed", never sent. Another
# code reaches no client: uvicorn's websockets layer raises to the handler and drops the
# connection, and with wsproto, hypercorn or granian the client fails it with 1002.
_SENDABLE_CLOSE_CODES = frozenset((*range(1000, 1004), *range(1007, 1015), *range(3000, 5000)))


def _close_code(code: object) -> int:
    if isinstance(code, bool) or not isinstance(code, int) or code not in _SENDABLE_CLOSE_CODES:
        raise ValueError(
            f"close(): {code!r} is not a close code an application may send "
            "(1000-1003, 1007-1014, 3000-4999)"
        )
    return int(code)  # an IntEnum goes to the server as a plain int


def _close_reason(reason: object) -> str:
    if not isinstance(reason, str):
        raise ValueError(f"close(): the reason must be a str, not {type(reason).__name__}")
    try:
        size = len(reason.encode("utf-8"))
    except UnicodeEncodeError:  # a lone surrogate
        raise ValueError(f"close(): the reason {reason[:20]!r} is not valid text") from None
    # A close frame is a control frame: 125 bytes at most, two of them the code.
    if size > 123:
        raise ValueError(
            f"close(): the reason {reason[:20]!r}... is longer than 123 bytes in UTF-8"
        )
    return str(reason)


WebSocketRequestCallback = Callable[[Scope, Info, RouteMatches, WebSocket], Awaitable[None]]
"""A WebSocket handler: ``async def handler(scope, info, matches, web_socket)``."""


async def serve_websocket(
    scope: Scope,
    receive: Receive,
    send: Send,
    found: tuple[WebSocketRequestCallback, RouteMatches] | None,
    info: Info,
) -> None:
    """Run one WebSocket connection through the handler ``found`` for it; close it whatever happens.

    ``found`` is None when no route matched: the connection is refused.
    """
    if (await receive())["type"] != "websocket.connect":
        return
    if found is None:
        await send({"type": "websocket.close"})
        return
    handler, matches = found
    web_socket = WebSocket(receive, send, scope)
    try:
        await handler(scope, info, matches, web_socket)
        if web_socket.state is _ACCEPTED or web_socket.state is _CONNECTING:
            await web_socket.close()  # if never accepted, the server answers 403
    except ClientDisconnect:
        logger.debug("The client left the WebSocket of %s", handler_name(handler))
    except Exception:
        logger.exception(
            "Unhandled exception in WebSocket handler %s for %s",
            handler_name(handler),
            scope["path"],
        )
        with contextlib.suppress(ClientDisconnect):
            await web_socket.close(1011)
    finally:
        pending = web_socket._pending  # inline: a method call here cost 1.3% of an echo
        if pending:
            for task in pending:
                if not task.done():
                    task.cancel()
                elif not task.cancelled():
                    task.exception()  # retrieved: the server's failure is of no use any more
