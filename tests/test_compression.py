"""The compression extra: which responses are compressed, how, and what is left alone."""

import asyncio
import gzip
import logging
import os
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bareasgi import Application, BodyWriter, bytes_writer, text_writer
from bareasgi.compression import EXCLUDED_TYPES, compression_middleware
from bareasgi.headers import parse_accept
from bareasgi.static import FileWriter
from bareasgi.testing import TestClient
from tests.fuzzing import property_settings
from tests.scripted import one_receive_at_a_time

TEXT = "All work and no play makes Jack a dull boy.\n" * 100  # 4400 bytes
PLAIN = [(b"content-type", b"text/plain; charset=utf-8")]
GZIP = {"accept-encoding": "gzip"}


def make_app(response, **options):
    """An application answering every path with ``response()``, behind the middleware."""

    async def handler(scope, info, matches, content):
        return response()

    app = Application(middlewares=[compression_middleware(**options)])
    app.http_router.add({"GET", "POST"}, "/{path:path}", handler)
    return app


def text_app(text=TEXT, headers=PLAIN, status=200, **options):
    return make_app(lambda: (status, list(headers), text_writer(text)), **options)


async def get(app, accept_encoding=None, method="GET", **headers):
    if accept_encoding is not None:
        headers["accept-encoding"] = accept_encoding
    return await TestClient(app).request(method, "/", headers=headers)


# Choosing the coding -----------------------------------------------------------------------------


async def test_gzip_compresses_a_large_body_with_an_exact_length():
    response = await get(text_app(), "gzip, deflate, br")
    assert response.status == 200
    assert response.headers["content-encoding"] == "gzip"
    assert gzip.decompress(response.body).decode() == TEXT
    assert response.headers["content-length"] == str(len(response.body))
    assert len(response.body) < len(TEXT) // 10
    assert response.headers.get_all("vary") == ["Accept-Encoding"]
    assert response.headers["content-type"] == "text/plain; charset=utf-8"


async def test_deflate_is_the_zlib_format():
    response = await get(text_app(), "deflate")
    assert response.headers["content-encoding"] == "deflate"
    assert zlib.decompress(response.body).decode() == TEXT


@pytest.mark.parametrize(
    ("accept", "coding"),
    [
        ("gzip;q=0.5, deflate", "deflate"),
        ("deflate;q=0.9, gzip;q=0.8", "deflate"),
        ("deflate, gzip", "gzip"),  # a tie goes to the server's preference
        ("*", "gzip"),
        ("*;q=0.5, gzip;q=0", "deflate"),
        ("x-gzip", "gzip"),
        ("GZIP;Q=1", "gzip"),
        ("br, zstd, deflate", "deflate"),
    ],
)
async def test_the_highest_q_value_wins(accept, coding):
    response = await get(text_app(), accept)
    assert response.headers["content-encoding"] == coding


async def test_the_server_preference_decides_ties():
    response = await get(text_app(encodings=("deflate", "gzip")), "gzip, deflate")
    assert response.headers["content-encoding"] == "deflate"


async def test_a_coding_not_offered_is_never_used():
    response = await get(text_app(encodings=("deflate",)), "gzip")
    assert "content-encoding" not in response.headers
    assert response.text == TEXT


@pytest.mark.parametrize(
    "accept", [None, "", "br", "gzip;q=0, deflate;q=0", "identity", "*;q=0, identity", "gzip;q=x"]
)
async def test_a_client_that_accepts_no_offered_coding_gets_the_body_as_it_is(accept):
    response = await get(text_app(), accept)
    assert response.status == 200
    assert "content-encoding" not in response.headers
    assert response.text == TEXT
    assert response.headers["vary"] == "Accept-Encoding"


async def test_accept_encoding_sent_twice_is_read_as_one_list():
    app = text_app()
    headers = [("accept-encoding", "br"), ("accept-encoding", "deflate")]
    response = await TestClient(app).get("/", headers=headers)
    assert response.headers["content-encoding"] == "deflate"


async def test_a_long_accept_encoding_is_understood_too():
    accept = ", ".join(f"x-coding-{n};q=0.1" for n in range(30)) + ", gzip;q=0.2"
    response = await get(text_app(), accept)
    assert response.headers["content-encoding"] == "gzip"


