"""The benchmarked applications: one builder per framework, one app per case.

Each builder returns an app serving one case (``CASE_NAMES``, or ``echo``, the endless
WebSocket echo of ``websocket_echo.py``) the idiomatic way for its framework; the cases
are described in docs/project/benchmarks.md. Peers are imported lazily, so a process only
imports the framework it measures. uvicorn serves them as ``apps:FRAMEWORK_CASE``
(``apps:bareasgi_hello_seed``), built when it asks.
"""

import json
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any, cast

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CASE_NAMES = ("hello", "hello_seed", "json", "route1", "routes1000", "stream", "upload",
              "websocket")
HELLO = "Hello, World!"
MESSAGE = {"message": HELLO}
STREAM_CHUNK = b"x" * 4096
STREAM_CHUNKS = 16  # 64 KiB in 4 KiB chunks
UPLOAD_CHUNK = b"u" * 65536
UPLOAD_CHUNKS = 16  # 1 MiB in 64 KiB chunks
ROUTE_TARGET = 500
ROUTE_PATH = f"/route{ROUTE_TARGET}/42/abc"
ROUTE_BODY = b"42 abc"
ROUTE_INDICES = {"route1": range(ROUTE_TARGET, ROUTE_TARGET + 1), "routes1000": range(1000)}
WS_TEXT = "hello over websocket"
TEXT = "text/plain; charset=utf-8"
OCTETS = "application/octet-stream"


def path_of(case: str) -> str:
    """The path a case is requested at."""
    if case in ROUTE_INDICES:
        return ROUTE_PATH
    return {"websocket": "/ws", "echo": "/ws", "hello_seed": "/hello"}.get(case, f"/{case}")


async def stream_chunks() -> AsyncIterator[bytes]:
    """The streamed response body, shared by every framework."""
    for _ in range(STREAM_CHUNKS):
        yield STREAM_CHUNK


def routes(case: str, handlers: dict[str, Any], variables: str) -> list[tuple[str, str, Any]]:
    """What to register for ``case``: (method, or ``WS``, path, handler), one or 1000
    ``/route{i}`` + ``variables`` (``/{a:int}/{b}`` in the framework's syntax) for routes."""
    if case in ROUTE_INDICES:
        return [("GET", f"/route{i}{variables}", handlers["route"]) for i in ROUTE_INDICES[case]]
    method = "WS" if case in ("websocket", "echo") else "POST" if case == "upload" else "GET"
    return [(method, path_of(case), handlers[case])]


def split_route(path: str, table: dict[str, Any]) -> tuple[Any, int, str] | None:
    """Hand-written routing for ``/route{i}/{a:int}/{b}``: one dict lookup."""
    parts = path.split("/")
    if len(parts) != 4 or parts[1] not in table or not parts[2].isdigit():
        return None
    return table[parts[1]], int(parts[2]), parts[3]


