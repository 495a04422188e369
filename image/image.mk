# Image pipeline targets, included from the top-level Makefile.
#
#   make image          build build/$(PROFILE)/image.raw (only when an input changed)
#   make image-force    rebuild it regardless (mkosi's incremental cache still applies)
#   make run            boot it under qemu; prints the status page URL once /healthz answers
#   make qa             the accelerator check (qa/accel-test.sh), then boot it headless twice (same
#                       disk; the machine carries the data-disk bridge) and check both boots with
#                       qa/check.py and qa/check_data_disk.py (qa/boot-test.sh), then make qa-run
#   make qa-run         `make run` checked (qa/run-test.sh): accelerator/fallback, timing, the page
#   make qa-data-disk   the same two boots as `make qa` (qa/boot-test.sh), nothing else: a mounted
#                       data disk in a display's IOMMU group is part of that machine
#   make qa-secureboot  the first of those boots alone: Secure Boot enforced with the image's own
#                       key, lockdown, module signatures (qa/check_trusted_boot.py; issue 15)
#   make qa-held        boot it with a process holding the non-boot display open (qa/held-test.sh)
#   make qa-boot-time   time its boot on the qa machine, no checks (qa/boot-time.sh)
#   make qa-compare     boot time and kernel-hardening-checker report next to a stock trixie image
#   make qa-fleet       build the PXE bundle (recipes/pxe, build/pxe/) and boot three fleet nodes
#                       from it at once, no disks, each fetching its own policy over HTTPS, scraped
#                       by Prometheus (qa/fleet-test.sh). `make qa` runs it with two of the nodes
#   make qa-pxe         the same with one node ("pass": the first-boot checks over PXE)
#   make image-deps     install the Debian packages the pipeline needs on this machine
#   make image-report   the budget figures of the built image: used bytes, zstd size, initrd, times;
#                       for PROFILE=pxe what a node fetches per boot (budget 200 MB)
#   make image-lock     record the mirror's current packages in the recipe's lock (a record: builds
#                       follow the mirror and print what moved; GPUHOST_LOCK=strict makes it a gate)
#   make image-publish DEST=DIR [PUBLISH_XZ=yes]
#                       put the built image's update artifacts (UKI, root slot partitions) into
#                       the update directory DIR under their versioned names and sign its
#                       SHA256SUMS with the update key (image/publish.py, docs/updates.md)
#   make qa-update      A/B update and rollback end to end under qemu (qa/update-test.sh)
#   make image-repro    build the commit twice without caches; the manifests must be identical
#   make image-clean    remove the built image; image-distclean also the tools tree and caches
#
# Variables: PROFILE (recipe under recipes/), IMAGE_PROFILES (that recipe's opt-in mkosi
# profiles, comma-separated; output in build/<recipe>+<profile>/), HOST_PORT (run's forwarded port), QA_PORT,
# ACCEL (auto|kvm|tcg), SERIAL (run: stdio or a log file). Everything here runs as root.

PROFILE   ?= kvm-host
HOST_PORT ?= 8080
QA_PORT   ?= 18080
ACCEL     ?= auto
SERIAL    ?= stdio
# PXE bundle: the HTTP base URL baked into autoexec.ipxe (empty: the recipe's default,
# http://10.0.2.2:18481/, which is what qa-pxe serves). Changing it needs `make image-force`.
PXE_URL   ?=

IMAGE_PROFILES ?=
comma := ,
IMAGE_OUT := build/$(PROFILE)$(if $(IMAGE_PROFILES),+$(subst $(comma),+,$(IMAGE_PROFILES)))
IMAGE_RAW := $(IMAGE_OUT)/image.raw

# Host packages: mmdebstrap bootstraps the trixie tools tree (mkosi itself comes from trixie,
# inside that tree); qemu/ovmf boot the image; curl and python3 drive the checks; qa makes an
# SSH key (openssh-client) and reads the image's root file system with debugfs (e2fsprogs).
IMAGE_DEPS := mmdebstrap debian-archive-keyring gpg gpgv xz-utils qemu-system-x86 qemu-utils ovmf zstd curl python3 util-linux \
              openssh-client e2fsprogs openssl libvirt-clients

# What the image is made of: a change to any of these makes `make image` rebuild (vm.sh and
# run.sh only boot it).
# A recipe that includes another (recipes/pxe: Include=../kvm-host) is made of its files too.
IMAGE_RECIPES := recipes/$(PROFILE) \
                 $(patsubst ../%,recipes/%,$(shell sed -n 's/^Include=//p' recipes/$(PROFILE)/mkosi.conf 2>/dev/null))
