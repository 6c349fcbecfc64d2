"""Compression middleware: gzip or deflate response bodies for clients that accept them.

An opt-in extra: ``import bareasgi`` does not load it. Add it to an application's
middleware:

    from bareasgi import Application
    from bareasgi.compression import compression_middleware

    app = Application(middlewares=[compression_middleware()])

The coding is chosen from the request's ``Accept-Encoding`` and its q-values. A body
held in memory (a ``BodyWriter``, as ``text_writer``, ``bytes_writer``,
``text_response`` and ``json_response`` make) is compressed whole and gets an exact
``content-length``. Any other writer streams: each chunk is compressed and flushed as
it is yielded, so the client still receives it at once, and the response has no
``content-length``. What is left alone, and why, is listed under
``compression_middleware``.
"""

from __future__ import annotations

import asyncio
import functools
import zlib
from collections.abc import AsyncGenerator, AsyncIterator, Collection, Iterable, Sequence

from .headers import add_vary, find_all_headers, find_header, parse_accept
from .streaming import BodyWriter, _ClosingStream, close_writer
from .types import (
    Content,
    Headers,
    HttpChainedCallback,
    HttpFullResponse,
    HttpMiddlewareCallback,
    Info,
    RouteMatches,
    Scope,
)

__all__ = ["EXCLUDED_TYPES", "compression_middleware"]

EXCLUDED_TYPES: frozenset[str] = frozenset(
    {
        # Media formats are compressed already; compressing again costs time and saves nothing.
        "image/*",
        "video/*",
        "audio/*",
        "font/woff",
        "font/woff2",
        "application/zip",
        "application/gzip",
        "application/x-gzip",
        "application/x-bzip2",
        "application/x-xz",
        "application/zstd",
        "application/x-7z-compressed",
        "application/vnd.rar",
        "application/x-rar-compressed",
        "application/octet-stream",
        # An event stream must reach the client event by event. Flushing keeps it moving,
        # but proxies and browsers have been known to buffer compressed event streams.
        "text/event-stream",
    }
)
"""The media types ``compression_middleware`` sends as they are, unless told otherwise.

``type/*`` stands for every subtype, except those with a ``+xml`` or ``+json`` suffix
(such as ``image/svg+xml``), which are text. Build on it to change the list, for
example ``EXCLUDED_TYPES - {"text/event-stream"}`` to compress event streams too.
"""

# zlib's wbits: 16 + MAX_WBITS writes a gzip wrapper (with a zero mtime, so the same body
# always compresses to the same bytes); MAX_WBITS writes the zlib wrapper HTTP calls deflate.
_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
_ALIASES = {"x-gzip": "gzip"}
# Compressing a megabyte takes tens of milliseconds: bodies and chunks this large are
# compressed in a thread, so other requests are not held up meanwhile.
_THREAD_SIZE = 256 * 1024
# Headers that describe the uncompressed body, replaced when the body is compressed.
_REPLACED = frozenset({b"content-length", b"accept-ranges", b"etag"})
_VARY_VALUE = b"Accept-Encoding"
# Accept-Encoding values no longer than this are remembered (see _negotiate).
_CACHED_LENGTH = 200


