"""The server-sent events extra: the event format, the writer, its headers, Last-Event-ID."""

import asyncio
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bareasgi import Application
from bareasgi.sse import (
    KEEP_ALIVE,
    ServerSentEvent,
    event_response,
    event_stream_headers,
    event_writer,
    format_comment,
    format_event,
    last_event_id,
)
from bareasgi.testing import TestClient
from tests.fuzzing import property_settings

# format_event ----------------------------------------------------------------------------------


def test_an_event_is_its_data_line_and_a_blank_line():
    assert format_event("hello") == b"data: hello\n\n"


def test_every_line_of_data_gets_its_own_data_field_whatever_the_line_ending():
    assert format_event("one\ntwo\r\nthree\rfour") == (
        b"data: one\ndata: two\ndata: three\ndata: four\n\n"
    )


def test_a_trailing_line_break_is_kept_as_an_empty_data_line():
    # The browser joins the data lines with \n, so "a\n" comes back as "a\n".
    assert format_event("a\n") == b"data: a\ndata: \n\n"
    assert format_event("") == b"data: \n\n"


def test_fields_come_in_order_event_id_retry_data():
    assert format_event("x", event="tick", id=7, retry=3000) == (
        b"event: tick\nid: 7\nretry: 3000\ndata: x\n\n"
    )


def test_an_event_without_data_sends_only_its_other_fields():
    assert format_event(id="42") == b"id: 42\n\n"
    assert format_event(retry=0) == b"retry: 0\n\n"


def test_data_is_encoded_as_utf8():
    assert format_event("grüße ☃") == "data: grüße ☃\n\n".encode()


@pytest.mark.parametrize("value", ["a\nb", "a\rb", "\r\n"])
def test_an_event_type_with_a_line_break_is_refused(value):
    with pytest.raises(ValueError, match="event type cannot contain CR or LF"):
        format_event("x", event=value)


@pytest.mark.parametrize("value", ["1\n2", "1\r", "1\0"])
def test_an_id_with_a_line_break_or_nul_is_refused(value):
    with pytest.raises(ValueError, match="event id cannot contain CR, LF or NUL"):
        format_event("x", id=value)


@pytest.mark.parametrize("value", [-1, 1.5, True, "100"])
def test_retry_must_be_a_whole_number_of_zero_or_more(value):
    with pytest.raises(ValueError, match="retry must be a whole number"):
        format_event("x", retry=value)


def test_a_server_sent_event_is_checked_when_made_and_encodes_as_format_event_does():
    with pytest.raises(ValueError, match="event id"):
        ServerSentEvent("x", id="a\nb")
    event = ServerSentEvent("one\ntwo", event="e", id=1, retry=5)
    assert event.encode() == format_event("one\ntwo", event="e", id=1, retry=5)


def test_a_comment_prefixes_each_line_with_a_colon():
    assert format_comment("keep-alive") == b": keep-alive\n\n"
    assert format_comment("a\nb") == b": a\n: b\n\n"
    assert format_comment() == b": \n\n"
    assert format_comment("keep-alive") == KEEP_ALIVE


# event_writer ----------------------------------------------------------------------------------


class Source:
    """An async generator of events that records how it ended and in which tasks it ran."""

    def __init__(self, items, delay=0.0, forever=False):
        self.items = items
        self.delay = delay
        self.forever = forever
        self.closed = False
        self.tasks = set()

    async def events(self):
        try:
            for item in self.items:
                self.tasks.add(asyncio.current_task())
                await asyncio.sleep(self.delay)
                yield item
            while self.forever:
                await asyncio.sleep(3600)
        finally:
            self.closed = True


async def collect(writer):
    return [chunk async for chunk in writer]


