"""Middleware: application-wide chains, route-local chains from mw(), and their error handling."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bareasgi import Application, HTTPError, mw, text_response, text_writer
from bareasgi.testing import TestClient
from tests.scripted import one_receive_at_a_time


def recorder(log: list[str], name: str) -> Any:
    """Middleware that records when it runs before and after the handler."""

    async def middleware(scope: Any, info: Any, matches: Any, content: Any, handler: Any) -> Any:
        log.append(f"{name}-before")
        response = await handler(scope, info, matches, content)
        log.append(f"{name}-after")
        return response

    return middleware


def header_adder(name: bytes, value: bytes) -> Any:
    async def middleware(scope: Any, info: Any, matches: Any, content: Any, handler: Any) -> Any:
        status, headers, writer, pushes = await handler(scope, info, matches, content)
        return status, [*(headers or []), (name, value)], writer, pushes

    return middleware


def recording_handler(log: list[str], response: Any = None) -> Any:
    async def handler(scope: Any, info: Any, matches: Any, content: Any) -> Any:
        log.append("handler")
        return response if response is not None else text_response(200, None, "handled")

    return handler


async def raw_http(app: Application, method: str, path: str) -> list[dict[str, Any]]:
    """Run one HTTP request through ``app`` at the ASGI level; return the messages it sent."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"example.org")],
    }
    incoming = [{"type": "http.request", "body": b"", "more_body": False}]
    sent: list[dict[str, Any]] = []
    finished = asyncio.Event()

    async def receive() -> dict[str, Any]:
        if incoming:
            return incoming.pop(0)
        await finished.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            finished.set()

    await asyncio.wait_for(app(scope, one_receive_at_a_time(receive), send), 5)
    return sent


# -- order --------------------------------------------------------------------------------------


async def test_first_middleware_runs_outermost_and_the_handler_innermost() -> None:
    log: list[str] = []
    app = Application(middlewares=[recorder(log, "a"), recorder(log, "b")])
    app.http_router.add({"GET"}, "/", recording_handler(log))

    response = await TestClient(app).get("/")

    assert response.text == "handled"
    assert log == ["a-before", "b-before", "handler", "b-after", "a-after"]


async def test_middleware_runs_once_per_request() -> None:
    log: list[str] = []
    app = Application(middlewares=[recorder(log, "a")])
    app.http_router.add({"GET"}, "/", recording_handler(log))
    client = TestClient(app)

    await client.get("/")
    await client.get("/")

    assert log == ["a-before", "handler", "a-after"] * 2


async def test_middleware_receives_the_request_scope_info_and_converted_matches() -> None:
    seen: dict[str, Any] = {}

    async def middleware(scope: Any, info: Any, matches: Any, content: Any, handler: Any) -> Any:
        seen["middleware"] = (scope["path"], info, dict(matches))
        return await handler(scope, info, matches, content)

    async def handler(scope: Any, info: Any, matches: Any, content: Any) -> Any:
        seen["handler"] = (scope["path"], info, dict(matches))
        return 204

    app = Application(middlewares=[middleware], info={"name": "app"})
    app.http_router.add({"GET"}, "/items/{id:int}", handler)

    await TestClient(app).get("/items/7")

    assert seen["middleware"] == ("/items/7", {"name": "app"}, {"id": 7})
    assert seen["middleware"][1] is app.info
    assert seen["handler"] == seen["middleware"]


async def test_middleware_can_read_the_request_body_and_pass_a_replacement_on() -> None:
    async def upper_body(scope: Any, info: Any, matches: Any, content: Any, handler: Any) -> Any:
        body = b"".join([chunk async for chunk in content])

        async def replacement() -> AsyncIterator[bytes]:
            yield body.upper()

        return await handler(scope, info, matches, replacement())

    async def echo(scope: Any, info: Any, matches: Any, content: Any) -> Any:
        body = b"".join([chunk async for chunk in content])
        return text_response(200, None, body.decode())

    app = Application(middlewares=[upper_body])
    app.http_router.add({"POST"}, "/", echo)

    response = await TestClient(app).post("/", body=b"shout")

    assert response.text == "SHOUT"


# -- the handler a middleware calls always returns the full tuple -------------------------------


