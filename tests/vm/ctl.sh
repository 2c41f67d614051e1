#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# shellcheck source-path=SCRIPTDIR disable=SC2317 # cleanup: indirect
#
# smtpgatectl against the real kernel: every command, its JSON compared
# with tests/vm/golden/ctl-*, its error messages (the kernel's extack shown
# as it is) and exit codes, `banned` answering in its exit code, privilege
# checks, and `load` of 100k bans, timed.  The traffic is a burst of SYNs
# from the spambot, so that there is a host to show.
#
#   spambot 192.0.2.66 --+   ns sg-gw-<id>: the gateway,    +-- mx 203.0.113.25
#   (sgcraft send)       +-- smtpgate configured only by  --+   2001:db8:3::25
#   client  192.0.2.10 --+   smtpgatectl policy set          +-- peer .44
#
#   internal=192.0.2.0/24,2001:db8:1::/64 exempt=192.0.2.25 window=86400
#   (one window for the whole test: the rates are exact)

SMTPGATE_TEST_GW_NETNS=1
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net.sh"
. "$(dirname "$0")/ctl-lib.sh"

cleanup() {
	mon_stop >/dev/null 2>&1
	net_cleanup
	sg_unload
}

# ---- policy --------------------------------------------------------------

test_policy() {
	echo "# -- policy"
	golden_check "policy: a new namespace shows the defaults" \
		ctl-policy-default.json "$(ctl -j policy)"
	check "policy set: the keys of the module parameters" \
		ctl policy set internal=192.0.2.0/24,2001:db8:1::/64 \
		exempt=192.0.2.25,2001:db8:1::25 walled_garden=203.0.113.44 \
		action=drop tunnel_action=droplog submission=198.51.100.10 \
		submission_port=587 submission_tls_port=465 ports=25,465,587 \
		window=86400 rate_limit=15 blocked_limit=10 dest_limit=10 \
		flag_tunnel=yes ban_scope=all host_prefix4=32 host_prefix6=64 \
		max_hosts=4096 max_bans=1048576
	golden_check "policy: shows what was set" ctl-policy-set.json \
		"$(ctl -j policy)"
	check "policy set: other keys keep their values" \
		ctl policy set submission_tls_port=0
	check "policy: text form names the keys" policy_text
	local gen
	gen=$(ctl -j policy | jq .generation)
	# smtpgate.conf's ranges and rules (lib/polkey.c), checked before
	# the kernel is asked: usage errors.  The kernel's own refusals of
	# the same values are netlink_test's.
	ctl_expect 2 "smtpgatectl: policy set tunnel_action=redirect: tunnelled SMTP cannot be redirected; use drop, log or droplog" \
		"policy set tunnel_action=redirect: the config's message" \
		policy set tunnel_action=redirect
	ctl_expect 2 "smtpgatectl: policy set ports=: the list is empty" \
		"policy set ports=: the config's message" policy set ports=
	ctl_expect 2 "smtpgatectl: policy set host_prefix4=40: '40' is not a number from 8 to 32" \
		"policy set host_prefix4=40: the range" policy set host_prefix4=40
	ctl_expect 2 "smtpgatectl: policy set max_hosts=5: '5' is not a number from 16 to 16777216" \
		"policy set max_hosts=5: the range" policy set max_hosts=5
	# A limit the host's counters cannot reach would never flag anyone.
	ctl_expect 2 "smtpgatectl: policy set dest_limit=268: '268' is not a number from 0 to 267" \
		"policy set dest_limit=268: the range" policy set dest_limit=268
	ctl_expect 2 "smtpgatectl: policy set rate_limit=65535: '65535' is not a number from 0 to 65534" \
		"policy set rate_limit=65535: the range" policy set rate_limit=65535
	ctl_expect 2 "smtpgatectl: policy set blocked_limit=65536: '65536' is not a number from 0 to 65535" \
		"policy set blocked_limit=65536: the range" policy set blocked_limit=65536
	# A cross-field rule only the kernel sees: its extack, exit 1.
	ctl_expect 1 "smtpgatectl: policy set: kernel: action: trap needs trap_port, the port of smtpgated's trap listener" \
		"policy set action=trap: the kernel's message" policy set action=trap
	check "policy: a refused set leaves the old policy (generation $gen)" \
		test "$(ctl -j policy | jq '[.generation, .host_prefix4, .ports]' -c)" \
		= "[$gen,32,[25,465,587]]"
	check "policy set dest_limit=267 rate_limit=65534 blocked_limit=65535: the largest that can trigger" \
		ctl policy set dest_limit=267 rate_limit=65534 blocked_limit=65535
	check "policy set dest_limit=10 rate_limit=15 blocked_limit=10: back" \
		ctl policy set dest_limit=10 rate_limit=15 blocked_limit=10
	check "policy set: one set, one generation" \
		test "$(ctl -j policy | jq .generation)" = "$((gen + 2))"
	check "policy set ports='25 587' inspect_queue=off trap_port=off: the config's lists and off" \
		ctl policy set "ports=25 587" inspect_queue=off trap_port=off
	check "policy: ports 25 and 587" \
		test "$(ctl -j policy | jq -c '.ports')" = "[25,587]"
	check "policy set ports=25,465,587: back" ctl policy set ports=25,465,587
	ctl_expect 2 "smtpgatectl: policy set: 'foo=1' is not KEY=VALUE with a known KEY (internal, exempt, walled_garden, action, tunnel_action, submission, submission_port, submission_tls_port, ports, window, rate_limit, blocked_limit, dest_limit, flag_tunnel, ban_scope, host_prefix4, host_prefix6, max_hosts, max_bans, inspect_queue, inspect_bytes, trap_port)" \
		"policy set foo=1: usage" policy set foo=1
	ctl_expect 2 "smtpgatectl: policy set: 'internal' is not KEY=VALUE with a known KEY (internal, exempt, walled_garden, action, tunnel_action, submission, submission_port, submission_tls_port, ports, window, rate_limit, blocked_limit, dest_limit, flag_tunnel, ban_scope, host_prefix4, host_prefix6, max_hosts, max_bans, inspect_queue, inspect_bytes, trap_port)" \
		"policy set internal: usage" policy set internal
	ctl_expect 2 "smtpgatectl: policy set action=Drop: 'Drop' is not drop, log, droplog, redirect or trap" \
		"policy set action=Drop: exact keywords only" policy set action=Drop
	ctl_expect 2 "smtpgatectl: policy set internal=192.0.2.1/24: cannot parse '192.0.2.1/24': host bits set past /24 (the prefix is 192.0.2.0/24)" \
		"policy set internal=192.0.2.1/24: host bits" policy set internal=192.0.2.1/24
	# smtpgate.conf's words: a duration for window, 1/0 or yes/no.
	check "policy set window=1m flag_tunnel=no: the config's grammar" \
		ctl policy set window=1m flag_tunnel=no
	check "policy: window is 60 s, flag_tunnel off" \
		test "$(ctl -j policy | jq -c '[.window, .flag_tunnel]')" = "[60,false]"
	check "policy set window=86400 flag_tunnel=1: back" \
		ctl policy set window=86400 flag_tunnel=1
	ctl_expect 2 "smtpgatectl: policy set window=500ms: '500ms' is not a whole number of seconds" \
		"policy set window=500ms: whole seconds" policy set window=500ms
	ctl_expect 2 "smtpgatectl: policy set flag_tunnel=true: 'true' is not yes or no (or 1 or 0)" \
		"policy set flag_tunnel=true: the config's message" policy set flag_tunnel=true
	ctl_expect 2 "smtpgatectl: policy set: window given twice" \
		"policy set: a key twice" policy set window=1 window=2
	ctl_expect 2 "smtpgatectl: policy: unexpected 'show'" \
		"policy show: no such subcommand" policy show
}

