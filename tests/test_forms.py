"""The forms extra: URL-encoded and multipart forms, their limits and their errors."""

import asyncio
import hashlib
import logging
import subprocess
import sys
import tempfile
from urllib.parse import parse_qsl

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bareasgi import Application, HTTPError, json_response
from bareasgi.forms import (
    DEFAULT_MAX_SIZE,
    FormData,
    UploadedFile,
    read_form,
    read_multipart,
    read_urlencoded,
)
from bareasgi.testing import DISCONNECT, TestClient
from tests.fuzzing import property_settings

URLENCODED = {"content-type": "application/x-www-form-urlencoded"}
BOUNDARY = "----bareasgi-test-boundary"
MULTIPART = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}


def multipart(*parts, boundary=BOUNDARY):
    """A multipart/form-data body; each part is (name, value) or (name, filename, data, type)."""
    body = b""
    for part in parts:
        body += f"--{boundary}\r\n".encode()
        if len(part) == 2:
            name, value = part
            body += f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            body += value if isinstance(value, bytes) else value.encode()
        else:
            name, filename, data, kind = part
            disposition = f'form-data; name="{name}"; filename="{filename}"'
            body += f"Content-Disposition: {disposition}\r\n".encode()
            if kind is not None:
                body += f"Content-Type: {kind}\r\n".encode()
            body += b"\r\n" + data
        body += b"\r\n"
    return body + f"--{boundary}--\r\n".encode()


async def chunks(data, size):
    for start in range(0, len(data), size):
        yield data[start : start + size]


def describe(value):
    if isinstance(value, UploadedFile):
        return {
            "filename": value.filename,
            "content_type": value.content_type,
            "size": value.size,
            "in_memory": value.in_memory,
        }
    return value


def make_app(reader=read_form, **limits):
    """An app whose POST /form reads a form and answers with what it got, as JSON."""
    app = Application()

    @app.on_http_request({"POST"}, "/form")
    async def form_handler(scope, info, matches, content):
        form = await reader(scope, content, **limits)
        async with form:
            result = []
            for name, value in form.multi_items():
                item = describe(value)
                if isinstance(value, UploadedFile):
                    item["sha256"] = hashlib.sha256(await value.read()).hexdigest()
                result.append([name, item])
        info["form"] = form
        return json_response(200, None, result)

    return app


async def post(app, body, headers=MULTIPART):
    return await TestClient(app).post("/form", body=body, headers=headers)


# URL-encoded forms -----------------------------------------------------------------------------


async def test_urlencoded_fields_are_decoded_in_order_with_empty_values_kept():
    body = "name=Ada+Lovelace&note=caf%C3%A9%20au+lait&empty=&flag&tag=a&tag=b"
    response = await post(make_app(), body, URLENCODED)
    assert response.status == 200
    assert response.json() == [
        ["name", "Ada Lovelace"],
        ["note", "café au lait"],
        ["empty", ""],
        ["flag", ""],
        ["tag", "a"],
        ["tag", "b"],
    ]


async def test_read_urlencoded_gives_a_multi_value_mapping():
    app = make_app(read_urlencoded)
    await post(app, "tag=a&tag=b&name=x", URLENCODED)
    form = app.info["form"]
    assert isinstance(form, FormData)
    assert form["tag"] == "a"  # the first value
    assert form.get_all("tag") == ["a", "b"]
    assert form.get_all("missing") == []
    assert form.get("missing") is None
    assert list(form) == ["tag", "name"]
    assert len(form) == 2
    assert form.to_dict() == {"tag": ["a", "b"], "name": ["x"]}
    assert dict(form) == {"tag": "a", "name": "x"}
    assert "FormData([('tag', 'a')" in repr(form)


async def test_raw_utf8_in_an_urlencoded_body_is_accepted():
    response = await post(make_app(), "name=José", URLENCODED)
    assert response.json() == [["name", "José"]]


async def test_an_urlencoded_charset_parameter_is_honoured():
    headers = {"content-type": "application/x-www-form-urlencoded; charset=ISO-8859-1"}
    response = await post(make_app(), "name=Jos%E9", headers)
    assert response.json() == [["name", "José"]]


