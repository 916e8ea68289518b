# The project's verbs. Every target sets up what it needs: a virtualenv in
# .venv with the four packages (common, client, server, gateway) installed
# editable and the code generated from protos/.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
INSTALLED := $(VENV)/.installed
GENERATED := client/src/longreel/video/.generated
PACKAGES := common client server gateway
PROTOS := $(shell find protos -name '*.proto')
SERVICE_CONFIGS := $(shell find protos -name '*.yaml' -o -name '*_grpc_service_config.json')
SYSTEM_TOOLS := $(VENV)/.system-tools
NODE_TOOLS := tests/node/node_modules/.installed
GOOGLE_PROTOS := build/google-protos/.staged
RELEASED_PROTOS := protos/released/v1.binpb

LISTEN   ?= 127.0.0.1:50051
GATEWAY  ?= 127.0.0.1:4000
DATA_DIR ?= data
METRICS  ?= 9464
GATEWAY_METRICS ?= 9465
PYTEST_ARGS ?=

.PHONY: setup run test test-fast test-integration test-acceptance lint lint-protos breaking protos bench clean

setup: $(SYSTEM_TOOLS) $(INSTALLED) $(GENERATED) $(NODE_TOOLS) $(GOOGLE_PROTOS)

# Debian packages the tests drive as real peers: curl (the seeds' session),
# Node.js (a grpc-js client), protoc (C++/Java/C# stubs); and DejaVu, the font
# videos are rendered in (accents, Greek, Cyrillic); wrk, the HTTP load of
# make bench (and of its smoke test); Chromium, the browser Playwright drives
# through the web page (tests/acceptance/test_ui.py; never a downloaded browser).
# Installed only if missing.
# Rechecked whenever this Makefile changes, so a new tool reaches machines set up before it.
$(SYSTEM_TOOLS): Makefile
	@missing=""; \
	command -v curl >/dev/null || missing="$$missing curl"; \
	command -v node >/dev/null || missing="$$missing nodejs"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	command -v protoc >/dev/null || missing="$$missing protobuf-compiler"; \
	[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing="$$missing fonts-dejavu-core"; \
	command -v wrk >/dev/null || missing="$$missing wrk"; \
	command -v chromium >/dev/null || missing="$$missing chromium chromium-driver"; \
	if [ -n "$$missing" ]; then \
		echo "installing$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	mkdir -p $(VENV) && touch $@

# LONGREEL_WORKSPACE: the packages name one another by name, as the editable
# installs beside them (alone, each names its siblings' folders; see client/setup.py).
$(INSTALLED): pyproject.toml $(foreach p,$(PACKAGES),$(p)/pyproject.toml) \
		client/setup.py server/setup.py gateway/setup.py protos/generate.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	LONGREEL_WORKSPACE=1 $(PY) -m pip install --quiet -e ./common -e './client[cli]' \
		-e './server[tracing]' -e './gateway[tracing]' -e '.[dev]'
	touch $@

# Regenerate after a .proto changes (the editable install generated once).
$(GENERATED): $(PROTOS) $(SERVICE_CONFIGS) protos/generate.py $(INSTALLED)
	$(PY) protos/generate.py client/src
	touch $@

# Node.js tools for the tests (a grpc-js client, buf), pinned by package-lock.json.
$(NODE_TOOLS): tests/node/package.json tests/node/package-lock.json $(SYSTEM_TOOLS)
	npm ci --prefix tests/node --no-audit --no-fund --loglevel=error
	touch $@

# Google's protos that ours import, under their canonical paths: for buf,
# Node.js and protoc in other languages (see docs/api.md, "Other languages").
$(GOOGLE_PROTOS): $(PROTOS) protos/generate.py $(INSTALLED)
	rm -rf build/google-protos
	$(PY) protos/generate.py --stage-google build/google-protos
	touch $@

protos: $(INSTALLED)
	$(PY) protos/generate.py client/src
	touch $(GENERATED)

## run: the gRPC server on $(LISTEN) (SQLite under $(DATA_DIR)/) and the REST gateway
## on $(GATEWAY), with Prometheus metrics on ports $(METRICS) and $(GATEWAY_METRICS) of
## their hosts; each prints its URLs. Ctrl-C stops both (the server drains and hands
## running jobs back).
run: setup
	@$(BIN)/video-server --listen $(LISTEN) --data-dir $(DATA_DIR) --metrics-port $(METRICS) & \
	server=$$!; \
	trap 'kill $$server 2>/dev/null; wait $$server' EXIT; \
	sleep 1; kill -0 $$server 2>/dev/null || exit 1; \
	$(BIN)/video-gateway --listen $(GATEWAY) --target $(LISTEN) --metrics-port $(GATEWAY_METRICS)

## test: the whole suite: unit, then integration, then acceptance tests
test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

## test-fast: unit tests and the store contract on SQLite (no servers, no processes,
## no PostgreSQL), in seconds: the tier to run while working
test-fast: setup
	$(PY) -m pytest tests/unit -m "not postgres" $(PYTEST_ARGS)

## test-integration: real servers in-process on loopback ports, on SQLite and PostgreSQL
test-integration: setup
	$(PY) -m pytest tests/integration $(PYTEST_ARGS)

## test-acceptance: our programs as processes, other languages, the browser, crash loops
test-acceptance: setup
	$(PY) -m pytest tests/acceptance $(PYTEST_ARGS)

## lint-protos: buf lint with the rules in buf.yaml (AIP conventions win over buf's defaults),
## and buf breaking against the released API
lint-protos: setup
	tests/node/node_modules/.bin/buf lint
	$(MAKE) --no-print-directory breaking

# buf breaking (FILE rules): the protos against the last released ones, a
# committed buf image (git has no tags, and a CI checkout may be shallow).
# At a release, cut the next baseline with:
#   buf build --path protos/longreel -o protos/released/v1.binpb
breaking: setup
	tests/node/node_modules/.bin/buf breaking --against $(RELEASED_PROTOS)

## bench: the service against its own limits, ratios to same-run baselines (FULL=1: large sizes)
bench: setup
	$(PY) -m bench.run --profile $(if $(FULL),full,quick)

## lint: ruff, mypy --strict over the four packages, the import contracts
## (import-linter, [tool.importlinter] in pyproject.toml), and buf breaking
## against the released protos
lint: setup
	$(BIN)/ruff check $(PACKAGES) tests protos bench
	$(BIN)/ruff format --check $(PACKAGES) tests protos bench
	$(BIN)/mypy -p longreel.server -p longreel.client -p longreel.gateway -p longreel.common
	$(BIN)/lint-imports
	tests/node/node_modules/.bin/buf breaking --against $(RELEASED_PROTOS)

clean:
	rm -rf $(VENV) build client/src/longreel/video */src/*.egg-info *.egg-info .pytest_cache .mypy_cache .ruff_cache
