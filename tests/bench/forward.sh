#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# shellcheck source-path=SCRIPTDIR disable=SC2317,SC2015 # cleanup: by trap; A && B || fail
# shellcheck disable=SC2154 # tx0 and tx0_CFG: set through eval
#
# Forwarding benchmark, run in the VM by `make bench` (scripts/bench.sh):
# what smtpgate costs a gateway that forwards, against no filter at all and
# against ipset hash:ip and an nft set doing the same job.  Leaves its
# results in $SG_OUT (forward.rates, forward.loads, forward.pre, the raw
# samples in forward.raw), which tests/bench/forward-report.sh turns into
# the tables of Documentation/performance.md.  Not a test: it asserts
# nothing about speed, only that every configuration did what it is there
# to do (passed, dropped).
#
# One path of three namespaces per configuration, all built before any
# measurement so that configurations interleave: a configuration with a
# million entries is loaded once, not once per repetition.  smtpgate's
# state is per namespace, so each gateway namespace is a gateway of its
# own (with no policy and no bans, smtpgate registers no hooks there).
#
#   ns s-CFG                 ns g-CFG (forwards; CFG's filter)          ns d-CFG
#  +------------------+   +-------------------------------------+   +-----------+
#  | a0 (no address)  |---| g0 2001:db8:1::1/64                 |   |           |
#  | sgflood: AF_PACKET   | g1 2001:db8:2::1/64 ----------------|---| d0        |
#  | frames to g0's MAC   | neigh 2001:db8:2::2 lladdr ...:99   |   | drops as  |
#  +------------------+   +-------------------------------------+   | otherhost |
#                                                                   +-----------+
# Every a0, g0, d0 has the same MAC in every path, so one sgflood process
# sends the same frames into each path in turn (see userspace/bench/).
#
# Flows (IPv6, the only family whose documentation prefix holds a million
# distinct ban addresses; sources spread so lookups do not hit one cache
# line):
#   udp   UDP to 2001:db8:2::2 port 9 from 2001:db8:1:X::2, 65536 /64s:
#         the non-SMTP path
#   smtp  TCP SYN to port 25 from 2001:db8:1:X::25, 4096 /64s inside the
#         exempt prefix: SMTP that passes (classified, ban-checked, tracked)
#   ban   TCP SYN to port 25 from 2001:db8:f000::0 ... ::3e7, each banned
#         (the first 1000 bans): dropped
#
# Configurations (gateway namespaces):
#   none        nothing: the baseline
#   hook        an nft base chain in forward with no rule: what any
#               netfilter hook costs before it does anything
#   sg0         smtpgate policy (internal 2001:db8::/32, exempt
#               2001:db8:1::/48, action drop), no bans
#   sg1k sg100k sg1m   the same with 1000 / 100,000 / 1,000,000 bans of
#               scope "all" (so non-SMTP packets are looked up too) on
#               2001:db8:f000::/64 + i
#   sg1msmtp    the million bans of scope "smtp", as the daemon gives by
#               default: non-SMTP packets need no lookup
#   sghosts     sg0 with 53,247 hosts tracked from 2001:db8:3:X::/64 plus
#               the 4096 of the smtp flow: 57,343, the most the default
#               65,536-host table holds before eviction starts
#   sgfull      sg0 with the table full: 65,536 flagged hosts (flagged are
#               never evicted), so the smtp flow's hosts cannot be tracked
#   ipsetN      ip6tables-legacy FORWARD -m set --match-set X src -j DROP,
#               X a hash:ip set of the same N addresses
#   nftN        nft table ip6, set of type ipv6_addr with the same N
#               addresses, rule "ip6 saddr @X counter drop" in forward
#   xt          the SMTPGATE target instead of the hooks: sg0's exempt
#               prefix and no internal one (so no hooks), and
#               ip6tables-legacy -A FORWARD -s 2001:db8::/32 -j SMTPGATE
#               (--action drop): every packet goes through the target
#   xtnft       the same rule through ip6tables-nft (nft_compat)
#   seed        seed 001's iptables recipe (Documentation/iptables.rst):
#               ip6tables-legacy multiport ACCEPT for the mail servers
#               (2001:db8:1::/48), multiport LOG and DROP for
#               2001:db8::/32, nat PREROUTING DNAT 25 -> 587 (so
#               conntrack on every packet), and the IPv4 u32 Teredo rule,
#               which no packet of these IPv6 flows meets
#
# Environment: SG_BENCH_ROUNDS (40), SG_BENCH_COUNT packets per flow and
# round (5000), SG_BENCH_LOADS repetitions of the 100k ban load (7).  Short
# bursts and many rounds: on a busy host every flow sees the same mix of
# good and bad moments.

