"""MkDocs hooks: tutorial line numbers computed from the example files themselves.

Tutorials never write a line number by hand. They name a piece of text that
occurs on exactly one line of the example, and the number is computed at build
time, so prose cannot drift from the code it explains:

- ``{{ lines("examples/simple/app.py", "async def hello") }}`` becomes ``line 8``;
- ``{{ lines("examples/simple/app.py", "async def hello", "text_writer(") }}``
  becomes ``lines 8-9``;
- ``{{ hl("examples/simple/app.py", "async def hello", "text_writer(") }}`` becomes
  ``8 9``, for a code block's ``hl_lines``;
- ``{{ try_it("simple") }}`` becomes a link to the example running live under
  ``/try/simple/`` when the gallery server (``make run``) serves the site.

An anchor that is missing, or found on more than one line, fails the build.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

ROOT = Path(__file__).resolve().parents[1]
MACRO = re.compile(r"\{\{\s*(lines|hl|try_it)\((.*?)\)\s*\}\}")


def find_line(path: str, anchor: str) -> int:
    """The 1-based number of the one line of ``path`` that contains ``anchor``."""
    source = (ROOT / path).read_text(encoding="utf-8").splitlines()
    numbers = [number for number, line in enumerate(source, 1) if anchor in line]
    if len(numbers) != 1:
        found = "nowhere" if not numbers else f"on lines {numbers}"
        raise PluginError(f"{path}: the anchor {anchor!r} must be on one line, found {found}")
    return numbers[0]


def line_range(path: str, start: str, end: str | None = None) -> tuple[int, int]:
    """The first and last line numbers of the range from ``start`` to ``end``."""
    first = find_line(path, start)
    last = find_line(path, end) if end is not None else first
    if last < first:
        raise PluginError(f"{path}: the anchor {end!r} comes before {start!r}")
    return first, last


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
        if name == "try_it":
            (example,) = args
            return (
                f'<a class="md-button" href="/try/{example}/">Try it live</a>'
                '<span class="try-note"> (when the site is served by <code>make run</code>)</span>'
            )
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
