"""The examples in the original bareASGI documents run unchanged against this bareasgi.

The documents live outside the repository, in ``shared/reference`` next to it; a clone
without that folder skips these tests (they fail in CI, see tests/requirements.py). Their code
is not copied here: each test names only the first and last line of a listing, the listing
is cut out of the document when the test runs and executed verbatim, with ``uvicorn.run``
replaced by a function that records the application instead of serving it. The recorded
application is then driven in-process with the TestClient.
"""

from __future__ import annotations

import re
import types
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from bareasgi import Application
from bareasgi.testing import TestClient
from tests.requirements import need, needs

REFERENCE_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "reference"
README = "bareasgi-readme.txt"
GETTING_STARTED = "bareasgi-getting-started.txt"
BLOG = "bareasgi-blog-tutorial.txt"

_LINE_NUMBER = re.compile(r"\s*\d+\s*")

pytestmark = needs(
    REFERENCE_DIR.is_dir(),
    f"no reference documents at {REFERENCE_DIR}: put the original bareASGI documents "
    "(shared/reference) next to the repository",
)


def _document_lines(document: str) -> list[str]:
    path = REFERENCE_DIR / document
    need(path.is_file(), f"reference document {path} is missing from shared/reference")
    return path.read_text(encoding="utf-8").splitlines()


def _listing_bounds(lines: list[str], document: str, first: str, last: str, nth: int) -> range:
    starts = [index for index, line in enumerate(lines) if line.rstrip() == first]
    if len(starts) < nth:
        pytest.fail(
            f"{document}: wanted occurrence {nth} of the line {first!r}, found {len(starts)}",
            pytrace=False,
        )
    start = starts[nth - 1]
    for end in range(start, len(lines)):
        if lines[end].rstrip() == last:
            return range(start, end + 1)
    pytest.fail(f"{document}: no line {last!r} after line {start + 1}", pytrace=False)


def extract(document: str, first: str, last: str, nth: int = 1) -> str:
    """The listing in ``document`` from the ``nth`` line ``first`` to the next line ``last``.

    Lines are compared without trailing whitespace; indentation is part of the line.
    """
    lines = _document_lines(document)
    bounds = _listing_bounds(lines, document, first, last, nth)
    return "\n".join(lines[bounds.start : bounds.stop]) + "\n"


def extract_numbered(document: str, first: str, last: str, nth: int = 1) -> str:
    """Like ``extract``, for a listing preceded by its column of line numbers.

    The numbers must count exactly the lines extracted, which shows the boundaries are right.
    """
    lines = _document_lines(document)
    bounds = _listing_bounds(lines, document, first, last, nth)
    numbers = 0
    while bounds.start - numbers > 0 and _LINE_NUMBER.fullmatch(lines[bounds.start - numbers - 1]):
        numbers += 1
    assert numbers == len(bounds), (
        f"{document}: the listing starting {first!r} has {numbers} line numbers "
        f"but {len(bounds)} lines were extracted"
    )
    return "\n".join(lines[bounds.start : bounds.stop]) + "\n"


def run_listing(
    code: str,
    name: str,
    monkeypatch: pytest.MonkeyPatch,
    namespace: dict[str, Any] | None = None,
) -> tuple[types.ModuleType, list[Any]]:
    """Execute ``code`` as the module ``name``; return it and the apps given to ``uvicorn.run``."""
    served: list[Any] = []

    def record(app: Any, *args: Any, **kwargs: Any) -> None:
        served.append(app)

    monkeypatch.setattr(uvicorn, "run", record)
    module = types.ModuleType(name)
    module.__dict__.update(namespace or {})
    exec(compile(code, f"<{name}>", "exec"), module.__dict__)
    return module, served


def served_app(code: str, name: str, monkeypatch: pytest.MonkeyPatch) -> Application:
    """Run a complete example and return the one application it passed to ``uvicorn.run``."""
    module, served = run_listing(code, name, monkeypatch)
    assert len(served) == 1, f"{name} should call uvicorn.run once, called it {len(served)} times"
    assert served[0] is module.app
    assert isinstance(served[0], Application)
    return served[0]


async def test_readme_simple_client_answers_any_get_path(monkeypatch: pytest.MonkeyPatch) -> None:
    code = extract(README, "import uvicorn", "uvicorn.run(app, port=9009)", nth=1)
    app = served_app(code, "readme_simple", monkeypatch)

    async with TestClient(app) as client:
        for path in ("/", "/test", "/some/deep/path?with=query"):
            response = await client.get(path)
            assert response.status == 200, path
            assert response.headers.get("content-type") == "text/plain"
            assert response.text == "This is not a test"


