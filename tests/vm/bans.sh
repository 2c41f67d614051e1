#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# shellcheck source-path=SCRIPTDIR disable=SC2317 # cleanup: indirect
#
# Bans made with smtpgatectl, enforced on real connections: scope smtp cuts
# SMTP but not the web; scope all cuts the web too while the walled garden
# stays reachable; prefix bans (/24, /64); expiry (traffic flows again, a
# ban-expired event); unban; per-ban drop counters; and a second gateway
# (namespace) with its own policy and bans, unaffected by the first's.
#
#  gateway 1 (net.sh, sg-gw-<id>)        outside 203.0.113.0/24 2001:db8:3::/64
#  +----------------------+   +-------+   +--------------------------------+
#  | spambot .66  ::66    |---| gw 1  |---| mx .25 ::25: 25 80 (and more)  |
#  | client  .10  ::10    |   |       |   | peer .44 ::44: 80, the walled  |
#  +----------------------+   +-------+   | garden (helpdesk)              |
#  LAN 192.0.2.0/24 2001:db8:1::/64       +--------------------------------+
#  policy: internal=LAN action=log walled_garden=203.0.113.44,2001:db8:3::44
#
#  gateway 2, namespaces of its own, the same addresses:
#  +-----------------+   +--------------------+   +-------------------+
#  | sg2-host-<id>   |---| sg2-gw-<id>        |---| sg2-out-<id>      |
#  | 192.0.2.66/24   |   | .1 | 203.0.113.1   |   | 203.0.113.25: 80  |
#  +-----------------+   | policy: internal=  |   +-------------------+
#                        | 192.0.2.0/24, its  |
#                        | own ban .77        |
#                        +--------------------+

SMTPGATE_TEST_GW_NETNS=1
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net.sh"
. "$(dirname "$0")/ctl-lib.sh"
SGLOAD=$SMTPGATE_REPO/userspace/bench/sgload

GW2=sg2-gw-$NET_ID
H2=sg2-host-$NET_ID
O2=sg2-out-$NET_ID

cleanup() {
	local ns pid
	mon_stop >/dev/null 2>&1
	for ns in "$H2" "$O2" "$GW2"; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill "$pid" 2>/dev/null
		done
	done
	for ns in "$H2" "$O2" "$GW2"; do
		poll_until 5 net_ns_empty "$ns"
		ip netns del "$ns" 2>/dev/null
	done
	net_cleanup
	sg_unload
}

# ---- gateway 2 -------------------------------------------------------------

gw2_setup() {
	ip netns add "$GW2" && ip netns add "$H2" && ip netns add "$O2" &&
	ip link add lan0 netns "$GW2" type veth peer name eth0 netns "$H2" &&
	ip link add out0 netns "$GW2" type veth peer name eth0 netns "$O2" &&
	ip -n "$GW2" addr add 192.0.2.1/24 dev lan0 &&
	ip -n "$GW2" addr add 203.0.113.1/24 dev out0 &&
	ip -n "$H2" addr add "$SPAMBOT4/24" dev eth0 &&
	ip -n "$O2" addr add "$MX4/24" dev eth0 &&
	for ns in "$GW2" "$H2" "$O2"; do
		ip -n "$ns" link set lo up || return
	done &&
	ip -n "$GW2" link set lan0 up && ip -n "$GW2" link set out0 up &&
	ip -n "$H2" link set eth0 up && ip -n "$O2" link set eth0 up &&
	ip -n "$H2" route add default via 192.0.2.1 &&
	ip -n "$O2" route add default via 203.0.113.1 &&
	ip netns exec "$GW2" sysctl -qw net.ipv4.ip_forward=1 || return
	# -t 5, as in net_listen: the client closes its side at once, and a
	# slow guest's shell must still get its banner out.
	ip netns exec "$O2" socat -lf /dev/null -t 5 \
		TCP4-LISTEN:80,reuseaddr,fork SYSTEM:"echo 220 gateway-2-web" &
	poll_until 10 bash -c "ip netns exec $O2 ss -Hltn 'sport = :80' | grep -q ."
}

