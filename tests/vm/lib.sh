# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Helpers for the tests scripts/vm-run.sh runs in the VM.  Source it first:
#
#	. "$(dirname "$0")/lib.sh"
#
# The guest (scripts/vm-guest.sh) runs each test as root with cwd = the
# repository and exports SMTPGATE_KO (the module built for the booted
# kernel), SMTPGATE_REPO, KVER and SG_OUT (a directory the host gets back,
# for logs and pcaps).  It already fails a test that leaves a kernel splat
# in dmesg, taints the kernel or leaves network namespaces behind.

# ---- test bed basics (scripts/vm-*.sh); keep this part small -------------
#
#	ksft_skip REASON		prints "SKIP: REASON", exits 4
#	ksft_fail MESSAGE		prints "FAIL: MESSAGE", exits 1
#	require_cmd CMD...		skips the test unless every CMD exists
#	poll_until SECS CMD...		retries CMD every 0.1 s until it
#					succeeds (0) or SECS pass (1)
#	unique_name PREFIX		PREFIX-<6 hex digits>, fresh per call
#	dmesg_mark			the current end of the kernel log
#	dmesg_since MARK		the kernel log lines after MARK
#	expect_alloc_failures COMM...	this test makes COMM's allocations
#					fail on purpose: their warn_alloc
#					reports are not splats

# kselftest exit codes; vm-guest.sh maps them to ok / not ok / # SKIP.
# shellcheck disable=SC2034 # for the tests that source this file
KSFT_PASS=0
KSFT_FAIL=1
KSFT_SKIP=4

ksft_skip() {
	echo "SKIP: $*"
	exit "$KSFT_SKIP"
}

ksft_fail() {
	echo "FAIL: $*" >&2
	exit "$KSFT_FAIL"
}

expect_alloc_failures() {
	printf '%s\n' "$@" >>"${SG_ALLOC_FAILURES:-/dev/null}"
}

require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || ksft_skip "$c not installed"
	done
}

# Polling instead of sleeping: as fast as the condition allows on an idle
# machine, still correct on a slow TCG guest.
poll_until() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# Names that cannot clash with another test's or the host's.  Note an
# interface name has at most 15 characters.
unique_name() {
	printf '%s-%06x\n' "$1" $(((RANDOM << 15 | RANDOM) & 0xffffff))
}

# dmesg is never cleared (that would hide splats from vm-guest.sh): a test
# that looks for its own kernel messages remembers where the log ended.
dmesg_mark() {
	dmesg | wc -l
}

dmesg_since() {
	dmesg | tail -n +"$(($1 + 1))"
}

# ---- end of test bed basics ----------------------------------------------
