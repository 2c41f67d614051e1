#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# shellcheck source-path=SCRIPTDIR disable=SC2317 # cleanup: indirect
#
# Reboot survival, second boot (see common.sh): a fresh kernel, the module
# loaded fresh with no bans; smtpgated on the same state_dir restores the
# bans before.sh made with their remaining time (what was left before,
# minus the time the reboot took), skips the one that expired meanwhile,
# and the kernel enforces them again.

. "$(dirname "$0")/common.sh"

# The seconds left now match those before the reboot minus the time since.
left_ok() # ADDR LEFT_BEFORE MEASURED_AT
{
	local exp=$(($2 - (EPOCHSECONDS - $3)))
	in_range "$(ban_timeout "$1")" $((exp - 5)) $((exp + 3))
}

evidence_ok() # ADDR SCOPE REASON
{
	test "$(ctl -j banned "$1" | jq -c '[.ban.scope, .ban.reason]')" = \
		"$(jq -nc --arg s "$2" --arg r "$3" '[$s, $r]')"
}

trap cleanup EXIT
require_cmd jq socat
[[ -x $SGD ]] || ksft_skip "$SGD not built"
[[ -s $R_DIR/bans && -s $R_DIR/short && -s $R_DIR/state/smtpgated.state ]] ||
	ksft_fail "nothing from before.sh in $R_DIR (run scripts/vm-reboot-test.sh)"
check "a real reboot: another boot_id" \
	test "$(cat /proc/sys/kernel/random/boot_id)" != "$(cat "$R_DIR/boot_id")"
r_setup
check "the fresh module has no bans" test "$(ctl -j bans | jq length)" = 0
read -r short_addr short_end <"$R_DIR/short"
if ((EPOCHSECONDS < short_end)); then
	echo "# waiting $((short_end - EPOCHSECONDS)) s more for the 20 s ban to expire"
	sleep $((short_end - EPOCHSECONDS))
fi

echo "# -- restore"
step "smtpgated starts on the same state_dir" d_start
check "restored 3, the expired one skipped" \
	d_logged "^restored 3 bans from $D_STATE/smtpgated.state in [0-9]+ ms \(1 expired ones skipped\)$"
n=0
while read -r addr left at scope reason; do
	reason=${reason//%20/ }
	echo "# $addr: $left s left at $at, $((EPOCHSECONDS - at)) s ago"
	check "$addr: banned again" ctl banned "${addr%/*}"
	check "$addr: remaining time = before - elapsed" left_ok "${addr%/*}" "$left" "$at"
	check "$addr: scope $scope, reason kept" evidence_ok "${addr%/*}" "$scope" "$reason"
	n=$((n + 1))
done <"$R_DIR/bans"
check "three bans noted before" test $n = 3
check "the expired one is not restored" not_banned "$short_addr"
check "nor kept in the store" \
	not_stored "^ban ${short_addr//./\\.}/"
check "the kernel has exactly the 3" test "$(ctl -j bans | jq length)" = 3

echo "# -- enforcement"
check "web cut for the spambot (scope all)" unreachable spambot "$MX4" 80
check "SMTP cut for the spambot" unreachable spambot "$MX4" 25
check "others unaffected" net_banner client "$MX4" 80 outside-mx
check "a new ban still works and is persisted" ctl ban 192.0.2.82 --for 5m
check "persisted" poll_until 10 stored "^ban 192\.0\.2\.82/32 "
step "SIGTERM" d_kill TERM
tap_summary