async def test_an_unknown_or_non_text_charset_is_a_415():
    for charset in ("klingon", "base64"):
        headers = {"content-type": f"application/x-www-form-urlencoded; charset={charset}"}
        response = await post(make_app(), "a=1", headers)
        assert response.status == 415
        assert response.text == f"The charset '{charset}' is not supported."


@pytest.mark.parametrize("body", [b"name=%FF", b"name=\xff"])
async def test_an_urlencoded_body_that_is_not_utf8_is_a_400(body):
    response = await post(make_app(), body, URLENCODED)
    assert response.status == 400
    assert response.text == "The form is not valid utf-8 text."


async def test_too_many_urlencoded_fields_is_a_413():
    response = await post(make_app(max_fields=3), "a=1&b=2&c=3&d=4", URLENCODED)
    assert response.status == 413
    assert response.text == "The form has more than 3 fields."
    assert (await post(make_app(max_fields=3), "a=1&b=2&c=3", URLENCODED)).status == 200


async def test_an_urlencoded_body_over_max_size_is_a_413_by_its_content_length():
    response = await post(make_app(max_size=10), "a=" + "x" * 20, URLENCODED)
    assert response.status == 413
    assert response.text == "The request body is larger than 10 bytes."


async def test_max_size_none_means_no_limit_on_the_body():
    body = "a=" + "x" * (DEFAULT_MAX_SIZE + 1)
    assert (await post(make_app(), body, URLENCODED)).status == 413
    response = await post(make_app(max_size=None), body, URLENCODED)
    assert response.status == 200
    assert len(response.json()[0][1]) == DEFAULT_MAX_SIZE + 1


async def test_an_endless_urlencoded_body_is_cut_off_at_max_size():
    sent = 0

    async def endless():
        nonlocal sent
        while True:
            sent += 1
            yield b"a=1&"

    response = await post(make_app(max_size=100), endless(), URLENCODED)
    assert response.status == 413
    assert sent < 30


@pytest.mark.parametrize(
    ("reader", "headers", "message"),
    [
        (
            read_urlencoded,
            {},
            "Expected a form: send content-type: application/x-www-form-urlencoded.",
        ),
        (
            read_urlencoded,
            MULTIPART,
            "Expected a form (application/x-www-form-urlencoded), not multipart/form-data.",
        ),
        (
            read_multipart,
            URLENCODED,
            "Expected a form (multipart/form-data), not application/x-www-form-urlencoded.",
        ),
        (
            read_form,
            {"content-type": "application/json"},
            "Expected a form (application/x-www-form-urlencoded or multipart/form-data), "
            "not application/json.",
        ),
        (
            read_form,
            {},
            "Expected a form: send content-type: application/x-www-form-urlencoded or "
            "multipart/form-data.",
        ),
    ],
)
async def test_a_wrong_or_missing_content_type_is_a_415_before_reading(reader, headers, message):
    read = False

    async def body():
        nonlocal read
        read = True
        yield b"a=1"

    response = await post(make_app(reader), body(), headers)
    assert (response.status, response.text) == (415, message)
    assert not read


# multipart forms: what they hold ---------------------------------------------------------------


async def test_multipart_fields_and_several_files_come_in_order():
    body = multipart(
        ("name", "Ada"),
        ("docs", "a.txt", b"first file", "text/plain"),
        ("note", "grüße"),
        ("docs", "b.bin", b"\x00\x01\x02", "application/octet-stream"),
    )
    response = await post(make_app(), body)
    assert response.status == 200
    digest = hashlib.sha256
    assert response.json() == [
        ["name", "Ada"],
        [
            "docs",
            {
                "filename": "a.txt",
                "content_type": "text/plain",
                "size": 10,
                "in_memory": True,
                "sha256": digest(b"first file").hexdigest(),
            },
        ],
        ["note", "grüße"],
        [
            "docs",
            {
                "filename": "b.bin",
                "content_type": "application/octet-stream",
                "size": 3,
                "in_memory": True,
                "sha256": digest(b"\x00\x01\x02").hexdigest(),
            },
        ],
    ]


