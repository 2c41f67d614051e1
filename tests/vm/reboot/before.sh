#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# shellcheck source-path=SCRIPTDIR disable=SC2317 # cleanup: indirect
#
# Reboot survival, first boot (see common.sh): smtpgated with its state in
# the output share; bans of an hour (scope all, the spambot), 10 minutes,
# 30 minutes (an IPv6 /64) and one of 20 s that expires during the reboot;
# persisted; what the kernel says of each written down; then the daemon is
# stopped as at shutdown.

. "$(dirname "$0")/common.sh"

# Bans one and writes down its seconds left, the time and the evidence.
ban_and_note() # ADDR DURATION SCOPE REASON
{
	local t
	ctl ban "$1" --for "$2" --scope "$3" --reason "$4" || return
	t=$(ban_timeout "${1%/*}") || return
	[[ $t =~ ^[0-9]+$ ]] || return
	echo "$1 $t $EPOCHSECONDS $3 ${4// /%20}" >>"$R_DIR/bans"
}

trap cleanup EXIT
require_cmd jq socat
[[ -x $SGD ]] || ksft_skip "$SGD not built"
rm -rf "$R_DIR"
mkdir -p "$R_DIR" || ksft_fail "cannot create $R_DIR"
cat /proc/sys/kernel/random/boot_id >"$R_DIR/boot_id"
r_setup
step "smtpgated starts, state_dir in the output share" d_start
check "started on an empty store" d_logged "^started: 0 bans"

echo "# -- bans"
check "an hour, scope all" ban_and_note "$SPAMBOT4" 1h all "reboot hour"
check "10 minutes" ban_and_note 192.0.2.81 10m smtp "reboot ten"
check "30 minutes, an IPv6 /64" ban_and_note 2001:db8:99::/64 30m smtp "reboot v6"
check "20 s, to expire during the reboot" ctl ban 192.0.2.79 --for 20s
echo "192.0.2.79 $((EPOCHSECONDS + 21))" >"$R_DIR/short"
check "all four persisted" \
	poll_until 15 more_than 3 stored_count '^ban (192\.0\.2\.(66|81|79)/32|2001:db8:99::/64) '
check "web cut for the spambot" unreachable spambot "$MX4" 80
check "the 20 s one still in force at shutdown" ctl banned 192.0.2.79

echo "# -- shutdown"
step "SIGTERM, as at shutdown" d_kill TERM
check "stopping: the bans stay in the kernel" \
	d_logged "^stopping: 4 bans stay in force in the kernel$"
check "the state file is in the share" \
	test "$(stored_count '^ban ')" = 4
state_dump >"$R_DIR/state.before"
tap_summary
