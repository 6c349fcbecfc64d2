"""The documentation site: every example embedded, line references anchored, snippets run."""

from __future__ import annotations

import ast
import itertools
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from mkdocs.exceptions import PluginError

from docs import hooks

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
EMBED = re.compile(r'^\s*--8<--\s+"([^"]+)"', re.MULTILINE)
EXAMPLES = sorted(path.name for path in (ROOT / "examples").iterdir() if (path / "app.py").exists())
# Files an example consists of: everything in its folder but packaging and caches.
EXAMPLE_FILES = sorted(
    path.relative_to(ROOT).as_posix()
    for path in (ROOT / "examples").glob("*/*")
    if path.is_file() and path.name != "__init__.py" and path.suffix != ".pyc"
)
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
HAND_WRITTEN_LINE_NUMBER = re.compile(r"\blines? \d+")


def embedded_files() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for page in PAGES:
        for path in EMBED.findall(page.read_text(encoding="utf-8")):
            found.setdefault(path, []).append(page.relative_to(DOCS).as_posix())
    return found


def test_every_example_file_is_embedded_by_a_page():
    embedded = embedded_files()
    missing = [path for path in EXAMPLE_FILES if path not in embedded]
    assert not missing, f"example files no page embeds: {missing}"


def test_every_embedded_file_exists():
    embedded = embedded_files()
    missing = {path: pages for path, pages in embedded.items() if not (ROOT / path).is_file()}
    assert not missing, f"pages embed files that do not exist: {missing}"


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_example_has_a_page_listed_in_its_section_index(example):
    # The page is usually NAME.md; an example may instead be the heart of a guide
    # named for its task (examples/chat is embedded by how-to/scaling-out.md).
    embed = f'--8<-- "examples/{example}/app.py"'
    pages = [
        page
        for section in ("tutorials", "how-to")
        for page in sorted((DOCS / section).glob("*.md"))
        if embed in page.read_text(encoding="utf-8")
    ]
    (page,) = pages
    index = (page.parent / "index.md").read_text(encoding="utf-8")
    assert f"]({page.name})" in index


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(DOCS).as_posix())
def test_line_references_use_anchors_that_resolve(page):
    hooks.expand(page.read_text(encoding="utf-8"), page.name)  # raises if an anchor is bad


TUTORIALS = sorted([*(DOCS / "tutorials").glob("*.md"), *(DOCS / "how-to").glob("*.md")])


@pytest.mark.parametrize("page", TUTORIALS, ids=lambda page: page.name)
def test_tutorial_prose_names_no_line_number_by_hand(page):
    prose = FENCE.sub("", page.read_text(encoding="utf-8"))
    assert not HAND_WRITTEN_LINE_NUMBER.findall(prose), "write {{ lines(...) }}, not a number"


def test_line_macro_names_the_lines_holding_the_anchors(tmp_path, monkeypatch):
    monkeypatch.setattr(hooks, "ROOT", tmp_path)
    (tmp_path / "app.py").write_text("one\ntwo = 2\nthree\nfour\n")
    assert hooks.expand('see {{ lines("app.py", "two =") }}') == "see line 2"
    assert hooks.expand('see {{ lines("app.py", "two", "four") }}') == "see lines 2-4"
    assert hooks.expand('hl_lines="{{ hl("app.py", "three", "four") }}"') == 'hl_lines="3 4"'
    assert hooks.expand('Done. {{ lines("app.py", "two =") }} sets it') == "Done. Line 2 sets it"
    assert hooks.expand('{{ lines("app.py", "two", "four") }} set it') == "Lines 2-4 set it"
    # An end anchor is the first line holding it from the start on, however common it is.
    (tmp_path / "code.py").write_text("x = 1\n\n\ndef f(\n    a,\n):\n    return a\n")
    assert hooks.expand('see {{ lines("code.py", "def f(", ...) }}') == "see lines 4-7"
    assert hooks.expand('see {{ lines("app.py", "two", "o") }}') == "see line 2"
    assert hooks.expand('see {{ lines("app.py", "three", "o") }}') == "see lines 3-4"


@pytest.mark.parametrize(
    ("macro", "problem"),
    [
        ('{{ lines("app.py", "absent") }}', "found nowhere"),
        ('{{ lines("app.py", "o") }}', "found on lines [1, 2, 4]"),
        ('{{ lines("app.py", "four", "two") }}', "'two' is nowhere after 'four'"),
    ],
)
def test_anchors_that_do_not_pin_one_line_fail_the_build(tmp_path, monkeypatch, macro, problem):
    monkeypatch.setattr(hooks, "ROOT", tmp_path)
    (tmp_path / "app.py").write_text("one\ntwo = 2\nthree\nfour\n")
    with pytest.raises(PluginError, match=re.escape(problem)):
        hooks.expand(macro, "page.md")


