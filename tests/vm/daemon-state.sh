#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# shellcheck source-path=SCRIPTDIR disable=SC2317 # cleanup: indirect
#
# smtpgated's state against crashes and restarts (RELIABILITY.md cases 18
# and 21): SIGKILL with the kernel still enforcing; restart keeping the
# kernel's bans and not resurrecting one lifted meanwhile; restart after
# the kernel forgot everything (a module reload) restoring bans
# with their remaining time, expired ones skipped; idempotent restarts; a
# storm of 5000 ban events, then SIGKILL in the middle of another, losing
# none; events lost to a full socket (SIGSTOP), resynchronised from a
# dump; 20000 bans restored at start (timed); the kernel's counters never
# going backwards under a flood; detaching.  (The scenario: daemon.sh.)
#
#   mailsrv 192.0.2.25 --+   ns sg-gw-<id>: the gateway,     +-- mx 203.0.113.25
#   (the flood, exempt)  +-- smtpgated -f, bans by         --+
#                            smtpgatectl, state in $NET_DIR/state

SMTPGATE_TEST_GW_NETNS=1
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net.sh"
. "$(dirname "$0")/ctl-lib.sh"
. "$(dirname "$0")/daemon/lib.sh"

MANUAL_AT=0

cleanup() {
	d_cleanup
	net_cleanup
	sg_unload
}

# The seconds left of the hour-long ban made at MANUAL_AT, give or take
# the daemon's and the guest's latency.
hour_left_ok() # ADDR
{
	local el=$((EPOCHSECONDS - MANUAL_AT))
	in_range "$(ban_timeout "$1")" $((3600 - el - 4)) $((3600 - el + 3))
}

test_setup() {
	echo "# -- setup"
	check "module loaded without parameters" ctl_load_module
	step "network" net_setup || ksft_fail "no network"
	step "the notify socket" d_init
	d_conf "$D_CONF"
	step "smtpgated starts" d_start
}

test_sigkill() {
	echo "# -- SIGKILL and restarts"
	local n
	check "a ban of an hour" ctl ban 192.0.2.77 --for 1h --reason "ticket 42"
	MANUAL_AT=$EPOCHSECONDS
	check "a ban to lift while the daemon is down" \
		ctl ban 192.0.2.80 --for 1h --reason "to lift"
	check "both persisted" poll_until 5 more_than 1 stored_count "^ban 192\.0\.2\.(77|80)/32 "
	step "SIGKILL" d_kill KILL
	check "the kernel keeps enforcing without the daemon" \
		ctl banned 192.0.2.77
	check "lifted while the daemon is down" ctl unban 192.0.2.80
	step "restart" d_start
	check "restart: the kernel kept its bans, nothing restored" \
		d_logged "^the kernel kept its 1 bans$"
	check "restart: the lifted ban is not resurrected" not_banned 192.0.2.80
	check "restart: nor kept in the store" \
		not_stored '^ban 192\.0\.2\.80/'
	check "restart: the hour kept running" hour_left_ok 192.0.2.77

	check "an 8s ban" ctl ban 192.0.2.79 --for 8s
	check "persisted" poll_until 5 stored "^ban 192.0.2.79/32 "
	step "SIGKILL again" d_kill KILL
	check "the 8s ban expires while the daemon is down" \
		poll_until 20 not_banned 192.0.2.79
	# The kernel counts whole boot-time seconds, the store Unix time: the
	# store's expiry can come up to a second after the kernel's.
	sleep 2
	# Not a flush: a flush is an operator's decision, never restored
	# (daemon-sync.sh).  A new kernel instance lost the bans.
	check "the kernel forgets everything (a module reload)" \
		ctl_load_module
	step "restart" d_start
	check "restored from the store, the expired one skipped" \
		d_logged "^restored 1 bans from $D_STATE/smtpgated.state in [0-9]+ ms \(1 expired ones skipped\)$"
	check "the ban is back" ctl banned 192.0.2.77
	check "with its remaining time, not a fresh hour" hour_left_ok 192.0.2.77
	check "with its scope and reason" \
		test "$(ctl -j banned 192.0.2.77 | jq -c '[.ban.scope, .ban.reason]')" \
		= '["smtp","ticket 42"]'
	check "the expired one is not" not_banned 192.0.2.79
	n=$(ctl -j bans | jq length)
	step "SIGTERM" d_kill TERM
	check "SIGTERM: logged, the bans stay" \
		d_logged "^stopping: 1 bans stay in force in the kernel$"
	check "SIGTERM: systemd heard STOPPING=1" more_than 0 notified STOPPING=1
	check "the bans stay in the kernel" test "$(ctl -j bans | jq length)" = "$n"
	step "restart" d_start
	check "idempotent: the same bans again" test "$(ctl -j bans | jq length)" = "$n"
}

bulk_file() # FILE COUNT SECOND_OCTET
{
	awk -v n="$2" -v o="$3" 'BEGIN { for (i = 0; i < n; i++)
		printf "10.%d.%d.%d 1h smtp bulk\n", o, int(i / 256), i % 256 }' >"$1"
}

