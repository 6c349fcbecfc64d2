"""The static files extra: lookup inside the directory, validators, ranges and streaming."""

import asyncio
import gc
import io
import logging
import os
import subprocess
import sys
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from email.utils import formatdate

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bareasgi import Application, BodyWriter
from bareasgi.static import FileWriter, file_response, static_files
from bareasgi.testing import TestClient
from tests.fuzzing import property_settings
from tests.scripted import one_at_a_time

BIG = bytes(range(256)) * 14  # 3584 bytes: three and a half chunks of 1024
LOGO = b"\x89PNG\r\n\x1a\n" + bytes(100)
PLAIN = "text/plain; charset=utf-8"


@pytest.fixture
def public(tmp_path):
    """A directory to serve, next to files and folders that must never be served."""
    root = tmp_path / "public"
    files = {
        "index.html": b"<h1>Home</h1>",
        "style.css": b"body { color: teal; }",
        "app.js": b"console.log(1);",
        "data.json": b'{"a": 1}',
        "logo.png": LOGO,
        "notes.txt": b"0123456789abcdefghij",
        "blob.weird-extension": b"?",
        "archive.tar.gz": b"\x1f\x8b",
        "empty.txt": b"",
        "big.bin": BIG,
        "with space.txt": b"spaced",
        "grüße.txt": b"hello",
        "sub/inner.txt": b"inner",
        "sub/index.html": b"<h1>Sub</h1>",
        "bare/file.txt": b"in a folder without an index",
    }
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    (tmp_path / "secret.txt").write_bytes(b"secret")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "index.html").write_bytes(b"outside")
    (tmp_path / "outside" / "file.txt").write_bytes(b"outside")
    return root


def app_for(directory, route="/static/{path:path}", methods=("GET", "HEAD"), **options):
    app = Application()
    app.http_router.add(set(methods), route, static_files(directory, **options))
    return app


@pytest.fixture
def client(public):
    return TestClient(app_for(public))


def writer_spy(app):
    """Record the writer of every response, as a middleware sees it."""
    writers = []

    async def spy(scope, info, matches, content, handler):
        response = await handler(scope, info, matches, content)
        writers.append(response[2])
        return response

    app.middlewares.append(spy)
    return writers


class RawServer:
    """A server at the ASGI level: one empty request, then silence until the response ends."""

    def __init__(self, path, raw_path=None, extensions=None, headers=()):
        self.scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "query_string": b"",
            "root_path": "",
            "headers": list(headers),
            "extensions": extensions or {},
        }
        if raw_path is not None:
            self.scope["raw_path"] = raw_path
        self.sent = []
        self._requested = False

    @one_at_a_time
    async def receive(self):
        if not self._requested:
            self._requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # never disconnects; the framework stops waiting
        raise AssertionError("unreachable")

    async def send(self, message):
        self.sent.append(message)

    async def run(self, app):
        await asyncio.wait_for(app(self.scope, self.receive, self.send), 5)
        start = self.sent[0]
        body = b"".join(m.get("body", b"") for m in self.sent[1:])
        return start["status"], dict(start["headers"]), body


# Configuration ----------------------------------------------------------------------------------


def test_importing_bareasgi_does_not_load_the_extra():
    code = "import sys, bareasgi; print('bareasgi.static' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False"


def test_a_missing_directory_is_refused_at_configuration(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        static_files(tmp_path / "nowhere")


def test_a_file_is_not_a_directory_to_serve(public):
    with pytest.raises(ValueError, match="is not a directory"):
        static_files(public / "notes.txt")


@pytest.mark.parametrize(
    "index", ["", ".", "..", "sub/index.html", "a\\b", "a\0b", b"index.html", 5]
)
def test_the_index_must_be_a_plain_file_name(public, index):
    with pytest.raises(ValueError, match="plain file name"):
        static_files(public, index=index)


@pytest.mark.parametrize("chunk_size", [0, -1, 1.5])
def test_the_chunk_size_must_be_positive(public, chunk_size):
    with pytest.raises(ValueError, match="chunk_size"):
        static_files(public, chunk_size=chunk_size)


BAD_EXTRA_HEADERS = [
    (("cache-control", "no-cache"), "is not a pair of bytes"),
    ((b"x-a", "text"), "is not a pair of bytes"),
    (("x-a", b"bytes"), "is not a pair of bytes"),
    ((b"x-a",), r"headers must be a list of \(bytes, bytes\) pairs"),
    ((b"x-a", b"1", b"2"), r"headers must be a list of \(bytes, bytes\) pairs"),
    ((b"x-a", b"1\r\nset-cookie: a=b"), "CR, LF or NUL"),
    ((b"x-a", b"\0"), "CR, LF or NUL"),
    ((b"", b"1"), "not a valid header name"),
    # The framework refuses these names on every response: refused here at configuration,
    # they never become a 500 on every request.
    ((b"cache control", b"x"), "not a valid header name"),
    ((b"x:y", b"1"), "not a valid header name"),
    (("caf\u00e9".encode(), b"1"), "not a valid header name"),
]


@pytest.mark.parametrize(("header", "problem"), BAD_EXTRA_HEADERS)
def test_extra_headers_the_framework_would_refuse_are_refused_at_configuration(
    public, header, problem
):
    with pytest.raises(ValueError, match=problem):
        static_files(public, headers=[header])


@pytest.mark.parametrize(
    "name", [b"content-type", b"Content-Length", b"etag", b"last-modified", b"accept-ranges"]
)
def test_extra_headers_the_file_sets_itself_are_refused_not_sent_twice(public, name):
    with pytest.raises(ValueError, match="describes the file"):
        static_files(public, headers=[(name, b"x")])


@pytest.mark.parametrize(("header", "problem"), BAD_EXTRA_HEADERS)
async def test_file_response_refuses_the_same_headers_before_any_response(public, header, problem):
    scope = {"type": "http", "method": "GET", "headers": []}
    with pytest.raises(ValueError, match=problem):
        await file_response(scope, public / "notes.txt", headers=[header])


async def test_a_route_without_a_path_variable_is_a_logged_500(public, caplog):
    client = TestClient(app_for(public, route="/static/{name}"))
    with caplog.at_level(logging.ERROR, logger="bareasgi"):
        response = await client.get("/static/notes.txt")
    assert response.status == 500
    assert "{path:path}" in caplog.text


# Serving files ----------------------------------------------------------------------------------


async def test_a_file_is_served_with_its_validators(client, public):
    response = await client.get("/static/notes.txt")
    assert response.status == 200
    assert response.body == b"0123456789abcdefghij"
    assert response.headers["content-type"] == PLAIN
    assert response.headers["content-length"] == "20"
    assert response.headers["accept-ranges"] == "bytes"
    info = os.stat(public / "notes.txt")
    assert response.headers["last-modified"] == formatdate(int(info.st_mtime), usegmt=True)
    etag = response.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("index.html", "text/html; charset=utf-8"),
        ("style.css", "text/css; charset=utf-8"),
        ("data.json", "application/json; charset=utf-8"),
        ("logo.png", "image/png"),
        ("blob.weird-extension", "application/octet-stream"),
        # Compressed files are sent as the archive they are, not as what they unpack to.
        ("archive.tar.gz", "application/gzip"),
    ],
)
async def test_the_content_type_follows_the_file_name(client, name, content_type):
    response = await client.get(f"/static/{name}")
    assert response.headers["content-type"] == content_type


