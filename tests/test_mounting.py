"""Mounting applications under a path prefix, and routing under a server's root_path."""

import pytest

from bareasgi import Application, bytes_reader, text_response
from bareasgi.mounting import path_under, route_path
from bareasgi.testing import LifespanFailure, TestClient


def echo_app(name: str) -> Application:
    """An app whose every GET answers with its name, the route path and the ASGI paths."""
    app = Application()

    @app.on_http_request({"GET"}, "/{rest:path}")
    async def where(scope, info, matches, content):
        text = f"{name} /{matches['rest']} path={scope['path']} root={scope['root_path']}"
        return text_response(200, None, text)

    @app.on_ws_request("/ws")
    async def ws(scope, info, matches, web_socket):
        await web_socket.accept()
        await web_socket.send(f"{name} root={scope['root_path']}")
        await web_socket.close()

    return app


async def test_mounted_app_gets_requests_under_its_prefix_with_root_path_extended():
    parent = echo_app("parent")
    parent.mount("/child", echo_app("child"))
    client = TestClient(parent)
    assert (await client.get("/child/a/b")).text == "child /a/b path=/child/a/b root=/child"
    assert (await client.get("/child/")).text == "child / path=/child/ root=/child"
    assert (await client.get("/other")).text == "parent /other path=/other root="


async def test_prefix_must_end_at_a_segment_boundary():
    parent = echo_app("parent")
    parent.mount("/child", echo_app("child"))
    assert (await TestClient(parent).get("/children")).text.startswith("parent /children")


async def test_prefix_without_trailing_slash_redirects_keeping_the_query():
    parent = Application()
    parent.mount("/try/websocket", echo_app("child"))
    response = await TestClient(parent).get("/try/websocket?x=1")
    assert response.status == 308
    assert response.headers["location"] == "websocket/?x=1"


async def test_longest_prefix_wins_and_mounts_nest():
    inner = echo_app("inner")
    middle = echo_app("middle")
    middle.mount("/in", inner)
    parent = Application()
    parent.mount("/a", echo_app("short"))
    parent.mount("/a/b", middle)
    assert [prefix for prefix, _ in parent.mounts] == ["/a/b", "/a"]
    client = TestClient(parent)
    assert (await client.get("/a/b/in/x")).text == "inner /x path=/a/b/in/x root=/a/b/in"
    assert (await client.get("/a/b/x")).text == "middle /x path=/a/b/x root=/a/b"
    assert (await client.get("/a/x")).text == "short /x path=/a/x root=/a"


async def test_websockets_are_forwarded_to_the_mounted_app():
    parent = Application()
    parent.mount("/child", echo_app("child"))
    async with TestClient(parent).websocket("/child/ws") as ws:
        assert await ws.receive() == "child root=/child"


async def test_a_websocket_to_the_prefix_itself_goes_to_the_mounted_app_unredirected():
    child = Application()

    @child.on_ws_request("/")
    async def at_root(scope, info, matches, web_socket):
        await web_socket.accept()
        await web_socket.send(f"child root={scope['root_path']} path={scope['path']}")
        await web_socket.close()

    parent = Application()
    parent.mount("/child", child)
    async with TestClient(parent).websocket("/child") as ws:
        assert await ws.receive() == "child root=/child path=/child"


async def test_any_asgi_app_can_be_mounted():
    async def raw(scope, receive, send):
        body = f"raw {scope['path']} {scope['root_path']}".encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    parent = Application()
    parent.mount("/raw", raw)
    assert (await TestClient(parent).get("/raw/x")).text == "raw /raw/x /raw"


async def test_server_root_path_is_stripped_for_routing_whether_or_not_the_path_has_it():
    app = echo_app("app")
    # uvicorn-style: the path includes the root path.
    response = await TestClient(app, root_path="/api").get("/x")
    assert response.text == "app /x path=/api/x root=/api"
    # An older server style: the path without it.
    from tests.test_http import RawServer, http_scope

    scope = {**http_scope(path="/x"), "root_path": "/api"}
    server = RawServer()
    await app(scope, server.receive, server.send)
    assert server.bodies[0]["body"] == b"app /x path=/x root=/api"



@pytest.mark.parametrize(
    ("path", "root_path", "rest"),
    [
        # hypercorn's way (its --root-path): the path without the root path. The mounted
        # app routes on the path less its root path, so the path it gets must include it.
        ("/child/a", "/api", "/a"),
        ("/child/", "/api", "/"),
        ("/api/child/a", "/api/", "/a"),  # uvicorn's way, the root path with a slash
    ],
)
async def test_a_mount_under_a_root_path_gets_its_own_root_path_and_the_whole_path(
    path, root_path, rest
):
    from tests.test_http import RawServer, http_scope

    parent = echo_app("parent")
    parent.mount("/child", echo_app("child"))
    server = RawServer()

    await parent({**http_scope(path=path), "root_path": root_path}, server.receive, server.send)

    expected = f"child {rest} path=/api/child{rest} root=/api/child"
    assert server.bodies[0]["body"] == expected.encode()