@pytest.mark.parametrize("size", [1, 7, 64 * 1024])
async def test_a_multipart_body_parses_the_same_however_it_is_chunked(size):
    data = bytes(range(256)) * 50 + b"\r\n--not-the-boundary\r\n"
    body = multipart(("f", "x.bin", data, "application/octet-stream"), ("t", "text\r\nlines"))
    app = make_app()
    response = await post(app, chunks(body, size))
    assert response.status == 200
    assert response.json()[1] == ["t", "text\r\nlines"]
    assert response.json()[0][1]["sha256"] == hashlib.sha256(data).hexdigest()


async def test_an_uploaded_file_keeps_its_part_headers_and_is_closed_with_the_form():
    body = multipart(("doc", "notes.txt", b"0123456789", "text/plain; charset=utf-8"))
    app = make_app(read_multipart)
    await post(app, body)
    upload = app.info["form"]["doc"]
    assert upload.name == "doc"
    assert upload.content_type == "text/plain"
    assert upload.headers == [
        (b"content-disposition", b'form-data; name="doc"; filename="notes.txt"'),
        (b"content-type", b"text/plain; charset=utf-8"),
    ]
    assert repr(upload) == "UploadedFile('notes.txt', 'text/plain', 10 bytes)"
    assert upload.file.closed  # closed by `async with form`


async def test_read_seek_and_close_on_an_uploaded_file():
    app = Application()

    @app.on_http_request({"POST"}, "/")
    async def handler(scope, info, matches, content):
        form = await read_form(scope, content, spool_size=4)
        upload = form["doc"]
        steps = [await upload.read(3), await upload.read()]
        await upload.seek(2)
        steps.append(await upload.read(2))
        await form.close()
        await form.close()  # twice is harmless
        return json_response(200, None, [s.decode() for s in steps] + [upload.file.closed])

    body = multipart(("doc", "d.txt", b"0123456789", None))
    response = await TestClient(app).post("/", body=body, headers=MULTIPART)
    assert response.json() == ["012", "3456789", "23", True]


async def test_a_file_without_a_content_type_is_octet_stream():
    body = multipart(("doc", "d", b"x", None))
    response = await post(make_app(), body)
    assert response.json()[0][1]["content_type"] == "application/octet-stream"


async def test_an_empty_file_input_gives_a_file_with_an_empty_name():
    # What a browser sends for a file input left empty.
    body = multipart(("doc", "", b"", "application/octet-stream"))
    response = await post(make_app(), body)
    assert response.json()[0][1] | {"sha256": None} == {
        "filename": "",
        "content_type": "application/octet-stream",
        "size": 0,
        "in_memory": True,
        "sha256": None,
    }


async def test_utf8_names_and_a_quoted_filename_holding_a_semicolon():
    body = multipart(("ünï", "a; b \"c\".txt".replace('"', '\\"'), b"x", "text/plain"))
    response = await post(make_app(), body)
    name, item = response.json()[0]
    assert name == "ünï"
    assert item["filename"] == 'a; b "c".txt'


async def test_a_field_with_a_charset_of_its_own_is_decoded_with_it():
    body = (
        f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"n\"\r\n"
        "Content-Type: text/plain; charset=iso-8859-1\r\n\r\n"
    ).encode() + "José".encode("latin-1") + f"\r\n--{BOUNDARY}--\r\n".encode()
    response = await post(make_app(), body)
    assert response.json() == [["n", "José"]]


async def test_an_empty_multipart_form_is_an_empty_form():
    response = await post(make_app(), f"--{BOUNDARY}--\r\n")
    assert (response.status, response.json()) == (200, [])


def spied_spools(monkeypatch):
    spools = []
    original = tempfile.SpooledTemporaryFile

    def spy(*args, **kwargs):
        spools.append(original(*args, **kwargs))
        return spools[-1]

    monkeypatch.setattr(tempfile, "SpooledTemporaryFile", spy)
    return spools


async def test_a_big_file_is_spooled_to_disk_not_held_in_memory(monkeypatch):
    spools = spied_spools(monkeypatch)
    data = b"0123456789abcdef" * 256 * 1024  # 4 MiB
    body = multipart(("big", "big.bin", data, "application/octet-stream"))
    response = await post(make_app(spool_size=64 * 1024), chunks(body, 64 * 1024))
    item = response.json()[0][1]
    assert item["size"] == len(data)
    assert item["in_memory"] is False
    assert item["sha256"] == hashlib.sha256(data).hexdigest()
    [spool] = spools
    assert spool._rolled  # the data went to a real temporary file
    assert spool.closed


