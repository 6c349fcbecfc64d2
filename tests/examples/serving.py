"""What a real-server check of an example gets, and what it declares.

Each example's check lives in ``tests/examples/test_servers.py`` or, for examples
added later, in a module ``tests/examples/checks_NAME.py`` that defines
``EXAMPLE = Example(check, ...)``; the server tests pick those up by name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.realserver import Server, ServerKind


@dataclass
class Served:
    """An example being served by a real server, and an HTTP client for it."""

    name: str
    kind: ServerKind
    server: Server
    client: httpx.Client


@dataclass(frozen=True)
class Example:
    """How to tell that an example works under a real server."""

    check: Callable[[Served], None]
    # GET this path until it answers 200 to know that the server is up.
    probe_path: str = "/"
    # Substrings of the exceptions the example raises on purpose, and logs with a traceback.
    deliberate_errors: tuple[str, ...] = ()
    # Environment variables for the server, given a temporary folder of its own.
    environ: Callable[[Path], Mapping[str, str]] = lambda tmp: {}