async def test_javascript_is_sent_as_utf_8(client):
    response = await client.get("/static/app.js")
    assert response.headers["content-type"].endswith("javascript; charset=utf-8")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/static/sub/inner.txt", b"inner"),
        ("/static/with%20space.txt", b"spaced"),
        ("/static/gr%C3%BC%C3%9Fe.txt", b"hello"),
        ("/static/logo.png", LOGO),
        ("/static/empty.txt", b""),
    ],
)
async def test_files_in_folders_and_with_any_name_are_served(client, path, body):
    response = await client.get(path)
    assert (response.status, response.body) == (200, body)
    assert response.headers["content-length"] == str(len(body))


async def test_a_missing_file_is_a_plain_404(client):
    response = await client.get("/static/nothing-here.txt")
    assert (response.status, response.text) == (404, "Not Found")
    assert "etag" not in response.headers


async def test_head_sends_the_headers_of_get_and_no_body(client):
    get = await client.get("/static/big.bin")
    head = await client.head("/static/big.bin")
    assert head.status == 200
    assert head.body == b""
    assert head.headers.raw == get.headers.raw


async def test_other_methods_are_405_even_when_routed(public):
    client = TestClient(app_for(public, methods=("GET", "POST")))
    response = await client.post("/static/notes.txt")
    assert response.status == 405
    assert response.headers["allow"] == "GET, HEAD"


async def test_extra_headers_go_on_file_responses_only(public):
    # A list is a pair too, as in any response the framework sends.
    extra = [(b"cache-control", b"max-age=60"), [b"x-pair", b"a list"]]
    client = TestClient(app_for(public, headers=extra))
    ok = await client.get("/static/notes.txt")
    assert (ok.headers["cache-control"], ok.headers["x-pair"]) == ("max-age=60", "a list")
    etag = {"if-none-match": ok.headers["etag"]}
    not_modified = await client.get("/static/notes.txt", headers=etag)
    assert not_modified.headers["cache-control"] == "max-age=60"
    partial = await client.get("/static/notes.txt", headers={"range": "bytes=0-1"})
    assert partial.headers["cache-control"] == "max-age=60"
    assert "cache-control" not in (await client.get("/static/missing")).headers


async def test_a_directory_to_serve_may_be_given_through_a_link(public, tmp_path):
    link = tmp_path / "link-to-public"
    link.symlink_to(public, target_is_directory=True)
    response = await TestClient(app_for(link)).get("/static/notes.txt")
    assert response.status == 200


# Directories ------------------------------------------------------------------------------------


async def test_the_root_is_answered_with_its_index(client):
    response = await client.get("/static/")
    assert response.status == 200
    assert response.body == b"<h1>Home</h1>"
    assert response.headers["content-type"] == "text/html; charset=utf-8"


async def test_a_folder_with_its_slash_is_answered_with_its_index(client):
    response = await client.get("/static/sub/")
    assert (response.status, response.body) == (200, b"<h1>Sub</h1>")


async def test_a_folder_without_its_slash_redirects_relative_to_itself(client):
    response = await client.get("/static/sub")
    assert response.status == 308
    assert response.headers["location"] == "sub/"
    assert response.body == b""