gw2_web() {
	local out
	out=$(ip netns exec "$H2" socat -t 5 -T 5 - \
		TCP4:"$MX4":80,connect-timeout=2 </dev/null 2>&1)
	[[ $out == *gateway-2-web* ]] || { echo "no banner: $out"; return 1; }
}

# ---- helpers ---------------------------------------------------------------

ban_drops() # PREFIX: the ban's drop counter
{
	ctl -j bans | jq ".[] | select(.prefix == \"$1\") | .drops"
}

drops_at_least() # PREFIX N
{
	local n
	n=$(ban_drops "$1")
	if [[ -z $n ]] || ((n < $2)); then
		echo "drops of $1: ${n:-no such ban}, want >= $2"
		return 1
	fi
}

stat_is() # JQ
{
	local out
	if ! out=$(ctl -j stats) || ! jq -e "$1" >/dev/null <<<"$out"; then
		echo "stats: $out"
		return 1
	fi
}

web_flows() # ROLE ADDR: a connection to ADDR port 80 gets the banner
{
	net_tcp "$1" "$2" 80 1 2>/dev/null | grep -q "outside-mx port 80"
}

web_cut() # ROLE ADDR: one SYN to ADDR port 80 is not answered
{
	! net_tcp "$1" "$2" 80 1 >/dev/null 2>&1
}

# ---- the cases -------------------------------------------------------------

test_baseline() {
	echo "# -- no ban: SMTP passes (action log), so does the web"
	expect_tcp log spambot "$SPAMBOT4" "$MX4" 25
	expect_tcp pass spambot "$SPAMBOT4" "$MX4" 80
}

test_scope_smtp() {
	echo "# -- ban scope smtp"
	check "ban $SPAMBOT4 --scope smtp" \
		ctl ban "$SPAMBOT4" --scope smtp --reason "test smtp"
	expect_tcp drop spambot "$SPAMBOT4" "$MX4" 25
	expect_tcp drop spambot "$SPAMBOT4" "$MX4" 465
	expect_tcp pass spambot "$SPAMBOT4" "$MX4" 80
	expect_tcp log spambot "$SPAMBOT6" "$MX6" 25
	expect_tcp log client "$CLIENT4" "$MX4" 25
	check "the ban's drop counter counts the SYNs" \
		drops_at_least "$SPAMBOT4/32" 2
	check "stats: smtp4 banned" stat_is '.packets.smtp4.banned >= 2'
}

test_scope_all() {
	echo "# -- ban scope all: kicked off the Internet but the walled garden"
	local before
	before=$(ban_drops "$SPAMBOT4/32")
	check "ban $SPAMBOT4 --scope all (replaces)" \
		ctl ban "$SPAMBOT4" --scope all --reason "test all"
	check "the replaced ban kept its drop counter" \
		drops_at_least "$SPAMBOT4/32" "$before"
	expect_tcp drop spambot "$SPAMBOT4" "$MX4" 80
	expect_tcp drop spambot "$SPAMBOT4" "$MX4" 25
	expect_tcp pass spambot "$SPAMBOT4" "$PEER4" 80
	expect_tcp pass client "$CLIENT4" "$MX4" 80
	expect_tcp pass spambot "$SPAMBOT6" "$MX6" 80
	check "stats: other banned" stat_is '.packets.other.banned >= 1'
	check "unban $SPAMBOT4" ctl unban "$SPAMBOT4"
	expect_tcp pass spambot "$SPAMBOT4" "$MX4" 80
	expect_tcp log spambot "$SPAMBOT4" "$MX4" 25
}

