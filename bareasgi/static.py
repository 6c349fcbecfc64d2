"""Static files: serve the files of a directory, with validators, ranges and streaming.

An opt-in extra: ``import bareasgi`` does not load it. ``static_files`` makes the
handler for a catch-all route; ``file_response`` answers with one file from any
handler:

    from bareasgi.static import static_files

    app.http_router.add({"GET", "HEAD"}, "/static/{path:path}", static_files("public"))

The rules (``file_response`` follows all but the first two, as it is given its file):

- **Lookup.** A request path is looked up only inside the directory. A ``.`` or ``..``
  segment, an empty segment (so an absolute path), a backslash, a NUL byte, an encoded
  slash (``%2F`` in ``raw_path``), or a symbolic link that resolves outside the directory
  is a 404, the same as a missing file. Links that stay inside are followed.
- **Directories.** ``dir/`` is answered with its index file; ``dir`` is redirected (308,
  with a relative ``location``, so it works under any root path) to ``dir/`` when that
  index exists. A directory without one is a 404: nothing is ever listed.
- **Headers.** ``content-type`` comes from ``mimetypes`` (``charset=utf-8`` for text,
  JavaScript and JSON; ``application/octet-stream`` when unknown; a compressed
  ``.gz`` file is ``application/gzip``, never the type of what it unpacks to), with
  ``content-length``, ``accept-ranges: bytes``, a strong ``etag`` made from the size and
  modification time, and ``last-modified``.
- **Conditional requests.** ``if-none-match`` (or, without it, ``if-modified-since``)
  that matches is a 304 carrying the validators, with the content type and length
  the 200 would have, so that middleware (compression) can tell what the 200 would
  carry; the framework never sends the length of a 304. ``if-match`` (or, without it,
  ``if-unmodified-since``) that fails is a 412. Dates that do not parse are ignored.
- **Ranges.** One byte range in a GET is a 206 with ``content-range``; a range starting
  past the end is a 416 with ``content-range: bytes */SIZE``. Several ranges, a range
  that does not parse, a stale ``if-range``, or an empty file get the whole file (200).
- **HEAD** gets the response a GET would (ranges aside), whose body the framework drops,
  so that middleware sees the same response for both. Other methods get a 405.
- **Reading** happens in worker threads, never on the event loop. A body of at most
  ``chunk_size`` bytes is read at once; a larger one is streamed by a
  ``FileWriter``, which closes the file at the end or when the client goes away.
"""

from __future__ import annotations

import asyncio
import mimetypes
import os
import re
import stat
import threading
from email.utils import formatdate, mktime_tz, parsedate_tz
from typing import BinaryIO, NamedTuple

from .headers import request_header
from .http import header_problem
from .streaming import BodyWriter, redirect_with_slash, text_response
from .types import (
    Content,
    Headers,
    HttpFullResponse,
    HttpRequestCallback,
    Info,
    RouteMatches,
    Scope,
)

__all__ = ["CHUNK_SIZE", "FileWriter", "file_response", "static_files"]

CHUNK_SIZE = 64 * 1024
"""The default number of bytes read and sent at a time."""

_PATHSEND = "http.response.pathsend"
_TEXT_TYPES = ("application/javascript", "application/json")
# A compressed file is served as what it is, not as what it decompresses to: serving
# foo.css.gz as text/css without a content-encoding would hand the browser garbage.
_ENCODED_TYPES = {"gzip": "application/gzip", "bzip2": "application/x-bzip2"}
_ETAG = re.compile(rb'(W/)?("[^"]*")')
# The headers every file response sets from the file itself.
_OWN_HEADERS = frozenset(
    {
        b"content-type",
        b"content-length",
        b"content-range",
        b"accept-ranges",
        b"etag",
        b"last-modified",
    }
)