# multipart forms: limits -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limits", "parts", "message"),
    [
        (
            {"max_file_size": 5},
            [("a", "ok.txt", b"12345", None), ("b", "big.txt", b"123456", None)],
            "The file 'big.txt' is larger than 5 bytes.",
        ),
        (
            {"max_files": 1},
            [("a", "1.txt", b"1", None), ("b", "2.txt", b"2", None)],
            "The form has more than 1 files.",
        ),
        (
            {"max_fields": 1},
            [("f", "1.txt", b"1", None), ("a", "1"), ("b", "2")],
            "The form has more than 1 fields.",
        ),
        (
            {"max_field_size": 3},
            [("f", "1.txt", b"1", None), ("a", "123"), ("b", "1234")],
            "The field 'b' is larger than 3 bytes.",
        ),
    ],
)
async def test_a_multipart_limit_is_a_413_naming_it_and_the_files_are_closed(
    monkeypatch, limits, parts, message
):
    spools = spied_spools(monkeypatch)
    response = await post(make_app(**limits), chunks(multipart(*parts), 3))
    assert (response.status, response.text) == (413, message)
    assert spools and all(spool.closed for spool in spools)


async def test_a_multipart_body_over_max_size_is_a_413_by_content_length_or_as_it_comes():
    body = multipart(("f", "x.bin", b"x" * 1000, None))
    for sent in (body, chunks(body, 100)):
        response = await post(make_app(max_size=500), sent)
        assert response.status == 413
        assert response.text == "The request body is larger than 500 bytes."


async def test_an_endless_upload_is_cut_off_at_max_size(monkeypatch):
    spools = spied_spools(monkeypatch)
    sent = 0

    async def endless():
        nonlocal sent
        yield f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="f"; filename="x"\r\n\r\n'
        while True:
            sent += 1
            yield b"x" * 1024

    response = await post(make_app(max_size=64 * 1024, spool_size=1024), endless())
    assert response.status == 413
    assert sent <= 65
    assert all(spool.closed for spool in spools)


async def test_a_client_that_disconnects_mid_upload_gets_nothing_and_files_are_closed(monkeypatch):
    spools = spied_spools(monkeypatch)

    async def body():
        yield multipart(("f", "x", b"x" * 100, None))[:150]
        yield DISCONNECT

    response = await post(make_app(), body())
    assert response.status == 0
    assert spools and all(spool.closed for spool in spools)


# multipart forms: malformed ----------------------------------------------------------------------


NO_BOUNDARY = "The multipart/form-data content type has no boundary."


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"", "multipart/form-data", NO_BOUNDARY),
        (b"", "multipart/form-data; boundary=", NO_BOUNDARY),
        (b"", f"multipart/form-data; boundary={'x' * 300}", "The multipart boundary is not valid."),
        (b"garbage", None, "The request body is not valid multipart/form-data."),
        (
            f"--{BOUNDARY}\r\nthis is no header\r\n\r\nx\r\n--{BOUNDARY}--\r\n".encode(),
            None,
            "The request body is not valid multipart/form-data.",
        ),
        (b"", None, "The multipart body ended before its closing boundary."),
        (
            multipart(("a", "1"))[:-30],
            None,
            "The multipart body ended before its closing boundary.",
        ),
        (
            f"--{BOUNDARY}\r\n\r\nx\r\n--{BOUNDARY}--\r\n".encode(),
            None,
            "A part of the multipart body has no form-data name.",
        ),
        (
            f"--{BOUNDARY}\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nx\r\n"
            f"--{BOUNDARY}--\r\n".encode(),
            None,
            "A part of the multipart body has no form-data name.",
        ),
        (multipart(("a", b"\xff\xfe")), None, "The field 'a' is not valid utf-8 text."),
    ],
)
async def test_a_malformed_multipart_body_is_a_400_that_says_why(body, content_type, message):
    headers = {"content-type": content_type} if content_type else MULTIPART
    response = await post(make_app(), body, headers)
    assert (response.status, response.text) == (400, message)


