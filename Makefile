# gpuhost: entry points. `make test` and `make run` work on a fresh Debian 12/13 machine.
BUILD     ?= build
JOBS      ?= $(shell nproc)
CMAKE_ARGS ?=

# Debian packages the agent's build and tests need.
BUILD_DEPS := cmake g++ make pkg-config python3 pciutils pci.ids umockdev kmod \
              libpci-dev libkmod-dev libsystemd-dev libvirt-dev libssl-dev libcpp-httplib-dev \
              nlohmann-json3-dev libgtest-dev \
              chromium prometheus systemd openssl gpg gpgv xz-utils

.PHONY: all deps build test clean format

all: build

# $(call apt-install-missing,WHAT,PACKAGES): apt-get installs those of PACKAGES that are not
# installed (and says so, naming WHAT), so a prepared machine never calls apt. One recipe for
# deps, image-deps and fuzz-deps.
define apt-install-missing
@missing=$$(for p in $(2); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
if [ -n "$$missing" ]; then \
  echo "installing $(1):" $$missing; \
  if [ "$$(id -u)" != 0 ]; then echo "need root (or sudo) to apt-get install:" $$missing >&2; exit 1; fi; \
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
fi
endef

deps:
	$(call apt-install-missing,build dependencies,$(BUILD_DEPS))

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 900

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf $(BUILD)

# The fleet as files (docs/fleet.md): one policy per node, the fleet default, Prometheus targets.
FLEET_OUT ?= $(BUILD)/fleet
.PHONY: fleet
fleet: build
	@test -n "$(FLEET)" || { echo "usage: make fleet FLEET=FILE [FLEET_OUT=DIR] (docs/fleet.md)" >&2; exit 2; }
	python3 image/fleet.py --agent $(BUILD)/agent/gpuhost-agent --fleet $(FLEET) --out $(FLEET_OUT)

-include fuzz.mk
-include image/image.mk
-include image/nvidia.mk
