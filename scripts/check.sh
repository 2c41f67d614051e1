#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make check`: every test smtpgate has, in one run, ending with the line
# "N passed, N failed[, N skipped]".  Each part prints TAP; a part's
# top-level "ok"/"not ok" lines are what is counted.
#
#   builds      the module W=1 for every installed kernel, the userspace
#   checkpatch  kmod/ style
#   unit        userspace unit tests (classifier corpus, differential)
#   fuzz        libFuzzer with ASan+UBSan: the classifier (FUZZ_SECONDS, 60),
#               smtpgated's config and SMTP stream parsers
#   vm          the kernel selftests in QEMU (tests/vm/*.sh) and the demo on
#               Debian 12's 6.1 (VM_KVER); on its 6.12 update (VM_KVER2) the
#               tests of the state lifecycle, whose kernel APIs moved
#               between the two (VM_TESTS2; VM_TESTS2="$VM_TESTS" runs
#               all: 30 more minutes).  Each result line names its kernel.
#   reboot      smtpgated's bans across two boots of the VM
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-$PWD/.build}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
# shellcheck source=scripts/check-lib.sh
. scripts/check-lib.sh

VM_KVER=${VM_KVER:-$(newest 6.1)}
VM_KVER2=${VM_KVER2-$(newest 6.12)}
# The whole suite on both kernels takes an hour here: make check must stay
# under 30 minutes, also beside another VM.
VM_TESTS2=${VM_TESTS2:-tests/vm/smoke.sh tests/vm/banlife.sh tests/vm/episodes.sh tests/vm/hosts.sh tests/vm/memcg.sh}

# Builds the DKMS source tree in a private DKMS tree: nothing installed.
dkms_build() {
	local t="$BUILD/dkms"
	rm -rf "$t" && mkdir -p "$t/tree" &&
		make -s dkms-source DESTDIR="$t" DKMS_SRC=/src/smtpgate-0.0 VERSION=0.0 &&
		dkms build --dkmstree "$t/tree" --sourcetree "$t/src" \
			smtpgate/0.0 -k "$VM_KVER" &&
		test -f "$t/tree/smtpgate/0.0/$VM_KVER/x86_64/module/smtpgate.ko"*
}

# The VM tests $2 on kernel $1.
vm_suite() {
	# shellcheck disable=SC2086
	scripts/vm-run.sh -k "$1" -t 600 $2 | tag_kernel "$1"
	return "${PIPESTATUS[0]}"
}

step "build: module and userspace" make all
step "build: module W=1 for every installed kernel" make kernels
step "checkpatch: kmod/" make checkpatch
step "build: DKMS package for $VM_KVER" dkms_build
part unit make -s -C userspace check
step "fuzz: classifier ${FUZZ_SECONDS}s, config, SMTP stream" make -s -C userspace fuzz-quick FUZZ_SECONDS="$FUZZ_SECONDS"
part "vm-$VM_KVER" vm_suite "$VM_KVER" "$VM_TESTS"
[ -z "$VM_KVER2" ] || part "vm-$VM_KVER2" vm_suite "$VM_KVER2" "$VM_TESTS2"

# Two boots sharing smtpgated's state directory: bans survive a reboot.
part reboot scripts/vm-reboot-test.sh

summary
