#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# action=redirect: a mail client that talks to an outside MX on port 25
# lands on the submission server's Postfix on 587 instead, which refuses to
# relay until the client authenticates, over IPv4 and IPv6.  465 is dropped
# until submission_tls_port= says where it goes.  The exempt mail server
# and non-SMTP still reach the MX.
#
#   client  192.0.2.10 2001:db8:1::10 --+          +-- submit 198.51.100.10
#   mailsrv 192.0.2.25 2001:db8:1::25 --+-- gw ----+   2001:db8:2::10
#     (exempt=)                            |  DNAT     Postfix 587 (SASL via
#                                          |  25->587  Dovecot), 465 (plain)
#                                          +-- mx 203.0.113.25 2001:db8:3::25
#                                              (must see nothing redirected)
#
#   smtpgate internal=192.0.2.0/24,2001:db8:1::/64 action=redirect
#            submission=198.51.100.10,2001:db8:2::10

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net.sh"
. "$(dirname "$0")/postfix/server.sh"

INTERNAL=internal=192.0.2.0/24,2001:db8:1::/64
EXEMPT=exempt=192.0.2.25/32,2001:db8:1::25/128
SUBMISSION=submission=$SUBMIT4,$SUBMIT6
FROM=alice@example.net
TO=bob@example.org

cleanup() {
	sg_unload
	[[ -n $NET_DIR ]] && mailsrv_stop "$NET_DIR/postfix"
	net_cleanup
}

# swaks from the client to ADDR:PORT, AUTH PLAIN when "auth" is given;
# prints its transcript.  swaks here lacks IO::Socket::INET6, so IPv6
# goes through socat on a pipe.
swaks_from_client() # ADDR PORT [auth]
{
	local target=(--server "$1" --port "$2") auth=()
	[[ $1 == *:* ]] && target=(--pipe "socat - TCP6:[$1]:$2,connect-timeout=5")
	[[ ${3:-} == auth ]] &&
		auth=(--auth PLAIN --auth-user "$MAILSRV_USER"
		      --auth-password "$MAILSRV_PASS")
	in_ns client swaks "${target[@]}" --from "$FROM" --to "$TO" \
		--timeout 15 "${auth[@]}" 2>&1
}

# Postfix's log since line MARK (a line count of the maillog).
maillog_since() # MARK
{
	tail -n +$(($1 + 1)) "$NET_DIR/postfix/maillog"
}

maillog_mark()
{
	wc -l <"$NET_DIR/postfix/maillog"
}

maillog_has() # MARK TEXT
{
	maillog_since "$1" | grep -qF "$2"
}