async def test_the_redirect_keeps_the_query_and_encodes_the_name(client, public):
    (public / "my docs").mkdir()
    (public / "my docs" / "index.html").write_bytes(b"docs")
    response = await client.get("/static/my%20docs?page=2")
    assert response.status == 308
    assert response.headers["location"] == "my%20docs/?page=2"
    assert (await client.get("/static/my%20docs/")).body == b"docs"


@pytest.mark.parametrize("path", ["/static/bare", "/static/bare/"])
async def test_a_folder_without_an_index_is_404_and_never_listed(client, path):
    response = await client.get(path)
    assert response.status == 404
    assert b"file.txt" not in response.body


async def test_without_an_index_every_folder_is_404(public):
    client = TestClient(app_for(public, index=None))
    assert (await client.get("/static/")).status == 404
    assert (await client.get("/static/sub")).status == 404
    assert (await client.get("/static/sub/inner.txt")).status == 200


async def test_the_index_name_can_be_chosen(public):
    (public / "sub" / "default.htm").write_bytes(b"default")
    client = TestClient(app_for(public, index="default.htm"))
    response = await client.get("/static/sub/")
    assert (response.status, response.body) == (200, b"default")
    assert (await client.get("/static/")).status == 404  # the root has no default.htm


async def test_a_file_asked_for_as_a_folder_is_404(client):
    assert (await client.get("/static/notes.txt/")).status == 404


async def test_served_at_the_root_the_whole_path_is_the_file(public):
    client = TestClient(app_for(public, route="/{path:path}"))
    assert (await client.get("/")).body == b"<h1>Home</h1>"
    assert (await client.get("/sub/inner.txt")).body == b"inner"
    assert (await client.get("/sub")).headers["location"] == "sub/"


# Paths that try to leave the directory ----------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/static/../secret.txt",
        "/static/sub/../../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/../outside/file.txt",
        "/static/..",
        # Dot segments are refused even where they would stay inside.
        "/static/sub/../notes.txt",
        "/static/./notes.txt",
        "/static/sub/.",
        # An empty segment would make the rest an absolute path.
        "/static//etc/passwd",
        "/static/sub//inner.txt",
        "/static/..%5csecret.txt",
        "/static/notes.txt%00.png",
    ],
)
async def test_paths_that_could_leave_the_directory_are_404(client, path):
    response = await client.get(path)
    assert (response.status, response.text) == (404, "Not Found")


async def test_an_absolute_path_to_a_real_file_is_404(client, tmp_path):
    secret = (tmp_path / "secret.txt").as_posix()
    assert (await client.get(f"/static/{secret}")).status == 404
    assert (await client.get(f"/static//{secret}")).status == 404


@pytest.mark.parametrize("raw_path", [b"/static/sub%2Finner.txt", b"/static/sub%2finner.txt"])
async def test_an_encoded_slash_is_404_although_the_server_decoded_it(public, raw_path):
    # Servers decode %2F into "/" in scope["path"]; only raw_path shows it was one segment.
    server = RawServer("/static/sub/inner.txt", raw_path=raw_path)
    status, _, body = await server.run(app_for(public))
    assert (status, body) == (404, b"Not Found")


@pytest.mark.parametrize("raw_path", [b"/static/sub/inner.txt", b"/static/sub/%69nner.txt", None])
async def test_the_same_path_without_an_encoded_slash_is_served(public, raw_path):
    server = RawServer("/static/sub/inner.txt", raw_path=raw_path)
    status, _, body = await server.run(app_for(public))
    assert (status, body) == (200, b"inner")


async def test_a_link_to_a_file_outside_is_404(client, public, tmp_path):
    (public / "leak.txt").symlink_to(tmp_path / "secret.txt")
    assert (await client.get("/static/leak.txt")).status == 404


async def test_a_link_to_a_folder_outside_is_404(client, public, tmp_path):
    (public / "elsewhere").symlink_to(tmp_path / "outside", target_is_directory=True)
    assert (await client.get("/static/elsewhere/file.txt")).status == 404
    assert (await client.get("/static/elsewhere/")).status == 404
    assert (await client.get("/static/elsewhere")).status == 404


async def test_an_index_linking_outside_is_404(client, public, tmp_path):
    (public / "trap").mkdir()
    (public / "trap" / "index.html").symlink_to(tmp_path / "secret.txt")
    assert (await client.get("/static/trap/")).status == 404
    assert (await client.get("/static/trap")).status == 404


async def test_a_link_into_a_sibling_whose_name_extends_the_root_is_404(client, public, tmp_path):
    # "/…/public-x" starts with "/…/public": only a whole path component is inside.
    sibling = tmp_path / "public-x"
    (sibling / "dir").mkdir(parents=True)
    (sibling / "secret.txt").write_bytes(b"secret")
    (sibling / "dir" / "index.html").write_bytes(b"secret index")
    (public / "near.txt").symlink_to(sibling / "secret.txt")
    (public / "neardir").symlink_to(sibling / "dir", target_is_directory=True)
    (public / "nearindex").mkdir()
    (public / "nearindex" / "index.html").symlink_to(sibling / "secret.txt")
    for path in ("near.txt", "neardir/index.html", "neardir/", "nearindex/", "nearindex"):
        response = await client.get(f"/static/{path}")
        assert response.status == 404, path


async def test_links_that_stay_inside_are_followed(client, public):
    (public / "alias.txt").symlink_to(public / "sub" / "inner.txt")
    (public / "alias").symlink_to(public / "sub", target_is_directory=True)
    assert (await client.get("/static/alias.txt")).body == b"inner"
    assert (await client.get("/static/alias/inner.txt")).body == b"inner"


