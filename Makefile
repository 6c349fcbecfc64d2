# One venv, created on first use; every target that needs it depends on its stamp file.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export NO_MKDOCS_2_WARNING := 1

.PHONY: run test lint typecheck pytest docs screenshots bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The documentation site with every example mounted live under /try/NAME/.
run: docs
	$(BIN)/python -m gallery.app

docs: $(STAMP)
	$(BIN)/mkdocs build --strict --quiet

lint: $(STAMP)
	$(BIN)/ruff check bareasgi tests benchmarks examples gallery docs/hooks.py

typecheck: $(STAMP)
	$(BIN)/mypy --strict bareasgi gallery

# The examples must be covered completely by their in-process tests.
pytest: $(STAMP)
	$(BIN)/pytest -q --cov --cov-report=
	$(BIN)/coverage report --include='examples/*' --fail-under=100 --skip-covered
	$(BIN)/coverage report --include='bareasgi/*' --fail-under=95 --skip-covered

test: lint typecheck docs pytest

# Refresh the screenshots the documentation shows, from the browser tests.
screenshots: $(STAMP)
	SCREENSHOTS=1 $(BIN)/pytest -q tests/examples/test_browser.py tests/test_docs_browser.py

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -r benchmarks/requirements.txt
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) site .pytest_cache .mypy_cache .ruff_cache .coverage