async def test_refusing_identity_gets_even_a_small_body_compressed():
    response = await get(text_app("tiny"), "gzip, identity;q=0")
    assert response.headers["content-encoding"] == "gzip"
    assert gzip.decompress(response.body) == b"tiny"

    response = await get(text_app("tiny"), "gzip, *;q=0")
    assert response.headers["content-encoding"] == "gzip"


async def test_refusing_identity_and_every_offered_coding_still_gets_the_body():
    response = await get(text_app(), "identity;q=0")
    assert response.status == 200
    assert "content-encoding" not in response.headers
    assert response.text == TEXT


# What is left alone ------------------------------------------------------------------------------


async def test_a_body_under_the_minimum_size_is_sent_as_it_is():
    response = await get(text_app("x" * 499), "gzip")
    assert "content-encoding" not in response.headers
    assert "vary" not in response.headers
    assert response.text == "x" * 499

    response = await get(text_app("x" * 500), "gzip")
    assert response.headers["content-encoding"] == "gzip"


async def test_the_minimum_size_is_configurable():
    response = await get(text_app("x" * 100, minimum_size=50), "gzip")
    assert response.headers["content-encoding"] == "gzip"
    response = await get(text_app(minimum_size=10_000), "gzip")
    assert "content-encoding" not in response.headers


@pytest.mark.parametrize(
    "content_type",
    [
        "image/png",
        "image/JPEG",
        "video/mp4",
        "audio/ogg",
        "application/zip",
        "application/gzip",
        "application/octet-stream",
        "font/woff2",
        "text/event-stream; charset=utf-8",
    ],
)
async def test_already_compressed_types_are_sent_as_they_are(content_type):
    response = await get(text_app(headers=[(b"content-type", content_type.encode())]), "gzip")
    assert "content-encoding" not in response.headers
    assert "vary" not in response.headers
    assert response.text == TEXT


@pytest.mark.parametrize(
    "content_type",
    ["image/svg+xml", "application/json", "application/vnd.api+json", "text/html", "font/ttf"],
)
async def test_text_types_are_compressed(content_type):
    response = await get(text_app(headers=[(b"content-type", content_type.encode())]), "gzip")
    assert response.headers["content-encoding"] == "gzip"


async def test_many_distinct_content_types_are_each_decided_on_their_own():
    kinds = [f"text/x-kind-{n}" for n in range(80)] + [f"image/x-kind-{n}" for n in range(80)]
    kind = {"value": ""}
    app = make_app(lambda: (200, [(b"content-type", kind["value"].encode())], text_writer(TEXT)))
    for value in [*kinds, *kinds]:
        kind["value"] = value
        response = await get(app, "gzip")
        expected = "gzip" if value.startswith("text/") else None
        assert response.headers.get("content-encoding") == expected, value


async def test_a_body_without_a_content_type_is_compressed():
    response = await get(text_app(headers=[]), "gzip")
    assert response.headers["content-encoding"] == "gzip"


async def test_excluded_types_are_configurable():
    app = text_app(excluded_types={"text/plain", "application/*"})
    assert "content-encoding" not in (await get(app, "gzip")).headers
    app = text_app(headers=[(b"content-type", b"application/json")], excluded_types=["text/*"])
    assert (await get(app, "gzip")).headers["content-encoding"] == "gzip"
    app = text_app(headers=[(b"content-type", b"image/png")], excluded_types=["text/*"])
    assert (await get(app, "gzip")).headers["content-encoding"] == "gzip"


async def test_a_response_already_encoded_is_left_alone():
    body = gzip.compress(TEXT.encode())
    headers = [*PLAIN, (b"Content-Encoding", b"gzip"), (b"content-length", b"%d" % len(body))]
    app = make_app(lambda: (200, headers, bytes_writer(body)))
    response = await get(app, "gzip, deflate")
    assert response.headers.get_all("content-encoding") == ["gzip"]
    assert "vary" not in response.headers
    assert response.body == body


async def test_a_ranged_response_is_left_alone():
    headers = [*PLAIN, (b"content-range", b"bytes 0-4399/10000")]
    response = await get(text_app(headers=headers, status=206), "gzip")
    assert response.status == 206
    assert "content-encoding" not in response.headers
    assert response.text == TEXT

    headers = [*PLAIN, (b"content-range", b"bytes */10000")]
    response = await get(text_app(headers=headers, status=416), "gzip")
    assert "content-encoding" not in response.headers