async def test_a_fifo_is_404_without_waiting_for_a_writer(client, public):
    os.mkfifo(public / "pipe.txt")
    response = await asyncio.wait_for(client.get("/static/pipe.txt"), 5)
    assert response.status == 404


# Conditional requests ---------------------------------------------------------------------------


async def etag_and_date(client, path="/static/notes.txt"):
    response = await client.get(path)
    return response.headers["etag"], response.headers["last-modified"]


async def test_a_matching_if_none_match_is_304_with_the_validators(client):
    etag, date = await etag_and_date(client)
    response = await client.get("/static/notes.txt", headers={"if-none-match": etag})
    assert response.status == 304
    assert response.body == b""
    assert response.headers["etag"] == etag
    assert response.headers["last-modified"] == date
    assert "content-length" not in response.headers


@pytest.mark.parametrize("template", ["{etag}", "W/{etag}", '"other", {etag}', "*"])
async def test_if_none_match_compares_weakly_and_takes_lists(client, template):
    etag, _ = await etag_and_date(client)
    headers = {"if-none-match": template.format(etag=etag)}
    assert (await client.get("/static/notes.txt", headers=headers)).status == 304


async def test_head_gets_304_too(client):
    etag, _ = await etag_and_date(client)
    response = await client.head("/static/notes.txt", headers={"if-none-match": etag})
    assert response.status == 304


async def test_if_none_match_wins_over_if_modified_since(client):
    _, date = await etag_and_date(client)
    headers = {"if-none-match": '"stale"', "if-modified-since": date}
    response = await client.get("/static/notes.txt", headers=headers)
    assert response.status == 200


@pytest.mark.parametrize(
    ("offset", "status"), [(0, 304), (3600, 304), (-3600, 200)], ids=["same", "later", "earlier"]
)
async def test_if_modified_since(client, public, offset, status):
    mtime = int(os.stat(public / "notes.txt").st_mtime)
    headers = {"if-modified-since": formatdate(mtime + offset, usegmt=True)}
    assert (await client.get("/static/notes.txt", headers=headers)).status == status


@pytest.mark.parametrize(
    "value",
    ["yesterday", "", "Sun, 99 Foo 2024 99:99:99 GMT", "Sun, 06 Nov 99999999999 08:49:37 GMT"],
)
async def test_a_date_that_does_not_parse_is_ignored(client, value):
    for name in ("if-modified-since", "if-unmodified-since"):
        response = await client.get("/static/notes.txt", headers={name: value})
        assert response.status == 200


async def test_a_changed_file_no_longer_matches(client, public):
    etag, date = await etag_and_date(client)
    path = public / "notes.txt"
    path.write_bytes(b"new content")
    mtime = os.stat(path).st_mtime + 10
    os.utime(path, (mtime, mtime))
    response = await client.get(
        "/static/notes.txt", headers={"if-none-match": etag, "if-modified-since": date}
    )
    assert (response.status, response.body) == (200, b"new content")
    assert response.headers["etag"] != etag


@pytest.mark.parametrize(
    ("template", "status"),
    [("{etag}", 200), ('"other", {etag}', 200), ("*", 200), ('"other"', 412), ("W/{etag}", 412)],
)
async def test_if_match_compares_strongly(client, template, status):
    etag, _ = await etag_and_date(client)
    headers = {"if-match": template.format(etag=etag)}
    response = await client.get("/static/notes.txt", headers=headers)
    assert response.status == status
    if status == 412:
        assert response.headers["content-type"] == PLAIN
        assert "conditions" in response.text


@pytest.mark.parametrize(("offset", "status"), [(0, 200), (3600, 200), (-3600, 412)])
async def test_if_unmodified_since(client, public, offset, status):
    mtime = int(os.stat(public / "notes.txt").st_mtime)
    headers = {"if-unmodified-since": formatdate(mtime + offset, usegmt=True)}
    assert (await client.get("/static/notes.txt", headers=headers)).status == status


async def test_if_match_wins_over_if_unmodified_since(client, public):
    etag, _ = await etag_and_date(client)
    mtime = int(os.stat(public / "notes.txt").st_mtime)
    headers = {"if-match": etag, "if-unmodified-since": formatdate(mtime - 3600, usegmt=True)}
    assert (await client.get("/static/notes.txt", headers=headers)).status == 200


# Ranges -----------------------------------------------------------------------------------------

TEXT = b"0123456789abcdefghij"  # notes.txt, 20 bytes


@pytest.mark.parametrize(
    ("value", "content_range", "body"),
    [
        ("bytes=0-9", "bytes 0-9/20", TEXT[:10]),
        ("bytes=10-", "bytes 10-19/20", TEXT[10:]),
        ("bytes=-5", "bytes 15-19/20", TEXT[-5:]),
        ("bytes=19-19", "bytes 19-19/20", b"j"),
        ("bytes=5-1000", "bytes 5-19/20", TEXT[5:]),
        ("bytes=-1000", "bytes 0-19/20", TEXT),
        ("bytes=0-99999999999999999999999999", "bytes 0-19/20", TEXT),
        ("Bytes = 2-3", "bytes 2-3/20", b"23"),
        ("bytes=2-3,", "bytes 2-3/20", b"23"),
    ],
)
async def test_one_range_is_a_206(client, value, content_range, body):
    response = await client.get("/static/notes.txt", headers={"range": value})
    assert response.status == 206
    assert response.headers["content-range"] == content_range
    assert response.headers["content-length"] == str(len(body))
    assert response.headers["content-type"] == PLAIN
    assert response.body == body


