# The two README commands: `make run` and `make test`. Both create the environment if missing.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.reverie-installed

.PHONY: run test lint bench clean-venv system-deps

$(STAMP): pyproject.toml constraints-cpu.txt
	@bash packaging/ensure-system-deps.sh
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip >/dev/null
	$(PY) -m pip install -c constraints-cpu.txt -e '.[test]'
	@touch $(STAMP)

system-deps:
	@bash packaging/ensure-system-deps.sh

run: $(STAMP)
	$(PY) -m desktop_app

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/lint-imports

clean-venv:
	rm -rf $(VENV)
