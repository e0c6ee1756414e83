# Developer tasks. `make` alone lists them. The CI script (.ci/run) runs the same commands.
PYTHON ?= python
PYTEST := $(PYTHON) -m pytest
COMPILED := engine_core service/simulator
STUBBED := $(shell ls engine_core/*.pyx service/simulator/*.pyx | sed 's/\.pyx$$//; s|/|.|g') engine_core.pools

.PHONY: help install build lint format typecheck stubs test test-unit test-int test-e2e bench bench-load chaos clean

help:  ## this list
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

install:  ## the package and its dev tools, editable
	$(PYTHON) -m pip install -e '.[dev]'

build:  ## compile the Cython extensions in place
	$(PYTHON) setup.py build_ext --inplace -j 2

lint:  ## ruff, ruff format --check, cython-lint, import contracts
	ruff check .
	ruff format --check .
	cython-lint $(COMPILED)
	lint-imports

format:  ## rewrite the tree with ruff format and ruff's import order
	ruff check --select I --fix .
	ruff format .

typecheck: build  ## mypy, and the .pyi stubs against the built modules
	mypy
	$(PYTHON) -m mypy.stubtest --concise --ignore-disjoint-bases \
		--allowlist tests/unit/engine_core/stubtest_allowlist.txt $(STUBBED)

stubs: typecheck

test: build  ## every test (needs PostgreSQL on :5432 and Redis on :6379), on 2 processes
	$(PYTEST) -n 2

test-unit: build  ## unit tests only: no server needed
	$(PYTEST) tests/unit

test-int: build  ## integration tests on the real PostgreSQL and Redis
	$(PYTEST) tests/integration

test-e2e: build  ## `order-engine up` end to end
	$(PYTEST) tests/e2e

bench: build  ## micro benchmarks of the compiled core
	$(PYTEST) bench/micro --benchmark-enable

bench-load: build  ## an end-to-end load run beside the bare libraries
	$(PYTHON) -m bench.load --scenario all --baseline

chaos: build  ## crash runs on throwaway servers, invariants checked
	$(PYTHON) -m bench.chaos

clean:  ## compiled and cached files
	rm -rf build .mypy_cache .ruff_cache .pytest_cache .import_linter_cache
	rm -f engine_core/*.c engine_core/*.cpp engine_core/*.so service/simulator/*.c service/simulator/*.so
