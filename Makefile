# make run     start the whole stack (installs and trains first when needed)
# make test    run the whole test suite (unit, integration, browser)
# make bench   run the benchmarks (writes docs/benchmarks.md and docs/benchmarks.json)
# make bench-load  many concurrent customers: the full stack against bare Rasa (several minutes)
# make fuzz    the property-based fuzz test of the chat channels, longer (FUZZ_EXAMPLES, default 500)
# make eval    the evaluations: privacy recogniser, NLU and conversation tests (docs/benchmarks.json and .md)
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
VENV := .venv
PY := $(VENV)/bin/python
# pip on these machines warns about every package missing from a local mirror; hide that noise.
PIP_QUIET := grep -v -E "^WARNING: Location '.*' is ignored" || true
INSTALLED := $(VENV)/.installed-$(shell sha256sum requirements.lock | cut -c1-12)

.PHONY: install run train prepare test test-unit fuzz browser bench bench-load eval eval-privacy eval-nlu eval-conversation lock clean
.DEFAULT_GOAL := run

install: $(INSTALLED)

$(INSTALLED): requirements.lock
	@echo "Installing pinned dependencies into $(VENV) (first time: a few minutes)…"
	@test -x $(PY) || "$$(scripts/find-python310.sh)" -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade "pip==24.0" 2>&1 | $(PIP_QUIET)
	@$(PY) -m pip install --quiet --no-deps -r requirements.lock 2>&1 | $(PIP_QUIET)
	@$(PY) -m pip check
	@rm -f $(VENV)/.installed-* && touch $@
	@echo "Dependencies installed."

# The demo pages (/demo/: a signed-in customer, the texts the demo "sent") are on here only.
run: install
	@DEMO_PAGES=$${DEMO_PAGES:-on} $(PY) -m bot.launcher run

train: install
	@$(PY) -m bot.launcher train

prepare: install
	@$(PY) -m bot.launcher prepare

# Debian's Chromium for the browser tests (Playwright drives it; it never downloads a browser).
browser:
	@{ command -v chromium >/dev/null && fc-list :lang=zh | grep -q . ; } || { echo "Installing Debian's chromium and CJK fonts for the browser tests…"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; }

test: install browser
	@$(PY) -m pytest $(PYTEST_ARGS)

test-unit: install
	@$(PY) -m pytest -m "not integration" $(PYTEST_ARGS)

# `make test` runs the same fuzz test with 30 fixed examples per channel; this one is random and longer.
FUZZ_EXAMPLES ?= 500
fuzz: install
	@FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_RANDOM=1 $(PY) -m pytest tests/integration/test_fuzz.py -s $(PYTEST_ARGS)

lock:
	@$(PY) -m pip freeze --all | grep -v -E "^pip==" > requirements.lock.new
	@{ echo "# Exact versions installed by 'make install' (pip freeze of a working .venv). Regenerate with 'make lock'."; cat requirements.lock.new; } > requirements.lock && rm requirements.lock.new

clean:
	rm -rf $(VENV) models var .pytest_cache

bench: install
	@$(PY) -m bench.run
	@$(PY) -m bench.kb
	@$(PY) -m bench.dashboard  # dashboard (#13): needs PostgreSQL at 127.0.0.1:5432
	@# --- accounts (#9) ---
	@$(PY) -m bench.accounts
	@# --- desk (#7): handoff latency with 50 conversations, expected wait against the real wait ---
	@$(PY) -m bench.desk
	@# --- channels (#10): the shared "handled once" record per callback (SQLite; PostgreSQL and Redis when there) ---
	@TEST_DATABASE_URL=$${TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres} $(PY) -m bench.channels

# The load client runs apart from Rasa's environment (its socket.io asyncio client needs a newer aiohttp).
CLIENT_VENV := .venv-client
CLIENT_INSTALLED := $(CLIENT_VENV)/.installed-$(shell sha256sum bench/requirements-client.lock | cut -c1-12)

$(CLIENT_INSTALLED): bench/requirements-client.lock
	@test -x $(CLIENT_VENV)/bin/python || python3 -m venv $(CLIENT_VENV)
	@$(CLIENT_VENV)/bin/pip install --quiet --no-deps -r bench/requirements-client.lock 2>&1 | $(PIP_QUIET)
	@rm -f $(CLIENT_VENV)/.installed-* && touch $@

bench-load: install $(CLIENT_INSTALLED)
	@$(PY) -m bench.load $(BENCH_ARGS)

# One script per evaluation (bench/eval_*.py), each recording its own rows and section.
eval: eval-privacy eval-nlu eval-conversation

eval-privacy: install
	@$(PY) -m bench.eval_privacy

# NLU: our held-out set per script, and BANKING77 / CLINC150 for our and Rasa's stock pipeline.
# By default the public sets in a small version (10 examples per intent, 20 epochs); whole, which
# takes hours on 2 cores: make eval-nlu EVAL_NLU_ARGS=--full
eval-nlu: install
	@RASA_CACHE_DIRECTORY=$${RASA_CACHE_DIRECTORY:-/tmp/rasa-cache-eval} $(PY) -m bench.eval_nlu $(EVAL_NLU_ARGS)

# --- understanding and conversation (#8) ---
# One `rasa test core` story per general flow and script (tests/stories/), on the bot's model.
eval-conversation: install
	@RASA_CACHE_DIRECTORY=$${RASA_CACHE_DIRECTORY:-/tmp/rasa-cache-eval} $(PY) -m bench.eval_conversation $(EVAL_CONVERSATION_ARGS)
# --- performance (#11) ---
.PHONY: profile-load
# CPU per message of each process under a fixed load, and py-spy profiles when PY_SPY names a py-spy binary.
profile-load: install $(CLIENT_INSTALLED)
	@$(PY) -m bench.profile_load $(if $(PY_SPY),--py-spy $(PY_SPY)) $(PROFILE_ARGS)
