#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Every class under every action: the client's SMTP over IPv4 and IPv6 to
# the outside MX on 25 and 465, and the spambot's Teredo and 6in4 to the
# outside peer, under drop, log and droplog; SMTP behind IPv6 extension
# headers and IPv4 options; and ports= changing what is watched.  What
# smtpgate must leave alone is untouched.sh's.
#
#   client  192.0.2.10 2001:db8:1::10 --+
#   spambot 192.0.2.66 2001:db8:1::66 --+-- gateway ------ mx   203.0.113.25
#   mailsrv 192.0.2.25 2001:db8:1::25 --+   (init netns,        2001:db8:3::25
#     (exempt=)                              smtpgate)          25 465 587 80
#                                                ||             2525, 53/udp
#   internal=192.0.2.0/24,2001:db8:1::/64        ++--- peer 203.0.113.44
#                                                      2001:db8:3::44
#                                                      (sgcraft sniff)
#
# The topology is built once; smtpgate is reloaded with other parameters
# for each group of cases.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net.sh"

INTERNAL=internal=192.0.2.0/24,2001:db8:1::/64
EXEMPT=exempt=192.0.2.25/32,2001:db8:1::25/128

cleanup() {
	sg_unload
	net_cleanup
}

[ "$(id -u)" = 0 ] || ksft_skip "needs root (run it with scripts/vm-run.sh)"
[ -f "${SMTPGATE_KO:-}" ] || ksft_skip "no module (SMTPGATE_KO=${SMTPGATE_KO:-})"
require_cmd ip socat ss insmod rmmod
[ -x "$SGCRAFT" ] || ksft_skip "$SGCRAFT not built (make userspace)"
trap cleanup EXIT
sg_deps || ksft_fail "cannot load smtpgate's dependencies"
sg_unload || ksft_fail "a loaded smtpgate cannot be removed"
net_setup || ksft_fail "cannot set up the namespaces"
net_mx_start || ksft_fail "the outside MX does not listen"

# Without the module, everything must get through: otherwise the test bed
# is broken and every verdict below would be meaningless.
expect_tcp pass client "$CLIENT4" "$MX4" 25 ||
	ksft_fail "no SMTP without smtpgate: the test bed is broken"
expect_tcp pass client "$CLIENT6" "$MX6" 25 ||
	ksft_fail "no SMTP over IPv6 without smtpgate: the test bed is broken"

# A Teredo packet to the peer's 3544 and a 6in4 one, both carrying a SYN
# to port 25 of a native IPv6 host.
TEREDO=(teredo src="$SPAMBOT4" dst="$PEER4")
SIXIN4=(sixin4 src="$SPAMBOT4" dst="$PEER4")

for action in drop log droplog; do
	echo "# -- action=$action tunnel_action=$action"
	sg_load "$INTERNAL" "$EXEMPT" "action=$action" "tunnel_action=$action" ||
		ksft_fail "smtpgate does not load with action=$action"
	for port in 25 465; do
		expect_tcp $action client "$CLIENT4" "$MX4" $port smtp4
		expect_tcp $action client "$CLIENT6" "$MX6" $port smtp6
	done
	expect_pkt $action spambot "$SPAMBOT4" "$PEER4" teredo "${TEREDO[@]}"
	expect_pkt $action spambot "$SPAMBOT4" "$PEER4" sixin4 "${SIXIN4[@]}"
done

echo "# -- smtp6 behind extension headers, smtp4 behind options (droplog)"
for ext in hop dst rt ah hop,dst,rt,ah,dst dst:40,dst:16; do
	expect_pkt droplog spambot "$SPAMBOT6" "$PEER6" smtp6 \
		tcp6 src="$SPAMBOT6" dst="$PEER6" ext=$ext
done
expect_pkt droplog spambot "$SPAMBOT4" "$PEER4" smtp4 \
	tcp4 src="$SPAMBOT4" dst="$PEER4" ipopt=12 dport=465
# No upper-layer header at all, or TCP to a port nobody watches.
expect_pkt pass spambot "$SPAMBOT6" "$PEER6" other \
	tcp6 src="$SPAMBOT6" dst="$PEER6" ext=hop,dst nh=59
expect_pkt pass spambot "$SPAMBOT6" "$PEER6" other \
	tcp6 src="$SPAMBOT6" dst="$PEER6" ext=dst dport=443

echo "# -- ports=2525: only 2525 is watched"
sg_load "$INTERNAL" ports=2525 action=droplog tunnel_action=droplog ||
	ksft_fail "smtpgate does not load with ports=2525"
expect_tcp droplog client "$CLIENT4" "$MX4" 2525 smtp4
expect_tcp droplog client "$CLIENT6" "$MX6" 2525 smtp6
expect_tcp pass client "$CLIENT4" "$MX4" 465
expect_tcp pass client "$CLIENT6" "$MX6" 25
expect_pkt droplog spambot "$SPAMBOT4" "$PEER4" teredo "${TEREDO[@]}" tport=2525
expect_pkt pass spambot "$SPAMBOT4" "$PEER4" other "${SIXIN4[@]}" tport=25

echo "# -- ports=25,465,2525 with log"
sg_load "$INTERNAL" ports=25,465,2525 action=log || ksft_fail "smtpgate does not load with three ports"
expect_tcp log client "$CLIENT4" "$MX4" 2525 smtp4
expect_tcp log client "$CLIENT6" "$MX6" 465 smtp6

# A logged session passes whole: its attempt is logged, not each segment.
only_attempts_logged() # MARK SRC
{
	local lines
	lines=$(sg_log_lines "$1" "smtp4 " "$2") || {
		echo "no smtp4 line for $2"
		return 1
	}
	if grep -q " ACK " <<<"$lines"; then
		echo "a segment past the SYN was logged: $(grep -m 1 ' ACK ' <<<"$lines")"
		return 1
	fi
}
klog_mark
LOG_MARK=$KLOG_MARK
expect_tcp log client "$CLIENT4" "$MX4" 25 smtp4
check "log: the connection attempt logged, not the session's segments" \
	only_attempts_logged "$LOG_MARK" "$CLIENT4"
expect_tcp pass client "$CLIENT4" "$MX4" 80

sg_unload || tap_fail "rmmod smtpgate"
tap_summary
