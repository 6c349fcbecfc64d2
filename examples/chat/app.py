"""A chat room that stays one room with any number of server processes.

With REDIS_URL set, messages go through a Redis stream that every process
reads; without it, they stay in this process's memory.
"""
# Needs: bareasgi[chat]

import abc
import asyncio
import collections
import itertools
import json
import logging
import os
import signal
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from types import FrameType
from typing import Any, cast

import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from bareasgi import (
    Application,
    Content,
    HTTPError,
    HttpResponse,
    Info,
    Message,
    RouteMatches,
    Scope,
    WebSocket,
    json_reader,
    json_response,
    text_response,
)
from bareasgi.sse import ServerSentEvent, event_response

logger = logging.getLogger("chat")

PAGE = (Path(__file__).parent / "index.html").read_text(encoding="utf-8")
HTML = [(b"content-type", b"text/html; charset=utf-8")]
MAX_TEXT = 1000  # characters in one message
MAX_BODY = 16 * 1024  # bytes of JSON around it, however it is escaped
HISTORY = 100  # messages kept, and sent by GET /messages
QUEUE_SIZE = 100  # messages waiting for one client before it is cut off
STREAM = "chat:messages"  # the Redis stream holding the room
DRAIN_TIMEOUT = 5.0  # seconds clients get to go before the server stops

# A message of the room: {"id": ..., "text": ...}.
ChatMessage = dict[str, str]
# Stream entries as Redis returns them here: (id, fields), all str, since
# the client decodes responses (redis-py's own types allow bytes too).
Entries = list[tuple[str, dict[str, str]]]

# WebSocket close codes (RFC 6455) and the reasons sent with them.
Close = tuple[int, str]
GOING_AWAY = 1001, "The server is shutting down."
TOO_SLOW = 1013, f"Too slow: over {QUEUE_SIZE} messages were waiting."
UNAVAILABLE = 1013, "The chat is unavailable: try again."
NOT_TEXT = 1003, "Send text frames."
NOT_A_MESSAGE = 1007, 'Send a JSON object: {"text": "..."}.'
TOO_LONG = 1009, f"A message has at most {MAX_TEXT} characters."


class Unavailable(Exception):
    """The store behind the room (Redis) cannot be reached."""


class TextTooLong(ValueError):
    """The message's text is longer than MAX_TEXT."""


def message_text(data: object) -> str:
    """The text of a message a client sent as JSON, or ValueError."""
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        raise ValueError('Send a JSON object with a "text" string.')
    text: str = data["text"]
    if not text.strip():
        raise ValueError("The text is empty.")
    if len(text) > MAX_TEXT:
        raise TextTooLong(f"The text is over {MAX_TEXT} characters.")
    return text


class Inbox:
    """The messages waiting for one client, at most QUEUE_SIZE of them.

    A client that falls that far behind is cut off rather than let its
    queue grow: it can reconnect and read GET /messages to catch up.
    """

    def __init__(self) -> None:
        # (id, JSON text) pairs; + 1 for the None that ends the inbox
        self._queue: asyncio.Queue[tuple[str, str] | None] = asyncio.Queue(
            QUEUE_SIZE + 1
        )
        self.ended_by: Close | None = None  # set once ended

    def put(self, message: tuple[str, str]) -> None:
        if self.ended_by is not None:
            return
        if self._queue.qsize() == QUEUE_SIZE:
            self.end(TOO_SLOW)
        else:
            self._queue.put_nowait(message)

    def end(self, why: Close) -> None:
        """Drop what is waiting and make get() return None."""
        if self.ended_by is None:
            self.ended_by = why
            while not self._queue.empty():
                self._queue.get_nowait()
            self._queue.put_nowait(None)

    async def get(self) -> tuple[str, str] | None:
        """The next message, or None once the inbox has ended."""
        return await self._queue.get()


class Room(abc.ABC):
    """The clients connected to this process, and the room's messages.

    Subclasses store and spread messages (publish, history); deliver()
    hands each message to every inbox of this process.
    """

    shared = False  # whether other processes see the same room

    def __init__(self) -> None:
        self._inboxes: set[Inbox] = set()
        self._stopping = False
        self._empty = asyncio.Event()
        self._empty.set()

    @property
    def clients(self) -> int:
        """How many clients of this process are in the room."""
        return len(self._inboxes)

    def subscribe(self) -> Inbox:
        """An inbox that gets every message until it is unsubscribed."""
        inbox = Inbox()
        if self._stopping:
            inbox.end(GOING_AWAY)
        self._inboxes.add(inbox)
        self._empty.clear()
        return inbox

    def unsubscribe(self, inbox: Inbox) -> None:
        self._inboxes.discard(inbox)
        if not self._inboxes:
            self._empty.set()

    def deliver(self, message: ChatMessage) -> None:
        # Encoded once here, not once per client: (id, JSON text).
        encoded = message["id"], json.dumps(message)
        for inbox in list(self._inboxes):
            inbox.put(encoded)

    def stop(self) -> None:
        """End every inbox, now and from now on: clients are told to go."""
        self._stopping = True
        for inbox in list(self._inboxes):
            inbox.end(GOING_AWAY)

    async def drain(self) -> None:
        """Stop, and wait (a while) for the clients to leave."""
        self.stop()
        try:
            await asyncio.wait_for(self._empty.wait(), DRAIN_TIMEOUT)
        except asyncio.TimeoutError:
            logger.warning("%d clients still connected", self.clients)

    @abc.abstractmethod
    async def open(self) -> None:
        """Get ready to publish and deliver messages."""

    @abc.abstractmethod
    async def publish(self, text: str) -> ChatMessage:
        """Store a message and spread it to every process: it, with its id."""

    @abc.abstractmethod
    async def history(self) -> list[ChatMessage]:
        """The last HISTORY messages, oldest first."""

    async def close(self) -> None:
        await self.drain()


