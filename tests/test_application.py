"""The Application object: its info dictionary, its live properties, its decorators and dispatch."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bareasgi import Application, HttpRouter, WebSocketRouter, mw, text_response
from bareasgi.testing import TestClient


async def ok_handler(scope: Any, info: Any, matches: Any, content: Any) -> Any:
    return text_response(200, None, "ok")


def add_header(name: bytes, value: bytes) -> Any:
    async def middleware(scope: Any, info: Any, matches: Any, content: Any, handler: Any) -> Any:
        status, headers, writer, pushes = await handler(scope, info, matches, content)
        return status, [*(headers or []), (name, value)], writer, pushes

    return middleware


# -- info ---------------------------------------------------------------------------------------


async def test_info_is_the_very_dict_given_even_when_empty() -> None:
    given: dict[str, Any] = {}
    app = Application(info=given)

    assert app.info is given


async def test_info_is_a_new_dict_when_none_is_given() -> None:
    first, second = Application(), Application()

    assert first.info == {}
    assert first.info is not second.info


async def test_http_handler_receives_the_given_info_dict_and_its_changes_are_visible() -> None:
    given: dict[str, Any] = {}
    seen: list[Any] = []

    async def handler(scope: Any, info: Any, matches: Any, content: Any) -> Any:
        seen.append(info)
        info["hits"] = info.get("hits", 0) + 1
        return text_response(200, None, str(info["hits"]))

    app = Application(info=given)
    app.http_router.add({"GET"}, "/", handler)
    client = TestClient(app)

    assert (await client.get("/")).text == "1"
    assert (await client.get("/")).text == "2"
    assert seen[0] is given and seen[1] is given
    assert given == {"hits": 2}


async def test_info_is_the_same_object_for_lifespan_http_middleware_and_websocket_handlers(
) -> None:
    given: dict[str, Any] = {}
    seen: dict[str, Any] = {}

    async def startup(scope: Any, info: Any, message: Any) -> None:
        seen["startup"] = info
        info["greeting"] = "hello"

    async def shutdown(scope: Any, info: Any, message: Any) -> None:
        seen["shutdown"] = info

    async def middleware(scope: Any, info: Any, matches: Any, content: Any, handler: Any) -> Any:
        seen["middleware"] = info
        return await handler(scope, info, matches, content)

    async def http_handler(scope: Any, info: Any, matches: Any, content: Any) -> Any:
        seen["http"] = info
        return text_response(200, None, info["greeting"])

    async def ws_handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        seen["websocket"] = info
        await web_socket.accept()
        await web_socket.send(info["greeting"])
        await web_socket.close()

    app = Application(
        info=given,
        middlewares=[middleware],
        startup_handlers=[startup],
        shutdown_handlers=[shutdown],
    )
    app.http_router.add({"GET"}, "/", http_handler)
    app.ws_router.add("/ws", ws_handler)

    async with TestClient(app) as client:
        assert (await client.get("/")).text == "hello"
        async with client.websocket("/ws") as ws:
            assert await ws.receive() == "hello"

    assert set(seen) == {"startup", "shutdown", "middleware", "http", "websocket"}
    for where, info in seen.items():
        assert info is given, where


# -- properties return the live objects ---------------------------------------------------------


async def test_properties_return_the_objects_passed_to_the_constructor() -> None:
    middlewares = [add_header(b"x-a", b"1")]
    http_router = HttpRouter()
    ws_router = WebSocketRouter()
    startup: list[Any] = []
    shutdown: list[Any] = []

    app = Application(
        middlewares=middlewares,
        http_router=http_router,
        web_socket_router=ws_router,
        startup_handlers=startup,
        shutdown_handlers=shutdown,
    )

    assert app.middlewares is middlewares
    assert app.http_router is http_router
    assert app.ws_router is ws_router
    assert app.startup_handlers is startup
    assert app.shutdown_handlers is shutdown


async def test_properties_return_the_same_objects_on_every_access() -> None:
    app = Application()

    assert app.middlewares is app.middlewares
    assert app.http_router is app.http_router
    assert app.ws_router is app.ws_router
    assert app.startup_handlers is app.startup_handlers
    assert app.shutdown_handlers is app.shutdown_handlers


async def test_middleware_appended_after_construction_applies_from_the_next_request() -> None:
    app = Application()
    app.http_router.add({"GET"}, "/", ok_handler)
    client = TestClient(app)

    before = await client.get("/")
    app.middlewares.append(add_header(b"x-added", b"yes"))
    after = await client.get("/")

    assert "x-added" not in before.headers
    assert after.headers["x-added"] == "yes"
    assert after.text == "ok"


async def test_middleware_appended_after_requests_went_through_other_middleware_applies() -> None:
    app = Application(middlewares=[add_header(b"x-first", b"1")])
    app.http_router.add({"GET"}, "/", ok_handler)
    client = TestClient(app)

    before = await client.get("/")
    app.middlewares.append(add_header(b"x-second", b"2"))
    after = await client.get("/")

    assert before.headers.get_all("x-first") == ["1"]
    assert "x-second" not in before.headers
    assert after.headers.get_all("x-first") == ["1"]
    assert after.headers.get_all("x-second") == ["2"]


async def test_middleware_removed_after_construction_stops_applying() -> None:
    app = Application(middlewares=[add_header(b"x-a", b"1"), add_header(b"x-b", b"2")])
    app.http_router.add({"GET"}, "/", ok_handler)
    client = TestClient(app)

    first = await client.get("/")
    del app.middlewares[0]
    second = await client.get("/")
    app.middlewares.clear()
    third = await client.get("/")

    assert ("x-a" in first.headers, "x-b" in first.headers) == (True, True)
    assert ("x-a" in second.headers, "x-b" in second.headers) == (False, True)
    assert ("x-a" in third.headers, "x-b" in third.headers) == (False, False)


async def test_route_added_through_http_router_property_is_served() -> None:
    app = Application()
    client = TestClient(app)

    assert (await client.get("/late")).status == 404
    app.http_router.add({"GET"}, "/late", ok_handler)
    response = await client.get("/late")

    assert response.status == 200
    assert response.text == "ok"


async def test_route_added_through_ws_router_property_is_served() -> None:
    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.accept()
        await web_socket.send("late")

    app = Application()
    app.ws_router.add("/late", handler)

    async with TestClient(app).websocket("/late") as ws:
        assert await ws.receive() == "late"


async def test_handlers_appended_to_lifespan_properties_run() -> None:
    calls: list[str] = []

    async def startup(scope: Any, info: Any, message: Any) -> None:
        calls.append("startup")

    async def shutdown(scope: Any, info: Any, message: Any) -> None:
        calls.append("shutdown")

    app = Application()
    app.startup_handlers.append(startup)
    app.shutdown_handlers.append(shutdown)

    async with TestClient(app):
        assert calls == ["startup"]
    assert calls == ["startup", "shutdown"]


# -- decorators ---------------------------------------------------------------------------------


async def test_on_http_request_registers_the_handler_and_returns_it_unchanged() -> None:
    app = Application()

    async def handler(scope: Any, info: Any, matches: Any, content: Any) -> Any:
        return text_response(200, None, f"{scope['method']} {matches['id'] + 1}")

    decorated = app.on_http_request({"GET", "POST"}, "/items/{id:int}")(handler)
    client = TestClient(app)

    assert decorated is handler
    assert (await client.get("/items/41")).text == "GET 42"
    assert (await client.post("/items/1")).text == "POST 2"
    assert (await client.put("/items/1")).status == 405


async def test_on_http_request_used_as_decorator_leaves_the_name_bound_to_the_function() -> None:
    app = Application()

    @app.on_http_request({"GET"}, "/")
    async def handler(scope: Any, info: Any, matches: Any, content: Any) -> Any:
        return 204

    assert handler.__name__ == "handler"
    assert await handler({}, {}, {}, None) == 204
    assert (await TestClient(app).get("/")).status == 204


async def test_on_ws_request_registers_the_handler_and_returns_it_unchanged() -> None:
    app = Application()

    async def handler(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.accept()
        await web_socket.send(f"room {matches['room']}")
        await web_socket.close()

    decorated = app.on_ws_request("/rooms/{room}")(handler)

    assert decorated is handler
    async with TestClient(app).websocket("/rooms/blue") as ws:
        assert await ws.receive() == "room blue"


async def test_bare_on_startup_and_on_shutdown_register_and_return_the_function() -> None:
    app = Application()
    calls: list[str] = []

    @app.on_startup
    async def starting(scope: Any, info: Any, message: Any) -> None:
        calls.append("starting")

    @app.on_shutdown
    async def stopping(scope: Any, info: Any, message: Any) -> None:
        calls.append("stopping")

    assert starting.__name__ == "starting" and stopping.__name__ == "stopping"
    assert app.startup_handlers == [starting]
    assert app.shutdown_handlers == [stopping]

    async with TestClient(app):
        assert calls == ["starting"]
    assert calls == ["starting", "stopping"]


async def test_on_startup_returns_the_very_function_object() -> None:
    app = Application()

    async def starting(scope: Any, info: Any, message: Any) -> None:
        pass

    async def stopping(scope: Any, info: Any, message: Any) -> None:
        pass

    assert app.on_startup(starting) is starting
    assert app.on_shutdown(stopping) is stopping


async def test_decorated_lifespan_handlers_run_after_those_given_to_the_constructor() -> None:
    calls: list[str] = []

    async def given(scope: Any, info: Any, message: Any) -> None:
        calls.append("given")

    app = Application(startup_handlers=[given])

    @app.on_startup
    async def decorated(scope: Any, info: Any, message: Any) -> None:
        calls.append("decorated")

    async with TestClient(app):
        pass

    assert calls == ["given", "decorated"]


async def test_route_local_chain_from_mw_can_be_registered_with_the_decorator() -> None:
    app = Application()
    app.on_http_request({"GET"}, "/")(mw(add_header(b"x-local", b"1"), handler=ok_handler))

    response = await TestClient(app).get("/")

    assert response.text == "ok"
    assert response.headers["x-local"] == "1"


# -- dispatch by scope type ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["webtransport", "HTTP", ""])
async def test_unknown_scope_type_raises_value_error(kind: str) -> None:
    sent: list[Any] = []

    async def receive() -> Any:
        raise AssertionError("the application should not receive for an unknown scope")

    async def send(message: Any) -> None:
        sent.append(message)

    with pytest.raises(ValueError, match="scope type"):
        await asyncio.wait_for(Application()({"type": kind}, receive, send), 5)
    assert sent == []
