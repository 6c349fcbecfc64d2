"""Path templates, converters and the HTTP and WebSocket routers."""

import re
from datetime import datetime

import pytest

from bareasgi import Application, HttpRouter, PathTemplate, WebSocketRouter, text_writer
from bareasgi.testing import TestClient


async def handler_a(scope, info, matches, content):
    return 200, None, text_writer("a")


async def handler_b(scope, info, matches, content):
    return 200, None, text_writer("b")


async def ws_handler(scope, info, matches, web_socket):
    await web_socket.accept()


def resolve(router: HttpRouter, method: str, path: str):
    return router.resolve(method, path)


def test_static_route_resolves_with_empty_matches():
    router = HttpRouter()
    router.add({"GET"}, "/hello", handler_a)
    assert resolve(router, "GET", "/hello") == (handler_a, {})


@pytest.mark.parametrize(
    ("template", "path", "expected"),
    [
        ("/items/{name}", "/items/box", {"name": "box"}),
        ("/items/{name:str}", "/items/box", {"name": "box"}),
        ("/items/{id:int}", "/items/42", {"id": 42}),
        ("/items/{id:int}", "/items/-7", {"id": -7}),
        ("/price/{value:float}", "/price/1.5", {"value": 1.5}),
        ("/price/{value:float}", "/price/3", {"value": 3.0}),
        ("/price/{value:float}", "/price/-2.5e3", {"value": -2500.0}),
        ("/at/{when:datetime}", "/at/2024-05-06T07:08:09", {"when": datetime(2024, 5, 6, 7, 8, 9)}),
        ("/day/{when:datetime:%Y-%m-%d}", "/day/2024-05-06", {"when": datetime(2024, 5, 6)}),
        (
            "/at/{when:datetime:%Y-%m-%dT%H:%M:%S}",
            "/at/2024-05-06T07:08:09",
            {"when": datetime(2024, 5, 6, 7, 8, 9)},
        ),
        ("/files/{rest:path}", "/files/a/b/c.txt", {"rest": "a/b/c.txt"}),
        ("/files/{rest:path}", "/files/", {"rest": ""}),
        ("/files/{path}", "/files/a/b", {"path": "a/b"}),
        ("/{rest:path}", "/", {"rest": ""}),
        ("/{rest:path}", "/any/thing", {"rest": "any/thing"}),
        ("/a/{x:int}/b/{y}", "/a/1/b/two", {"x": 1, "y": "two"}),
    ],
)
def test_variables_are_matched_and_converted(template, path, expected):
    router = HttpRouter()
    router.add({"GET"}, template, handler_a)
    handler, matches = resolve(router, "GET", path)
    assert handler is handler_a
    assert matches == expected
    assert {name: type(value) for name, value in matches.items()} == {
        name: type(value) for name, value in expected.items()
    }


@pytest.mark.parametrize(
    ("template", "path"),
    [
        ("/items/{id:int}", "/items/abc"),
        ("/items/{id:int}", "/items/1.5"),
        ("/items/{id:int}", "/items/+1"),
        ("/items/{id:int}", "/items/1_000"),
        ("/items/{id:int}", "/items/²"),
        ("/price/{value:float}", "/price/nan"),
        ("/price/{value:float}", "/price/inf"),
        ("/price/{value:float}", "/price/abc"),
        ("/at/{when:datetime}", "/at/yesterday"),
        ("/day/{when:datetime:%Y-%m-%d}", "/day/06-05-2024"),
        ("/items/{name}", "/items/"),
        ("/items/{name}", "/items/a/b"),
        ("/items/{name}", "/items"),
        ("/files/{rest:path}", "/files"),
        ("/hello", "/hello/"),
        ("/hello/", "/hello"),
    ],
)
def test_values_that_do_not_fit_do_not_match(template, path):
    router = HttpRouter()
    router.add({"GET"}, template, handler_a)
    handler, matches = resolve(router, "GET", path)
    assert handler is router.not_found
    assert matches == {}


