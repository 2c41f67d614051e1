#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The generic netlink family "smtpgate": the kselftest-harness C tests
# (userspace/tests/netlink_test, each in a network namespace of its own),
# then module unload with a client in flight (RELIABILITY.md cases 15, 17):
# a process keeps dumping 20000 bans, with an event listener open, while
# smtpgate is removed and inserted again, and while packets (a ping flood
# and SMTP SYNs) cross its FORWARD hook.  The rmmod either succeeds or
# fails cleanly (EBUSY while a dump holds the module) and is retried; the
# client sees the family go and come back; the hooks go with the module
# (a stale one would oops on the next forwarded packet: the flood goes on
# after the rmmod).  vm-guest.sh fails the test on any splat or taint.
#
#   netns $NS                init netns (forwarding, smtpgate
#   +----------------+       internal=192.0.2.0/24)
#   | 192.0.2.2/24   |--veth-- 192.0.2.1/24    dummy: 203.0.113.0/24
#   | ping -f, SYNs  |       |  netlink_test --dump-loop 20000 <-genl->
#   +----------------+       |    (dumps, events group)
#
#   netlink_test's own tests: one fresh netns per test, made by unshare()

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net.sh"

NLTEST=$SMTPGATE_REPO/userspace/tests/netlink_test
[ -n "${SMTPGATE_REPO:-}" ] ||
	NLTEST=$(cd "$(dirname "$0")/../.." && pwd)/userspace/tests/netlink_test
LOOP_BANS=20000
LOOP_PID=
LOOP_OUT=
NS=$(unique_name sgnl)
SUFFIX=${NS#sgnl-}
VETH=sgv$SUFFIX DUMMY=sgd$SUFFIX
FLOOD_PIDS=()
FORWARD0=

cleanup() {
	local pid
	for pid in "$LOOP_PID" "${FLOOD_PIDS[@]}"; do
		[ -n "$pid" ] || continue
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	[ -n "$LOOP_OUT" ] && rm -f "$LOOP_OUT"
	ip netns del "$NS" 2>/dev/null
	ip link del "$DUMMY" 2>/dev/null
	[ -n "$FORWARD0" ] && sysctl -qw net.ipv4.ip_forward="$FORWARD0"
	sg_unload
}

# A host behind the init netns, whose packets the init netns forwards to
# a dummy "internet" (nothing answers; the hook sees every packet).
traffic_setup() {
	FORWARD0=$(sysctl -n net.ipv4.ip_forward)
	ip netns add "$NS" &&
	ip link add "$VETH" type veth peer name eth0 netns "$NS" &&
	ip link add "$DUMMY" type dummy &&
	ip addr add 192.0.2.1/24 dev "$VETH" &&
	ip link set "$VETH" up && ip link set "$DUMMY" up &&
	ip route add 203.0.113.0/24 dev "$DUMMY" &&
	ip -n "$NS" link set lo up &&
	ip -n "$NS" addr add 192.0.2.2/24 dev eth0 &&
	ip -n "$NS" link set eth0 up &&
	ip -n "$NS" route add default via 192.0.2.1 &&
	sysctl -qw net.ipv4.ip_forward=1
}

# A ping flood (class other) and SMTP SYNs (smtp4, dropped while smtpgate
# is loaded) from the host, until killed.
traffic_start() {
	ip netns exec "$NS" ping -q -i 0.002 203.0.113.1 >/dev/null 2>&1 &
	FLOOD_PIDS+=($!)
	# shellcheck disable=SC2016 # expanded by the inner bash
	ip netns exec "$NS" bash -c 'while :; do
		timeout 0.1 bash -c "exec 3<>/dev/tcp/203.0.113.$((RANDOM % 250 + 1))/25"
	done' >/dev/null 2>&1 &
	FLOOD_PIDS+=($!)
}

flood_alive() {
	local pid
	for pid in "${FLOOD_PIDS[@]}"; do
		kill -0 "$pid" || return 1
	done
}

# How many times the dump loop has (re)opened the family.
loop_opens() {
	grep -c '^# dump-loop: open ' "$LOOP_OUT"
}

loop_opened() { # N
	[ "$(loop_opens)" -ge "$1" ]
}

# Every netfilter hook of the init netns as nft lists them (nothing
# without nft), to compare before insmod and after rmmod.
all_hooks() {
	command -v nft >/dev/null || return 0
	nft list hooks 2>/dev/null
}

same_hooks_as_before() {
	local now
	now=$(all_hooks)
	[ "$now" = "$HOOKS0" ] && return 0
	diff <(echo "$HOOKS0") <(echo "$now")
	return 1
}

# rmmod, retried while a dump holds a reference: it must end in success,
# and each failure must be the clean "in use" one.
rmmod_retry() {
	local i out
	RMMOD_TRIES=0
	for ((i = 0; i < 600; i++)); do
		RMMOD_TRIES=$((RMMOD_TRIES + 1))
		out=$(rmmod smtpgate 2>&1) && return 0
		case $out in
		*"in use"* | *busy* | *Busy*) ;;
		*) echo "rmmod: $out"; return 1 ;;
		esac
		sleep 0.05
	done
	echo "rmmod: still in use after $RMMOD_TRIES tries: $out"
	return 1
}

