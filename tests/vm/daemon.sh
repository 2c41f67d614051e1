#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# shellcheck source-path=SCRIPTDIR disable=SC2317 # cleanup: indirect
#
# smtpgated end to end: the spambot scenario, hooks, a manual ban, SIGHUP,
# and a SASL brute-forcer against the real Postfix+Dovecot.  (Restarts,
# storms and timings: daemon-state.sh.)
#
#   spambot 192.0.2.66 --+   ns sg-gw-<id>: the gateway,     +-- mx 203.0.113.25
#   (sgcraft bursts)     |   smtpgate driven by smtpgated   |   web on :80
#   client  192.0.2.10 --+-- -f -c $NET_DIR/smtpgate.conf --+-- peer 203.0.113.44
#   (SASL brute force)   |   state in $NET_DIR/state        |   the walled garden,
#   mailsrv 192.0.2.25 --+   (exempt)                       |   a page on :80
#                            DMZ: submit 198.51.100.10 -----+
#                            Postfix 587/465 + Dovecot, its log followed
#
# Policy (daemon/lib.sh): window 1h, rate_limit 15 (a burst of 20 SYNs
# flags), ban_scope all, bans 20s, x2 per repeat, offences forgotten after
# 15s clean; SASL: 3 failures in 5m.

SMTPGATE_TEST_GW_NETNS=1
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net.sh"
. "$(dirname "$0")/ctl-lib.sh"
. "$(dirname "$0")/postfix/server.sh"
. "$(dirname "$0")/daemon/lib.sh"

cleanup() {
	d_cleanup
	[[ -n $NET_DIR ]] && mailsrv_stop "$NET_DIR/postfix"
	net_cleanup
	sg_unload
}

spambot_burst()
{
	in_ns spambot "$SGCRAFT" send -n 20 tcp4 src="$SPAMBOT4" dst="$MX4"
}

# ---- the tests -----------------------------------------------------------------

test_setup() {
	echo "# -- setup"
	check "module loaded without parameters" ctl_load_module
	step "network" net_setup || ksft_fail "no network"
	step "the MX's listeners" net_mx_start
	net_listen peer tcp 80 "$NET_DIR/garden.log" "helpdesk walled-garden"
	check "the walled garden's page" poll_until 20 net_listening peer tcp 80 2
	check "Postfix and Dovecot in the DMZ" \
		mailsrv_start "${NET_NS[submit]}" "$NET_DIR/postfix" \
		submission.example.net
	step "the notify socket" d_init
	d_conf "$D_CONF" sasl_log="$NET_DIR/postfix/maillog" sasl_threshold=3 \
		sasl_window=5m
	check "man pages render" bash -c "man -l $SMTPGATE_REPO/Documentation/smtpgated.8 >/dev/null 2>&1 && man -l $SMTPGATE_REPO/Documentation/smtpgate.conf.5 >/dev/null 2>&1"
}

test_check_config() {
	echo "# -- check-config"
	local bad=$NET_DIR/bad.conf out
	check "--check-config: the test's config is valid" \
		"$SGD" --check-config -c "$D_CONF"
	check "--check-config: the shipped example is valid" \
		"$SGD" --check-config -c "$SMTPGATE_REPO/Documentation/smtpgate.conf.example"
	printf 'window = 1m\nban_factor = 0.5\nfrob = 1\n' >"$bad"
	out=$("$SGD" --check-config -c "$bad" 2>&1)
	check "--check-config: exit 1 on errors" test $? = 1
	check "--check-config: every error, with file:line and key" \
		test "$out" = "smtpgated: $bad:2: ban_factor: '0.5' is not a number >= 1
smtpgated: $bad:3: frob: unknown key"
}

test_start() {
	echo "# -- start"
	step "smtpgated starts and says READY=1" d_start
	check "the policy is pushed" \
		test "$(ctl -j policy | jq -c '[.internal, .ban_scope, .walled_garden]')" \
		= '[["192.0.2.0/24","2001:db8:1::/64"],"all",["203.0.113.44/32"]]'
	check "started: logged" d_logged "^started: 0 bans"
}

