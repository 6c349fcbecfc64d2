"""A short soak through a real uvicorn: benchmarks/soak.py, bounded to a couple of thousand
requests. It checks what a long run would reveal, in small: no 5xx the application did not
choose, no error in the server's log, no asyncio task left behind. It asserts no timings.
"""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks import soak


@pytest.fixture(scope="module")
def results() -> dict[str, Any]:
    return soak.run(2_000, 32, checkpoint=500, abort_rate=0.05, max_seconds=120, output=None)


def test_every_request_was_sent_and_answered_as_expected(results: dict[str, Any]) -> None:
    assert results["completed"] == 2_000, results["unexpected"]
    assert results["unexpected_count"] == 0, results["unexpected"]
    assert results["aborted_on_purpose"] > 0  # the early disconnects really happened
    # Clients that reset while a send-only handler floods them: each one was answered.
    assert results["outcomes"]["ws_reset"]["reset"] > 0


def test_no_5xx_but_the_one_the_app_chooses(results: dict[str, Any]) -> None:
    assert results["unchosen_5xx"] == 0
    assert results["outcomes"]["unavailable"] == {"503": results["outcomes"]["unavailable"]["503"]}


def test_server_logged_no_unhandled_exception(results: dict[str, Any]) -> None:
    assert results["server_errors"] == []
    assert results["server_tracebacks"] == []


def test_no_asyncio_task_is_left_behind(results: dict[str, Any]) -> None:
    tasks = results["tasks"]
    assert tasks["left"] <= 0, tasks["running_at_end"]
