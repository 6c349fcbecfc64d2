"""The logging guide's configuration file, given to real uvicorn and hypercorn processes.

The JSON block of docs/how-to/logging.md is written to a file and passed with
``--log-config``; a request that makes the errors example crash must then leave
the traceback on stderr in the page's format, under the ``bareasgi`` logger.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

from tests.realserver import ServerKind, poll, start_server

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "how-to" / "logging.md"


def logging_json() -> dict[str, object]:
    [block] = re.findall(
        r'^```json title="logging.json"\n(.*?)^```',
        PAGE.read_text(encoding="utf-8"),
        re.MULTILINE | re.DOTALL,
    )
    config: dict[str, object] = json.loads(block)
    return config


@pytest.mark.parametrize(("kind", "prefix"), [("uvicorn", ""), ("hypercorn", "json:")])
def test_the_page_logging_config_formats_bareasgi_tracebacks(
    kind: ServerKind, prefix: str, tmp_path: Path
) -> None:
    path = tmp_path / "logging.json"
    path.write_text(json.dumps(logging_json()), encoding="utf-8")
    with start_server(
        kind,
        "examples.errors.app:app",
        tmp_dir=tmp_path,
        probe_path="/books/1",
        extra_args=["--log-config", f"{prefix}{path}"],
    ) as server:
        response = httpx.get(f"{server.base_url}/crash")
        assert response.status_code == 500
        line = re.compile(r"^\d{4}-\d\d-\d\d [\d:,]+ ERROR bareasgi: ", re.MULTILINE)
        assert poll(lambda: line.search(server.stderr()), timeout=5.0), server.stderr()
        assert "Traceback (most recent call last)" in server.stderr()
