"""The in-browser playground: every example page runs its example in the reader's browser.

This file is both an MkDocs hook (registered in mkdocs.yml) and a command:

    python tools/playground.py fetch

``fetch`` gets the pinned Pyodide release from the npm registry (``npm pack``) into
``.cache/pyodide/VERSION/`` and checks its files against the committed sums in
``tools/pyodide-VERSION.sha256``. Run by ``make docs`` and ``make run`` before they build the site.

As a hook it:

- puts a **Run in your browser** button under the code of every page that embeds
  ``examples/NAME/app.py`` (pages need no edits);
- copies into ``site/playground/``: the checked Pyodide files, a bareasgi wheel built from
  this checkout, python-multipart (for the forms example), each example's files, the
  Python side of the playground (``docs/playground/runner.py``) and ``manifest.json``.

An example with pages of its own (HTML files) shows its ``/`` in a frame; the
service worker ``docs/playground/sw.js`` hands the frame's requests to the app running in
the docs page. Nothing on the built site is fetched from another host. Where Pyodide
was not fetched or the wheel cannot be built, the site still builds and the button says
the playground is not part of this build.
"""

from __future__ import annotations

import ast
import fcntl
import hashlib
import importlib.util
import json
import logging
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PYODIDE_VERSION = "314.0.8"
SUMS = ROOT / "tools" / f"pyodide-{PYODIDE_VERSION}.sha256"
CACHE = ROOT / ".cache"
PYODIDE_CACHE = CACHE / "pyodide" / PYODIDE_VERSION
WHEEL_CACHE = CACHE / "playground-wheel"
RUNNER = ROOT / "docs" / "playground" / "runner.py"
EXAMPLES = ROOT / "examples"
OUT = "playground"  # the folder of the built site the playground lives in

# The request each example answers first, where its first GET route without variables
# would not show what the example is about (the browser picks that route otherwise).
FIRST_REQUESTS: dict[str, dict[str, Any]] = {
    "simple": {"method": "GET", "path": "/"},
    "routing": {"method": "GET", "path": "/items/42"},
    "errors": {"method": "GET", "path": "/books/1"},
    "streaming": {"method": "GET", "path": "/ticks?count=5"},
    "server_sent_events": {"method": "GET", "path": "/events"},
    "compression": {
        "method": "GET",
        "path": "/planets.json",
        "headers": "accept-encoding: gzip",
    },
    "hypercorn": {"method": "GET", "path": "/hello-world"},
    "static_files": {"method": "GET", "path": "/"},
}
# Own pages the service worker cannot serve, and why (the consoles stand in for them).
OWN_PAGE_NOT_SERVED = {
    "cors": (
        "This example has a page of its own that calls the app from another origin "
        "(localhost instead of 127.0.0.1), to show CORS at work; a service worker answers "
        "only its own site's requests, so that page is not shown here: the request console "
        "below stands in for it (send an origin header)."
    ),
}
# TestClient options an example needs to show what it does.
CLIENT_OPTIONS: dict[str, dict[str, Any]] = {"http2_push": {"server_push": True}}
# Servers the examples import: the playground gives stand-ins that say a page cannot listen.
SERVERS = {"uvicorn", "hypercorn"}
# What the standard library of Python in the browser lacks: Pyodide's is built without
# OpenSSL, so hashlib has only the hashes Python implements itself.
MISSING_IN_BROWSER = {"hashlib.scrypt", "hashlib.pbkdf2_hmac"}
# Pure-Python packages copied from the build's own environment, where installed there: the
# forms extra's parser and the templates example's engine.
EXTRA_PACKAGES = ("python_multipart", "jinja2", "markupsafe")

log = logging.getLogger("mkdocs.plugins.playground")


class PlaygroundUnavailable(Exception):
    """A part of the playground is missing; the message says which and how to get it."""