test_spambot() {
	echo "# -- spambot: flagged, banned scope all, ban expires, relapse, decay"
	check "before: the spambot reaches the web" \
		net_banner spambot "$MX4" 80 outside-mx
	check "a burst of 20 SYNs" spambot_burst
	check "banned: offence 1, 20s, scope all, with the evidence" \
		d_logged "^action=ban host=192.0.2.66 reason=rate duration=20s scope=all offence=1 attempts=(1[6-9]|20) rate=(1[6-9]|20) blocked=[0-9]+ destinations=1$"
	check "the kernel enforces it" ctl banned "$SPAMBOT4"
	check "scope all in the kernel" \
		test "$(ctl -j banned "$SPAMBOT4" | jq -r .ban.scope)" = all
	check "persisted" \
		stored "^ban 192.0.2.66/32 all [0-9]+ [0-9]+ rate%20offence%201$"
	check "on_ban ran with the evidence" \
		poll_until 5 grep -qx "ban 192.0.2.66 20 1 flag" "$NET_DIR/hooks.log"
	check "web cut" unreachable spambot "$MX4" 80
	check "walled garden reachable" \
		net_banner spambot "$PEER4" 80 walled-garden
	check "others unaffected" net_banner client "$MX4" 80 outside-mx
	check "the ban expires (20s)" \
		d_logged "^action=unban host=192.0.2.66 why=expired" 40
	check "on_unban ran" \
		poll_until 5 grep -qx "unban 192.0.2.66 expired" "$NET_DIR/hooks.log"
	check "the store forgot the ban" \
		poll_until 5 not_stored '^ban 192\.0\.2\.66/'
	check "the offence is remembered" stored "^offence 192.0.2.66/32 1 "
	check "web back" net_banner spambot "$MX4" 80 outside-mx
	check "relapse: another burst" spambot_burst
	check "relapse: offence 2, twice as long (40s)" \
		d_logged "^action=ban host=192.0.2.66 reason=rate duration=40s scope=all offence=2 "
	check "relapse: the kernel's ban is the longer one" \
		in_range "$(ban_timeout "$SPAMBOT4")" 21 40
	check "lifted by hand" ctl unban "$SPAMBOT4"
	check "lifted: logged" d_logged "^action=unban host=192.0.2.66 why=removed"
	# The clean period is time passing: nothing to poll for.
	sleep 16
	check "after 15s clean: another burst" spambot_burst
	check "decayed: offence 1 again, 20s" \
		d_logged "^action=ban host=192.0.2.66 reason=rate duration=20s scope=all offence=1 attempts=[0-9]+ rate=(1[6-9]|20) " 10
	check "the metrics show the bans" \
		poll_until 5 grep -qx 'smtpgated_bans_total{trigger="flag"} 3' \
		"$NET_DIR/smtpgate.prom"
	check "the metrics count the cut web traffic" \
		grep -qE '^smtpgate_packets_total\{class="other",verdict="banned"\} [1-9][0-9]*$' \
		"$NET_DIR/smtpgate.prom"
	ctl unban "$SPAMBOT4" >/dev/null 2>&1
}

test_allowlist() {
	echo "# -- allowlist"
	check "an allowlisted host's burst" \
		in_ns client "$SGCRAFT" send -n 20 tcp4 src=192.0.2.200 dst="$MX4"
	check "logged, not banned" \
		d_logged "^action=allow host=192.0.2.200 reason=rate allowlist=192.0.2.200 "
	check "not banned in the kernel" not_banned 192.0.2.200
}

test_manual_ban() {
	echo "# -- a manual ban"
	check "smtpgatectl ban" ctl ban 192.0.2.77 --for 1h --scope smtp \
		--reason "ticket 42"
	check "noticed and logged" \
		d_logged '^action=manual-ban host=192.0.2.77 reason="ticket 42" duration=1h scope=smtp$'
	check "persisted" \
		poll_until 5 stored "^ban 192.0.2.77/32 smtp [0-9]+ [0-9]+ ticket%2042$"
	check "on_ban ran for it (origin manual)" \
		poll_until 5 grep -qx "ban 192.0.2.77 3600  manual" "$NET_DIR/hooks.log"
}