test_prefixes() {
	echo "# -- prefix bans"
	check "ban 192.0.2.0/24 --scope all" ctl ban 192.0.2.0/24 --scope all
	expect_tcp drop client "$CLIENT4" "$MX4" 80
	expect_tcp drop spambot "$SPAMBOT4" "$MX4" 80
	expect_tcp pass client "$CLIENT4" "$PEER4" 80
	expect_tcp pass client "$CLIENT6" "$MX6" 80
	check "unban 192.0.2.0/24" ctl unban 192.0.2.0/24
	check "ban 2001:db8:1::/64 --scope all" ctl ban 2001:db8:1::/64 --scope all
	expect_tcp drop client "$CLIENT6" "$MX6" 80
	expect_tcp pass client "$CLIENT6" "$PEER6" 80
	expect_tcp pass client "$CLIENT4" "$MX4" 80
	check "the /64's drop counter" drops_at_least 2001:db8:1::/64 1
	check "unban 2001:db8:1::/64" ctl unban 2001:db8:1::/64
	expect_tcp pass client "$CLIENT6" "$MX6" 80
}

test_expiry() {
	echo "# -- expiry"
	local t0 ev
	# A SYN is retransmitted after 1 s: the drop is checked with one SYN
	# (a 1 s connect timeout), well inside the ban's 4 s.
	check "ban $SPAMBOT4 --for 4s --scope all" \
		ctl ban "$SPAMBOT4" --for 4s --scope all --reason expiring
	t0=$SECONDS
	check "the web is cut at once" web_cut spambot "$MX4"
	check "the web flows again after the 4 s" \
		poll_until 20 web_flows spambot "$MX4"
	echo "# flowing again $((SECONDS - t0)) s after the ban"
	ev=$(mon_wait 10 "select(.event == \"ban-expired\" and .ban.prefix == \"$SPAMBOT4/32\")")
	check "monitor: ban-expired, with the ban's reason and drops" \
		jq -e '.ban.reason == "expiring" and .ban.scope == "all" and .ban.drops >= 1 and .ban.timeout == 0' <<<"$ev"
	check "bans: gone" test "$(ctl -j bans)" = "[]"
	ctl_expect 1 "" "banned $SPAMBOT4: exit 1 after expiry" banned "$SPAMBOT4"
}

test_isolation() {
	echo "# -- two gateways, two namespaces"
	check "gateway 2: its own policy" \
		"$CTL" -n "$GW2" policy set internal=192.0.2.0/24 action=log
	check "gateway 2: its own ban" "$CTL" -n "$GW2" ban 192.0.2.77 --scope all
	check "gateway 1: ban $SPAMBOT4 --scope all" ctl ban "$SPAMBOT4" --scope all
	expect_tcp drop spambot "$SPAMBOT4" "$MX4" 80
	check "gateway 2: the same address reaches its web server" gw2_web
	check "gateway 2: its bans are its own" \
		test "$("$CTL" -n "$GW2" -j bans | jq -c 'map(.prefix)')" = '["192.0.2.77/32"]'
	check "gateway 1: its bans are its own" \
		test "$(ctl -j bans | jq -c 'map(.prefix)')" = "[\"$SPAMBOT4/32\"]"
	check "gateway 2: banned $SPAMBOT4 exits 1" \
		fails_with 1 "$CTL" -n "$GW2" banned "$SPAMBOT4"
	check "gateway 2: its policy is its own" \
		test "$("$CTL" -n "$GW2" -j policy | jq -c '[.internal, .walled_garden]')" = '[["192.0.2.0/24"],[]]'
	check "gateway 2: nothing dropped by a ban" \
		test "$("$CTL" -n "$GW2" -j stats | jq '[.packets[].banned] | add')" = 0
	check "flush gateway 1; gateway 2 keeps its ban" \
		bash -c "'$CTL' -n '$NET_GW_NS' flush && '$CTL' -n '$GW2' banned 192.0.2.77 >/dev/null"
}

# A policy with no internal prefix still enforces bans, so its hooks stay
# while a ban is in; a ban added while such a policy is being set must not
# lose them.  Each of 15 rounds empties the ban table, loads one batch of
# 800 bans (the spambot's among them) and, while the kernel adds it, sets
# that policy once: 0 to 140 ms after the load starts, so that the rounds
# sweep the batch.  A set that ran between the hooks' check and the ban
# count (the old module) saw no ban and dropped the hooks, and no later set
# put them back: the ping after it passed.  Every round's ping must count
# as banned.
gw2_banned() {
	"$CTL" -n "$GW2" -j stats | jq '[.packets[].banned] | add'
}