@pytest.mark.parametrize("keep_alive", [None, 0, 10.0])
async def test_the_writer_formats_strings_and_events_then_closes_its_source(keep_alive):
    source = Source(["plain", ServerSentEvent("x", event="e", id=2)])
    chunks = await collect(event_writer(source.events(), keep_alive=keep_alive))
    assert chunks == [b"data: plain\n\n", b"event: e\nid: 2\ndata: x\n\n"]
    assert source.closed


async def test_without_keep_alive_the_source_runs_in_the_callers_task():
    source = Source(["a", "b"])
    await collect(event_writer(source.events(), keep_alive=None))
    assert source.tasks == {asyncio.current_task()}


async def test_a_keep_alive_comment_is_sent_while_no_event_comes():
    source = Source(["late"], delay=0.2)
    chunks = await collect(event_writer(source.events(), keep_alive=0.02))
    assert chunks[-1] == b"data: late\n\n"
    assert len(chunks) >= 3
    assert set(chunks[:-1]) == {KEEP_ALIVE}


async def test_no_keep_alive_is_sent_while_events_come_often_enough():
    source = Source(["a", "b", "c"], delay=0.001)
    chunks = await collect(event_writer(source.events(), keep_alive=5.0))
    assert chunks == [b"data: a\n\n", b"data: b\n\n", b"data: c\n\n"]


@pytest.mark.parametrize("keep_alive", [None, 0.01])
async def test_closing_the_writer_while_it_waits_closes_the_source(keep_alive):
    source = Source(["first"], forever=True)
    writer = event_writer(source.events(), keep_alive=keep_alive)
    assert await anext(writer) == b"data: first\n\n"
    if keep_alive:
        assert await anext(writer) == KEEP_ALIVE  # a task is now inside the source
    await writer.aclose()
    assert source.closed


async def test_cancelling_the_writer_while_it_waits_closes_the_source():
    # What bareasgi does when the client disconnects: it cancels the request's task.
    source = Source([], forever=True)
    writer = event_writer(source.events(), keep_alive=30.0)
    task = asyncio.ensure_future(anext(writer))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert source.closed


async def test_an_error_in_the_source_comes_out_of_the_writer():
    async def failing():
        yield "ok"
        raise RuntimeError("boom")

    writer = event_writer(failing(), keep_alive=1.0)
    assert await anext(writer) == b"data: ok\n\n"
    with pytest.raises(RuntimeError, match="boom"):
        await anext(writer)


async def test_a_source_without_aclose_is_read_to_its_end():
    class Plain:
        def __init__(self):
            self.left = ["a", "b"]

        def __aiter__(self):
            return self

        async def __anext__(self):
            if not self.left:
                raise StopAsyncIteration
            return self.left.pop(0)

    for keep_alive in (None, 1.0):
        assert await collect(event_writer(Plain(), keep_alive=keep_alive)) == [
            b"data: a\n\n",
            b"data: b\n\n",
        ]


# headers and responses -------------------------------------------------------------------------


def test_event_stream_headers_say_what_a_stream_needs():
    assert event_stream_headers() == [
        (b"content-type", b"text/event-stream; charset=utf-8"),
        (b"cache-control", b"no-cache"),
        (b"x-accel-buffering", b"no"),
    ]


def test_given_headers_are_added_and_replace_defaults_of_the_same_name():
    headers = event_stream_headers([(b"Cache-Control", b"no-store"), (b"x-extra", b"1")])
    assert headers == [
        (b"content-type", b"text/event-stream; charset=utf-8"),
        (b"x-accel-buffering", b"no"),
        (b"Cache-Control", b"no-store"),
        (b"x-extra", b"1"),
    ]


def test_the_default_headers_are_not_shared_between_responses():
    event_stream_headers().append((b"x", b"y"))
    assert len(event_stream_headers()) == 3


def make_app(source, keep_alive=None):
    app = Application()

    @app.on_http_request({"GET"}, "/events")
    async def events(scope, info, matches, content):
        info["last_id"] = last_event_id(scope)
        return event_response(source.events(), keep_alive=keep_alive)

    return app


