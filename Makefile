# jitd — the two commands a new user needs: `make run` and `make test`.
PRESET ?= dev
BUILD_DIR := build/$(PRESET)
JOBS ?= 2
CONFIG ?= examples/jitd.yaml

.PHONY: all deps test-deps build apps links run test test-quick bench format clean fuzz

all: build

deps:
	@scripts/install-deps

test-deps:
	@scripts/install-deps --test

build: deps
	@cmake --preset $(PRESET) >/dev/null
	@cmake --build --preset $(PRESET) -j $(JOBS)
	@scripts/build-web
	@$(MAKE) --no-print-directory links

# Only the two programs: what `make run` needs, without the test binaries.
apps: deps
	@cmake --preset $(PRESET) >/dev/null
	@cmake --build --preset $(PRESET) -j $(JOBS) --target jitd jit
	@scripts/build-web
	@$(MAKE) --no-print-directory links

links:
	@mkdir -p bin && ln -sf ../$(BUILD_DIR)/apps/jitd/jitd bin/jitd && ln -sf ../$(BUILD_DIR)/apps/jit/jit bin/jit

run: apps
	@scripts/print-demo-banner $(CONFIG)
	@exec bin/jitd --config $(CONFIG)

test: test-deps build
	@cd $(BUILD_DIR) && ctest -j $(JOBS) --output-on-failure --timeout 600

# Unit tests only: no real servers, no root.
test-quick: build
	@cd $(BUILD_DIR) && ctest -j $(JOBS) --output-on-failure -LE 'needs-|root-|integration'

# Benchmarks against their baselines and peers (docs/benchmarks.md); writes
# bench/RESULTS.md. Own Release build dir; needs node/npm for the peers.
# libFuzzer harnesses (clang-14, ASan+UBSan), each run FUZZ_SECONDS on one
# core; crashes land in fuzz/crashes/. See docs/RELIABILITY.md.
FUZZ_SECONDS ?= 60
fuzz:
	@scripts/install-deps --fuzz
	@cmake --preset fuzz >/dev/null
	@cmake --build --preset fuzz -j $(JOBS) --target jit_fuzzers
	@FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run-fuzzers

bench:
	@scripts/install-deps --bench
	@command -v node >/dev/null && command -v npm >/dev/null || { echo "bench: node and npm are needed (bench/peers)"; exit 1; }
	@cmake -S . -B build/bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DJITD_BUILD_BENCH=ON >/dev/null
	@cmake --build build/bench -j $(JOBS) --target bench_all
	@cd bench/peers && npm ci --no-audit --no-fund --loglevel=error
	@node bench/run_bench.mjs --build build/bench --out bench/RESULTS.md

format:
	@find src apps tests -name '*.cc' -o -name '*.h' | xargs clang-format -i

clean:
	rm -rf build bin
