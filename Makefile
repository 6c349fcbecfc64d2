# One venv, created on first use; every target that needs it depends on its stamp file.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck pytest bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python examples/simple/app.py

lint: $(STAMP)
	$(BIN)/ruff check bareasgi tests benchmarks examples

typecheck: $(STAMP)
	$(BIN)/mypy --strict bareasgi

pytest: $(STAMP)
	$(BIN)/pytest -q

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -r benchmarks/requirements.txt
	$(BIN)/python benchmarks/framework_cost.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
