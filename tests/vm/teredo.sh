#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Tunnelled SMTP: crafted Teredo (RFC 4380) with and without the
# authentication and origin indication headers, on 3544 as destination and
# as source and on other ports, with inner extension headers and inner
# fragments; 6in4 (and 6to4) likewise; then real Teredo from miredo, whose
# inner TCP SYN to port 25 must be dropped.  tunnel_action=droplog, so a
# case checks both the verdict and the class in the log line.
#
#   spambot 192.0.2.66 --+                    +-- peer 203.0.113.44, .45
#   (sgcraft send;       |                    |   (sgcraft sniff; for the
#    miredo client)      +--- gateway --------+    miredo case the Teredo
#                        |    (smtpgate)      |    server)
#   client  192.0.2.10 --+                    +-- mx 203.0.113.25
#                                                 2001:db8:3::25 (miredo
#   internal=192.0.2.0/24,2001:db8:1::/64            relay; listeners)
#
# Teredo inner addresses: 2001:0:c000:20a::1 (a Teredo address, inside
# 2001::/32) to 2001:db8:2::25, unless a case says otherwise.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net.sh"

INTERNAL=internal=192.0.2.0/24,2001:db8:1::/64
# Inner addresses outside 2001::/32: only port 3544 makes such UDP Teredo.
NATIVE=(inner-src=2001:db8:1::66 inner-dst=2001:db8:3::44)

cleanup() {
	sg_unload
	net_cleanup
}

# A crafted Teredo packet from the spambot to the peer, with extra SPEC
# keys, and the verdict for it.
teredo() # VERDICT CLASS KEY=VALUE...
{
	local verdict=$1 class=$2
	shift 2
	expect_pkt "$verdict" spambot "$SPAMBOT4" "$PEER4" "$class" \
		teredo src="$SPAMBOT4" dst="$PEER4" "$@"
}

sixin4() # VERDICT CLASS KEY=VALUE...
{
	local verdict=$1 class=$2
	shift 2
	expect_pkt "$verdict" spambot "$SPAMBOT4" "$PEER4" "$class" \
		sixin4 src="$SPAMBOT4" dst="$PEER4" "$@"
}

[ "$(id -u)" = 0 ] || ksft_skip "needs root (run it with scripts/vm-run.sh)"
[ -f "${SMTPGATE_KO:-}" ] || ksft_skip "no module (SMTPGATE_KO=${SMTPGATE_KO:-})"
require_cmd ip socat ss insmod rmmod
[ -x "$SGCRAFT" ] || ksft_skip "$SGCRAFT not built (make userspace)"
trap cleanup EXIT
sg_deps || ksft_fail "cannot load smtpgate's dependencies"
sg_unload || ksft_fail "a loaded smtpgate cannot be removed"
net_setup || ksft_fail "cannot set up the namespaces"

sg_load "$INTERNAL" action=drop tunnel_action=droplog ||
	ksft_fail "smtpgate does not load with tunnel_action=droplog"

echo "# -- Teredo on 3544"
teredo droplog teredo
teredo droplog teredo tport=465
teredo droplog teredo auth=0,0
teredo droplog teredo auth=4,12 nonce=0102030405060708 confirm=1
teredo droplog teredo auth=255,255
teredo droplog teredo origin
teredo droplog teredo origin=198.51.100.99:5555
teredo droplog teredo auth=8,8 origin
teredo droplog teredo "${NATIVE[@]}"
teredo droplog teredo "${NATIVE[@]}" sport=3544 dport=40001
teredo droplog teredo "${NATIVE[@]}" sport=3544 dport=40001 auth=2,2 origin

echo "# -- Teredo on other ports: only with a 2001::/32 inner address"
teredo droplog teredo sport=40000 dport=40001
teredo droplog teredo sport=40000 dport=53 auth=1,1 origin
teredo droplog teredo sport=40000 dport=40001 inner-src=2001:db8:1::66 \
	inner-dst=2001:0:cb00:712c::1
teredo pass other sport=40000 dport=40001 "${NATIVE[@]}"
teredo pass other sport=40000 dport=40001 "${NATIVE[@]}" origin

echo "# -- inner extension headers and fragments"
teredo droplog teredo ext=hop,dst
teredo droplog teredo ext=hop,rt,dst auth=4,4 origin
teredo droplog teredo ext=ah
teredo droplog teredo ext=dst:16,ah:24 sport=3544 dport=40001
teredo droplog teredo ext=frag:0:m
teredo droplog teredo ext=hop,frag:0 sport=40000 dport=40001
# A non-first fragment carries no TCP header: never SMTP.
teredo pass other ext=frag:8:m
teredo pass other ext=frag:8