async def test_a_field_with_an_unknown_charset_is_a_415():
    body = (
        f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"n\"\r\n"
        f"Content-Type: text/plain; charset=klingon\r\n\r\nx\r\n--{BOUNDARY}--\r\n"
    )
    response = await post(make_app(), body)
    assert (response.status, response.text) == (415, "The charset 'klingon' is not supported.")


# without python-multipart ------------------------------------------------------------------------


async def test_without_python_multipart_a_multipart_read_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "python_multipart", None)  # makes the import fail
    # The hint names the extra from the checkout: the package index's bareasgi is
    # another project.
    hint = r"pip install '/path/to/checkout\[forms\]'"
    with pytest.raises(ImportError, match=hint):
        scope = {"headers": [(b"content-type", MULTIPART["content-type"].encode())]}
        await read_multipart(scope, chunks(b"", 1))
    # Through an app, it is an ordinary 500 for the client and a traceback in the log.
    response = await post(make_app(), multipart(("a", "1")))
    assert response.status == 500
    # URL-encoded forms do not need it.
    response = await post(make_app(), "a=1", URLENCODED)
    assert response.json() == [["a", "1"]]


def test_importing_bareasgi_does_not_load_the_extra_nor_python_multipart():
    code = (
        "import sys, bareasgi, bareasgi.forms; "
        "print('bareasgi.forms' in sys.modules, 'python_multipart' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.split() == ["True", "False"]
    code = "import sys, bareasgi; print('bareasgi.forms' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False"


async def test_the_readers_raise_http_error_for_their_caller_to_answer_with():
    scope = {"headers": [(b"content-type", b"text/plain")]}
    with pytest.raises(HTTPError) as caught:
        await read_form(scope, chunks(b"", 1))
    assert caught.value.status == 415


# found by mutation testing -----------------------------------------------------------------------


def many_fields(count):
    return multipart(*[(f"f{n}", "x") for n in range(count)])


def many_files(count):
    return multipart(*[(f"f{n}", f"{n}.txt", b"x", None) for n in range(count)])


@pytest.mark.parametrize("reader", [read_form, read_multipart])
async def test_by_default_a_multipart_form_may_have_1000_fields_and_100_files(reader):
    assert (await post(make_app(reader), many_fields(1000))).status == 200
    response = await post(make_app(reader), many_fields(1001))
    assert (response.status, response.text) == (413, "The form has more than 1000 fields.")
    assert (await post(make_app(reader), many_files(100))).status == 200
    response = await post(make_app(reader), many_files(101))
    assert (response.status, response.text) == (413, "The form has more than 100 files.")


@pytest.mark.parametrize("reader", [read_form, read_urlencoded])
async def test_by_default_an_urlencoded_form_may_have_1000_fields(reader):
    body = "&".join(f"f{n}=x" for n in range(1000))
    assert (await post(make_app(reader), body, URLENCODED)).status == 200
    response = await post(make_app(reader), body + "&last=x", URLENCODED)
    assert (response.status, response.text) == (413, "The form has more than 1000 fields.")


@pytest.mark.parametrize(
    ("limits", "parts", "message"),
    [
        ({"max_size": 10}, [("a", "x" * 20)], "The request body is larger than 10 bytes."),
        ({"max_fields": 1}, [("a", "1"), ("b", "2")], "The form has more than 1 fields."),
        ({"max_field_size": 3}, [("b", "1234")], "The field 'b' is larger than 3 bytes."),
        (
            {"max_file_size": 3},
            [("f", "big.txt", b"1234", None)],
            "The file 'big.txt' is larger than 3 bytes.",
        ),
    ],
)
async def test_read_multipart_applies_each_limit_it_is_given(limits, parts, message):
    response = await post(make_app(read_multipart, **limits), multipart(*parts))
    assert (response.status, response.text) == (413, message)


async def test_read_urlencoded_applies_each_limit_it_is_given():
    response = await post(make_app(read_urlencoded, max_size=10), "a=" + "x" * 20, URLENCODED)
    assert (response.status, response.text) == (413, "The request body is larger than 10 bytes.")
    response = await post(make_app(read_urlencoded, max_fields=1), "a=1&b=2", URLENCODED)
    assert (response.status, response.text) == (413, "The form has more than 1 fields.")


async def test_each_multipart_limit_is_inclusive():
    # Sent whole: the file's data starts inside the chunk, not at its first byte.
    parts = [("a", "1"), ("b", "123"), ("f", "f.bin", b"12345", None), ("g", "g.bin", b"1", None)]
    body = multipart(*parts)
    limits = {"max_fields": 2, "max_field_size": 3, "max_file_size": 5, "max_files": 2}
    for size in (len(body), 7):
        sent = body if size == len(body) else chunks(body, size)
        response = await post(make_app(max_size=len(body), **limits), sent)
        assert response.status == 200
        assert [name for name, _ in response.json()] == ["a", "b", "f", "g"]


@pytest.mark.parametrize(
    ("headers", "body"),
    [(URLENCODED, b"a=" + b"x" * 98), (MULTIPART, multipart(("f", "f.bin", b"x" * 100, None)))],
)
@pytest.mark.parametrize("streamed", [False, True])  # with a content-length, or without
async def test_a_body_of_exactly_max_size_is_read_and_one_byte_less_is_not(
    headers, body, streamed
):
    for max_size, status in ((len(body), 200), (len(body) - 1, 413)):
        sent = chunks(body, 30) if streamed else body
        response = await post(make_app(max_size=max_size), sent, headers)
        assert response.status == status


@pytest.mark.parametrize("content_type", [URLENCODED, MULTIPART])
async def test_a_declared_content_length_over_max_size_is_refused_before_reading(content_type):
    read = False

    async def body():
        nonlocal read
        read = True
        yield b"a=1"

    scope = {
        "headers": [
            (b"content-type", content_type["content-type"].encode()),
            (b"content-length", b"101"),
        ]
    }
    with pytest.raises(HTTPError) as caught:
        await read_form(scope, body(), max_size=100)
    assert (caught.value.status, read) == (413, False)


async def test_names_that_are_not_valid_utf8_are_read_with_replacement_characters():
    body = (
        f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"a\xff\"\r\n\r\nx\r\n"
        f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"f\"; filename=\"b\xff.txt\"\r\n"
        f"\r\ny\r\n--{BOUNDARY}--\r\n"
    ).encode("latin-1")
    response = await post(make_app(), body)
    assert response.status == 200
    [[field, value], [_, upload]] = response.json()
    assert (field, value) == ("a\ufffd", "x")
    assert upload["filename"] == "b\ufffd.txt"


async def test_names_are_decoded_with_the_encoding_asked_for():
    body = (
        f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"caf\xe9\"\r\n\r\nx\r\n"
        f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"f\"; filename=\"\xe9.txt\"\r\n"
        f"\r\ny\r\n--{BOUNDARY}--\r\n"
    ).encode("latin-1")
    response = await post(make_app(read_multipart, encoding="latin-1"), body)
    [[field, _], [_, upload]] = response.json()
    assert (field, upload["filename"]) == ("café", "é.txt")


async def test_long_names_in_messages_are_cut_to_100_characters_and_charsets_to_40():
    name = "n" * 99 + "END" + "x" * 50
    response = await post(make_app(max_field_size=1), multipart((name, "12")))
    assert response.text == f"The field {name[:100]!r} is larger than 1 bytes."
    response = await post(make_app(max_file_size=1), multipart(("f", name, b"12", None)))
    assert response.text == f"The file {name[:100]!r} is larger than 1 bytes."
    response = await post(make_app(), multipart((name, b"\xff")))
    assert response.text == f"The field {name[:100]!r} is not valid utf-8 text."
    charset = "c" * 39 + "END" + "x" * 20
    headers = {"content-type": f"application/x-www-form-urlencoded; charset={charset}"}
    response = await post(make_app(), "a=1", headers)
    assert response.text == f"The charset {charset[:40]!r} is not supported."


@pytest.mark.parametrize("spool_size", [0, 1024])  # on disk at once, then in memory
async def test_read_and_seek_take_their_arguments_in_memory_and_on_disk(spool_size):
    app = Application()

    @app.on_http_request({"POST"}, "/")
    async def handler(scope, info, matches, content):
        async with await read_form(scope, content, spool_size=spool_size) as form:
            upload = form["doc"]
            steps = [upload.in_memory, await upload.read(3)]
            steps += [await upload.seek(-3, 2), await upload.read(), await upload.seek(1)]
            steps.append(await upload.read(2))
        return json_response(200, None, [s.decode() if isinstance(s, bytes) else s for s in steps])

    body = multipart(("doc", "d.txt", b"0123456789", None))
    response = await TestClient(app).post("/", body=body, headers=MULTIPART)
    assert response.json() == [spool_size > 0, "012", 7, "789", 1, "12"]


async def test_a_spool_size_below_1_keeps_no_more_than_1_byte_in_memory(monkeypatch):
    spools = spied_spools(monkeypatch)
    body = multipart(("one", "1.bin", b"1", None), ("two", "2.bin", b"12", None))
    response = await post(make_app(spool_size=0), body)
    assert [item["in_memory"] for _, item in response.json()] == [True, False]
    assert [spool._rolled for spool in spools] == [False, True]


@pytest.mark.parametrize("content_type", [URLENCODED, MULTIPART])
@pytest.mark.parametrize(
    ("length", "status"),
    [(b"9" * 5000, 413), (b"0" * 4999 + b"5", 200), (b"9" * 19, 413), (b"0" * 30, 200)],
)
async def test_a_content_length_of_thousands_of_digits_is_judged_not_a_500(
    content_type, length, status
):
    # int() refuses strings of more than 4300 digits, with a ValueError.
    async def handler(scope, info, matches, content):
        await read_form(scope, content, max_size=100)
        return 200

    app = Application()
    app.http_router.add({"POST"}, "/", handler)
    headers = [
        (b"content-type", content_type["content-type"].encode()),
        (b"content-length", length),
    ]
    body = b"" if content_type is URLENCODED else multipart()
    response = await TestClient(app).request("POST", "/", headers=headers, body=chunks(body, 10))
    assert response.status == status
    if status == 413:
        assert response.text == "The request body is larger than 100 bytes."


# Random bodies ---------------------------------------------------------------------------------

FORM_SETTINGS = property_settings(60)
URLENCODED_BYTES = st.lists(
    st.sampled_from(
        [b"a", b"=", b"&", b"%", b"%C3%A9", b"%FF", b"+", b";", b"\xff", b"\xc3", b"0"]
    ),
    max_size=30,
).map(b"".join)
CHARSETS = [None, "utf-8", "latin-1", "ascii", "utf-16", "bogus", "base64", "utf-8\0", "\xff"]


def bareasgi_records():
    """A list collecting what the bareasgi logger logs, and a function to stop collecting."""
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("bareasgi")
    logger.addHandler(handler)
    return records, lambda: logger.removeHandler(handler)


def expected_urlencoded(body, charset):
    """What read_urlencoded should answer: (200, pairs), or the 4xx status."""
    encoding = charset or "utf-8"
    try:
        b"a".decode(encoding, errors="ignore")
    except (LookupError, ValueError):
        return 415, None
    try:
        text = body.decode(encoding)
        return 200, parse_qsl(text, keep_blank_values=True, encoding=encoding, errors="strict")
    except UnicodeError:
        return 400, None


@given(body=URLENCODED_BYTES, charset=st.sampled_from(CHARSETS), size=st.integers(1, 9))
@FORM_SETTINGS
def test_any_urlencoded_body_is_parsed_as_parse_qsl_would_or_refused_with_a_4xx(
    body, charset, size
):
    content_type = URLENCODED["content-type"] + (f"; charset={charset}" if charset else "")
    headers = [(b"content-type", content_type.encode("latin-1"))]
    records, stop = bareasgi_records()
    try:
        response = asyncio.run(post(make_app(), chunks(body, size), headers))
    finally:
        stop()
    status, pairs = expected_urlencoded(body, charset)
    assert response.status == status, response.text
    assert records == []
    if status == 200:
        assert [tuple(pair) for pair in response.json()] == pairs
    else:
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
        assert "Traceback" not in response.text and response.text.endswith(".")


@st.composite
def damaged_multipart(draw):
    """A good multipart body, then cut, with bytes inserted, or with a part repeated."""
    body = bytearray(
        multipart(
            ("a", "one"),
            ("a", "two"),
            ("f", "x.txt", b"file data", "text/plain"),
        )
    )
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["cut", "insert", "repeat"]))
        where = draw(st.integers(0, len(body)))
        if kind == "cut":
            del body[where:]
        elif kind == "insert":
            inserted = [b"\r\n", b"--", b'"', b";", b"\xff", b"\0", b"--" + BOUNDARY.encode()]
            body[where:where] = draw(st.sampled_from(inserted))
        else:
            body[where:where] = multipart(("a", "x"))[: draw(st.integers(0, 80))]
    return bytes(body)