# ---- hosts ---------------------------------------------------------------

spambot_burst() {
	in_ns spambot "$SGCRAFT" send -n 20 tcp4 src="$SPAMBOT4" dst="$MX4"
}

flagged_now() {
	[[ $(ctl -j hosts --flagged | jq length) == 1 ]]
}

test_hosts() {
	echo "# -- hosts"
	check "hosts: none before any SMTP" test "$(ctl -j hosts)" = "[]"
	check "20 SYNs from the spambot to the MX" spambot_burst
	check "the spambot is flagged" poll_until 10 flagged_now
	golden_check "hosts -j" ctl-hosts.json "$(ctl -j hosts)"
	golden_check "hosts -j --flagged" ctl-hosts.json \
		"$(ctl -j hosts --flagged)"
	golden_check "host 192.0.2.66 -j" ctl-host.json \
		"$(ctl -j host "$SPAMBOT4")"
	check "hosts: text table, one line per host" hosts_text
	check "host: text has every piece of evidence" host_text
	ctl_expect 1 "smtpgatectl: host 192.0.2.10: kernel: host not tracked" \
		"host: an untracked host" host "$CLIENT4"
	ctl_expect 2 "smtpgatectl: host: cannot parse '192.0.2.0/24': an address is needed here, not a prefix" \
		"host: a prefix is a usage error" host 192.0.2.0/24
	ctl_expect 2 "smtpgatectl: host: cannot parse 'bogus': not an IPv4 or IPv6 address" \
		"host: not an address" host bogus
	ctl_expect 2 "smtpgatectl: hosts: unexpected '--flag'" \
		"hosts --flag: no abbreviations" hosts --flag
}

