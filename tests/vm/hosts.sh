#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# shellcheck source-path=SCRIPTDIR disable=SC2317 # cleanup: indirect
#
# Flagging from real traffic (issue 3): simulated spambot sources behind
# the gateway connect to MX addresses outside, each case tuned so one
# reason fires (rate, blocked, destinations, tunnel); `smtpgatectl -j
# monitor` must see each HOST_FLAGGED event with the right evidence.  A
# well-behaved client and the exempt mail server are not flagged; IPv6
# sources rotating inside one /64 are one host; a small host table evicts
# unflagged hosts, keeps the flagged ones and stays under its cap.  The
# /24 (and the /48) whose addresses filled the table is counted as one
# aggregate, flagged as one, and its episode ends with a ban covering it;
# a host outside them is still tracked on its own once eviction made room.
#
#   LAN 192.0.2.0/24, 2001:db8:1::/64        outside 203.0.113.0/24,
#   +----------------------------+            2001:db8:3::/64
#   | spambot .66: sgcraft send  |   +--------------------+   +--------------+
#   |  from .101-.105 (a case    |---| gateway sg-gw-<id> |---| mx .25 ::25  |
#   |  each), ::1:0-::1:13,      |   | smtpgatectl policy |   | .100-.119 and|
#   |  .130-.250 (the cap),      |   | set window=86400   |   | ::100-: MX   |
#   |  2001:db8:1:1-3c::1 (a /48)|   | max_hosts=64       |   | addresses    |
#   |  and 10.20.30.7 (outside)  |   | internal: LAN, the |   | peer .44     |
#   | client .10 (real connects) |   | /48, 10.20.30.0/24 |   +--------------+
#   | mailsrv .25 (exempt)       |   +--------------------+
#   +----------------------------+
#
# One window (86400 s) for the whole test, so rates are exact.

SMTPGATE_TEST_GW_NETNS=1
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net.sh"
. "$(dirname "$0")/ctl-lib.sh"

cleanup() {
	mon_stop >/dev/null 2>&1
	net_cleanup
	sg_unload
}

# SYNs from ROLE: N copies of one spec per source, or one spec per
# destination.
syns() # ROLE SPEC...
{
	local role=$1
	shift
	in_ns "$role" "$SGCRAFT" send "$@" >/dev/null
}

# 'tcp4 src=SRC dst=DST' for each DST: one SYN to each.
to_each() # KIND SRC DST...
{
	local kind=$1 src=$2 d
	shift 2
	for d in "$@"; do
		printf '%s src=%s dst=%s ' "$kind" "$src" "$d"
	done
}

# The host-flagged event of HOST must arrive and satisfy JQ.
expect_flagged() # DESC HOST JQ
{
	local desc=$1 host=$2 test=$3 ev
	ev=$(mon_wait 10 "select(.event == \"host-flagged\" and .host.host == \"$host\")")
	if [[ -z $ev ]]; then
		tap_fail "$desc: no host-flagged event for $host"
		return 1
	fi
	if [[ $(wc -l <<<"$ev") != 1 ]]; then
		tap_fail "$desc: more than one host-flagged event for $host"
		echo "$ev" | sed 's/^/#   /'
		return 1
	fi
	if jq -e ".host | $test" >/dev/null <<<"$ev"; then
		tap_ok "$desc"
		return 0
	fi
	tap_fail "$desc: the evidence is not $test"
	echo "#   $ev"
	return 1
}

# Only the reason under test: the other limits off.
limits() # RATE BLOCKED DESTS TUNNEL ACTION
{
	ctl policy set rate_limit="$1" blocked_limit="$2" dest_limit="$3" \
		flag_tunnel="$4" action="$5"
}

test_reasons() {
	echo "# -- each reason, from its own source"
	local dsts=() i
	limits 15 0 0 0 log &&
	syns spambot -n 16 tcp4 src=192.0.2.101 dst="$MX4"
	expect_flagged "rate: 16 SYNs in the window (limit 15, action log)" \
		192.0.2.101/32 \
		'.reasons == ["rate"] and .attempts.smtp4 == 16 and .rate == 16 and .blocked == 0 and .logged == 16 and .flagged and (.flagged_at | type) == "number"'

	limits 0 10 0 0 drop &&
	syns spambot -n 10 tcp4 src=192.0.2.102 dst="$MX4"
	expect_flagged "blocked: 10 dropped SYNs (limit 10)" 192.0.2.102/32 \
		'.reasons == ["blocked"] and .attempts.smtp4 == 10 and .blocked_rate == 10 and .blocked == 10 and .destinations == 1'

	for i in $(seq 100 119); do
		dsts+=("203.0.113.$i")
	done
	limits 0 0 10 0 drop
	# shellcheck disable=SC2046 # one word per spec key
	syns spambot $(to_each tcp4 192.0.2.103 "${dsts[@]}")
	expect_flagged "destinations: 20 MX addresses (limit 10)" \
		192.0.2.103/32 \
		'.reasons == ["destinations"] and .destinations >= 10 and .attempts.smtp4 > 4 and .attempts.smtp4 <= 20'

	limits 0 0 0 1 drop &&
	syns spambot teredo src=192.0.2.104 dst="$PEER4"
	expect_flagged "tunnel: one Teredo SMTP SYN" 192.0.2.104/32 \
		'.reasons == ["tunnel"] and .attempts.teredo == 1 and .attempts.smtp4 == 0'
	syns spambot sixin4 src=192.0.2.105 dst="$PEER4"
	expect_flagged "tunnel: one 6in4 SMTP SYN" 192.0.2.105/32 \
		'.reasons == ["tunnel"] and .attempts.sixin4 == 1'
	check "hosts --flagged: the five, with their reasons" flagged_five
}

