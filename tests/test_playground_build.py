"""How the docs build puts the playground together, checked without a browser."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from tools import playground

EXAMPLE_PAGE = """# Hello

```python title="examples/simple/app.py"
--8<-- "examples/simple/app.py"
```

## The handler
"""


def test_the_button_goes_right_under_the_code_block_that_embeds_the_app():
    page = SimpleNamespace(url="tutorials/simple/")
    markdown = playground.on_page_markdown(EXAMPLE_PAGE, page)
    before, button, after = markdown.partition('<div class="playground" data-example="simple">')
    assert before.endswith('--8<-- "examples/simple/app.py"\n```\n\n')
    assert button
    assert after.startswith('<button class="md-button md-button--primary"')
    assert after.index("Run in your browser") < after.index("## The handler")


def test_a_page_that_embeds_no_app_is_left_alone():
    page = SimpleNamespace(url="explanation/routing/")
    assert playground.on_page_markdown("# Routing\n\nText.\n", page) == "# Routing\n\nText.\n"


def test_without_pyodide_the_site_builds_and_the_button_says_why(monkeypatch, tmp_path):
    monkeypatch.setattr(playground, "PYODIDE_CACHE", tmp_path / "nothing-here")
    monkeypatch.setattr(playground, "_state", playground._State())  # restored afterwards
    playground.on_config({})
    html = playground.button("simple", "tutorials/simple/")
    assert "disabled" in html
    assert "not included in this build" in html
    site = tmp_path / "site"
    playground.on_post_build({"site_dir": str(site)})
    assert not (site / "playground").exists()


def test_the_button_loads_the_playground_relative_to_the_page(monkeypatch):
    monkeypatch.setattr(playground, "_state", playground._State(wheel=Path("bareasgi.whl")))
    html = playground.button("rest", "tutorials/rest/")
    assert "import('../../playground/playground.js')" in html
    assert "disabled" not in html


def test_a_pyodide_file_that_differs_from_its_pinned_sum_is_refused(tmp_path):
    for name in playground.pinned_sums():
        (tmp_path / name).write_bytes(b"not pyodide")
    with pytest.raises(playground.PlaygroundUnavailable, match="does not match its sum"):
        playground.verify_pyodide(tmp_path)


def test_a_missing_pyodide_file_says_how_to_fetch_it(tmp_path):
    with pytest.raises(playground.PlaygroundUnavailable, match="make docs"):
        playground.verify_pyodide(tmp_path)


def test_packages_a_browser_cannot_have_are_named_and_servers_are_not():
    source = (
        "import os\n"
        "import redis.asyncio\n"
        "from bareasgi import Application\n"
        "from hypercorn.config import Config\n"
        "import uvicorn\n"
        'if __name__ == "__main__":\n'
        "    import granian\n"
    )
    assert playground.third_party_imports(source) == ["redis"]


def test_standard_library_names_python_in_the_browser_lacks_are_found():
    source = "import hashlib\nkey = hashlib.scrypt(b'pw', salt=b's', n=2, r=1, p=1)\n"
    assert playground.missing_in_browser(source) == ["hashlib.scrypt"]
    assert playground.missing_in_browser("import hashlib\nhashlib.sha256()\n") == []


def test_every_example_is_runnable_or_says_why_not():
    for folder in sorted(playground.EXAMPLES.glob("*/app.py")):
        entry = playground.example_entry(folder.parent.name)
        assert "app.py" in entry["files"]
        assert not any(name.startswith("test_") for name in entry["files"])
        assert entry["unsupported"] is None or "browser" in entry["unsupported"]
