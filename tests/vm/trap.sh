#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# shellcheck source-path=SCRIPTDIR disable=SC2317 # cleanup: indirect
#
# The trap (issue #6): with action = trap, a host banned with scope smtp
# (or flagged) that speaks SMTP to the world speaks to smtpgated instead,
# which answers slowly, records what the bot says, and tells the user
# what to do.  Nothing reaches the MX; everyone else's mail does.
#
#   spambot 192.0.2.66 ::66 --+  ns sg-gw-<id>: the gateway      +-- mx 203.0.113.25
#   (swaks, a 600-connection  |  smtpgate, action trap,          |   2001:db8:3::25
#    flood, an idle client)   |  trap_port 2525: port 25 of the  |   socat on 25,
#   client  192.0.2.10 ::10 --+--> trapped goes to 192.0.2.1     +-- logging who came
#   (not banned: reaches mx)  |  :2525 (DNAT), where smtpgated
#   bystander 192.0.2.200 ----+  listens; the trap's evidence in
#   (flagged, allowlisted:    |  its log, its counts in metrics
#    trapped but not banned)
#
# Policy (daemon/lib.sh, then): action trap, trap_port 2525, a 20 ms
# tarpit, ban_scope smtp (scope all is dropped, not trapped), rate_limit
# 15 so a burst flags.

SMTPGATE_TEST_GW_NETNS=1
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net.sh"
. "$(dirname "$0")/ctl-lib.sh"
. "$(dirname "$0")/daemon/lib.sh"

TRAP_PORT=2525
BYSTANDER4=192.0.2.200
TRAP_TEXT="550 5.7.1 smtpgate-trap: this computer sends spam and is blocked. Send mail through port 587 with your password; call the helpdesk at 555-0100."
CLIENT_PY=

cleanup() {
	d_cleanup
	net_cleanup
	sg_unload
}

trap_conf() # [KEY=VALUE...]
{
	d_conf "$D_CONF" action=trap trap_port=$TRAP_PORT trap_delay=20ms \
		"trap_message=$TRAP_TEXT" trap_max_sessions=500 \
		trap_session_timeout=60s ban_scope=smtp "$@"
}