def file_sha256(path: Path) -> str:
    """The hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def pinned_sums() -> dict[str, str]:
    """The committed ``sha256sum``-format sums: file name to hex digest."""
    sums = {}
    for line in SUMS.read_text(encoding="utf-8").splitlines():
        digest, name = line.split()
        sums[name] = digest
    return sums


def verify_pyodide(folder: Path | None = None) -> list[Path]:
    """The Pyodide files in ``folder`` (by default the cache), each checked against its sum.

    Raises:
        PlaygroundUnavailable: a file is missing or differs from the pinned one.
    """
    folder = folder or PYODIDE_CACHE
    files = []
    for name, digest in pinned_sums().items():
        path = folder / name
        if not path.is_file():
            raise PlaygroundUnavailable(
                f"Pyodide {PYODIDE_VERSION} was not fetched ({path} is missing): "
                "run `make docs` (needs npm: apt-get install nodejs npm)"
            )
        if file_sha256(path) != digest:
            raise PlaygroundUnavailable(f"{path} does not match its sum in {SUMS.name}")
        files.append(path)
    return files


def fetch_pyodide() -> None:
    """Fetch the pinned Pyodide package with ``npm pack`` and keep its core files, checked.

    Raises:
        PlaygroundUnavailable: npm is missing, the fetch failed or a sum does not match.
    """
    try:
        verify_pyodide()
    except PlaygroundUnavailable:
        pass
    else:
        # make compares this file's time with the sums' file: now it is up to date.
        (PYODIDE_CACHE / "pyodide-lock.json").touch()
        return
    npm = shutil.which("npm")
    if npm is None:
        raise PlaygroundUnavailable("npm is not installed: apt-get install nodejs npm")
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        packed = subprocess.run(
            [npm, "pack", f"pyodide@{PYODIDE_VERSION}", "--pack-destination", temporary],
            capture_output=True,
            text=True,
            check=False,
        )
        if packed.returncode != 0:
            raise PlaygroundUnavailable(f"npm pack failed: {packed.stderr.strip()}")
        (tarball,) = folder.glob("pyodide-*.tgz")
        wanted = {f"package/{name}": name for name in pinned_sums()}
        unpacked = folder / "files"
        unpacked.mkdir()
        with tarfile.open(tarball) as archive:
            for member in archive.getmembers():
                if member.name in wanted and member.isfile():
                    source = archive.extractfile(member)
                    assert source is not None  # a regular file has contents
                    (unpacked / wanted[member.name]).write_bytes(source.read())
        verify_pyodide(unpacked)
        PYODIDE_CACHE.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(PYODIDE_CACHE, ignore_errors=True)
        shutil.move(str(unpacked), PYODIDE_CACHE)


def _source_digest() -> str:
    digest = hashlib.sha256()
    paths = [ROOT / "pyproject.toml", *sorted((ROOT / "bareasgi").rglob("*"))]
    for path in paths:
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(ROOT).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def build_wheel() -> Path:
    """The bareasgi wheel of this checkout, built once per version of its sources.

    Raises:
        PlaygroundUnavailable: pip could not build it (offline, say).
    """
    folder = WHEEL_CACHE / _source_digest()
    wheels = sorted(folder.glob("bareasgi-*.whl"))
    if wheels:
        return wheels[0]
    WHEEL_CACHE.mkdir(parents=True, exist_ok=True)
    # Two builds at once (a test and `make docs`) would share setuptools' build/ folder.
    with (WHEEL_CACHE / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        wheels = sorted(folder.glob("bareasgi-*.whl"))
        if wheels:
            return wheels[0]
        with tempfile.TemporaryDirectory(dir=WHEEL_CACHE) as temporary:
            command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", temporary]
            built = subprocess.run(
                [*command, "."], cwd=ROOT, capture_output=True, text=True, check=False
            )
            if built.returncode != 0:
                # Offline, pip cannot fetch setuptools for an isolated build: try the one here.
                built = subprocess.run(
                    [*command, "--no-build-isolation", "."],
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                    check=False,
                )
            # setuptools leaves build/ behind, whose stale copies of deleted modules would
            # go into the next wheel.
            shutil.rmtree(ROOT / "build", ignore_errors=True)
            if built.returncode != 0:
                raise PlaygroundUnavailable(f"pip could not build the wheel: {built.stderr}")
            shutil.rmtree(folder, ignore_errors=True)
            shutil.move(temporary, folder)
            folder.chmod(0o755)  # TemporaryDirectory makes it private
    return sorted(folder.glob("bareasgi-*.whl"))[0]


def package_folder(name: str) -> Path | None:
    """The folder of the installed package ``name``, or None where it is not installed."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def bundled_packages() -> list[str]:
    """The extra packages this build can give the browser."""
    return [name for name in EXTRA_PACKAGES if package_folder(name) is not None]