echo "# -- Teredo that is not SMTP"
teredo pass other tport=80
teredo pass other tport=587 auth=4,4 origin
teredo pass other bubble
teredo pass other bubble origin
# Two origin indications are not Teredo (RFC 4380 5.1.1).
teredo pass other thdr=origin,origin

echo "# -- 6in4 and 6to4"
sixin4 droplog sixin4
sixin4 droplog sixin4 tport=465
sixin4 droplog sixin4 ext=hop,dst
sixin4 droplog sixin4 ext=rt,ah,dst
sixin4 droplog sixin4 ext=frag:0:m
sixin4 droplog sixin4 ipopt=8
sixin4 droplog sixin4 ipopt=4 ext=hop
sixin4 droplog sixin4 inner-src=2002:c000:242::1 inner-dst=2002:cb00:712c::1
sixin4 pass other tport=80
sixin4 pass other ext=frag:8:m
sixin4 pass other ext=dst,frag:16

echo "# -- tunnel_action=log lets them through"
sg_load "$INTERNAL" action=drop tunnel_action=log ||
	ksft_fail "smtpgate does not load with tunnel_action=log"
teredo log teredo auth=4,4 origin ext=hop
teredo log teredo sport=40000 dport=40001
sixin4 log sixin4 ext=dst

echo "# -- real Teredo: miredo client, server and relay"
# The spambot becomes a Teredo client of the peer (a Teredo server needs
# two consecutive addresses) and reaches the MX, a Teredo relay, over
# Teredo only: its native IPv6 default route goes.  miredo picks the UDP
# ports, so the tunnel runs on ports other than 3544 after qualification.
miredo_case() {
	local d=$NET_DIR/miredo i out why=()

	mkdir -p "$d" /run/miredo
	printf 'ServerBindAddress %s\n' "$PEER4" >"$d/server.conf"
	printf 'RelayType cone\nInterfaceName teredo\nBindAddress %s\n' \
		"$MX4" >"$d/relay.conf"
	printf 'RelayType client\nInterfaceName teredo\nServerAddress %s\n' \
		"$PEER4" >"$d/client.conf"
	in_ns peer ip addr add 203.0.113.45/24 dev eth0 &&
	in_ns spambot ip -6 route del default || return
	net_bg peer miredo-server -f -p "$d/server.pid" -c "$d/server.conf" \
		>"$d/server.log" 2>&1
	net_bg mx miredo -f -p "$d/relay.pid" -c "$d/relay.conf" \
		>"$d/relay.log" 2>&1
	net_bg spambot miredo -f -p "$d/client.pid" -c "$d/client.conf" \
		>"$d/client.log" 2>&1
	net_mx_start || return

	if ! poll_until 30 teredo_up; then
		tap_skip "miredo: the client got no Teredo address in 30 s" \
			"($(tail -n 3 "$d/client.log" | tr '\n' ' '))"
		return
	fi
	in_ns spambot ip -6 addr show dev teredo | sed -n 's/^ *inet6 \(2001:0:[^ ]*\).*/# miredo client: \1/p'
	# Port 80 first: proves the tunnel works (and sets up the relay's
	# path, which takes an echo through the server) before 25 is tried.
	if ! out=$(net_tcp spambot "$MX6" 80 15 2>&1); then
		tap_skip "miredo: no TCP to [$MX6]:80 over Teredo even without SMTP ($out)"
		return
	fi
	tap_ok "miredo: TCP over Teredo to [$MX6]:80 passes"
	klog_mark
	: >"$NET_DIR/mx.log"
	out=$(net_tcp spambot "$MX6" 25 3 2>&1)
	i=$?

	((i != 0)) || why+=("connected over Teredo: $out")
	! grep -q '^tcp 25 ' "$NET_DIR/mx.log" || why+=("the MX saw: $(cat "$NET_DIR/mx.log")")
	out=$(sg_log_verdict "$KLOG_MARK" droplog teredo "$SPAMBOT4")
	[[ -n $out ]] && why+=("$out")
	verdict_report "droplog: miredo TCP over Teredo to [$MX6]:25" "${why[@]}"
	sg_log_lines "$KLOG_MARK" teredo "$SPAMBOT4" | head -n 1 | sed 's/^/#   log: /'
}

teredo_up() {
	in_ns spambot ip -6 addr show dev teredo 2>/dev/null | grep -q 'inet6 2001:0:'
}

if command -v miredo >/dev/null && command -v miredo-server >/dev/null; then
	sg_load "$INTERNAL" action=drop tunnel_action=droplog ||
		ksft_fail "smtpgate does not load with tunnel_action=droplog"
	modprobe tun 2>/dev/null
	miredo_case
else
	tap_skip "miredo: not installed"
fi

sg_unload || tap_fail "rmmod smtpgate"
tap_summary
