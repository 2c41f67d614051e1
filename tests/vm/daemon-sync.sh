#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# shellcheck source-path=SCRIPTDIR disable=SC2317 # cleanup: indirect
#
# smtpgated's store follows the kernel from facts (issue 11, items 4 and 5):
#
#   flush    a ban by the daemon, `smtpgatectl flush`: the store forgets it,
#            a relapse is banned again (not "already banned"); a flush while
#            the daemon is down: the restart restores nothing.
#   reload   `rmmod smtpgate; insmod` under a running daemon: it notices,
#            pushes its policy again, restores its bans (a new kernel
#            instance lost them), hears events again, and says so once.
#   gone     `rmmod smtpgate` for longer than module_wait (3 s here): the
#            daemon exits with 69 (EX_UNAVAILABLE) for systemd.
#
#   spambot 192.0.2.66 --+   ns sg-gw-<id>: the gateway,     +-- mx 203.0.113.25
#   (sgcraft bursts)     +-- smtpgated -f, state in        --+
#                            $NET_DIR/state

SMTPGATE_TEST_GW_NETNS=1
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net.sh"
. "$(dirname "$0")/ctl-lib.sh"
. "$(dirname "$0")/daemon/lib.sh"

cleanup() {
	d_cleanup
	net_cleanup
	sg_unload
}

spambot_burst()
{
	in_ns spambot "$SGCRAFT" send -n 20 tcp4 src="$SPAMBOT4" dst="$MX4"
}

bans_of() # ADDR: how many times the daemon banned it
{
	grep -cE "^smtpgated: action=ban host=$1 reason=rate " "$D_LOG"
}

policy_pushed()
{
	test "$(ctl -j policy | jq -c '[.internal, .ban_scope]')" \
		= '[["192.0.2.0/24","2001:db8:1::/64"],"all"]'
}

test_setup() {
	echo "# -- setup"
	check "module loaded without parameters" ctl_load_module
	step "network" net_setup || ksft_fail "no network"
	step "the MX's listeners" net_mx_start
	step "the notify socket" d_init
	d_conf "$D_CONF" ban_first=1h ban_max=1d ban_decay=1d
	step "smtpgated starts" d_start
	check "the store names the kernel instance" \
		poll_until 10 stored "^kernel [0-9]+ 0$"
}

test_flush() {
	echo "# -- flush"
	check "a burst" spambot_burst
	check "banned by the daemon" poll_until 20 more_than 0 bans_of "$SPAMBOT4"
	check "persisted" poll_until 5 stored "^ban 192\.0\.2\.66/32 "
	check "smtpgatectl flush" ctl flush
	check "the daemon heard the flush" \
		d_logged "^action=flush kernel_bans=1 dropped=1: "
	check "the store forgot the flushed ban" \
		poll_until 5 not_stored '^ban 192\.0\.2\.66/'
	check "the flush count is recorded" poll_until 5 stored "^kernel [0-9]+ 1$"
	check "a relapse" spambot_burst
	check "banned again, not 'already banned'" \
		poll_until 20 more_than 1 bans_of "$SPAMBOT4"
	check "the kernel enforces it" ctl banned "$SPAMBOT4"
	check "persisted" poll_until 5 stored "^ban 192\.0\.2\.66/32 "

	step "SIGKILL" d_kill KILL
	check "flushed while the daemon is down" ctl flush
	step "restart" d_start
	check "restart: the flush is recognised" \
		d_logged "^sync: kernel instance [0-9a-f]{16} unchanged, flushed 1 times since: 1 bans it lacks were lifted, not restored$"
	check "restart: the flushed ban is not restored" not_banned "$SPAMBOT4"
	check "restart: nor kept in the store" \
		poll_until 5 not_stored '^ban 192\.0\.2\.66/'
	check "restart: the flush count is recorded" \
		poll_until 5 stored "^kernel [0-9]+ 2$"
}

test_reload() {
	echo "# -- rmmod and insmod under the daemon"
	local n
	check "a ban by hand" ctl ban 192.0.2.77 --for 1h --reason "ticket 7"
	check "a relapse banned by the daemon" spambot_burst
	check "banned" poll_until 20 ctl banned "$SPAMBOT4"
	check "both persisted" \
		poll_until 5 more_than 1 stored_count "^ban 192\.0\.2\.(66|77)/32 "
	n=$(bans_of "$SPAMBOT4")
	check "rmmod" rmmod smtpgate
	check "insmod" insmod "$SMTPGATE_KO"
	check "the daemon noticed" \
		d_logged "^the smtpgate module is gone or was reloaded " 30
	check "the policy is back" poll_until 60 policy_pushed
	check "the hand ban is restored" poll_until 60 ctl banned 192.0.2.77
	check "the daemon's ban is restored" poll_until 60 ctl banned "$SPAMBOT4"
	check "with its reason" \
		test "$(ctl -j banned 192.0.2.77 | jq -r .ban.reason)" = "ticket 7"
	check "a new instance: logged" \
		d_logged "^sync: kernel instance [0-9a-f]{16} is new \(was [0-9a-f]{16}\): module reloaded or reboot, it lost our 2 bans: restoring them$"
	check "back: logged" d_logged "^the smtpgate module is back "
	check "the daemon hears events again" ctl unban "$SPAMBOT4"
	check "an unban: the store follows" \
		poll_until 10 not_stored '^ban 192\.0\.2\.66/'
	check "a relapse after the reload" spambot_burst
	check "banned by the daemon again" \
		poll_until 20 more_than "$n" bans_of "$SPAMBOT4"
	check "one line for the loss, one for the return" \
		test "$(grep -cE '^smtpgated: the smtpgate module (is gone|is back)' "$D_LOG")" = 2
	check "no error lines meanwhile" \
		bash -c "! grep -qE '^smtpgated: cannot (read|reach)' '$D_LOG'"
	step "SIGTERM" d_kill TERM
	check "the daemon was running until SIGTERM" \
		d_logged "^stopping: [0-9]+ bans stay in force in the kernel$"
}

# The module gone for good: after module_wait the daemon exits with 69
# (EX_UNAVAILABLE), for systemd to start it again.
test_module_gone() {
	echo "# -- rmmod under the daemon, for longer than module_wait"
	local rc
	d_conf "$D_CONF" ban_first=1h ban_max=1d ban_decay=1d module_wait=3s
	step "smtpgated starts (module_wait = 3s)" d_start
	check "rmmod" rmmod smtpgate
	check "the daemon noticed" \
		d_logged "^the smtpgate module is gone or was reloaded .*giving up in 3 s$" 30
	check "it exits within 30 s" poll_until 30 d_exited
	wait "$D_PID" 2>/dev/null
	rc=$?
	D_PID=
	check "with status 69 (EX_UNAVAILABLE), not 0 ($rc)" test "$rc" = 69
	check "saying why" \
		d_logged "^the smtpgate module has been gone for [0-9]+ s: exiting \(status 69\) for a restart$"
	check "insmod again" insmod "$SMTPGATE_KO"
}

d_exited()
{
	! kill -0 "$D_PID" 2>/dev/null
}

trap cleanup EXIT
require_cmd jq socat insmod rmmod
[[ -x $SGD ]] || ksft_skip "$SGD not built"
test_setup
test_flush
test_reload
test_module_gone
tap_summary