async def test_a_finite_stream_is_sent_one_message_per_event():
    source = Source(["a", ServerSentEvent("b", id=1)])
    response = await TestClient(make_app(source)).get("/events")
    assert response.status == 200
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"
    bodies = [m["body"] for m in response.messages if m["type"] == "http.response.body"]
    assert bodies == [b"data: a\n\n", b"id: 1\ndata: b\n\n", b""]


@pytest.mark.parametrize("keep_alive", [None, 30.0])
async def test_a_client_that_disconnects_closes_the_events_source(keep_alive):
    source = Source(["one", "two"], forever=True)
    async with TestClient(make_app(source, keep_alive)).stream("GET", "/events") as response:
        chunks = []
        async for chunk in response:
            chunks.append(chunk)
            if len(chunks) == 2:
                break
    assert chunks == [b"data: one\n\n", b"data: two\n\n"]
    assert source.closed


async def test_keep_alive_comments_reach_the_client():
    source = Source(["late"], delay=0.2)
    response = await TestClient(make_app(source, keep_alive=0.02)).get("/events")
    assert response.body.startswith(KEEP_ALIVE)
    assert response.body.endswith(b"data: late\n\n")


async def test_last_event_id_is_what_a_reconnecting_browser_sent():
    app = make_app(Source([]))
    async with TestClient(app) as client:
        await client.get("/events")
        assert app.info["last_id"] is None
        await client.get("/events", headers={"Last-Event-ID": "41"})
        assert app.info["last_id"] == "41"
        await client.get("/events", headers=[(b"last-event-id", "ünï".encode())])
        assert app.info["last_id"] == "ünï"
        await client.get("/events", headers=[(b"last-event-id", b"\xff1")])
        assert app.info["last_id"] == "\ufffd1"


def test_importing_bareasgi_does_not_load_the_extra():
    code = "import sys, bareasgi; print('bareasgi.sse' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False"


class Subscription:
    """An event source holding something from the start, released only by ``aclose``."""

    def __init__(self):
        self.closed = False

    def __aiter__(self):
        return self

    async def __anext__(self):
        await asyncio.sleep(3600)
        raise StopAsyncIteration

    async def aclose(self):
        self.closed = True


@pytest.mark.parametrize("keep_alive", [None, 10.0])
async def test_a_writer_closed_before_its_first_event_closes_its_source(keep_alive):
    source = Subscription()
    await event_writer(source, keep_alive=keep_alive).aclose()
    assert source.closed


async def test_a_head_request_closes_the_source_of_an_event_stream():
    source = Subscription()
    app = Application()

    @app.on_http_request({"GET"}, "/events")
    async def events(scope, info, matches, content):
        return 200, event_stream_headers(), event_writer(source)

    response = await TestClient(app).head("/events")
    assert response.status == 200
    assert source.closed


class FailsWhenCancelled:
    """An event source whose clean-up, run when its wait is cancelled, raises."""

    def __init__(self):
        self.waiting = asyncio.Event()

    def __aiter__(self):
        return self

    async def __anext__(self):
        self.waiting.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            raise RuntimeError("unsubscribe failed") from None
        raise StopAsyncIteration


async def test_a_source_failing_while_the_writer_closes_is_logged_once(caplog):
    source = FailsWhenCancelled()
    writer = event_writer(source, keep_alive=30.0)
    task = asyncio.ensure_future(anext(writer))
    await source.waiting.wait()  # the helper task is now inside the source
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    records = [r for r in caplog.records if r.name == "bareasgi"]
    assert len(records) == 1
    assert records[0].levelname == "ERROR"
    assert "event source" in records[0].getMessage()
    assert "failed while closing" in records[0].getMessage()
    assert records[0].exc_info is not None
    assert str(records[0].exc_info[1]) == "unsubscribe failed"