test_storm() {
	echo "# -- a storm of ban events, and SIGKILL in the middle of one"
	local t0 ms
	bulk_file "$NET_DIR/bulk1" 5000 1
	bulk_file "$NET_DIR/bulk2" 5000 2
	t0=${EPOCHREALTIME/[.,]/}
	check "5000 bans by hand (smtpgatectl load)" ctl load "$NET_DIR/bulk1"
	check "all 5000 persisted" \
		poll_until 120 more_than 4999 stored_count '^ban 10\.1\.'
	ms=$(((${EPOCHREALTIME/[.,]/} - t0) / 1000))
	echo "# figure: 5000 ban events persisted in $ms ms ($((5000000 / (ms + 1))) events/s, $(grep -c 'events lost' "$D_LOG") overruns, TCG guest)"
	check "5000 more" ctl load "$NET_DIR/bulk2"
	step "SIGKILL in the middle" d_kill KILL
	step "restart" d_start
	check "none lost: the store has all 10000" \
		poll_until 60 more_than 9999 stored_count '^ban 10\.[12]\.'

	# A daemon that cannot read: its socket (8 MB, ~14000 events)
	# overflows, events are lost.
	bulk_file "$NET_DIR/bulk3" 30000 3
	check "SIGSTOP" kill -STOP "$D_PID"
	check "30000 bans while it cannot read" ctl load "$NET_DIR/bulk3"
	check "the kernel counted lost events" \
		more_than 0 eval "ctl -j stats | jq .event_losses"
	check "SIGCONT" kill -CONT "$D_PID"
	check "the overrun is noticed" \
		d_logged "^events lost \(the socket overran\); resynchronising with the kernel$" 30
	check "resynchronised from a dump: none lost" \
		poll_until 90 more_than 29999 stored_count '^ban 10\.3\.'
	check "resynchronised: logged" d_logged "^resynchronised: 40001 bans$"
}

test_restore_speed() {
	echo "# -- 20000 bans restored at start"
	local exp=$((EPOCHSECONDS + 7200)) ms
	step "SIGTERM" d_kill TERM
	check "flush" ctl flush
	# A snapshot by hand: the journal of the old one goes with it.
	rm -f "$D_STATE/smtpgated.journal"
	awk -v e="$exp" 'BEGIN { print "smtpgated-state 1"
		for (i = 0; i < 20000; i++)
			printf "ban 10.%d.%d.%d/32 smtp %d 0 bulk\n", 10 + int(i / 65536),
				int(i / 256) % 256, i % 256, e
		print "end 20000 0" }' >"$D_STATE/smtpgated.state"
	step "restart" d_start
	check "restored: 20000" d_logged "^restored 20000 bans from "
	ms=$(grep -oE "^smtpgated: restored 20000 bans from .* in [0-9]+ ms" "$D_LOG" |
		tail -n 1 | grep -oE "[0-9]+ ms" | cut -d' ' -f1)
	echo "# figure: 20000 bans restored in ${ms:-?} ms ($((20000000 / (${ms:-0} + 1))) bans/s, TCG guest)"
	check "the kernel has them all" test "$(ctl -j bans | jq length)" = 20000
	check "with their remaining time" \
		test "$(ctl -j bans | jq '[.[].timeout] | min > 7000 and max <= 7200')" = true
}

test_counters() {
	echo "# -- the kernel's counters never go backwards under load (case 21)"
	local prev='' cur i ok=1 flood
	in_ns mailsrv "$SGCRAFT" send -n 30000 tcp4 src="$MAILSRV4" dst="$MX4" &
	flood=$!
	for ((i = 0; i < 12; i++)); do
		cur=$(ctl -j stats | jq -c '[.packets[][]]')
		if [[ -n $prev ]] &&
		   ! jq -en --argjson a "$prev" --argjson b "$cur" \
			'[range($a | length)] | all(. as $i | $b[$i] >= $a[$i])' >/dev/null; then
			ok=0
			echo "# went backwards: $prev -> $cur"
		fi
		prev=$cur
	done
	wait "$flood"
	check "12 reads during a flood: every counter monotonic" test $ok = 1
	check "the flood was counted, exactly" \
		test "$(ctl -j stats | jq .packets.smtp4.pass)" = 30000
	check "the metrics file has the same count" \
		poll_until 5 grep -qx 'smtpgate_packets_total{class="smtp4",verdict="pass"} 30000' \
		"$NET_DIR/smtpgate.prom"
}

test_detach() {
	echo "# -- detaching"
	local pid out
	step "SIGTERM" d_kill TERM
	check "without -f: returns once ready, with 0" \
		ip netns exec "$NET_GW_NS" "$SGD" -c "$D_CONF"
	pid=$(cat "$D_STATE/lock")
	check "the detached daemon runs" kill -0 "$pid"
	out=$(ip netns exec "$NET_GW_NS" "$SGD" -c "$D_CONF" 2>&1)
	check "a second one on the same state_dir: exit 1" test $? = 1
	check "a second one: says why" \
		grep -qx "smtpgated: another smtpgated uses $D_STATE (it holds $D_STATE/lock)" <<<"$out"
	kill -TERM "$pid"
	check "the detached one ends on SIGTERM" \
		poll_until 10 bash -c "! kill -0 $pid 2>/dev/null"
}

trap cleanup EXIT
require_cmd jq socat
[[ -x $SGD ]] || ksft_skip "$SGD not built"
test_setup
test_sigkill
test_storm
test_restore_speed
test_counters
test_detach
tap_summary
