# jitd — the two commands a new user needs: `make run` and `make test`.
PRESET ?= dev
BUILD_DIR := build/$(PRESET)
JOBS ?= 2
CONFIG ?= examples/jitd.yaml

.PHONY: all deps test-deps build apps links run test test-quick bench format clean fuzz torture deb sanitize soak

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

# Crash torture (docs/RELIABILITY.md): ITERATIONS kill -9 / restart cycles
# of the real jitd under traffic with every invariant checked, then the
# reconciliation of RECONCILE_GRANTS grants. `make test` runs 50 cycles.
ITERATIONS ?= 1000
RECONCILE_GRANTS ?= 100000
torture: deps
	@cmake --preset $(PRESET) >/dev/null
	@cmake --build --preset $(PRESET) -j $(JOBS) --target jitd_torture
	@$(BUILD_DIR)/tests/torture/jitd_torture --iterations $(ITERATIONS)
	@$(BUILD_DIR)/tests/torture/jitd_torture --reconcile-grants $(RECONCILE_GRANTS)

# Sanitizers (docs/RELIABILITY.md): the unit tests and the store contract
# suite (PostgreSQL too, as root) built by each preset in SANITIZERS (asan:
# ASan+UBSan, tsan) into build/<preset>, run with ctest; any report fails.
SANITIZERS ?= asan tsan
SANITIZE_PREFIX ?= build/
sanitize: test-deps
	@rc=0; for s in $(SANITIZERS); do JOBS=$(JOBS) tests/sanitizers/run $$s $(SANITIZE_PREFIX)$$s || rc=1; done; exit $$rc

# Soak (docs/RELIABILITY.md): the real jitd under mixed traffic for
# SOAK_SECONDS, RSS and open fds sampled; fails on growth past the bound.
# `make test` runs a 45 s version (label soak-short).
SOAK_SECONDS ?= 600
soak: deps
	@cmake --preset $(PRESET) >/dev/null
	@cmake --build --preset $(PRESET) -j $(JOBS) --target jitd_soak
	@$(BUILD_DIR)/tests/soak/jitd_soak --seconds $(SOAK_SECONDS)

bench:
	@scripts/install-deps --bench
	@command -v node >/dev/null && command -v npm >/dev/null || { echo "bench: node and npm are needed (bench/peers)"; exit 1; }
	@cmake -S . -B build/bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DJITD_BUILD_BENCH=ON >/dev/null
	@cmake --build build/bench -j $(JOBS) --target bench_all
	@cd bench/peers && npm ci --no-audit --no-fund --loglevel=error
	@node bench/run_bench.mjs --build build/bench --out bench/RESULTS.md

# The Debian package (packaging/, CPack): its own Release build with prefix
# /usr, only the installed programs compiled; writes build/deb/jitd_*.deb.
# Check it on a clean Debian 12: scripts/check-deb-in-chroot build/deb/jitd_*.deb
deb: deps
	@scripts/build-web
	@cmake -S . -B build/deb -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON -DJITD_BUILD_BENCH=OFF >/dev/null
	@cmake --build build/deb -j $(JOBS) --target jitd jit pam_jit
	@cd build/deb && cpack -G DEB >/dev/null && ls -1 $$PWD/jitd_*.deb

format:
	@find src apps tests -name '*.cc' -o -name '*.h' | xargs clang-format -i

clean:
	rm -rf build bin