flagged_five() {
	local got
	got=$(ctl -j hosts --flagged | jq -c 'map({(.host): .reasons}) | add')
	[[ $got == '{"192.0.2.101/32":["rate"],"192.0.2.102/32":["blocked"],"192.0.2.103/32":["destinations"],"192.0.2.104/32":["tunnel"],"192.0.2.105/32":["tunnel"]}' ]] ||
		{ echo "flagged: $got"; return 1; }
}

# JQ holds for `host ADDR -j`.
host_is() # ADDR JQ
{
	local out
	if ! out=$(ctl -j host "$1") || ! jq -e "$2" >/dev/null <<<"$out"; then
		echo "host $1: ${out:-not tracked}"
		return 1
	fi
}

test_well_behaved() {
	echo "# -- well-behaved hosts"
	local i dsts=()
	limits 15 10 10 1 drop
	for i in 1 2 3; do
		net_tcp client "$MX4" 25 1 >/dev/null 2>&1
	done
	check "client: 3 real connects (dropped) tracked, not flagged" \
		host_is "$CLIENT4" '.flagged == false and .attempts.smtp4 >= 3 and .attempts.smtp4 < 10 and .reasons == []'
	for i in $(seq 100 129); do
		dsts+=("203.0.113.$i")
	done
	# shellcheck disable=SC2046 # one word per spec key
	syns mailsrv $(to_each tcp4 "$MAILSRV4" "${dsts[@]}")
	check "exempt mail server: 30 MX addresses, tracked, not flagged" \
		host_is "$MAILSRV4" '.exempt and .flagged == false and .attempts.smtp4 == 30 and .blocked == 0 and .destinations >= 10'
	check "no host-flagged event for them" no_flag_events
}

test_rotation() {
	echo "# -- IPv6: sources rotating inside one /64"
	local specs=() i
	for i in $(seq 0 19); do
		specs+=(tcp6 "src=2001:db8:1::1:$i" "dst=$MX6")
	done
	syns spambot "${specs[@]}"
	expect_flagged "20 sources in 2001:db8:1::/64, one SYN each: one host, flagged" \
		2001:db8:1::/64 \
		'.reasons == ["blocked"] and .attempts.smtp6 == 10'
	check "hosts: one v6 entry, the /64, with all 20 attempts" one_v6_host
	check "host 2001:db8:1::abcd: any address of the /64" \
		host_is 2001:db8:1::abcd '.host == "2001:db8:1::/64" and .flagged'
}