async def test_a_204_is_left_alone():
    app = make_app(lambda: (204, [(b"etag", b'"v1"')], None))
    response = await get(app, "gzip")
    assert response.status == 204
    assert response.body == b""
    assert response.headers.raw == [(b"etag", b'"v1"')]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        # Without a content type, the 200 is assumed compressed: a strong ETag kept for
        # gzip bytes would let a cache combine ranges of the unencoded file with them.
        ([(b"etag", b'"v1"')], [(b"etag", b'W/"v1"'), (b"vary", b"Accept-Encoding")]),
        (
            [(b"content-type", b"image/png"), (b"etag", b'"v1"')],
            [(b"content-type", b"image/png"), (b"etag", b'"v1"')],
        ),
        (
            [(b"content-type", b"text/plain"), (b"content-length", b"10"), (b"etag", b'"v1"')],
            [(b"content-type", b"text/plain"), (b"etag", b'"v1"')],  # too small to compress
        ),
    ],
)
async def test_a_304_gets_the_etag_and_vary_its_200_would_have(headers, expected):
    app = make_app(lambda: (304, list(headers), None))
    response = await get(app, "gzip")
    assert response.status == 304
    assert response.body == b""
    assert response.headers.raw == expected


async def test_a_head_request_gets_the_headers_of_its_get():
    head = await get(text_app(), "gzip", method="HEAD")
    full = await get(text_app(), "gzip")
    assert head.status == full.status == 200
    assert head.headers.raw == full.headers.raw
    assert head.headers["content-encoding"] == "gzip"
    assert head.body == b""


async def test_an_in_memory_body_that_would_grow_is_sent_as_it_is():
    noise = os.urandom(2000)
    headers = [(b"content-type", b"text/plain")]
    response = await get(make_app(lambda: (200, headers, bytes_writer(noise))), "gzip")
    assert "content-encoding" not in response.headers
    assert response.body == noise
    assert response.headers["vary"] == "Accept-Encoding"


async def test_error_responses_are_compressed_too():
    response = await get(text_app(status=404), "gzip")
    assert response.status == 404
    assert gzip.decompress(response.body).decode() == TEXT


# Headers of a compressed response ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("vary", "expected"),
    [
        ([b"Origin"], ["Origin, Accept-Encoding"]),
        ([b"Origin", b"Cookie"], ["Origin, Cookie, Accept-Encoding"]),
        ([b"origin, accept-encoding"], ["origin, accept-encoding"]),
        ([b"*"], ["*"]),
    ],
)
async def test_vary_is_merged_with_the_one_there(vary, expected):
    headers = [*PLAIN, *((b"Vary", value) for value in vary)]
    response = await get(text_app(headers=headers), "gzip")
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers.get_all("vary") == expected


async def test_vary_is_merged_when_not_compressing_too():
    response = await get(text_app(headers=[*PLAIN, (b"vary", b"Origin")]), None)
    assert response.headers.get_all("vary") == ["Origin, Accept-Encoding"]


async def test_the_old_length_and_ranges_go_and_a_strong_etag_becomes_weak():
    headers = [
        *PLAIN,
        (b"Content-Length", str(len(TEXT)).encode()),
        (b"accept-ranges", b"bytes"),
        (b"ETag", b'"abc"'),
    ]
    response = await get(text_app(headers=headers), "gzip")
    assert response.headers.get_all("content-length") == [str(len(response.body))]
    assert "accept-ranges" not in response.headers
    assert response.headers.get_all("etag") == ['W/"abc"']


async def test_a_weak_etag_stays_as_it_is():
    response = await get(text_app(headers=[*PLAIN, (b"etag", b'W/"abc"')]), "gzip")
    assert response.headers.get_all("etag") == ['W/"abc"']


async def test_the_handler_headers_list_is_not_changed():
    headers = [*PLAIN, (b"vary", b"Origin")]
    app = make_app(lambda: (200, headers, text_writer(TEXT)))
    await get(app, "gzip")
    await get(app, None)
    assert headers == [*PLAIN, (b"vary", b"Origin")]