@pytest.mark.parametrize(
    ("returned", "expected"),
    [
        (204, (204, None, None, None)),
        ((204,), (204, None, None, None)),
        ((204, [(b"x-h", b"1")]), (204, [(b"x-h", b"1")], None, None)),
        ((204, [(b"x-h", b"1")], None), (204, [(b"x-h", b"1")], None, None)),
        ((204, [(b"x-h", b"1")], None, None), (204, [(b"x-h", b"1")], None, None)),
    ],
    ids=["bare-int", "1-tuple", "2-tuple", "3-tuple", "4-tuple"],
)
async def test_handler_called_by_middleware_always_returns_the_full_4_tuple(
    returned: Any, expected: Any
) -> None:
    results: list[Any] = []

    async def middleware(scope: Any, info: Any, matches: Any, content: Any, handler: Any) -> Any:
        result = await handler(scope, info, matches, content)
        results.append(result)
        return result

    async def handler(scope: Any, info: Any, matches: Any, content: Any) -> Any:
        return returned

    app = Application(middlewares=[middleware])
    app.http_router.add({"GET"}, "/", handler)

    response = await TestClient(app).get("/")

    assert response.status == 204
    assert results == [expected]
    assert isinstance(results[0], tuple)


async def test_inner_middleware_returning_a_bare_int_reaches_outer_middleware_as_4_tuple(
) -> None:
    results: list[Any] = []

    async def outer(scope: Any, info: Any, matches: Any, content: Any, handler: Any) -> Any:
        results.append(await handler(scope, info, matches, content))
        return results[-1]

    async def inner(scope: Any, info: Any, matches: Any, content: Any, handler: Any) -> Any:
        await handler(scope, info, matches, content)
        return 202

    app = Application(middlewares=[outer, inner])
    app.http_router.add({"GET"}, "/", recording_handler([]))

    response = await TestClient(app).get("/")

    assert results == [(202, None, None, None)]
    assert response.status == 202


# -- middleware changes or replaces the response ------------------------------------------------


async def test_middleware_can_add_a_response_header() -> None:
    app = Application(middlewares=[header_adder(b"x-served-by", b"bareasgi")])
    app.http_router.add({"GET"}, "/", recording_handler([]))

    response = await TestClient(app).get("/")

    assert response.status == 200
    assert response.text == "handled"
    assert response.headers["x-served-by"] == "bareasgi"


async def test_header_added_by_middleware_is_in_the_asgi_response_start_message() -> None:
    app = Application(middlewares=[header_adder(b"x-served-by", b"bareasgi")])
    app.http_router.add({"GET"}, "/", recording_handler([], (200, [(b"x-own", b"1")])))

    sent = await raw_http(app, "GET", "/")

    assert len(sent) == 2
    assert sent[0] == {
        "type": "http.response.start",
        "status": 200,
        "headers": [(b"x-own", b"1"), (b"x-served-by", b"bareasgi")],
    }
    assert sent[1]["type"] == "http.response.body"
    assert sent[1]["body"] == b""
    assert sent[1].get("more_body", False) is False


async def test_middleware_can_change_the_status_and_replace_the_body() -> None:
    async def replace(scope: Any, info: Any, matches: Any, content: Any, handler: Any) -> Any:
        _, _, writer, pushes = await handler(scope, info, matches, content)
        body = b"".join([chunk async for chunk in writer])
        return 201, None, text_writer(f"wrapped[{body.decode()}]"), pushes

    app = Application(middlewares=[replace])
    app.http_router.add({"GET"}, "/", recording_handler([]))

    response = await TestClient(app).get("/")

    assert response.status == 201
    assert response.text == "wrapped[handled]"


async def test_middleware_can_short_circuit_with_401_without_calling_the_handler() -> None:
    log: list[str] = []

    async def require_token(
        scope: Any, info: Any, matches: Any, content: Any, handler: Any
    ) -> Any:
        if (b"authorization", b"Bearer good") not in scope["headers"]:
            return 401, [(b"www-authenticate", b"Bearer")]
        return await handler(scope, info, matches, content)

    app = Application(middlewares=[require_token])
    app.http_router.add({"GET"}, "/secret", recording_handler(log))
    client = TestClient(app)

    refused = await client.get("/secret")
    assert refused.status == 401
    assert refused.headers["www-authenticate"] == "Bearer"
    assert refused.body == b""
    assert log == []

    allowed = await client.get("/secret", headers={"Authorization": "Bearer good"})
    assert allowed.status == 200
    assert log == ["handler"]


@pytest.mark.parametrize(
    "returned",
    [403, (403,), (403, [(b"x-why", b"no")]), (403, [(b"x-why", b"no")], text_writer("no"))],
    ids=["bare-int", "1-tuple", "2-tuple", "3-tuple"],
)
async def test_middleware_may_return_a_bare_int_or_short_tuple(returned: Any) -> None:
    async def middleware(scope: Any, info: Any, matches: Any, content: Any, handler: Any) -> Any:
        return returned

    app = Application(middlewares=[middleware])
    app.http_router.add({"GET"}, "/", recording_handler([]))

    response = await TestClient(app).get("/")

    assert response.status == 403
    if isinstance(returned, tuple) and len(returned) >= 2:
        assert response.headers["x-why"] == "no"
    expected_body = b"no" if isinstance(returned, tuple) and len(returned) == 3 else b""
    assert response.body == expected_body