class FileWriter:
    """A writer that sends ``length`` bytes of an open file, ``chunk_size`` bytes at a time.

    Each chunk is read in a worker thread, so a slow disk never blocks the event loop.
    The file is closed once the last byte is read, or by ``aclose``, which the
    framework calls when the client disconnects or the request is a HEAD. A writer
    is iterated once.

    Args:
        file: A binary file, positioned at the first byte to send.
        length: How many bytes to send; a file that turns out shorter (it changed while
            being sent) makes the writer raise ``OSError``, which ends the response.
        chunk_size: The most bytes read and sent at a time.
        pathsend: The absolute path of the file when the whole of it is sent, else None:
            a server offering the ASGI ``http.response.pathsend`` extension can send the
            file itself.
    """

    __slots__ = ("_file", "_lock", "_remaining", "chunk_size", "pathsend")

    def __init__(
        self,
        file: BinaryIO,
        length: int,
        chunk_size: int = CHUNK_SIZE,
        pathsend: str | None = None,
    ) -> None:
        self._file = file
        self._remaining = length
        self._lock = threading.Lock()  # a read in a thread and a close never overlap
        self.chunk_size = chunk_size
        self.pathsend = pathsend

    @property
    def closed(self) -> bool:
        """True once the file is closed."""
        return self._file.closed

    def __aiter__(self) -> FileWriter:
        return self

    async def __anext__(self) -> bytes:
        if self._remaining <= 0 or self._file.closed:
            await self.aclose()
            raise StopAsyncIteration
        size = min(self.chunk_size, self._remaining)
        chunk = await asyncio.get_running_loop().run_in_executor(None, self._read, size)
        if chunk is None:
            # aclose ran while the read waited for a thread: the writer was stopped on
            # purpose, so it ends like any closed writer, not as a file that changed.
            raise StopAsyncIteration
        if len(chunk) < size:
            await self.aclose()
            raise OSError(
                f"{getattr(self._file, 'name', 'the file')} ended {self._remaining - len(chunk)} "
                "bytes early: it changed while it was being sent"
            )
        self._remaining -= size
        if not self._remaining:
            await self.aclose()
        return chunk

    def _read(self, size: int) -> bytes | None:
        """``size`` bytes (fewer if the file ends first), or None if it was closed."""
        with self._lock:
            if self._file.closed:  # closed while this read waited for a thread
                return None
            return _read_exactly(self._file, size)

    async def aclose(self) -> None:
        """Close the file; it is safe to call more than once."""
        if self._file.closed:
            return
        if self._lock.acquire(blocking=False):
            try:
                self._file.close()
            finally:
                self._lock.release()
        else:
            # A cancelled read may still run in its thread: closing under it could let
            # the descriptor be reused and read from, so close once the read is done.
            await asyncio.get_running_loop().run_in_executor(None, self._close_after_read)

    def _close_after_read(self) -> None:
        with self._lock:
            self._file.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"{self._remaining} bytes to go"
        return f"<FileWriter {getattr(self._file, 'name', '?')!r}, {state}>"