def compression_middleware(
    *,
    minimum_size: int = 500,
    level: int = 6,
    encodings: Sequence[str] = ("gzip", "deflate"),
    excluded_types: Iterable[str] = EXCLUDED_TYPES,
) -> HttpMiddlewareCallback:
    """Make middleware that compresses response bodies with gzip or deflate.

    The client's ``Accept-Encoding`` decides: the offered coding with the highest
    q-value wins, ties going to the first in ``encodings``; ``*`` stands for any
    coding the header does not name, ``x-gzip`` for ``gzip``, and ``q=0`` refuses a
    coding. A request without the header gets the body as it is. So does one that
    accepts nothing offered, as RFC 9110 advises, even if it refuses ``identity``;
    but a client that refuses ``identity`` and accepts a coding gets even a small
    body compressed.

    A HEAD request gets the headers its GET would get. These responses are sent as
    they are: responses with no writer,
    1xx, 204, 206 and 304, any response with a ``content-range`` or
    ``content-encoding`` header, media types in ``excluded_types``, and bodies under
    ``minimum_size`` bytes (known for a ``BodyWriter`` or from ``content-length``).
    An in-memory body that would not get smaller is sent as it is too.

    A compressed response gets ``content-encoding``; its ``content-length`` is
    recomputed for an in-memory body and removed for a streamed one;
    ``accept-ranges`` is removed (ranges would count bytes of the uncompressed
    body) and a strong ``etag`` becomes weak. Every response whose coding depended
    on ``Accept-Encoding`` gets ``Vary: Accept-Encoding``, merged into any ``vary``
    already there, so that caches keep the variants apart.

    A streamed body is compressed chunk by chunk, each chunk flushed so that it
    reaches the client as soon as the writer yields it; if the client goes away,
    the writer is closed as it would be without compression.

    Args:
        minimum_size: Bodies shorter than this many bytes are not worth compressing.
        level: The zlib compression level, from 1 (fastest) to 9 (smallest).
        encodings: The codings offered, in order of preference: ``"gzip"``,
            ``"deflate"`` or both.
        excluded_types: Media types never compressed: ``type/subtype`` or ``type/*``.

    Raises:
        ValueError: An argument is out of range or names an unknown coding or a
            malformed media type.
    """
    if isinstance(minimum_size, bool) or not isinstance(minimum_size, int) or minimum_size < 0:
        raise ValueError(f"minimum_size must be a whole number of bytes >= 0, not {minimum_size!r}")
    if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 9:
        raise ValueError(f"level must be a whole number from 1 to 9, not {level!r}")
    offered = () if isinstance(encodings, str) or encodings is None else tuple(encodings)
    if not offered:
        raise ValueError(
            f"encodings must be a sequence such as ('gzip', 'deflate'), not {encodings!r}"
        )
    for coding in offered:
        if coding not in _WBITS:
            raise ValueError(
                f"unknown coding {coding!r} in encodings: the standard library offers 'gzip' and "
                "'deflate'"
            )
    if len(set(offered)) != len(offered):
        raise ValueError(f"encodings lists a coding twice: {encodings!r}")
    exact, wildcards = _split_types(excluded_types)

    def compressible(content_type: bytes | None) -> bool:
        # Only the media type counts: its parameters (charset) are not parsed.
        media_type = (content_type or b"").partition(b";")[0].strip().lower()
        kind, _, subtype = media_type.partition(b"/")
        return media_type not in exact and (
            kind not in wildcards or subtype.endswith((b"+xml", b"+json"))
        )

    async def compression(
        scope: Scope,
        info: Info,
        matches: RouteMatches,
        content: Content,
        handler: HttpChainedCallback,
    ) -> HttpFullResponse:
        response = await handler(scope, info, matches, content)
        status, headers, writer, pushes = response
        # HEAD goes through like GET, so it gets the same headers; the framework drops the body.
        if status == 304:
            return not_modified(scope, response)
        if writer is None or status < 200 or status in (204, 206, 304):
            return response
        headers = headers or []
        if (
            find_header(headers, b"content-encoding") is not None
            or find_header(headers, b"content-range") is not None
        ):
            return response
        if not compressible(find_header(headers, b"content-type")):
            return response

        coding, identity_acceptable = _negotiate(_accept_encoding(scope), offered)
        # A client that refuses identity gets even a small body compressed.
        small = minimum_size if identity_acceptable else 0

        if isinstance(writer, BodyWriter):
            size = sum(map(len, writer))
            if size < small:
                return response
            if coding is None:
                return status, add_vary(headers, _VARY_VALUE), writer, pushes
            body = await _compress_body(writer, size, coding, level)
            if len(body) >= size and identity_acceptable:
                return status, add_vary(headers, _VARY_VALUE), writer, pushes
            compressed = _compressed_headers(headers, coding, len(body))
            return status, compressed, BodyWriter((body,)), pushes

        declared = _declared_size(headers)
        if declared is not None and declared < small:
            return response
        if coding is None:
            return status, add_vary(headers, _VARY_VALUE), writer, pushes
        try:
            iterator = aiter(writer)
        except Exception:
            return response  # left for the framework to report as not async iterable
        compressor = zlib.compressobj(level, zlib.DEFLATED, _WBITS[coding])
        stream = _ClosingStream(_compress_stream(iterator, compressor), iterator)
        return status, _compressed_headers(headers, coding, None), stream, pushes

    def not_modified(scope: Scope, response: HttpFullResponse) -> HttpFullResponse:
        """A 304 with the ETag and Vary its 200 would have had (RFC 9110, 15.4.5).

        What the 200 would have been is judged from the content type and length the 304
        carries, if any (``bareasgi.static`` gives both; the framework never sends the
        length of a 304). Without them, a body worth compressing is assumed.
        """
        status, headers, writer, pushes = response
        if (
            not headers
            or find_header(headers, b"content-encoding") is not None
            or not compressible(find_header(headers, b"content-type"))
        ):
            return response
        coding, identity_acceptable = _negotiate(_accept_encoding(scope), offered)
        declared = _declared_size(headers)
        if declared is not None and declared < (minimum_size if identity_acceptable else 0):
            return response
        if coding is None:
            return status, add_vary(headers, _VARY_VALUE), writer, pushes
        etag = find_header(headers, b"etag")
        if etag is not None and not etag.startswith(b"W/"):
            headers = [(name, value) for name, value in headers if name.lower() != b"etag"]
            headers.append((b"etag", b"W/" + etag))
        return status, add_vary(headers, _VARY_VALUE), writer, pushes

    return compression


