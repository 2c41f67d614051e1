#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Usage: check-debug.sh [SERIES...]
#
# `make check-debug`: the whole VM suite (the same list as `make check`) on
# the debug kernel of scripts/debug-kernel.sh (KASAN, UBSAN, kmemleak,
# lockdep, PROVE_RCU, debug objects, KFENCE, fault injection), for each
# SERIES (default: 6.1, and 6.12 when linux-source-6.12 is installed),
# ending with the line "N passed, N failed[, N skipped]".
#
#   1. builds the debug kernel, or reuses it from the cache
#      (${SMTPGATE_CACHE:-/var/cache/smtpgate}/kernels; a cold build takes
#      about 40 minutes on 2 cores)
#   2. builds smtpgate.ko W=1 against it, and the userspace
#   3. boots it in QEMU and runs every test; vm-guest.sh fails a test on any
#      report in dmesg, and on a kmemleak report from smtpgate after it
#
# DEBUG_TIMEOUT (default 1800) is the per-test timeout: the debug kernel
# under TCG runs the tests several times slower than a stock one.
# VM_TESTS picks the tests, as for check.sh.  Reports stay in the run's
# output directory (console.log, dmesg.log, kmemleak-smtpgate.txt).
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-$PWD/.build}
DEBUG_TIMEOUT=${DEBUG_TIMEOUT:-1800}
# KASAN's shadow and kmemleak's metadata want more than the stock 2G.
export VM_MEM=${VM_MEM:-3G}
# This kernel under TCG interprets ACPI's AML so slowly that the PCI _PRT
# method hits ACPICA's 30 s loop timeout: virtio-pci gets no interrupt and
# the 9p root never mounts.  The BIOS's PIRQ table routes them instead.
# kasan_multi_shot: every KASAN report, not only the first of the boot (the
# first test's report must not hide the next one's).
export VM_APPEND=${VM_APPEND:-pci=noacpi kasan_multi_shot}
# shellcheck source=scripts/check-lib.sh
. scripts/check-lib.sh

# Prints "SERIES KERNELRELEASE DIR" for the debug kernel of series $1.
debug_kernel() {
	scripts/debug-kernel.sh "$1" >"$BUILD/check/debug-kernel-$1.line"
}

# The VM suite on the debug kernel: image $1, release $2.
vm_debug_suite() {
	# shellcheck disable=SC2086
	scripts/vm-run.sh -K "$1" -k "$2" -t "$DEBUG_TIMEOUT" $VM_TESTS |
		tag_kernel "$2"
	return "${PIPESTATUS[0]}"
}

main() {
	local series krel dir
	if [ $# -eq 0 ]; then
		set -- 6.1
		[ -r /usr/src/linux-source-6.12.tar.xz ] && set -- 6.1 6.12
	fi
	step "build: userspace" make -s userspace
	for series in "$@"; do
		step "build: debug kernel $series (or reuse it)" debug_kernel "$series" ||
			continue
		read -r _ krel dir <"$BUILD/check/debug-kernel-$series.line" || {
			echo "not ok - debug kernel $series: no kernel"
			failed=$((failed + 1))
			continue
		}
		echo "# debug kernel $krel in $dir"
		step "build: module W=1 for $krel" \
			scripts/build-kernels.sh "$krel=$dir/build" || continue
		part "vm-$krel" vm_debug_suite "$dir/bzImage" "$krel"
	done
	summary
}

main "$@"
