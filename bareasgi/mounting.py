"""Mounting: the path an application routes on, and requests passed to a mounted application.

An application served under a prefix, whether by a server's ``root_path`` or by
``Application.mount``, routes on the path less that prefix. The prefix counts only as
whole segments: ``/api`` covers ``/api`` and ``/api/x``, never ``/apix``.
"""

from __future__ import annotations

from .streaming import redirect_with_slash
from .types import ASGIApp, Receive, Scope, Send

__all__ = ["forward_to_mount", "path_under", "route_path"]


def route_path(scope: Scope) -> str:
    """The path to route on: ``scope['path']`` less the ``root_path`` it starts with.

    ASGI servers give the whole path, with any ``root_path`` the application is
    served under at its start; older ones leave it out.

    Args:
        scope: An HTTP or WebSocket scope.

    Returns:
        The path within the application, ``"/"`` for the root path itself.

    Example:
        ```python
        scope = {"path": "/api/users", "root_path": "/api"}
        assert route_path(scope) == "/users"
        ```
    """
    path: str = scope["path"]
    rest = path_under(path, scope.get("root_path") or "")
    if rest is None:
        return path
    return rest or "/"


def path_under(path: str, prefix: str) -> str | None:
    """``path`` less ``prefix`` if the path is under it, else None.

    Args:
        path: A request path.
        prefix: Whole segments, such as ``/api``; a trailing ``/`` is ignored.

    Returns:
        What follows the prefix: ``/x`` for ``/api/x``, ``""`` for ``/api``, and
        None for ``/apix``, where the prefix ends inside a segment.
    """
    prefix = prefix.rstrip("/")
    if not path.startswith(prefix):
        return None
    rest = path[len(prefix) :]
    if rest and rest[0] != "/":
        return None  # the prefix ends inside a segment
    return rest


async def forward_to_mount(
    mounts: list[tuple[str, ASGIApp]], path: str, scope: Scope, receive: Receive, send: Send
) -> bool:
    """Pass a request to the application mounted at the longest prefix of ``path``.

    The application calls this for you, as `Application.mount` describes: the
    prefix is added to the scope's ``root_path``; an HTTP request for the prefix
    itself is redirected (308) to it with a trailing slash. A path the server gave
    without its ``root_path`` gets it in front, so the mounted application finds its own.

    Args:
        mounts: ``(prefix, app)`` pairs, longest prefix first.
        path: The path to route on (see `route_path`).
        scope: The request's scope.
        receive: The request's ASGI ``receive``.
        send: The request's ASGI ``send``.

    Returns:
        True if a mounted application (or the redirect) answered; False if no
        prefix covers ``path``.
    """
    for prefix, app in mounts:
        rest = path_under(path, prefix)
        if rest is None:
            continue
        if not rest and scope["type"] == "http":
            status, headers, _, _ = redirect_with_slash(prefix.rsplit("/", 1)[1], scope)
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return True
        root_path = (scope.get("root_path") or "").rstrip("/")
        inner = {**scope, "root_path": root_path + prefix}
        if root_path and path_under(scope["path"], root_path) is None:
            # The server left the root path out of the path (hypercorn does): the mounted
            # application, which routes on the path less its root path, gets it put in.
            inner["path"] = root_path + scope["path"]
        await app(inner, receive, send)
        return True
    return False