# A swaks session to ADDR:25 from the client's SRC, with or without AUTH,
# and what must come of it: Postfix's banner, then a relay refusal without
# AUTH or delivery with it, Postfix logging the client by its own address.
expect_submission() # SRC ADDR [auth]
{
	local src=$1 addr=$2 mode=${3:-noauth} mark out why=() log
	local desc="redirect: swaks $src -> $addr port 25"

	mark=$(maillog_mark)
	: >"$NET_DIR/mx.log"
	out=$(swaks_from_client "$addr" 25 "$mode")
	grep -q '^<-  220 .*smtpgate-submission' <<<"$out" ||
		why+=("no Postfix submission banner")
	if [[ $mode == auth ]]; then
		desc+=" with AUTH PLAIN: delivered"
		grep -q '^<-  235 ' <<<"$out" ||
			why+=("AUTH PLAIN not accepted (no 235)")
		grep -q '^<-  250 .*queued as' <<<"$out" ||
			why+=("no 250 after DATA")
	else
		desc+=" without AUTH: relaying refused"
		grep -q '^<\*\* 554 5\.7\.1 .*Relay access denied' <<<"$out" ||
			why+=("RCPT not refused with 554 5.7.1 Relay access denied")
		! grep -q 'queued as' <<<"$out" ||
			why+=("the message was accepted without AUTH")
	fi
	# The submission server sees the client itself: DNAT keeps the source.
	poll_until 5 maillog_has "$mark" "postfix/submission/smtpd"
	log=$(maillog_since "$mark")
	grep -qF "connect from unknown[$src]" <<<"$log" ||
		why+=("Postfix's log has no 'connect from unknown[$src]'")
	[[ $mode == auth ]] && ! grep -qF "sasl_username=$MAILSRV_USER" <<<"$log" &&
		why+=("Postfix's log has no sasl_username=$MAILSRV_USER")
	! net_arrived 25 "$src" tcp 0 || why+=("the outside MX saw the client")
	if ((${#why[@]})); then
		why+=("swaks said:")
		while IFS= read -r line; do
			why+=("  $line")
		done < <(grep -E '^(<-|<\*\*|\*\*\*|===|->  (EHLO|AUTH|MAIL|RCPT|DATA))' <<<"$out" | head -n 30)
	fi
	verdict_report "$desc" "${why[@]}"
}

[ "$(id -u)" = 0 ] || ksft_skip "needs root (run it with scripts/vm-run.sh)"
[ -f "${SMTPGATE_KO:-}" ] || ksft_skip "no module (SMTPGATE_KO=${SMTPGATE_KO:-})"
require_cmd ip socat ss insmod rmmod swaks postfix dovecot
trap cleanup EXIT
sg_deps || ksft_fail "cannot load smtpgate's dependencies"
sg_unload || ksft_fail "a loaded smtpgate cannot be removed"
net_setup || ksft_fail "cannot set up the namespaces"
net_mx_start || ksft_fail "the outside MX does not listen"
mailsrv_start "${NET_NS[submit]}" "$NET_DIR/postfix" submission.example.net ||
	ksft_fail "the submission server (Postfix, Dovecot) does not start"

echo "# -- the submission server itself, reached directly"
check "Postfix on $SUBMIT4:587 answers the client" \
	net_banner client "$SUBMIT4" 587 smtpgate-submission
check "Postfix on [$SUBMIT6]:465 answers the client" \
	net_banner client "$SUBMIT6" 465 smtpgate-port465

echo "# -- action=redirect, submission= v4 and v6, default ports"
sg_load "$INTERNAL" "$EXEMPT" action=redirect "$SUBMISSION" ||
	ksft_fail "smtpgate does not load with action=redirect"
expect_tcp redirect client "$CLIENT4" "$MX4" 25
expect_tcp redirect client "$CLIENT6" "$MX6" 25
expect_submission "$CLIENT4" "$MX4"
expect_submission "$CLIENT4" "$MX4" auth
expect_submission "$CLIENT6" "$MX6"
expect_submission "$CLIENT6" "$MX6" auth
# No submission_tls_port: 465 has nowhere to go and is dropped.
expect_tcp drop client "$CLIENT4" "$MX4" 465
expect_tcp drop client "$CLIENT6" "$MX6" 465
# What is not redirected.
expect_tcp pass mailsrv "$MAILSRV4" "$MX4" 25
expect_tcp pass mailsrv "$MAILSRV6" "$MX6" 465
expect_tcp pass client "$CLIENT4" "$MX4" 587
expect_tcp pass client "$CLIENT6" "$MX6" 80

echo "# -- submission_tls_port=465: 465 goes to the submission server's 465"
sg_load "$INTERNAL" action=redirect "$SUBMISSION" submission_tls_port=465 ||
	ksft_fail "smtpgate does not load with submission_tls_port=465"
for dst in "$MX4" "$MX6"; do
	src=$CLIENT4
	[[ $dst == *:* ]] && src=$CLIENT6
	mark=$(maillog_mark)
	expect_tcp redirect client "$src" "$dst" 465
	check "redirect: $src -> $dst:465 lands on the submission server's 465" \
		poll_until 5 maillog_has "$mark" "postfix/port465/smtpd"
	expect_tcp redirect client "$src" "$dst" 25
done

echo "# -- submission_port=465: 25 goes there too"
sg_load "$INTERNAL" action=redirect "$SUBMISSION" submission_port=465 ||
	ksft_fail "smtpgate does not load with submission_port=465"
check "redirect: $CLIENT4 -> $MX4:25 answered by Postfix on 465" \
	net_banner client "$MX4" 25 smtpgate-port465
check "redirect: $CLIENT6 -> $MX6:25 answered by Postfix on 465" \
	net_banner client "$MX6" 25 smtpgate-port465

echo "# -- only an IPv4 submission server"
sg_load "$INTERNAL" action=redirect "submission=$SUBMIT4" ||
	ksft_fail "smtpgate does not load with an IPv4-only submission="
expect_tcp redirect client "$CLIENT4" "$MX4" 25
# With nowhere to send it, IPv6 SMTP must not reach the MX.
expect_tcp drop client "$CLIENT6" "$MX6" 25

sg_unload || tap_fail "rmmod smtpgate"
tap_summary
