# Thin wrapper over CMake. `make test` is the project's test command (CI runs it).
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
# seconds each fuzz target runs in `make test` (longer: scripts/fuzz-run SECONDS, see fuzz/README.md)
FUZZ_SECONDS ?= 3
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
# Extra CMake arguments for every build here (CI passes -DJP_WERROR=ON).
CMAKE_ARGS ?=

PREFIX ?= /usr/local

.PHONY: all bootstrap build study study-quick demo test test-normal test-asan fuzz test-fuzz bench install clean mutate

all: build

bootstrap:
	./scripts/bootstrap

build: bootstrap
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS)
	cmake --build $(BUILD) -j$(JOBS)

# The main job: the seed study on this machine (under 10 minutes on 2 cores); the report goes to study/.
study: build
	./$(BUILD)/jouleprint study

# The same on a stated subset, in under 2 minutes.
study-quick: build
	./$(BUILD)/jouleprint study --quick

# What can be measured here, and an example measured end to end.
demo: build
	./$(BUILD)/jouleprint sources
	./$(BUILD)/jouleprint stat -r 3 -- ./$(BUILD)/measure_loop 200

# Every test, in a normal build and under AddressSanitizer + UndefinedBehaviorSanitizer. Both passes
# run even when the first fails; the end says which failed.
test: bootstrap
	@failed=""; \
	$(MAKE) --no-print-directory test-normal || failed="$$failed normal($(BUILD))"; \
	$(MAKE) --no-print-directory test-asan || failed="$$failed asan+ubsan($(ASAN_BUILD))"; \
	$(MAKE) --no-print-directory test-fuzz || failed="$$failed fuzz($(FUZZ_BUILD))"; \
	if [ -n "$$failed" ]; then echo "make test: FAILED:$$failed -- see the output above"; exit 1; fi; \
	echo "make test: all passes passed: normal ($(BUILD)), ASan+UBSan ($(ASAN_BUILD)), fuzz ($(FUZZ_BUILD), $(FUZZ_SECONDS)s a target)"

test-normal: build
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS)

test-asan: bootstrap
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DJP_SANITIZE=ON $(CMAKE_ARGS)
	cmake --build $(ASAN_BUILD) -j$(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --test-dir $(ASAN_BUILD) --output-on-failure -j$(JOBS)

# The fuzz targets (fuzz/fuzz_*.c) with clang's libFuzzer, ASan and UBSan.
fuzz: bootstrap
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DJP_FUZZ=ON -DJP_BUILD_TESTS=OFF $(CMAKE_ARGS)
	cmake --build $(FUZZ_BUILD) -j$(JOBS)

# A short run of every fuzz target from its seed corpus (part of `make test`).
test-fuzz: fuzz
	FUZZ_BUILD=$(FUZZ_BUILD) ./scripts/fuzz-run $(FUZZ_SECONDS)

bench: build
	./$(BUILD)/model_accuracy tests/data/cpu_load_profiling
	./$(BUILD)/meter_overhead
	./$(BUILD)/harness_overhead
	JOULEPRINT_LIBRARY=$$(ls $(BUILD)/libjouleprint.so* | head -1) /usr/bin/python3 bench/python_overhead.py
	./$(BUILD)/plan_speed

# The tool, the three libraries (shared and static), their headers and pkg-config files, and the
# manual page jouleprint(1), under $(PREFIX) (default /usr/local); DESTDIR=... stages them elsewhere.
install: build
	DESTDIR="$(DESTDIR)" cmake --install $(BUILD) --prefix "$(PREFIX)"

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)

# Mutation check (not in CI): each mutation listed in scripts/mutate applied in a scratch copy, its test
# built and run; reports which were killed and which survived (exit 1 when one survived).
mutate:
	./scripts/mutate $(MUTATE_ARGS)
