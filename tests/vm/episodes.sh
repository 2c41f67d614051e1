#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# shellcheck source-path=SCRIPTDIR disable=SC2317 # cleanup: indirect
#
# Host episodes and a table full of flagged hosts (issue 10, defects 4 and
# 10).  With flag_tunnel=1 and the other limits off, one tunnelled SMTP SYN
# flags its source: the cheapest way for a customer to make hosts flag
# themselves.
#
# - A ban wider than the host key (a /24 of /32 hosts, a /48 of /64 hosts)
#   ends the episode of every host inside it when it goes, and so does a
#   flush: the hosts are unflagged, and a relapse flags them again.
# - 120 sources that flag themselves in a table of 64 (max_hosts=64) do not
#   lock it: those the full table cannot track are counted in the /24's
#   aggregate, flagged hosts are evicted, banned ones first, so a new
#   spambot is still tracked and flagged, and the table stays under its cap
#   and the aggregates' reserve (16).
#
#   LAN 192.0.2.0/24, 2001:db8:1::/64         outside: peer .44 / ::44
#   spambot (.66) sends with sgcraft from spoofed sources in the LAN.

SMTPGATE_TEST_GW_NETNS=1
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net.sh"
. "$(dirname "$0")/ctl-lib.sh"

cleanup() {
	net_cleanup
	sg_unload
}

# One Teredo SMTP SYN from each SRC.
teredo_from() # SRC...
{
	local specs=() s
	for s in "$@"; do
		specs+=(teredo "src=$s" "dst=$PEER4")
	done
	in_ns spambot "$SGCRAFT" send "${specs[@]}" >/dev/null
}

sixin4_from() # SRC6
{
	in_ns spambot "$SGCRAFT" send tcp6 "src=$1" "dst=$PEER6" >/dev/null
}

# `host ADDR -j` satisfies JQ.
host_is() # ADDR JQ
{
	local out
	out=$(ctl -j host "$1" 2>/dev/null) && jq -e "$2" >/dev/null <<<"$out"
}

stat_is() # JQ
{
	local out
	out=$(ctl -j stats) && jq -e "$1" >/dev/null <<<"$out"
}

explain_host() # ADDR
{
	echo "#   host $1: $(ctl -j host "$1" 2>&1 | jq -c '{flagged, reasons}' 2>/dev/null || echo 'not tracked')"
}

test_wide_ban() {
	echo "# -- a ban wider than the host key ends the episodes inside it"
	teredo_from 192.0.2.101 192.0.2.102
	check "one Teredo SYN flags 192.0.2.101" \
		poll_until 10 host_is 192.0.2.101 '.flagged'
	ctl ban 192.0.2.0/24 --reason wide && ctl unban 192.0.2.0/24
	if poll_until 10 host_is 192.0.2.101 '.flagged == false and .reasons == []'; then
		tap_ok "unban of 192.0.2.0/24: 192.0.2.101/32 unflagged"
	else
		tap_fail "unban of 192.0.2.0/24: 192.0.2.101/32 unflagged"
		explain_host 192.0.2.101
	fi
	check "and 192.0.2.102/32 too" \
		host_is 192.0.2.102 '.flagged == false'
	teredo_from 192.0.2.101
	check "a relapse flags 192.0.2.101 again" \
		poll_until 10 host_is 192.0.2.101 '.flagged and .reasons == ["tunnel"]'

	ctl policy set blocked_limit=1 &&
	sixin4_from 2001:db8:1::1:7
	check "one dropped SYN flags 2001:db8:1::/64 (blocked_limit=1)" \
		poll_until 10 host_is 2001:db8:1::1 '.flagged'
	ctl policy set blocked_limit=0
	ctl ban 2001:db8:1::/48 && ctl unban 2001:db8:1::/48
	if poll_until 10 host_is 2001:db8:1::1 '.flagged == false'; then
		tap_ok "unban of 2001:db8:1::/48: the /64 host unflagged"
	else
		tap_fail "unban of 2001:db8:1::/48: the /64 host unflagged"
		explain_host 2001:db8:1::1
	fi
	check "stats: flagged = 1 (192.0.2.101 only)" stat_is '.flagged == 1'
}