def test_literal_segment_wins_over_variable():
    router = HttpRouter()
    router.add({"GET"}, "/items/{name}", handler_a)
    router.add({"GET"}, "/items/new", handler_b)
    assert resolve(router, "GET", "/items/new")[0] is handler_b
    assert resolve(router, "GET", "/items/old") == (handler_a, {"name": "old"})


def test_typed_variable_falls_through_to_next_template_when_conversion_fails():
    router = HttpRouter()
    router.add({"GET"}, "/items/{id:int}", handler_a)
    router.add({"GET"}, "/items/{slug}", handler_b)
    assert resolve(router, "GET", "/items/12") == (handler_a, {"id": 12})
    assert resolve(router, "GET", "/items/twelve") == (handler_b, {"slug": "twelve"})


def test_backtracks_when_deeper_segments_do_not_match():
    router = HttpRouter()
    router.add({"GET"}, "/{kind}/list", handler_a)
    router.add({"GET"}, "/users/{id:int}", handler_b)
    assert resolve(router, "GET", "/users/list") == (handler_a, {"kind": "users"})
    assert resolve(router, "GET", "/users/3") == (handler_b, {"id": 3})


def test_route_with_another_method_at_same_path_is_found_by_method():
    router = HttpRouter()
    router.add({"GET"}, "/items/{id:int}", handler_a)
    router.add({"POST"}, "/items/{name}", handler_b)
    assert resolve(router, "POST", "/items/5") == (handler_b, {"name": "5"})


def test_static_path_with_other_method_falls_back_to_templates():
    router = HttpRouter()
    router.add({"GET"}, "/items/new", handler_a)
    router.add({"POST"}, "/items/{name}", handler_b)
    assert resolve(router, "POST", "/items/new") == (handler_b, {"name": "new"})


def test_catch_all_takes_the_rest_after_more_specific_routes():
    router = HttpRouter()
    router.add({"GET"}, "/static/{rest:path}", handler_a)
    router.add({"GET"}, "/static/index.html", handler_b)
    assert resolve(router, "GET", "/static/index.html")[0] is handler_b
    assert resolve(router, "GET", "/static/css/site.css") == (handler_a, {"rest": "css/site.css"})


def test_matches_are_fresh_per_request():
    router = HttpRouter()
    router.add({"GET"}, "/items/{id:int}", handler_a)
    first = resolve(router, "GET", "/items/1")[1]
    first["id"] = 99
    assert resolve(router, "GET", "/items/1")[1] == {"id": 1}


def test_head_falls_back_to_get_but_own_head_route_wins():
    router = HttpRouter()
    router.add({"GET"}, "/page", handler_a)
    assert resolve(router, "HEAD", "/page")[0] is handler_a
    router.add({"HEAD"}, "/page", handler_b)
    assert resolve(router, "HEAD", "/page")[0] is handler_b


async def test_wrong_method_is_405_with_allow_listing_every_matching_route():
    app = Application()
    app.http_router.add({"GET"}, "/items/{id:int}", handler_a)
    app.http_router.add({"DELETE", "PUT"}, "/items/{name}", handler_b)
    response = await TestClient(app).post("/items/3")
    assert response.status == 405
    assert response.headers["allow"] == "DELETE, GET, HEAD, PUT"
    assert response.text == "Method Not Allowed"


async def test_405_allow_for_static_route_without_get_has_no_head():
    app = Application()
    app.http_router.add({"POST"}, "/submit", handler_a)
    response = await TestClient(app).get("/submit")
    assert response.status == 405
    assert response.headers["allow"] == "POST"


async def test_405_for_catch_all_route():
    app = Application()
    app.http_router.add({"GET"}, "/files/{rest:path}", handler_a)
    response = await TestClient(app).delete("/files/a/b")
    assert response.status == 405
    assert response.headers["allow"] == "GET, HEAD"