banned_since() # BEFORE N
{
	local n=$(($(gw2_banned) - $1))
	((n == $2)) || { echo "$n of $2 pings dropped by the ban"; return 1; }
}

# Hooks off: an empty policy with no ban left needs none.
gw2_unhooked() {
	"$CTL" -n "$GW2" flush >/dev/null &&
		"$CTL" -n "$GW2" policy set internal= action=log >/dev/null
}

# One batch of 1,000 bans from the spambot on (one BAN_ADD message) from
# one thread, and the namespace's policy set again from another, at a
# different point of the add each round (a fraction of the add's time
# alone).  A module that takes the hooks, lets the namespace lock go, then
# counts the batch lets that policy see no ban and unregister them: the
# ping after the add passes.
test_hook_race() {
	echo "# -- ban adds racing empty policy sets: the bans keep their hooks"
	local i before rounds=12 lost=0 unset=0 out us d
	check "gateway 2: no ban left" "$CTL" -n "$GW2" unban 192.0.2.77
	check "gateway 2: no ban and no policy hooks" gw2_unhooked
	out=$(ip netns exec "$GW2" "$SGLOAD" bans "$SPAMBOT4" 1000 all)
	us=$(sed -n 's/.*seconds=\([0-9]*\)\.\([0-9]*\).*/\1\2/p' <<<"$out")
	us=$((10#$us))
	echo "# one batch alone: $out"
	before=$(gw2_banned)
	for ((i = 1; i <= rounds; i++)); do
		gw2_unhooked || unset=$((unset + 1))
		d=$((us * i / (rounds + 1)))
		out=$(ip netns exec "$GW2" "$SGLOAD" race "$SPAMBOT4" 1000 \
			"$(printf '%d.%06d' $((d / 1000000)) $((d % 1000000)))") ||
			lost=$((lost + 1))
		echo "# round $i: $out"
		ip netns exec "$H2" ping -q -c 1 -W 0.3 "$MX4" >/dev/null 2>&1
	done
	check "every round's bans and policy went in ($lost failed)" \
		test "$lost" = 0
	check "every round started with no hooks ($unset failed)" \
		test "$unset" = 0
	check "every round's ping was dropped by the ban" \
		banned_since "$before" "$rounds"
	"$CTL" -n "$GW2" flush >/dev/null
}

fails_with() # RC CMD...
{
	local rc=$1
	shift
	"$@" >/dev/null 2>&1
	[[ $? == "$rc" ]]
}

[ "$(id -u)" = 0 ] || ksft_skip "needs root (run it with scripts/vm-run.sh)"
[ -f "${SMTPGATE_KO:-}" ] || ksft_skip "no module (SMTPGATE_KO=${SMTPGATE_KO:-})"
require_cmd ip jq socat ss insmod rmmod
[ -x "$CTL" ] || ksft_skip "$CTL not built (make userspace)"
[ -x "$SGLOAD" ] || ksft_skip "$SGLOAD not built (make userspace)"
trap cleanup EXIT
ctl_load_module || ksft_fail "cannot load smtpgate"
net_setup || ksft_fail "cannot set up the namespaces"
gw2_setup || ksft_fail "cannot set up gateway 2"
net_mx_start || ksft_fail "cannot start the outside MX"
net_listen peer tcp 80 "$NET_DIR/mx.log" "helpdesk outside-mx"
poll_until 20 net_listening peer tcp 80 2 || ksft_fail "no helpdesk on the peer"
ctl policy set internal="$LAN4,$LAN6" action=log \
	walled_garden="$PEER4/32,$PEER6/128" ||
	ksft_fail "smtpgatectl policy set refused the gateway's policy"
mon_start || ksft_fail "smtpgatectl monitor does not start"

test_baseline
test_scope_smtp
test_scope_all
test_prefixes
test_expiry
test_isolation
test_hook_race
tap_summary
