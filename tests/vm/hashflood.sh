#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Hash flooding (RELIABILITY case 8): with the host table's SipHash key
# fixed by test_hash_seed=, an attacker who knows it can pick sources that
# all land in one bucket.  Chains are bounded: the bucket holds at most 16
# hosts, the rest are counted as cap misses, and hosts elsewhere are still
# tracked.  (In production the key is random.)
#
#   spambot 2001:db8:1::66 --- gateway --- mx 2001:db8:3::25
#     sends SYNs to the MX from 64 spoofed sources in distinct /64s of
#     2001:db8:1::/48 that share bucket 0, and from 8 that do not
#
#   smtpgate test_hash_seed=0x5eed; policy internal=2001:db8:1::/48
#   max_hosts=1024 (512 buckets), hosts are /64s

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net.sh"

SEED=0x5eed
MAX_HOSTS=1024
CTL=${SMTPGATE_REPO:-.}/userspace/ctl/smtpgatectl
COLLIDE=${SMTPGATE_REPO:-.}/userspace/tests/collide

cleanup() {
	sg_unload
	net_cleanup
}

# SYN specs from each address on stdin to the MX's port 25.
syn_specs() {
	local a

	while read -r a; do
		echo "tcp6 src=$a dst=$MX6 dport=25 flags=S"
	done
}

tracked_in() # FILE: how many of FILE's /64s the module tracks
{
	local n=0 a

	while read -r a; do
		"$CTL" host "$a" >/dev/null 2>&1 && n=$((n + 1))
	done <"$1"
	echo "$n"
}

[ "$(id -u)" = 0 ] || ksft_skip "needs root (run it with scripts/vm-run.sh)"
[ -f "${SMTPGATE_KO:-}" ] || ksft_skip "no module (SMTPGATE_KO=${SMTPGATE_KO:-})"
require_cmd ip jq
[ -x "$CTL" ] && [ -x "$COLLIDE" ] && [ -x "$SGCRAFT" ] ||
	ksft_skip "userspace tools not built (make -C userspace)"
trap cleanup EXIT

check "the test's SipHash is the kernel's (reference vector)" "$COLLIDE" --selftest
sg_deps || ksft_fail "cannot load smtpgate's dependencies"
net_setup || ksft_fail "cannot set up the namespaces"
sg_load test_hash_seed=$SEED || ksft_fail "smtpgate does not load"
"$CTL" policy set internal=2001:db8:1::/48 max_hosts=$MAX_HOSTS \
	host_prefix6=64 rate_limit=0 dest_limit=0 blocked_limit=0 ||
	ksft_fail "policy set failed"

"$COLLIDE" $SEED $MAX_HOSTS 64 0 >"$NET_DIR/bucket0" ||
	ksft_fail "cannot find 64 colliding /64s"
"$COLLIDE" $SEED $MAX_HOSTS 8 7 >"$NET_DIR/bucket7" ||
	ksft_fail "cannot find 8 /64s in another bucket"

# shellcheck disable=SC2046
in_ns spambot "$SGCRAFT" send $(syn_specs <"$NET_DIR/bucket0") ||
	tap_fail "sgcraft send (colliding sources)"
# shellcheck disable=SC2046
in_ns spambot "$SGCRAFT" send $(syn_specs <"$NET_DIR/bucket7") ||
	tap_fail "sgcraft send (other sources)"

stats=$("$CTL" -j stats)
misses=$(jq -r '.host_cap_misses // empty' <<<"$stats")
collided=$(tracked_in "$NET_DIR/bucket0")
others=$(tracked_in "$NET_DIR/bucket7")
echo "# bucket 0: $collided of 64 tracked; cap misses $misses; bucket 7: $others of 8"
check "the flooded bucket holds exactly 16 hosts (the chain bound)" \
	test "$collided" = 16
check "the 48 others are counted as cap misses" \
	test "${misses:-0}" -ge 48
check "hosts in other buckets are still tracked" test "$others" = 8
check "the table holds 24 hosts" \
	test "$(jq -r '.hosts // empty' <<<"$stats")" = 24

# A second round from the same sources: lookups stay within the bound and
# nothing changes (no growth, nothing evicted that was tracked).
# shellcheck disable=SC2046
in_ns spambot "$SGCRAFT" send $(syn_specs <"$NET_DIR/bucket0")
check "a second flood leaves the bucket at 16" \
	test "$(tracked_in "$NET_DIR/bucket0")" = 16

sg_unload || tap_fail "rmmod smtpgate"
tap_summary