IMAGE_INPUTS := $(shell find $(IMAGE_RECIPES) overlays image agent -type f ! -name '*.md' ! -name vm.sh ! -name run.sh ! -name demo-page.sh 2>/dev/null) \
                $(wildcard CMakeLists.txt)

.PHONY: image image-force image-deps tools-tree run qa qa-run qa-data-disk qa-secureboot qa-held qa-boot-time qa-pxe qa-fleet image-clean image-distclean qa-compare \
        image-report image-lock image-repro image-publish qa-update

image-deps:
	$(call apt-install-missing,image pipeline dependencies,$(IMAGE_DEPS))

tools-tree: image-deps
	image/tools-tree.sh

image: $(IMAGE_RAW)

$(IMAGE_RAW): $(IMAGE_INPUTS) | image-deps
	PROFILE=$(PROFILE) IMAGE_PROFILES=$(IMAGE_PROFILES) image/mkosi.sh \
	    $(if $(PXE_URL),--environment=GPUHOST_PXE_URL=$(PXE_URL)) -f build
	@touch $@

image-force: image-deps
	PROFILE=$(PROFILE) IMAGE_PROFILES=$(IMAGE_PROFILES) image/mkosi.sh -f build

run: image
	PROFILE=$(PROFILE) IMAGE=$(IMAGE_RAW) HOST_PORT=$(HOST_PORT) ACCEL=$(ACCEL) SERIAL=$(SERIAL) image/run.sh

# `make qa` of the default image (what CI runs) also builds the PXE bundle and boots the fleet from
# it (qa-fleet); QA_PXE=no leaves it out.
QA_PXE ?= $(if $(filter kvm-host,$(PROFILE)),$(if $(IMAGE_PROFILES),no,yes),no)

qa: image
	qa/accel-test.sh
	PROFILE=$(PROFILE) IMAGE=$(IMAGE_RAW) QA_PORT=$(QA_PORT) ACCEL=$(ACCEL) qa/retry-on-panic.sh qa/boot-test.sh
	$(if $(filter kvm-host,$(PROFILE)),$(if $(IMAGE_PROFILES),,$(MAKE) qa-run))
	$(MAKE) qa-compare
	$(if $(filter yes,$(QA_PXE)),$(MAKE) qa-fleet QA_FLEET_NODES="$(QA_FLEET_CI_NODES)")

# `make run` itself, checked (qa/run-test.sh): the accelerator's choice or its fallback to TCG,
# the time to the page with its phases, and the page showing one GPU kept and one passed through.
qa-run: image
	IMAGE=$(IMAGE_RAW) qa/retry-on-panic.sh qa/run-test.sh

# A data disk mounted at /var/lib/libvirt/images in a display's IOMMU group (behind a conventional
# PCI bridge): the group stays on the host with a warning, the host healthy. `make qa`'s two boots
# carry it (qa/boot-test.sh: qa/check.py and qa/check_data_disk.py judge each boot); this target
# runs just those two boots, not the rest of `make qa`.
qa-data-disk: image
	PROFILE=$(PROFILE) IMAGE=$(IMAGE_RAW) QA_PORT=$(QA_PORT) ACCEL=$(ACCEL) qa/retry-on-panic.sh qa/boot-test.sh

# Trusted boot alone (issue 15): the first boot of `make qa`, which runs under enforced Secure
# Boot and carries the module-signature and verity-root checks (qa/check_trusted_boot.py), and
# the tampered-disk boot (qa/tamper.sh); `make qa` has both too.
qa-secureboot: image
	PROFILE=$(PROFILE) IMAGE=$(IMAGE_RAW) QA_PORT=$(QA_PORT) ACCEL=$(ACCEL) QA_BOOTS="first tampered" qa/retry-on-panic.sh qa/boot-test.sh

qa-held: image
	PROFILE=$(PROFILE) IMAGE=$(IMAGE_RAW) QA_PORT=$(QA_PORT) ACCEL=$(ACCEL) qa/retry-on-panic.sh qa/held-test.sh

qa-boot-time: image
	PROFILE=$(PROFILE) IMAGE=$(IMAGE_RAW) QA_PORT=$(QA_PORT) ACCEL=$(ACCEL) qa/retry-on-panic.sh qa/boot-time.sh

