"""The curl sessions pasted on the example pages are what the examples answer today.

Each page that embeds ``examples/NAME/app.py`` shows ``curl`` commands and what they
printed. This test replays every command of a simple kind (a method, headers, a small
body) against a fresh copy of the example, in process, in the order the page gives them,
and compares the status, the body and the headers the page shows. Values that change
from run to run (dates, the server's name, timings, random session ids, file validators)
are left out of the comparison; so are commands that need a real server or files
(uploads, ranges, HTTP/2, pipes).
"""

from __future__ import annotations

import asyncio
import importlib.util
import re
import shlex
import sys
from pathlib import Path
from types import ModuleType

import pytest

from bareasgi.testing import TestClient

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EMBED = re.compile(r'--8<-- "examples/(\w+)/app\.py"')
FENCE = re.compile(r"^```console\n(.*?)^```", re.MULTILINE | re.DOTALL)
STATUS_LINE = re.compile(r"^HTTP/[\d.]+ (\d{3})")
# Headers whose values differ from run to run, or that the server adds, not the app.
VARYING = {
    "date",
    "server",
    "transfer-encoding",
    "server-timing",
    "set-cookie",
    "etag",
    "last-modified",
    "connection",
    # The seconds left to wait, counted from a moment the replay cannot pin.
    "retry-after",
}
# curl options the replay understands; a command with any other is not replayed. -N
# (no buffering) is left out with them: it shows streams, some of which never end.
FLAGS = {"-i", "-s", "-sS", "-I", "-X", "-H", "-d"}
# Request headers whose value was copied from an earlier, varying response.
COPIED = {"if-none-match", "if-modified-since", "if-range", "cookie"}


def _commands(block: str) -> list[tuple[str, list[str]]]:
    """The commands of a console block, each with the lines it printed."""
    found: list[tuple[str, list[str]]] = []
    lines = block.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line.startswith("$ "):
            index += 1
            continue
        command = line[2:]
        while command.endswith("\\") and index + 1 < len(lines):
            index += 1
            command = command[:-1] + lines[index].strip()
        index += 1
        output = []
        while index < len(lines) and not lines[index].startswith("$ "):
            output.append(lines[index])
            index += 1
        found.append((command, output))
    return found


def _request(command: str) -> dict | None:
    """The request a curl command makes, or None if it is not one the replay handles."""
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    if not words or words[0] != "curl" or "|" in words:
        return None
    request: dict = {"method": None, "headers": [], "body": None, "flags": set(), "url": None}
    rest = iter(words[1:])
    for word in rest:
        if word.startswith("http://127.0.0.1:8000/"):
            request["url"] = word.removeprefix("http://127.0.0.1:8000")
        elif word not in FLAGS:
            return None
        elif word == "-X":
            request["method"] = next(rest)
        elif word == "-H":
            name, _, value = next(rest).partition(":")
            if name.strip().lower() in COPIED:
                return None
            request["headers"].append((name.strip().lower(), value.strip()))
        elif word == "-d":
            request["body"] = next(rest)
        else:
            request["flags"].add(word)
    if request["url"] is None:
        return None
    if request["body"] is not None:
        request["method"] = request["method"] or "POST"
        if not any(name == "content-type" for name, _ in request["headers"]):
            request["headers"].append(("content-type", "application/x-www-form-urlencoded"))
    request["method"] = request["method"] or ("HEAD" if "-I" in request["flags"] else "GET")
    return request


def _expected(request: dict, output: list[str]) -> tuple[int | None, dict[str, str], str | None]:
    """The status, headers and body a command printed, as far as the page shows them."""
    if not ({"-i", "-I"} & request["flags"]):
        return None, {}, "\n".join(output)
    match = STATUS_LINE.match(output[0]) if output else None
    if match is None:
        return None, {}, None
    headers = {}
    index = 1
    while index < len(output) and output[index].strip():
        name, _, value = output[index].partition(":")
        headers[name.strip().lower()] = value.strip()
        index += 1
    body = "\n".join(output[index + 1 :]) if "-I" not in request["flags"] else None
    return int(match.group(1)), headers, body


def _load(example: str) -> ModuleType:
    """A fresh copy of the example's module, so no page sees another's changes."""
    path = ROOT / "examples" / example / "app.py"
    spec = importlib.util.spec_from_file_location(f"docs_replay_{example}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


SESSIONS = []
for page in sorted([*(DOCS / "tutorials").glob("*.md"), *(DOCS / "how-to").glob("*.md")]):
    text = page.read_text(encoding="utf-8")
    embedded = EMBED.search(text)
    if embedded is None:
        continue
    replayable = [
        (command, request, output)
        for block in FENCE.findall(text)
        for command, output in _commands(block)
        for request in [_request(command)]
        if request is not None
    ]
    if replayable:
        SESSIONS.append((page.relative_to(DOCS).as_posix(), embedded.group(1), replayable))


def test_the_replay_finds_the_tutorials_sessions():
    pages = {page for page, _, _ in SESSIONS}
    assert {"tutorials/rest.md", "tutorials/routing.md", "tutorials/errors.md"} <= pages
    assert sum(len(commands) for _, _, commands in SESSIONS) > 30


@pytest.mark.parametrize(("page", "example", "commands"), SESSIONS, ids=[s[0] for s in SESSIONS])
def test_pasted_curl_output_is_what_the_example_answers(page, example, commands, caplog):
    app = _load(example).app
    problems = []

    async def replay():
        async with TestClient(app) as client:
            for command, request, output in commands:
                response = await client.request(
                    request["method"],
                    request["url"],
                    headers=request["headers"],
                    body=request["body"],
                )
                status, headers, body = _expected(request, output)
                if status is not None and status != response.status:
                    problems.append(f"{command}: status {response.status}, page says {status}")
                for name, value in headers.items():
                    if name not in VARYING and response.headers.get(name) != value:
                        got = response.headers.get(name)
                        problems.append(f"{command}: {name}: {got!r}, page says {value!r}")
                # A body the page shortens ends with "...": what it shows must begin it.
                shown = None if body is None else body.rstrip("\n")
                if shown is not None and shown.endswith("..."):
                    matches = response.text.startswith(shown.removesuffix("..."))
                else:
                    matches = shown is None or shown == response.text.rstrip("\n")
                if not matches:
                    problems.append(
                        f"{command}: body {response.text[:80]!r}, page says {body[:80]!r}"
                    )

    asyncio.run(replay())
    assert not problems, "\n".join(problems)