async def assert_rest_server_round_trip(app: Application) -> None:
    """What the REST examples promise: GET the info, POST to change it, GET the change."""
    async with TestClient(app) as client:
        response = await client.get("/info", headers=[(b"accept", b"application/json")])
        assert response.status == 200
        assert response.headers.get("content-type") == "application/json"
        assert response.json() == {"name": "Michael Caine"}

        response = await client.post("/info", json={"name": "Peter Sellers"})
        assert response.status == 204
        assert response.body == b""

        response = await client.get("/info")
        assert response.status == 200
        assert response.json() == {"name": "Peter Sellers"}


async def test_readme_rest_server_gets_and_sets_info(monkeypatch: pytest.MonkeyPatch) -> None:
    code = extract(README, "import uvicorn", "uvicorn.run(app, port=9009)", nth=2)
    assert "text_reader" in code, "the second listing should be the REST server"

    await assert_rest_server_round_trip(served_app(code, "readme_rest", monkeypatch))


async def test_readme_middleware_runs_in_the_order_given(monkeypatch: pytest.MonkeyPatch) -> None:
    code = extract(README, "import uvicorn", "uvicorn.run(app, port=9009)", nth=3)
    app = served_app(code, "readme_middleware", monkeypatch)

    async with TestClient(app) as client:
        response = await client.get("/test")

    assert response.status == 200
    assert response.text == "This is first the middleware. This is the second middleware."


async def test_readme_websocket_handler_echoes(monkeypatch: pytest.MonkeyPatch) -> None:
    code = extract(
        README,
        "async def test_callback(scope, info, matches, web_socket):",
        "    await web_socket.close()",
    )
    module, served = run_listing(code, "readme_websocket", monkeypatch)
    assert served == []
    app = Application()
    app.ws_router.add("/test", module.test_callback)

    async with TestClient(app) as client, client.websocket("/test") as ws:
        await ws.send("hello")
        assert await ws.receive() == "You said: hello"
        await ws.send("again")
        assert await ws.receive() == "You said: again"


async def test_getting_started_simple_answers_on_test(monkeypatch: pytest.MonkeyPatch) -> None:
    code = extract_numbered(
        GETTING_STARTED,
        "from bareasgi import Application, text_writer",
        "uvicorn.run(app, port=9009)",
    )
    app = served_app(code, "getting_started_simple", monkeypatch)

    async with TestClient(app) as client:
        response = await client.get("/test")
        not_routed = await client.get("/other")

    assert response.status == 200
    assert response.headers.get("content-type") == "text/plain"
    assert response.text == "This is not a test"
    assert not_routed.status == 404


async def test_getting_started_rest_server_gets_and_sets_info(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The getting-started REST server answers the POST with a bare ``return 204``."""
    code = extract_numbered(GETTING_STARTED, "import json", "uvicorn.run(app, port=9009)")
    assert "    return 204\n" in code

    await assert_rest_server_round_trip(served_app(code, "getting_started_rest", monkeypatch))


async def test_getting_started_websocket_fragment_echoes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fragment creates its own app but does not import Application: the test provides it."""
    code = extract_numbered(
        GETTING_STARTED,
        "async def websocket_callback(scope, info, matches, web_socket):",
        "app.ws_router.add('/test', websocket_callback)",
    )
    module, _ = run_listing(
        code, "getting_started_websocket", monkeypatch, namespace={"Application": Application}
    )

    async with TestClient(module.app) as client, client.websocket("/test") as ws:
        await ws.send("hello")
        assert await ws.receive() == "You said: hello"


async def test_blog_decorator_routes_hello_world(monkeypatch: pytest.MonkeyPatch) -> None:
    """The blog's listings are cut short in the text; its imports and decorator line remain.

    They are run verbatim around a handler of our own, and the decorator alone routes it.
    """
    imports = extract(
        BLOG, "import asyncio", "from bareasgi import Application, bytes_writer", nth=1
    )
    decorator = extract(
        BLOG,
        "@app.on_http_request({'GET'}, '/hello-world')",
        "@app.on_http_request({'GET'}, '/hello-world')",
    )
    handler = (
        "async def hello_world(scope, info, matches, content):\n"
        "    return 200, [(b'content-type', b'text/plain')], bytes_writer(b'Hello, World!')\n"
    )
    code = imports + "\napp = Application()\n\n" + decorator + handler
    module, served = run_listing(code, "blog_hello_world", monkeypatch)
    assert served == []

    async with TestClient(module.app) as client:
        response = await client.get("/hello-world")
        wrong_method = await client.post("/hello-world", body=b"")

    assert response.status == 200
    assert response.headers.get("content-type") == "text/plain"
    assert response.body == b"Hello, World!"
    assert wrong_method.status == 405
