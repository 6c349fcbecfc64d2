"""The Python side of the in-browser playground; it runs inside Pyodide, in the reader's page.

The page's script (playground.js) writes an example's files into the in-browser file
system, then drives the example's ``app`` through ``bareasgi.testing.TestClient``: no
socket and no server, the same client the tests use. Everything handed back to the
script is a ``str`` (JSON where it has structure), so nothing needs converting.
"""

from __future__ import annotations

import asyncio
import codecs
import importlib.abc
import importlib.machinery
import importlib.util
import json
import logging
import sys
import traceback
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pyodide.ffi import to_js

from bareasgi.testing import TestClient, WebSocketClosed, WebSocketRejected, WebSocketSession

SERVERS = ("uvicorn", "hypercorn")
TIMEOUT = 30.0  # seconds TestClient waits for the app before reporting it stuck
STAND_IN = (
    "{name}: a browser page cannot listen on a port, so the playground has no server; "
    "it sends each request to `app` itself (bareasgi.testing.TestClient)"
)

# The reader edits app.py and runs it again within the same second: never reuse a stale .pyc.
sys.dont_write_bytecode = True


class _ServerStandIn(types.ModuleType):
    """A module in place of a server package: importing works, using it says why it cannot."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)

        def unavailable(*_: Any, **__: Any) -> Any:
            raise RuntimeError(STAND_IN.format(name=f"{self.__name__}.{name}"))

        return unavailable


class _ServerStandIns(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds the servers' packages, last of all finders, only where none is installed."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname.partition(".")[0] not in SERVERS:
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return _ServerStandIn(spec.name)

    def exec_module(self, module: types.ModuleType) -> None:
        return None


sys.meta_path.append(_ServerStandIns())


class _PageHandler(logging.Handler):
    """Log records written to the page's log, where the reader sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.write: Callable[[str], object] = lambda _: None

    def emit(self, record: logging.LogRecord) -> None:
        self.write(self.format(record) + "\n")


_handler = _PageHandler()
_handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
logging.basicConfig(level=logging.INFO, handlers=[_handler], force=True)


def set_output(write: Callable[[str], object]) -> None:
    """Send log records to ``write``, a function of the page."""
    _handler.write = write


def format_error(error: BaseException) -> str:
    """The traceback of ``error`` from the reader's code on, without the playground's frames."""
    tb = error.__traceback__
    while tb is not None and (
        tb.tb_frame.f_code.co_filename == __file__
        or tb.tb_frame.f_code.co_filename.startswith("<frozen ")
    ):
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(error), error, tb))