class MemoryRoom(Room):
    """The room in this process's memory: for one process only."""

    def __init__(self) -> None:
        super().__init__()
        self._history: collections.deque[ChatMessage] = collections.deque(
            maxlen=HISTORY
        )
        # Ids stay unique across restarts, as the page skips ids it has
        # shown: the start time in ms, then a count (like a stream's ids).
        self._started = time.time_ns() // 1_000_000
        self._count = itertools.count(1)

    async def open(self) -> None:
        """Nothing to open: the room is in memory."""

    async def publish(self, text: str) -> ChatMessage:
        message = {"id": f"{self._started}-{next(self._count)}", "text": text}
        self._history.append(message)
        self.deliver(message)
        return message

    async def history(self) -> list[ChatMessage]:
        return list(self._history)


class RedisRoom(Room):
    """The room in a Redis stream, which every process reads and appends to.

    A stream rather than pub/sub: it is the history and the broadcast in
    one, and a reader that lost its connection carries on from the last
    message it saw, so no message is missed while Redis is briefly away.
    """

    shared = True

    def __init__(self, url: str) -> None:
        super().__init__()
        # One quick retry covers a pooled connection that a Redis restart
        # broke; past that, callers get the error at once.
        self.redis = redis.asyncio.from_url(
            url,
            decode_responses=True,
            socket_connect_timeout=2,
            socket_timeout=10,
            retry=Retry(NoBackoff(), 1),
        )
        self._reader: asyncio.Task[None] | None = None
        self._closing = False

    async def open(self) -> None:
        # Messages published from now on are news, older ones history.
        try:
            newest = cast(
                Entries, await self.redis.xrevrange(STREAM, count=1)
            )
            last_id = newest[0][0] if newest else "0-0"
        except RedisError as error:
            # Stream ids start with Redis's clock in ms: ours stands in.
            last_id = f"{time.time_ns() // 1_000_000}-0"
            logger.warning("Redis: %s; reading after %s", error, last_id)
        self._reader = asyncio.create_task(self._read(last_id))

    async def close(self) -> None:
        await self.drain()
        # redis-py may turn the cancellation of a waiting XREAD into a
        # connection error: _closing tells the reader that it is the end.
        self._closing = True
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.wait([self._reader])
        await self.redis.aclose()

    async def publish(self, text: str) -> ChatMessage:
        try:
            message_id = cast(
                str,
                await self.redis.xadd(
                    STREAM, {"text": text}, maxlen=HISTORY, approximate=False
                ),
            )
        except RedisError as error:
            raise Unavailable(str(error)) from error
        return {"id": message_id, "text": text}

    async def history(self) -> list[ChatMessage]:
        try:
            entries = cast(
                Entries, await self.redis.xrevrange(STREAM, count=HISTORY)
            )
        except RedisError as error:
            raise Unavailable(str(error)) from error
        return [
            {"id": message_id, "text": fields["text"]}
            for message_id, fields in reversed(entries)
        ]

    async def _read(self, last_id: str) -> None:
        """Deliver each message after last_id, reconnecting as needed."""
        retry_in = 0.1
        while not self._closing:
            try:
                found = cast(
                    list[tuple[str, Entries]],
                    await self.redis.xread({STREAM: last_id}, block=5_000),
                )
            except RedisError as error:
                logger.warning("Redis: %s; again in %.1f s", error, retry_in)
                await asyncio.sleep(retry_in)
                retry_in = min(retry_in * 2, 2.0)
                continue
            retry_in = 0.1
            for _, entries in found:
                for message_id, fields in entries:
                    self.deliver({"id": message_id, "text": fields["text"]})
                    last_id = message_id


SignalHandler = Callable[[int, FrameType | None], Any]