@pytest.mark.parametrize(
    "value", ["bytes=20-", "bytes=20-30", "bytes=-0", "bytes=99999999999999999999999-"]
)
async def test_an_unsatisfiable_range_is_a_416_naming_the_size(client, value):
    response = await client.get("/static/notes.txt", headers={"range": value})
    assert response.status == 416
    assert response.headers["content-range"] == "bytes */20"
    assert response.headers["content-type"] == PLAIN
    assert "20 bytes" in response.text


@pytest.mark.parametrize(
    "value",
    [
        "bytes=0-1,5-6",  # several ranges: the whole file
        "bytes=5-2",
        "bytes=abc",
        "bytes=",
        "bytes=-",
        "bytes=1",
        "bytes=0-1-2",
        "bytes=+1-2",
        "bytes=²-³",  # digits to str.isdigit, but not ASCII ones
        "items=0-1",
        "0-1",
    ],
)
async def test_other_ranges_get_the_whole_file(client, value):
    response = await client.get("/static/notes.txt", headers={"range": value})
    assert (response.status, response.body) == (200, TEXT)
    assert "content-range" not in response.headers


async def test_an_empty_file_ignores_ranges(client):
    response = await client.get("/static/empty.txt", headers={"range": "bytes=0-"})
    assert (response.status, response.body) == (200, b"")


async def test_head_ignores_ranges(client):
    response = await client.head("/static/notes.txt", headers={"range": "bytes=0-1"})
    assert response.status == 200
    assert response.headers["content-length"] == "20"


async def test_conditions_come_before_ranges(client):
    etag, _ = await etag_and_date(client)
    headers = {"if-none-match": etag, "range": "bytes=0-1"}
    assert (await client.get("/static/notes.txt", headers=headers)).status == 304


@pytest.mark.parametrize(
    ("template", "status"),
    [("{etag}", 206), ("{date}", 206), ('"stale"', 200), ("W/{etag}", 200), ("yesterday", 200)],
)
async def test_if_range_sends_the_part_only_of_the_same_file(client, template, status):
    etag, date = await etag_and_date(client)
    headers = {"range": "bytes=0-1", "if-range": template.format(etag=etag, date=date)}
    response = await client.get("/static/notes.txt", headers=headers)
    assert response.status == status
    assert response.body == (b"01" if status == 206 else TEXT)


# Streaming --------------------------------------------------------------------------------------


async def test_a_small_file_is_sent_in_one_message(client):
    response = await client.get("/static/notes.txt")
    bodies = [m for m in response.messages if m["type"] == "http.response.body"]
    assert [m["body"] for m in bodies] == [TEXT]


async def test_a_large_file_is_streamed_in_chunks(public):
    app = app_for(public, chunk_size=1024)
    writers = writer_spy(app)
    async with TestClient(app).stream("GET", "/static/big.bin") as response:
        assert response.headers["content-length"] == str(len(BIG))
        chunks = [chunk async for chunk in response]
    assert [len(chunk) for chunk in chunks] == [1024, 1024, 1024, 512]
    assert b"".join(chunks) == BIG
    assert writers[0].closed


async def test_a_large_range_is_streamed_too(public):
    app = app_for(public, chunk_size=1024)
    writers = writer_spy(app)
    headers = {"range": "bytes=100-2999"}
    async with TestClient(app).stream("GET", "/static/big.bin", headers=headers) as response:
        assert response.status == 206
        chunks = [chunk async for chunk in response]
    assert [len(chunk) for chunk in chunks] == [1024, 1024, 852]
    assert b"".join(chunks) == BIG[100:3000]
    assert writers[0].closed
    assert writers[0].pathsend is None


async def test_a_disconnect_closes_the_file(public):
    app = app_for(public, chunk_size=1024)
    writers = writer_spy(app)
    async with TestClient(app).stream("GET", "/static/big.bin") as response:
        first = await anext(aiter(response))
        assert first == BIG[:1024]
        assert not writers[0].closed
        await response.disconnect()
    assert writers[0].closed


async def test_head_leaves_no_file_open(public):
    app = app_for(public, chunk_size=1024)
    writers = writer_spy(app)
    response = await TestClient(app).head("/static/big.bin")
    assert response.headers["content-length"] == str(len(BIG))
    assert response.body == b""
    assert writers[0].closed  # made as for GET, so middleware sees the same; then closed


async def test_a_file_that_shrinks_while_sent_ends_the_response_and_is_logged(public, caplog):
    app = app_for(public, chunk_size=1024)

    async def truncate_after_lookup(scope, info, matches, content, handler):
        response = await handler(scope, info, matches, content)
        (public / "big.bin").write_bytes(BIG[:1500])  # in place, once the headers are made
        return response

    app.middlewares.append(truncate_after_lookup)
    writers = writer_spy(app)
    with caplog.at_level(logging.ERROR, logger="bareasgi"):
        async with TestClient(app).stream("GET", "/static/big.bin") as response:
            assert response.headers["content-length"] == str(len(BIG))
            body = await response.read()
    assert body == BIG[:1024]  # the whole chunks read before the file ran out
    assert "changed while it was being sent" in caplog.text
    assert writers[0].closed


