# SPDX-License-Identifier: GPL-2.0
#
# smtpgate: `make` builds the module and the userspace tools,
# `make check` runs every test (userspace and in the VM), `make demo` boots
# the VM gateway and plays the scenario, `make bench` measures.

KVER ?= $(shell uname -r)
# The running kernel's headers; else (build machines, CI) the newest installed.
KDIR ?= $(firstword $(wildcard /lib/modules/$(KVER)/build) \
	$(shell ls -1dv /lib/modules/*/build 2>/dev/null | tail -n 1))
# The release KDIR is for, as `uname -r` prints it there.
KREL = $(shell sed -n 's/.*UTS_RELEASE "\(.*\)"/\1/p' \
	$(KDIR)/include/generated/utsrelease.h)
# The kernel the VM boots for tests and the demo: Debian 12's 6.1.
VM_KVER ?= $(shell ls -1v /lib/modules 2>/dev/null | grep '^6\.1\.' | tail -n 1)
# Every installed kernel we build against in CI.
ALL_KVERS ?= $(shell ls -1v /lib/modules 2>/dev/null)

# The one definition of the version: VERSION, read here and by
# userspace/Makefile (the tools' --version), and written into dkms.conf.
VERSION := $(shell cat $(CURDIR)/VERSION)
BUILD := $(CURDIR)/.build
DESTDIR ?=
INSTALL_MOD_DIR ?= updates

export KDIR VM_KVER BUILD

.PHONY: all module userspace kernels check check-debug demo bench fuzz install \
	checkpatch deps dkms dkms-source clean

all: module userspace

module:
	@test -n "$(KDIR)" || { echo "no kernel headers found (KDIR)" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) W=1 modules

userspace:
	$(MAKE) -C userspace

# The module W=1 for every installed kernel, each in its own copy of the
# sources (scripts/build-kernels.sh), so builds for two kernels never mix.
kernels:
	scripts/build-kernels.sh $(ALL_KVERS)

deps:
	@scripts/install-deps.sh

check: deps
	scripts/check.sh

# The VM suite on a KASAN/UBSAN/kmemleak/lockdep kernel built from Debian's
# linux-source (cached in /var/cache/smtpgate/kernels); not run in CI.
check-debug: deps
	scripts/check-debug.sh

demo: deps
	scripts/demo.sh

bench: deps
	scripts/bench.sh

fuzz: deps
	$(MAKE) -C userspace fuzz FUZZ_SECONDS=$${FUZZ_SECONDS:-600}
	$(MAKE) fuzz-netlink

# The netlink fuzzer in the VM (tests/vm/nlfuzz.sh) for NLFUZZ_SECONDS
# (600; `make check` runs it for 60 s).  The guest sees no environment:
# the duration goes in a wrapper under $(BUILD), which the guest sees.
NLFUZZ_SECONDS ?= 600
.PHONY: fuzz-netlink
fuzz-netlink: deps
	$(MAKE) -C userspace tools/sgnlfuzz
	mkdir -p $(BUILD)/vm
	printf '#!/bin/bash\nFUZZ_SECONDS=%u exec "$$SMTPGATE_REPO/tests/vm/nlfuzz.sh"\n' \
		$(NLFUZZ_SECONDS) >$(BUILD)/vm/nlfuzz-long.sh
	chmod +x $(BUILD)/vm/nlfuzz-long.sh
	scripts/vm-run.sh -t $$(($(NLFUZZ_SECONDS) + 300)) $(BUILD)/vm/nlfuzz-long.sh

# Clean means no output at all: CHECKs count too.
checkpatch:
	@scripts/kernel-tools.sh
	@out=$$($(BUILD)/linux-6.1/scripts/checkpatch.pl --no-tree --strict \
		--terse --ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG \
		-f $(filter-out %.mod.c,$(wildcard kmod/*.c)) kmod/*.h \
		kmod/include/uapi/linux/*.h); \
	if [ -n "$$out" ]; then echo "$$out"; exit 1; fi; \
	echo "checkpatch: kmod/ clean"


install: module userspace
	$(MAKE) -C $(KDIR) M=$(CURDIR) INSTALL_MOD_DIR=$(INSTALL_MOD_DIR) \
		$(if $(DESTDIR),INSTALL_MOD_PATH=$(DESTDIR)) modules_install
	depmod $(if $(DESTDIR),-b $(DESTDIR)) -a $(KREL)
	$(MAKE) -C userspace install DESTDIR=$(DESTDIR)
	install -D -m 0644 userspace/xt/libxt_SMTPGATE.so \
		$(DESTDIR)$$(pkg-config --variable=xtlibdir xtables)/libxt_SMTPGATE.so

# The DKMS source tree: kmod/ alone builds the module (its Kbuild at the top).
DKMS_SRC ?= /usr/src/smtpgate-$(VERSION)
dkms-source:
	rm -rf $(DESTDIR)$(DKMS_SRC)
	mkdir -p $(DESTDIR)$(DKMS_SRC)
	cp -r kmod/Kbuild $(filter-out %.mod.c,$(wildcard kmod/*.c)) kmod/*.h \
		kmod/include $(DESTDIR)$(DKMS_SRC)/
	sed 's/@VERSION@/$(VERSION)/' kmod/dkms.conf > $(DESTDIR)$(DKMS_SRC)/dkms.conf

dkms: dkms-source
	dkms add smtpgate/$(VERSION) || true
	dkms install smtpgate/$(VERSION)

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null || true
	$(MAKE) -C userspace clean
	rm -rf $(BUILD)
