"""Exceptions a handler raises to answer with an error, and the one the framework raises."""

from __future__ import annotations

from http import HTTPStatus

from .streaming import bytes_response, text_response
from .types import Headers, HttpFullResponse


class HTTPError(Exception):
    """Raised anywhere in a handler or middleware to answer with this response instead.

    The arguments are kept as the attributes of the same names.

    Args:
        status: The HTTP status code.
        body: The response body. A ``str`` is sent as UTF-8 ``text/plain`` unless
            ``headers`` give a content type; ``bytes`` as
            ``application/octet-stream`` unless they do. ``None`` sends the
            status phrase (for example ``Not Found``), except for statuses that
            have no body.
        headers: Extra response headers, as ``(bytes, bytes)`` pairs. The
            ``content-length`` is always the body's own, as `text_response` and
            `bytes_response` make it.

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
        if self.status in (204, 304):
            return self.status, list(self.headers or ()), None, None
        body = self.body if self.body is not None else _phrase(self.status)
        if isinstance(body, str):
            return text_response(self.status, self.headers, body)
        return bytes_response(self.status, self.headers, body)


class ClientDisconnect(Exception):
    """Raised while reading the request body when the client has gone away.

    The framework catches it: nothing is sent and nothing is logged as an error.
    """


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"