# ---- bans ----------------------------------------------------------------

test_bans() {
	echo "# -- bans"
	check "ban: an address, scope all, 3h, a reason" \
		ctl ban "$SPAMBOT4" --for 3h --scope all --reason "spambot, by hand"
	check "ban: a v4 prefix, permanent" ctl ban 198.51.100.0/24
	check "ban: a v6 prefix, scope smtp, 2d" \
		ctl ban 2001:db8:1::/64 --for 2d --scope smtp --reason v6
	check "ban: again: replaces scope and reason" \
		ctl ban 198.51.100.0/24 --scope all --reason replaced
	golden_check "bans -j" ctl-bans.json "$(ctl -j bans)"
	check "bans: seconds left counted from the --for" \
		test "$(ctl -j bans | jq '[.[].timeout] | map(. // 0) | map(. > 0 and . <= 172800)' -c)" \
		= "[true,false,true]"
	check "bans: text table" bans_text
	ctl_expect 0 "" "banned 192.0.2.66: exit 0" banned "$SPAMBOT4"
	ctl_expect 0 "" "banned 198.51.100.7: exit 0 (the /24)" banned 198.51.100.7
	ctl_expect 0 "" "banned 2001:db8:1::abcd: exit 0 (the /64)" \
		banned 2001:db8:1::abcd
	ctl_expect 1 "" "banned 192.0.2.10: exit 1" banned "$CLIENT4"
	ctl_expect 1 "" "banned 2001:db8:2::1: exit 1" banned 2001:db8:2::1
	ctl_expect 2 "smtpgatectl: banned: cannot parse '192.0.2.0/24': an address is needed here, not a prefix" \
		"banned PREFIX: exit 2" banned 192.0.2.0/24
	ctl_expect 2 "" "banned without an address: exit 2" banned
	golden_check "banned -j (yes)" ctl-banned-yes.json \
		"$(ctl -j banned 198.51.100.7)"
	golden_check "banned -j (no)" ctl-banned-no.json \
		"$(ctl -j banned 192.0.2.10)"

	# One prefix parser: the words of policy set and load (load_errors).
	ctl_expect 2 "smtpgatectl: ban: cannot parse '2001:db8::/129': prefix longer than 128" \
		"ban /129: usage, the shared parser's message" ban 2001:db8::/129
	ctl_expect 2 "smtpgatectl: ban: cannot parse '192.0.2.5/24': host bits set past /24 (the prefix is 192.0.2.0/24)" \
		"ban with host bits: the message of policy set and load" ban 192.0.2.5/24
	ctl_expect 2 "smtpgatectl: unban: cannot parse '192.0.2.5/24': host bits set past /24 (the prefix is 192.0.2.0/24)" \
		"unban with host bits: the same message" unban 192.0.2.5/24
	ctl_expect 1 "smtpgatectl: ban 192.0.2.7: kernel: integer out of range (attribute ban.timeout)" \
		"ban --for 11 years: refused, the attribute named" \
		ban 192.0.2.7 --for 4000d
	ctl_expect 2 "smtpgatectl: ban --scope 'everything': smtp or all" \
		"ban --scope everything: usage" ban 192.0.2.7 --scope everything
	ctl_expect 2 "smtpgatectl: ban --for '0': a duration must be at least 1s" \
		"ban --for 0: usage" ban 192.0.2.7 --for 0
	ctl_expect 2 "smtpgatectl: ban --for '5 min' is not a duration (like 90, 10m, 3h12m, 2d)" \
		"ban --for '5 min': usage" ban 192.0.2.7 --for "5 min"
	ctl_expect 2 "smtpgatectl: ban --reason: longer than 63 bytes" \
		"ban --reason of 64 bytes: usage" \
		ban 192.0.2.7 --reason "$(printf 'x%.0s' {1..64})"
	ctl_expect 2 "smtpgatectl: ban: unexpected '--time'" \
		"ban --time: no such option" ban 192.0.2.7 --time 1h
	ctl_expect 1 "smtpgatectl: unban 192.0.2.99: kernel: no such ban" \
		"unban of no ban: the kernel's message" unban 192.0.2.99
	check "unban the /24" ctl unban 198.51.100.0/24
	ctl_expect 1 "" "banned 198.51.100.7 after unban: exit 1" \
		banned 198.51.100.7
	check "flush" ctl flush
	check "bans: none after flush" test "$(ctl -j bans)" = "[]"
	ctl_expect 2 "smtpgatectl: flush: unexpected 'all'" "flush all: usage" \
		flush all
}

