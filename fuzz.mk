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
	@missing=$$(for p in $(FUZZ_DEPS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing fuzzing dependencies:" $$missing; \
	  if [ "$$(id -u)" != 0 ]; then echo "need root (or sudo) to apt-get install:" $$missing >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

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
