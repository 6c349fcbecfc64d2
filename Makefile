# One venv, created on first use. Two sets of packages go in it, each with its own stamp:
# `serve` (what `make run` needs) and `dev` (everything `make test` needs, serve included).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SERVE_STAMP := $(VENV)/.installed-serve
DEV_STAMP := $(VENV)/.installed-dev
BENCH_STAMP := $(VENV)/.installed-bench
export NO_MKDOCS_2_WARNING := 1

VERSION := $(shell sed -n 's/^version = "\(.*\)"$$/\1/p' pyproject.toml)
WHEEL := dist/bareasgi-$(VERSION)-py3-none-any.whl
PACKAGE_FILES := $(shell find bareasgi -type f -not -path '*/__pycache__/*')
# Everything the site is built from: pages, the examples they embed, the docstrings of
# the reference pages, and the benchmark summary the performance page includes.
SITE_SOURCES := mkdocs.yml $(shell find docs examples bareasgi benchmarks/results \
	-type f -not -path '*/__pycache__/*' -not -path '*/.ruff_cache/*')

.PHONY: run test lint typecheck pytest docs wheel screenshots bench bench-fanout mutation clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(SERVE_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[serve]'
	touch $@

# dev includes serve, so installing it brings the serve stamp up to date too.
$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(SERVE_STAMP)

# The peers and the chart library the benchmarks import: `make bench` runs them and
# `make typecheck` checks the benchmarks against their real types.
$(BENCH_STAMP): benchmarks/requirements.txt $(DEV_STAMP)
	$(BIN)/python -m pip install --quiet -r benchmarks/requirements.txt
	touch $@

# Pyodide for the in-browser playground, fetched with npm into .cache/ and checked against
# tools/pyodide-*.sha256. Without npm (apt-get install nodejs npm) the site builds without it.
PYODIDE := .cache/pyodide/314.0.8/pyodide-lock.json
$(PYODIDE): tools/pyodide-314.0.8.sha256 | $(BIN)/python
	$(BIN)/python tools/playground.py fetch

# The site is rebuilt only when one of its sources changed. A failed build removes
# site/index.html, so that the next make tries again.
site/index.html: $(SITE_SOURCES) tools/playground.py $(PYODIDE) | $(SERVE_STAMP)
	$(BIN)/mkdocs build --strict --quiet || { rm -f $@; exit 1; }
	touch $@

# The documentation site with every example mounted live under /try/NAME/.
run: site/index.html | $(SERVE_STAMP)
	$(BIN)/python -m gallery.app

docs: site/index.html

# The package as a wheel, to install elsewhere: pip install 'dist/bareasgi-...whl[forms]'.
wheel: $(WHEEL)

$(WHEEL): pyproject.toml README.md $(PACKAGE_FILES) | $(BIN)/python
	$(BIN)/python -m pip wheel --quiet --no-deps --wheel-dir dist .
	rm -rf build

lint: $(DEV_STAMP)
	$(BIN)/ruff check bareasgi tests benchmarks examples gallery tools docs/hooks.py

typecheck: $(BENCH_STAMP)
	$(BIN)/mypy --strict bareasgi gallery tools examples benchmarks

# The examples must be covered completely by their in-process tests.
pytest: $(DEV_STAMP)
	$(BIN)/pytest -q --cov --cov-report=
	$(BIN)/coverage report --include='examples/*' --fail-under=100 --skip-covered
	$(BIN)/coverage report --include='bareasgi/*' --fail-under=95 --skip-covered

test: lint typecheck docs pytest

# Refresh the screenshots the documentation shows, from the browser tests; the walk
# also photographs every page at 1280 and 390 px into build/screenshots/ to look through.
screenshots: $(DEV_STAMP)
	SCREENSHOTS=1 $(BIN)/pytest -q tests/examples/test_browser.py tests/test_docs_browser.py \
		tests/test_site_walk.py

bench: $(BENCH_STAMP)
	$(BIN)/python benchmarks/run_all.py

# The chat example's fan-out over 1,000 WebSockets, in memory and through Redis
# (needs redis-server; about 5 minutes): benchmarks/results/fanout.{json,md}.
bench-fanout: $(DEV_STAMP)
	$(BIN)/python benchmarks/fanout.py

# Mutation testing, not part of `make test`: mutmut mutates a copy of each module in
# MODULES (under mutants/) and runs the in-process tests that reach each mutant (the list
# is [tool.mutmut] in pyproject.toml). `$(BIN)/mutmut results` lists the survivors and
# `$(BIN)/mutmut show NAME` shows one. MODULES are the core modules and the security-relevant
# extras; one module at a time, niced to the lowest priority: the machine may be shared.
MODULES ?= application routing mounting http request streaming middleware websocket lifespan errors \
	static cors cookies forms
mutation: $(DEV_STAMP)
	$(BIN)/python -m pip install --quiet "mutmut==3.8.1"
	for module in $(MODULES); do nice -n 19 $(BIN)/mutmut run "bareasgi.$$module.*" || exit 1; done
	$(BIN)/mutmut results

clean:
	rm -rf $(VENV) site dist build mutants .pytest_cache .mypy_cache .ruff_cache .coverage