async def test_a_response_without_headers_is_compressed():
    app = make_app(lambda: (200, None, text_writer(TEXT)))
    response = await get(app, "gzip")
    assert response.headers["content-encoding"] == "gzip"
    assert gzip.decompress(response.body).decode() == TEXT


async def test_an_in_memory_body_of_many_chunks_is_compressed_whole():
    app = make_app(lambda: (200, PLAIN, text_writer(TEXT, chunk_size=100)))
    response = await get(app, "gzip")
    assert gzip.decompress(response.body).decode() == TEXT
    body_messages = [m for m in response.messages if m["type"] == "http.response.body"]
    assert len(body_messages) == 1


async def test_the_level_is_used():
    text = "".join(f"{n} bottles of beer on the wall\n" for n in range(2000))
    fast = await get(text_app(text, level=1), "gzip")
    small = await get(text_app(text, level=9), "gzip")
    assert len(small.body) < len(fast.body)
    assert gzip.decompress(small.body) == gzip.decompress(fast.body) == text.encode()


async def test_a_large_body_is_compressed_in_a_thread(monkeypatch):
    threaded = []
    to_thread = asyncio.to_thread

    async def recording_to_thread(function, *args):
        threaded.append(function.__name__)
        return await to_thread(function, *args)

    monkeypatch.setattr(asyncio, "to_thread", recording_to_thread)
    big = TEXT * 100  # 440 kB
    response = await get(text_app(big), "gzip")
    assert gzip.decompress(response.body).decode() == big
    assert threaded == ["_compress_all"]

    threaded.clear()
    response = await get(text_app(), "gzip")
    assert response.headers["content-encoding"] == "gzip"
    assert threaded == []


# Streamed bodies ---------------------------------------------------------------------------------


def stream_app(chunks, headers=PLAIN, events=None, **options):
    """An application streaming ``chunks``; ``events[i]`` is set once chunk i was yielded."""
    state = {"closed": False}

    async def writer():
        try:
            for index, chunk in enumerate(chunks):
                yield chunk
                if events is not None:
                    await events[index].wait()
        finally:
            state["closed"] = True

    app = make_app(lambda: (200, list(headers), writer()), **options)
    return app, state


async def test_a_stream_is_compressed_chunk_by_chunk_as_it_is_written():
    chunks = [b"first line\n", b"second line\n", b"third line\n"]
    events = [asyncio.Event() for _ in chunks]
    app, _ = stream_app(chunks, events=events)
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    received = []
    async with TestClient(app).stream("GET", "/", headers=GZIP) as response:
        assert response.headers["content-encoding"] == "gzip"
        assert "content-length" not in response.headers
        assert response.headers["vary"] == "Accept-Encoding"
        index = 0
        async for chunk in response:
            text = decompressor.decompress(chunk)
            if text:
                # Each chunk decodes completely on arrival, before the next is written.
                assert text == chunks[index]
                received.append(text)
                events[index].set()
                index += 1
    assert received == chunks
    assert decompressor.eof


async def test_a_stream_is_one_body_message_per_chunk():
    chunks = [b"a" * 1000, b"", bytearray(b"b" * 1000), b"c" * 1000]
    app, state = stream_app(chunks)
    response = await get(app, "deflate")
    assert zlib.decompress(response.body) == b"a" * 1000 + b"b" * 1000 + b"c" * 1000
    bodies = [m for m in response.messages if m["type"] == "http.response.body"]
    # Three chunks with data, the end of the deflate stream, and the framework's last message.
    assert [m["more_body"] for m in bodies] == [True, True, True, True, False]
    assert state["closed"]


async def test_a_stream_with_a_small_declared_length_is_left_alone():
    headers = [*PLAIN, (b"content-length", b"5")]
    app, _ = stream_app([b"hello"], headers=headers)
    response = await get(app, "gzip")
    assert "content-encoding" not in response.headers
    assert response.headers["content-length"] == "5"
    assert response.body == b"hello"


async def test_a_stream_with_a_large_declared_length_loses_it():
    headers = [*PLAIN, (b"content-length", b"2000")]
    app, _ = stream_app([b"x" * 1000, b"y" * 1000], headers=headers)
    response = await get(app, "gzip")
    assert response.headers["content-encoding"] == "gzip"
    assert "content-length" not in response.headers
    assert gzip.decompress(response.body) == b"x" * 1000 + b"y" * 1000


