"""The forms example: the page, and what the handler makes of the forms posted to it."""

import hashlib
import re

import httpx

from bareasgi.testing import TestClient
from examples.forms.app import app

MiB = 1024 * 1024


def encode(data=None, files=None):
    """A form body and its content-type header, encoded by httpx as a browser would."""
    request = httpx.Request("POST", "http://testserver/submit", data=data, files=files)
    return request.read(), {"content-type": request.headers["content-type"]}


async def submit(data=None, files=None):
    body, headers = encode(data, files)
    return await TestClient(app).post("/submit", body=body, headers=headers)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


async def test_the_page_posts_a_multipart_form_relative_to_itself():
    response = await TestClient(app).get("/")
    assert response.status == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = response.text
    assert '<form method="post" action="submit" enctype="multipart/form-data">' in page
    for name in ("name", "comment", "files"):
        assert f'name="{name}"' in page
    assert '<input type="file" id="files" name="files" multiple>' in page
    # No URL starting with "/": the page also works mounted under a prefix.
    assert not re.search(r"""(href|src|action)=["']/""", page)


async def test_the_fields_and_every_file_are_reported_with_size_and_hash():
    notes, data = b"Hello, forms!\n", bytes(range(256)) * 1000
    files = [
        ("files", ("notes.txt", notes, "text/plain")),
        ("files", ("data.bin", data, "application/octet-stream")),
    ]
    response = await submit({"name": "Ada", "comment": "Two files\nfor you"}, files)
    assert response.status == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text == (
        "name: Ada\n"
        "comment: Two files\nfor you\n"
        f"file: notes.txt, 14 bytes\n  sha256 {sha256(notes)}\n"
        f"file: data.bin, 256000 bytes\n  sha256 {sha256(data)}\n"
    )


async def test_an_empty_file_input_and_missing_fields_report_nothing():
    # What a browser sends for a file input left empty: a part with an empty file name.
    body = (
        b"--b\r\n"
        b'Content-Disposition: form-data; name="files"; filename=""\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n\r\n"
        b"--b--\r\n"
    )
    headers = {"content-type": "multipart/form-data; boundary=b"}
    response = await TestClient(app).post("/submit", body=body, headers=headers)
    assert response.text == "name: \ncomment: \n"


async def test_an_urlencoded_form_is_read_too():
    response = await TestClient(app).post(
        "/submit",
        body="name=Ada+Lovelace&comment=caf%C3%A9",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.text == "name: Ada Lovelace\ncomment: café\n"


async def test_a_file_over_2_mib_is_refused_with_a_413():
    response = await submit(files=[("files", ("big.bin", b"x" * (2 * MiB + 1), "text/plain"))])
    assert response.status == 413
    assert response.text == f"The file 'big.bin' is larger than {2 * MiB} bytes."


async def test_more_than_3_files_are_refused_with_a_413():
    files = [("files", (f"{n}.txt", b"x", "text/plain")) for n in range(4)]
    response = await submit(files=files)
    assert (response.status, response.text) == (413, "The form has more than 3 files.")


async def test_a_body_over_5_mib_is_refused_with_a_413():
    files = [("files", (f"{n}.bin", b"x" * (2 * MiB - 10), "text/plain")) for n in range(3)]
    response = await submit(files=files)
    assert response.status == 413
    assert response.text == f"The request body is larger than {5 * MiB} bytes."


async def test_a_body_that_is_not_a_form_is_a_415():
    response = await TestClient(app).post("/submit", json={"name": "Ada"})
    assert response.status == 415