# ---- forget, stats -------------------------------------------------------

test_forget_stats() {
	echo "# -- stats, forget"
	golden_check "stats -j" ctl-stats.json "$(ctl -j stats)"
	check "stats: text has the class table and the sizes" stats_text
	check "forget 192.0.2.66" ctl forget "$SPAMBOT4"
	ctl_expect 1 "smtpgatectl: cannot forget 192.0.2.66: kernel: host not tracked" \
		"forget: again" forget "$SPAMBOT4"
	check "20 more SYNs: flagged again" spambot_flagged
	check "forget all" ctl forget all
	check "hosts: none after forget all" test "$(ctl -j hosts)" = "[]"
	ctl_expect 2 "smtpgatectl: forget: ADDR or 'all' is needed" \
		"forget without an argument: usage" forget
}

# ---- monitor -------------------------------------------------------------

test_monitor() {
	echo "# -- monitor"
	mon_start || { tap_fail "monitor: starts and hears a probe ban"; return; }
	tap_ok "monitor: starts and hears a probe ban"
	spambot_burst
	check "monitor: host-flagged" \
		mon_wait 10 'select(.event == "host-flagged")'
	ctl ban "$SPAMBOT4" --scope all --reason manual
	ctl unban "$SPAMBOT4"
	ctl ban 2001:db8:1::/64 --for 1 --reason short
	check "monitor: ban-expired after 1 s" \
		mon_wait 15 'select(.event == "ban-expired")'
	# Not through check: the monitor is a child of this shell only.
	if mon_stop >"$NET_DIR/mon_stop" 2>&1; then
		tap_ok "monitor: SIGTERM ends it with status 0"
	else
		tap_fail "monitor: SIGTERM ends it with status 0: $(cat "$NET_DIR/mon_stop")"
	fi
	golden_check "monitor -j: the events in order, with the evidence" \
		ctl-monitor.jsonl "$(mon_events)"
	check "monitor: one JSON object per line, each with a time" \
		jq -e 'has("time") and (.time | type) == "number"' "$MON_OUT"
	check "monitor: text, one line per event" monitor_text
	ctl flush
}

# ---- load ----------------------------------------------------------------

# NAME LINES...: a load file
load_file() {
	local f=$NET_DIR/$1
	shift
	printf '%s\n' "$@" >"$f"
	echo "$f"
}

test_load_errors() {
	echo "# -- load: errors"
	local f
	f=$(load_file bad.txt "192.0.2.1 1h all fine" "192.0.2.300" \
		"192.0.2.2 10x" "192.0.2.3/24" "192.0.2.1 - smtp again" \
		"192.0.2.4 1h all $(printf 'r%.0s' {1..64})")
	check "load: errors name FILE:LINE, nothing loaded" load_errors "$f"
	ctl_expect 1 "smtpgatectl: cannot open /nonexistent: No such file or directory" \
		"load of a missing file" load /nonexistent
	check "policy set max_bans=16" ctl policy set max_bans=16
	f=$(load_file full.txt $(seq -f '192.0.2.%g' 1 20))
	ctl_expect 1 "smtpgatectl: load $f: 0 of 20 bans added, then: kernel: ban table full (the policy's max_bans); nothing was added" \
		"load past max_bans: the kernel's message" load "$f"
	check "stats: the refused bans are counted" \
		test "$(ctl -j stats | jq '.ban_cap_rejects > 0 and .bans == 0')" = true
	check "policy set max_bans=1048576" ctl policy set max_bans=1048576
}

