#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# What smtpgate must leave alone, with action=drop: the exempt mail server
# on 25 and 465, non-SMTP (53/udp, 80, 587 itself, tunnels carrying other
# ports, UDP to 25), return traffic from port 25, and hosts outside
# internal=.
#
#   client  192.0.2.10 2001:db8:1::10 --+
#   spambot 192.0.2.66 2001:db8:1::66 --+-- gateway ------ mx   203.0.113.25
#   mailsrv 192.0.2.25 2001:db8:1::25 --+   (init netns,        2001:db8:3::25
#     (exempt=)                              smtpgate)          25 465 587 80
#                                                ||             2525, 53/udp
#   internal=192.0.2.0/24,2001:db8:1::/64        ++--- peer 203.0.113.44
#   (later only .64/27 and ::40/122)                   2001:db8:3::44
#                                                      (sgcraft sniff)

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

TEREDO=(teredo src="$SPAMBOT4" dst="$PEER4")
SIXIN4=(sixin4 src="$SPAMBOT4" dst="$PEER4")

echo "# -- what passes under drop"
sg_load "$INTERNAL" "$EXEMPT" action=drop tunnel_action=drop ||
	ksft_fail "smtpgate does not load with action=drop"
for port in 25 465; do
	expect_tcp pass mailsrv "$MAILSRV4" "$MX4" $port
	expect_tcp pass mailsrv "$MAILSRV6" "$MX6" $port
done
for port in 80 587; do
	expect_tcp pass client "$CLIENT4" "$MX4" $port
	expect_tcp pass client "$CLIENT6" "$MX6" $port
done
expect_udp pass spambot "$SPAMBOT4" "$MX4" 53
expect_udp pass spambot "$SPAMBOT6" "$MX6" 53
# Tunnels that carry no SMTP are not SMTP either.
expect_pkt pass spambot "$SPAMBOT4" "$PEER4" other "${TEREDO[@]}" tport=80
expect_pkt pass spambot "$SPAMBOT4" "$PEER4" other "${SIXIN4[@]}" tport=587
# UDP to port 25 is not SMTP.
expect_pkt pass spambot "$SPAMBOT4" "$PEER4" other \
	udp4 src="$SPAMBOT4" dst="$PEER4" dport=25

# Return traffic: an internal host that serves SMTP answers from port 25,
# and an outside MX answers the exempt server from port 25; neither answer
# goes to a watched port, so both connections complete.
echo "# -- return traffic under drop"
: >"$NET_DIR/client.log"
net_listen client tcp 25 "$NET_DIR/client.log" "client.example.net ESMTP inbound"
poll_until 10 net_listening client tcp 25 2 ||
	ksft_fail "the client's own SMTP listener did not start"
check "pass: mx -> client tcp 25 (inbound; the answers come from port 25)" \
	net_banner mx "$CLIENT4" 25 "ESMTP inbound"
check "pass: mx -> client tcp 25 over IPv6" \
	net_banner mx "$CLIENT6" 25 "ESMTP inbound"
# A crafted segment from the spambot's port 25 to a high port: an answer,
# not SMTP.
expect_pkt pass spambot "$SPAMBOT4" "$PEER4" other \
	tcp4 src="$SPAMBOT4" dst="$PEER4" sport=25 dport=40000 flags=SA
expect_pkt pass spambot "$SPAMBOT6" "$PEER6" other \
	tcp6 src="$SPAMBOT6" dst="$PEER6" sport=25 dport=40000 flags=SA

echo "# -- only internal= is policed"
# Only the spambot's /27 and /122 are internal; the client is not.
sg_load internal=192.0.2.64/27,2001:db8:1::40/122 action=drop \
	tunnel_action=drop || ksft_fail "smtpgate does not load with a narrow internal="
expect_tcp pass client "$CLIENT4" "$MX4" 25
expect_tcp pass client "$CLIENT6" "$MX6" 465
expect_tcp drop spambot "$SPAMBOT4" "$MX4" 25
expect_tcp drop spambot "$SPAMBOT6" "$MX6" 465
expect_pkt pass client "$CLIENT4" "$PEER4" teredo teredo src="$CLIENT4" dst="$PEER4"
expect_pkt drop spambot "$SPAMBOT4" "$PEER4" teredo "${TEREDO[@]}"

sg_unload || tap_fail "rmmod smtpgate"
tap_summary