# -- route-local chains -------------------------------------------------------------------------


async def test_mw_builds_a_route_local_chain_that_runs_only_on_its_route() -> None:
    log: list[str] = []
    app = Application()
    guarded_chain = mw(recorder(log, "a"), recorder(log, "b"), handler=recording_handler(log))
    app.http_router.add({"GET"}, "/guarded", guarded_chain)
    app.http_router.add({"GET"}, "/open", recording_handler(log))
    client = TestClient(app)

    guarded = await client.get("/guarded")
    assert guarded.text == "handled"
    assert log == ["a-before", "b-before", "handler", "b-after", "a-after"]

    log.clear()
    opened = await client.get("/open")
    assert opened.text == "handled"
    assert log == ["handler"]


async def test_app_middleware_runs_around_a_route_local_chain() -> None:
    log: list[str] = []
    app = Application(middlewares=[recorder(log, "app")])
    app.http_router.add(
        {"GET"}, "/", mw(recorder(log, "local"), handler=recording_handler(log))
    )

    await TestClient(app).get("/")

    assert log == ["app-before", "local-before", "handler", "local-after", "app-after"]


async def test_mw_chain_normalises_the_handler_response_for_its_middleware() -> None:
    results: list[Any] = []

    async def middleware(scope: Any, info: Any, matches: Any, content: Any, handler: Any) -> Any:
        results.append(await handler(scope, info, matches, content))
        return results[-1]

    async def handler(scope: Any, info: Any, matches: Any, content: Any) -> Any:
        return 202, [(b"x-h", b"1")]

    app = Application()
    app.http_router.add({"GET"}, "/", mw(middleware, handler=handler))

    response = await TestClient(app).get("/")

    assert results == [(202, [(b"x-h", b"1")], None, None)]
    assert response.status == 202
    assert response.headers["x-h"] == "1"


# -- 404 and 405 go through application middleware ----------------------------------------------


async def test_app_middleware_wraps_the_404_response() -> None:
    statuses: list[int] = []

    async def middleware(scope: Any, info: Any, matches: Any, content: Any, handler: Any) -> Any:
        status, headers, writer, pushes = await handler(scope, info, matches, content)
        statuses.append(status)
        return status, [*(headers or []), (b"x-seen", b"yes")], writer, pushes

    app = Application(middlewares=[middleware])
    app.http_router.add({"GET"}, "/exists", recording_handler([]))

    response = await TestClient(app).get("/missing")

    assert statuses == [404]
    assert response.status == 404
    assert response.headers["x-seen"] == "yes"
    assert response.text == "Not Found"


async def test_app_middleware_wraps_the_405_response() -> None:
    statuses: list[int] = []

    async def middleware(scope: Any, info: Any, matches: Any, content: Any, handler: Any) -> Any:
        status, headers, writer, pushes = await handler(scope, info, matches, content)
        statuses.append(status)
        return status, [*(headers or []), (b"x-seen", b"yes")], writer, pushes

    app = Application(middlewares=[middleware])
    app.http_router.add({"GET"}, "/exists", recording_handler([]))

    response = await TestClient(app).post("/exists")

    assert statuses == [405]
    assert response.status == 405
    assert response.headers["x-seen"] == "yes"
    assert "GET" in response.headers["allow"]


async def test_404_through_middleware_at_the_asgi_level_carries_the_added_header() -> None:
    app = Application(middlewares=[header_adder(b"x-seen", b"yes")])

    sent = await raw_http(app, "GET", "/nowhere")

    assert sent[0]["type"] == "http.response.start"
    assert sent[0]["status"] == 404
    assert (b"x-seen", b"yes") in sent[0]["headers"]
    assert sent[-1]["type"] == "http.response.body"
    assert sent[-1].get("more_body", False) is False
    assert b"".join(message["body"] for message in sent[1:]) == b"Not Found"


async def test_app_middleware_wraps_a_custom_not_found_response() -> None:
    app = Application(
        middlewares=[header_adder(b"x-seen", b"yes")],
        not_found_response=(404, [(b"content-type", b"text/plain")], text_writer("gone")),
    )
    client = TestClient(app)

    first = await client.get("/a")
    second = await client.get("/b")

    for response in (first, second):
        assert response.status == 404
        assert response.text == "gone"
        assert response.headers.get_all("x-seen") == ["yes"]


