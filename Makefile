# Two entry points for a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# PIP_CONSTRAINT pins the build environment too (Babel compiles the catalogues; setup.py).
PIP := PIP_CONSTRAINT=$(CURDIR)/constraints.txt $(BIN)/python -m pip install --quiet \
	--disable-pip-version-check --constraint constraints.txt

.PHONY: run test check pytest bench image-test ops-test clean

run: $(VENV)/.run-installed
	$(BIN)/profilebot run

test: check pytest

check: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/mypy setup.py
	$(BIN)/lint-imports

pytest: $(VENV)/.dev-installed
	$(BIN)/pytest

# About a quarter of an hour: figures beside their targets into bench/results.md (not a test);
# BENCH_QUICK=1 for a short check of the harness (docs/benchmarks.md).
bench: $(VENV)/.dev-installed
	$(BIN)/python -m bench.run

# Minutes, needs root: installs podman, runc and debootstrap, builds a Debian base and the
# image, and runs it against SecantusDB (see tests/image/check_image.py). Not part of `test`.
image-test: $(VENV)/.dev-installed
	$(BIN)/python -m tests.image.check_image

# Minutes; installs Debian's prometheus package if missing (root): a real Prometheus scrapes
# a webhook and a polling bot and checks the alerts and the dashboard (tests/ops/check_ops.py).
ops-test: $(VENV)/.dev-installed
	$(BIN)/python -m tests.ops.check_ops

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Installing compiles the translations (setup.py), so an edited catalogue installs again.
CATALOGUES := $(wildcard presentation/telegram/locales/*/LC_MESSAGES/*.po)

$(VENV)/.run-installed: pyproject.toml setup.py constraints.txt $(CATALOGUES) | $(BIN)/python
	$(PIP) --editable '.[embedded]'
	touch $@

$(VENV)/.dev-installed: pyproject.toml setup.py constraints.txt $(CATALOGUES) | $(BIN)/python
	$(PIP) --editable '.[dev]'
	touch $@ $(VENV)/.run-installed

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .import_linter_cache
