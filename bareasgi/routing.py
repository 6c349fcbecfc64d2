"""Path templates and the HTTP and WebSocket routers.

A template is split into segments. Templates without variables go into a dict
keyed by path, so most lookups cost one dict access. The others go into a tree
of segments: each level is a dict of literal segments plus a short list of
variable segments, so the cost of a lookup depends on the depth of the path,
not on the number of routes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any, Generic, TypeVar

from .http import check_async
from .streaming import fixed_response, text_response
from .types import HttpRequestCallback, RouteMatches
from .websocket import WebSocketRequestCallback

Handler = TypeVar("Handler")
Converter = Callable[[str], Any]

_METHOD = re.compile(r"[A-Z][A-Z-]*\Z")
_FLOAT = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?\Z")


def _to_str(segment: str) -> str:
    if not segment:
        raise ValueError("empty segment")
    return segment


def _to_int(segment: str) -> int:
    # int() alone would take "+1", " 1", "1_000" and non-ASCII digits.
    if (segment.isdigit() or (segment[:1] == "-" and segment[1:].isdigit())) and segment.isascii():
        return int(segment)
    raise ValueError(f"not an integer: {segment!r}")


def _to_float(segment: str) -> float:
    value = float(segment) if _FLOAT.match(segment) else math.nan
    if not math.isfinite(value):  # "1e999" overflows to inf: not a number a route can use
        raise ValueError(f"not a finite number: {segment!r}")
    return value


def _datetime_converter(fmt: str | None) -> Converter:
    if fmt is None:
        return datetime.fromisoformat

    def to_datetime(segment: str) -> datetime:
        return datetime.strptime(segment, fmt)

    return to_datetime


# Written with a datetime format and read back, to check the format at registration;
# aware, so that %z and %Z write something.
_SAMPLE_TIME = datetime(2001, 2, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
_CONVERTERS: dict[str, Converter] = {"str": _to_str, "int": _to_int, "float": _to_float}
_STRICTNESS = {"int": 0, "float": 1, "datetime": 2, "str": 3}


class Variable:
    """One ``{name:type}`` segment of a path template."""

    __slots__ = ("converter", "format", "name", "type")

    def __init__(self, name: str, type_: str, fmt: str | None, converter: Converter) -> None:
        self.name = name
        self.type = type_
        self.format = fmt
        self.converter = converter


class PathTemplate:
    """A parsed path template such as ``/items/{id:int}/{rest:path}``.

    Segments are literal text or whole-segment variables: ``{name}`` and
    ``{name:str}`` match one non-empty segment; ``{name:int}``, ``{name:float}``
    and ``{name:datetime}`` (ISO 8601) or ``{name:datetime:FORMAT}`` (a strptime
    format, which may contain ``:``) match one segment that converts to that type;
    ``{name:path}``, or a last segment written ``{path}``, matches the rest of the
    path, slashes included, possibly empty.

    Routers build these from the path given to ``add``; you need one yourself
    only to inspect a template.

    Args:
        text: The template, starting with ``/``.

    Attributes:
        text: The template as given.
        segments: The segments before any catch-all: literal strings and
            variables.
        catch_all: The name of the ``path`` variable that takes the rest of
            the path, or None.
        variables: The names of the template's variables, in the order they appear.

    Raises:
        TypeError: ``text`` is not a ``str``.
        ValueError: the template is malformed; the message names it.
    """

    __slots__ = ("catch_all", "segments", "text", "variables")

    def __init__(self, text: str) -> None:
        if not isinstance(text, str):
            raise TypeError(f"route path {text!r}: the path must be a str")
        if not text.startswith("/"):
            raise ValueError(f"route path {text!r}: the path must start with '/'")
        self.text = text
        self.segments: list[str | Variable] = []
        self.catch_all: str | None = None
        names: dict[str, None] = {}  # a dict keeps the order the variables appear in
        parts = text[1:].split("/")
        for index, part in enumerate(parts):
            if "{" not in part and "}" not in part:
                self.segments.append(part)
                continue
            if not (part.startswith("{") and part.endswith("}")) or part.count("{") != 1:
                raise ValueError(
                    f"route path {text!r}: segment {part!r} must be literal text or one whole "
                    "{name} or {name:type} variable (a datetime format may not contain '/')"
                )
            name, _, spec = part[1:-1].partition(":")
            type_, _, fmt = spec.partition(":")
            if not name.isidentifier():
                raise ValueError(f"route path {text!r}: {name!r} is not a valid variable name")
            if name in names:
                raise ValueError(f"route path {text!r}: the variable {name!r} is repeated")
            names[name] = None
            is_last = index == len(parts) - 1
            if type_ == "path" or (not spec and name == "path" and is_last):
                if fmt:
                    raise ValueError(f"route path {text!r}: a path variable takes no format")
                if not is_last:
                    raise ValueError(
                        f"route path {text!r}: the path variable {name!r} must be the last segment"
                    )
                self.catch_all = name
                continue
            self.segments.append(self._variable(name, type_ or "str", fmt or None))
        self.variables = tuple(names)

    def _variable(self, name: str, type_: str, fmt: str | None) -> Variable:
        if type_ == "datetime":
            if fmt is not None:
                # A format strptime refuses ("%s", a stray "%") fails every segment: the
                # route would never match, and every request for it be a quiet 404.
                try:
                    datetime.strptime(_SAMPLE_TIME.strftime(fmt), fmt)
                except ValueError as error:
                    raise ValueError(
                        f"route path {self.text!r}: strptime cannot read the format {fmt!r} "
                        f"of {name!r}: {error}"
                    ) from None
            return Variable(name, type_, fmt, _datetime_converter(fmt))
        if type_ not in _CONVERTERS:
            raise ValueError(
                f"route path {self.text!r}: unknown type {type_!r} for {name!r} "
                "(use str, int, float, datetime or path)"
            )
        if fmt is not None:
            raise ValueError(f"route path {self.text!r}: the type {type_!r} takes no format")
        return Variable(name, type_, fmt, _CONVERTERS[type_])

    @property
    def is_static(self) -> bool:
        """True when the template has no variables, so it matches one path exactly."""
        return self.catch_all is None and all(isinstance(s, str) for s in self.segments)

    def __repr__(self) -> str:
        return f"PathTemplate({self.text!r})"


class _Node(Generic[Handler]):
    """One level of the segment tree: literal children, variable children, a catch-all."""

    __slots__ = ("catch_all", "handlers", "literals", "variables")

    def __init__(self) -> None:
        self.literals: dict[str, _Node[Handler]] = {}
        # Strictest type first, so that registration order cannot hide a route: "42"
        # goes to {id:int} even if {name} was registered before it.
        self.variables: list[tuple[Variable, _Node[Handler]]] = []
        self.handlers: dict[str, Handler] = {}  # by method, for templates ending here
        self.catch_all: tuple[str, dict[str, Handler]] | None = None

    def table(self, template: PathTemplate) -> dict[str, Handler]:
        """The handlers of ``template`` by method, creating the nodes on the way to it."""
        node = self
        for segment in template.segments:
            if isinstance(segment, str):
                node = node.literals.setdefault(segment, _Node())
                continue
            same = (segment.name, segment.type, segment.format)
            child = next((c for v, c in node.variables if (v.name, v.type, v.format) == same), None)
            if child is None:
                child = _Node()
                node.variables.append((segment, child))
                node.variables.sort(key=lambda pair: _STRICTNESS[pair[0].type])
            node = child
        if template.catch_all is None:
            return node.handlers
        if node.catch_all is None:
            node.catch_all = (template.catch_all, {})
        elif node.catch_all[0] != template.catch_all:
            raise ValueError(
                f"route path {template.text!r}: conflicts with a catch-all named "
                f"{node.catch_all[0]!r} at the same place"
            )
        return node.catch_all[1]

    def match(
        self, segments: list[str], index: int, method: str, allowed: list[str]
    ) -> tuple[Handler, RouteMatches] | None:
        """The first route for ``method`` matching ``segments[index:]``, with its variables.

        Candidates are tried in priority order, backing up from a dead end: at each
        level the literal segment, then the variables, then the catch-all. When no
        route has ``method``, ``allowed`` has gained the methods of every template
        that matches: those a 405 lists. One walk finds both.
        """
        if index == len(segments):
            handler = self.handlers.get(method)
            if handler is not None:
                return handler, {}
            allowed.extend(self.handlers)
            return None
        segment = segments[index]
        child = self.literals.get(segment) if self.literals else None
        if child is not None:
            found = child.match(segments, index + 1, method, allowed)
            if found is not None:
                return found
        for variable, child in self.variables:
            try:
                value = variable.converter(segment)
            except ValueError:
                continue
            found = child.match(segments, index + 1, method, allowed)
            if found is not None:
                found[1][variable.name] = value
                return found
        if self.catch_all is not None:
            name, handlers = self.catch_all
            handler = handlers.get(method)
            if handler is not None:
                return handler, {name: "/".join(segments[index:])}
            allowed.extend(handlers)
        return None


class _Router(Generic[Handler]):
    """The tables shared by both routers: a dict for static paths, a tree for the rest."""

    def __init__(self) -> None:
        self._static: dict[str, dict[str, Handler]] = {}
        self._tree: _Node[Handler] = _Node()
        # Kept only to list the routes (for tools and tests); resolving never reads it.
        self._routes: list[tuple[frozenset[str], str, Handler]] = []
        self._head_from_get: set[int] = set()  # ids of the tables whose HEAD is their GET

    def _add(self, methods: Iterable[str], template: PathTemplate, handler: Handler) -> None:
        if template.is_static:
            table = self._static.setdefault(template.text, {})
        else:
            table = self._tree.table(template)
        for method in methods:
            if method in table and not (method == "HEAD" and id(table) in self._head_from_get):
                raise ValueError(f"route {method} {template.text}: already registered")
        for method in methods:
            table[method] = handler
        if "HEAD" in methods:
            self._head_from_get.discard(id(table))
        elif "GET" in methods and "HEAD" not in table:
            # A GET route answers HEAD too, as GET would (the framework sends no body),
            # until the template gets a HEAD route of its own: one walk finds either.
            table["HEAD"] = handler
            self._head_from_get.add(id(table))
        self._routes.append((frozenset(methods), template.text, handler))


class HttpRouter(_Router[HttpRequestCallback]):
    """Routes HTTP requests by method and path template.

    A GET route answers HEAD too (the framework sends no body for HEAD), unless
    the same template has a HEAD route of its own. A path some route matches,
    but not with this method, resolves to a 405 handler with an ``allow``
    header; any other path resolves to the not-found handler.

    Args:
        not_found: The handler for paths no route matches; by default a 404 with
            the text body ``Not Found``.

    Attributes:
        not_found: The handler for paths no route matches; assign to change it.
    """

    def __init__(self, not_found: HttpRequestCallback | None = None) -> None:
        super().__init__()
        self.not_found: HttpRequestCallback = not_found or _not_found
        self._not_allowed: dict[frozenset[str], HttpRequestCallback] = {}

    def add(self, methods: Iterable[str], path: str, handler: HttpRequestCallback) -> None:
        """Register ``handler`` for ``methods`` at ``path``.

        Args:
            methods: The methods the route answers, upper-case strings such as
                ``{"GET", "POST"}``. A GET route answers HEAD as well.
            path: The path template, such as ``"/items/{id:int}"``; see
                `PathTemplate`.
            handler: ``async def handler(scope, info, matches, content)``.

        Raises:
            TypeError: ``methods`` is not a collection of strings, or ``handler``
                is not an async function.
            ValueError: a method is not upper case, the path is malformed, or the
                route is already registered.
        """
        template = PathTemplate(path)
        # Taken once into a list: a generator would be used up by the checks below.
        one_string = isinstance(methods, (str, bytes))
        names = list(methods) if isinstance(methods, Iterable) and not one_string else None
        if names is None or not all(isinstance(m, str) for m in names):
            raise TypeError(f"route {path}: methods must be a set of strings such as {{'GET'}}")
        if not names:
            raise ValueError(f"route {path}: no methods given")
        for method in names:
            if not _METHOD.match(method):
                raise ValueError(f"route {path}: method {method!r} must be an upper-case name")
        check_async(handler, f"route {sorted(names)} {path}: the handler")
        self._add(set(names), template, handler)

    def routes(self) -> list[tuple[frozenset[str], str, HttpRequestCallback]]:
        """Every route as ``(methods, path template, handler)``, in the order added.

        A route registered for several methods at once is one entry. HEAD is
        listed only where it was registered, though every GET route answers it too.
        """
        return list(self._routes)

    def resolve(self, method: str, path: str) -> tuple[HttpRequestCallback, RouteMatches]:
        """Find the handler for a request; the application calls this for you.

        Args:
            method: The request method, such as ``"GET"``.
            path: The path to route on.

        Returns:
            The handler and the converted path variables. When no route fits,
            the handler is the 405 or the not-found handler, with no
            variables: it never fails.
        """
        table = self._static.get(path)
        if table is not None and method in table:
            return table[method], {}  # most requests: one dictionary lookup, no walk
        allowed = list(table) if table else []
        found = self._tree.match(path.split("/"), 1, method, allowed)
        if found is not None:
            return found
        if not allowed:
            return self.not_found, {}
        return self._method_not_allowed(frozenset(allowed)), {}

    def _method_not_allowed(self, methods: frozenset[str]) -> HttpRequestCallback:
        handler = self._not_allowed.get(methods)
        if handler is None:
            allow = ", ".join(sorted(methods)).encode("ascii")
            handler = fixed_response(*text_response(405, [(b"allow", allow)], "Method Not Allowed"))
            self._not_allowed[methods] = handler
        return handler


_not_found = fixed_response(*text_response(404, None, "Not Found"))


class WebSocketRouter(_Router[WebSocketRequestCallback]):
    """Routes WebSocket connections by path template.

    Templates are those of HTTP routes (see `PathTemplate`), without methods. A
    connection to a path no route matches is rejected with a 403 before any
    handler runs.

    Example:
        ```python
        async def echo(scope, info, matches, web_socket):
            await web_socket.accept()
            async for message in web_socket:
                await web_socket.send(message)

        app.ws_router.add("/echo", echo)
        ```
    """

    def add(self, path: str, handler: WebSocketRequestCallback) -> None:
        """Register ``handler`` for WebSocket connections to ``path``.

        Args:
            path: The path template, such as ``"/rooms/{room}"``.
            handler: ``async def handler(scope, info, matches, web_socket)``.

        Raises:
            TypeError: ``handler`` is not an async function.
            ValueError: the path is malformed or already registered.
        """
        template = PathTemplate(path)
        check_async(handler, f"route websocket {path}: the handler")
        self._add(("WEBSOCKET",), template, handler)

    def routes(self) -> list[tuple[str, WebSocketRequestCallback]]:
        """Every route as ``(path template, handler)``, in the order added."""
        return [(path, handler) for _, path, handler in self._routes]

    def resolve(self, path: str) -> tuple[WebSocketRequestCallback, RouteMatches] | None:
        """Find the handler for a connection; the application calls this for you.

        Args:
            path: The path to route on.

        Returns:
            The handler and the converted path variables, or None when no
            route matches.
        """
        table = self._static.get(path)  # its tables hold one method, WEBSOCKET
        if table is not None:
            return table["WEBSOCKET"], {}
        return self._tree.match(path.split("/"), 1, "WEBSOCKET", [])

