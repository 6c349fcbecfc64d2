"""The testing example's own tests, collected here because pytest looks only under tests/.

Also its tests as the tutorial says to run them in a copy of the folder: pytest in a
folder of their own, with only the ``pyproject.toml`` settings the page shows.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

from examples.testing.test_app import *  # noqa: F403

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "tutorials" / "testing.md"
TOML_BLOCK = re.compile(r"^```toml\n(.*?)^```", re.MULTILINE | re.DOTALL)


def test_a_copy_of_the_folder_runs_its_tests_with_the_settings_the_page_shows(
    tmp_path: Path,
) -> None:
    (settings,) = TOML_BLOCK.findall(PAGE.read_text(encoding="utf-8"))
    copy = tmp_path / "mytodo"
    shutil.copytree(
        ROOT / "examples" / "testing", copy, ignore=shutil.ignore_patterns("__pycache__")
    )
    (copy / "pyproject.toml").write_text(settings, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert re.search(r"\b7 passed\b", output), output
    assert "Warning" not in output, output