async def _bare_respond(send: Send, body: bytes, content_type: str = TEXT,
                        status: int = 200) -> None:
    headers = [(b"content-type", content_type.encode()), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def build_bare(case: str) -> ASGIApp:
    table = {f"route{i}": i for i in ROUTE_INDICES.get(case, ())}

    async def hello(scope: Scope, receive: Receive, send: Send) -> None:
        await _bare_respond(send, HELLO.encode())

    async def as_json(scope: Scope, receive: Receive, send: Send) -> None:
        await _bare_respond(send, json.dumps(MESSAGE).encode(), "application/json")

    async def route(scope: Scope, receive: Receive, send: Send) -> None:
        found = split_route(scope["path"], table)
        if found is None:
            await _bare_respond(send, b"", status=404)
        else:
            await _bare_respond(send, f"{found[1]:d} {found[2]}".encode())

    async def stream(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", OCTETS.encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        async for chunk in stream_chunks():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def upload(scope: Scope, receive: Receive, send: Send) -> None:
        chunks: list[bytes] = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        await _bare_respond(send, str(len(b"".join(chunks))).encode())

    async def websocket(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        message = await receive()
        await send({"type": "websocket.send", "text": message.get("text")})
        await send({"type": "websocket.close", "code": 1000})

    async def echo(scope: Scope, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "websocket.connect":
                await send({"type": "websocket.accept"})
            elif message["type"] == "websocket.receive":
                await send({"type": "websocket.send", "text": message.get("text")})
            else:
                return

    handlers: dict[str, ASGIApp] = {
        "hello": hello, "json": as_json, "route1": route, "routes1000": route,
        "stream": stream, "upload": upload, "websocket": websocket, "echo": echo,
    }
    handler = handlers[case]
    if case in ROUTE_INDICES:
        return handler
    by_path = {path_of(case): handler}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await by_path[scope["path"]](scope, receive, send)

    return app


def build_bareasgi(case: str) -> ASGIApp:
    from bareasgi import Application, bytes_reader, json_response, text_response, text_writer

    app = Application()

    async def hello(scope: Any, info: Any, matches: Any, content: Any) -> Any:
        return text_response(200, None, HELLO)

    async def hello_seed(scope: Any, info: Any, matches: Any, content: Any) -> Any:
        return 200, [(b"content-type", b"text/plain")], text_writer(HELLO)

    async def as_json(scope: Any, info: Any, matches: Any, content: Any) -> Any:
        return json_response(200, None, MESSAGE)

    async def route(scope: Any, info: Any, matches: Any, content: Any) -> Any:
        return text_response(200, None, f"{matches['a']:d} {matches['b']}")

    async def stream(scope: Any, info: Any, matches: Any, content: Any) -> Any:
        return 200, [(b"content-type", OCTETS.encode())], stream_chunks()

    async def upload(scope: Any, info: Any, matches: Any, content: Any) -> Any:
        body = await bytes_reader(content)
        return text_response(200, None, str(len(body)))

    async def websocket(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.accept()
        await web_socket.send(await web_socket.receive())
        await web_socket.close()

    async def echo(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.accept()
        while (message := await web_socket.receive()) is not None:
            await web_socket.send(message)

    for method, path, handler in routes(case, {
            "hello": hello, "hello_seed": hello_seed, "json": as_json, "route": route,
            "stream": stream, "upload": upload, "websocket": websocket, "echo": echo,
    }, "/{a:int}/{b}"):
        if method == "WS":
            app.ws_router.add(path, handler)
        else:
            app.http_router.add({method}, path, handler)
    return app


class _BareWebSocket:
    """The bareASGI API's WebSocket with nothing but its shape: each method one await."""

    __slots__ = ("_receive", "_send")

    def __init__(self, receive: Receive, send: Send) -> None:
        self._receive, self._send = receive, send

    async def accept(self) -> None:
        await self._send({"type": "websocket.accept"})

    async def receive(self) -> str | None:
        message = await self._receive()
        return cast(str, message["text"]) if message["type"] == "websocket.receive" else None

    async def send(self, text: str) -> None:
        await self._send({"type": "websocket.send", "text": text})

    async def close(self) -> None:
        await self._send({"type": "websocket.close", "code": 1000})


def build_handlers_only(case: str) -> ASGIApp:
    """bareasgi's own handlers for ``case`` with no framework around them: what the shape
    of the bareASGI API costs, below which no implementation of it can go.

    A dict finds the handler, as in the bare app (whose split finds a route's variables);
    it gets its four arguments (``content`` a ``RequestBody``; a WebSocket whose methods are
    one await each), and its response is sent as given: no response check, no error
    handling, no state, no disconnect watching, no HEAD. bareasgi's distance from it is
    the framework's own cost.
    """
    from bareasgi import RequestBody

    application = cast(Any, build_bareasgi(case))
    path, info = path_of(case), application.info
    if case == "websocket":
        sockets = {path: application.ws_router.resolve(path)[0]}

        async def serve_socket(scope: Scope, receive: Receive, send: Send) -> None:
            await receive()  # websocket.connect
            await sockets[scope["path"]](scope, info, {}, _BareWebSocket(receive, send))

        return serve_socket
    handler, _ = application.http_router.resolve("GET", path)
    table = {f"route{i}": i for i in ROUTE_INDICES.get(case, ())}
    by_path = {path: handler}

    async def serve(scope: Scope, receive: Receive, send: Send) -> None:
        if table:
            route = split_route(scope["path"], table)
            assert route is not None  # the benchmark asks for the route it registered
            found, matches = handler, {"a": route[1], "b": route[2]}
        else:
            found, matches = by_path[scope["path"]], {}
        status, headers, writer, *_ = await found(scope, info, matches, RequestBody(receive))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": writer[0], "more_body": False})

    return serve


def build_starlette(case: str) -> ASGIApp:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
    from starlette.routing import Route, WebSocketRoute
    from starlette.websockets import WebSocket

    async def hello(request: Request) -> Response:
        return PlainTextResponse(HELLO)

    async def as_json(request: Request) -> Response:
        return JSONResponse(MESSAGE)

    async def route(request: Request) -> Response:
        params = request.path_params
        return PlainTextResponse(f"{params['a']:d} {params['b']}")

    async def stream(request: Request) -> Response:
        return StreamingResponse(stream_chunks(), media_type=OCTETS)

    async def upload(request: Request) -> Response:
        return PlainTextResponse(str(len(await request.body())))

    async def websocket(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(await websocket.receive_text())
        await websocket.close()

    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        async for text in websocket.iter_text():
            await websocket.send_text(text)

    handlers = {"hello": hello, "json": as_json, "route": route, "stream": stream,
                "upload": upload, "websocket": websocket, "echo": echo}
    return Starlette(routes=[
        WebSocketRoute(path, handler) if method == "WS" else Route(path, handler, methods=[method])
        for method, path, handler in routes(case, handlers, "/{a:int}/{b}")])


def build_falcon(case: str) -> ASGIApp:
    import falcon
    import falcon.asgi

    class Hello:
        async def on_get(self, req: Any, resp: Any) -> None:
            resp.content_type = falcon.MEDIA_TEXT
            resp.text = HELLO

    class Json:
        async def on_get(self, req: Any, resp: Any) -> None:
            resp.media = MESSAGE

    class RouteResource:
        async def on_get(self, req: Any, resp: Any, a: int, b: str) -> None:
            resp.content_type = falcon.MEDIA_TEXT
            resp.text = f"{a:d} {b}"

    class Stream:
        async def on_get(self, req: Any, resp: Any) -> None:
            resp.content_type = OCTETS
            resp.stream = stream_chunks()

    class Upload:
        async def on_post(self, req: Any, resp: Any) -> None:
            body = await req.stream.read()
            resp.content_type = falcon.MEDIA_TEXT
            resp.text = str(len(body))

    class WebSocket:
        async def on_websocket(self, req: Any, ws: Any) -> None:
            await ws.accept()
            await ws.send_text(await ws.receive_text())
            await ws.close()

    class Echo:
        async def on_websocket(self, req: Any, ws: Any) -> None:
            await ws.accept()
            try:
                while True:
                    await ws.send_text(await ws.receive_text())
            except falcon.WebSocketDisconnected:
                return

    app = falcon.asgi.App()
    resources = {"hello": Hello, "json": Json, "route": RouteResource, "stream": Stream,
                 "upload": Upload, "websocket": WebSocket, "echo": Echo}
    instances = {name: resource() for name, resource in resources.items()}
    for _, path, resource in routes(case, instances, "/{a:int}/{b}"):
        app.add_route(path, resource)  # one resource, for one route or a thousand
    return cast(ASGIApp, app)  # falcon types scope as dict, not MutableMapping


def build_blacksheep(case: str) -> ASGIApp:
    import blacksheep as bs

    router = bs.Router()
    app = bs.Application(router=router)

    async def hello(request: bs.Request) -> bs.Response:
        return bs.text(HELLO)

    async def as_json(request: bs.Request) -> bs.Response:
        return bs.json(MESSAGE)

    async def route(a: int, b: str) -> bs.Response:
        return bs.text(f"{a:d} {b}")

    async def stream(request: bs.Request) -> bs.Response:
        return bs.Response(200, None, bs.StreamedContent(OCTETS.encode(), stream_chunks))

    async def upload(request: bs.Request) -> bs.Response:
        return bs.text(str(len(await request.read() or b"")))

    async def websocket(websocket: bs.WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(await websocket.receive_text())
        await websocket.close()

    async def echo(websocket: bs.WebSocket) -> None:
        await websocket.accept()
        try:
            while True:
                await websocket.send_text(await websocket.receive_text())
        except bs.WebSocketDisconnectError:
            return

    add = {"GET": router.add_get, "POST": router.add_post, "WS": router.add_ws}
    for method, path, handler in routes(case, {
            "hello": hello, "json": as_json, "route": route, "stream": stream, "upload": upload,
            "websocket": websocket, "echo": echo}, "/{int:a}/{b}"):
        add[method](path, handler)
    return app


def build_asgineer(case: str) -> ASGIApp:
    import asgineer  # type: ignore[import-untyped]

    table = {f"route{i}": i for i in ROUTE_INDICES.get(case, ())}

    async def hello(request: Any) -> Any:
        return 200, {"content-type": TEXT}, HELLO

    async def as_json(request: Any) -> Any:
        return MESSAGE

    async def route(request: Any) -> Any:
        found = split_route(request.path, table)
        if found is None:
            return 404, {}, b""
        return 200, {"content-type": TEXT}, f"{found[1]:d} {found[2]}"

    async def stream(request: Any) -> Any:
        return 200, {"content-type": OCTETS}, stream_chunks()

    async def upload(request: Any) -> Any:
        return 200, {"content-type": TEXT}, str(len(await request.get_body()))

    async def websocket(request: Any) -> None:
        await request.accept()
        if case == "echo":
            async for message in request.receive_iter():
                await request.send(message)
        else:
            await request.send(await request.receive())

    paths = {"/hello": hello, "/json": as_json, "/stream": stream, "/upload": upload}

    async def handler(request: Any) -> Any:
        if request.scope["type"] == "websocket":
            return await websocket(request)
        return await paths.get(request.path, route)(request)

    return asgineer.to_asgi(handler)  # type: ignore[no-any-return]


BUILDERS: dict[str, Callable[[str], ASGIApp]] = {
    "bare": build_bare, "bareasgi": build_bareasgi, "handlers": build_handlers_only,
    "starlette": build_starlette,
    "falcon": build_falcon, "blacksheep": build_blacksheep, "asgineer": build_asgineer}


def supports(framework: str, case: str) -> bool:
    """Whether ``framework`` has an app for ``case``: ``hello_seed`` is bareasgi's alone (and
    its handlers'); ``handlers`` has no stream, upload or endless echo (their targets are met)."""
    if framework == "handlers":
        return case not in ("stream", "upload", "echo")
    return case != "hello_seed" or framework == "bareasgi"


def __getattr__(name: str) -> ASGIApp:
    """``bareasgi_hello`` and the like, for uvicorn: ``FRAMEWORK_CASE``, built when asked."""
    framework, _, case = name.partition("_")
    if framework in BUILDERS and supports(framework, case):
        return BUILDERS[framework](case)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
