#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# shellcheck source-path=SCRIPTDIR disable=SC2317 # cleanup: indirect
#
# Outbound SMTP inspection through NFQUEUE: the module queues the dialogue
# of port-25 sessions (action log, inspect_queue 3), smtpgated scores it,
# and each zombie behaviour flags its own host with reason "dialogue" (and
# the daemon bans it), with the offending lines in the log; well-behaved
# clients (swaks with a proper EHLO, with and without PIPELINING) and one
# mild sign alone are not flagged; the exempt mail server is judged and
# only logged; the seed's helo-checks regexp file loads and its rules
# match (a broken one is refused on SIGHUP, with its file:line); after
# kill -9 of the daemon, sessions in flight and new ones go
# on (the queue's bypass).
#
#   client  192.0.2.10   --+   ns sg-gw-<id>: gateway, smtpgate    +-- mx 203.0.113.25
#     swaks, good           |   action=log inspect_queue=3          |   2001:db8:3::25
#   spambot 192.0.2.66     |   smtpgated -f: NFQUEUE 3, flags      |   python3 SMTP
#     + 192.0.2.101-110 ---+-- through HOST_FLAG, bans (scope all) -+   server on :25
#     + 2001:db8:1::101     |                                       |   (PIPELINING,
#     (scripted zombies)    |                                       |   554/550/450 on
#   mailsrv 192.0.2.25 ----+   (exempt: judged, logged, not flagged)    cue, 1 s greet
#                                                                       pause)
#
# The MX is a small scripted server (python3, below), not Postfix: it
# answers MAIL/RCPT with 554/550/450 on cue and pauses 1 s before its
# greeting, as postscreen does, so each sign is produced on purpose.

SMTPGATE_TEST_GW_NETNS=1
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net.sh"
. "$(dirname "$0")/ctl-lib.sh"
. "$(dirname "$0")/daemon/lib.sh"

PY=$(command -v /usr/bin/python3 python3 | head -n 1)
HELO_TABLE=$SMTPGATE_REPO/tests/vm/data/helo-checks.regexp
ZOMBIE6=2001:db8:1::101

cleanup() {
	d_cleanup
	net_cleanup
	sg_unload
}

# ---- the MX and the clients ------------------------------------------------------