class _Display:
    """Turns body chunks into text for the page; binary data is shown by size and first bytes."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._binary = False

    def __call__(self, chunk: bytes) -> str:
        if not self._binary:
            try:
                return self._decoder.decode(chunk)
            except UnicodeDecodeError:
                self._binary = True
        preview = chunk[:16].hex(" ")
        more = " ..." if len(chunk) > 16 else ""
        return f"[{len(chunk)} bytes of binary data: {preview}{more}]\n"


def _headers(text: str) -> list[tuple[str, str]]:
    pairs = []
    for line in text.splitlines():
        name, colon, value = line.partition(":")
        if colon and name.strip():
            pairs.append((name.strip(), value.strip()))
    return pairs


class Playground:
    """One example's app, loaded from its folder and driven by a TestClient.

    Args:
        folder: The example's folder in the in-browser file system.
        options: JSON of the TestClient options the example needs (``server_push``).
    """

    def __init__(self, folder: str, options: str) -> None:
        self.folder = Path(folder)
        self.options: dict[str, Any] = json.loads(options)
        self.app: Any = None
        self.client: TestClient | None = None
        self._request: asyncio.Task[Any] | None = None
        self._socket: WebSocketSession | None = None
        self._receiver: asyncio.Task[None] | None = None
        self._served: dict[int, asyncio.Task[Any]] = {}  # the own page's requests, by id
        # The own page's WebSockets, by id: the session and the task that reads from it.
        self._page_sockets: dict[int, tuple[WebSocketSession, asyncio.Task[Any]]] = {}

    async def load(self, source: str) -> str:
        """Run ``source`` as the example's app.py and start its app (lifespan startup).

        Returns:
            "" when the app is ready, else the traceback of what went wrong.
        """
        await self.unload()
        path = self.folder / "app.py"
        path.write_text(source, encoding="utf-8")
        sys.modules.pop("app", None)
        spec = importlib.util.spec_from_file_location("app", path)
        assert spec is not None and spec.loader is not None  # a .py file always has both
        module = importlib.util.module_from_spec(spec)
        sys.modules["app"] = module
        try:
            spec.loader.exec_module(module)
            app = getattr(module, "app", None)
            if app is None:
                raise NameError("app.py defines no `app`: the playground runs `app`")
            client = TestClient(app, timeout=TIMEOUT, **self.options)
            await client.__aenter__()
        except Exception as error:
            sys.modules.pop("app", None)
            return format_error(error)
        self.app, self.client = app, client
        return ""

    async def unload(self) -> None:
        """Stop what runs: the request, the WebSocket, then the app (lifespan shutdown)."""
        await self.stop()
        await self.ws_close(1001)
        for number in list(self._served):
            await self.cancel(number)
        for number in list(self._page_sockets):
            await self.page_socket_close(number, 1001, "")
        client, self.client = self.client, None
        if client is not None:
            try:
                await client.__aexit__(None, None, None)
            except Exception as error:
                logging.getLogger("playground").error("shutdown failed:\n%s", format_error(error))

    def routes(self) -> str:
        """JSON: ``{"http": [[methods, template], ...], "websocket": [template, ...]}``."""
        http: list[list[str]] = []
        sockets: list[str] = []
        if self.app is None:
            pass
        elif hasattr(self.app.http_router, "routes"):
            http = [[" ".join(sorted(m)), path] for m, path, _ in self.app.http_router.routes()]
            sockets = [path for path, _ in self.app.ws_router.routes()]
        else:  # a bareasgi without routes(): the paths without variables will do
            http = [[" ".join(sorted(t)), p] for p, t in self.app.http_router._static.items()]
            sockets = list(self.app.ws_router._static)
        return json.dumps({"http": http, "websocket": sockets})

    async def request(
        self,
        method: str,
        path: str,
        headers: str,
        body: str,
        on_start: Callable[[str], object],
        on_chunk: Callable[[str], object],
    ) -> str:
        """Send a request; the answer goes to the page as it streams.

        ``on_start`` gets JSON of the status, headers and pushes; ``on_chunk`` each piece
        of body text as the app's writer yields it.

        Returns:
            "" when the response ended, "stopped" when ``stop`` ended it, else a traceback.
        """
        await self.stop()
        if self.client is None:
            return "The app is not running: fix app.py and run it again."
        self._request = asyncio.current_task()
        display = _Display()
        try:
            async with self.client.stream(
                method, path, headers=_headers(headers), body=body.encode() or None
            ) as response:
                on_start(
                    json.dumps(
                        {
                            "status": response.status,
                            "headers": [[k.decode(), v.decode()] for k, v in response.headers.raw],
                            "pushes": [push for push, _ in response.pushes],
                        }
                    )
                )
                async for chunk in response:
                    on_chunk(display(chunk))
            return ""
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            return "stopped"
        except Exception as error:
            return format_error(error)
        finally:
            if self._request is asyncio.current_task():
                self._request = None

    async def serve(
        self,
        number: int,
        method: str,
        path: str,
        headers: str,
        body: Any,
        on_start: Callable[[str], object],
        on_chunk: Callable[[Any], object],
    ) -> str:
        """Answer a request of the example's own page (from the service worker), as bytes.

        ``headers`` is JSON of ``[name, value]`` pairs; ``body`` a Uint8Array or None.
        ``on_chunk`` gets each body chunk as a Uint8Array. Requests run side by side,
        each until it ends or ``cancel(number)``.

        Returns:
            "" when the response ended or was cancelled, else a traceback.
        """
        if self.client is None:
            return "The app is not running: fix app.py and run it again."
        task = asyncio.current_task()
        assert task is not None  # the page awaits this coroutine as a task
        self._served[number] = task
        try:
            pairs = [(name, value) for name, value in json.loads(headers)]
            data = None if body is None else bytes(body.to_bytes())
            async with self.client.stream(method, path, headers=pairs, body=data) as response:
                on_start(
                    json.dumps(
                        {
                            "status": response.status,
                            "headers": [[k.decode(), v.decode()] for k, v in response.headers.raw],
                        }
                    )
                )
                async for chunk in response:
                    on_chunk(to_js(chunk))
            return ""
        except asyncio.CancelledError:
            task.uncancel()
            return ""
        except Exception as error:
            return format_error(error)
        finally:
            self._served.pop(number, None)

    async def page_socket(
        self,
        number: int,
        path: str,
        on_open: Callable[[str], object],
        on_message: Callable[[Any], object],
        on_close: Callable[[int, str], object],
    ) -> None:
        """Run WebSocket ``number`` of the example's own page (its shim) until it closes.

        ``on_message`` gets a ``str`` for a text message, a Uint8Array for a binary one;
        ``on_close`` the close code and reason when the app closes or cannot be reached.
        """
        if self.client is None:
            on_close(1011, "the app is not running")
            return
        try:
            session = await self.client.websocket(path).__aenter__()
        except WebSocketRejected as rejected:
            on_close(rejected.code, "")
            return
        except Exception as error:
            logging.getLogger("playground").error("WebSocket failed:\n%s", format_error(error))
            on_close(1011, "")
            return
        task = asyncio.current_task()
        assert task is not None  # the page awaits this coroutine as a task
        self._page_sockets[number] = (session, task)
        on_open(session.subprotocol or "")
        try:
            while True:
                try:
                    message = await session.receive()
                except TimeoutError:
                    continue  # a quiet socket is not a stuck app
                except WebSocketClosed as closed:
                    on_close(closed.code, closed.reason)
                    await session.close()
                    return
                on_message(message if isinstance(message, str) else to_js(message))
        except asyncio.CancelledError:
            task.uncancel()  # page_socket_close stopped the reading: the page closes it
        finally:
            self._page_sockets.pop(number, None)

    async def page_socket_send(self, number: int, data: Any) -> None:
        """Send a message of the own page's WebSocket: a ``str``, or bytes as a typed array."""
        entry = self._page_sockets.get(number)
        if entry is not None:
            await entry[0].send(data if isinstance(data, str) else bytes(data.to_bytes()))

    async def page_socket_close(self, number: int, code: int, reason: str) -> None:
        """Close the own page's WebSocket ``number`` from the page's side."""
        entry = self._page_sockets.pop(number, None)
        if entry is None:
            return
        session, task = entry
        task.cancel()
        await asyncio.wait([task])
        try:
            await session.close(int(code), reason)
        except Exception as error:
            logging.getLogger("playground").error("WebSocket close:\n%s", format_error(error))

    async def cancel(self, number: int) -> None:
        """End request ``number`` of the own page: its reader went away."""
        task = self._served.pop(number, None)
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait([task])

    async def stop(self) -> None:
        """End the request being answered, as a client that goes away does."""
        task, self._request = self._request, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait([task])

    async def ws_open(
        self,
        path: str,
        on_message: Callable[[str], object],
        on_close: Callable[[str], object],
    ) -> str:
        """Open a WebSocket to the app.

        Returns:
            "" when the app accepted it, else why not.
        """
        await self.ws_close(1000)
        if self.client is None:
            return "The app is not running: fix app.py and run it again."
        connect = self.client.websocket(path)
        try:
            self._socket = await connect.__aenter__()
        except WebSocketRejected as rejected:
            return f"The app rejected the WebSocket with close code {rejected.code}."
        except Exception as error:
            return format_error(error)
        self._receiver = asyncio.ensure_future(self._receive(self._socket, on_message, on_close))
        return ""

    async def _receive(
        self,
        socket: WebSocketSession,
        on_message: Callable[[str], object],
        on_close: Callable[[str], object],
    ) -> None:
        while True:
            try:
                message = await socket.receive()
            except TimeoutError:
                continue  # a quiet socket is not a stuck app: keep listening
            except WebSocketClosed as closed:
                on_close(f"The app closed the WebSocket: code {closed.code} {closed.reason!r}")
                await socket.close()
                self._socket = None
                return
            except Exception as error:
                on_close(format_error(error))
                self._socket = None
                return
            text = message if isinstance(message, str) else _Display()(message)
            kind = "text" if isinstance(message, str) else "bytes"
            on_message(json.dumps({"kind": kind, "data": text}))

    async def ws_send(self, data: str, binary: bool) -> str:
        """Send a text message, or its UTF-8 bytes as a binary one."""
        if self._socket is None:
            return "No WebSocket is open."
        await self._socket.send(data.encode() if binary else data)
        return ""

    async def ws_close(self, code: int) -> str:
        """Close the WebSocket from the client's side with ``code``; wait for the app."""
        receiver, self._receiver = self._receiver, None
        if receiver is not None and not receiver.done():
            receiver.cancel()
            await asyncio.wait([receiver])
        socket, self._socket = self._socket, None
        if socket is None:
            return ""
        try:
            await socket.close(int(code))
        except Exception as error:
            return format_error(error)
        return f"Closed with code {int(code)}; the app finished."
