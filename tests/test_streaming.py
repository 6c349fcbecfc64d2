"""Writers, readers and response builders."""

import asyncio
import logging

import pytest

from bareasgi import (
    BodyWriter,
    HTTPError,
    bytes_reader,
    bytes_writer,
    json_reader,
    json_response,
    text_reader,
    text_response,
    text_writer,
)


async def chunks_of(*parts: bytes):
    for part in parts:
        yield part


async def collect(writer) -> list[bytes]:
    return [chunk async for chunk in writer]


async def test_text_writer_encodes_in_one_chunk_by_default():
    assert await collect(text_writer("héllo")) == ["héllo".encode()]


async def test_text_writer_chunks_by_characters_and_honours_the_encoding():
    writer = text_writer("abcdé", encoding="latin-1", chunk_size=2)
    assert await collect(writer) == [b"ab", b"cd", "é".encode("latin-1")]


async def test_bytes_writer_chunks_and_can_be_iterated_twice():
    writer = bytes_writer(b"abcdefg", chunk_size=3)
    assert await collect(writer) == [b"abc", b"def", b"g"]
    assert await collect(writer) == [b"abc", b"def", b"g"]


async def test_bytes_writer_of_empty_body_yields_one_empty_chunk():
    assert await collect(bytes_writer(b"")) == [b""]


@pytest.mark.parametrize("chunks", [("text",), (b"ok", bytearray(b"no")), (b"ok", 1)])
def test_a_body_writer_holds_only_bytes_and_says_what_it_was_given(chunks):
    name = type(chunks[-1]).__name__
    with pytest.raises(TypeError, match=f"a BodyWriter holds bytes, not {name}$"):
        BodyWriter(chunks)
    assert BodyWriter([b"a", b"b"]) == (b"a", b"b")  # any iterable of bytes


async def test_readers_join_chunks():
    assert await bytes_reader(chunks_of(b"ab", b"cd")) == b"abcd"
    assert await text_reader(chunks_of(b"h", "é".encode())) == "hé"
    assert await json_reader(chunks_of(b'{"a": ', b"[1, 2]}")) == {"a": [1, 2]}


async def test_reader_over_max_size_is_413_and_stops_reading():
    pulled = []

    async def endless():
        while True:
            pulled.append(1)
            yield b"x" * 1024

    with pytest.raises(HTTPError) as error:
        await bytes_reader(endless(), max_size=4096)
    assert error.value.status == 413
    assert "4096" in str(error.value.body)
    assert len(pulled) == 5


async def test_malformed_json_is_400_naming_the_position_not_the_body():
    with pytest.raises(HTTPError) as error:
        await json_reader(chunks_of(b'{"secret": tru'))
    assert error.value.status == 400
    assert "not valid JSON" in str(error.value.body)
    assert "line 1" in str(error.value.body)
    assert "secret" not in str(error.value.body)


async def test_json_that_is_not_utf8_is_400():
    with pytest.raises(HTTPError) as error:
        await json_reader(chunks_of(b'"\xff"'))
    assert error.value.status == 400


async def test_text_that_does_not_decode_is_400():
    with pytest.raises(HTTPError) as error:
        await text_reader(chunks_of(b"\xff\xfe\xfa"))
    assert error.value.status == 400
    assert "utf-8" in str(error.value.body)


async def test_text_response_adds_content_type_and_length():
    status, headers, writer, pushes = text_response(200, None, "héllo")
    assert status == 200
    assert headers == [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"6")]
    assert await collect(writer) == ["héllo".encode()]
    assert pushes is None


async def test_json_response_keeps_given_headers_and_content_type():
    extra = [(b"x-a", b"1")]
    _, headers, writer, _ = json_response(201, extra, {"k": "v"})
    assert headers == [
        (b"x-a", b"1"),
        (b"content-type", b"application/json"),
        (b"content-length", b"10"),
    ]
    assert await collect(writer) == [b'{"k": "v"}']
    own = [(b"content-type", b"application/problem+json")]
    _, headers, _, _ = json_response(400, own, {})
    assert headers == [*own, (b"content-length", b"2")]
    assert extra == [(b"x-a", b"1")]  # the caller's list is not modified


