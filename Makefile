# make run     start the whole stack (installs and trains first when needed)
# make test    run the whole test suite (unit, integration, browser)
# make bench   run the benchmarks (writes docs/benchmarks.md)
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
VENV := .venv
PY := $(VENV)/bin/python
# pip on these machines warns about every package missing from a local mirror; hide that noise.
PIP_QUIET := grep -v -E "^WARNING: Location '.*' is ignored" || true
INSTALLED := $(VENV)/.installed-$(shell sha256sum requirements.lock | cut -c1-12)

.PHONY: install run train prepare test test-unit browser bench lock clean
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

run: install
	@$(PY) -m bot.launcher run

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

lock:
	@$(PY) -m pip freeze --all | grep -v -E "^pip==" > requirements.lock.new
	@{ echo "# Exact versions installed by 'make install' (pip freeze of a working .venv). Regenerate with 'make lock'."; cat requirements.lock.new; } > requirements.lock && rm requirements.lock.new

clean:
	rm -rf $(VENV) models var .pytest_cache

bench: install
	@$(PY) -m bench.run
