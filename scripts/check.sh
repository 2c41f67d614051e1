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
#   vm          the kernel selftests in QEMU (tests/vm/*.sh) and the demo
#   reboot      smtpgated's bans across two boots of the VM
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-$PWD/.build}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
# Every VM test, and the demo: `make demo` must keep working.
# (the executable ones: libraries sourced by the tests are not).
VM_TESTS=${VM_TESTS:-$(find tests/vm -maxdepth 1 -name '*.sh' -perm -u+x |
	sort) tests/demo/gateway.sh}
mkdir -p "$BUILD/check"

VM_KVER=${VM_KVER:-$(ls -1v /lib/modules | grep '^6\.1\.' | tail -n 1)}

passed=0 failed=0 skipped=0

# Builds the DKMS source tree in a private DKMS tree: nothing installed.
dkms_build() {
	local t="$BUILD/dkms"
	rm -rf "$t" && mkdir -p "$t/tree" &&
		make -s dkms-source DESTDIR="$t" DKMS_SRC=/src/smtpgate-0.0 VERSION=0.0 &&
		dkms build --dkmstree "$t/tree" --sourcetree "$t/src" \
			smtpgate/0.0 -k "$VM_KVER" &&
		test -f "$t/tree/smtpgate/0.0/$VM_KVER/x86_64/module/smtpgate.ko"*
}

# Counts the TAP results in file $1 (top-level lines only).
count_tap() {
	local p f s
	p=$(grep -cE '^ok [0-9]+' "$1" | head -1)
	s=$(grep -cE '^ok [0-9]+.*# *SKIP' "$1" | head -1)
	f=$(grep -cE '^not ok [0-9]+' "$1" | head -1)
	passed=$((passed + p - s))
	skipped=$((skipped + s))
	failed=$((failed + f))
}

# Runs "$@" as one check named $name: ok when it exits 0.
step() {
	local name=$1 log
	shift
	log="$BUILD/check/$(echo "$name" | tr -c 'a-zA-Z0-9\n' _).log"
	echo "# == $name"
	if "$@" >"$log" 2>&1; then
		echo "ok - $name"
		passed=$((passed + 1))
	else
		sed 's/^/# /' "$log" | tail -40
		echo "not ok - $name (full log: $log)"
		failed=$((failed + 1))
	fi
}

# Runs a TAP-producing part, shows its stream, counts its results; a part
# that fails without saying which of its tests failed counts as one failure.
part() {
	local name=$1 log rc
	shift
	log="$BUILD/check/$name.tap"
	echo "# == $name"
	"$@" >"$log" 2>&1
	rc=$?
	cat "$log"
	local before=$failed
	count_tap "$log"
	if [ $rc -ne 0 ] && [ "$failed" -eq "$before" ]; then
		echo "not ok - $name exited $rc"
		failed=$((failed + 1))
	fi
}

step "build: module and userspace" make all
step "build: module W=1 for every installed kernel" make kernels
step "checkpatch: kmod/" make checkpatch
step "build: DKMS package for $VM_KVER" dkms_build
part unit make -s -C userspace check
step "fuzz: classifier ${FUZZ_SECONDS}s, config, SMTP stream" make -s -C userspace fuzz-quick FUZZ_SECONDS="$FUZZ_SECONDS"
# shellcheck disable=SC2086
part vm scripts/vm-run.sh -t 600 $VM_TESTS
# Two boots sharing smtpgated's state directory: bans survive a reboot.
part reboot scripts/vm-reboot-test.sh

echo
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