# 100000 bans: v4 addresses with durations and scopes, v6 /64s, comments.
big_file() {
	awk 'BEGIN {
		print "# 100k bans for smtpgatectl load"
		for (i = 0; i < 100000; i++) {
			a = sprintf("10.%d.%d.%d", int(i / 65536), int(i / 256) % 256, i % 256)
			if (i % 4 == 0) print a " 1h all bulk " i
			else if (i % 4 == 1) print a " - smtp"
			else if (i % 4 == 2) printf "2001:db8:%x:%x::/64 2d\n", int(i / 65536), i % 65536
			else print a "   # trailing comment"
			if (i % 1000 == 0) print ""
		}
	}' >"$1"
}

test_load_big() {
	echo "# -- load: 100k bans"
	local f=$NET_DIR/big.txt out secs t0 t1 n
	big_file "$f"
	out=$(ctl -j load "$f") || { tap_fail "load of 100000 bans: $out"; return; }
	secs=$(jq .seconds <<<"$out")
	echo "# load: 100000 bans sent in $secs s (TCG guest)"
	check "load -j: says 100000 bans" test "$(jq .bans <<<"$out")" = 100000
	check "stats: 100000 bans" test "$(ctl -j stats | jq .bans)" = 100000
	t0=${EPOCHREALTIME/[.,]/}
	n=$(ctl -j bans | jq length)
	t1=${EPOCHREALTIME/[.,]/}
	echo "# bans -j of 100000: $(((t1 - t0) / 1000)) ms"
	check "bans -j lists exactly 100000" test "$n" = 100000
	check "load: each line's duration, scope and reason" big_file_bans
	check "flush of 100000" ctl flush
	f=$(load_file small.txt "192.0.2.1" "2001:db8::/48 90 all # two")
	check "load: the text line" \
		grep_out "^loaded 2 bans from $f in [0-9.]* s\$" ctl load "$f"
	check "flush" ctl flush
}

# ---- privileges, usage, no module ---------------------------------------

# save | load: the same bans back (less the time), any reason bytes.
bans_but_time() {
	ctl -j bans | jq -c 'map(del(.timeout, .created, .drops))'
}

save_load_round_trip() {
	local f before after
	f=$(load_file keywords.txt \
		"192.0.2.1 for 1h scope all reason \"say \\\"hi\\\" \\x1b[2J #12\"" \
		"2001:db8::/48 scope smtp reason spam" \
		"198.51.100.0/24 reason \"h\xc3\xa9 \\xff\"" \
		"203.0.113.7 1h all old form") || return 1
	ctl load "$f" >/dev/null || return 1
	before=$(bans_but_time)
	ctl save >"$NET_DIR/saved.txt" || return 1
	ctl flush && ctl load "$NET_DIR/saved.txt" >/dev/null || return 1
	after=$(bans_but_time)
	[[ $before == "$after" && $(jq length <<<"$after") == 4 ]] ||
		{ echo "before: $before"; echo "after:  $after"; cat "$NET_DIR/saved.txt"; return 1; }
	ctl flush
}

test_save_load() {
	echo "# -- save | load"
	check "save | load: the same bans, reasons byte for byte" save_load_round_trip
	ctl_expect 1 "smtpgatectl: $NET_DIR/amb.txt:1: is 'al' a scope or a reason? write it as PREFIX [for DURATION] [scope smtp|all] [reason \"TEXT\"]" \
		"load: an ambiguous old-form line is refused" \
		load "$(load_file amb.txt "10.0.0.1 1h al spam")"
}