. "$(dirname "$0")/../vm/lib.sh"

REPO=${SMTPGATE_REPO:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=$REPO/userspace/bench
OUT=${SG_OUT:-/tmp}
ROUNDS=${SG_BENCH_ROUNDS:-40}
COUNT=${SG_BENCH_COUNT:-5000}
LOADS=${SG_BENCH_LOADS:-7}
# The sender, and the softirqs that forward what it sends, on one vCPU;
# ipset's long load runs on the other meanwhile.
SENDER_CPU=1
LOADER_CPU=0
TMP=$(mktemp -d)
TAG=$(unique_name x)
TAG=${TAG#x-}

MAC_SRC=02:5a:00:00:00:01
MAC_GW=02:5a:00:00:00:02
MAC_DST=02:5a:00:00:00:03
MAC_NONE=02:5a:00:00:00:99	# the next hop nobody has: d0 drops as otherhost
BAN_BASE=2001:db8:f000::
CONFIGS="none hook sg0 sg1k sg100k sg1m sg1msmtp sghosts sgfull ipset1k ipset100k ipset1m nft1k nft100k nft1m xt xtnft seed"
UDP="udp6 src=2001:db8:1::2 dst=2001:db8:2::2 dport=9"
SMTP="tcp6 src=2001:db8:1::25 dst=2001:db8:2::2 dport=25"
BAN="tcp6 src=$BAN_BASE dst=2001:db8:2::2 dport=25"
FILL="tcp6 src=2001:db8:3::25 dst=2001:db8:2::2 dport=25"

ns() { echo "$1-$2-$TAG"; }	# ns s|g|d CFG

cleanup() {
	local c x
	for c in $CONFIGS load; do
		for x in s g d; do
			ip netns del "$(ns "$x" "$c")" 2>/dev/null
		done
	done
	[ -n "${IPSET_PID:-}" ] && kill "$IPSET_PID" 2>/dev/null && wait "$IPSET_PID"
	rm -rf "$TMP"
	sg_loaded_here && rmmod smtpgate
}
trap cleanup EXIT

sg_loaded_here() { [ -d /sys/module/smtpgate ] && [ -n "${LOADED:-}" ]; }

# Builds the path of configuration $1; see the diagram.
path() {
	local s g d
	s=$(ns s "$1") g=$(ns g "$1") d=$(ns d "$1")
	ip netns add "$s" && ip netns add "$g" && ip netns add "$d" &&
	ip link add a0 netns "$s" address $MAC_SRC type veth \
		peer name g0 netns "$g" address $MAC_GW &&
	ip link add g1 netns "$g" type veth \
		peer name d0 netns "$d" address $MAC_DST || return
	ip netns exec "$s" sysctl -qw net.ipv6.conf.a0.disable_ipv6=1
	ip netns exec "$d" sysctl -qw net.ipv6.conf.d0.disable_ipv6=1
	ip netns exec "$g" sysctl -qw net.ipv6.conf.all.forwarding=1
	ip -n "$s" link set a0 up && ip -n "$d" link set d0 up &&
	ip -n "$g" link set lo up && ip -n "$g" link set g0 up &&
	ip -n "$g" link set g1 up &&
	ip -n "$g" addr add 2001:db8:1::1/64 dev g0 nodad &&
	ip -n "$g" addr add 2001:db8:2::1/64 dev g1 nodad &&
	ip -n "$g" -6 neigh replace 2001:db8:2::2 lladdr $MAC_NONE dev g1 \
		nud permanent
}

gx() { local c=$1; shift; ip netns exec "$(ns g "$c")" "$@"; }

# Kernel memory in kB: "MemAvailable SUnreclaim VmallocUsed", after the
# RCU callbacks that free old tables had their chance.  SUnreclaim, not
# Slab: dentries and inodes (reclaimable) come and go with every command.
memsnap() {
	sleep 2
	echo 3 >/proc/sys/vm/drop_caches
	awk '/^MemAvailable:/ { a = $2 } /^SUnreclaim:/ { s = $2 }
	     /^VmallocUsed:/ { v = $2 } END { print a, s, v }' /proc/meminfo
}

# Bytes per entry from two memsnaps and a count: "slab vmalloc total avail".
per_entry() { # BEFORE AFTER COUNT
	echo "$1 $2 $3" | awk '{
		s = ($5 - $2) * 1024 / $7; v = ($6 - $3) * 1024 / $7
		printf "%.1f %.1f %.1f %.1f\n", s, v, s + v, ($1 - $4) * 1024 / $7 }'
}

# Bytes in the slabs of cache $1 (shared with the caches merged into it).
slab_bytes() {
	local d=/sys/kernel/slab/$1
	[ -r "$d/slabs" ] || { echo 0; return; }
	echo "$(cut -d' ' -f1 "$d/slabs") $(cat "$d/order")" |
		awk '{ printf "%.0f\n", $1 * 4096 * 2 ^ $2 }'
}

now() { date +%s.%N; }
elapsed() { echo "$1 $(now)" | awk '{ printf "%.3f", $2 - $1 }'; }

# The Nth address after BAN_BASE, for splitting loads into chunks.
ban_addr() { printf '2001:db8:f000::%x:%x\n' $(($1 >> 16)) $(($1 & 0xffff)); }

smtpgate_policy() { # CFG [KEY=N]...
	local c=$1
	shift
	gx "$c" "$BIN/sgload" policy 2001:db8::/32 2001:db8:1::/48 "$@"
}

load_bans() { # CFG N [SCOPE]: prints the seconds sgload measured
	gx "$1" "$BIN/sgload" bans $BAN_BASE "$2" "${3:-all}" |
		sed -n 's/.*seconds=//p'
}

load_ipset() { # CFG N: prints the seconds of ipset restore
	local t
	gx "$1" ipset create sgbench hash:ip family inet6 maxelem 2000000 || return
	"$BIN/sgload" addrs $BAN_BASE "$2" ipset:sgbench >"$TMP/ipset"
	t=$(now)
	gx "$1" ipset restore <"$TMP/ipset" || return
	elapsed "$t"
	rm -f "$TMP/ipset"
	gx "$1" ip6tables-legacy -A FORWARD -m set --match-set sgbench src -j DROP
}

# In chunks of 100,000, each its own nft -f: nft's memory stays bounded.
load_nft() { # CFG N: prints the seconds of the nft -f runs
	local n=$2 off=0 chunk t total=0
	gx "$1" nft add table ip6 sgbench &&
	gx "$1" nft add set ip6 sgbench banned '{ type ipv6_addr; }' || return
	while [ "$off" -lt "$n" ]; do
		chunk=$((n - off < 100000 ? n - off : 100000))
		"$BIN/sgload" addrs "$(ban_addr $off)" "$chunk" \
			"nft:ip6 sgbench:banned" >"$TMP/nft"
		t=$(now)
		gx "$1" nft -f "$TMP/nft" || return
		total=$(echo "$total $(elapsed "$t")" | awk '{ print $1 + $2 }')
		off=$((off + chunk))
	done
	rm -f "$TMP/nft"
	gx "$1" nft add chain ip6 sgbench forward \
		'{ type filter hook forward priority filter; policy accept; }' &&
	gx "$1" nft add rule ip6 sgbench forward ip6 saddr @banned counter drop ||
		return
	echo "$total"
}

flood() { # CFG N SPREAD SPEC...: one flow once, for filling tables
	local c=$1 n=$2 h=$3
	shift 3
	ip netns exec "$(ns s "$c")" "$BIN/sgflood" -i a0 -m $MAC_GW -n "$n" \
		-H "$h" "$@" >/dev/null
}

stat_of() { # CFG KEY
	gx "$1" "$BIN/sgload" stats | sed -n "s/^$2=//p"
}

dev_tx() { # CFG DEV
	gx "$1" cat /proc/net/dev | awk -v d="$2:" '$1 == d { print $11 }'
}

# ---- setup ---------------------------------------------------------------

require_cmd ip ipset ip6tables-legacy nft insmod rmmod modprobe awk
[ -x "$BIN/sgflood" ] && [ -x "$BIN/sgload" ] ||
	ksft_skip "userspace/bench/sgflood, sgload not built (make -C userspace)"
[ -n "${SMTPGATE_KO:-}" ] && [ -f "$SMTPGATE_KO" ] ||
	ksft_skip "no smtpgate.ko for $(uname -r) (make kernels)"
# Everything here, the sender included, runs on one vCPU; see SENDER_CPU.
taskset -p -c $SENDER_CPU $$ >/dev/null || ksft_fail "cannot pin to CPU $SENDER_CPU"

echo "# building $(echo "$CONFIGS" | wc -w) paths"
for c in $CONFIGS; do
	path "$c" || ksft_fail "cannot build the path of $c"
done

# The flows; the second field is the flow each is measured next to and
# divided by, "-" for the bases themselves.
base() { [ "$1" = none ] && echo - || echo "$2"; }
{
	for c in $CONFIGS; do
		echo "udp-$c $(base "$c" udp-none) $(ns s "$c") a0 $MAC_GW h65536 $UDP"
	done
	for c in $CONFIGS; do
		echo "smtp-$c $(base "$c" smtp-none) $(ns s "$c") a0 $MAC_GW h4096 $SMTP"
	done
	for n in 1k 100k 1m; do
		echo "ban-sg$n ban-ipset$n $(ns s "sg$n") a0 $MAC_GW a1000 $BAN"
		echo "ban-ipset$n - $(ns s "ipset$n") a0 $MAC_GW a1000 $BAN"
		echo "ban-nft$n ban-ipset$n $(ns s "nft$n") a0 $MAC_GW a1000 $BAN"
	done
} >"$OUT/forward.flows"

# insmod does not resolve dependencies.
modprobe -a x_tables nf_conntrack nf_nat || ksft_fail "cannot load smtpgate's dependencies"
insmod "$SMTPGATE_KO" || ksft_fail "insmod $SMTPGATE_KO failed"
LOADED=1

# ---- loads: times and memory --------------------------------------------

: >"$OUT/forward.loads"
record() { echo "$*" >>"$OUT/forward.loads"; echo "# $*"; }
record "kernel $(uname -r)"
record "rounds $ROUNDS count $COUNT"

for c in sg0 sg1k sg100k sg1m sg1msmtp sghosts; do
	smtpgate_policy "$c" || ksft_fail "cannot set the policy of $c"
done
gx hook nft add table ip6 sgbench &&
gx hook nft add chain ip6 sgbench forward \
	'{ type filter hook forward priority filter; policy accept; }' ||
	ksft_fail "cannot set up the empty nft chain"
record "sg_ban_bytes $(stat_of sg0 ban_bytes)"
record "sg_host_bytes $(stat_of sg0 host_bytes)"
record "sg_load 1000 $(load_bans sg1k 1000)"
record "sg_load 100000 $(load_bans sg100k 100000)"
m0=$(memsnap) b0=$(slab_bytes smtpgate_ban)
record "sg_load 1000000 $(load_bans sg1m 1000000)"
m1=$(memsnap) b1=$(slab_bytes smtpgate_ban)
record "sg_mem 1000000 $(per_entry "$m0" "$m1" 1000000)"
record "sg_ban_slab_pages 1000000 $((b1 - b0))"
for f in object_size slab_size; do
	record "sg_slab_ban_$f $(cat /sys/kernel/slab/smtpgate_ban/$f 2>/dev/null)"
done
[ "$(stat_of sg1m bans)" = 1000000 ] || ksft_fail "sg1m holds $(stat_of sg1m bans) bans"
record "sg_load_smtp 1000000 $(load_bans sg1msmtp 1000000 smtp)"

# Repeated 100k loads into a scratch gateway, flushed in between.
path load || ksft_fail "cannot build the scratch path"
smtpgate_policy load || ksft_fail "cannot set the scratch policy"
for _ in $(seq "$LOADS"); do
	record "sg_load_rep 100000 $(load_bans load 100000)"
	gx load "$BIN/sgload" flush
done

# The host table: full of flagged hosts (memory per host), and at the
# eviction threshold with unflagged ones.
m0=$(memsnap) b0=$(slab_bytes smtpgate_host)
smtpgate_policy sgfull blocked_limit=1 || ksft_fail "cannot set the sgfull policy"
flood sgfull 65536 65536 "$FILL" || ksft_fail "cannot fill sgfull"
m1=$(memsnap) b1=$(slab_bytes smtpgate_host)
hosts=$(stat_of sgfull hosts)
record "sg_hosts_full $hosts flagged $(stat_of sgfull flagged)"
record "sg_host_mem $hosts $(per_entry "$m0" "$m1" "$hosts")"
record "sg_host_slab_pages $hosts $((b1 - b0))"
for f in object_size slab_size; do
	record "sg_slab_host_$f $(cat /sys/kernel/slab/smtpgate_host/$f 2>/dev/null)"
done
flood sghosts 53247 53247 "$FILL" || ksft_fail "cannot fill sghosts"
record "sg_hosts_threshold $(stat_of sghosts hosts)"

# nft up to 100k with memory deltas, while nothing else runs.
for n in 1000:1k 100000:100k; do
	m0=$(memsnap)
	t=$(load_nft "nft${n#*:}" "${n%:*}") || ksft_fail "nft ${n#*:} failed"
	m1=$(memsnap)
	record "nft_load ${n%:*} $t"
	record "nft_mem ${n%:*} $(per_entry "$m0" "$m1" "${n%:*}")"
done

# ipset restore is the slowest load by far (minutes for a million under
# TCG): on the other vCPU, while the rest loads here.  Its memory is what
# ipset itself reports.
(
	taskset -p -c $LOADER_CPU $BASHPID >/dev/null
	for n in 1000:1k 100000:100k 1000000:1m; do
		t=$(load_ipset "ipset${n#*:}" "${n%:*}") || exit 1
		echo "ipset_load ${n%:*} $t" >"$TMP/ipset.${n#*:}"
	done
) &
IPSET_PID=$!

t=$(load_nft nft1m 1000000) || ksft_fail "nft 1m failed"
record "nft_load 1000000 $t"

wait "$IPSET_PID" || ksft_fail "ipset failed"
IPSET_PID=
for n in 1k 100k 1m; do
	record "$(cat "$TMP/ipset.$n")"
	record "ipset_size_in_memory $(gx "ipset$n" ipset list -t sgbench |
		awk '/^Number of entries:/ { n = $4 } /^Size in memory:/ { s = $4 }
		     END { print n, s }')"
done

# ---- rule configurations: the SMTPGATE target, the seed's recipe -------

# The SMTPGATE extension from the build tree, before the system's.
XT_SYSDIR=$(pkg-config --variable=xtlibdir xtables 2>/dev/null)
export XTABLES_LIBDIR=$REPO/userspace/xt:${XT_SYSDIR:-/usr/lib/x86_64-linux-gnu/xtables}
CTL=$REPO/userspace/ctl/smtpgatectl
[ -f "$REPO/userspace/xt/libxt_SMTPGATE.so" ] && [ -x "$CTL" ] ||
	ksft_fail "userspace/xt/libxt_SMTPGATE.so, smtpgatectl not built (make -C userspace)"
for c in xt:ip6tables-legacy xtnft:ip6tables-nft; do
	gx "${c%%:*}" "$CTL" policy set exempt=2001:db8:1::/48 >/dev/null &&
	gx "${c%%:*}" "${c#*:}" -A FORWARD -s 2001:db8::/32 -j SMTPGATE ||
		ksft_fail "cannot set up ${c%%:*}"
done
# The seed's Teredo rule as printed there (it matches nothing, see
# Documentation/iptables.rst); IPv4, so only its cost of being there.
SEED_U32='4 & 0x3FFF = 0 && 0 >> 22 & 0x3C @ 8 >> 26 = 6 && 11 & 0xFF = 6 && 48 & 0xFFFF = 25,465'
seed() { gx seed ip6tables-legacy "$@"; }
seed -A FORWARD -i g0 -p tcp -m multiport -s 2001:db8:1::/48 --dports 25,465 -j ACCEPT &&
seed -A FORWARD -i g0 -p tcp -m multiport -s 2001:db8::/32 --dports 25,465 -j LOG &&
seed -A FORWARD -i g0 -p tcp -m multiport -s 2001:db8::/32 --dports 25,465 -j DROP &&
gx seed iptables-legacy -A FORWARD -i g0 -p udp -s 192.0.2.0/24 --dport 3544 \
	-m u32 --u32 "$SEED_U32" -j DROP &&
seed -t nat -A PREROUTING -i g0 -p tcp -s 2001:db8:1::/48 --dport 25 -j RETURN &&
seed -t nat -A PREROUTING -i g0 -p tcp -s 2001:db8::/32 --dport 25 \
	-j DNAT --to-destination "[2001:db8:2::10]:587" ||
	ksft_fail "cannot set up the seed's recipe"
# conntrack, taken by the nat table, must hold every flow (65,536 UDP
# sources and 4096 SMTP ones) or it drops what it cannot track.
ct_max=$(cat /proc/sys/net/netfilter/nf_conntrack_max)
[ "$ct_max" -ge 262144 ] || echo 262144 >/proc/sys/net/netfilter/nf_conntrack_max

# ---- the forwarding rates ------------------------------------------------

echo "# $(wc -l <"$OUT/forward.flows") flows, $ROUNDS rounds of $COUNT packets"
for c in $CONFIGS; do
	eval "tx0_$c=$(dev_tx "$c" g1)"
done
"$BIN/sgflood" -f "$OUT/forward.flows" -n "$COUNT" -r "$ROUNDS" \
	-o "$OUT/forward.raw" >"$OUT/forward.rates" || ksft_fail "sgflood failed"
cat "$OUT/forward.rates"

# Every configuration did its job: udp and smtp forwarded, ban dropped.
# Packets of flow $1: its bursts in the raw file and the warm-up.
sent() {
	awk -v f="$1" -v n="$COUNT" '$2 == f { b++ } END { print (b + 1) * n }' \
		"$OUT/forward.raw"
}
: >"$OUT/forward.check"
for c in $CONFIGS; do
	eval "tx0=\$tx0_$c"
	fwd=$(($(dev_tx "$c" g1) - tx0))
	want=$(($(sent "udp-$c") + $(sent "smtp-$c")))
	# A few of g1's own packets (MLD) may go out too.
	if [ "$fwd" -lt "$want" ] || [ "$fwd" -gt $((want + 50)) ]; then
		echo "$c forwarded $fwd, expected $want" >>"$OUT/forward.check"
	fi
done
for n in 1k 100k 1m; do
	d=$(stat_of "sg$n" packets_smtp6_banned)
	want=$(sent "ban-sg$n")
	[ "$d" = "$want" ] || echo "sg$n dropped $d as banned, expected $want" >>"$OUT/forward.check"
	d=$(gx "ipset$n" ip6tables-legacy -L FORWARD -v -x -n | awk '/match-set/ { print $1 }')
	want=$(sent "ban-ipset$n")
	[ "$d" = "$want" ] || echo "ipset$n dropped $d, expected $want" >>"$OUT/forward.check"
	d=$(gx "nft$n" nft list chain ip6 sgbench forward | sed -n 's/.*counter packets \([0-9]*\).*/\1/p')
	want=$(sent "ban-nft$n")
	[ "$d" = "$want" ] || echo "nft$n dropped $d, expected $want" >>"$OUT/forward.check"
done
record "sgfull_cap_misses $(stat_of sgfull host_cap_misses)"
record "sghosts_after $(stat_of sghosts hosts) evictions $(stat_of sghosts host_evictions)"

# The rule configurations' rules saw the packets: every one through the
# target, the SMTP through the seed's ACCEPT.
rule_pkts() { # CFG TOOL TARGET: packets of FORWARD's first rule with TARGET
	gx "$1" "$2" -L FORWARD -v -x -n | awk -v t="$3" '$3 == t { print $1; exit }'
}
for c in xt:ip6tables-legacy xtnft:ip6tables-nft; do
	d=$(rule_pkts "${c%%:*}" "${c#*:}" SMTPGATE)
	want=$(($(sent "udp-${c%%:*}") + $(sent "smtp-${c%%:*}")))
	[ "${d:-0}" -ge "$want" ] && [ "$d" -le $((want + 50)) ] ||
		echo "${c%%:*}: the SMTPGATE rule saw ${d:-nothing}, expected $want" >>"$OUT/forward.check"
done
d=$(rule_pkts seed ip6tables-legacy ACCEPT)
want=$(sent smtp-seed)
[ "$d" = "$want" ] || echo "seed: the mail servers' ACCEPT saw $d, expected $want" >>"$OUT/forward.check"

if [ -s "$OUT/forward.check" ]; then
	cat "$OUT/forward.check"
	ksft_fail "a configuration did not do its job"
fi
exit 0