def static_files(
    directory: str | os.PathLike[str],
    *,
    index: str | None = "index.html",
    headers: Headers | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> HttpRequestCallback:
    """Make a handler serving the files under ``directory`` for a ``{path:path}`` route.

    Register it for GET and HEAD on a template whose last segment is ``{path:path}``:
    ``app.http_router.add({"GET", "HEAD"}, "/static/{path:path}", static_files("public"))``
    serves ``public/css/site.css`` at ``/static/css/site.css``. The rules are in the
    module's description above.

    Args:
        directory: The directory to serve. It is resolved (symbolic links included) now,
            relative to the current directory; nothing outside it is ever served.
        index: The file answering a request for a directory, or None to answer 404.
        headers: Headers added to every 200, 206 and 304 file response, such as
            ``[(b"cache-control", b"public, max-age=3600")]``.
        chunk_size: The most bytes read and sent at a time.

    Raises:
        ValueError: ``directory`` does not exist or is not a directory, ``index`` is not
            a plain file name, ``chunk_size`` is not positive, a header is not a
            pair of bytes, its name not an HTTP token or its value holds CR, LF or
            NUL, or it is one each file response sets itself (``content-type``, ...).
    """
    # fsdecode: a bytes path would meet the str segments of the URL in os.path.join.
    root = os.path.realpath(os.fsdecode(directory))
    if not os.path.isdir(root):
        problem = "is not a directory" if os.path.exists(root) else "does not exist"
        raise ValueError(f"static_files: {os.fspath(directory)!r} {problem}")
    if index is not None and (
        not isinstance(index, str)
        or not index
        or index in (".", "..")
        or any(c in index for c in "/\\\0")
    ):
        raise ValueError(f"static_files: the index {index!r} must be a plain file name")
    _check_chunk_size(chunk_size)
    extra = _checked_headers(headers)

    def locate(parts: list[str], scope: Scope) -> _Found | HttpFullResponse:
        """The file a request asks for, or the response to give instead."""
        full = os.path.realpath(os.path.join(root, *parts))
        if not _within(full, root):
            return _not_found()
        info = os.stat(full)
        if not stat.S_ISDIR(info.st_mode):
            # "file.txt/" names no file: only a directory may end with a slash.
            return _Found(full, parts[-1]) if parts[-1] else _not_found()
        if index is None:
            return _not_found()
        target = os.path.realpath(os.path.join(full, index))
        if not _within(target, root) or not os.path.isfile(target):
            return _not_found()
        if parts[-1]:
            return redirect_with_slash(parts[-1], scope)
        return _Found(target, index)

    def serve(parts: list[str], scope: Scope, pathsend: bool) -> HttpFullResponse:
        try:
            found = locate(parts, scope)
        except (OSError, ValueError):
            return _not_found()
        if not isinstance(found, _Found):
            return found
        return _respond(scope, found.path, _content_type(found.name), extra, chunk_size, pathsend)

    async def serve_static_files(
        scope: Scope, info: Info, matches: RouteMatches, content: Content
    ) -> HttpFullResponse:
        if scope["method"] not in ("GET", "HEAD"):
            return _method_not_allowed()
        relative = matches.get("path")
        if not isinstance(relative, str):
            raise LookupError(
                "static_files: the route has no {path:path} variable; register the handler "
                "at a template ending in /{path:path}, such as /static/{path:path}"
            )
        parts = _safe_parts(relative, scope.get("raw_path"))
        if parts is None:
            return _not_found()
        pathsend = _PATHSEND in (scope.get("extensions") or ())
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, serve, parts, scope, pathsend)

    return serve_static_files