async def test_unknown_path_is_the_same_non_empty_404_every_time():
    app = Application()
    app.http_router.add({"GET"}, "/known", handler_a)
    client = TestClient(app)
    first = await client.get("/unknown")
    second = await client.get("/unknown")
    assert first.status == second.status == 404
    assert first.body == second.body == b"Not Found"
    assert first.headers.raw == second.headers.raw
    assert first.headers["content-length"] == "9"


async def test_unconvertible_value_is_404_not_500():
    app = Application()
    app.http_router.add({"GET"}, "/items/{id:int}", handler_a)
    response = await TestClient(app).get("/items/abc")
    assert response.status == 404


def test_1000_parameterised_routes_resolve_each_to_its_own_handler():
    router = HttpRouter()
    handlers = {}
    for index in range(1000):
        async def handler(scope, info, matches, content, index=index):
            return index

        handlers[index] = handler
        router.add({"GET"}, f"/route{index}/{{a:int}}/{{b}}", handler)
    for index in (0, 500, 999):
        assert resolve(router, "GET", f"/route{index}/7/x") == (handlers[index], {"a": 7, "b": "x"})


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("items", "must start with '/'"),
        ("/items/{id:integer}", "unknown type 'integer'"),
        ("/files/{rest:path}/more", "must be the last segment"),
        ("/a/{x}/b/{x:int}", "'x' is repeated"),
        ("/a/{x:int:%Y}", "takes no format"),
        ("/a/file-{id}.json", "one whole {name}"),
        ("/a/{1abc}", "not a valid variable name"),
        ("/a/{day:datetime:%d/%m}", "may not contain '/'"),
        ("/a/{abc", "one whole {name}"),
        ("/a/abc}", "one whole {name}"),
        ("/a/{a}b", "one whole {name}"),
        ("/a/{rest:path:x}", "a path variable takes no format"),
        # Formats strptime refuses whatever the segment: the route could never match.
        ("/a/{t:datetime:%s}", "strptime cannot read the format '%s'"),
        ("/a/{t:datetime:%Q}", "strptime cannot read the format '%Q'"),
        ("/a/{t:datetime:%Y%}", "strptime cannot read the format '%Y%'"),
        ("/a/{t:datetime:%G-%V}", "strptime cannot read the format '%G-%V'"),
    ],
)
def test_malformed_templates_raise_value_error_naming_the_route(path, message):
    router = HttpRouter()
    with pytest.raises(ValueError, match="route path") as error:
        router.add({"GET"}, path, handler_a)
    assert message in str(error.value)
    assert repr(path) in str(error.value)


@pytest.mark.parametrize("methods", [{"get"}, {"Get"}, {"GET", "post"}, set()])
def test_bad_method_names_raise_value_error(methods):
    with pytest.raises(ValueError, match="/x"):
        HttpRouter().add(methods, "/x", handler_a)


@pytest.mark.parametrize("methods", ["GET", {1}, [b"GET"]])
def test_methods_that_are_not_strings_raise_type_error(methods):
    with pytest.raises(TypeError, match="/x"):
        HttpRouter().add(methods, "/x", handler_a)


def test_sync_handler_raises_type_error_naming_the_route():
    def not_async(scope, info, matches, content):
        return 200

    with pytest.raises(TypeError, match=r"/sync.*must be an async function"):
        HttpRouter().add({"GET"}, "/sync", not_async)


def test_async_callable_object_is_accepted():
    class Handler:
        async def __call__(self, scope, info, matches, content):
            return 204

    router = HttpRouter()
    handler = Handler()
    router.add({"GET"}, "/obj", handler)
    assert resolve(router, "GET", "/obj")[0] is handler


def test_registering_the_same_route_twice_raises():
    router = HttpRouter()
    router.add({"GET"}, "/items/{id:int}", handler_a)
    with pytest.raises(ValueError, match=re.escape("GET /items/{id:int}: already registered")):
        router.add({"GET", "POST"}, "/items/{id:int}", handler_b)
    assert resolve(router, "POST", "/items/1")[0] is not handler_b