# The product image next to a stock trixie image (recipes/bare-trixie, built here): boot time
# (first /healthz vs login prompt) and the kernel-hardening-checker report, judged against
# qa/hardening-waivers.txt. Reads the first boot that `make qa` kept in build/qa/<variant>/.
# The stock image's build is compared against a lock naming a base-files version the mirror
# does not have: it must succeed and name it (qa/stale-lock-check.sh; the lock is a record).
qa-compare: image-deps
	mkdir -p build/qa
	printf '# qa/stale-lock-check.sh: a version the mirror does not have\nbase-files 0~gone amd64\n' \
	    >build/qa/stale.lock
	GPUHOST_PACKAGES_LOCK_FILE=$(CURDIR)/build/qa/stale.lock $(MAKE) image PROFILE=bare-trixie IMAGE_PROFILES=
	qa/stale-lock-check.sh build/bare-trixie
	VARIANT=$(notdir $(IMAGE_OUT)) QA_PORT=$(QA_PORT) ACCEL=$(ACCEL) qa/compare.sh

# The PXE bundle is its own recipe (recipes/pxe, composed from kvm-host): built and booted here
# whatever PROFILE says. The bundle's HTTP server listens on 127.0.0.1:18481 (a free port if busy).
# qa-fleet boots three nodes at once (pages on QA_PORT, +2, +3), qa-pxe one of them. The fleet
# renderer checks policies with the host's agent binary (`build`).
# `make qa` (CI) boots two of the three nodes: "pass" (judged in full, libvirt over TLS) and
# "broken" (fails closed, stays reachable). Three TCG guests on CI's two cores took ~9.5 min to
# the first page (two: about one boot's time); "keep" adds least. `make qa-fleet` boots all three.
QA_FLEET_NODES ?= pass keep broken
QA_FLEET_CI_NODES ?= pass broken
qa-fleet: image-deps build
	$(MAKE) image PROFILE=pxe IMAGE_PROFILES=
	PROFILE=pxe IMAGE=build/pxe/image.raw QA_PORT=$(QA_PORT) ACCEL=$(ACCEL) QA_FLEET_NODES="$(QA_FLEET_NODES)" \
	    qa/retry-on-panic.sh qa/fleet-test.sh

qa-pxe: image-deps build
	$(MAKE) image PROFILE=pxe IMAGE_PROFILES=
	PROFILE=pxe IMAGE=build/pxe/image.raw QA_PORT=$(QA_PORT) ACCEL=$(ACCEL) QA_FLEET_NODES=pass \
	    qa/retry-on-panic.sh qa/fleet-test.sh

image-report: image
	image/report.py $(IMAGE_OUT)

# Record what the mirror serves now: build (if an input changed), then write
# recipes/<recipe>/packages[+<profile>...].lock from the image's manifest. Review the diff.
image-lock: image
	image/packages-lock.py write $(IMAGE_OUT)/image.manifest \
	    recipes/$(PROFILE)/packages$(if $(IMAGE_PROFILES),+$(subst $(comma),+,$(IMAGE_PROFILES))).lock

# An update directory (docs/updates.md, "What the build publishes"): this build's UKI and root
# slot partitions under their versioned names, SHA256SUMS over every version in DEST, signed
# with the update key (image/update-key.sh). PUBLISH_XZ=yes compresses the partitions.
PUBLISH_XZ ?= no
image-publish: image
	@test -n "$(DEST)" || { echo "usage: make image-publish DEST=DIR [PUBLISH_XZ=yes] (docs/updates.md)" >&2; exit 2; }
	image/publish.py --build $(IMAGE_OUT) --dest $(DEST) $(if $(filter yes,$(PUBLISH_XZ)),--xz)

# A/B update and rollback under qemu (qa/update-test.sh): N is this image; N+1 and N+2 are
# built incrementally into build/qa-update-n1/ and -n2/, published and served to the guest.
QA_UPDATE_PORT ?= 18680
qa-update: image
	IMAGE=$(IMAGE_RAW) QA_PORT=$(QA_PORT) QA_UPDATE_PORT=$(QA_UPDATE_PORT) ACCEL=$(ACCEL) qa/update-test.sh

image-repro: image-deps
	PROFILE=$(PROFILE) IMAGE_PROFILES=$(IMAGE_PROFILES) image/repro-check.sh

image-clean:
	rm -rf $(IMAGE_OUT)

image-distclean: image-clean
	rm -rf build/cache