write_mx() {
	cat >"$NET_DIR/mx.py" <<'PY'
import asyncio, sys

LOG = open(sys.argv[1], "a", buffering=1)
queued = 0

async def reply(w, text):
    w.write(text.encode() + b"\r\n")
    await w.drain()

async def session(r, w):
    global queued
    peer = w.get_extra_info("peername")[0]
    await asyncio.sleep(1.0)            # postscreen's greet pause
    await reply(w, "220 mx.example.net ESMTP smtpgate-test")
    mail, rcpts = None, 0
    try:
        while True:
            line = await asyncio.wait_for(r.readline(), 60)
            if not line:
                break
            cmd = line.decode("latin-1").rstrip("\r\n")
            LOG.write("%s %s\n" % (peer, cmd))
            verb = cmd[:4].upper()
            arg = cmd[5:].lower()
            if verb == "EHLO":
                await reply(w, "250-mx.example.net\r\n250-PIPELINING\r\n"
                               "250-SIZE 10240000\r\n250 8BITMIME")
                mail, rcpts = None, 0
            elif verb == "HELO":
                await reply(w, "250 mx.example.net")
            elif verb == "MAIL":
                if "reject" in arg:
                    await reply(w, "554 5.7.1 Sender address rejected")
                else:
                    mail, rcpts = arg, 0
                    await reply(w, "250 2.1.0 Ok")
            elif verb == "RCPT":
                if mail is None:
                    await reply(w, "503 5.5.1 Error: need MAIL command")
                elif "unknown" in arg:
                    await reply(w, "550 5.1.1 User unknown")
                elif "grey" in arg:
                    await reply(w, "450 4.7.1 Greylisted, come back later")
                else:
                    rcpts += 1
                    await reply(w, "250 2.1.5 Ok")
            elif verb == "DATA":
                if not rcpts:
                    await reply(w, "554 5.5.1 Error: no valid recipients")
                    continue
                await reply(w, "354 End data with <CR><LF>.<CR><LF>")
                while True:
                    l = await asyncio.wait_for(r.readline(), 60)
                    if not l or l.rstrip(b"\r\n") == b".":
                        break
                queued += 1
                LOG.write("%s queued %d\n" % (peer, queued))
                await reply(w, "250 2.0.0 Ok: queued as Q%d" % queued)
                mail, rcpts = None, 0
            elif verb == "RSET":
                mail, rcpts = None, 0
                await reply(w, "250 2.0.0 Ok")
            elif verb == "NOOP":
                await reply(w, "250 2.0.0 Ok")
            elif verb == "QUIT":
                await reply(w, "221 2.0.0 Bye")
                break
            else:
                await reply(w, "502 5.5.2 Error: command not recognized")
    except (asyncio.TimeoutError, ConnectionError):
        pass
    w.close()

async def main():
    s = await asyncio.start_server(session, host=["0.0.0.0", "::"], port=25,
                                   reuse_address=True)
    async with s:
        await s.serve_forever()

asyncio.run(main())
PY
	# The clients: SRC DST STEP...; a step is "C:text" (sent, \n -> CRLF,
	# several lines in one write), "S" (wait for one complete reply,
	# printed), "W:FILE" (wait until FILE exists) or "P:SECS".
	cat >"$NET_DIR/zc.py" <<'PY'
import os, socket, sys, time

src, dst = sys.argv[1], sys.argv[2]
fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.settimeout(60)
s.bind((src, 0))
s.connect((dst, 25))
buf = b""
for step in sys.argv[3:]:
    if step.startswith("C:"):
        s.sendall(step[2:].replace("\\n", "\r\n").encode())
    elif step == "S":
        while True:
            while b"\n" not in buf:
                d = s.recv(4096)
                if not d:
                    sys.exit("connection closed")
                buf += d
            line, buf = buf.split(b"\n", 1)
            print("<- " + line.decode().rstrip("\r"))
            if len(line) < 4 or line[3:4] != b"-":
                break
    elif step.startswith("W:"):
        while not os.path.exists(step[2:]):
            time.sleep(0.1)
    elif step.startswith("P:"):
        time.sleep(float(step[2:]))
s.close()
PY
}

mx_start() {
	write_mx
	net_bg mx "$PY" "$NET_DIR/mx.py" "$NET_DIR/mx-sessions.log"
	poll_until 30 net_listening mx tcp 25 2
}

zc() # ROLE SRC STEP...
{
	local role=$1 src=$2 dst=$MX4
	shift 2
	[[ $src == *:* ]] && dst=$MX6
	in_ns "$role" "$PY" "$NET_DIR/zc.py" "$src" "$dst" "$@"
}

# ---- checks ------------------------------------------------------------------

has_dialogue() # ADDR
{
	ctl -j host "$1" 2>/dev/null |
		jq -e '[.. | objects | .reasons? // empty | .[]] | index("dialogue") != null' \
			>/dev/null
}

flagged_dialogue() # ADDR
{
	poll_until 20 has_dialogue "$1" || {
		echo "# $1: $(ctl -j host "$1" 2>&1 | tr '\n' ' ')"
		return 1
	}
}

not_flagged() # ADDR
{
	! has_dialogue "$1" && ! grep -q "^smtpgated: action=dialogue host=$1 " "$D_LOG"
}

