"""The static files example under a real server: files, a redirect, 304, ranges, traversal."""

from __future__ import annotations

import socket

from tests.examples.serving import Example, Served
from tests.realserver import REPO_ROOT

PUBLIC = REPO_ROOT / "examples" / "static_files" / "public"


def raw_status(served: Served, target: str) -> int:
    """The status of a GET for ``target`` sent byte for byte, as no HTTP client would send it."""
    request = f"GET {target} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", served.server.port), timeout=10) as sock:
        sock.sendall(request.encode("ascii"))
        status_line = sock.makefile("rb").readline()
    return int(status_line.split()[1])


def check(served: Served) -> None:
    client = served.client

    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.content == (PUBLIC / "index.html").read_bytes()

    style = client.get("/style.css")
    assert style.headers["content-type"] == "text/css; charset=utf-8"
    assert style.content == (PUBLIC / "style.css").read_bytes()
    assert style.headers["content-length"] == str(len(style.content))
    assert style.headers["cache-control"] == "no-cache"
    assert client.get("/logo.svg").headers["content-type"] == "image/svg+xml"

    response = client.get("/guide")
    assert response.status_code == 308
    assert response.headers["location"] == "guide/"
    guide = client.get("/guide", follow_redirects=True)
    assert guide.url.path == "/guide/"
    assert guide.content == (PUBLIC / "guide" / "index.html").read_bytes()

    etag, date = style.headers["etag"], style.headers["last-modified"]
    for validator in ({"if-none-match": etag}, {"if-modified-since": date}):
        again = client.get("/style.css", headers=validator)
        assert (again.status_code, again.content) == (304, b"")
        assert again.headers["etag"] == etag

    notes = (PUBLIC / "notes.txt").read_bytes()
    part = client.get("/notes.txt", headers={"range": "bytes=6-7"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 6-7/{len(notes)}"
    assert part.content == notes[6:8]
    beyond = client.get("/notes.txt", headers={"range": f"bytes={len(notes)}-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{len(notes)}"

    head = client.head("/notes.txt")
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["content-length"] == str(len(notes))

    download = client.get("/download")
    assert download.headers["content-disposition"] == 'attachment; filename="notes.txt"'
    assert download.content == notes

    # Requests an HTTP client would clean up first, sent as they are. The server passes the
    # dot segments on (cleaned up, the first would be a 200), and decodes %2F into "/".
    targets = ("/guide/../notes.txt", "/../app.py", "/..%2fapp.py", "/guide%2Findex.html")
    for target in targets:
        assert raw_status(served, target) == 404, target
    assert raw_status(served, "/guide/index.html") == 200


EXAMPLE = Example(check, probe_path="/")