@given(body=damaged_multipart(), size=st.sampled_from([1, 7, 64, 4096]))
@FORM_SETTINGS
def test_any_damaged_multipart_body_is_read_or_refused_with_a_4xx_never_a_500(body, size):
    app = make_app(max_fields=3, max_files=1)
    records, stop = bareasgi_records()
    try:
        response = asyncio.run(post(app, chunks(body, size)))
    finally:
        stop()
    assert records == []
    assert response.status in (200, 400, 413), response.text
    if response.status == 200:
        values = [value for _, value in response.json()]
        assert sum(isinstance(value, str) for value in values) <= 3  # the limits held
        assert sum(isinstance(value, dict) for value in values) <= 1
    else:
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
        assert response.text.endswith(".") and "Traceback" not in response.text
        assert "form" not in app.info  # nothing handed over, so nothing left open


BAD_OPTIONS = [
    ({"encoding": "bogus"}, "encoding 'bogus' is not a text encoding Python knows"),
    ({"encoding": "base64"}, "encoding 'base64' is not a text encoding"),
    ({"max_size": -5}, "max_size must be None or a whole number of bytes, 0 or more, not -5"),
    ({"max_size": 1.5}, "max_size must be None or a whole number"),
    ({"max_fields": -1}, "max_fields must be a whole number, 0 or more, not -1"),
    ({"max_fields": "10"}, "max_fields must be a whole number"),
    ({"max_fields": True}, "max_fields must be a whole number"),
]
MULTIPART_OPTIONS = [
    ({"max_files": -1}, "max_files must be a whole number, 0 or more"),
    ({"max_field_size": -1}, "max_field_size must be a whole number, 0 or more"),
    ({"max_file_size": -1}, "max_file_size must be None or a whole number of bytes"),
    ({"spool_size": None}, "spool_size must be a whole number"),
]