async def test_a_stream_with_a_bad_declared_length_is_compressed():
    app, _ = stream_app([b"x" * 10], headers=[*PLAIN, (b"content-length", b"ten")])
    response = await get(app, "gzip")
    assert gzip.decompress(response.body) == b"x" * 10


async def test_a_stream_to_a_client_without_a_coding_is_streamed_as_it_is():
    app, _ = stream_app([b"one", b"two"])
    response = await get(app, None)
    assert "content-encoding" not in response.headers
    assert response.headers["vary"] == "Accept-Encoding"
    assert response.body == b"onetwo"


async def test_event_streams_are_not_compressed_unless_asked():
    headers = [(b"content-type", b"text/event-stream")]
    app, _ = stream_app([b"data: 1\n\n"], headers=headers)
    response = await get(app, "gzip")
    assert "content-encoding" not in response.headers
    assert response.body == b"data: 1\n\n"

    app, _ = stream_app(
        [b"data: 1\n\n"], headers=headers, excluded_types=EXCLUDED_TYPES - {"text/event-stream"}
    )
    response = await get(app, "gzip")
    assert response.headers["content-encoding"] == "gzip"
    assert gzip.decompress(response.body) == b"data: 1\n\n"


async def test_a_client_that_leaves_closes_the_writer():
    async def endless():
        while True:
            yield b"tick\n" * 20
            await asyncio.sleep(0.001)

    state = {"closed": False}

    async def writer():
        try:
            async for chunk in endless():
                yield chunk
        finally:
            state["closed"] = True

    app = make_app(lambda: (200, PLAIN, writer()))
    async with TestClient(app).stream("GET", "/", headers=GZIP) as response:
        async for _ in response:
            break
    assert state["closed"]


async def test_a_writer_closed_before_it_ends_is_closed_inside_too():
    # The framework closes the compressed stream when send fails: the writer closes with it.
    state = {"closed": False}

    async def writer():
        try:
            while True:
                yield b"x" * 100
        finally:
            state["closed"] = True

    sent = []

    async def send(message):
        sent.append(message)
        if len(sent) == 3:
            raise OSError("connection reset")

    async def receive():
        await asyncio.Event().wait()

    app = make_app(lambda: (200, PLAIN, writer()))
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": [(b"accept-encoding", b"gzip")],
    }
    await app(scope, one_receive_at_a_time(receive), send)
    assert state["closed"]
    encoding_and_vary = [(b"content-encoding", b"gzip"), (b"vary", b"Accept-Encoding")]
    assert sent[0]["headers"][-2:] == encoding_and_vary


async def test_a_head_request_for_a_stream_gets_the_headers_of_its_get():
    app, _ = stream_app([b"x" * 1000])
    head = await get(app, "gzip", method="HEAD")
    full = await get(app, "gzip")
    assert head.headers.raw == full.headers.raw
    assert head.headers["content-encoding"] == "gzip"
    assert head.body == b""


async def test_a_writer_that_fails_ends_the_response(caplog):
    async def writer():
        yield b"x" * 1000
        raise RuntimeError("the database went away")

    app = make_app(lambda: (200, PLAIN, writer()))
    with caplog.at_level(logging.ERROR, logger="bareasgi"):
        response = await get(app, "gzip")
    assert response.status == 200
    assert response.headers["content-encoding"] == "gzip"
    assert zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(response.body) == b"x" * 1000
    assert "failed after the response started" in caplog.text


async def test_a_writer_that_is_not_async_iterable_is_still_a_clean_500(caplog):
    app = make_app(lambda: (200, PLAIN, [b"not", b"async"]))
    with caplog.at_level(logging.ERROR, logger="bareasgi"):
        response = await get(app, "gzip")
    assert response.status == 500
    assert response.text == "Internal Server Error"
    assert "not async iterable" in caplog.text


async def test_a_large_streamed_chunk_is_compressed_in_a_thread(monkeypatch):
    threaded = []
    to_thread = asyncio.to_thread

    async def recording_to_thread(function, *args):
        threaded.append(function.__name__)
        return await to_thread(function, *args)

    monkeypatch.setattr(asyncio, "to_thread", recording_to_thread)
    big = b"0123456789abcdef" * 20_000  # 320 kB
    app, _ = stream_app([b"small", big])
    response = await get(app, "gzip")
    assert gzip.decompress(response.body) == b"small" + big
    assert threaded == ["_compress_chunk"]


