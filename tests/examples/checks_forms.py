"""The forms example under a real server: the page, forms posted by httpx, the limits."""

from __future__ import annotations

import hashlib
import secrets

from tests.examples.serving import Example, Served

MiB = 1024 * 1024


def check(served: Served) -> None:
    client = served.client

    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert 'action="submit" enctype="multipart/form-data"' in page.text

    # A multipart form with two files, one large enough to be spooled to disk.
    small, large = b"Hello, forms!\n", secrets.token_bytes(MiB + 12345)
    files = [
        ("files", ("notes.txt", small, "text/plain")),
        ("files", ("random.bin", large, "application/octet-stream")),
    ]
    response = client.post("/submit", data={"name": "Ada", "comment": "grüße"}, files=files)
    assert response.status_code == 200, response.text
    assert response.text == (
        "name: Ada\n"
        "comment: grüße\n"
        f"file: notes.txt, {len(small)} bytes\n  sha256 {hashlib.sha256(small).hexdigest()}\n"
        f"file: random.bin, {len(large)} bytes\n  sha256 {hashlib.sha256(large).hexdigest()}\n"
    )

    # The same kind of body uploaded in small chunks, without a content-length.
    boundary = "check-boundary"
    body = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="files"; filename="chunked.bin"\r\n\r\n'
    ).encode() + large + f"\r\n--{boundary}--\r\n".encode()
    response = client.post(
        "/submit",
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
        content=iter([body[i : i + 4096] for i in range(0, len(body), 4096)]),
    )
    assert response.status_code == 200, response.text
    assert f"chunked.bin, {len(large)} bytes\n  sha256 {hashlib.sha256(large).hexdigest()}" in (
        response.text
    )

    response = client.post("/submit", data={"name": "Ada Lovelace", "comment": "café"})
    assert (response.status_code, response.text) == (200, "name: Ada Lovelace\ncomment: café\n")

    response = client.post("/submit", files=[("files", ("big.bin", b"x" * (2 * MiB + 1)))])
    assert response.status_code == 413
    assert response.text == f"The file 'big.bin' is larger than {2 * MiB} bytes."

    response = client.post(
        "/submit", headers={"content-type": "multipart/form-data; boundary=x"}, content=b"junk"
    )
    assert (response.status_code, response.text) == (
        400,
        "The request body is not valid multipart/form-data.",
    )

    assert client.post("/submit", json={"name": "Ada"}).status_code == 415


EXAMPLE = Example(check)
