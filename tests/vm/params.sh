#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Module parameters: every bad value makes insmod fail with a kernel log
# line naming the parameter and the value; without internal= the module
# loads and enforces nothing; and smtpgate can be removed and inserted
# again, several times, while traffic (an iperf3 stream, SMTP attempts,
# Teredo packets) flows through the gateway, which recovers each time.
#
#   client  192.0.2.10 --+                  +-- mx   203.0.113.25 (iperf3 -s,
#   (iperf3 -c)          +--- gateway ------+        SMTP listeners)
#   spambot 192.0.2.66 --+    insmod/rmmod  +-- peer 203.0.113.44
#   (SMTP and Teredo loops)   in a loop          submit 198.51.100.10 (no
#                                                server: redirected SYNs
#                                                get a RST)

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net.sh"

INTERNAL=internal=192.0.2.0/24,2001:db8:1::/64

cleanup() {
	sg_unload
	net_cleanup
}

# insmod with PARAM=VALUE must fail, and the kernel must say why, naming
# the parameter and the offending value (or item of a list).
expect_rejected() # PARAM=VALUE [NAMED-VALUE] [OTHER-PARAMS...]
{
	local arg=$1 name=${1%%=*} value=${2-${1#*=}} out lines why=()
	shift 2 2>/dev/null || shift

	sg_unload
	klog_mark
	if out=$(insmod "$SMTPGATE_KO" "$arg" "$@" 2>&1); then
		why+=("insmod succeeded")
		rmmod smtpgate
	fi
	sg_loaded && why+=("the module is loaded") && rmmod smtpgate
	poll_until 2 has_param_error "$name" "$value" ||
		why+=("no kernel line naming '$name' and '$value'; the kernel said:"
		      "$(klog_since "" smtpgate | head -n 3)")
	lines=$(klog_since "" smtpgate "$name" | head -n 1)
	verdict_report "rejected: insmod smtpgate $arg${*:+ $*}" "${why[@]}" &&
		echo "#   $lines"
}

has_param_error() # NAME VALUE
{
	klog_since "" smtpgate "$1" "$2" >/dev/null
}

expect_loads() # PARAM=VALUE...
{
	if sg_load "$@" >/dev/null; then
		tap_ok "loads: insmod smtpgate $*"
	else
		tap_fail "loads: insmod smtpgate $*"
		sg_load "$@"
	fi
}

[ "$(id -u)" = 0 ] || ksft_skip "needs root (run it with scripts/vm-run.sh)"
[ -f "${SMTPGATE_KO:-}" ] || ksft_skip "no module (SMTPGATE_KO=${SMTPGATE_KO:-})"
require_cmd ip socat ss insmod rmmod iperf3
[ -x "$SGCRAFT" ] || ksft_skip "$SGCRAFT not built (make userspace)"
trap cleanup EXIT
sg_deps || ksft_fail "cannot load smtpgate's dependencies"
sg_unload || ksft_fail "a loaded smtpgate cannot be removed"
net_setup || ksft_fail "cannot set up the namespaces"

echo "# -- bad parameters"
expect_rejected internal=192.0.2.0/33
expect_rejected internal=2001:db8::/129
expect_rejected internal=foo
expect_rejected internal=192.0.2.0/24,2001:db8:1::/64,300.1.2.3/8 300.1.2.3/8
expect_rejected internal=192.0.2.0/24,,2001:db8:1::/64 ",,"
expect_rejected internal=192.0.2.1/24
expect_rejected exempt=192.0.2.25/40 192.0.2.25/40 "$INTERNAL"
expect_rejected exempt=mailserver mailserver "$INTERNAL"
expect_rejected action=bounce
expect_rejected action=DROP
expect_rejected tunnel_action=redirect redirect "$INTERNAL"
expect_rejected tunnel_action=reject
expect_rejected submission=notanip
expect_rejected submission=198.51.100.0/24 198.51.100.0/24
expect_rejected submission=198.51.100.10,198.51.100.11 198.51.100.11
expect_rejected submission_port=0
expect_rejected submission_port=70000
expect_rejected submission_port=-1
expect_rejected submission_tls_port=65536
expect_rejected ports= ports=
expect_rejected ports=0
expect_rejected ports=25,abc abc
expect_rejected ports=65536
expect_rejected ports=25,,465 ",,"
# redirect with nowhere to redirect to
expect_rejected action=redirect redirect "$INTERNAL"
# trap needs the trap listener's port, which only netlink sets
expect_rejected action=trap trap_port "$INTERNAL"
expect_rejected tunnel_action=trap trapped "$INTERNAL"

echo "# -- good parameters"
expect_loads internal=0.0.0.0/0,::/0
expect_loads "$INTERNAL" ports=1,65535 submission_port=65535
expect_loads "$INTERNAL" action=redirect submission=2001:db8:2::10 \
	submission_tls_port=465
expect_loads "$INTERNAL" exempt=192.0.2.25,2001:db8:1::25 action=log

echo "# -- no internal=: loads and enforces nothing"
net_mx_start || ksft_fail "the outside MX does not listen"
klog_mark
mark=$KLOG_MARK
if sg_load action=droplog tunnel_action=droplog; then
	tap_ok "loads without internal="
	check "says it enforces nothing" \
		poll_until 2 has_param_error "" "nothing"
	expect_tcp pass client "$CLIENT4" "$MX4" 25
	expect_tcp pass client "$CLIENT6" "$MX6" 465
	expect_pkt pass spambot "$SPAMBOT4" "$PEER4" teredo \
		teredo src="$SPAMBOT4" dst="$PEER4"
else
	tap_fail "loads without internal="
fi

echo "# -- rmmod and insmod while traffic flows"
flood_smtp() { # ROLE ADDR
	local a
	a=$(net_socat_addr TCP "$2" 25)
	while :; do
		ip netns exec "${NET_NS[$1]}" socat -T 1 - "$a,connect-timeout=1" \
			</dev/null >/dev/null 2>&1
	done
}
flood_teredo() {
	while :; do
		in_ns spambot "$SGCRAFT" send -n 50 \
			teredo src="$SPAMBOT4" dst="$PEER4" auth=4,4 origin \
			sixin4 src="$SPAMBOT4" dst="$PEER4" >/dev/null 2>&1
	done
}
net_bg mx iperf3 -s -1 >/dev/null 2>&1
poll_until 10 net_listening mx tcp 5201 ||
	ksft_fail "iperf3 -s does not listen"
in_ns client iperf3 -c "$MX4" -t 30 -b 5M -i 0 >"$NET_DIR/iperf3.out" 2>&1 &
IPERF=$!
NET_PIDS+=("$IPERF")
FLOODS=()
flood_smtp spambot "$MX4" &
FLOODS+=($!)
flood_smtp client "$MX6" &
FLOODS+=($!)
flood_teredo &
FLOODS+=($!)
NET_PIDS+=("${FLOODS[@]}")
klog_mark
mark=$KLOG_MARK
cycles=0
actions=(drop log droplog redirect drop redirect)
for action in "${actions[@]}"; do
	params=("$INTERNAL" "action=$action" tunnel_action=drop)
	[[ $action == redirect ]] &&
		params+=("submission=$SUBMIT4,$SUBMIT6" submission_tls_port=465)
	sg_load "${params[@]}" >/dev/null || break
	sleep 1		# let traffic hit the loaded module
	rmmod smtpgate || break
	cycles=$((cycles + 1))
done
kill "${FLOODS[@]}"
if ((cycles == ${#actions[@]})); then
	tap_ok "$cycles cycles of insmod, 1 s of traffic, rmmod"
else
	tap_fail "insmod/rmmod cycle $((cycles + 1)) (action=${actions[cycles]}) failed"
fi
# The stream must have survived and still be moving.
if wait "$IPERF"; then
	tap_ok "iperf3 through the gateway survived: $(grep -E 'receiver' "$NET_DIR/iperf3.out" | tr -s ' ' | head -n 1)"
else
	tap_fail "iperf3 through the gateway failed"
	tail -n 5 "$NET_DIR/iperf3.out" | sed 's/^/#   /'
fi
check "no WARN, BUG or oops in the kernel log" \
	bash -c "! tail -n +$((mark + 1)) '$NET_DIR/kmsg' | grep -E 'WARNING:|BUG:|Oops|general protection|refcount_t'"
# And it still works afterwards, both ways.
expect_tcp pass client "$CLIENT4" "$MX4" 25
sg_load "$INTERNAL" action=drop || ksft_fail "smtpgate does not load after the cycles"
expect_tcp drop client "$CLIENT4" "$MX4" 25
expect_tcp pass client "$CLIENT4" "$MX4" 80
sg_unload || tap_fail "rmmod smtpgate"
tap_summary