def stop_before_the_server(room: Room) -> Callable[[], None]:
    """On SIGTERM or SIGINT, send the clients away, then let the server stop.

    uvicorn waits for open connections to finish before it runs shutdown
    handlers: an event stream would keep it waiting for ever, and it would
    close WebSockets with its own 1012. So the room is drained first.
    Returns a function that puts the server's handlers back.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # signals reach the main thread only
    loop = asyncio.get_running_loop()
    draining: set[asyncio.Task[None]] = set()
    previous: dict[int, SignalHandler] = {}

    def stop_then(
        server_handler: SignalHandler, signum: int, frame: FrameType | None
    ) -> None:
        task = loop.create_task(room.drain())
        draining.add(task)
        task.add_done_callback(draining.discard)
        task.add_done_callback(lambda _: server_handler(signum, frame))

    def on_signal(signum: int, frame: FrameType | None) -> None:
        loop.call_soon_threadsafe(stop_then, previous[signum], signum, frame)

    for signum in (signal.SIGTERM, signal.SIGINT):
        handler = signal.getsignal(signum)
        # Without a server's handler the default ends the process at once.
        if callable(handler) and handler is not signal.default_int_handler:
            previous[signum] = handler
            signal.signal(signum, on_signal)

    def restore() -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    return restore


async def index(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    room = info["room"]
    mode = (
        "Messages go through Redis: every process serves the same room."
        if room.shared
        else "Messages live in this process's memory: run one process,"
        " or set REDIS_URL to share the room between processes."
    )
    return text_response(200, HTML, PAGE.replace("{{ mode }}", mode))


async def get_messages(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    try:
        messages = await info["room"].history()
    except Unavailable:
        raise unavailable() from None
    return json_response(200, None, messages)


async def post_message(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    data = await json_reader(content, max_size=MAX_BODY, scope=scope)
    try:
        text = message_text(data)
    except TextTooLong as error:
        raise HTTPError(413, str(error)) from None
    except ValueError as error:
        raise HTTPError(400, str(error)) from None
    try:
        message = await info["room"].publish(text)
    except Unavailable:
        raise unavailable() from None
    return json_response(201, None, message)


def unavailable() -> HTTPError:
    logger.warning("Answering 503: Redis is unavailable")
    return HTTPError(
        503, "The chat is unavailable: try again.\n", [(b"retry-after", b"1")]
    )


async def events(
    scope: Scope, info: Info, matches: RouteMatches, content: Content
) -> HttpResponse:
    return event_response(room_events(info["room"]))


async def room_events(room: Room) -> AsyncIterator[ServerSentEvent]:
    # Subscribed once the stream starts: a response whose body is never
    # sent (HEAD) leaves no inbox behind.
    inbox = room.subscribe()
    try:
        while (message := await inbox.get()) is not None:
            message_id, data = message
            yield ServerSentEvent(data, id=message_id)
    finally:
        room.unsubscribe(inbox)


async def chat_socket(
    scope: Scope, info: Info, matches: RouteMatches, web_socket: WebSocket
) -> None:
    room = info["room"]
    await web_socket.accept()
    inbox = room.subscribe()
    try:
        why = await first_of(
            listen(room, web_socket), forward(inbox, web_socket)
        )
    finally:
        room.unsubscribe(inbox)
    if why is not None:
        await web_socket.close(*why)


async def listen(room: Room, web_socket: WebSocket) -> Close | None:
    """Publish what the client sends; the close to answer bad input with."""
    async for data in web_socket:
        if not isinstance(data, str):
            return NOT_TEXT
        if len(data) > MAX_BODY:
            return TOO_LONG
        try:
            text = message_text(json.loads(data))
        except TextTooLong:
            return TOO_LONG
        except (ValueError, RecursionError):  # RecursionError: deep nesting
            return NOT_A_MESSAGE
        try:
            await room.publish(text)
        except Unavailable:
            return UNAVAILABLE
    return None  # the client left


async def forward(inbox: Inbox, web_socket: WebSocket) -> Close | None:
    """Send the client each message; the close to send when the inbox ends."""
    while (message := await inbox.get()) is not None:
        _, data = message
        await web_socket.send(data)
    return inbox.ended_by


async def first_of(*coroutines: Awaitable[Close | None]) -> Close | None:
    """Run the coroutines together: the first result; the rest cancelled."""
    tasks = [asyncio.ensure_future(coroutine) for coroutine in coroutines]
    try:
        done, _ = await asyncio.wait(
            tasks, return_when=asyncio.FIRST_COMPLETED
        )
        return done.pop().result()
    finally:
        for task in tasks:
            task.cancel()
        # Waits for the others to finish, and collects what they raised.
        await asyncio.gather(*tasks, return_exceptions=True)


app = Application()
app.http_router.add({"GET"}, "/", index)
app.http_router.add({"GET"}, "/messages", get_messages)
app.http_router.add({"POST"}, "/messages", post_message)
app.http_router.add({"GET"}, "/events", events)
app.ws_router.add("/ws", chat_socket)


@app.on_startup
async def open_room(scope: Scope, info: Info, message: Message) -> None:
    url = os.environ.get("REDIS_URL")
    info["room"] = RedisRoom(url) if url else MemoryRoom()
    await info["room"].open()
    info["restore_signals"] = stop_before_the_server(info["room"])


@app.on_shutdown
async def close_room(scope: Scope, info: Info, message: Message) -> None:
    info["restore_signals"]()
    await info["room"].close()


if __name__ == "__main__":
    import uvicorn

    port = int(os.environ.get("PORT", "8000"))
    uvicorn.run(app, host="127.0.0.1", port=port)