def test_path_template_exposes_its_variables():
    template = PathTemplate("/a/{x:int}/{rest:path}")
    assert sorted(template.variables) == ["rest", "x"]
    assert template.catch_all == "rest"
    assert not template.is_static
    assert PathTemplate("/a/b/").is_static


def test_path_template_lists_its_variables_in_the_order_they_appear():
    template = PathTemplate("/{z}/b/{a:int}/{m:datetime}/{rest:path}")
    assert template.variables == ("z", "a", "m", "rest")


def test_websocket_router_resolves_and_returns_none_when_unrouted():
    router = WebSocketRouter()
    router.add("/chat/{room}", ws_handler)
    assert router.resolve("/chat/lobby") == (ws_handler, {"room": "lobby"})
    assert router.resolve("/elsewhere") is None


def test_websocket_router_rejects_sync_handlers_and_bad_paths():
    def not_async(scope, info, matches, web_socket):
        return None

    with pytest.raises(TypeError, match="websocket /ws"):
        WebSocketRouter().add("/ws", not_async)
    with pytest.raises(ValueError, match="must start with '/'"):
        WebSocketRouter().add("ws", ws_handler)


def test_stricter_variable_types_are_tried_first_whatever_the_registration_order():
    router = HttpRouter()
    router.add({"GET"}, "/items/{name}", handler_a)
    router.add({"GET"}, "/items/{price:float}", handler_b)

    async def by_id(scope, info, matches, content):
        return 200

    router.add({"GET"}, "/items/{id:int}", by_id)
    assert resolve(router, "GET", "/items/42") == (by_id, {"id": 42})
    assert resolve(router, "GET", "/items/4.5") == (handler_b, {"price": 4.5})
    assert resolve(router, "GET", "/items/box") == (handler_a, {"name": "box"})


def test_routers_list_their_routes_in_the_order_added():
    router = HttpRouter()
    router.add({"GET", "HEAD"}, "/items/{id:int}", handler_a)
    router.add({"POST"}, "/items", handler_b)
    router.add({"DELETE"}, "/items/{id:int}", handler_b)
    with pytest.raises(ValueError):
        router.add({"POST"}, "/items", handler_a)  # a route refused is not listed
    assert router.routes() == [
        (frozenset({"GET", "HEAD"}), "/items/{id:int}", handler_a),
        (frozenset({"POST"}), "/items", handler_b),
        (frozenset({"DELETE"}), "/items/{id:int}", handler_b),
    ]
    ws_router = WebSocketRouter()
    ws_router.add("/ws/{room}", ws_handler)
    assert ws_router.routes() == [("/ws/{room}", ws_handler)]
    assert HttpRouter().routes() == []


@pytest.mark.parametrize(
    "methods",
    [
        pytest.param(lambda: (m for m in ["GET", "POST"]), id="generator"),
        pytest.param(lambda: iter(["GET", "POST"]), id="iterator"),
        pytest.param(lambda: map(str.upper, ["get", "post"]), id="map"),
        pytest.param(lambda: {"GET": 1, "POST": 2}.keys(), id="dict keys"),
    ],
)
def test_methods_given_by_any_one_shot_iterable_are_all_registered(methods):
    async def handler(scope, info, matches, content):
        return 204

    router = HttpRouter()
    router.add(methods(), "/g", handler)
    assert router.resolve("GET", "/g")[0] is handler
    assert router.resolve("POST", "/g")[0] is handler

    app = Application()
    app.on_http_request(methods(), "/d")(handler)
    assert app.http_router.resolve("POST", "/d")[0] is handler


# found by mutation testing ---------------------------------------------------------------------


def test_a_path_that_is_not_a_string_or_a_handler_that_is_not_callable_is_a_type_error():
    with pytest.raises(TypeError, match=r"route path b'/x': the path must be a str"):
        HttpRouter().add({"GET"}, b"/x", handler_a)
    with pytest.raises(TypeError, match="the handler 42 must be an async function"):
        HttpRouter().add({"GET"}, "/x", 42)


