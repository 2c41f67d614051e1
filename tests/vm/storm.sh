#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The storm (RELIABILITY cases 11 and 16): for 20 seconds on the VM's two
# CPUs, bans are added, removed, flushed and dumped, policies swapped (with
# host tables replaced), hosts dumped and forgotten, and network namespaces
# with their own policy and bans created and destroyed, all while a flood
# of SMTP and other packets crosses the gateway.  Afterwards the gateway
# still forwards, the module unloads, and no cache is left with objects
# (kmem_cache_destroy would say so: a splat the test bed catches), and the
# kernel is not tainted beyond the out-of-tree module.
#
#   client  192.0.2.10 --+                 +-- mx 203.0.113.25
#   spambot 192.0.2.66 --+-- gateway ------+
#     (floods SYNs to 25, UDP to 53)        (also 2001:db8:3::25)

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net.sh"

CTL=${SMTPGATE_REPO:-.}/userspace/ctl/smtpgatectl
STORM_SECONDS=${STORM_SECONDS:-20}
PIDS=()

cleanup() {
	if [[ ${#PIDS[@]} -gt 0 ]]; then
		kill "${PIDS[@]}" 2>/dev/null
		wait "${PIDS[@]}" 2>/dev/null
	fi
	ip -all netns list 2>/dev/null | awk '/^sgstorm-/{print $1}' |
		xargs -r -n1 ip netns del
	sg_unload
	net_cleanup
}

until_end() # CMD...: runs CMD in a loop until the storm is over
{
	local end=$((SECONDS + STORM_SECONDS))

	while ((SECONDS < end)); do
		"$@" >/dev/null 2>&1
	done
}

flood() {
	in_ns spambot "$SGCRAFT" send -n 2000 \
		tcp4 src="$SPAMBOT4" dst="$MX4" dport=25 flags=S \
		udp4 src="$SPAMBOT4" dst="$MX4" dport=53 data=Q7storm \
		tcp6 src="$SPAMBOT6" dst="$MX6" dport=465 flags=S
}

ban_churn() {
	local i=$((RANDOM % 250 + 1)) scope=smtp

	((RANDOM % 2)) && scope=all
	"$CTL" ban "192.0.2.$i" --for 5s --scope $scope --reason storm
	"$CTL" ban "2001:db8:1::$i" --scope $scope
	"$CTL" unban "192.0.2.$((RANDOM % 250 + 1))"
	"$CTL" banned "$SPAMBOT4"
}

bulk() {
	"$CTL" load "$NET_DIR/bans.txt" --quiet
	"$CTL" -j bans
	"$CTL" flush
}

policy_swap() {
	local p4=$((RANDOM % 2 ? 32 : 24)) action=drop

	((RANDOM % 2)) && action=log
	"$CTL" policy set internal=192.0.2.0/24,2001:db8:1::/64 \
		action=$action host_prefix4=$p4 walled_garden=203.0.113.44 \
		max_hosts=256
	"$CTL" -j hosts
	"$CTL" forget all
	"$CTL" stats
}

# A namespace with its own policy and bans, then gone: nothing may leak.
netns_churn() {
	local ns=sgstorm-$RANDOM

	ip netns add "$ns" || return
	"$CTL" -n "$ns" policy set internal=198.51.100.0/24
	"$CTL" -n "$ns" load "$NET_DIR/bans.txt" --quiet
	"$CTL" -n "$ns" ban 198.51.100.7 --for 1s
	ip netns del "$ns"
}

[ "$(id -u)" = 0 ] || ksft_skip "needs root (run it with scripts/vm-run.sh)"
[ -f "${SMTPGATE_KO:-}" ] || ksft_skip "no module (SMTPGATE_KO=${SMTPGATE_KO:-})"
require_cmd ip jq
[ -x "$CTL" ] && [ -x "$SGCRAFT" ] ||
	ksft_skip "userspace tools not built (make -C userspace)"
trap cleanup EXIT

sg_deps || ksft_fail "cannot load smtpgate's dependencies"
net_setup || ksft_fail "cannot set up the namespaces"
sg_load internal=192.0.2.0/24,2001:db8:1::/64 || ksft_fail "smtpgate does not load"
net_mx_start || ksft_fail "the outside MX does not listen"
for i in $(seq 1 1000); do
	echo "203.0.113.$((i % 250 + 1))/32 30s all storm-$i"
	echo "2001:db8:3:$i::/64 1h smtp"
done | sort -u >"$NET_DIR/bans.txt"

echo "# storm: $STORM_SECONDS s of churn under a flood"
until_end flood & PIDS+=($!)
until_end ban_churn & PIDS+=($!)
until_end bulk & PIDS+=($!)
until_end policy_swap & PIDS+=($!)
until_end netns_churn & PIDS+=($!)
wait "${PIDS[@]}"
PIDS=()
tap_ok "the storm ran its course"

"$CTL" flush
"$CTL" policy set internal=192.0.2.0/24 action=drop ||
	tap_fail "policy set after the storm"
expect_tcp pass client "$CLIENT4" "$MX4" 80
expect_tcp drop client "$CLIENT4" "$MX4" 25
check "statistics are still readable" "$CTL" stats
check "no netns of the storm is left" \
	bash -c "! ip netns list | grep -q sgstorm-"
# Bans and hosts of dead namespaces must be freed: rmmod destroys the
# caches, and the kernel says "Slab cache still has objects" (a splat the
# test bed catches) if any is left.  slabinfo alone cannot tell: SLUB
# counts objects free in per-CPU slabs as active.
sg_unload || tap_fail "rmmod smtpgate after the storm"
check "the module's caches are destroyed, with no object left in them" \
	bash -c "! grep -q '^smtpgate_' /proc/slabinfo && ! dmesg | grep -q 'still has objects'"
tap_summary