async def test_app_middleware_can_replace_a_404_with_a_redirect() -> None:
    async def redirect_unknown(
        scope: Any, info: Any, matches: Any, content: Any, handler: Any
    ) -> Any:
        status, headers, writer, pushes = await handler(scope, info, matches, content)
        if status == 404:
            return 307, [(b"location", b"/home")]
        return status, headers, writer, pushes

    app = Application(middlewares=[redirect_unknown])
    app.http_router.add({"GET"}, "/home", recording_handler([]))
    client = TestClient(app)

    moved = await client.get("/elsewhere")
    home = await client.get("/home")

    assert moved.status == 307
    assert moved.headers["location"] == "/home"
    assert home.status == 200


# -- errors -------------------------------------------------------------------------------------


async def test_http_error_raised_in_middleware_before_the_handler_becomes_the_response() -> None:
    log: list[str] = []

    async def forbid(scope: Any, info: Any, matches: Any, content: Any, handler: Any) -> Any:
        raise HTTPError(403, "members only", [(b"x-reason", b"membership")])

    app = Application(middlewares=[forbid])
    app.http_router.add({"GET"}, "/", recording_handler(log))

    response = await TestClient(app).get("/")

    assert response.status == 403
    assert response.text == "members only"
    assert response.headers["x-reason"] == "membership"
    assert log == []


async def test_http_error_raised_in_middleware_after_the_handler_replaces_its_response() -> None:
    log: list[str] = []

    async def veto(scope: Any, info: Any, matches: Any, content: Any, handler: Any) -> Any:
        await handler(scope, info, matches, content)
        raise HTTPError(409)

    app = Application(middlewares=[veto])
    app.http_router.add({"GET"}, "/", recording_handler(log))

    response = await TestClient(app).get("/")

    assert log == ["handler"]
    assert response.status == 409
    assert response.text == "Conflict"


async def test_http_error_from_handler_comes_back_through_middleware_to_the_client() -> None:
    log: list[str] = []

    async def handler(scope: Any, info: Any, matches: Any, content: Any) -> Any:
        raise HTTPError(418, "teapot")

    app = Application(middlewares=[recorder(log, "a")])
    app.http_router.add({"GET"}, "/", handler)

    response = await TestClient(app).get("/")

    assert response.status == 418
    assert response.text == "teapot"
    assert log == ["a-before", "a-after"]