[ "$(id -u)" = 0 ] || ksft_skip "needs root (run it with scripts/vm-run.sh)"
[ -f "${SMTPGATE_KO:-}" ] || ksft_skip "no module (SMTPGATE_KO=${SMTPGATE_KO:-})"
[ -x "$NLTEST" ] || ksft_skip "$NLTEST not built (make -C userspace)"
require_cmd insmod rmmod modprobe
trap cleanup EXIT
sg_deps || ksft_fail "cannot load smtpgate's dependencies"
sg_unload || ksft_fail "a loaded smtpgate cannot be removed"
HOOKS0=$(all_hooks)
# internal= makes the init netns hook FORWARD, so the unload has hooks to
# remove while the client is in flight.
insmod "$SMTPGATE_KO" internal=192.0.2.0/24 || ksft_fail "insmod $SMTPGATE_KO"
# nft shows a hook's function and module: smtpgate's must be there now.
# Without CONFIG_NETFILTER_NETLINK_HOOK (Debian's 6.1) it lists nothing,
# and only the flood below tells a stale hook.
HOOKS_SEEN=1
if [ -z "$(all_hooks)" ]; then
	HOOKS_SEEN=
	echo "# nft list hooks lists nothing (no nfnetlink_hook): hooks checked by traffic only"
elif ! all_hooks | grep -q smtpgate; then
	tap_fail "nft list hooks shows no smtpgate hook while loaded"
	all_hooks | sed 's/^/#   /'
fi

hooks_check() { # DESCRIPTION
	if [ -n "$HOOKS_SEEN" ]; then
		check "$1" same_hooks_as_before
	else
		tap_skip "$1 (nft list hooks unsupported)"
	fi
}

# -- the C tests
echo "# -- netlink_test"
if "$NLTEST"; then
	tap_ok "netlink_test: every command, rule, privilege and netns case"
else
	tap_fail "netlink_test (see its KTAP above)"
fi

# -- rmmod while a client dumps and packets cross the hook
echo "# -- rmmod with a dumping client and a packet flood"
traffic_setup || ksft_fail "cannot set up the traffic namespace"
traffic_start
LOOP_OUT=$(mktemp /tmp/sg-dump-loop.XXXXXX)
"$NLTEST" --dump-loop "$LOOP_BANS" >"$LOOP_OUT" 2>&1 &
LOOP_PID=$!
if poll_until 60 grep -q '^# dump-loop: loaded' "$LOOP_OUT"; then
	tap_ok "the client loaded $LOOP_BANS bans and dumps them"
else
	tap_fail "the client never loaded its bans"
	sed 's/^/#   /' "$LOOP_OUT"
fi
sleep 1		# let it be mid-dump, repeatedly

if out=$(rmmod_retry; rc=$?; echo "tries=$RMMOD_TRIES"; exit $rc); then
	tap_ok "rmmod under dumps (${out##*tries=} tries; EBUSY while a dump holds the module)"
else
	tap_fail "rmmod under dumps: ${out%tries=*}"
fi
check "smtpgate is gone" bash -c '! [ -d /sys/module/smtpgate ]'
hooks_check "the hooks are as before insmod"
check "the client is still alive with the family gone" kill -0 "$LOOP_PID"
sleep 1		# packets keep crossing where the hook was
check "the flood went on across the rmmod" flood_alive

insmod "$SMTPGATE_KO" internal=192.0.2.0/24 || ksft_fail "insmod again"
if poll_until 30 loop_opened 2; then
	tap_ok "the client found the family again"
else
	tap_fail "the client did not reopen the family ($(loop_opens) opens)"
fi
check "the client reloaded its bans into the new module" \
	poll_until 60 bash -c "[ \$(grep -c '^# dump-loop: loaded' '$LOOP_OUT') -ge 2 ]"
sleep 1
kill "$LOOP_PID"
wait "$LOOP_PID"
rc=$?
LOOP_PID=
sed 's/^/#   /' "$LOOP_OUT"
check "the client exits without unexpected errors" test "$rc" = 0
# Every complete dump had exactly the client's bans (an interrupted one,
# NLM_F_DUMP_INTR, is counted apart and retried).
all_exact() {
	local n
	n=$(sed -n 's/^# dump-loop: .* opens, \([0-9]*\) dumps (\([0-9]*\) exact).*/\1 \2/p' "$LOOP_OUT")
	[ -n "$n" ] && [ "${n% *}" -gt 0 ] && [ "${n% *}" = "${n#* }" ]
}
check "every complete dump was exact" all_exact

# With no client left, it goes away at once, hooks and all.
check "final rmmod" rmmod smtpgate
hooks_check "the hooks are as before insmod, at the end"
tap_summary