GUIDE_SNIPPETS = [
    (page, number, block)
    for page in [
        DOCS / "index.md",
        *sorted((DOCS / "explanation").glob("*.md")),
        *sorted(page for page in (DOCS / "how-to").glob("*.md") if page.stem not in EXAMPLES),
    ]
    for number, block in enumerate(
        re.findall(r"^```python[^\n]*\n(.*?)^```", page.read_text(encoding="utf-8"),
                   re.MULTILINE | re.DOTALL),
        1,
    )
    if not EMBED.match(block)  # an example's file, tested as the example
]


@pytest.mark.parametrize(
    ("page", "number", "block"),
    GUIDE_SNIPPETS,
    ids=[f"{page.relative_to(DOCS).as_posix()}#{number}" for page, number, _ in GUIDE_SNIPPETS],
)
def test_python_snippets_in_the_guide_run(page, number, block, tmp_path):
    script = tmp_path / "snippet.py"
    script.write_text(block, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


COMPOUND = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.Try, ast.With, ast.AsyncWith, ast.Match)


def _definitions(path: str) -> dict[int, tuple[str, int]]:
    """Functions, classes and one-statement lines of a Python file, by first line, to their end.

    A compound statement (``if``, ``while``, ...) is left out: prose may describe part of one.
    """
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    found: dict[int, tuple[str, int]] = {}

    def add(first: int, name: str, end: int) -> None:
        # Where a decorator starts a function, a range may cover just the decorator.
        if first not in found or end < found[first][1]:
            found[first] = (name, end)

    for node in ast.walk(tree):
        if not isinstance(node, ast.stmt) or isinstance(node, COMPOUND):
            continue
        decorators = getattr(node, "decorator_list", [])
        first = min([node.lineno, *(item.lineno for item in decorators)])
        add(first, getattr(node, "name", type(node).__name__), node.end_lineno or node.lineno)
        for item in decorators:
            add(item.lineno, "a decorator", item.end_lineno or item.lineno)
    return found


RANGES = [
    (page, args)
    for page in PAGES
    for name, raw in hooks.MACRO.findall(page.read_text(encoding="utf-8"))
    if name in ("lines", "hl")
    for args in [ast.literal_eval(f"({raw},)")]
    if len(args) == 3 and args[0].endswith(".py")
]


@pytest.mark.parametrize(
    ("page", "args"),
    RANGES,
    ids=[f"{page.relative_to(DOCS).as_posix()}:{args[1]}" for page, args in RANGES],
)
def test_a_range_that_starts_a_function_or_statement_covers_all_of_it(page, args):
    path, start, end = args
    first, last = hooks.line_range(path, start, end)
    definition = _definitions(path).get(first)
    if definition is not None:
        name, end_line = definition
        assert last >= end_line, f"{name} ends on line {end_line}, the range stops on {last}"


FENCE_OPEN = re.compile(r"^(\s*)(`{3,})(.*)$")


def _code_lines(text: str) -> list[tuple[int, str]]:
    """The lines a reader copies from the code blocks of a page: code and commands.

    Output shown in ``console`` and ``text`` blocks is left out: it is what a program
    printed, and cannot be wrapped without changing it.
    """
    found = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        match = FENCE_OPEN.match(lines[index])
        if not match:
            index += 1
            continue
        indent, fence, info = match.groups()
        language = info.split()[0] if info.split() else ""
        end = index + 1
        continuing = False
        while end < len(lines) and lines[end].strip() != fence:
            line = lines[end].removeprefix(indent)
            if language not in ("console", "text") or line.startswith("$ ") or continuing:
                found.append((end + 1, line))
            continuing = language == "console" and line.endswith("\\")
            end += 1
        index = end + 1
    return found


@pytest.mark.parametrize(
    "page",
    PAGES,
    ids=lambda page: page.relative_to(DOCS).as_posix(),
)
def test_code_on_pages_fits_79_characters(page):
    long = [
        f"line {number}: {len(line)} characters"
        for number, line in _code_lines(page.read_text(encoding="utf-8"))
        if len(line) > 79 and "--8<--" not in line
    ]
    assert not long, "wrap these lines (a command with ' \\'): " + "; ".join(long)


def _tutorial_path() -> list[str]:
    """The tutorial's pages in the order of the site's navigation, index first."""
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    (section,) = [item["Tutorial"] for item in config["nav"] if "Tutorial" in item]
    return [entry if isinstance(entry, str) else next(iter(entry.values())) for entry in section]


