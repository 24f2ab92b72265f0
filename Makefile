# Two commands matter (see README.md):
#   make demo   set everything up in .venv/ and run the main job (the whole workshop, FAST, through papermill)
#   make test   set everything up in .venv/ and run the test suite
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
UV_VERSION := 0.13.8
STAMP := $(VENV)/.workbench-installed

.PHONY: setup demo test test-fast lint jupyter bench screenshots lock clean

setup: $(STAMP)

# Re-installs only when the lock or the package metadata changed.
$(STAMP): requirements/lock.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(VENV)/bin/uv pip sync --python $(PY) --quiet requirements/lock.txt
	$(VENV)/bin/uv pip install --python $(PY) --quiet --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name workbench --display-name "Python (workbench)" >/dev/null
	@touch $(STAMP)

# Every lab of the workshop in FAST mode, as one cached pipeline (a second run restores them).
demo: $(STAMP)
	$(VENV)/bin/workbench labs run --all -p FAST=True

# The default run (slow tests deselected in pyproject.toml), then the slow ones (labs end to end).
test: $(STAMP)
	$(PY) -m pytest -q
	$(PY) -m pytest -q -m slow

test-fast: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check workbench tests benchmarks scripts

jupyter: $(STAMP)
	$(VENV)/bin/jupyter lab --notebook-dir=.

bench: $(STAMP)
	$(PY) benchmarks/training_overhead.py
	$(PY) benchmarks/algorithms.py
	$(PY) benchmarks/labs.py

# README screenshots of the panels and dashboards, taken in headless Chromium (Playwright).
screenshots: $(STAMP)
	$(PY) scripts/screenshots.py

lock:
	$(PY) -m uv pip compile requirements/requirements.in --python-version 3.11 \
	  --python-platform x86_64-manylinux_2_28 -o requirements/lock.txt

clean:
	rm -rf $(VENV) .workbench runs
