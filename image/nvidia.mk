# The nvidia profile's targets (issue 7), included from the top-level Makefile.
#
#   make image PROFILE=nvidia                      build/nvidia/image.raw (proprietary modules)
#   make image PROFILE=nvidia IMAGE_PROFILES=open  build/nvidia+open/image.raw (open modules)
#   make qa-nvidia   build the nvidia image if needed, boot it once under qemu (no NVIDIA GPU
#                    there) and check it: qa/nvidia-boot-test.sh (docs/nvidia.md)
# QA_PORT and ACCEL as for `make qa`; the boot holds /tmp/gpuhost-qemu.lock, so TCG boots of
# several checkouts on one machine never run at the same time.

# The nvidia image boots slower than kvm-host (1.5 GiB more, DKMS modules): on a loaded 2-core
# machine its probe report came after 420 s, qa/lib.sh's default (2026-11-30: /healthz at 312 s).
NVIDIA_QA_TIMEOUT ?= 600

NVIDIA_VARIANT := nvidia$(if $(NVIDIA_PROFILES),+$(subst $(comma),+,$(NVIDIA_PROFILES)))

.PHONY: qa-nvidia
qa-nvidia:
	$(MAKE) image PROFILE=nvidia IMAGE_PROFILES=$(NVIDIA_PROFILES)
	PROFILE=nvidia IMAGE=build/$(NVIDIA_VARIANT)/image.raw QA_PORT=$(QA_PORT) ACCEL=$(ACCEL) \
	    QA_TIMEOUT=$(NVIDIA_QA_TIMEOUT) flock /tmp/gpuhost-qemu.lock qa/retry-on-panic.sh qa/nvidia-boot-test.sh
