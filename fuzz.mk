# Fuzzing (fuzz/README.md): libFuzzer targets for the parsers of everything
# the agent reads from outside, built with clang, ASan and UBSan in their
# own build directory. `make fuzz` runs each for FUZZ_SECONDS; `make
# fuzz-smoke` for 10 s each (CI).
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
# clang and its runtimes (libFuzzer, ASan, UBSan): Debian's default
# version (bookworm 14, trixie 19); the libraries the agent links come
# from `make deps`.
FUZZ_DEPS := clang libclang-rt-dev

.PHONY: fuzz fuzz-smoke fuzz-deps fuzz-build

fuzz-deps: deps
	$(call apt-install-missing,fuzzing dependencies,$(FUZZ_DEPS))

$(FUZZ_BUILD)/CMakeCache.txt:
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DGPUHOST_FUZZ=ON -DGPUHOST_BUILD_TESTS=OFF $(CMAKE_ARGS)

fuzz-build: fuzz-deps $(FUZZ_BUILD)/CMakeCache.txt
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_targets
	fuzz/collect_seeds.sh $(FUZZ_BUILD)

fuzz: fuzz-build
	fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke: fuzz-build
	fuzz/run.sh $(FUZZ_BUILD) 10 $(FUZZ_TARGETS)