test_reload() {
	echo "# -- SIGHUP"
	local gen line reloading
	gen=$(ctl -j policy | jq .generation)
	reloading=$(notified RELOADING=1)
	d_conf "$D_CONF" sasl_log="$NET_DIR/postfix/maillog" sasl_threshold=3 \
		sasl_window=5m rate_limit=99 ban_factor=0.5
	line=$(grep -n '^ban_factor' "$D_CONF" | cut -d: -f1)
	kill -HUP "$D_PID"
	check "broken config: the error names file:line and the key" \
		d_logged "^$D_CONF:$line: ban_factor: '0.5' is not a number >= 1$"
	check "broken config: refused" \
		d_logged "^reload: $D_CONF: 1 error; the running configuration stays$"
	check "broken config: the policy is unchanged" \
		test "$(ctl -j policy | jq -c '[.generation, .rate_limit]')" = "[$gen,15]"
	check "systemd heard RELOADING=1" \
		poll_until 5 more_than "$reloading" notified RELOADING=1
	check "the daemon still runs" kill -0 "$D_PID"
	d_conf "$D_CONF" sasl_log="$NET_DIR/postfix/maillog" sasl_threshold=3 \
		sasl_window=5m rate_limit=16
	kill -HUP "$D_PID"
	check "a good config: reloaded" d_logged "^reloaded $D_CONF$"
	check "a good config: the new policy is in force" \
		test "$(ctl -j policy | jq -c '[.generation, .rate_limit]')" \
		= "[$((gen + 1)),16]"
	# policy set lasts until the daemon sets its file's policy again,
	# and says so when it sees the daemon's lock.
	local err
	err=$(SMTPGATED_STATE_DIR=$D_STATE ctl policy set rate_limit=42 2>&1 >/dev/null)
	check "policy set with smtpgated running: the note names it" \
		test "$err" = "smtpgatectl: note: smtpgated (pid $D_PID) is running: its next reload or restart sets the policy of its smtpgate.conf again, undoing this change; put it in smtpgate.conf to keep it"
	check "policy set: in force until the reload" \
		test "$(ctl -j policy | jq .rate_limit)" = 42
	kill -HUP "$D_PID"
	check "the reload sets the file's policy again" \
		poll_until 10 policy_rate_is 16
	err=$(SMTPGATED_STATE_DIR=$NET_DIR/nowhere ctl policy set rate_limit=16 2>&1 >/dev/null)
	check "policy set with no daemon on that state directory: no note" \
		test -z "$err"
}

policy_rate_is() # N
{
	[[ $(ctl -j policy | jq .rate_limit) == "$1" ]]
}

# AUTH PLAIN with a wrong password, TRIES times; each must be refused
# (535, or 454 when a slow guest's Dovecot gives up: Postfix logs both).
sasl_brute() # ROLE TRIES
{
	in_ns "$1" bash -c '
		exec 3<>/dev/tcp/'"$SUBMIT4"'/587 || exit 1
		read -r -t 10 l <&3 || exit 1
		printf "EHLO brute.example\r\n" >&3
		while read -r -t 10 l <&3; do [[ $l == 250\ * ]] && break; done
		for i in $(seq '"$2"'); do
			printf "AUTH PLAIN %s\r\n" \
				"$(printf "\0alice@example.net\0guess%s" $i | base64)" >&3
			read -r -t 20 l <&3 || { echo "no reply to try $i"; exit 1; }
			[[ $l == 535* || $l == 454* ]] || { echo "got: $l"; exit 1; }
		done
		printf "QUIT\r\n" >&3'
}

sasl_logged() # COUNT
{
	(($(grep -c "warning: unknown\[$CLIENT4\]: SASL PLAIN authentication failed" \
		"$NET_DIR/postfix/maillog") == $1))
}