@pytest.mark.parametrize(
    ("path", "root_path", "routed_to"),
    [
        ("/api/x", "/api", "/x"),  # uvicorn's way: the path includes the root path
        ("/api", "/api", "/"),
        ("/api/", "/api", "/"),
        # Not under the root path: "/apix" starts with "/api" but not at a "/". An older
        # server gives the path within the application, so it is routed as it is.
        ("/apix", "/api", "/apix"),
        ("/apix/y", "/api", "/apix/y"),
        ("/x", "/api", "/x"),
        ("/api/x", "/api/", "/x"),  # a root path given with a trailing slash
        ("/x", "/", "/x"),
    ],
)
def test_the_root_path_is_stripped_only_at_a_segment_boundary(path, root_path, routed_to):
    assert route_path({"path": path, "root_path": root_path}) == routed_to


@pytest.mark.parametrize(
    ("path", "prefix", "rest"),
    [
        ("/api/x", "/api", "/x"),
        ("/api", "/api", ""),  # the prefix itself: a mount redirects it to "/api/"
        ("/api/", "/api/", "/"),
        ("/apix", "/api", None),
        ("/ap", "/api", None),
        ("/x", "", "/x"),
    ],
)
def test_a_prefix_is_whole_segments(path, prefix, rest):
    assert path_under(path, prefix) == rest


async def test_a_path_extending_the_root_path_is_routed_whole():
    from tests.test_http import RawServer, http_scope

    scope = {**http_scope(path="/apix"), "root_path": "/api"}
    server = RawServer()
    await echo_app("app")(scope, server.receive, server.send)
    assert server.bodies[0]["body"] == b"app /apix path=/apix root=/api"


async def test_mounted_apps_start_after_and_stop_before_the_parent():
    events = []

    def recorder(name):
        async def startup(scope, info, message):
            events.append(f"{name} up")

        async def shutdown(scope, info, message):
            events.append(f"{name} down")

        return Application(startup_handlers=[startup], shutdown_handlers=[shutdown])

    parent = recorder("parent")
    parent.mount("/one", recorder("one"))
    parent.mount("/two", recorder("two"))
    async with TestClient(parent):
        assert events == ["parent up", "one up", "two up"]
    assert events[3:] == ["two down", "one down", "parent down"]


async def test_mounted_startup_failure_fails_the_parent_startup():
    async def broken(scope, info, message):
        raise RuntimeError("no database")

    parent = Application()
    parent.mount("/child", Application(startup_handlers=[broken]))
    with pytest.raises(LifespanFailure, match="no database"):
        async with TestClient(parent):
            pass


async def test_mounted_app_without_lifespan_support_is_left_alone():
    async def http_only(scope, receive, send):
        if scope["type"] != "http":
            raise ValueError("only http")

    parent = Application()
    parent.mount("/child", http_only)
    async with TestClient(parent) as client:
        assert (await client.get("/missing")).status == 404


@pytest.mark.parametrize("prefix", ["child", "/child/", "/"])
def test_bad_prefixes_are_refused(prefix):
    with pytest.raises(ValueError, match="must start, and not end, with '/'"):
        Application().mount(prefix, echo_app("x"))


def test_mounting_a_prefix_twice_is_refused():
    app = Application()
    app.mount("/x", echo_app("x"))
    with pytest.raises(ValueError, match="already mounted"):
        app.mount("/x", echo_app("y"))


async def test_a_mounted_app_reads_the_request_body():
    child = Application()

    @child.on_http_request({"POST"}, "/echo")
    async def echo(scope, info, matches, content):
        return text_response(200, None, (await bytes_reader(content)).decode())

    parent = Application()
    parent.mount("/child", child)
    response = await TestClient(parent).post("/child/echo", body=b"sent to the mount")
    assert (response.status, response.text) == (200, "sent to the mount")


async def test_the_redirect_to_the_prefix_with_a_slash_has_an_empty_body():
    parent = Application()
    parent.mount("/child", echo_app("child"))
    response = await TestClient(parent).get("/child")
    assert (response.status, response.body, response.headers["content-length"]) == (308, b"", "0")


async def test_a_mounted_app_gets_its_prefix_as_root_path_when_the_server_sent_none():
    from tests.test_http import RawServer, http_scope

    parent = Application()
    parent.mount("/child", echo_app("child"))
    scope = http_scope(path="/child/x")
    del scope["root_path"]  # optional in ASGI
    server = RawServer()
    await parent(scope, server.receive, server.send)
    assert server.bodies[0]["body"] == b"child /x path=/child/x root=/child"


def test_a_prefix_ends_at_its_last_character_whatever_it_is():
    assert path_under("/apX/x", "/apX") == "/x"
    assert path_under("/ap/x", "/apX") is None
