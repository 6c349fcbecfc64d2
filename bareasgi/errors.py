"""Exceptions a handler raises to answer with an error, and the one the framework raises."""

from __future__ import annotations

from http import HTTPStatus

from .streaming import bytes_writer
from .types import Headers, HttpFullResponse


class HTTPError(Exception):
    """Raised anywhere in a handler or middleware to answer with this response instead.

    Args:
        status: The HTTP status code.
        body: The response body. A ``str`` is sent as UTF-8 ``text/plain`` unless
            ``headers`` give a content type; ``None`` sends the status phrase
            (for example ``Not Found``), except for statuses that have no body.
        headers: Extra response headers, as ``(bytes, bytes)`` pairs. A
            ``content-length`` given here is sent as it is, and none is added.

    Attributes:
        status: The HTTP status code.
        body: The body as given.
        headers: The headers as given.

    Raises:
        ValueError: ``status`` is not an int from 200 to 599 (a final response's status).

    Example:
        ```python
        async def get_book(scope, info, matches, content):
            if matches["id"] not in BOOKS:
                raise HTTPError(404, f"There is no book {matches['id']}.")
            return text_response(200, None, BOOKS[matches["id"]])
        ```
    """

    def __init__(
        self,
        status: int,
        body: str | bytes | None = None,
        headers: Headers | None = None,
    ) -> None:
        if isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599:
            raise ValueError(f"HTTPError status must be an int from 200 to 599, not {status!r}")
        self.status = status
        self.body = body
        self.headers = headers
        super().__init__(status, body)

    def __str__(self) -> str:
        body = self.body if self.body is not None else _phrase(self.status)
        return f"{self.status} {body.decode(errors='replace') if isinstance(body, bytes) else body}"

    def to_response(self) -> HttpFullResponse:
        """Build the full response tuple this error stands for."""
        headers = list(self.headers or ())
        if self.status in (204, 304):
            return self.status, headers, None, None
        body = self.body if self.body is not None else _phrase(self.status)
        data = body.encode() if isinstance(body, str) else body
        names = {name.lower() for name, _ in headers}
        if b"content-type" not in names:
            is_text = isinstance(body, str)
            kind = b"text/plain; charset=utf-8" if is_text else b"application/octet-stream"
            headers.append((b"content-type", kind))
        if b"content-length" not in names:
            headers.append((b"content-length", str(len(data)).encode()))
        return self.status, headers, bytes_writer(data), None


class ClientDisconnect(Exception):
    """Raised while reading the request body when the client has gone away.

    The framework catches it: nothing is sent and nothing is logged as an error.
    """


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"