# Five relay attempts that quote a SASL failure of $FORGED4 (an address no
# other check bans) in the HELO and, as a quoted local part, in the sender:
# Postfix copies both into each reject line (helo=<...> with '?' for the
# blanks, from=<...> as it came).
FORGED4=192.0.2.99
FORGED_TEXT="warning: unknown[$FORGED4]: SASL LOGIN authentication failed"
forged_helo() # ROLE
{
	in_ns "$1" bash -c '
		exec 3<>/dev/tcp/'"$SUBMIT4"'/587 || exit 1
		read -r -t 10 l <&3 || exit 1
		printf "EHLO %s\r\n" "'"$FORGED_TEXT"'" >&3
		while read -r -t 10 l <&3; do [[ $l == 250\ * ]] && break; done
		for i in 1 2 3 4 5; do
			printf "MAIL FROM:<\"%s: x\"@example.net>\r\n" "'"$FORGED_TEXT"'" >&3
			read -r -t 10 l <&3 && [[ $l == 250* ]] || { echo "MAIL: $l"; exit 1; }
			printf "RCPT TO:<victim@example.org>\r\n" >&3
			read -r -t 10 l <&3 && [[ $l == 554* ]] || { echo "RCPT: $l"; exit 1; }
			printf "RSET\r\n" >&3
			read -r -t 10 l <&3 || exit 1
		done
		printf "QUIT\r\n" >&3'
}

forged_logged() # COUNT
{
	local n
	n=$(grep "reject: RCPT" "$NET_DIR/postfix/maillog" | grep -cF "unknown[$FORGED4]")
	((n == $1)) && return
	echo "$n reject lines quote it; the last ones:"
	grep "reject: RCPT" "$NET_DIR/postfix/maillog" | tail -n 2
	return 1
}

# What any local program can write to the log, and a failure quoted in the
# middle of one of smtpd's messages: five of each.
forged_lines()
{
	local i
	for i in 1 2 3 4 5; do
		printf '%s %s evil[%d]: %s: x\n' "$(date '+%b %e %T')" \
			"$(hostname)" "$((600 + i))" "$FORGED_TEXT"
		printf '%s %s postfix/submission/smtpd[%d]: x %s: x\n' \
			"$(date '+%b %e %T')" "$(hostname)" "$((600 + i))" "$FORGED_TEXT"
	done >>"$NET_DIR/postfix/maillog"
}

test_sasl_forged() {
	echo "# -- forged SASL failures (log injection)"
	check "five reject lines that quote a failure" forged_helo mailsrv
	check "Postfix logged them" poll_until 10 forged_logged 5
	check "five lines of another program, five quoted mid-message" forged_lines
}

# After test_sasl's real ban: the daemon has read every line before it.
test_sasl_forged_banned_nobody() {
	check "the forged lines banned nobody" not_banned "$FORGED4"
	check "and logged no ban of $FORGED4" \
		bash -c "! grep -q 'host=$FORGED4' '$D_LOG'"
}

test_sasl() {
	echo "# -- password fishers against the real Postfix"
	check "the client can submit before" \
		net_banner client "$SUBMIT4" 587 smtpgate-submission
	check "three wrong passwords" sasl_brute client 3
	check "Postfix logged them" poll_until 10 sasl_logged 3
	check "banned: reason sasl, scope all" \
		d_logged "^action=ban host=192.0.2.10 reason=sasl duration=20s scope=all offence=1 failures=3$"
	check "the brute-forcer is cut from the submission port" \
		unreachable client "$SUBMIT4" 587
	check "others still submit" \
		net_banner mailsrv "$SUBMIT4" 587 smtpgate-submission
	check "metrics: one SASL ban" \
		poll_until 5 grep -qx 'smtpgated_bans_total{trigger="sasl"} 1' \
		"$NET_DIR/smtpgate.prom"
}

trap cleanup EXIT
require_cmd jq socat postfix dovecot man
[[ -x $SGD ]] || ksft_skip "$SGD not built"
test_setup
test_check_config
test_start
test_spambot
test_allowlist
test_manual_ban
test_reload
test_sasl_forged
test_sasl
test_sasl_forged_banned_nobody
tap_summary
