"""HTML forms: URL-encoded bodies and ``multipart/form-data`` uploads, read within limits.

An opt-in extra: ``import bareasgi`` does not load it. URL-encoded forms need only the
standard library; multipart forms need python-multipart, which the ``forms`` extra
installs (``pip install '/path/to/checkout[forms]'``), imported the first time a
multipart body is read. ::

    from bareasgi.forms import UploadedFile, read_form

    async def handler(scope, info, matches, content):
        form = await read_form(scope, content, max_file_size=2_000_000)
        async with form:  # closes the uploaded files, deleting their temporary copies
            name = form.get("name", "")
            for upload in form.get_all("attachment"):
                if isinstance(upload, UploadedFile) and upload.filename:
                    while chunk := await upload.read(65536):
                        ...  # store it, hash it: a piece at a time

The size limits are checked as the body arrives, so a body over one is never read whole.
Bad input becomes an ``HTTPError`` with a message a person can read:
413 for a body, field, file or count over its limit, 400 for a body that does not parse or
decode, 415 for a content type that is not the form the reader expects.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from itertools import groupby
from operator import itemgetter
from typing import TYPE_CHECKING, Generic, NamedTuple, TypeVar
from urllib.parse import parse_qsl

from .errors import HTTPError
from .headers import find_header, parse_content_type, request_header
from .request import bytes_reader, too_large
from .types import Content, Headers, Scope

if TYPE_CHECKING:
    from python_multipart import MultipartParser
    from python_multipart.multipart import MultipartCallbacks

__all__ = [
    "DEFAULT_MAX_SIZE",
    "FormData",
    "UploadedFile",
    "read_form",
    "read_multipart",
    "read_urlencoded",
]

DEFAULT_MAX_SIZE = 10 * 1024 * 1024
"""The default limit on a whole form body, in bytes (10 MiB)."""

_MIB = 1024 * 1024
_URLENCODED = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data"
# Not `pip install bareasgi[forms]`: the package index's bareasgi is another project.
_INSTALL_HINT = (
    "install bareasgi with its forms extra from the checkout or the wheel, such as "
    "pip install '/path/to/checkout[forms]', or install python-multipart itself"
)

_V = TypeVar("_V", covariant=True)


class UploadedFile:
    """A file from a multipart form, held in a temporary file that spills to disk when large.

    Its content stays in memory up to ``spool_size`` bytes, then moves to a temporary file
    on disk, which the operating system deletes once it is closed. The ``async`` methods
    run the disk work in a thread, so they never block the event loop; ``file`` gives the
    underlying binary file object for code that wants it, at position 0 when handed over.
    `read_form` and `read_multipart` make these; you do not create them yourself.

    Args:
        name: The name of the form field.
        filename: The file name the client sent.
        content_type: The part's media type.
        headers: The part's headers.
        spool_size: Bytes kept in memory before the content moves to disk.

    Attributes:
        name: The name of the form field.
        filename: The file name as the client sent it (``""`` when a browser's file input
            was left empty). Never use it as a path unchecked: it is whatever the client said.
        content_type: The part's media type, lower case and without parameters (which
            ``headers`` keep), or ``application/octet-stream`` if it had none.
        headers: The part's headers, as ``(bytes, bytes)`` pairs with lower-case names.
        size: The size of the content, in bytes.
        file: The ``tempfile.SpooledTemporaryFile`` holding the content.
    """

    __slots__ = ("_spool_size", "content_type", "file", "filename", "headers", "name", "size")

    def __init__(
        self, name: str, filename: str, content_type: str, headers: Headers, spool_size: int
    ) -> None:
        self.name = name
        self.filename = filename
        self.content_type = content_type
        self.headers = headers
        self.size = 0
        # A max_size of 0 would mean "never move to disk"; below 1 it means "at once" here.
        self._spool_size = max(spool_size, 1)
        # Outlives this call by design: FormData.close() (or the reader, on error) closes it.
        self.file: tempfile.SpooledTemporaryFile[bytes] = tempfile.SpooledTemporaryFile(  # noqa: SIM115
            max_size=self._spool_size
        )

    @property
    def in_memory(self) -> bool:
        """True while the content is small enough to be held in memory rather than on disk."""
        # SpooledTemporaryFile moves to disk once a write takes it past its max_size.
        return self.size <= self._spool_size

    async def read(self, size: int = -1) -> bytes:
        """Read up to ``size`` bytes (all that is left if negative); ``b""`` at the end.

        Args:
            size: The most bytes to read; negative for all that is left.
        """
        if self.in_memory:
            return self.file.read(size)
        return await asyncio.to_thread(self.file.read, size)

    async def seek(self, offset: int, whence: int = 0) -> int:
        """Move to ``offset`` as a file's ``seek`` does; ``await upload.seek(0)`` rewinds.

        Args:
            offset: The position, relative to ``whence``.
            whence: ``0`` from the start, ``1`` from the current position,
                ``2`` from the end.

        Returns:
            The new position.
        """
        if self.in_memory:
            return self.file.seek(offset, whence)
        return await asyncio.to_thread(self.file.seek, offset, whence)

    async def close(self) -> None:
        """Close the file, deleting its temporary copy; closing twice does nothing."""
        if self.in_memory:
            self.file.close()
        else:
            await asyncio.to_thread(self.file.close)

    async def _write(self, data: bytes) -> None:
        self.size += len(data)
        if self.in_memory:
            self.file.write(data)
        else:
            await asyncio.to_thread(self.file.write, data)

    def __repr__(self) -> str:
        return f"UploadedFile({self.filename!r}, {self.content_type!r}, {self.size} bytes)"


class FormData(Mapping[str, _V], Generic[_V]):
    """The fields of a form, in the order they came; a name may come more than once.

    As a mapping, ``form[name]`` and ``form.get(name)`` give the first value of ``name``
    and ``len(form)`` counts distinct names; ``get_all`` gives every value of a name.
    Values are ``str`` for fields and ``UploadedFile`` for files.
    ``async with form:`` (or ``await form.close()``) closes every uploaded file.

    Args:
        items: The ``(name, value)`` pairs, in order.
    """

    __slots__ = ("_first", "_items")

    def __init__(self, items: Iterable[tuple[str, _V]] = ()) -> None:
        self._items = list(items)
        self._first: dict[str, _V] = {}
        for name, value in self._items:
            self._first.setdefault(name, value)

    def __getitem__(self, name: str) -> _V:
        return self._first[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._first)

    def __len__(self) -> int:
        return len(self._first)

    def get_all(self, name: str) -> list[_V]:
        """Every value of the field ``name``, in order; ``[]`` if there is none.

        Args:
            name: The field name.
        """
        return [value for key, value in self._items if key == name]

    def multi_items(self) -> list[tuple[str, _V]]:
        """Every ``(name, value)`` pair, repeated names included, in order."""
        return list(self._items)

    def to_dict(self) -> dict[str, list[_V]]:
        """The form as ``{name: [values]}``, the shape ``urllib.parse.parse_qs`` returns."""
        result: dict[str, list[_V]] = {}
        for name, value in self._items:
            result.setdefault(name, []).append(value)
        return result

    async def close(self) -> None:
        """Close every uploaded file of the form."""
        for _, value in self._items:
            if isinstance(value, UploadedFile):
                await value.close()

    async def __aenter__(self) -> FormData[_V]:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"FormData({self._items!r})"


async def read_form(
    scope: Scope,
    content: Content,
    *,
    max_size: int | None = DEFAULT_MAX_SIZE,
    max_fields: int = 1000,
    max_files: int = 100,
    max_field_size: int = _MIB,
    max_file_size: int | None = None,
    spool_size: int = _MIB,
    encoding: str = "utf-8",
) -> FormData[str | UploadedFile]:
    """Read a form of either kind, chosen by the request's content type.

    ``application/x-www-form-urlencoded`` goes to ``read_urlencoded`` (which uses
    ``max_size``, ``max_fields`` and ``encoding``), ``multipart/form-data`` to
    ``read_multipart`` (which uses them all); any other content type is
    ``HTTPError(415)`` before any of the body is read.

    Args:
        scope: The request's scope, for its content type (and content-length).
        content: The handler's ``content`` argument.
        max_size: Bytes in the whole body; None for no limit.
        max_fields: Text fields in the form.
        max_files: Files in a multipart form.
        max_field_size: Bytes in one text field of a multipart form.
        max_file_size: Bytes in one file; None for no limit but ``max_size``.
        spool_size: Bytes of each file kept in memory before it moves to disk.
        encoding: How fields are decoded when the request names no charset.

    Returns:
        The fields, ``str`` values for text and `UploadedFile` values for
        files. Close it (``async with form:``) to delete the files' temporary
        copies.

    Raises:
        HTTPError: 415 for another content type; otherwise as
            `read_urlencoded` or `read_multipart` raise.
        ImportError: the body is multipart and python-multipart is not
            installed.
        ValueError: ``encoding`` is no text encoding, or a limit is not a whole
            number of 0 or more (None where allowed); raised before any of the body
            is read, as the caller's mistake, not the client's.

    Example:
        ```python
        async def upload(scope, info, matches, content):
            async with await read_form(scope, content) as form:
                # The client chooses the fields: check before relying on them.
                photo, title = form.get("photo"), form.get("title", "")
                if not isinstance(photo, UploadedFile):
                    raise HTTPError(400, "Send the photo as a file.")
                return text_response(200, None, f"{title}: {photo.size} bytes")
        ```
    """
    limits = _Limits(max_fields, max_files, max_field_size, max_file_size, spool_size)
    _check_options(max_size, encoding, limits)
    media_type, parameters = parse_content_type(request_header(scope, b"content-type"))
    if media_type == _URLENCODED:
        return await _read_urlencoded(scope, content, parameters, max_size, max_fields, encoding)
    if media_type == _MULTIPART:
        return await _read_multipart(scope, content, parameters, max_size, limits, encoding)
    raise _unsupported(media_type, f"{_URLENCODED} or {_MULTIPART}")


async def read_urlencoded(
    scope: Scope,
    content: Content,
    *,
    max_size: int | None = DEFAULT_MAX_SIZE,
    max_fields: int = 1000,
    encoding: str = "utf-8",
) -> FormData[str]:
    """Read an ``application/x-www-form-urlencoded`` body, as an HTML form posts by default.

    Empty values are kept (``a=&b`` gives ``a`` and ``b`` as ``""``), since a form sends its
    empty inputs that way. A ``charset`` parameter in the content type overrides ``encoding``.

    Args:
        scope: The request's scope, for its content type (and content-length).
        content: The handler's ``content`` argument.
        max_size: Bytes in the whole body; None for no limit.
        max_fields: Fields in the form.
        encoding: How the body is decoded when the content type names no
            charset.

    Returns:
        The fields, all ``str``.

    Raises:
        HTTPError: 415 if the content type is another one or names an unknown charset;
            413 if the body is larger than ``max_size`` bytes (None for no limit) or has
            more than ``max_fields`` fields; 400 if it does not decode as ``encoding``.
        ValueError: ``encoding`` is no text encoding, or a limit is not a whole
            number of 0 or more (None where allowed); raised before any of the body
            is read, as the caller's mistake, not the client's.
    """
    _check_options(max_size, encoding)
    _check_count(max_fields, "max_fields")
    media_type, parameters = parse_content_type(request_header(scope, b"content-type"))
    if media_type != _URLENCODED:
        raise _unsupported(media_type, _URLENCODED)
    return await _read_urlencoded(scope, content, parameters, max_size, max_fields, encoding)


async def read_multipart(
    scope: Scope,
    content: Content,
    *,
    max_size: int | None = DEFAULT_MAX_SIZE,
    max_fields: int = 1000,
    max_files: int = 100,
    max_field_size: int = _MIB,
    max_file_size: int | None = None,
    spool_size: int = _MIB,
    encoding: str = "utf-8",
) -> FormData[str | UploadedFile]:
    """Read a ``multipart/form-data`` body as it arrives, files spooled to temporary files.

    A part with a ``filename`` in its Content-Disposition is a file (an
    ``UploadedFile``), any other part a text field (a ``str``, decoded with the
    part's ``charset``, else ``encoding``). The body is parsed chunk by chunk as the server
    delivers it: no more than ``max_field_size`` bytes of a field and ``spool_size`` bytes
    of a file are ever held in memory. On any error, the files read so far are closed.
    Needs python-multipart, which the ``forms`` extra installs: install bareasgi from
    a checkout as ``pip install '/path/to/checkout[forms]'``, or add
    ``pip install python-multipart``.

    Args:
        scope: The request's scope, for its content type (and content-length).
        content: The handler's ``content`` argument.
        max_size: Bytes in the whole body; None for no limit.
        max_fields: Text fields in the form.
        max_files: Files in the form.
        max_field_size: Bytes in one text field.
        max_file_size: Bytes in one file; None for no limit but ``max_size``.
        spool_size: Bytes of each file kept in memory before it moves to disk.
        encoding: How text fields are decoded when their part names no charset.

    Raises:
        HTTPError: 415 if the content type is another one; 400 if it has no boundary or the
            body is malformed (bad framing, a part without a name, a field that does not
            decode, a body that stops before its closing boundary); 413 if a limit is exceeded.
        ImportError: python-multipart is not installed.
        ValueError: ``encoding`` is no text encoding, or a limit is not a whole
            number of 0 or more (None where allowed); raised before any of the body
            is read, as the caller's mistake, not the client's.
    """
    limits = _Limits(max_fields, max_files, max_field_size, max_file_size, spool_size)
    _check_options(max_size, encoding, limits)
    media_type, parameters = parse_content_type(request_header(scope, b"content-type"))
    if media_type != _MULTIPART:
        raise _unsupported(media_type, _MULTIPART)
    return await _read_multipart(scope, content, parameters, max_size, limits, encoding)


def _check_options(max_size: int | None, encoding: str, limits: _Limits | None = None) -> None:
    """Refuse the caller's own bad options, which would otherwise be answered as the
    client's fault (a 415 for an unknown ``encoding``, a 413 for a negative limit)."""
    try:
        b"a".decode(encoding, errors="ignore")  # as _codec checks a charset
    except (LookupError, ValueError, TypeError):
        raise ValueError(
            f"encoding {encoding!r} is not a text encoding Python knows"
        ) from None
    if max_size is not None and not _is_count(max_size):
        raise ValueError(
            f"max_size must be None or a whole number of bytes, 0 or more, not {max_size!r}"
        )
    if limits is None:
        return
    for name in ("max_fields", "max_files", "max_field_size", "spool_size"):
        _check_count(getattr(limits, name), name)
    if limits.max_file_size is not None and not _is_count(limits.max_file_size):
        raise ValueError(
            "max_file_size must be None or a whole number of bytes, 0 or more, "
            f"not {limits.max_file_size!r}"
        )


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_count(value: object, name: str) -> None:
    if not _is_count(value):
        raise ValueError(f"{name} must be a whole number, 0 or more, not {value!r}")


def _unsupported(media_type: str, expected: str) -> HTTPError:
    if not media_type:
        return HTTPError(415, f"Expected a form: send content-type: {expected}.")
    return HTTPError(415, f"Expected a form ({expected}), not {media_type}.")


def _check_declared_length(scope: Scope, max_size: int | None) -> None:
    """Refuse a body whose content-length is already over the limit, without reading it."""
    if max_size is None:
        return
    declared = request_header(scope, b"content-length")
    if declared is None or not declared.isdigit():
        return
    # int() refuses more than 4300 digits: a length with more digits than the limit is
    # over it without being converted.
    digits = declared.lstrip(b"0")
    if len(digits) > len(str(max_size)) or int(digits or b"0") > max_size:
        raise too_large(max_size)


def _codec(charset: str) -> str:
    """``charset`` if it names a text encoding, else ``HTTPError(415)``."""
    try:
        # Also a LookupError for codecs that exist but do not make text, such as base64.
        # Not b"": decoding nothing succeeds without looking the codec up. A ValueError
        # (a UnicodeError) for names with a NUL, and codecs such as idna that cannot
        # decode with the error handling asked for.
        b"a".decode(charset, errors="ignore")
    except (LookupError, ValueError):
        raise HTTPError(415, f"The charset {charset[:40]!r} is not supported.") from None
    return charset


async def _read_urlencoded(
    scope: Scope,
    content: Content,
    parameters: dict[str, str],
    max_size: int | None,
    max_fields: int,
    encoding: str,
) -> FormData[str]:
    encoding = _codec(parameters.get("charset", encoding))
    _check_declared_length(scope, max_size)
    body = await bytes_reader(content, max_size)
    try:
        pairs = parse_qsl(
            body.decode(encoding),
            keep_blank_values=True,
            encoding=encoding,
            errors="strict",
            max_num_fields=max_fields,
        )
    except UnicodeError as error:  # not only UnicodeDecodeError: punycode raises its parent
        raise HTTPError(400, f"The form is not valid {encoding} text.") from error
    except ValueError as error:  # the only other ValueError: too many fields
        raise HTTPError(413, f"The form has more than {max_fields} fields.") from error
    return FormData(pairs)


class _Limits(NamedTuple):
    max_fields: int
    max_files: int
    max_field_size: int
    max_file_size: int | None
    spool_size: int


def _multipart_parser() -> type[MultipartParser]:
    try:
        from python_multipart import MultipartParser
    except ImportError as error:
        raise ImportError(
            "Reading multipart/form-data needs the python-multipart package, 0.0.20 or "
            f"later: {_INSTALL_HINT}"
        ) from error
    return MultipartParser


async def _read_multipart(
    scope: Scope,
    content: Content,
    parameters: dict[str, str],
    max_size: int | None,
    limits: _Limits,
    encoding: str,
) -> FormData[str | UploadedFile]:
    parser_class = _multipart_parser()
    from python_multipart.exceptions import FormParserError

    boundary = parameters.get("boundary")
    if not boundary:
        raise HTTPError(400, "The multipart/form-data content type has no boundary.")
    _check_declared_length(scope, max_size)
    reader = _MultipartReader(limits, encoding)
    try:
        parser = parser_class(boundary.encode("latin-1"), reader.callbacks())
    except FormParserError as error:  # a boundary longer than the parser allows
        raise HTTPError(400, "The multipart boundary is not valid.") from error
    try:
        received = 0
        async for chunk in content:
            received += len(chunk)
            if max_size is not None and received > max_size:
                raise too_large(max_size)
            try:
                parser.write(chunk)
            except FormParserError as error:
                # The parser's own message describes bytes, not what a person sent.
                message = "The request body is not valid multipart/form-data."
                raise HTTPError(400, message) from error
            await reader.write_files()
        if not reader.ended:
            raise HTTPError(400, "The multipart body ended before its closing boundary.")
        for upload in reader.files:
            await upload.seek(0)
    except BaseException:
        for upload in reader.files:
            # Synchronous: closing an unlinked temporary file only releases it, and this
            # must also work while the task is being cancelled.
            upload.file.close()
        raise
    return FormData(reader.items)


class _MultipartReader:
    """The callbacks python-multipart calls as it parses, and the form they build.

    The parser is synchronous; file data is queued in ``pending`` during a write and
    written by ``write_files`` afterwards, off the event loop once a file is on disk.
    """

    def __init__(self, limits: _Limits, encoding: str) -> None:
        self.limits = limits
        self.encoding = encoding
        self.items: list[tuple[str, str | UploadedFile]] = []
        self.files: list[UploadedFile] = []
        self.pending: list[tuple[UploadedFile, bytes]] = []
        self.fields = 0
        self.ended = False
        self._headers: Headers = []
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._name = ""
        self._charset = encoding
        self._field: bytearray | None = None
        self._file: UploadedFile | None = None
        self._file_size = 0

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self.on_part_begin,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_end": self.on_end,
        }

    def on_part_begin(self) -> None:
        self._headers = []

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        name = bytes(self._header_name).strip().lower()
        self._headers.append((name, bytes(self._header_value).strip()))
        self._header_name.clear()
        self._header_value.clear()

    def on_headers_finished(self) -> None:
        from python_multipart.multipart import parse_options_header

        # Not bareasgi.headers.parse_content_type: a quoted filename may hold a ";".
        disposition, options = parse_options_header(
            find_header(self._headers, b"content-disposition")
        )
        raw_name = options.get(b"name")
        if disposition != b"form-data" or raw_name is None:
            raise HTTPError(400, "A part of the multipart body has no form-data name.")
        # Browsers send names and file names as UTF-8, which the parser handed over as latin-1.
        self._name = name = raw_name.decode(self.encoding, errors="replace")
        media_type, parameters = parse_content_type(find_header(self._headers, b"content-type"))
        limits = self.limits
        if b"filename" in options:
            if len(self.files) >= limits.max_files:
                raise HTTPError(413, f"The form has more than {limits.max_files} files.")
            filename = options[b"filename"].decode(self.encoding, errors="replace")
            kind = media_type or "application/octet-stream"
            self._file = UploadedFile(name, filename, kind, self._headers, limits.spool_size)
            self._file_size = 0
            self.files.append(self._file)
            self.items.append((name, self._file))
        else:
            self.fields += 1
            if self.fields > limits.max_fields:
                raise HTTPError(413, f"The form has more than {limits.max_fields} fields.")
            self._charset = parameters.get("charset", self.encoding)
            self._field = bytearray()

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        limits = self.limits
        if self._field is not None:
            if len(self._field) + end - start > limits.max_field_size:
                raise HTTPError(
                    413,
                    f"The field {self._name[:100]!r} is larger than {limits.max_field_size} bytes.",
                )
            self._field += data[start:end]
        elif self._file is not None:
            self._file_size += end - start
            if limits.max_file_size is not None and self._file_size > limits.max_file_size:
                raise HTTPError(
                    413,
                    f"The file {self._file.filename[:100]!r} is larger than "
                    f"{limits.max_file_size} bytes.",
                )
            self.pending.append((self._file, data[start:end]))

    def on_part_end(self) -> None:
        if self._field is not None:
            try:
                value = self._field.decode(_codec(self._charset))
            except UnicodeError as error:
                raise HTTPError(
                    400, f"The field {self._name[:100]!r} is not valid {self._charset} text."
                ) from error
            self.items.append((self._name, value))
        self._field = None
        self._file = None

    def on_end(self) -> None:
        self.ended = True

    async def write_files(self) -> None:
        """Write the file data queued during the last parser write, one write per file."""
        pending, self.pending = self.pending, []
        for upload, pieces in groupby(pending, key=itemgetter(0)):
            await upload._write(b"".join(data for _, data in pieces))