async def test_pushes_pass_through():
    app = make_app(lambda: (200, PLAIN, text_writer(TEXT), [("/style.css", [])]))
    response = await TestClient(app, server_push=True).get("/", headers=GZIP)
    assert response.pushes == [("/style.css", [])]
    assert response.headers["content-encoding"] == "gzip"


async def test_a_body_writer_passed_straight_through_is_still_a_body_writer():
    chunks = BodyWriter((b"a" * 300, b"b" * 300))
    response = await get(make_app(lambda: (200, PLAIN, chunks)), "gzip")
    assert gzip.decompress(response.body) == b"a" * 300 + b"b" * 300


# Configuration -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"level": 0}, "level must be a whole number from 1 to 9"),
        ({"level": 10}, "level must be"),
        ({"level": True}, "level must be"),
        ({"minimum_size": -1}, "minimum_size must be"),
        ({"minimum_size": 1.5}, "minimum_size must be"),
        ({"encodings": ("br",)}, "unknown coding 'br'"),
        ({"encodings": "gzip"}, "encodings must be a sequence"),
        ({"encodings": ()}, "encodings must be a sequence"),
        ({"encodings": ("gzip", "gzip")}, "lists a coding twice"),
        ({"excluded_types": "image/*"}, "must be a collection of media types"),
        ({"excluded_types": ["image"]}, "'image' is not a media type"),
        ({"excluded_types": ["*/*"]}, "'*/*' is not a media type"),
        ({"excluded_types": ["a/b/c"]}, "'a/b/c' is not a media type"),
        ({"excluded_types": ["image/p\u00f1g"]}, "'image/p\u00f1g' is not a media type"),
        ({"excluded_types": [b"image/png"]}, "b'image/png' is not a media type"),
        ({"excluded_types": b"image/png"}, "must be a collection of media types"),
        ({"excluded_types": None}, "must be a collection of media types"),
        ({"encodings": None}, "encodings must be a sequence"),
    ],
)
def test_bad_configuration_is_a_clear_error(options, message):
    with pytest.raises(ValueError, match=message):
        compression_middleware(**options)


def test_importing_bareasgi_does_not_load_the_extra():
    import subprocess
    import sys

    code = "import bareasgi, sys; print('bareasgi.compression' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False"


# Closing what is wrapped, even before the first chunk --------------------------------------------


def file_writer(tmp_path):
    path = tmp_path / "big.txt"
    path.write_bytes(b"line of text\n" * 10_000)
    return FileWriter(open(path, "rb"), path.stat().st_size)  # the writer closes it


async def test_a_head_request_closes_the_file_of_a_compressed_file_writer(tmp_path):
    writer = file_writer(tmp_path)
    app = make_app(lambda: (200, PLAIN, writer))
    response = await get(app, "gzip", method="HEAD")
    assert response.headers["content-encoding"] == "gzip"
    assert writer.closed


async def test_a_client_gone_before_the_first_chunk_closes_the_file_of_a_compressed_writer(
    tmp_path,
):
    writer = file_writer(tmp_path)

    async def send(message):
        raise OSError("connection reset")

    async def receive():
        await asyncio.Event().wait()

    app = make_app(lambda: (200, PLAIN, writer))
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": [(b"accept-encoding", b"gzip")],
    }
    await app(scope, one_receive_at_a_time(receive), send)
    assert writer.closed


# HEAD and 304 carry what GET's 200 would (RFC 9110, 9.3.2 and 15.4.5) ---------------------------


@pytest.fixture
def static_app(tmp_path):
    from bareasgi.static import static_files

    (tmp_path / "big.txt").write_bytes(b"a line of text\n" * 10_000)  # streamed
    (tmp_path / "mid.txt").write_bytes(b"a line of text\n" * 1_000)  # read at once
    (tmp_path / "tiny.txt").write_bytes(b"tiny")  # under the minimum size
    (tmp_path / "image.png").write_bytes(os.urandom(100_000))  # an excluded type
    app = Application(middlewares=[compression_middleware()])
    app.http_router.add({"GET", "HEAD"}, "/{path:path}", static_files(tmp_path))
    return app