def test_the_tutorial_is_one_path_each_step_leading_to_the_next():
    index, *steps = _tutorial_path()
    assert index == "tutorials/index.md"
    listed = re.findall(r"^\d+\. \[[^]]+\]\(([\w-]+\.md)\)", (DOCS / index).read_text(), re.M)
    assert [f"tutorials/{name}" for name in listed] == steps, "the index lists the steps in order"
    for step, following in itertools.pairwise(steps):
        text = (DOCS / step).read_text(encoding="utf-8")
        target = following.removeprefix("tutorials/")
        assert re.search(rf"^\*\*Next:\*\* \[[^]]+\]\({re.escape(target)}\)", text, re.M), (
            f"{step} does not end with a Next link to {target}"
        )


# "pip install bareasgi" (with or without extras) fetches bareASGI 4.x from the package
# index, another project with the same name: this one installs from a path or a wheel.
INDEX_INSTALL = re.compile(r"pip install\s+['\"]?bareasgi(\[|['\"\s]|$)")


@pytest.mark.parametrize(
    "page", [*PAGES, ROOT / "README.md"], ids=lambda page: page.relative_to(ROOT).as_posix()
)
def test_no_command_installs_the_other_bareasgi_from_the_index(page):
    wrong = [
        f"line {number}: {line.strip()}"
        for number, line in _code_lines(page.read_text(encoding="utf-8"))
        if INDEX_INSTALL.search(line)
    ]
    assert not wrong, "install from a checkout or a wheel instead: " + "; ".join(wrong)


IMAGE_LINK = re.compile(r"\]\(([^)\s]+\.(?:png|svg|jpg|gif|webp))\)")


def test_every_image_in_docs_is_shown_by_a_page_and_every_shown_image_exists():
    # make screenshots refreshes docs/images/examples/NAME.png from the browser tests: a
    # page showing a copy kept elsewhere would show a picture nothing refreshes, and the
    # refreshed one would ship unseen.
    shown: set[Path] = set()
    missing = []
    for page in PAGES:
        for link in IMAGE_LINK.findall(page.read_text(encoding="utf-8")):
            image = (page.parent / link).resolve()
            shown.add(image)
            if not image.is_file():
                missing.append(f"{page.relative_to(DOCS).as_posix()}: {link}")
    images = {
        path.resolve()
        for path in (DOCS / "images").rglob("*")
        if path.suffix in {".png", ".svg", ".jpg", ".gif", ".webp"}
    }
    unshown = sorted(path.relative_to(DOCS).as_posix() for path in images - shown)
    assert not missing, f"pages show images that do not exist: {missing}"
    assert not unshown, f"images no page shows: {unshown}"


SHELL_BLOCK = re.compile(r"^( *)```(?:bash|console|sh)\b[^\n]*\n(.*?)^\1```", re.M | re.S)
# A server or Python started on an example without naming the venv's copy: a reader who
# has not activated .venv runs the system's, which has no bareasgi (tutorials/index.md).
BARE_COMMAND = re.compile(
    r"(?<![\w/.-])(python3?|uvicorn|hypercorn|granian|gunicorn) [^#\n]*examples[./]\w+"
)


@pytest.mark.parametrize(
    "page",
    sorted([*(DOCS / "tutorials").glob("*.md"), *(DOCS / "how-to").glob("*.md")]),
    ids=lambda page: page.relative_to(DOCS).as_posix(),
)
def test_commands_that_run_an_example_name_the_venv(page):
    bare = [
        line.strip()
        for _, block in SHELL_BLOCK.findall(page.read_text(encoding="utf-8"))
        if "bin/activate" not in block  # after activating, the bare names are the venv's
        for line in block.splitlines()
        if BARE_COMMAND.search(line)
    ]
    assert not bare, f"write .venv/bin/NAME, as the other pages do: {bare}"


def _starts_hypercorn(example: str) -> bool:
    # Inside its __main__ block or a function that block calls: never at the top.
    source = (ROOT / "examples" / example / "app.py").read_text(encoding="utf-8")
    return re.search(r"^\s+(from|import) hypercorn\b", source, re.M) is not None


HYPERCORN_EXAMPLES = [example for example in EXAMPLES if _starts_hypercorn(example)]


def test_the_examples_that_start_hypercorn_are_found():
    assert HYPERCORN_EXAMPLES == ["http2_push", "hypercorn"]


@pytest.mark.parametrize("example", HYPERCORN_EXAMPLES)
def test_a_page_whose_example_starts_hypercorn_says_how_to_install_it(example):
    # make run's .venv has uvicorn only: `python app.py` of such an example fails there
    # with ModuleNotFoundError unless the page says to install hypercorn.
    embed = f'--8<-- "examples/{example}/app.py"'
    (page,) = [page for page in PAGES if embed in page.read_text(encoding="utf-8")]
    assert "pip install hypercorn" in page.read_text(encoding="utf-8"), page.name
