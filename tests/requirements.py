"""Tests that need something from outside the repository: skip locally, fail in CI.

A person who clones the project may lack chromium, redis-server, nginx or the
``../shared/reference`` documents; their ``make test`` should pass and its summary should
name what was skipped and what to install. CI (the ``CI`` environment variable set, as
every CI service does) must run everything, so there a missing part fails the test.

Two ways to say what a test needs:

* ``need(condition, reason)`` inside a test or fixture;
* ``@needs(condition, reason)`` on a test, or ``pytestmark = needs(...)`` on a module,
  checked before the test's fixtures are set up (so nothing is built for a test that
  cannot run).

The reason says what is missing and how to install it, e.g.
``"no chromium on the PATH: apt-get install chromium"``.
The marker is registered and checked by hooks in tests/conftest.py.
"""

from __future__ import annotations

import os

import pytest

_NOT_CI = {"", "0", "false", "no"}


def in_ci() -> bool:
    """True when the ``CI`` environment variable is set to anything but a false value."""
    return os.environ.get("CI", "").strip().lower() not in _NOT_CI


def need(condition: object, reason: str) -> None:
    """Go on if ``condition`` holds; else skip the test (locally) or fail it (in CI).

    Args:
        condition: what the test needs, true when it is there.
        reason: what is missing and how to install it; shown in the test summary.
    """
    if condition:
        return
    if in_ci():
        pytest.fail(f"{reason} (CI is set, so a missing requirement fails)", pytrace=False)
    # Reported at the test's location, as a skipif mark is, rather than at this line.
    raise pytest.skip.Exception(reason, _use_item_location=True)


def needs(condition: object, reason: str) -> pytest.MarkDecorator:
    """A marker applying ``need(condition, reason)`` before the test's fixtures run."""
    return pytest.mark.needs(bool(condition), reason)