test_misc() {
	echo "# -- privileges, usage, man page"
	local nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	check "as nobody: bans refused, exit 1" \
		fails_with 1 "smtpgatectl: cannot list bans: Operation not permitted (CAP_NET_ADMIN needed)" \
		ip netns exec "$NET_GW_NS" "${nobody[@]}" "$CTL" bans
	check "as nobody: stats allowed" \
		ip netns exec "$NET_GW_NS" "${nobody[@]}" "$CTL" stats
	check "in unshare -Urn: ban refused, exit 1" \
		fails_with 1 "smtpgatectl: ban 192.0.2.1: Operation not permitted (CAP_NET_ADMIN needed)" \
		unshare -Urn "$CTL" ban 192.0.2.1
	check "no arguments: exit 2" fails_with 2 "" "$CTL"
	check "help: exit 0, the grammar" \
		grep_out '^COMMAND := hosts \[--flagged\]$' "$CTL" help
	ctl_expect 2 "smtpgatectl: unknown command 'ban-list' (see 'smtpgatectl help')" \
		"unknown command: exit 2" ban-list
	check "-n of a missing namespace: exit 1" \
		fails_with 1 "smtpgatectl: cannot open network namespace 'sg-nonexistent': No such file or directory" \
		"$CTL" -n sg-nonexistent bans
	check "man page renders without warnings" man_clean
	check "man page documents every JSON key of the golden files" man_keys
}

test_no_module() {
	echo "# -- without the module"
	sg_unload
	ctl_expect 1 "smtpgatectl: no generic netlink family 'smtpgate': is the smtpgate module loaded? (try 'modprobe smtpgate')" \
		"bans without the module: exit 1" bans
	ctl_expect 2 "smtpgatectl: no generic netlink family 'smtpgate': is the smtpgate module loaded? (try 'modprobe smtpgate')" \
		"banned without the module: exit 2, not 1 (no answer)" banned 192.0.2.1
}

# ---- checks that need more than one command ------------------------------

# Succeeds when CMD's stdout has a line matching the regex RE.
grep_out() # RE CMD...
{
	local re=$1 out
	shift
	out=$("$@") || return
	grep -q -- "$re" <<<"$out" || { echo "no line like '$re' in:"; echo "$out"; return 1; }
}

# Succeeds when CMD exits RC and its stderr's first line is MSG ("": any).
fails_with() # RC MSG CMD...
{
	local rc=$1 msg=$2 err got
	shift 2
	err=$("$@" 2>&1 >/dev/null)
	got=$?
	[[ $got == "$rc" && ( -z $msg || ${err%%$'\n'*} == "$msg" ) ]] ||
		{ echo "exit $got, stderr: $err"; return 1; }
}

# Succeeds when each regex RE matches a line of TEXT; else shows TEXT.
has_lines() # TEXT RE...
{
	local text=$1 re
	shift
	for re in "$@"; do
		grep -q -- "$re" <<<"$text" && continue
		echo "no line like '$re' in:"
		echo "$text"
		return 1
	done
}

policy_text() {
	has_lines "$(ctl policy)" '^internal: *192.0.2.0/24,2001:db8:1::/64$' \
		'^submission_tls_port: *0$' '^ban_scope: *all$'
}

hosts_text() {
	local out
	out=$(ctl hosts)
	[[ $(wc -l <<<"$out") == 2 ]] || { echo "$out"; return 1; }
	has_lines "$out" \
		'^HOST  *STATE  *REASONS  *ATTEMPTS  *BLOCKED  *RATE  *DESTS  *LAST SEEN$' \
		'^192.0.2.66/32  *flagged  *blocked  *20  *20  *20  *1  *20[0-9-]* [0-9:]*$'
}

host_text() {
	has_lines "$(ctl host "$SPAMBOT4")" \
		'^attempts: *smtp4=20 smtp6=0 teredo=0 sixin4=0$' \
		'^state: *flagged$' '^reasons: *blocked$' \
		'^flagged at: *20[0-9][0-9]-[01][0-9]-[0-3][0-9] [0-2][0-9]:[0-5][0-9]$'
}

bans_text() {
	has_lines "$(ctl bans)" \
		'^PREFIX  *SCOPE  *EXPIRES IN  *CREATED  *DROPS  *REASON$' \
		'^192.0.2.66/32  *all  *\(2h59m\|3h\)  *20[0-9-]* [0-9:]*  *0  spambot, by hand$' \
		'^198.51.100.0/24  *all  *never  '
}