@pytest.mark.parametrize(
    ("reader", "headers", "options", "message"),
    [(read_urlencoded, URLENCODED, *case) for case in BAD_OPTIONS]
    + [(read_form, URLENCODED, *case) for case in BAD_OPTIONS + MULTIPART_OPTIONS]
    + [(read_multipart, MULTIPART, *case) for case in BAD_OPTIONS + MULTIPART_OPTIONS],
)
async def test_bad_options_are_the_callers_value_error_not_the_clients_4xx(
    reader, headers, options, message
):
    # encoding="bogus" was answered 415 "The charset 'bogus' is not supported", and
    # max_fields=-1 413 "more than -1 fields": the client was blamed for the server.
    read = False

    async def body():
        nonlocal read
        read = True
        yield b"a=1"

    scope = {"headers": [(b"content-type", headers["content-type"].encode())]}
    with pytest.raises(ValueError, match=message):
        await reader(scope, body(), **options)
    assert not read


async def test_the_read_form_example_answers_a_form_missing_its_file_with_a_400_not_a_500():
    # The docstring's example is the pattern readers copy: run as it is written.
    import textwrap

    import bareasgi
    from bareasgi import forms

    code = textwrap.dedent(read_form.__doc__.split("```python\n")[1].split("```")[0])
    namespace = {**vars(bareasgi), **vars(forms)}
    exec(code, namespace)
    app = Application()
    app.http_router.add({"POST"}, "/form", namespace["upload"])
    photo = ("photo", "cat.jpg", b"\xff\xd8 pretend jpeg", "image/jpeg")
    good = await post(app, multipart(("title", "Cat"), photo))
    assert (good.status, good.text) == (200, "Cat: 15 bytes")
    for parts in [(("title", "Cat"),), (("title", "Cat"), ("photo", "not a file")), ()]:
        response = await post(app, multipart(*parts))
        assert response.status == 400, response.text
        assert response.text == "Send the photo as a file."
    untitled = await post(app, multipart(photo))
    assert (untitled.status, untitled.text) == (200, ": 15 bytes")
