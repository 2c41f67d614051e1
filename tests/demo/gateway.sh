#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The demo `make demo` plays: one gateway, the classic port-25 policy, and
# what each kind of host sees.  Every step is also checked, so the demo
# fails loudly (and `make check` with it) if smtpgate stops doing what the
# README promises.
#
#    client  192.0.2.10 ---+                      +-- submit 198.51.100.10
#    spambot 192.0.2.66 ---+--- gateway (this VM) |   Postfix 587 + Dovecot
#    mailsrv 192.0.2.25 ---+    smtpgate          +-- mx 203.0.113.25 :25 :465
#      (exempt)                                   +-- peer 203.0.113.44
#                                                      (Teredo relay side)

. "$(dirname "$0")/../vm/lib.sh"
. "$(dirname "$0")/../vm/net.sh"
. "$(dirname "$0")/../vm/postfix/server.sh"

INTERNAL=internal=192.0.2.0/24,2001:db8:1::/64
EXEMPT=exempt=192.0.2.25,2001:db8:1::25

cleanup() {
	sg_unload
	[[ -n $NET_DIR ]] && mailsrv_stop "$NET_DIR/postfix"
	net_cleanup
}

step() {
	echo "#"
	echo "# == $*"
}

say() {
	echo "#    $*"
}

# The kernel's smtpgate lines since MARK, as the operator sees them.
show_log() # MARK
{
	klog_since "$1" | grep -o 'smtpgate: .*' | head -n 3 |
		cut -c1-160 | sed 's/^/#    log| /'
}

# The first lines of a swaks dialogue that tell the story.
show_swaks() # OUTPUT
{
	grep -E '^(<-  220|<-  235|<\*\* 554|<-  250 .*queued|->  AUTH)' <<<"$1" |
		head -n 5 | sed 's/^/#    smtp| /'
}

swaks_client() # [auth]
{
	local auth=()

	[[ ${1:-} == auth ]] && auth=(--auth PLAIN --auth-user "$MAILSRV_USER"
				      --auth-password "$MAILSRV_PASS")
	in_ns client swaks --server "$MX4" --port 25 --from alice@example.net \
		--to bob@example.org --timeout 15 "${auth[@]}" 2>&1
}

[ "$(id -u)" = 0 ] || ksft_skip "needs root (run it with make demo)"
[ -f "${SMTPGATE_KO:-}" ] || ksft_skip "no module (SMTPGATE_KO=${SMTPGATE_KO:-})"
require_cmd ip socat swaks postfix dovecot insmod
trap cleanup EXIT

step "Building the network: internal hosts, the gateway, a DMZ, the outside"
sg_deps || ksft_fail "cannot load smtpgate's dependencies"
sg_unload || ksft_fail "a loaded smtpgate cannot be removed"
net_setup || ksft_fail "cannot set up the namespaces"
net_mx_start || ksft_fail "the outside MX does not listen"
mailsrv_start "${NET_NS[submit]}" "$NET_DIR/postfix" submission.example.net ||
	ksft_fail "the submission server (Postfix, Dovecot) does not start"
say "client $CLIENT4, spambot $SPAMBOT4, mail server $MAILSRV4 (exempt)"
say "outside MX $MX4 on 25 and 465; Postfix submission $SUBMIT4:587"

step "modprobe smtpgate $INTERNAL $EXEMPT action=droplog tunnel_action=droplog"
sg_load $INTERNAL $EXEMPT action=droplog tunnel_action=droplog ||
	ksft_fail "smtpgate does not load"

step "The spambot goes straight to the MX on port 25: blocked and logged"
klog_mark
mark=$KLOG_MARK
expect_tcp droplog spambot "$SPAMBOT4" "$MX4" 25
show_log "$mark"

step "It tries SMTPS on 465, and IPv6: blocked too"
expect_tcp droplog spambot "$SPAMBOT4" "$MX4" 465
expect_tcp droplog spambot "$SPAMBOT6" "$MX6" 25

step "It tunnels IPv6 SMTP in Teredo (UDP, auth + origin headers, port 40000)"
klog_mark
mark=$KLOG_MARK
expect_pkt droplog spambot "$SPAMBOT4" "$PEER4" teredo teredo \
	src="$SPAMBOT4" dst="$PEER4" dport=40000 auth=4,8 origin \
	inner-src=2001:0:cb00:712c::66 inner-dst="$MX6"
show_log "$mark"
say "(the classic u32 rule matches only UDP 3544 with no extra headers)"

step "The real mail server sends as always"
expect_tcp pass mailsrv "$MAILSRV4" "$MX4" 25
expect_tcp pass mailsrv "$MAILSRV6" "$MX6" 465

step "Web and DNS from every host are untouched"
expect_tcp pass spambot "$SPAMBOT4" "$MX4" 80
expect_udp pass spambot "$SPAMBOT4" "$MX4" 53

step "modprobe smtpgate ... action=redirect submission=$SUBMIT4"
sg_load $INTERNAL $EXEMPT action=redirect "submission=$SUBMIT4" ||
	ksft_fail "smtpgate does not load with action=redirect"

step "A user's mail client still set to 'the MX on port 25' lands on Postfix 587"
out=$(swaks_client)
show_swaks "$out"
check "without AUTH the submission server refuses to relay (554 5.7.1)" \
	grep -q '^<\*\* 554 5\.7\.1' <<<"$out"
check "the outside MX never saw the client" \
	bash -c "! grep -q 'from $CLIENT4' '$NET_DIR/mx.log'"

step "With its password configured, the same client's mail is delivered"
out=$(swaks_client auth)
show_swaks "$out"
check "with AUTH PLAIN the message is queued (250 ... queued as)" \
	grep -q '^<-  250 .*queued as' <<<"$out"

step "rmmod smtpgate: the gateway forwards everything again"
sg_unload || tap_fail "rmmod smtpgate"
expect_tcp pass spambot "$SPAMBOT4" "$MX4" 25

tap_summary