@pytest.mark.parametrize(
    "content_type",
    [b"application/json", b"Application/JSON; charset=utf-8", b"application/problem+json"],
)
async def test_json_reader_with_scope_accepts_json_content_types(content_type):
    scope = {"headers": [(b"content-type", content_type)]}
    assert await json_reader(chunks_of(b"[1]"), scope=scope) == [1]


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ([(b"content-type", b"text/plain")], "not text/plain"),
        ([(b"content-type", b"application/x-www-form-urlencoded")], "not application/x-www"),
        ([], "send content-type: application/json"),
    ],
)
async def test_json_reader_with_scope_refuses_other_content_types_with_415(headers, message):
    pulled = []

    async def body():
        pulled.append(1)
        yield b"{}"

    with pytest.raises(HTTPError) as error:
        await json_reader(body(), scope={"headers": headers})
    assert error.value.status == 415
    assert message in str(error.value.body)
    assert pulled == []  # nothing of the body was read


# found by mutation testing ---------------------------------------------------------------------


@pytest.mark.parametrize("make", [bytes_writer, text_writer])
async def test_a_chunk_size_of_1_splits_and_0_does_not(make):
    body = "abc" if make is text_writer else b"abc"
    assert await collect(make(body, chunk_size=1)) == [b"a", b"b", b"c"]
    assert await collect(make(body, chunk_size=0)) == [b"abc"]


async def test_json_response_says_the_length_of_its_body():
    _, headers, writer, _ = json_response(200, None, {"name": "Ada"})
    body = b"".join(await collect(writer))
    assert headers == [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]


class CountingWriter:
    """A writer that is an async iterator but not a generator, counting its closes."""

    def __init__(self, *chunks: bytes, closable: bool = True, hang: bool = False) -> None:
        self.chunks = list(chunks)
        self.hang = hang  # once out of chunks, wait for ever instead of ending
        self.closes = 0
        if closable:
            self.aclose = self._aclose

    def __aiter__(self):
        return self

    async def __anext__(self) -> bytes:
        if not self.chunks:
            if self.hang:
                await asyncio.Event().wait()
            raise StopAsyncIteration
        return self.chunks.pop(0)

    async def _aclose(self) -> None:
        self.closes += 1


@pytest.mark.parametrize("method", ["GET", "HEAD"])  # read to its end, or never started
async def test_a_compressed_stream_closes_its_writer_once(method, caplog):
    from bareasgi import Application
    from bareasgi.compression import compression_middleware
    from bareasgi.testing import TestClient

    writers = []

    async def handler(scope, info, matches, content):
        chunks = [bytes([65 + n]) * 100_000 for n in range(4)]  # one compressed chunk each
        writers.append(CountingWriter(*chunks, closable=bool(writers), hang=len(writers) == 2))
        return 200, [(b"content-type", b"text/plain")], writers[-1], None

    app = Application(middlewares=[compression_middleware()])
    app.http_router.add({"GET", "HEAD"}, "/", handler)
    client = TestClient(app)
    for _ in range(2):  # a writer without aclose, then one with it
        response = await client.request(method, "/", headers={"accept-encoding": "gzip"})
        assert response.status == 200
    async with client.stream("GET", "/", headers={"accept-encoding": "gzip"}) as response:
        async for _ in response:
            break  # the client leaves after the first chunk
    assert [writer.closes for writer in writers] == [0, 1, 1]
    assert "Closing the writer" not in caplog.text


class FailingToClose(CountingWriter):
    async def _aclose(self) -> None:
        await super()._aclose()
        raise RuntimeError("close failed")


@pytest.mark.parametrize("method", ["GET", "HEAD"])  # read to its end, or never started
@pytest.mark.parametrize("wrapper", ["compressed", "server-sent events"])
async def test_a_wrapped_writer_failing_to_close_is_logged_once_naming_it(method, wrapper, caplog):
    from bareasgi import Application
    from bareasgi.compression import compression_middleware
    from bareasgi.sse import event_stream_headers, event_writer
    from bareasgi.testing import TestClient

    writer = FailingToClose(b"x" * 1000)

    async def handler(scope, info, matches, content):
        if wrapper == "compressed":
            return 200, [(b"content-type", b"text/plain")], writer, None
        writer.chunks = ["an event"]
        return 200, event_stream_headers(), event_writer(writer, keep_alive=None), None

    app = Application(middlewares=[compression_middleware()])
    app.http_router.add({"GET", "HEAD"}, "/", handler)
    client = TestClient(app)
    with caplog.at_level(logging.ERROR, logger="bareasgi"):
        response = await client.request(method, "/", headers={"accept-encoding": "gzip"})
    assert response.status == 200 and writer.closes == 1
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert [record.getMessage() for record in errors] == [f"Closing the writer {writer!r} failed"]
    assert str(errors[0].exc_info[1]) == "close failed"
