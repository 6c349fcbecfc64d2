"""MkDocs hooks: tutorial line numbers computed from the example files themselves.

Tutorials never write a line number by hand. They name a piece of text that
occurs on exactly one line of the example, and the number is computed at build
time, so prose cannot drift from the code it explains:

- ``{{ lines("examples/simple/app.py", "async def hello") }}`` becomes ``line 8``;
- ``{{ lines("examples/simple/app.py", "async def hello", "text_writer(") }}``
  becomes ``lines 8-9``;
- ``{{ hl("examples/simple/app.py", "async def hello", "text_writer(") }}`` becomes
  ``8 9``, for a code block's ``hl_lines``;
- ``{{ try_it("simple") }}`` becomes the "Try it live" button, a link to the
  example running under ``/try/simple/`` when the gallery server (``make run``)
  serves the site, and for an example with a page of its own a second button to
  its request console at ``/console/simple/``;
- ``{{ logged("examples.errors.app", "GET", "/crash") }}`` becomes what the
  ``bareasgi`` logger prints for that request, made by running the example at
  build time, so a pasted traceback can never go stale.

- ``{{ lines("examples/rest/app.py", "async def update_info", ...) }}``, with ``...``
  for the end, covers the whole function, class or statement that starts on the
  start line, however many lines it takes.

A start anchor that is missing, or found on more than one line, fails the build.
An end anchor names the first line, from the start line on, that contains it.
tests/test_docs.py checks that a range starting a function or a statement covers all
of it.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

ROOT = Path(__file__).resolve().parents[1]


def _import_from_checkout() -> None:
    """Put the checkout on sys.path, for the gallery and the examples it imports.

    `mkdocs`, a console script, does not; it adds this file's folder only while
    loading it, so the examples imported later need this again.
    """
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


_import_from_checkout()
from gallery.console import load_example, serves_own_page  # noqa: E402

MACRO = re.compile(r"\{\{\s*(lines|hl|try_it|logged)\((.*?)\)\s*\}\}")


def find_line(path: str, anchor: str) -> int:
    """The 1-based number of the one line of ``path`` that contains ``anchor``."""
    source = (ROOT / path).read_text(encoding="utf-8").splitlines()
    numbers = [number for number, line in enumerate(source, 1) if anchor in line]
    if len(numbers) != 1:
        found = "nowhere" if not numbers else f"on lines {numbers}"
        raise PluginError(f"{path}: the anchor {anchor!r} must be on one line, found {found}")
    return numbers[0]


def block_end(path: str, first: int) -> int:
    """The last line of the function, class or statement of ``path`` that starts on ``first``."""
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    ends = [
        node.end_lineno or node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.stmt)
        and min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))]) == first
    ]
    if not ends:
        raise PluginError(f"{path}: no statement starts on line {first}")
    return max(ends)


def line_range(path: str, start: str, end: Any = None) -> tuple[int, int]:
    """The first and last line numbers of the range from ``start`` to ``end``.

    ``end`` is looked for from the start line on; its first occurrence ends the range.
    ``...`` ends it where the statement starting on the start line ends.
    """
    first = find_line(path, start)
    if end is None:
        return first, first
    if end is Ellipsis:
        return first, block_end(path, first)
    source = (ROOT / path).read_text(encoding="utf-8").splitlines()
    for number in range(first, len(source) + 1):
        if end in source[number - 1]:
            return first, number
    raise PluginError(f"{path}: the anchor {end!r} is nowhere after {start!r}")


def logged(module: str, method: str, path: str) -> str:
    """What the ``bareasgi`` logger prints for one request to the app of ``module``.

    The app runs in process; the record is formatted as Python's last-resort handler
    prints it when nothing configured logging (the message, then the traceback), with
    the repository's folder shown as ``...``.
    """
    # Imported here: only pages that use the macro need the framework loaded.
    import asyncio
    import importlib
    import logging
    import sys

    from bareasgi.testing import TestClient

    # mkdocs runs from its own script folder: the examples import from the checkout.
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    app = importlib.import_module(module).app
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("bareasgi")
    logger.addHandler(handler)
    propagate, logger.propagate = logger.propagate, False
    try:
        asyncio.run(TestClient(app).request(method, path))
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
    if not records:
        raise PluginError(f"{method} {path} on {module} logged nothing")
    text = "\n".join(logging.Formatter().format(record) for record in records)
    return text.replace(str(ROOT), "...")


def try_it(example: str) -> str:
    """The "Try it live" buttons of ``example``, in one paragraph of their own."""
    live = (
        f'<a class="md-button md-button--primary" href="/try/{example}/">Try it live</a>'
    )
    console = ""
    _import_from_checkout()
    if serves_own_page(load_example(example).app):
        console = f'<a class="md-button" href="/console/{example}/">Request console</a>'
    note = '<span class="try-note">in the gallery that <code>make run</code> serves</span>'
    return f'<p class="try-it">{live}{console}{note}</p>'


def _starts_sentence(before: str) -> bool:
    ending = before.rstrip()
    return not ending or before.endswith("\n\n") or ending.endswith((".", "!", "?"))


def expand(markdown: str, page: str = "?") -> str:
    """Replace every macro in ``markdown``."""

    def replace(match: re.Match[str]) -> str:
        name, raw = match.groups()
        try:
            args = ast.literal_eval(f"({raw},)")
        except (SyntaxError, ValueError) as error:
            raise PluginError(f"{page}: bad arguments in {match.group(0)}") from error
        if name == "logged":
            return logged(*args)
        if name == "try_it":
            (example,) = args
            return try_it(example)
        first, last = line_range(*args)
        if name == "hl":
            return " ".join(str(number) for number in range(first, last + 1))
        text = f"line {first}" if first == last else f"lines {first}-{last}"
        return text.capitalize() if _starts_sentence(match.string[: match.start()]) else text

    try:
        return MACRO.sub(replace, markdown)
    except PluginError as error:
        raise PluginError(f"{page}: {error}") from error


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    """MkDocs hook: expand the macros of each page before it is rendered."""
    return expand(markdown, page.file.src_path)
