#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Fault injection (issue #10): every generic netlink command of smtpgate,
# and the module load, through each allocation failure in turn.  failslab
# with the per-task fail-nth (Documentation/fault-injection/
# fault-injection.rst): userspace/tools/sgfault arms fail-nth = 1, 2, ...
# on its own thread around one request (or one finit_module) until the
# request no longer reaches the failure.  Each failed request must fail
# with a clean errno and leave the state exactly as before: policy, bans,
# hosts, table sizes and the module's netfilter hooks (nft list hooks),
# compared as full dumps; each load that failed must leave no module, no
# genl family and no slab cache.  No leak: rmmod destroys the module's
# caches ("Slab cache still has objects" is a splat), and on the debug
# kernel vm-guest.sh's kmemleak scan sees every kmalloc.
#
# Needs CONFIG_FAULT_INJECTION, CONFIG_FAILSLAB and
# CONFIG_FAULT_INJECTION_DEBUG_FS: Debian's stock kernels have none, so
# there it SKIPs; it runs on the debug kernel (make check-debug).

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net.sh"

SGFAULT=${SMTPGATE_REPO:-.}/userspace/tools/sgfault
FS=/sys/kernel/debug/failslab
PARAMS="internal=192.0.2.0/24,2001:db8:1::/64 exempt=192.0.2.25 action=log"
SAVED=()

cleanup() {
	local kv
	for kv in "${SAVED[@]}"; do
		echo "${kv#*=}" >"${kv%%=*}" 2>/dev/null
	done
	sg_unload
}

# Sets a fault-injection knob, remembering its value for cleanup.
knob() # FILE VALUE
{
	[ -w "$1" ] || return 0
	SAVED+=("$1=$(cat "$1")")
	echo "$2" >"$1"
}

# Prints sgfault's lines as TAP comments; counts its verdict.
sgfault() # DESCRIPTION ARGS...
{
	local desc=$1 rc
	shift
	# Streamed, so that a timeout still shows how far it went.
	"$SGFAULT" "$@" 2>&1 | sed -u 's/^/#   /'
	rc=${PIPESTATUS[0]}
	if ((rc == 0)); then
		tap_ok "$desc"
	else
		tap_fail "$desc (sgfault exited $rc)"
	fi
}

[ "$(id -u)" = 0 ] || ksft_skip "needs root (run it with scripts/vm-run.sh)"
[ -f "${SMTPGATE_KO:-}" ] || ksft_skip "no module (SMTPGATE_KO=${SMTPGATE_KO:-})"
[ -x "$SGFAULT" ] || ksft_skip "userspace tools not built (make -C userspace)"
# The unfaulted scenarios only calibrate the fault part (215 s on a stock
# kernel under TCG): without fault injection there is nothing to run.
if [ ! -e "/proc/self/task/$BASHPID/fail-nth" ]; then
	ksft_skip "kernel $(uname -r) has no fail-nth (CONFIG_FAULT_INJECTION): run it on the debug kernel"
fi
trap cleanup EXIT
sg_deps || ksft_fail "cannot load smtpgate's dependencies"
nft list hooks >/dev/null 2>&1 ||
	echo "# nft list hooks unsupported here: hooks not compared"
insmod "$SMTPGATE_KO" || ksft_fail "smtpgate does not load"

# The scenarios unfaulted, on any kernel: the comparisons below would be
# empty if the states were not reproducible or a mutation not in them.
sgfault "every scenario unfaulted: states reproducible, changes visible" \
	--no-faults cmds
((TAP_FAIL == 0)) || tap_summary

mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug
[ -d "$FS" ] ||
	ksft_skip "kernel $(uname -r) has no failslab in debugfs (CONFIG_FAILSLAB, CONFIG_FAULT_INJECTION_DEBUG_FS)"

# failslab by default spares allocations that may sleep (GFP_KERNEL):
# nearly all of a netlink handler's.  fail-nth overrides probability,
# interval and times; no stack dumps in the log (the test bed would take
# them for splats).  fail_page_alloc shares the fail-nth count, but its
# failures print a page allocation warning: keep it out.
knob "$FS/ignore-gfp-wait" N
knob "$FS/verbose" 0
knob "$FS/task-filter" N
knob /sys/kernel/debug/fail_page_alloc/min-order 11
knob /sys/kernel/debug/fail_page_alloc/verbose 0
# A vmalloc whose vm_struct allocation is made to fail reports it
# (warn_alloc: "vmalloc error", a stack trace): the injected failure
# itself, which the test bed must not take for a splat.
expect_alloc_failures sgfault

sgfault "every netlink command fails cleanly at each allocation" cmds
sg_unload || tap_fail "rmmod after the netlink faults"
check "no cache of the module is left with objects" \
	bash -c "! grep -q '^smtpgate' /proc/slabinfo && ! dmesg | grep -q 'still has objects'"

sgfault "insmod with parameters fails cleanly at each allocation" \
	insmod "$SMTPGATE_KO" "$PARAMS"
sgfault "insmod without parameters fails cleanly at each allocation" \
	insmod "$SMTPGATE_KO" ""
check "the module loads and unloads after all that" \
	bash -c "insmod '$SMTPGATE_KO' $PARAMS && rmmod smtpgate"
tap_summary
