# jitd — the two commands a new user needs: `make run` and `make test`.
PRESET ?= dev
BUILD_DIR := build/$(PRESET)
JOBS ?= 2
CONFIG ?= examples/jitd.yaml

.PHONY: all deps test-deps build apps links run test test-quick bench format clean

all: build

deps:
	@scripts/install-deps

test-deps:
	@scripts/install-deps --test

build: deps
	@cmake --preset $(PRESET) >/dev/null
	@cmake --build --preset $(PRESET) -j $(JOBS)
	@$(MAKE) --no-print-directory links

# Only the two programs: what `make run` needs, without the test binaries.
apps: deps
	@cmake --preset $(PRESET) >/dev/null
	@cmake --build --preset $(PRESET) -j $(JOBS) --target jitd jit
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

bench:
	@echo "bench: no benchmarks yet"

format:
	@find src apps tests -name '*.cc' -o -name '*.h' | xargs clang-format -i

clean:
	rm -rf build bin
