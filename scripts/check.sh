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
#   The VM parts run in two lanes side by side (see split_lanes).
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

# The seconds test $1 took last time (tests/vm/durations; unknown: 60).
duration() {
	awk -v t="$1" '$1 == t { print $2; f = 1 } END { if (!f) print 60 }' \
		tests/vm/durations
}

# Splits VM_TESTS into two lanes of about the same time, longest first,
# each to the lane with less work; lane b starts with the work it has
# besides (the 6.12 tests and the reboot test, about $1 seconds).  Sets
# LANE_A and LANE_B, in VM_TESTS's order.
split_lanes() {
	local a=0 b=$1 t d
	declare -A lane
	while read -r d t; do
		if ((a <= b)); then
			lane[$t]=a a=$((a + d))
		else
			lane[$t]=b b=$((b + d))
		fi
	done < <(for t in $VM_TESTS; do echo "$(duration "$t") $t"; done | sort -rn)
	LANE_A='' LANE_B=''
	for t in $VM_TESTS; do
		if [ "${lane[$t]}" = a ]; then
			LANE_A+=" $t"
		else
			LANE_B+=" $t"
		fi
	done
}

# The VM parts in two lanes, one VM each, side by side: under TCG a test
# VM keeps about one of the machine's two cores busy (a test runs one
# command at a time), so one lane alone left the other core idle for 24
# of make check's 32 minutes.  Lane b also runs the 6.12 tests and the
# reboot test (two boots sharing smtpgated's state directory: bans survive
# a reboot).
other=100
for t in $VM_TESTS2; do other=$((other + $(duration "$t"))); done
split_lanes "$other"
part_run "vm-$VM_KVER-a" vm_suite "$VM_KVER" "$LANE_A" &
lane_a=$!
{
	part_run "vm-$VM_KVER-b" vm_suite "$VM_KVER" "$LANE_B"
	[ -z "$VM_KVER2" ] ||
		part_run "vm-$VM_KVER2" vm_suite "$VM_KVER2" "$VM_TESTS2"
	part_run reboot scripts/vm-reboot-test.sh
} &
lane_b=$!
wait "$lane_a" "$lane_b"
part_count "vm-$VM_KVER-a"
part_count "vm-$VM_KVER-b"
[ -z "$VM_KVER2" ] || part_count "vm-$VM_KVER2"
part_count reboot

summary