stats_text() {
	has_lines "$(ctl stats)" \
		'^CLASS  *PASS  *DROP  *LOG  *DROPLOG  *REDIRECT  *BANNED  *TRAP  *QUEUE$' \
		'^smtp4  *0  *20  *0  *0  *0  *0  *0  *0$' '^hosts: *1$'
}

spambot_flagged() {
	spambot_burst && poll_until 10 flagged_now
}

# The text monitor prints a line per event; a ban is repeated until the
# monitor, started in the background, has joined and heard one.
monitor_text() {
	local out=$NET_DIR/monitor.txt pid n=0
	"$CTL" -n "$NET_GW_NS" monitor >"$out" 2>&1 &
	pid=$!
	until grep -q ' ban-added ' "$out"; do
		((n++ < 100)) || break
		ctl ban 198.18.0.2
		sleep 0.1
	done
	kill "$pid"
	wait "$pid"
	grep -q '^20[0-9-]* [0-9:]* ban-added prefix 198.18.0.2/32 scope smtp expires in never created 20[0-9-]* [0-9:]* drops 0 reason -$' "$out" ||
		{ cat "$out"; return 1; }
}

load_errors() # FILE
{
	local f=$1 err rc want
	err=$(ctl load "$f" 2>&1 >/dev/null)
	rc=$?
	want="smtpgatectl: $f:2: cannot parse '192.0.2.300': not an IPv4 or IPv6 address
smtpgatectl: $f:3: '10x' is not a duration (like 90, 10m, 3h12m, 2d)
smtpgatectl: $f:4: cannot parse '192.0.2.3/24': host bits set past /24 (the prefix is 192.0.2.0/24)
smtpgatectl: $f:6: reason longer than 63 bytes
smtpgatectl: $f:5: 192.0.2.1/32 is already on line 1
smtpgatectl: $f: nothing loaded"
	[[ $rc == 1 && $err == "$want" ]] || { echo "exit $rc: $err"; return 1; }
	[[ $(ctl -j bans) == "[]" ]]
}

big_file_bans() {
	ctl banned 2001:db8:0:2::1234 >/dev/null &&
	ctl -j banned 10.0.0.4 |
		jq -e '.ban.scope == "all" and .ban.reason == "bulk 4" and .ban.timeout > 1800' >/dev/null &&
	ctl -j banned 10.0.0.5 |
		jq -e '.ban.timeout == null and .ban.scope == "smtp" and .ban.reason == ""' >/dev/null &&
	ctl -j banned 10.0.0.7 | jq -e '.ban.reason == ""' >/dev/null
}

man_clean() {
	local out
	out=$(MANWIDTH=80 man -l --warnings "$SMTPGATE_REPO/Documentation/smtpgatectl.8" 2>&1 >/dev/null)
	[[ -z $out ]] || { echo "$out"; return 1; }
}

# Every key of the golden JSON is a word of the rendered man page.
man_keys() {
	local keys words missing
	keys=$(jq -r '[paths | last | strings] | unique[]' "$GOLDEN_DIR"/ctl-* | sort -u)
	words=$(MANWIDTH=200 man -l "$SMTPGATE_REPO/Documentation/smtpgatectl.8" 2>/dev/null |
		tr -cs 'A-Za-z0-9_' '\n' | sort -u)
	missing=$(comm -23 <(echo "$keys") <(echo "$words"))
	[[ -z $missing ]] || { echo "undocumented JSON keys:" $missing; return 1; }
}

[ "$(id -u)" = 0 ] || ksft_skip "needs root (run it with scripts/vm-run.sh)"
[ -f "${SMTPGATE_KO:-}" ] || ksft_skip "no module (SMTPGATE_KO=${SMTPGATE_KO:-})"
require_cmd ip jq insmod rmmod setpriv unshare man awk
[ -x "$CTL" ] || ksft_skip "$CTL not built (make userspace)"
[ -x "$SGCRAFT" ] || ksft_skip "$SGCRAFT not built (make userspace)"
trap cleanup EXIT
ctl_load_module || ksft_fail "cannot load smtpgate"
net_setup || ksft_fail "cannot set up the namespaces"

test_policy
test_hosts
test_bans
test_forget_stats
test_monitor
test_load_errors
test_load_big
test_save_load
test_misc
test_no_module
tap_summary