@pytest.mark.parametrize("name", ["big.txt", "mid.txt", "tiny.txt", "image.png"])
@pytest.mark.parametrize("accept", ["gzip", None])
async def test_head_and_304_of_a_static_file_carry_the_headers_of_its_get(
    static_app, name, accept
):
    client = TestClient(static_app)
    headers = {"accept-encoding": accept} if accept else {}
    full = await client.get(f"/{name}", headers=headers)
    head = await client.head(f"/{name}", headers=headers)
    assert full.status == head.status == 200
    assert head.headers.raw == full.headers.raw
    assert head.body == b""

    etag = full.headers["etag"]
    cached = await client.get(f"/{name}", headers={**headers, "if-none-match": etag})
    assert cached.status == 304
    assert cached.headers["etag"] == etag
    assert cached.headers.get_all("vary") == full.headers.get_all("vary")
    assert cached.body == b""


# Random Accept-Encoding --------------------------------------------------------------------------

ACCEPT_PIECES = [
    b"gzip", b"GZIP", b"deflate", b"x-gzip", b"br", b"identity", b"*", b",", b", ", b";",
    b"q=0", b"q=1", b"q=0.5", b"Q=0.001", b"q=", b"q=nan", b"q=-1", b"q=1e999", b"q=abc",
    b'q="0"', b" ", b"\xff", b"=",
]


@given(
    accept=st.lists(st.sampled_from(ACCEPT_PIECES), max_size=12).map(b"".join),
    repeat=st.integers(1, 400),
)
@property_settings(100)
def test_any_accept_encoding_gets_the_body_in_a_coding_it_did_not_refuse(accept, repeat):
    # Repeated, a value grows past the length of those remembered between requests.
    value = b", ".join([accept] * repeat) if repeat > 1 else accept
    app = text_app()
    response = asyncio.run(
        TestClient(app).request("GET", "/", headers=[(b"accept-encoding", value)])
    )
    assert response.status == 200
    coding = response.headers.get("content-encoding")
    assert coding in (None, "gzip", "deflate")
    if coding is None:
        assert response.body == TEXT.encode()
    else:
        bits = 16 + zlib.MAX_WBITS if coding == "gzip" else zlib.MAX_WBITS
        assert zlib.decompress(response.body, bits) == TEXT.encode()
        refused = {name for name, q in parse_accept(value) if q == 0}
        named = {name for name, _ in parse_accept(value)}
        aliases = {"gzip": {"gzip", "x-gzip"}, "deflate": {"deflate"}}[coding]
        accepted = {name for name, q in parse_accept(value) if q > 0}
        # The coding chosen was accepted by name, or by * without being refused by name.
        assert aliases & accepted or ("*" in accepted and not aliases & named & refused)
    assert "accept-encoding" in response.headers.get("vary", "").lower()


@pytest.mark.parametrize("chunk", ["text", 42, ["a list"]])
async def test_a_streamed_chunk_that_is_not_bytes_is_reported_as_such(caplog, chunk):
    # Without the middleware the framework says what the writer yielded; so does this.
    async def writer():
        yield b"x" * 1000
        yield chunk
        yield b"never sent"

    app = make_app(lambda: (200, PLAIN, writer()))
    with caplog.at_level(logging.ERROR, logger="bareasgi"):
        response = await get(app, "gzip")
    assert response.status == 200
    assert zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(response.body) == b"x" * 1000
    [record] = [r for r in caplog.records if r.name == "bareasgi"]
    assert record.exc_info is not None
    error = record.exc_info[1]
    assert isinstance(error, TypeError)
    assert f"yielded {type(chunk).__name__}, expected bytes" in str(error)


async def test_streamed_bytearray_and_memoryview_chunks_are_compressed_as_bytes_are():
    async def writer():
        yield bytearray(b"a" * 600)
        yield memoryview(b"b" * 600)

    response = await get(make_app(lambda: (200, PLAIN, writer())), "gzip")
    assert response.headers["content-encoding"] == "gzip"
    assert zlib.decompress(response.body, 16 + zlib.MAX_WBITS) == b"a" * 600 + b"b" * 600