@pytest.mark.parametrize(
    ("fmt", "segment", "expected"),
    [
        ("%Y-%m-%d", "2024-05-06", datetime(2024, 5, 6)),
        ("%j", "034", datetime(1900, 2, 3)),
        (
            "%Y%m%dT%H%M%S%z",
            "20240506T070809+0200",
            datetime.fromisoformat("2024-05-06T07:08:09+02:00"),
        ),
        ("%Y-%m-%d %Z", "2024-05-06 UTC", datetime(2024, 5, 6)),
        ("%G-W%V-%u", "2024-W19-1", datetime(2024, 5, 6)),
        ("day", "day", datetime(1900, 1, 1)),
    ],
)
def test_datetime_formats_strptime_reads_are_accepted(fmt, segment, expected):
    router = HttpRouter()
    router.add({"GET"}, f"/d/{{when:datetime:{fmt}}}", handler_a)
    assert resolve(router, "GET", f"/d/{segment}") == (handler_a, {"when": expected})


def test_datetime_variables_with_other_formats_at_one_place_each_convert_with_their_own():
    router = HttpRouter()
    router.add({"GET"}, "/d/{when:datetime:%d.%m.%Y}", handler_a)
    router.add({"GET"}, "/d/{when:datetime:%Y%m%d%H}", handler_b)
    assert resolve(router, "GET", "/d/02.01.2024") == (handler_a, {"when": datetime(2024, 1, 2)})
    assert resolve(router, "GET", "/d/2024010207") == (
        handler_b,
        {"when": datetime(2024, 1, 2, 7)},
    )


def test_catch_alls_at_one_place_must_share_a_name():
    router = HttpRouter()
    router.add({"GET"}, "/files/{rest:path}", handler_a)
    router.add({"POST"}, "/files/{rest:path}", handler_b)  # the same name: one catch-all
    assert resolve(router, "POST", "/files/a/b") == (handler_b, {"rest": "a/b"})
    with pytest.raises(ValueError) as error:
        router.add({"PUT"}, "/files/{other:path}", handler_b)
    assert str(error.value) == (
        "route path '/files/{other:path}': conflicts with a catch-all named 'rest' at the "
        "same place"
    )


def test_head_goes_where_get_goes_even_past_a_head_route_less_specific():
    # RFC 9110, 9.3.2: a HEAD answers as a GET would, so the route GET takes answers it.
    router = HttpRouter()
    router.add({"GET"}, "/items/{id:int}", handler_a)
    router.add({"HEAD"}, "/items/{name}", handler_b)
    assert resolve(router, "HEAD", "/items/42") == (handler_a, {"id": 42})
    assert resolve(router, "HEAD", "/items/pen") == (handler_b, {"name": "pen"})


@pytest.mark.parametrize("order", [("GET", "HEAD"), ("HEAD", "GET")])
def test_a_head_route_of_its_own_wins_whichever_is_registered_first(order):
    router = HttpRouter()
    handlers = {"GET": handler_a, "HEAD": handler_b}
    for method in order:
        router.add({method}, "/items/{id:int}", handlers[method])
    assert resolve(router, "HEAD", "/items/1")[0] is handler_b
    assert resolve(router, "GET", "/items/1")[0] is handler_a
    with pytest.raises(ValueError, match=re.escape("HEAD /items/{id:int}: already registered")):
        router.add({"HEAD"}, "/items/{id:int}", handler_a)


@pytest.mark.parametrize(
    ("routes", "path"),
    [
        # A static route without GET, and a template with GET that also matches.
        ([({"POST"}, "/x", handler_a), ({"GET"}, "/{name}", handler_b)], "/x"),
        # A more specific template without GET passed on the way to the GET one.
        ([({"POST"}, "/{a:int}", handler_a), ({"GET"}, "/{b}", handler_b)], "/5"),
    ],
)
def test_head_falls_back_to_the_get_route_past_routes_without_get(routes, path):
    router = HttpRouter()
    for methods, template, handler in routes:
        router.add(methods, template, handler)
    handler, _ = resolve(router, "HEAD", path)
    assert handler is handler_b