async def test_a_server_offering_pathsend_is_given_the_path_of_a_whole_file(public):
    app = app_for(public)
    writers = writer_spy(app)
    response = await TestClient(app, pathsend=True).get("/static/notes.txt")
    assert (response.status, response.body) == (200, TEXT)
    assert [m["type"] for m in response.messages] == [
        "http.response.start",
        "http.response.pathsend",
    ]
    assert response.messages[1]["path"] == os.path.realpath(public / "notes.txt")
    assert isinstance(writers[0], FileWriter)
    assert writers[0].closed  # the framework closed the file it did not read


async def test_a_range_is_never_sent_by_path(public):
    app = app_for(public)
    writers = writer_spy(app)
    server = RawServer(
        "/static/notes.txt",
        extensions={"http.response.pathsend": {}},
        headers=[(b"range", b"bytes=0-1")],
    )
    status, _, body = await server.run(app)
    assert (status, body) == (206, b"01")
    assert getattr(writers[0], "pathsend", None) is None


class SlowFile:
    """A file whose reads block until released, recording the thread each runs in."""

    def __init__(self, data):
        self.data = data
        self.closed = False
        self.name = "slow.bin"
        self.threads = []
        self.release = threading.Event()
        self.reading = threading.Event()

    def read(self, size):
        self.threads.append(threading.current_thread())
        self.reading.set()
        self.release.wait(5)
        assert not self.closed, "read from a closed file"
        chunk, self.data = self.data[:size], self.data[size:]
        return chunk

    def close(self):
        self.closed = True


async def test_reads_run_in_a_worker_thread_while_the_loop_goes_on():
    file = SlowFile(b"x" * 10)
    writer = FileWriter(file, 10, chunk_size=4)
    read = asyncio.ensure_future(anext(writer))
    ticks = 0
    while not file.reading.is_set():  # the loop keeps running while the read blocks
        ticks += 1
        await asyncio.sleep(0.001)
    file.release.set()
    assert await read == b"xxxx"
    assert ticks > 0
    assert file.threads[0] is not threading.main_thread()
    assert [chunk async for chunk in writer] == [b"xxxx", b"xx"]
    assert file.closed


async def test_closing_during_a_read_waits_for_the_read_to_finish():
    file = SlowFile(b"x" * 10)
    writer = FileWriter(file, 10, chunk_size=4)
    read = asyncio.ensure_future(anext(writer))
    while not file.reading.is_set():
        await asyncio.sleep(0.001)
    read.cancel()  # as the framework does when the client goes away
    closing = asyncio.ensure_future(writer.aclose())
    await asyncio.sleep(0.05)
    assert not file.closed  # the read still runs in its thread
    file.release.set()
    await asyncio.wait_for(closing, 5)
    assert file.closed
    await writer.aclose()  # a second close does nothing


async def test_short_reads_are_gathered_into_whole_chunks():
    class Trickle(io.BytesIO):
        def read(self, size=-1):
            return super().read(min(size, 3))

    writer = FileWriter(Trickle(b"abcdefghij"), 10, chunk_size=4)
    assert [chunk async for chunk in writer] == [b"abcd", b"efgh", b"ij"]
    assert writer.closed


async def test_a_closed_writer_yields_nothing_more():
    writer = FileWriter(io.BytesIO(b"abcdefghij"), 10, chunk_size=4)
    assert "10 bytes to go" in repr(writer)
    assert await anext(writer) == b"abcd"
    await writer.aclose()
    assert "closed" in repr(writer)
    assert [chunk async for chunk in writer] == []


async def test_a_writer_closed_while_its_read_waits_for_a_thread_just_stops():
    # One worker thread, kept busy: the writer's read waits in the queue, and the
    # close from another task comes first, deterministically.
    loop = asyncio.get_running_loop()
    executor = ThreadPoolExecutor(max_workers=1)
    loop.set_default_executor(executor)
    busy = threading.Event()
    blocker = loop.run_in_executor(None, busy.wait, 5)
    writer = FileWriter(io.BytesIO(b"abcdefghij"), 10, chunk_size=4)
    read = asyncio.ensure_future(anext(writer))
    await asyncio.sleep(0.01)
    await writer.aclose()
    assert writer.closed
    busy.set()
    with pytest.raises(StopAsyncIteration):  # stopped on purpose: no "file changed" error
        await asyncio.wait_for(read, 5)
    assert [chunk async for chunk in writer] == []
    await blocker
    executor.shutdown()


async def test_a_file_that_changes_while_it_is_looked_up_is_a_clean_500(
    public, caplog, monkeypatch
):
    real_fstat = os.fstat

    class Larger:
        """What fstat says of a file that then shrinks before it is read."""

        def __init__(self, info):
            self.info = info
            self.st_size = info.st_size + 100

        def __getattr__(self, name):
            return getattr(self.info, name)

    def fstat_seeing_a_larger_file(fd):
        return Larger(real_fstat(fd))

    monkeypatch.setattr(os, "fstat", fstat_seeing_a_larger_file)
    with caplog.at_level(logging.ERROR, logger="bareasgi"):
        response = await TestClient(app_for(public)).get("/static/notes.txt")
    assert (response.status, response.text) == (500, "Internal Server Error")
    assert "changed while it was being read" in caplog.text


# file_response ----------------------------------------------------------------------------------


