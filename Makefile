# Two commands for a fresh machine with python3 and make:
#   make run    divert's main job (today's law vs treatment instead of conviction, by country)
#   make test   the whole test suite
# Each creates or refreshes the virtual environment in .venv first.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint venv clean messages

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/divert countries

# The registry tests also run on PostgreSQL: a throw-away server (scripts/with_postgres.sh) when the
# machine has the PostgreSQL server binaries; without them those tests are skipped (and fail under CI).
test: $(STAMP)
	$(BIN)/ruff check src tests conftest.py
	$(BIN)/mypy
	@if scripts/with_postgres.sh --check >/dev/null 2>&1; then \
		scripts/with_postgres.sh $(BIN)/python -m pytest; \
	else \
		echo "make test: no PostgreSQL server binaries; registry tests run on SQLite only" >&2; \
		$(BIN)/python -m pytest; \
	fi

# After changing a marked string: merge every domain's messages into each language's .po file.
messages: $(STAMP)
	$(BIN)/python scripts/update_messages.py

lint: $(STAMP)
	$(BIN)/ruff check src tests conftest.py
	$(BIN)/mypy
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
