#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# shellcheck source-path=SCRIPTDIR disable=SC2317 # cleanup, one_hop: indirect
#
# Smoke test of the VM test bed: two hosts reach each other over IPv4 and
# IPv6 through a namespace that forwards, and the replies come back one hop
# shorter, so the packets really crossed the router.  No smtpgate involved:
# when this fails, the test bed is broken, not the module.
#
#      ns $A                 ns $R (forwards)               ns $B
#   +---------------+   +------------------------------+   +----------------+
#   |            a0 |---| r0                        r1 |---| b0             |
#   | 192.0.2.2/25  |   | 192.0.2.1/25  192.0.2.129/25 |   | 192.0.2.130/25 |
#   | 2001:db8:a::2 |   | 2001:db8:a::1  2001:db8:b::1 |   | 2001:db8:b::2  |
#   +---------------+   +------------------------------+   +----------------+
#   default via r0; IPv6 prefixes are /64             default via r1

. "$(dirname "$0")/lib.sh"

A=$(unique_name sgsmoke-a)
R=$(unique_name sgsmoke-r)
B=$(unique_name sgsmoke-b)

cleanup() {
	local ns
	for ns in "$A" "$R" "$B"; do
		ip netns del "$ns" 2>/dev/null
	done
}

# Namespace $1 gets interface $2 with the addresses $3 (IPv4) and $4 (IPv6)
# and its lo up.  nodad: the address is usable at once, not tentative.
addr() {
	ip -n "$1" link set lo up &&
	ip -n "$1" addr add "$3" dev "$2" &&
	ip -n "$1" addr add "$4" dev "$2" nodad &&
	ip -n "$1" link set "$2" up
}

setup() {
	ip netns add "$A" && ip netns add "$R" && ip netns add "$B" &&
	ip link add a0 netns "$A" type veth peer name r0 netns "$R" &&
	ip link add b0 netns "$B" type veth peer name r1 netns "$R" &&
	addr "$A" a0 192.0.2.2/25 2001:db8:a::2/64 &&
	addr "$R" r0 192.0.2.1/25 2001:db8:a::1/64 &&
	addr "$R" r1 192.0.2.129/25 2001:db8:b::1/64 &&
	addr "$B" b0 192.0.2.130/25 2001:db8:b::2/64 &&
	ip -n "$A" route add default via 192.0.2.1 &&
	ip -n "$A" -6 route add default via 2001:db8:a::1 &&
	ip -n "$B" route add default via 192.0.2.129 &&
	ip -n "$B" -6 route add default via 2001:db8:b::1 &&
	ip netns exec "$R" sysctl -qw net.ipv4.ip_forward=1 \
		net.ipv6.conf.all.forwarding=1
}

# Succeeds when one echo from namespace $1 to $2 is answered with a TTL
# (hop limit) of 63: the reply crossed exactly one router.
one_hop() {
	ip netns exec "$1" ping -c 1 -W 1 "$2" 2>&1 | grep -q 'ttl=63 '
}

check() {
	if poll_until 20 one_hop "$1" "$2"; then
		echo "ok: $1 -> $2 through $R"
	else
		echo "FAIL: $1 -> $2: no answer one hop away; last try:"
		ip netns exec "$1" ping -c 1 -W 1 "$2"
		return 1
	fi
}

[ "$(id -u)" = 0 ] || ksft_skip "needs root (run it with scripts/vm-run.sh)"
require_cmd ip ping sysctl
trap cleanup EXIT
setup || ksft_fail "cannot set up the namespaces"

rc=$KSFT_PASS
check "$A" 192.0.2.130 || rc=$KSFT_FAIL
check "$B" 192.0.2.2 || rc=$KSFT_FAIL
check "$A" 2001:db8:b::2 || rc=$KSFT_FAIL
check "$B" 2001:db8:a::2 || rc=$KSFT_FAIL
exit "$rc"