def file_app(path, **options):
    app = Application()

    async def download(scope, info, matches, content):
        return await file_response(scope, path, **options)

    app.http_router.add({"GET", "HEAD"}, "/download", download)
    return app


async def test_file_response_sends_a_chosen_file_with_headers(public):
    disposition = (b"content-disposition", b'attachment; filename="notes.txt"')
    client = TestClient(file_app(public / "notes.txt", headers=[disposition]))
    response = await client.get("/download")
    assert (response.status, response.body) == (200, TEXT)
    assert response.headers["content-type"] == PLAIN
    assert response.headers["content-disposition"] == 'attachment; filename="notes.txt"'
    etag = response.headers["etag"]
    again = await client.get("/download", headers={"if-none-match": etag})
    assert again.status == 304
    partial = await client.get("/download", headers={"range": "bytes=-3"})
    assert (partial.status, partial.body) == (206, b"hij")


async def test_file_response_can_name_the_content_type(public):
    client = TestClient(file_app(public / "notes.txt", content_type="text/markdown"))
    response = await client.get("/download")
    assert response.headers["content-type"] == "text/markdown"


@pytest.mark.parametrize("name", ["missing.txt", "sub"])
async def test_file_response_for_no_regular_file_is_404(public, name):
    response = await TestClient(file_app(public / name)).get("/download")
    assert (response.status, response.text) == (404, "Not Found")


async def test_file_response_checks_its_options(public):
    with pytest.raises(ValueError, match="chunk_size"):
        await file_response({"method": "GET"}, public / "notes.txt", chunk_size=0)


# Found by mutation testing (make mutation): each of these once let a mutant live.


def plain_text(response, status, text):
    assert (response.status, response.text) == (status, text)
    assert response.headers["content-type"] == PLAIN
    assert response.headers["content-length"] == str(len(response.body))


async def test_every_error_answer_is_complete_plain_text(client, public):
    plain_text(await client.get("/static/missing.txt"), 404, "Not Found")
    posting = TestClient(app_for(public, methods=("GET", "HEAD", "POST")))
    response = await posting.post("/static/notes.txt")
    plain_text(response, 405, "Method Not Allowed")
    assert response.headers["allow"] == "GET, HEAD"
    response = await client.get("/static/notes.txt", headers={"range": "bytes=99-"})
    plain_text(response, 416, "The range is not satisfiable: the file has 20 bytes.")
    response = await client.get("/static/notes.txt", headers={"if-match": '"other"'})
    plain_text(response, 412, "The file does not match the request's conditions.")


async def test_a_directory_redirect_has_an_empty_body_of_length_0(client):
    response = await client.get("/static/sub")
    assert response.status == 308
    assert response.headers.raw == [(b"location", b"sub/"), (b"content-length", b"0")]


@pytest.mark.parametrize("digits", [20, 5000])
async def test_a_range_end_of_any_number_of_digits_means_to_the_end(client, digits):
    # Past 18 digits the number is taken as "beyond any file", never parsed: Python
    # refuses to parse more than 4,300 digits.
    response = await client.get("/static/big.bin", headers={"range": "bytes=1-" + "9" * digits})
    assert (response.status, response.body) == (206, BIG[1:])


async def test_a_file_one_byte_longer_than_a_chunk_is_sent_whole(public):
    (public / "odd.bin").write_bytes(BIG[:1025])
    response = await TestClient(app_for(public, chunk_size=1024)).get("/static/odd.bin")
    assert response.body == BIG[:1025]


async def test_file_response_gives_a_server_offering_pathsend_the_path(public):
    app = Application()

    @app.on_http_request({"GET"}, "/download")
    async def download(scope, info, matches, content):
        return await file_response(scope, public / "notes.txt", content_type="text/x-notes")

    response = await TestClient(app, pathsend=True).get("/download")
    assert (response.status, response.body) == (200, TEXT)
    assert response.headers["content-type"] == "text/x-notes"
    assert [m["type"] for m in response.messages][-1] == "http.response.pathsend"
    response = await TestClient(app).get("/download")  # not offered: read and sent
    assert [m["type"] for m in response.messages][-1] == "http.response.body"


def test_the_smallest_chunk_and_any_index_name_are_accepted(public):
    static_files(public, chunk_size=1, index="INDEX.XHTML")


async def test_a_name_with_a_backslash_is_never_served_even_if_such_a_file_exists(public):
    (public / "a\\b.txt").write_bytes(b"odd name")
    response = await TestClient(app_for(public)).get("/static/a\\b.txt")
    assert response.status == 404


async def test_the_last_modified_date_is_the_files_own(client, public):
    os.utime(public / "notes.txt", (1_230_768_000, 1_230_768_000))
    response = await client.get("/static/notes.txt")
    assert response.headers["last-modified"] == "Thu, 01 Jan 2009 00:00:00 GMT"


async def test_a_body_of_exactly_chunk_size_bytes_is_read_at_once(public):
    (public / "exact.bin").write_bytes(BIG[:1024])
    app = app_for(public, chunk_size=1024)
    writers = writer_spy(app)
    response = await TestClient(app).get("/static/exact.bin")
    assert response.body == BIG[:1024]
    assert type(writers[0]) is BodyWriter
    response = await TestClient(app).get(
        "/static/big.bin", headers={"range": "bytes=3000-3583"}
    )
    assert response.status == 206
    assert type(writers[1]) is BodyWriter  # 584 bytes, wherever they start