async def test_exception_in_middleware_is_a_500_revealing_nothing_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(scope: Any, info: Any, matches: Any, content: Any, handler: Any) -> Any:
        raise KeyError("secret-database-password")

    app = Application(middlewares=[broken])
    app.http_router.add({"GET"}, "/", recording_handler([]))

    with caplog.at_level(logging.ERROR, logger="bareasgi"):
        response = await TestClient(app).get("/")

    assert response.status == 500
    assert response.text == "Internal Server Error"
    assert b"secret" not in response.body and b"KeyError" not in response.body
    errors = [r for r in caplog.records if r.name == "bareasgi" and r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert errors[0].exc_info is not None
    assert isinstance(errors[0].exc_info[1], KeyError)
    assert "secret-database-password" in caplog.text


async def test_exception_in_middleware_after_the_handler_is_a_500(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(scope: Any, info: Any, matches: Any, content: Any, handler: Any) -> Any:
        await handler(scope, info, matches, content)
        raise RuntimeError("post-processing exploded")

    app = Application(middlewares=[broken])
    app.http_router.add({"GET"}, "/", recording_handler([]))

    with caplog.at_level(logging.ERROR, logger="bareasgi"):
        response = await TestClient(app).get("/")

    assert response.status == 500
    assert response.text == "Internal Server Error"
    assert "exploded" not in response.text
    assert any(
        r.name == "bareasgi" and r.exc_info and isinstance(r.exc_info[1], RuntimeError)
        for r in caplog.records
    )


async def test_exception_in_route_local_middleware_is_a_500_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(scope: Any, info: Any, matches: Any, content: Any, handler: Any) -> Any:
        raise ValueError("local failure detail")

    app = Application()
    app.http_router.add({"GET"}, "/", mw(broken, handler=recording_handler([])))

    with caplog.at_level(logging.ERROR, logger="bareasgi"):
        response = await TestClient(app).get("/")

    assert response.status == 500
    assert response.text == "Internal Server Error"
    assert any(
        r.name == "bareasgi" and r.exc_info and isinstance(r.exc_info[1], ValueError)
        for r in caplog.records
    )


async def test_middleware_returning_something_not_a_response_is_a_logged_500_naming_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def returns_text(scope: Any, info: Any, matches: Any, content: Any, handler: Any) -> Any:
        return "OK"

    app = Application(middlewares=[returns_text])
    app.http_router.add({"GET"}, "/", recording_handler([]))

    with caplog.at_level(logging.ERROR, logger="bareasgi"):
        response = await TestClient(app).get("/")

    assert response.status == 500
    assert response.text == "Internal Server Error"
    assert "returns_text" in caplog.text
    assert "TypeError" in caplog.text


async def test_http_error_raised_further_in_reaches_middleware_as_its_response() -> None:
    seen = []

    async def add_header(scope, info, matches, content, handler):
        status, headers, writer, pushes = await handler(scope, info, matches, content)
        seen.append(status)
        return status, [*(headers or []), (b"x-seen", b"yes")], writer, pushes

    async def refuse(scope, info, matches, content, handler):
        raise HTTPError(401, "who are you?")

    async def missing(scope, info, matches, content):
        raise HTTPError(404, "no such thing")

    app = Application(middlewares=[add_header])
    app.http_router.add({"GET"}, "/missing", missing)
    app.http_router.add({"GET"}, "/refused", mw(refuse, handler=missing))
    client = TestClient(app)
    response = await client.get("/missing")
    assert (response.status, response.text, response.headers.get("x-seen")) == (
        404, "no such thing", "yes",
    )
    response = await client.get("/refused")
    assert (response.status, response.text, response.headers.get("x-seen")) == (
        401, "who are you?", "yes",
    )
    assert seen == [404, 401]


# -- found by mutation testing -------------------------------------------------------------------


async def test_a_bad_return_value_is_logged_naming_whoever_returned_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def passthrough(scope: Any, info: Any, matches: Any, content: Any, handler: Any) -> Any:
        return await handler(scope, info, matches, content)

    async def returns_text(scope: Any, info: Any, matches: Any, content: Any, handler: Any) -> Any:
        return "OK"

    async def handler_returning_text(scope: Any, info: Any, matches: Any, content: Any) -> Any:
        return "OK"

    app = Application(middlewares=[passthrough])
    app.http_router.add({"GET"}, "/handler", handler_returning_text)
    app.http_router.add({"GET"}, "/middleware", mw(returns_text, handler=handler_returning_text))
    client = TestClient(app)
    for path, culprit in (("/handler", handler_returning_text), ("/middleware", returns_text)):
        caplog.clear()
        with caplog.at_level(logging.ERROR, logger="bareasgi"):
            assert (await client.get(path)).status == 500
        assert f"{culprit.__qualname__} returned 'OK'; expected a status int" in caplog.text


async def test_a_failing_writer_behind_middleware_is_logged_naming_the_handler(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def passthrough(scope: Any, info: Any, matches: Any, content: Any, handler: Any) -> Any:
        return await handler(scope, info, matches, content)

    async def broken_stream(scope: Any, info: Any, matches: Any, content: Any) -> Any:
        async def writer() -> AsyncIterator[bytes]:
            yield b"first"
            raise RuntimeError("disk gone")

        return 200, None, writer()

    app = Application(middlewares=[passthrough])
    app.http_router.add({"GET"}, "/", broken_stream)
    with caplog.at_level(logging.ERROR, logger="bareasgi"):
        response = await TestClient(app).get("/")
    assert (response.status, response.body) == (200, b"first")
    assert f"The writer of {__name__}.{broken_stream.__qualname__} failed" in caplog.text


def _sync_middleware(scope: Any, info: Any, matches: Any, content: Any, handler: Any) -> Any:
    return handler(scope, info, matches, content)


@pytest.mark.parametrize(
    "middleware",
    [_sync_middleware, None, "cors"],
    ids=["a sync function", "None", "a str"],
)
def test_middleware_that_is_not_an_async_function_is_refused_when_given(middleware: Any) -> None:
    # At request time it could only be a 500 for every request.
    async def handler(scope: Any, info: Any, matches: Any, content: Any) -> Any:
        return 204

    with pytest.raises(TypeError, match=r"middleware .* must be an async function"):
        Application(middlewares=[middleware])
    with pytest.raises(TypeError, match=r"middleware .* must be an async function"):
        mw(middleware, handler=handler)
    with pytest.raises(TypeError, match=r"handler .* must be an async function"):
        mw(handler=middleware)


def test_a_not_found_handler_that_is_not_an_async_function_is_refused_when_given() -> None:
    def not_found(scope: Any, info: Any, matches: Any, content: Any) -> Any:
        return 404

    with pytest.raises(TypeError, match=r"not_found_response .* must be an async function"):
        Application(not_found_response=not_found)
