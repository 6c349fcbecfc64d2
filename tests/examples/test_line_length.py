"""Every line of the example files the documentation embeds shows whole.

The pages embed examples/**/*.py, *.html and *.css; at 79 characters or fewer a line
fits the code block at 1280 px without sideways scrolling. ruff checks the same for
the Python files (examples/ruff.toml); this covers the others too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
MAX_LENGTH = 79
SHOWN = sorted(
    path for suffix in ("py", "html", "css") for path in EXAMPLES.rglob(f"*.{suffix}")
)


@pytest.mark.parametrize("path", SHOWN, ids=lambda path: str(path.relative_to(EXAMPLES)))
def test_no_line_is_longer_than_79_characters(path: Path) -> None:
    long_lines = [
        f"{number}: {len(line)} characters"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if len(line) > MAX_LENGTH
    ]
    assert long_lines == []