# A small client for what swaks does not do here: N connections at once,
# a client that connects and says nothing, and SMTP over IPv6 (swaks needs
# IO::Socket::INET6 for it), printed as swaks prints it.
write_client()
{
	CLIENT_PY=$NET_DIR/trap-client.py
	cat >"$CLIENT_PY" <<'PY'
import selectors, socket, sys, time

def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET

def flood(addr, port, n, hold):
    """n connections at once; the first bytes of each: 220 or 421."""
    sel = selectors.DefaultSelector()
    socks = []
    for _ in range(n):
        s = socket.socket(family(addr), socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex((addr, port))
        sel.register(s, selectors.EVENT_READ)
        socks.append(s)
    first = {}
    end = time.time() + 120
    while len(first) < n and time.time() < end:
        for key, _ in sel.select(timeout=1):
            try:
                data = key.fileobj.recv(16)
            except OSError:
                data = b"error"
            first[key.fileobj] = data
            sel.unregister(key.fileobj)
    served = sum(d.startswith(b"220") for d in first.values())
    refused = sum(d.startswith(b"421") for d in first.values())
    print("served=%d refused=%d other=%d" % (served, refused,
          n - served - refused), flush=True)
    time.sleep(hold)
    for s in socks:
        s.close()

def reply(f):
    lines = []
    while True:
        line = f.readline().decode(errors="replace").rstrip("\r\n")
        if not line:
            return lines
        lines.append(line)
        if len(line) < 4 or line[3] == " ":
            return lines

def smtp(addr, port, helo, mail, rcpt):
    """HELO, MAIL, RCPT, QUIT; every reply line as '<-  ' or '<** '."""
    s = socket.create_connection((addr, port), timeout=30)
    f = s.makefile("rb")
    def show(lines):
        for l in lines:
            print(("<** " if l[:1] in "45" else "<-  ") + l, flush=True)
    show(reply(f))
    for cmd in ("EHLO " + helo, "MAIL FROM:<%s>" % mail,
                "RCPT TO:<%s>" % rcpt, "QUIT"):
        print(" -> " + cmd, flush=True)
        s.sendall(cmd.encode() + b"\r\n")
        show(reply(f))

def idle(addr, port):
    """Connects, says nothing, prints what comes and when it closed."""
    s = socket.create_connection((addr, port), timeout=30)
    t0, got = time.time(), b""
    while True:
        data = s.recv(4096)
        if not data:
            break
        got += data
    print(got.decode(errors="replace").replace("\r\n", "|"))
    print("closed_after=%d" % (time.time() - t0))

if sys.argv[1] == "flood":
    flood(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
elif sys.argv[1] == "smtp":
    smtp(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6])
else:
    idle(sys.argv[2], int(sys.argv[3]))
PY
}

# swaks from ROLE to ADDR:25 as a bot would: HELO, MAIL, RCPT, DATA.
bot_swaks() # ROLE ADDR [SWAKS-ARGS...]
{
	local role=$1 addr=$2
	shift 2
	in_ns "$role" swaks --server "$addr" --port 25 --helo bot.example \
		--from spam@example.net --to victim@example.org \
		--timeout 30 "$@" 2>&1
}

trap_text_in() # OUTPUT: did the client get the configured text (wrapped)?
{
	local l text=""
	while IFS= read -r l; do
		[[ $l == "<** 550"[-\ ]"5.7.1 "* ]] || continue
		text+="${text:+ }${l:14}"
		[[ $l == "<** 550 "* ]] && break
	done <<<"$1"
	if [[ $text != "${TRAP_TEXT#550 5.7.1 }" ]]; then
		echo "not the trap's text: '$text'; the client saw:"
		tail -n 12 <<<"$1" | sed 's/^/  /'
		return 1
	fi
}

not_at_mx() # ADDR: the MX saw no port-25 connection from ADDR
{
	! net_arrived 25 "$1" tcp 1
}

trap_banner_in() # OUTPUT: the trap's 220, not the MX's
{
	if ! grep -q '^<-  220 ' <<<"$1" || grep -q outside-mx <<<"$1"; then
		echo "not the trap's banner:"
		head -n 3 <<<"$1"
		return 1
	fi
}

trap_listeners() # COUNT: sockets listening on the trap port
{
	(($(gw ss -Hltn "sport = :$TRAP_PORT" | wc -l) == $1))
}

metric() # NAME: its value in the metrics file
{
	local l
	while read -r l; do
		[[ $l == "$1 "* ]] && { echo "${l##* }"; return 0; }
	done <"$NET_DIR/smtpgate.prom"
	echo -1
}

metric_is() # NAME VALUE
{
	[[ $(metric "$1") == "$2" ]]
}

metric_at_least() # NAME VALUE
{
	(($(metric "$1") >= $2))
}

# ---- the story -----------------------------------------------------------------

test_setup() {
	local out
	echo "# -- setup"
	check "module loaded without parameters" ctl_load_module
	step "network" net_setup || ksft_fail "no network"
	step "the MX's listeners" net_mx_start
	step "the notify socket" d_init
	trap_conf
	write_client
	check "--check-config: action trap with its port" \
		"$SGD" --check-config -c "$D_CONF"
	sed '/^trap_port/d' "$D_CONF" >"$NET_DIR/bad.conf"
	out=$("$SGD" --check-config -c "$NET_DIR/bad.conf" 2>&1)
	check "--check-config: action trap without trap_port: file:line, key" \
		test "$out" = "smtpgated: $NET_DIR/bad.conf:$(grep -n '^action' "$NET_DIR/bad.conf" | cut -d: -f1): action: trap needs the trap's listening port (the trap_port key)"
	step "smtpgated starts" d_start
	check "the policy is pushed: action trap, port $TRAP_PORT" \
		test "$(ctl -j policy | jq -c '[.action, .trap_port]')" = "[\"trap\",$TRAP_PORT]"
	check "the trap listens on IPv4 and IPv6" \
		poll_until 5 trap_listeners 2
	check "logged: listening" d_logged "^trap: listening on port $TRAP_PORT$"
}

test_before() {
	echo "# -- before any ban: everyone's port 25 reaches the MX"
	check "the spambot reaches the MX (IPv4)" \
		net_banner spambot "$MX4" 25 outside-mx
	check "the spambot reaches the MX (IPv6)" \
		net_banner spambot "$MX6" 25 outside-mx
}

test_trapped_ipv4() {
	local out
	echo "# -- banned with scope smtp: trapped (IPv4)"
	check "smtpgatectl ban --scope smtp" \
		ctl ban "$SPAMBOT4" --scope smtp --for 1h --reason "trap test"
	: >"$NET_DIR/mx.log"
	out=$(bot_swaks spambot "$MX4")
	check "swaks gets the trap's text at RCPT" trap_text_in "$out"
	check "the trap's banner, not the MX's" trap_banner_in "$out"
	check "nothing reached the MX" not_at_mx "$SPAMBOT4"
	check "the evidence: HELO, MAIL, RCPT, the MX it meant" \
		d_logged '^action=trap host=192\.0\.2\.66 dst=203\.0\.113\.25 dport=25 helo=bot\.example mail="<spam@example\.net>" rcpt="<victim@example\.org>" rcpts=1 commands=[0-9]+ pregreet=no overlong=0 end=quit duration=[0-9.]+s$'
}

test_others_pass() {
	echo "# -- the client is not banned: its mail reaches the MX"
	: >"$NET_DIR/mx.log"
	check "the client's banner is the MX's" \
		net_banner client "$MX4" 25 outside-mx
	check "the MX saw the client" net_arrived 25 "$CLIENT4"
	check "IPv6 too" net_banner client "$MX6" 25 outside-mx
}

test_trapped_ipv6() {
	local out
	echo "# -- IPv6: the /128 banned, trapped; the rest of its /64 is not"
	check "smtpgatectl ban $SPAMBOT6 --scope smtp" \
		ctl ban "$SPAMBOT6" --scope smtp --for 1h
	: >"$NET_DIR/mx.log"
	out=$(in_ns spambot python3 "$CLIENT_PY" smtp "$MX6" 25 bot.example \
		spam@example.net victim@example.org 2>&1)
	check "an SMTP client over IPv6 gets the trap's text" trap_text_in "$out"
	check "nothing reached the MX" not_at_mx "$SPAMBOT6"
	check "the evidence, with the IPv6 MX it meant" \
		d_logged '^action=trap host=2001:db8:1::66 dst=2001:db8:3::25 dport=25 helo=bot\.example .* end=quit '
	check "the client's IPv6 still reaches the MX" \
		net_banner client "$MX6" 25 outside-mx
}

test_flagged() {
	local out
	echo "# -- flagged, allowlisted (so not banned): trapped all the same"
	in_ns client ip addr add "$BYSTANDER4/24" dev eth0 nodad 2>/dev/null
	check "a burst of 20 SYNs from $BYSTANDER4" \
		in_ns client "$SGCRAFT" send -n 20 tcp4 src="$BYSTANDER4" dst="$MX4"
	check "flagged, allowlisted: logged, not banned" \
		d_logged "^action=allow host=$BYSTANDER4 reason=rate "
	check "not banned" not_banned "$BYSTANDER4"
	: >"$NET_DIR/mx.log"
	out=$(bot_swaks client "$MX4" --local-interface "$BYSTANDER4")
	check "its SMTP is trapped" trap_text_in "$out"
	check "nothing reached the MX" not_at_mx "$BYSTANDER4"
}

test_metrics() {
	echo "# -- metrics"
	check "sessions counted" \
		poll_until 5 metric_at_least smtpgated_trap_sessions_total 3
	check "none refused" metric_is smtpgated_trap_refused_total 0
	check "none timed out" metric_is smtpgated_trap_timeouts_total 0
	check "the kernel's trap verdicts" \
		grep -qE '^smtpgate_packets_total\{class="smtp4",verdict="trap"\} [1-9][0-9]*$' \
		"$NET_DIR/smtpgate.prom"
}

flood_counted()
{
	grep -q '^served=' "$NET_DIR/flood.out"
}

test_flood() {
	local rss line pid
	echo "# -- 600 connections at once from the spambot: 500 served, 100 refused"
	rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$D_PID/status")
	echo "# smtpgated before: VmRSS ${rss} kB"
	in_ns spambot python3 "$CLIENT_PY" flood "$MX4" 25 600 20 \
		>"$NET_DIR/flood.out" 2>&1 &
	pid=$!
	NET_PIDS+=("$pid")
	check "every connection answered" poll_until 150 flood_counted
	line=$(grep '^served=' "$NET_DIR/flood.out")
	echo "# flood: $line"
	check "500 served, 100 refused with a 421" \
		test "$line" = "served=500 refused=100 other=0"
	check "metrics: 500 sessions in progress" \
		poll_until 10 metric_is smtpgated_trap_sessions 500
	check "metrics: 100 refused" \
		poll_until 5 metric_is smtpgated_trap_refused_total 100
	rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$D_PID/status")
	echo "# smtpgated with 500 trapped sessions: VmRSS ${rss} kB"
	check "the daemon's memory stays bounded (< 32 MB)" in_range "$rss" 1 32768
	check "nothing reached the MX" not_at_mx "$SPAMBOT4"
	wait "$pid"
	check "the sessions end when the client goes" \
		poll_until 30 metric_is smtpgated_trap_sessions 0
	check "the daemon still runs" kill -0 "$D_PID"
}

test_timeout() {
	local out early
	echo "# -- SIGHUP keeps the sessions; the session time limit (now 3s)"
	in_ns spambot python3 "$CLIENT_PY" idle "$MX4" 25 >"$NET_DIR/early.out" 2>&1 &
	early=$!
	NET_PIDS+=("$early")
	check "a session under way" poll_until 10 metric_is smtpgated_trap_sessions 1
	trap_conf trap_session_timeout=3s
	kill -HUP "$D_PID"
	check "reloaded" d_logged "^reloaded $D_CONF$"
	out=$(in_ns spambot python3 "$CLIENT_PY" idle "$MX4" 25 2>&1)
	echo "# idle client: ${out//$'\n'/ }"
	check "the idle client got the banner, then a 421 and the end" \
		grep -q '^220 .*|421 4\.4\.2 .* timeout exceeded|$' <<<"$out"
	check "after about 3s" grep -qE '^closed_after=[2-5]$' <<<"$out"
	check "logged: end=timeout" \
		d_logged '^action=trap host=192\.0\.2\.66 dst=203\.0\.113\.25 .* end=timeout '
	check "metrics: a timeout" \
		poll_until 5 metric_at_least smtpgated_trap_timeouts_total 1
	check "the session from before the reload goes on (its own 60s)" \
		kill -0 "$early"
	kill "$early" 2>/dev/null
}

test_stop() {
	echo "# -- SIGTERM"
	check "the daemon ends cleanly" d_kill TERM
	check "the listeners are gone" trap_listeners 0
}

trap cleanup EXIT
require_cmd jq socat swaks python3 ss
[[ -x $SGD ]] || ksft_skip "$SGD not built"
test_setup
test_before
test_trapped_ipv4
test_others_pass
test_trapped_ipv6
test_flagged
test_metrics
test_flood
test_timeout
test_stop
tap_summary
