#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Sourced by check.sh and check-debug.sh: the VM test list, the TAP
# counting and the summary line they share.  Expects BUILD set and the
# repository as the current directory.

# Every VM test, and the demo: `make demo` must keep working.
# (the executable ones: libraries sourced by the tests are not).
VM_TESTS=${VM_TESTS:-$(find tests/vm -maxdepth 1 -name '*.sh' -perm -u+x |
	sort) tests/demo/gateway.sh}
passed=0 failed=0 skipped=0
mkdir -p "$BUILD/check"

# The newest installed kernel of series $1 (6.1: not 6.12).
newest() {
	local d
	for d in /lib/modules/"$1".*/; do
		[ -d "$d" ] && basename "$d"
	done | sort -V | tail -n 1
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

# Runs "$@" as one check named $name: ok when it exits 0.  Returns
# non-zero when it failed, for what depends on it.
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
		return 1
	fi
}

# Runs a TAP-producing part, shows its stream, counts its results; a part
# that fails without saying which of its tests failed counts as one failure.
part() {
	part_run "$@"
	part_count "$1"
}

# Runs part $1 (the command "${@:2}"), its stream to $1.tap, its status
# to $1.rc: on its own, or in the background of a lane.
part_run() {
	local name=$1
	shift
	"$@" >"$BUILD/check/$name.tap" 2>&1
	echo $? >"$BUILD/check/$name.rc"
}

# Shows and counts the part $1 part_run ran.
part_count() {
	local name=$1 log rc before=$failed
	log="$BUILD/check/$name.tap"
	rc=$(cat "$BUILD/check/$name.rc" 2>/dev/null || echo 1)
	echo "# == $name"
	cat "$log"
	count_tap "$log"
	if [ "$rc" -ne 0 ] && [ "$failed" -eq "$before" ]; then
		echo "not ok - $name exited $rc"
		failed=$((failed + 1))
	fi
}

# Puts the kernel in each top-level result line, "ok 3 6.1.0-57-amd64:
# tests/vm/smoke.sh", so a failure says which kernel it was on.
tag_kernel() {
	sed -E "s/^((not )?ok [0-9]+ )/\1$1: /"
}

# The closing line both targets end with; exits non-zero on any failure.
summary() {
	echo
	if [ "$skipped" -gt 0 ]; then
		echo "$passed passed, $failed failed, $skipped skipped"
	else
		echo "$passed passed, $failed failed"
	fi
	[ "$failed" -eq 0 ]
}