def zip_package(name: str, destination: Path) -> None:
    """Zip the installed package ``name`` for unpacking in the browser.

    Compiled modules are left out: built for this machine, they cannot load in
    WebAssembly; the packages bundled fall back to pure Python without them.
    """
    folder = package_folder(name)
    assert folder is not None  # bundled_packages() found it
    with zipfile.ZipFile(destination, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".so":
                archive.write(path, path.relative_to(folder.parent).as_posix())


def third_party_imports(source: str) -> list[str]:
    """The modules ``source`` imports at its top level that neither Python nor bareasgi has.

    Servers are left out (the playground stands in for them), and so are the packages
    the playground bundles. Imports under
    ``if __name__ == "__main__":`` never run in the playground, so they are left out too.
    """
    found: list[str] = []
    bundled = set(bundled_packages())
    for node in ast.parse(source).body:
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.partition(".")[0]
            known = top in sys.stdlib_module_names or top in SERVERS or top in bundled
            known = known or top == "bareasgi"
            if not known and top not in found:
                found.append(top)
    return found


def missing_in_browser(source: str) -> list[str]:
    """The names of ``MISSING_IN_BROWSER`` that ``source`` uses, as ``module.name``."""
    used = {
        f"{node.value.id}.{node.attr}"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
    }
    return sorted(used & MISSING_IN_BROWSER)


def example_files(name: str) -> list[str]:
    """The files of an example the browser needs, relative to its folder."""
    folder = EXAMPLES / name
    return sorted(
        path.relative_to(folder).as_posix()
        for path in folder.rglob("*")
        if path.is_file()
        and "__pycache__" not in path.parts
        and path.name != "__init__.py"
        and not path.name.startswith("test_")
    )


def example_entry(name: str) -> dict[str, Any]:
    """What the browser needs to know about one example."""
    source = (EXAMPLES / name / "app.py").read_text(encoding="utf-8")
    unsupported = None
    if packages := third_party_imports(source):
        unsupported = (
            f"This example needs {', '.join(packages)}, which cannot run inside a browser page."
        )
    elif names := missing_in_browser(source):
        unsupported = (
            f"This example uses {', '.join(names)}, which Python in the browser lacks "
            "(it is built without OpenSSL)."
        )
    return {
        "files": example_files(name),
        "first": FIRST_REQUESTS.get(name),
        "client": CLIENT_OPTIONS.get(name, {}),
        "unsupported": unsupported,
        # Pages of its own: an index.html, a public/ folder of them, or templates.
        "own_page": any((EXAMPLES / name).rglob("*.html")),
        "own_page_not_served": OWN_PAGE_NOT_SERVED.get(name),
    }


@dataclass
class _State:
    """What on_config found, for the later hooks of the same build."""

    reason: str | None = None  # why the playground is left out, or None
    wheel: Path | None = None
    examples: dict[str, dict[str, Any]] = field(default_factory=dict)


_state = _State()
EMBED = re.compile(r'^[ \t]*--8<--[ \t]+"examples/(\w+)/app\.py"[ \t]*$', re.MULTILINE)
FENCE_END = re.compile(r"^[ \t]*```[ \t]*$", re.MULTILINE)


def on_config(config: Any, **_: Any) -> Any:
    """MkDocs hook: decide once per build whether the playground can be included."""
    global _state
    _state = _State()
    try:
        verify_pyodide()
        _state.wheel = build_wheel()
    except PlaygroundUnavailable as error:
        _state.reason = str(error)
        log.info("The playground is left out of this build: %s", error)
    return config


def button(example: str, page_url: str) -> str:
    """The HTML of the button (or the note saying why there is none) for one example."""
    root = "../" * page_url.count("/")
    entry = _state.examples.get(example) or example_entry(example)
    _state.examples[example] = entry
    if _state.reason is not None or entry["unsupported"]:
        why = entry["unsupported"] or (
            "The in-browser playground is not included in this build of the site "
            "(it was built without npm or without network access)."
        )
        return (
            f'<div class="playground" data-example="{example}">'
            '<button class="md-button" type="button" disabled>Run in your browser</button> '
            f'<span class="playground-note">{why}</span></div>'
        )
    start = f"import('{root}{OUT}/playground.js').then((m) => m.start(this.parentElement))"
    return (
        f'<div class="playground" data-example="{example}">'
        f'<button class="md-button md-button--primary" type="button" onclick="{start}">'
        "Run in your browser</button> "
        '<span class="playground-note">Python runs in this page (Pyodide: about 14 MB '
        "to download on the first click): edit the code, send requests.</span></div>"
    )


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    """MkDocs hook: put the button under the code block that embeds an example's app.py."""
    found = EMBED.search(markdown)
    if found is None:
        return markdown
    end = FENCE_END.search(markdown, found.end())
    if end is None:
        return markdown
    html = button(found.group(1), page.url)
    return f"{markdown[: end.end()]}\n\n{html}\n{markdown[end.end() :]}"


def on_post_build(config: Any, **_: Any) -> None:
    """MkDocs hook: copy Pyodide, the wheel, the extras and the examples into the site."""
    out = Path(config["site_dir"]) / OUT
    if _state.reason is not None or _state.wheel is None:
        return
    pyodide = out / "pyodide"
    pyodide.mkdir(parents=True, exist_ok=True)
    for path in verify_pyodide():
        shutil.copyfile(path, pyodide / path.name)
    shutil.copyfile(_state.wheel, out / _state.wheel.name)
    shutil.copyfile(RUNNER, out / RUNNER.name)
    packages = bundled_packages()
    for name in packages:
        zip_package(name, out / f"{name}.zip")
    examples = {}
    for folder in sorted(EXAMPLES.iterdir()):
        if not (folder / "app.py").is_file():
            continue
        entry = example_entry(folder.name)
        examples[folder.name] = entry
        for name in entry["files"]:
            target = out / "examples" / folder.name / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(folder / name, target)
    manifest = {
        "pyodide": "pyodide/",
        "wheel": _state.wheel.name,
        "packages": [f"{name}.zip" for name in packages],
        "runner": RUNNER.name,
        "examples": examples,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")


def main(argv: list[str]) -> int:
    """``fetch``: get Pyodide into the cache; a missing npm or network is reported, not fatal.

    With ``--strict`` a failure exits with status 1 instead.
    """
    if not argv or argv[0] != "fetch":
        print(__doc__)
        return 2
    try:
        fetch_pyodide()
    except PlaygroundUnavailable as error:
        print(f"playground: left out of the site: {error}", file=sys.stderr)
        return 1 if "--strict" in argv else 0
    print(f"playground: Pyodide {PYODIDE_VERSION} in {PYODIDE_CACHE.relative_to(ROOT)}, checked")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
