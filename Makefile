# The project's verbs. Every target sets up what it needs: a virtualenv in
# .venv with the project installed (editable) and the code generated from protos/.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
INSTALLED := $(VENV)/.installed
GENERATED := gen/.generated
PROTOS := $(shell find protos -name '*.proto')

LISTEN   ?= 127.0.0.1:50051
GATEWAY  ?= 127.0.0.1:4000
DATA_DIR ?= data
PYTEST_ARGS ?=

.PHONY: setup run test lint protos bench clean

setup: $(INSTALLED) $(GENERATED)

$(INSTALLED): pyproject.toml setup.py protos/generate.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# Regenerate after a .proto changes (the editable install generated once).
$(GENERATED): $(PROTOS) protos/generate.py $(INSTALLED)
	$(PY) protos/generate.py gen
	touch $@

protos: $(INSTALLED)
	$(PY) protos/generate.py gen
	touch $(GENERATED)

## run: the gRPC server on $(LISTEN) (SQLite under $(DATA_DIR)/) and the REST gateway
## on $(GATEWAY); Ctrl-C stops both (the server drains and hands running jobs back).
run: setup
	@$(BIN)/video-server --listen $(LISTEN) --data-dir $(DATA_DIR) & server=$$!; \
	trap 'kill $$server 2>/dev/null; wait $$server' EXIT; \
	sleep 1; kill -0 $$server 2>/dev/null || exit 1; \
	$(BIN)/video-gateway --listen $(GATEWAY) --target $(LISTEN)

## test: the whole suite, against real servers on loopback ports
test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

## bench: how soon clients learn an operation is done: ours (WaitOperation) vs api-core polling
bench: setup
	$(PY) bench/notice.py

## lint: ruff and mypy --strict (mypy sees the package through build/typecheck)
lint: setup
	$(BIN)/ruff check server client gateway tests protos bench setup.py
	$(BIN)/ruff format --check server client gateway tests protos bench setup.py
	rm -rf build/typecheck && mkdir -p build/typecheck/longreel
	ln -s ../../../server build/typecheck/longreel/server
	ln -s ../../../client build/typecheck/longreel/client
	ln -s ../../../gateway build/typecheck/longreel/gateway
	ln -s ../../../gen/longreel/video build/typecheck/longreel/video
	cd build/typecheck && ../../$(BIN)/mypy --config-file ../../pyproject.toml \
		-p longreel.server -p longreel.client -p longreel.gateway

clean:
	rm -rf $(VENV) gen build *.egg-info .pytest_cache .mypy_cache .ruff_cache