# DESC ADDR SIGNS-ERE EVIDENCE-ERE [BANNED]: the host flagged, reason
# dialogue, the log line with its signs and evidence, and banned by the
# daemon (BANNED: the ban's prefix, the host's /64 for IPv6).
expect_flag() # DESC ADDR SIGNS EVIDENCE [BANNED]
{
	local a=${2//./\\.} b=${5:-$2}
	check "$1: flagged, reason dialogue" flagged_dialogue "$2"
	check "$1: logged with the evidence" \
		d_logged "^action=dialogue host=$a server=[0-9a-f.:]+ port=[0-9]+ score=[0-9]+ signs=$3 flag=yes evidence=\".*$4.*\"$"
	check "$1: banned (reason dialogue)" \
		d_logged "^action=ban host=${b//./\\.} reason=dialogue "
}

add_zombie_addrs() {
	local i batch=""
	for i in $(seq 101 110); do
		batch+="addr add 192.0.2.$i/24 dev eth0"$'\n'
	done
	batch+="addr add $ZOMBIE6/64 dev eth0 nodad"$'\n'
	in_ns spambot ip -batch - <<<"$batch"
}

# ---- the tests ----------------------------------------------------------------------

test_setup() {
	echo "# -- setup"
	check "module loaded without parameters" ctl_load_module
	step "network" net_setup || ksft_fail "no network"
	step "the zombies' addresses" add_zombie_addrs
	step "the MX (python3 SMTP server on 25)" mx_start
	step "the notify socket" d_init
	cp "$HELO_TABLE" "$NET_DIR/helo-checks.regexp"
	d_conf "$D_CONF" action=log inspect_queue=3 \
		inspect_helo_access="$NET_DIR/helo-checks.regexp" \
		inspect_protected_names=mx.example.net \
		inspect_max_recipients=3 inspect_max_messages=1 ban_first=10m
	check "--check-config: the seed's helo-checks file loads" \
		"$SGD" --check-config -c "$D_CONF"
	step "smtpgated starts and says READY=1" d_start
	check "inspection is on" d_logged "^inspection: NFQUEUE 3, 4096 bytes per direction, threshold 100"
	check "the policy has the queue" \
		test "$(ctl -j policy | jq -c '[.action, .inspect_queue]')" = '["log",3]'
}

test_good() {
	echo "# -- well-behaved clients are not flagged"
	local out
	out=$(in_ns client swaks --server "$MX4" --ehlo client.example.org \
		--from alice@example.org --to bob@example.net --timeout 30 2>&1)
	check "swaks --ehlo client.example.org: delivered" \
		grep -q '^<-  250 2.0.0 Ok: queued' <<<"$out"
	out=$(in_ns client swaks --server "$MX4" --ehlo client.example.org \
		--pipeline --from alice@example.org --to bob@example.net \
		--timeout 30 2>&1)
	check "swaks --pipeline (PIPELINING offered): delivered" \
		grep -q '250 2.0.0 Ok: queued' <<<"$out"
	check "a rejected recipient, then QUIT" \
		zc client "$CLIENT4" S "C:EHLO client.example.org\n" S \
		"C:MAIL FROM:<alice@example.org>\n" S \
		"C:RCPT TO:<unknown@example.net>\n" S "C:QUIT\n" S
	check "one mild sign alone (EHLO desktop-7)" \
		zc spambot 192.0.2.110 S "C:EHLO desktop-7\n" S \
		"C:MAIL FROM:<a@example.org>\n" S "C:QUIT\n" S
	check "the queue saw them" \
		poll_until 10 grep -q "192.0.2.110 QUIT" "$NET_DIR/mx-sessions.log"
	# Every session above is over; the daemon had all of it.
	check "the client is not flagged" not_flagged "$CLIENT4"
	check "one mild sign is not flagged" not_flagged 192.0.2.110
	check "the module queued packets" \
		test "$(ctl -j stats | jq '[.. | objects | .queue? // empty] | add')" -gt 0
}

# An ICMP error from the MX about a port-25 session is related to it, in
# the reply direction, but it is no server data: never queued (an ICMP
# header read as TCP used to look like a segment with data).
other_queued() {
	ctl -j stats | jq '.packets.other.queue // 0'
}

still_queued() # N
{
	local now
	now=$(other_queued)
	[[ $now == "$1" ]] || { echo "other.queue went from $1 to $now"; return 1; }
}

test_icmp_related() {
	echo "# -- an ICMP error about a port-25 session is not queued"
	local before out
	in_ns mx iptables -I INPUT -p tcp --dport 25 -s "$CLIENT4" \
		-m tcp --sport 40025 -j REJECT --reject-with icmp-port-unreachable
	before=$(other_queued)
	out=$(in_ns client socat -u /dev/null \
		TCP4:"$MX4":25,sourceport=40025,connect-timeout=10 2>&1)
	check "the MX's port unreachable reached the client" \
		grep -qi "refused" <<<"$out"
	check "nothing of it was queued" still_queued "$before"
	in_ns mx iptables -D INPUT -p tcp --dport 25 -s "$CLIENT4" \
		-m tcp --sport 40025 -j REJECT --reject-with icmp-port-unreachable
}

# Each zombie stops at its offending line: the ban that follows (scope
# all) cuts the rest of its session.
test_zombies() {
	echo "# -- each zombie behaviour flags its host"
	zc spambot 192.0.2.101 S "C:EHLO [192.0.2.101]\n"
	expect_flag "address literal" 192.0.2.101 \
		"helo-address-literal,helo-access" \
		"\\(helo-checks.regexp:6 REJECT Local policy prohibits address literals in helo\\)"
	zc spambot 192.0.2.102 S "C:HELO 192.0.2.102\n"
	expect_flag "bare IP" 192.0.2.102 helo-bare-ip "HELO 192.0.2.102"
	zc spambot 192.0.2.103 S "C:EHLO localhost\n"
	expect_flag "localhost" 192.0.2.103 "helo-localhost,helo-access" \
		"helo-checks.regexp:5 REJECT No, you are not localhost"
	zc spambot 192.0.2.104 S "C:EHLO mx.example.net\n"
	expect_flag "the server's own name" 192.0.2.104 helo-protected-name \
		"EHLO mx.example.net"
	# Judged when the greeting (1 s late) shows the session is new.
	zc spambot 192.0.2.105 "C:EHLO pregreet.example.org\n" P:3
	expect_flag "pregreet" 192.0.2.105 pregreet \
		"pregreet: EHLO pregreet.example.org"
	zc spambot 192.0.2.106 S "C:HELO pipe.example.org\n" S \
		"C:MAIL FROM:<a@example.org>\nRCPT TO:<b@example.net>\n"
	expect_flag "pipelining without PIPELINING" 192.0.2.106 pipelining \
		"pipelining: RCPT TO:<b@example.net>"
	zc spambot 192.0.2.107 S "C:EHLO desktop-7\n" S \
		"C:MAIL FROM:<reject@example.org>\n" S "C:RCPT TO:<b@example.net>\n"
	expect_flag "non-FQDN and going on after a 5xx" 192.0.2.107 \
		"helo-not-fqdn,after-5xx" \
		"after-5xx: RCPT TO:<b@example.net> \\(MAIL got 5xx\\)"
	zc spambot 192.0.2.108 S "C:EHLO mx.dominio.br\n"
	expect_flag "the helo table" 192.0.2.108 helo-access \
		"helo-checks.regexp:4 REJECT You are not me"
	zc spambot 192.0.2.109 S "C:EHLO bulk.example.org\n" S \
		"C:MAIL FROM:<a@example.org>\n" S "C:RCPT TO:<grey@example.net>\n" S \
		"C:RSET\n" S "C:MAIL FROM:<a@example.org>\n"
	expect_flag "RSET after a 4xx, then a second message" \
		192.0.2.109 "restart-after-4xx,messages" \
		"restart-after-4xx: RSET \\| messages: MAIL FROM:<a@example.org> \\(transaction 2, limit 1\\)"
	zc spambot "$ZOMBIE6" S "C:EHLO [IPv6:$ZOMBIE6]\n"
	expect_flag "IPv6: address literal" "$ZOMBIE6" helo-address-literal \
		"EHLO \\[IPv6:$ZOMBIE6\\]" 2001:db8:1::/64
	check "one flag per host: HOST_FLAG sent 10 times" \
		test "$(grep -c '^smtpgated: action=dialogue .* flag=yes ' "$D_LOG")" = 10
}

test_reload() {
	echo "# -- SIGHUP: the flows follow the new configuration"
	d_conf "$D_CONF" action=log inspect_queue=3 \
		inspect_helo_access="$NET_DIR/helo-checks.regexp" \
		inspect_protected_names=mx.example.net \
		inspect_max_recipients=3 inspect_max_messages=1 ban_first=10m \
		inspect_threshold=150
	kill -HUP "$D_PID"
	check "reloaded" d_logged "^reloaded $D_CONF$"
	check "the queue stays bound" bash -c "! grep -q '^smtpgated: inspection: off' $D_LOG"
	echo '/a(/ REJECT' >"$NET_DIR/broken.regexp"
	d_conf "$D_CONF" action=log inspect_queue=3 \
		inspect_helo_access="$NET_DIR/broken.regexp"
	kill -HUP "$D_PID"
	check "a broken helo table: its file:line, refused" \
		d_logged "^$D_CONF:[0-9]+: inspect_helo_access: $NET_DIR/broken.regexp:1: /a\\(/: "
	check "a broken helo table: the running configuration stays" \
		d_logged "^reload: $D_CONF: 1 error; the running configuration stays$"
	check "the daemon still runs" kill -0 "$D_PID"
}

test_exempt() {
	echo "# -- the exempt mail server: judged, logged, never flagged"
	zc mailsrv "$MAILSRV4" S "C:EHLO localhost\n" S "C:QUIT\n" S >/dev/null
	check "logged as exempt" \
		d_logged "^action=dialogue host=192\\.0\\.2\\.25 .* signs=helo-localhost,helo-access flag=no-exempt "
	check "not flagged" bash -c "! ctl -j host $MAILSRV4 2>/dev/null | grep -q dialogue"
}

test_bypass() {
	echo "# -- kill -9 of the daemon mid-session: traffic keeps flowing"
	local go=$NET_DIR/go out pid
	rm -f "$go"
	zc client "$CLIENT4" S "C:EHLO client.example.org\n" S "W:$go" \
		"C:MAIL FROM:<alice@example.org>\n" S "C:RCPT TO:<bob@example.net>\n" S \
		"C:DATA\n" S "C:Subject: after the kill\n\nhello\n.\n" S \
		"C:QUIT\n" S >"$NET_DIR/bypass.out" 2>&1 &
	pid=$!
	check "the session is under way" \
		poll_until 20 grep -q "$CLIENT4 EHLO client.example.org" \
		"$NET_DIR/mx-sessions.log"
	d_kill KILL
	touch "$go"
	check "the session in flight completes" \
		poll_until 90 grep -q "^<- 221 " "$NET_DIR/bypass.out"
	check "its message was queued" grep -q "^<- 250 2.0.0 Ok: queued" \
		"$NET_DIR/bypass.out"
	wait "$pid"
	out=$(in_ns client swaks --server "$MX4" --ehlo client.example.org \
		--from alice@example.org --to bob@example.net --timeout 30 2>&1)
	check "a new session with no daemon: delivered" \
		grep -q '^<-  250 2.0.0 Ok: queued' <<<"$out"
	check "a new zombie with no daemon: passes (log only, not flagged)" \
		zc spambot 192.0.2.110 S "C:EHLO [192.0.2.110]\n" S "C:QUIT\n" S
}

trap cleanup EXIT
require_cmd jq socat swaks "$PY"
[[ -x $SGD ]] || ksft_skip "$SGD not built"
[ -f "${SMTPGATE_KO:-}" ] || ksft_skip "no module (SMTPGATE_KO=${SMTPGATE_KO:-})"
test_setup
test_good
test_icmp_related
test_zombies
test_reload
test_exempt
test_bypass
tap_summary