def _split_types(types: Iterable[str]) -> tuple[frozenset[bytes], frozenset[bytes]]:
    """Separate exact media types from ``type/*`` wildcards, as bytes; check each one's shape."""
    if isinstance(types, (str, bytes)) or types is None:
        raise ValueError(f"excluded_types must be a collection of media types, not {types!r}")
    exact: set[bytes] = set()
    wildcards: set[bytes] = set()
    for item in types:
        if not isinstance(item, str):
            raise ValueError(
                f"excluded_types: {item!r} is not a media type such as 'image/png' or 'image/*'"
            )
        kind, slash, subtype = item.strip().lower().partition("/")
        bad_shape = not (kind and slash and subtype) or "/" in subtype or kind == "*"
        if bad_shape or not item.isascii():
            raise ValueError(
                f"excluded_types: {item!r} is not a media type such as 'image/png' or 'image/*'"
            )
        if subtype == "*":
            wildcards.add(kind.encode("ascii"))
        else:
            exact.add(f"{kind}/{subtype}".encode("ascii"))
    return frozenset(exact), frozenset(wildcards)


def _accept_encoding(scope: Scope) -> bytes | None:
    values = find_all_headers(scope.get("headers") or (), b"accept-encoding")
    if not values:
        return None
    return values[0] if len(values) == 1 else b", ".join(values)


def _negotiate(accept: bytes | None, offered: tuple[str, ...]) -> tuple[str | None, bool]:
    """The best offered coding the client accepts (or None), and whether it accepts identity."""
    if accept is None:
        return None, True
    # Clients send few distinct values, so each is parsed once. Measured in process:
    # parsing a browser's "gzip, deflate, br, zstd" takes about 5.5 us and a cache hit
    # 0.1 us; a small response through this middleware took about 7 us with the cache
    # and 12 us without (4.3 us with no middleware). Only short values are kept, so that
    # odd clients cannot fill the cache with long headers; lru_cache bounds how many.
    if len(accept) <= _CACHED_LENGTH:
        return _negotiate_cached(accept, offered)
    return _parse_and_choose(accept, offered)


def _parse_and_choose(accept: bytes, offered: tuple[str, ...]) -> tuple[str | None, bool]:
    qualities: dict[str, float] = {}
    for name, q in parse_accept(accept):
        # parse_accept lists the best first: a coding named twice keeps its higher q.
        qualities.setdefault(_ALIASES.get(name, name), q)
    star = qualities.get("*")
    best: str | None = None
    best_q = 0.0
    for coding in offered:
        q = qualities.get(coding, star if star is not None else 0.0)
        if q > best_q:  # strictly greater: ties go to the server's order of preference
            best, best_q = coding, q
    identity_q = qualities.get("identity", star if star is not None else 1.0)
    return best, identity_q > 0.0


_negotiate_cached = functools.lru_cache(maxsize=256)(_parse_and_choose)


def _declared_size(headers: Headers) -> int | None:
    value = find_header(headers, b"content-length")
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def _compressed_headers(headers: Headers, coding: str, length: int | None) -> Headers:
    """New headers for the compressed body: coding, length, weak etag and vary."""
    result = [(name, value) for name, value in headers if name.lower() not in _REPLACED]
    result.append((b"content-encoding", coding.encode("ascii")))
    if length is not None:
        result.append((b"content-length", str(length).encode("ascii")))
    etag = find_header(headers, b"etag")
    if etag is not None:
        # A strong etag promises byte-for-byte identity, which the compressed body breaks.
        result.append((b"etag", etag if etag.startswith(b"W/") else b"W/" + etag))
    return add_vary(result, _VARY_VALUE)


def _compress_all(chunks: Collection[bytes], coding: str, level: int) -> bytes:
    compressor = zlib.compressobj(level, zlib.DEFLATED, _WBITS[coding])
    return b"".join([*map(compressor.compress, chunks), compressor.flush()])


async def _compress_body(chunks: BodyWriter, size: int, coding: str, level: int) -> bytes:
    if size >= _THREAD_SIZE:
        return await asyncio.to_thread(_compress_all, chunks, coding, level)
    return _compress_all(chunks, coding, level)


def _compress_chunk(compressor: zlib._Compress, chunk: bytes) -> bytes:
    # A sync flush ends the chunk on a byte boundary, so the client can decode all of it now.
    return compressor.compress(chunk) + compressor.flush(zlib.Z_SYNC_FLUSH)


async def _compress_stream(
    iterator: AsyncIterator[bytes], compressor: zlib._Compress
) -> AsyncGenerator[bytes, None]:
    """Compress each chunk as the writer yields it; closing this closes the writer."""
    try:
        async for chunk in iterator:
            if not chunk:
                continue
            if not isinstance(chunk, (bytes, bytearray, memoryview)):
                # What the framework says of a writer without this middleware; zlib's
                # own message ("a bytes-like object is required") does not say whose.
                raise TypeError(f"the writer yielded {type(chunk).__name__}, expected bytes")
            if len(chunk) >= _THREAD_SIZE:
                yield await asyncio.to_thread(_compress_chunk, compressor, chunk)
            else:
                yield _compress_chunk(compressor, chunk)
        yield compressor.flush()
    finally:
        # Runs when the framework closes this stream (the client went away, or HEAD).
        await close_writer(iterator)