@pytest.mark.parametrize("keep_alive", [-1, -0.5, float("nan"), "15", True])
def test_a_keep_alive_that_is_not_seconds_of_0_or_more_is_refused_when_the_writer_is_made(
    keep_alive,
):
    # A negative one made the writer send keep-alive comments in a busy loop, without end.
    async def events():
        yield "never read"

    for make in (event_writer, event_response):
        source = events()
        with pytest.raises(ValueError, match="keep_alive must be a number of seconds, 0 or more"):
            make(source, keep_alive=keep_alive)


@pytest.mark.parametrize("keep_alive", [None, 0, 0.0, 1, 2.5, float("inf")])
def test_a_keep_alive_of_none_or_seconds_of_0_or_more_is_accepted(keep_alive):
    async def events():
        yield "x"

    assert event_response(events(), keep_alive=keep_alive)[0] == 200


@given(
    values=st.lists(
        st.binary(max_size=40) | st.sampled_from([b"1" * 5000, b"-1", b"\xff\xfe", b"1e9"]),
        min_size=1,
        max_size=2,
    )
)
@property_settings(60)
def test_any_last_event_id_is_handed_over_as_text_and_the_stream_still_answers(values):
    source = Source(["a"])
    app = make_app(source)
    headers = [(b"last-event-id", value) for value in values]
    response = asyncio.run(TestClient(app).get("/events", headers=headers))
    assert response.status == 200
    assert response.body == b"data: a\n\n"
    # Sent twice, the values are joined as one list, as for any repeated header.
    assert app.info["last_id"] == b", ".join(values).decode("utf-8", errors="replace")
    assert source.closed


def test_the_documented_check_of_last_event_id_keeps_garbage_from_int():
    # The module's example: only a short decimal number is trusted. isdecimal() alone is
    # not enough: int() raises ValueError for more than 4300 digits.
    def start(last):
        return int(last) + 1 if last and last.isdecimal() and len(last) < 10 else 1

    assert start("41") == 42
    assert start("٣") == 4  # a decimal digit, if not an ASCII one: int() reads it
    for garbage in (None, "", "-1", "1e9", "1" * 5000, "\ufffd1", " 1", "1 "):
        assert start(garbage) == 1
    with pytest.raises(ValueError, match="4300"):
        int("1" * 5000)
    assert "len(value)" in last_event_id.__doc__


@pytest.mark.parametrize("data", [42, b"bytes", ["a", "list"]])
def test_data_that_is_not_text_is_refused_when_the_event_is_made(data):
    # The class checks its fields when made; data was left to fail in the stream.
    with pytest.raises(TypeError, match=f"data must be a str or None, not {type(data).__name__}"):
        ServerSentEvent(data)
    with pytest.raises(TypeError, match="data must be a str or None"):
        format_event(data)


@pytest.mark.parametrize("keep_alive", [None, 1.0])
async def test_a_source_yielding_something_else_than_events_or_text_says_what_it_yielded(
    keep_alive,
):
    async def events():
        yield "fine"
        yield {"not": "an event"}

    writer = event_writer(events(), keep_alive=keep_alive)
    assert await anext(writer) == b"data: fine\n\n"
    with pytest.raises(TypeError, match="the event source yielded dict, expected"):
        await anext(writer)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"id": b"1"}, "id must be a str or an int, not bytes"),
        ({"id": 1.5}, "id must be a str or an int, not float"),
        ({"id": True}, "id must be a str or an int, not bool"),
        ({"event": b"x"}, "event must be a str or None, not bytes"),
        ({"event": 5}, "event must be a str or None, not int"),
    ],
)
def test_an_id_or_event_type_of_another_type_is_refused_not_sent_as_its_repr(fields, message):
    # id=b"1" was sent as "id: b'1'", which the browser would send back as it is.
    with pytest.raises(TypeError, match=message):
        format_event("x", **fields)
    with pytest.raises(TypeError, match=message):
        ServerSentEvent("x", **fields)