async def file_response(
    scope: Scope,
    path: str | os.PathLike[str],
    *,
    content_type: str | None = None,
    headers: Headers | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> HttpFullResponse:
    """Answer a GET or HEAD request with the file at ``path``, following the module's rules.

    For a file a handler picks itself, such as a download: the path is used as given,
    with no check that it stays in some directory. A missing file, or one that is not a
    regular file, is a 404.

    Args:
        scope: The request's scope, for the method and the conditional and range headers.
        path: The file to send.
        content_type: The content type; by default guessed from the file name.
        headers: Headers added to the 200, 206 and 304 responses, such as a
            ``content-disposition``.
        chunk_size: The most bytes read and sent at a time.

    Raises:
        ValueError: ``chunk_size`` is not positive, or a header is not a pair of
            bytes, its name not an HTTP token or its value holds CR, LF or NUL, or
            it is one each file response sets itself (``content-type``, ...).
    """
    _check_chunk_size(chunk_size)
    extra = _checked_headers(headers)
    full = os.path.abspath(os.fsdecode(path))
    kind = content_type.encode("latin-1") if content_type else _content_type(full)
    pathsend = _PATHSEND in (scope.get("extensions") or ())
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(
        None, _respond, scope, full, kind, extra, chunk_size, pathsend
    )


def _within(path: str, root: str) -> bool:
    """True if the resolved ``path`` is ``root`` or inside it.

    Whole path components only: ``/srv/public-x/f`` starts with ``/srv/public`` but is
    not inside it, so the prefix tested ends with a separator.
    """
    if path == root:
        return True
    return path.startswith(root if root.endswith(os.sep) else root + os.sep)


class _Found(NamedTuple):
    path: str  # resolved, inside the directory
    name: str  # the name the content type is guessed from: the one in the URL


def _safe_parts(relative: str, raw_path: bytes | None) -> list[str] | None:
    """The segments of a requested path, or None if it could leave the directory."""
    if "\0" in relative or "\\" in relative:
        return None
    # Servers decode %2F into "/", which would make one segment look like two.
    if raw_path and b"%" in raw_path and b"%2f" in raw_path.lower():
        return None
    parts = relative.split("/")
    last = len(parts) - 1
    for number, part in enumerate(parts):
        if part in (".", "..") or (not part and number != last):
            return None
    return parts


def _respond(
    scope: Scope,
    full: str,
    content_type: bytes,
    extra: Headers,
    chunk_size: int,
    pathsend: bool,
) -> HttpFullResponse:
    """Open the file and answer the request; runs in a worker thread."""
    try:
        file = open(full, "rb", buffering=0, opener=_open_without_blocking)  # noqa: SIM115
    except (OSError, ValueError):
        return _not_found()
    keep_open = False
    try:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            return _not_found()
        size = info.st_size
        mtime = int(info.st_mtime)
        validators = [
            (b"etag", b'"%x-%x"' % (info.st_mtime_ns, size)),
            (b"last-modified", formatdate(mtime, usegmt=True).encode("ascii")),
            *extra,
        ]
        etag = validators[0][1]
        failed = _failed_condition(scope, etag, mtime)
        if failed == 304:
            length = (b"content-length", b"%d" % size)
            return 304, [(b"content-type", content_type), length, *validators], None, None
        if failed == 412:
            return text_response(412, None, "The file does not match the request's conditions.")
        start, stop = 0, size
        headers = [(b"content-type", content_type), (b"accept-ranges", b"bytes")]
        byte_range = _requested_range(scope, size, etag, mtime)
        if byte_range is _UNSATISFIABLE:
            headers = [(b"content-range", b"bytes */%d" % size)]
            return text_response(
                416, headers, f"The range is not satisfiable: the file has {size} bytes."
            )
        status = 200
        if byte_range is not None:
            start, stop = byte_range
            status = 206
            headers.append((b"content-range", b"bytes %d-%d/%d" % (start, stop - 1, size)))
        headers += [(b"content-length", b"%d" % (stop - start)), *validators]
        if start:
            file.seek(start)
        whole = status == 200
        if stop - start <= chunk_size and not (pathsend and whole):
            data = _read_exactly(file, stop - start)
            if len(data) != stop - start:
                raise OSError(f"{full} changed while it was being read")
            return status, headers, BodyWriter((data,)), None
        writer = FileWriter(file, stop - start, chunk_size, full if whole else None)
        keep_open = True
        return status, headers, writer, None
    finally:
        if not keep_open:
            file.close()


def _open_without_blocking(path: str, flags: int) -> int:
    # If the file is swapped for a FIFO after it was looked up, opening it must not wait
    # for a writer; fstat then sees that it is no regular file.
    return os.open(path, flags | getattr(os, "O_NONBLOCK", 0))


def _read_exactly(file: BinaryIO, size: int) -> bytes:
    """Read ``size`` bytes, or fewer only if the file ends first."""
    data = file.read(size)
    if len(data) == size or not data:
        return data
    parts = [data]
    size -= len(data)
    while size > 0:
        data = file.read(size)
        if not data:
            break
        parts.append(data)
        size -= len(data)
    return b"".join(parts)


def _failed_condition(scope: Scope, etag: bytes, mtime: int) -> int | None:
    """304 or 412 when a conditional header says so, else None (RFC 9110, 13.2.2)."""
    if_match = request_header(scope, b"if-match")
    if if_match is not None:
        if not _etag_matches(if_match, etag, weak=False):
            return 412
    else:
        since = _http_date(request_header(scope, b"if-unmodified-since"))
        if since is not None and mtime > since:
            return 412
    if_none_match = request_header(scope, b"if-none-match")
    if if_none_match is not None:
        return 304 if _etag_matches(if_none_match, etag, weak=True) else None
    since = _http_date(request_header(scope, b"if-modified-since"))
    if since is not None and mtime <= since:
        return 304
    return None


def _etag_matches(value: bytes, etag: bytes, *, weak: bool) -> bool:
    if value.strip() == b"*":
        return True
    return any(
        tag == etag and (weak or not weak_prefix) for weak_prefix, tag in _ETAG.findall(value)
    )


def _http_date(value: bytes | None) -> int | None:
    if value is None:
        return None
    parsed = parsedate_tz(value.decode("latin-1"))
    if parsed is None:
        return None
    try:
        return mktime_tz(parsed)
    except (OverflowError, ValueError):
        return None


_UNSATISFIABLE = (-1, -1)


def _requested_range(scope: Scope, size: int, etag: bytes, mtime: int) -> tuple[int, int] | None:
    """The ``(start, stop)`` of the one byte range to send, None for all, or _UNSATISFIABLE."""
    if scope["method"] != "GET" or not size:
        return None
    value = request_header(scope, b"range")
    if value is None:
        return None
    if_range = request_header(scope, b"if-range")
    if if_range is not None:
        # The range applies only to the representation the client already has part of.
        if if_range.startswith((b'"', b"W/")):
            if if_range.strip() != etag:
                return None
        elif _http_date(if_range) != mtime:
            return None
    unit, equals, ranges = value.partition(b"=")
    if not equals or unit.strip().lower() != b"bytes":
        return None
    specs = [spec.strip() for spec in ranges.split(b",") if spec.strip()]
    if len(specs) != 1:
        return None  # several ranges are answered with the whole file
    first, dash, last = specs[0].partition(b"-")
    if not dash or not (first or last) or not _digits(first or b"0") or not _digits(last or b"0"):
        return None
    if not first:
        suffix = _number(last)
        return (max(size - suffix, 0), size) if suffix else _UNSATISFIABLE
    start = _number(first)
    if last and _number(last) < start:
        return None
    if start >= size:
        return _UNSATISFIABLE
    return start, min(_number(last) + 1, size) if last else size


def _digits(text: bytes) -> bool:
    return text.isdigit()  # ASCII digits only, for bytes


def _number(digits: bytes) -> int:
    # Beyond any file size; also keeps int() from the slow path of a huge string.
    return int(digits) if len(digits) <= 18 else 10**18


# Not cached: guess_type takes 2 to 3 us, about 1% of serving a small file in process
# (about 200 us), which interleaved runs could not tell apart from noise.
def _content_type(name: str) -> bytes:
    kind, encoding = mimetypes.guess_type(name, strict=False)
    if encoding is not None:
        kind = _ENCODED_TYPES.get(encoding, "application/octet-stream")
    elif kind is None:
        kind = "application/octet-stream"
    elif kind.startswith("text/") or kind in _TEXT_TYPES:
        kind += "; charset=utf-8"
    return kind.encode("latin-1")


def _not_found() -> HttpFullResponse:
    return text_response(404, None, "Not Found")


def _method_not_allowed() -> HttpFullResponse:
    return text_response(405, [(b"allow", b"GET, HEAD")], "Method Not Allowed")


def _check_chunk_size(chunk_size: int) -> None:
    if not isinstance(chunk_size, int) or chunk_size <= 0:
        raise ValueError(f"chunk_size must be a positive number of bytes, not {chunk_size!r}")


def _checked_headers(headers: Headers | None) -> Headers:
    checked = list(headers or ())
    # The framework's own check, so that what passes here never fails as a 500 on every
    # request: pairs of bytes, names HTTP tokens, values free of CR, LF and NUL.
    problem = header_problem(checked)
    if problem is not None:
        raise ValueError(f"headers: {problem}")
    for name, _ in checked:
        if name.lower() in _OWN_HEADERS:
            # Sent as well as the file's own, it would make two, perhaps different.
            raise ValueError(
                f"headers: {name!r} describes the file, so it is set for each response; "
                "give content_type to file_response to choose the type"
            )
    return checked