async def test_a_file_read_at_once_is_closed_at_once(public):
    app = app_for(public)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        for path in ("/static/notes.txt", "/static/sub/", "/static/missing.txt"):
            await TestClient(app).get(path)
        gc.collect()
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []


async def test_static_files_can_serve_the_root_of_the_file_system(public):
    target = (public / "notes.txt").resolve()
    response = await TestClient(app_for("/")).get("/static" + str(target))
    assert (response.status, response.body) == (200, TEXT)


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("picture.pict", "image/pict"),  # a type only the non-strict table knows
        ("notes.txt.xz", "application/octet-stream"),  # a coding without a type of its own
        ("notes.txt.bz2", "application/x-bzip2"),
    ],
)
async def test_the_content_type_of_uncommon_names(tmp_path, name, content_type):
    (tmp_path / name).write_bytes(b"data")
    response = await TestClient(app_for(tmp_path)).get(f"/static/{name}")
    assert (response.status, response.headers["content-type"]) == (200, content_type)


async def test_a_file_that_ends_early_is_named_with_the_bytes_missing(tmp_path):
    (tmp_path / "short.bin").write_bytes(b"abc")
    with open(tmp_path / "short.bin", "rb") as file:
        writer = FileWriter(file, 10, chunk_size=4)
        with pytest.raises(OSError) as raised:
            await anext(writer)
    assert str(raised.value) == (
        f"{tmp_path / 'short.bin'} ended 7 bytes early: it changed while it was being sent"
    )
    writer = FileWriter(io.BytesIO(b"abc"), 10, chunk_size=4)  # a file without a name
    with pytest.raises(OSError, match=r"^the file ended 7 bytes early"):
        await anext(writer)


# Random paths ------------------------------------------------------------------------------------

STATIC_SETTINGS = property_settings(100)
SEGMENTS = [
    "index.html", "notes.txt", "sub", "bare", "grüße.txt", "with space.txt", "..", ".", "",
    "%2e%2e", "%2E.", ".%2e", "%252e%252e", "..%2f", "%5c", "\\", "..\\secret.txt", "%00",
    "a%00.txt", "link-out", "dir-out", "link-in", "secret.txt", "outside", "x" * 300, "~",
    "NOTES.TXT", "notes.txt.", "notes.txt;x", "%ff",
]
RANGES = [None, "bytes=0-0", "bytes=-1", "bytes=5-", "bytes=99999-", "bytes=3-1",
          "bytes=0-1,2-3", "bytes=-0", "bytes=" + "9" * 5000 + "-", "items=0-1", "bytes=x-y"]


@pytest.fixture(scope="module")
def hostile_root(tmp_path_factory):
    """A directory to serve, with links out of it and in it, and what they point at."""
    base = tmp_path_factory.mktemp("hostile")
    root = base / "public"
    (root / "sub").mkdir(parents=True)
    (root / "bare").mkdir()
    (root / "index.html").write_bytes(b"home")
    (root / "notes.txt").write_bytes(b"0123456789")
    (root / "grüße.txt").write_bytes(b"hello")
    (root / "with space.txt").write_bytes(b"spaced")
    (root / "sub" / "index.html").write_bytes(b"sub home")
    (root / ("x" * 300)[:255]).write_bytes(b"long")
    (base / "secret.txt").write_bytes(b"SECRET")
    (base / "outside").mkdir()
    (base / "outside" / "index.html").write_bytes(b"OUTSIDE")
    (root / "link-out").symlink_to(base / "secret.txt")
    (root / "dir-out").symlink_to(base / "outside")
    (root / "link-in").symlink_to(root / "notes.txt")
    return root


@given(
    segments=st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=4),
    byte_range=st.sampled_from(RANGES),
)
@STATIC_SETTINGS
def test_any_path_is_a_file_inside_the_root_a_redirect_or_a_404_never_anything_else(
    hostile_root, segments, byte_range
):
    app = app_for(hostile_root)
    headers = {} if byte_range is None else {"range": byte_range}
    path = "/static/" + "/".join(segments)

    async def both():
        client = TestClient(app)
        return await client.get(path, headers=headers), await client.head(path, headers=headers)

    full, head = asyncio.run(both())
    inside = {p.read_bytes() for p in hostile_root.rglob("*") if p.is_file()}
    assert full.status in (200, 206, 308, 404, 416), full.text
    assert head.status == (200 if full.status in (206, 416) else full.status)
    assert b"SECRET" not in full.body and b"OUTSIDE" not in full.body
    if full.status == 200:
        assert full.body in inside
    elif full.status == 206:
        assert any(full.body in data for data in inside)
    elif full.status == 308:
        assert full.headers["location"].endswith("/")
    elif full.status == 404:
        assert full.text == "Not Found"


async def test_a_directory_or_file_given_as_bytes_is_served_as_its_str_would_be(public):
    # os.path takes bytes paths too: static_files(b"public") was accepted, then every
    # request was a 500 ("Can't mix strings and bytes in path components").
    app = app_for(os.fsencode(public))
    response = await TestClient(app).get("/static/notes.txt")
    assert (response.status, response.body) == (200, TEXT)
    response = await TestClient(file_app(os.fsencode(public / "notes.txt"))).get("/download")
    assert (response.status, response.body) == (200, TEXT)
    assert response.headers["content-type"] == PLAIN
