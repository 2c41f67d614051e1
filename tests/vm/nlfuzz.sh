#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The netlink fuzzer (issue #10): userspace/tools/sgnlfuzz sends random,
# valid and mutated requests of every smtpgate command from several
# threads (and from short-lived network namespaces of its own) for
# FUZZ_SECONDS (60; `make fuzz` runs NLFUZZ_SECONDS, 600), while a flood
# of SMTP and other packets, IPv4 and IPv6, crosses the gateway.  It fails
# on an errno outside the expected classes or a reply that breaks the uapi
# (each printed with its seed); vm-guest.sh fails it on any kernel splat.
# Afterwards the gateway still enforces, and the module unloads with no
# object left in its caches.  SGNLFUZZ_SEED replays a run's seed.
#
#   client  192.0.2.10 --+                 +-- mx 203.0.113.25
#   spambot 192.0.2.66 --+-- gateway ------+
#     (floods SYNs to 25, UDP to 53)        (also 2001:db8:3::25)

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net.sh"

FUZZER=${SMTPGATE_REPO:-.}/userspace/tools/sgnlfuzz
CTL=${SMTPGATE_REPO:-.}/userspace/ctl/smtpgatectl
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_THREADS=${FUZZ_THREADS:-3}
FLOOD_PID=

cleanup() {
	if [ -n "$FLOOD_PID" ]; then
		kill "$FLOOD_PID" 2>/dev/null
		wait "$FLOOD_PID" 2>/dev/null
	fi
	sg_unload
	net_cleanup
}

flood() {
	while :; do
		in_ns spambot "$SGCRAFT" send -n 2000 \
			tcp4 src="$SPAMBOT4" dst="$MX4" dport=25 flags=S \
			udp4 src="$SPAMBOT4" dst="$MX4" dport=53 data=Q7fuzz \
			tcp6 src="$SPAMBOT6" dst="$MX6" dport=465 flags=S \
			udp4 src="$SPAMBOT4" dst="$MX4" dport=3544 data=x \
			>/dev/null 2>&1
	done
}

[ "$(id -u)" = 0 ] || ksft_skip "needs root (run it with scripts/vm-run.sh)"
[ -f "${SMTPGATE_KO:-}" ] || ksft_skip "no module (SMTPGATE_KO=${SMTPGATE_KO:-})"
require_cmd ip
[ -x "$FUZZER" ] && [ -x "$CTL" ] && [ -x "$SGCRAFT" ] ||
	ksft_skip "userspace tools not built (make -C userspace)"
trap cleanup EXIT

sg_deps || ksft_fail "cannot load smtpgate's dependencies"
net_setup || ksft_fail "cannot set up the namespaces"
sg_load internal=192.0.2.0/24,2001:db8:1::/64 || ksft_fail "smtpgate does not load"
net_mx_start || ksft_fail "the outside MX does not listen"

flood &
FLOOD_PID=$!
out=$("$FUZZER" --seconds "$FUZZ_SECONDS" --threads "$FUZZ_THREADS" \
	${SGNLFUZZ_SEED:+--seed "$SGNLFUZZ_SEED"} 2>&1)
rc=$?
echo "$out" | sed 's/^/#   /'
if ((rc == 0)); then
	tap_ok "$FUZZ_SECONDS s of netlink fuzzing: no unexpected errno, every reply within the uapi"
else
	tap_fail "netlink fuzzing (sgnlfuzz exited $rc)"
fi
kill "$FLOOD_PID" 2>/dev/null
wait "$FLOOD_PID" 2>/dev/null
FLOOD_PID=

# Whatever policy the fuzzer left: the gateway must still enforce one.
"$CTL" flush >/dev/null
"$CTL" forget all >/dev/null
"$CTL" policy set internal=192.0.2.0/24 action=drop ||
	tap_fail "policy set after the fuzzing"
expect_tcp pass client "$CLIENT4" "$MX4" 80
expect_tcp drop client "$CLIENT4" "$MX4" 25
check "statistics are still readable" "$CTL" stats
sg_unload || tap_fail "rmmod smtpgate after the fuzzing"
check "the module's caches are destroyed, with no object left in them" \
	bash -c "! grep -q '^smtpgate_' /proc/slabinfo && ! dmesg | grep -q 'still has objects'"
tap_summary