no_flag_events() {
	! mon_match "select(.event == \"host-flagged\" and
		(.host.host == \"$CLIENT4/32\" or .host.host == \"$MAILSRV4/32\"))"
}

one_v6_host() {
	local got
	got=$(ctl -j hosts | jq -c '[.[] | select(.host | contains(":")) | [.host, .attempts.smtp6]]')
	[[ $got == '[["2001:db8:1::/64",20]]' ]] || { echo "v6 hosts: $got"; return 1; }
}

stat_is() # JQ
{
	local out
	if ! out=$(ctl -j stats) || ! jq -e "$1" >/dev/null <<<"$out"; then
		echo "stats: $out"
		return 1
	fi
}

evicted() {
	stat_is '.host_evictions > 0'
}

test_cap() {
	echo "# -- the host table's cap (max_hosts=64), filled from one /24"
	local specs=() i st n
	# A rate limit the flood's aggregate stays under: test_aggregate's
	# traffic crosses it.
	limits 100 0 0 1 drop
	for i in $(seq 130 249); do
		specs+=(tcp4 "src=192.0.2.$i" "dst=$MX4")
	done
	syns spambot "${specs[@]}"
	check "120 new sources: hosts evicted" poll_until 10 evicted
	st=$(ctl -j stats)
	n=$(ctl -j hosts | jq length)
	echo "# stats after the flood: hosts $(jq .hosts <<<"$st"), evictions $(jq .host_evictions <<<"$st"), aggregates $(jq .host_aggregates <<<"$st"), untracked packets $(jq .host_cap_misses <<<"$st")"
	# The cap, and the aggregates' reserve above it (max/8, at least 16).
	check "stats: hosts <= 64 + 16" stat_is '.hosts <= 80 and .hosts > 0'
	check "hosts -j: <= 80 listed ($n)" test "$n" -le 80
	check "every flagged host survived the eviction" flagged_survived
	check "stats: flagged = 6" stat_is '.flagged == 6'
}

flagged_survived() {
	local got
	got=$(ctl -j hosts | jq -c '[.[] | select(.flagged) | .host]')
	[[ $got == '["192.0.2.101/32","192.0.2.102/32","192.0.2.103/32","192.0.2.104/32","192.0.2.105/32","2001:db8:1::/64"]' ]] ||
		{ echo "flagged listed: $got"; return 1; }
}

# `hosts -j` lists PREFIX as an aggregate satisfying JQ.
agg_listed() # PREFIX JQ
{
	local got
	got=$(ctl -j hosts | jq -c ".[] | select(.host == \"$1\")")
	if [[ -z $got ]] || ! jq -e ".aggregate and $2" >/dev/null <<<"$got"; then
		echo "$1 listed: ${got:-no}"
		return 1
	fi
}

# Traffic into the /48's aggregate wakes the eviction work (once a second).
room() {
	syns spambot tcp6 src=2001:db8:1:3c::1 dst="$MX6" &&
	stat_is '.hosts < 64' >/dev/null
}

episode_ended() {
	ctl ban 192.0.2.0/24 --reason aggregate && ctl unban 192.0.2.0/24 &&
	poll_until 10 host_is 192.0.2.250 '.aggregate and .flagged == false'
}

test_aggregate() {
	echo "# -- the full table counts the /24 (and a /48) as one aggregate"
	local specs=() i
	check "stats: an aggregate was made" stat_is '.host_aggregates >= 1'
	check "hosts -j: 192.0.2.0/24, an aggregate, not flagged" \
		agg_listed 192.0.2.0/24 '.flagged == false and .attempts.smtp4 > 0'
	syns spambot -n 101 tcp4 src=192.0.2.250 dst="$MX4"
	expect_flagged "a new address of it (.250), 101 SYNs: the /24 flagged (rate limit 100)" \
		192.0.2.0/24 \
		'.aggregate and .reasons == ["rate"] and .rate > 100 and .attempts.smtp4 > 100'
	check "host 192.0.2.250: the flagged aggregate" \
		host_is 192.0.2.250 '.host == "192.0.2.0/24" and .aggregate and .flagged'
	check "stats: flagged = 7" stat_is '.flagged == 7'

	for i in $(seq 1 60); do
		specs+=(tcp6 "src=2001:db8:1:$(printf %x "$i")::1" "dst=$MX6")
	done
	syns spambot "${specs[@]}"
	check "60 /64s of 2001:db8:1::/48: the last counted in the /48" \
		poll_until 10 host_is 2001:db8:1:3c::1 '.host == "2001:db8:1::/48" and .aggregate'
	check "hosts -j: 2001:db8:1::/48, an aggregate" \
		agg_listed 2001:db8:1::/48 '.attempts.smtp6 > 0'
	check "stats: two aggregates made" stat_is '.host_aggregates >= 2'

	check "eviction makes room (hosts < 64)" poll_until 10 room
	syns spambot tcp4 src=10.20.30.7 dst="$MX4"
	check "a host outside them (10.20.30.7): tracked on its own" \
		host_is 10.20.30.7 '.host == "10.20.30.7/32" and .aggregate == false and .attempts.smtp4 == 1'
	check "stats: hosts <= 80" \
		stat_is '.hosts <= 80'
	check "flagged = hosts listed as flagged" flagged_consistent
	check "a ban on 192.0.2.0/24 ends the aggregate's episode when it goes" \
		episode_ended
}

[ "$(id -u)" = 0 ] || ksft_skip "needs root (run it with scripts/vm-run.sh)"
[ -f "${SMTPGATE_KO:-}" ] || ksft_skip "no module (SMTPGATE_KO=${SMTPGATE_KO:-})"
require_cmd ip jq socat insmod rmmod
[ -x "$CTL" ] || ksft_skip "$CTL not built (make userspace)"
[ -x "$SGCRAFT" ] || ksft_skip "$SGCRAFT not built (make userspace)"
trap cleanup EXIT
ctl_load_module || ksft_fail "cannot load smtpgate"
net_setup || ksft_fail "cannot set up the namespaces"
ctl policy set internal="$LAN4,$LAN6,2001:db8:1::/48,10.20.30.0/24" exempt="$MAILSRV4/32,$MAILSRV6/128" \
	window=86400 max_hosts=64 ||
	ksft_fail "smtpgatectl policy set refused the gateway's policy"
mon_start || ksft_fail "smtpgatectl monitor does not start"

test_reasons
test_well_behaved
test_rotation
test_cap
test_aggregate
tap_summary