test_flush() {
	echo "# -- a flush ends every episode"
	ctl ban 192.0.2.101 --reason one && ctl flush
	if poll_until 10 host_is 192.0.2.101 '.flagged == false'; then
		tap_ok "flush: 192.0.2.101/32 unflagged"
	else
		tap_fail "flush: 192.0.2.101/32 unflagged"
		explain_host 192.0.2.101
	fi
	check "stats: flagged = 0" stat_is '.flagged == 0'
	teredo_from 192.0.2.101
	check "a relapse after the flush flags it again" \
		poll_until 10 host_is 192.0.2.101 '.flagged'
}

# Sends a Teredo SYN from 192.0.2.250 and tells whether it is flagged: the
# table frees room at most once a second, so a poll resends.
newcomer_flagged() {
	teredo_from 192.0.2.250
	host_is 192.0.2.250 '.flagged'
}

ban_all_flagged_but() # ADDR/LEN
{
	local h
	for h in $(ctl -j hosts --flagged | jq -r '.[] | select(.aggregate | not) | .host'); do
		[[ $h == "$1" ]] || ctl ban "$h" --reason fill || return
	done
}

newcomer_alone() {
	teredo_from 192.0.2.250
	host_is 192.0.2.250 '.flagged and .host == "192.0.2.250/32"'
}

# While the table is full, 192.0.2.250's next packet would make the
# aggregate again (and while it lives, it counts the whole /24): room first,
# by forgetting hosts, then the aggregate.
make_room() {
	local h
	for h in $(ctl -j hosts | jq -r '.[] | select((.aggregate | not) and .host != "192.0.2.250/32") | .host'); do
		stat_is '.hosts < 60' && return 0
		ctl forget "${h%/*}" || return
	done
	stat_is '.hosts < 60'
}

forget_aggregate() {
	make_room || return
	if host_is 192.0.2.250 '.aggregate'; then
		ctl forget 192.0.2.250 || return
	fi
	poll_until 30 newcomer_alone
}

test_full_of_flagged() {
	echo "# -- 120 self-flagging sources in a table of 64"
	local srcs=() i ev
	for i in $(seq 130 249); do
		srcs+=("192.0.2.$i")
	done
	teredo_from "${srcs[@]}"
	check "stats: the table filled up (an aggregate made)" \
		poll_until 10 stat_is '.host_aggregates > 0'
	if poll_until 30 newcomer_flagged; then
		tap_ok "a new spambot (192.0.2.250) is still tracked and flagged"
	else
		tap_fail "a new spambot (192.0.2.250) is still tracked and flagged"
		explain_host 192.0.2.250
		echo "#   stats: $(ctl -j stats | jq -c '{hosts, flagged, host_evictions, host_aggregates, host_cap_misses}')"
	fi
	check "stats: flagged hosts were evicted, hosts <= 64 + 16" \
		stat_is '.host_evictions > 0 and .hosts <= 80'

	# The aggregate counts every new address of the /24 until it goes.
	check "forget the aggregate: 192.0.2.250 tracked on its own" \
		forget_aggregate
	check "ban every flagged host but 192.0.2.250" \
		ban_all_flagged_but 192.0.2.250/32
	ev=$(ctl -j stats | jq .host_evictions)
	srcs=()
	for i in $(seq 2 60); do
		srcs+=("192.0.2.$i")
	done
	teredo_from "${srcs[@]}"
	check "59 more: evictions go on" \
		poll_until 20 stat_is ".host_evictions > $ev"
	# The banned ones go before it: the ban remembers them, it only has
	# its host entry.
	check "the unbanned flagged host survived them" \
		host_is 192.0.2.250 '.flagged'
	check "stats: hosts <= 80 and flagged = hosts listed as flagged" \
		flagged_consistent '.hosts <= 80'
}

[ "$(id -u)" = 0 ] || ksft_skip "needs root (run it with scripts/vm-run.sh)"
[ -f "${SMTPGATE_KO:-}" ] || ksft_skip "no module (SMTPGATE_KO=${SMTPGATE_KO:-})"
require_cmd ip jq insmod rmmod
[ -x "$CTL" ] || ksft_skip "$CTL not built (make userspace)"
[ -x "$SGCRAFT" ] || ksft_skip "$SGCRAFT not built (make userspace)"
trap cleanup EXIT
ctl_load_module || ksft_fail "cannot load smtpgate"
net_setup || ksft_fail "cannot set up the namespaces"
ctl policy set internal="$LAN4,$LAN6" window=86400 max_hosts=64 \
	flag_tunnel=1 rate_limit=0 blocked_limit=0 dest_limit=0 ||
	ksft_fail "smtpgatectl policy set refused the gateway's policy"

test_wide_ban
test_flush
test_full_of_flagged
tap_summary
