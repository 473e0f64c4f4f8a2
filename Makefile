# kraken-etl — every target sets itself up: a .venv, uv inside it when uv is missing, the locked install.
# Needs only Python 3.11+ and make.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
UV     := $(shell command -v uv 2>/dev/null || echo $(BIN)/uv)
STAMP  := $(VENV)/.installed

export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export DO_NOT_TRACK ?= 1
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 90
export UV_PROJECT_ENVIRONMENT := $(VENV)
# Bytecode: our machines set PYTHONDONTWRITEBYTECODE, so every process would recompile the ~700 modules it
# imports (~4 s per command, measured). Compiling all of site-packages at install costs ~50 s of CPU
# instead; letting Python cache what each process actually imports costs that once, lazily. Our commands
# run with the variable unset.
unexport PYTHONDONTWRITEBYTECODE
# Use the system trust store (machines behind a TLS-inspecting proxy configure it there, not in uv).
export UV_NATIVE_TLS ?= 1

.PHONY: install system-tools test demo lint bench drills docs clean stop

install: $(STAMP)

# The venv is made without pip (its bootstrap is the slow part of `venv`); when uv is not on PATH it is
# installed into the venv with the system's pip, or with a pip bootstrapped into the venv when there is none.
$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "kraken-etl needs Python 3.11 or newer")'
	$(PYTHON) -m venv --without-pip $(VENV)

$(BIN)/uv: | $(BIN)/python
	$(PYTHON) -m pip --python $(BIN)/python install --quiet --disable-pip-version-check uv 2>/dev/null || \
	  { $(BIN)/python -m ensurepip --default-pip >/dev/null && \
	    $(BIN)/python -m pip install --quiet --disable-pip-version-check uv; }

$(STAMP): pyproject.toml uv.lock | $(BIN)/python $(if $(filter $(BIN)/uv,$(UV)),$(BIN)/uv)
	$(UV) sync --locked --python $(BIN)/python --quiet
	@touch $@

# System tools the tests run, installed here before pytest when missing and we are root with apt-get (CI, a
# fresh container): Debian's chromium (the report opened in a browser) and hledger (the journal checked by
# its own tool). Elsewhere those tests fail and say how to get them.
SYSTEM_TOOLS := /usr/bin/chromium:chromium /usr/bin/hledger:hledger
system-tools:
	@missing=""; for pair in $(SYSTEM_TOOLS); do [ -x "$${pair%%:*}" ] || missing="$$missing $${pair##*:}"; done; \
	if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian's$$missing for the tests"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# Two pytest workers (pytest-xdist): each has its own databases, Prefect home and simulator ports, so the
# suite's waits on PostgreSQL, subprocesses and the simulator overlap; a worker that runs out of tests takes
# some of the other's (worksteal), so a long test near the end does not leave one idle. TEST_WORKERS=0: one process.
TEST_WORKERS ?= 2
test: $(STAMP) system-tools
	@status=0; $(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS) || status=$$?; \
	KRAKEN_ETL_HOME=.kraken-etl-test DATABASE_URL= $(BIN)/kraken-etl db stop >/dev/null 2>&1 || true; \
	exit $$status

demo: $(STAMP)
	$(BIN)/kraken-etl demo

lint: $(STAMP)
	$(BIN)/ruff check kraken_etl models flows migrations tests bench
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/run.py

# The full reliability drills (minutes): defect drills, the profiles' matrix (five seeds x four data paths x
# two profiles: tests/drills/matrix_profiles.py, a run of its own: neither `make test` nor a run of the
# tests/drills folder collects it, as its name is not test_*.py), the REST sync of a 50,000-entry account
# (10,000 in `make test`), then kill -9 at 20 seeded moments per command. A fast variant of each runs inside
# `make test` (tests/drills/, one seed per profile in tests/recon/). Figures: bench/results/drills.json.
drills: $(STAMP)
	@status=0; $(BIN)/pytest -q -p no:cacheprovider tests/drills $(PYTEST_ARGS) || status=$$?; \
	$(BIN)/pytest -q -p no:cacheprovider tests/drills/matrix_profiles.py $(PYTEST_ARGS) || status=$$?; \
	TEST_SYNC_ENTRIES=50000 $(BIN)/pytest -q -p no:cacheprovider tests/e2e/test_sync_e2e.py $(PYTEST_ARGS) || status=$$?; \
	$(BIN)/python bench/drills/crash_drills.py $(DRILL_ARGS) || status=$$?; \
	KRAKEN_ETL_HOME=.kraken-etl-test DATABASE_URL= $(BIN)/kraken-etl db stop >/dev/null 2>&1 || true; \
	exit $$status

# The CLI reference (docs/cli.md) is Typer's own Markdown of the app; tests/test_docs.py fails when it drifts.
docs: $(STAMP)
	COLUMNS=100 $(BIN)/python -m typer kraken_etl.cli.main utils docs --name kraken-etl \
	  --title "kraken-etl command reference" --output docs/cli.md

stop: $(STAMP)
	$(BIN)/kraken-etl db stop

clean:
	rm -rf $(VENV) .venv-compat .pytest_cache .mypy_cache .ruff_cache
