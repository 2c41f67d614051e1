#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The SMTPGATE target: smtpgate as a rule in the operator's ruleset.  The
# module is loaded with exempt= only (no internal=, so its standalone hooks
# stay off) and the rules choose the hosts.  Each action through
# iptables-legacy and iptables-nft, over IPv4 and IPv6; redirect to the
# submission server from the nat table; iptables-save output restoring to
# the same rules on both back ends; bad rules refused with a message, by
# the extension or by the kernel, and not added; Teredo on a port other
# than 3544 caught by the target where the classic u32 rule misses it; a
# banned host dropped whatever the action; `-j SMTPGATE` loading the
# module; rules removed and the module unloaded under a flood.
#
#   client  192.0.2.10 2001:db8:1::10 --+             +-- submit 198.51.100.10
#   spambot 192.0.2.66 2001:db8:1::66 --+-- gateway --+   2001:db8:2::10
#   mailsrv 192.0.2.25 2001:db8:1::25 --+   (init     |   listens on 587
#     (exempt=)                             netns)    |
#                                            |        +-- mx 203.0.113.25
#   FORWARD, mangle FORWARD and nat PREROUTING          2001:db8:3::25
#   jump to a chain of our own, SGXT-<id>, on every      25 465 587 80 2525
#   back end (iptables-legacy, iptables-nft, and the      peer 203.0.113.44
#   ip6tables pair); the cases put their rules there      (sgcraft sniff)
#
# The extension comes from the build tree: XTABLES_LIBDIR lists
# userspace/xt before the system's xtables directory.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net.sh"

EXEMPT=exempt=192.0.2.25/32,2001:db8:1::25/128
CTL=${CTL:-$SMTPGATE_REPO/userspace/ctl/smtpgatectl}
XT_SO=$SMTPGATE_REPO/userspace/xt/libxt_SMTPGATE.so
for XT_SYSDIR in /usr/lib/x86_64-linux-gnu/xtables /usr/lib/xtables \
	/usr/lib64/xtables /usr/libexec/xtables; do
	[[ -d $XT_SYSDIR ]] && break
done
export XTABLES_LIBDIR=${XT_SO%/*}:$XT_SYSDIR

# The four front ends, and the chain every case writes into.
BINS4=(iptables-legacy iptables-nft)
BINS6=(ip6tables-legacy ip6tables-nft)
CHAIN=$(unique_name SGXT)
# table:builtin-chain pairs that jump to $CHAIN.
HOOKS=(filter:FORWARD mangle:FORWARD nat:PREROUTING)
declare -A XT_READY=()		# front end -> 1 once its chains exist
RT_NS=""			# scratch namespace of the round trip
MODPROBE_SAVED=""		# kernel.modprobe before the autoload case

# The classic Teredo rule of seed 001 as printed, and as it was meant:
# after "&&" offsets count from the IPv4 header again, and ">> 26" keeps
# six bits of the IPv6 version field, so the printed one matches nothing.
U32_SEED='4 & 0x3FFF = 0 && 0 >> 22 & 0x3C @ 8 >> 26 = 6 && 11 & 0xFF = 6 && 48 & 0xFFFF = 25,465'
U32_FIXED='4 & 0x3FFF = 0 && 0 >> 22 & 0x3C @ 8 >> 28 = 6 && 0 >> 22 & 0x3C @ 12 >> 8 & 0xFF = 6 && 0 >> 22 & 0x3C @ 48 & 0xFFFF = 25,465'

# ---- rules -------------------------------------------------------------

ipt() # BIN ARGS...: legacy ones wait for the xtables lock
{
	local bin=$1
	shift
	if [[ $bin == *-legacy ]]; then
		"$bin" -w "$@"
	else
		"$bin" "$@"
	fi
}

# Our chain in each table of HOOKS, and the jumps to it.
xt_setup() # BIN
{
	local bin=$1 h
	for h in "${HOOKS[@]}"; do
		ipt "$bin" -t "${h%%:*}" -N "$CHAIN" &&
		ipt "$bin" -t "${h%%:*}" -I "${h#*:}" -j "$CHAIN" || return
	done
	XT_READY[$bin]=1
}

xt_flush() # BIN
{
	local bin=$1 h
	for h in "${HOOKS[@]}"; do
		ipt "$bin" -t "${h%%:*}" -F "$CHAIN" || return
	done
}

xt_teardown() # BIN
{
	local bin=$1 h
	[[ -n ${XT_READY[$bin]:-} ]] || return 0
	for h in "${HOOKS[@]}"; do
		ipt "$bin" -t "${h%%:*}" -D "${h#*:}" -j "$CHAIN"
		ipt "$bin" -t "${h%%:*}" -F "$CHAIN"
		ipt "$bin" -t "${h%%:*}" -X "$CHAIN"
	done 2>/dev/null
	unset "XT_READY[$bin]"
}

# Appends a rule to our chain in TABLE; says why when it cannot.
rule() # BIN TABLE SPEC...
{
	local bin=$1 table=$2 out
	shift 2
	out=$(ipt "$bin" -t "$table" -A "$CHAIN" "$@" 2>&1) || {
		tap_fail "$bin -t $table -A $CHAIN $*"
		echo "$out" | sed 's/^/#   /'
		return 1
	}
}

cleanup() {
	local bin
	[[ -n $SNIFF_PID ]] && kill "$SNIFF_PID" 2>/dev/null
	for bin in "${BINS4[@]}" "${BINS6[@]}"; do
		xt_teardown "$bin"
	done
	[[ -n $RT_NS ]] && ip netns del "$RT_NS" 2>/dev/null
	[[ -n $MODPROBE_SAVED ]] && echo "$MODPROBE_SAVED" >/proc/sys/kernel/modprobe
	# nft_compat lets go of the target after its commit work has run.
	poll_until 10 sg_unload 2>/dev/null
	net_cleanup
}

# The host's attempts, from smtpgatectl's JSON: "smtp4=N ... logged=N";
# what smtpgatectl said when it has no such host.
host_counts() # ADDR
{
	local out
	out=$("$CTL" -j host "$1" 2>&1) || { echo "$out"; return 1; }
	jq -r '"smtp4=\(.attempts.smtp4) smtp6=\(.attempts.smtp6) teredo=\(.attempts.teredo) blocked=\(.blocked) logged=\(.logged)"' <<<"$out"
}

# ---- the cases ---------------------------------------------------------

# drop, log, droplog and classify in FORWARD for the LAN, one front end
# and family.  The exempt mail server and non-SMTP always pass.
actions_case() # BIN SRC-PREFIX CLIENT MX MAILSRV
{
	local bin=$1 lan=$2 client=$3 mx=$4 mailsrv=$5 action out want

	for action in drop log droplog; do
		echo "# -- $bin: -s $lan -j SMTPGATE --action $action"
		rule "$bin" filter -s "$lan" -j SMTPGATE --action "$action" || continue
		expect_tcp "$action" client "$client" "$mx" 25
		if [[ $action == drop ]]; then
			expect_tcp drop client "$client" "$mx" 465
			expect_tcp pass mailsrv "$mailsrv" "$mx" 25
			expect_tcp pass client "$client" "$mx" 80
		fi
		xt_flush "$bin"
	done

	echo "# -- $bin: --action classify counts and lets it through"
	"$CTL" forget all >/dev/null
	rule "$bin" filter -s "$lan" -j SMTPGATE --action classify || return
	expect_tcp pass client "$client" "$mx" 25
	want=smtp4
	[[ $client == *:* ]] && want=smtp6
	out=$(host_counts "$client")
	if [[ $out == *"$want=0 "* || $out != *"$want="[1-9]*"blocked=0 logged=0" ]]; then
		tap_fail "classify: smtpgatectl host $client shows the attempt, nothing blocked"
		echo "#   smtpgatectl -j host $client: $out"
	else
		tap_ok "classify: smtpgatectl host $client: $out"
	fi
	xt_flush "$bin"
}

# --action redirect in nat PREROUTING: port 25 lands on the submission
# server's 587, 465 is dropped, the exempt server goes out.
redirect_case() # BIN SRC-PREFIX CLIENT MX MAILSRV SUBMISSION-ARG
{
	local bin=$1 lan=$2 client=$3 mx=$4 mailsrv=$5 sub=$6

	echo "# -- $bin: -t nat -s $lan -j SMTPGATE --action redirect --submission $sub"
	rule "$bin" nat -s "$lan" -j SMTPGATE --action redirect --submission "$sub" ||
		return
	: >"$NET_DIR/submit.log"
	expect_tcp redirect client "$client" "$mx" 25
	check "redirect: the submission server saw $client on 587" \
		net_arrived_at "$NET_DIR/submit.log" 587 "$client"
	expect_tcp drop client "$client" "$mx" 465
	expect_tcp pass mailsrv "$mailsrv" "$mx" 25
	xt_flush "$bin"
}

net_arrived_at() # LOG PORT ADDR
{
	poll_until 3 file_has_line "$1" "tcp $2 $(net_sockaddr "$3")" || {
		echo "$1 has: $(cat "$1")"
		return 1
	}
}

# A rule the extension must refuse before the kernel sees it.
expect_refused() # BIN MESSAGE TABLE SPEC...
{
	local bin=$1 want=$2 table=$3 out
	shift 3
	if out=$(ipt "$bin" -t "$table" -A "$CHAIN" "$@" 2>&1); then
		tap_fail "$bin refuses $*: it was added"
		ipt "$bin" -t "$table" -D "$CHAIN" "$@" 2>/dev/null
		return
	fi
	if [[ $out == *"$want"* ]]; then
		out=$(grep -m1 -F 'SMTPGATE: ' <<<"$out")
		tap_ok "$bin refuses $*: ${out#*: SMTPGATE: }"
	else
		tap_fail "$bin refuses $* saying '$want'"
		echo "$out" | sed 's/^/#   /'
	fi
}

# A rule the kernel's checkentry must refuse, with its line in the log.
expect_kernel_refused() # BIN KLOG-MESSAGE TABLE CHAIN SPEC...
{
	local bin=$1 want=$2 table=$3 chain=$4 out why=()
	shift 4
	klog_mark
	if out=$(ipt "$bin" -t "$table" -A "$chain" "$@" 2>&1); then
		why+=("it was added")
		ipt "$bin" -t "$table" -D "$chain" "$@" 2>/dev/null
	else
		[[ $out == *"Invalid argument"* ]] ||
			why+=("iptables said: $out")
		poll_until 3 klog_since "$KLOG_MARK" "smtpgate: " "$want" >/dev/null ||
			why+=("no 'smtpgate: ...$want' in the kernel log")
	fi
	verdict_report "$bin -t $table -A $chain $*: the kernel refuses it ($want)" \
		"${why[@]}"
}

# Is there no SMTPGATE rule left in BIN's ruleset?
no_smtpgate_rule() # BIN
{
	local out
	out=$("$1-save" 2>&1) || { echo "$out"; return 1; }
	! grep -F -- "-j SMTPGATE" <<<"$out"
}

# Rules added with the CLI, saved, flushed, restored and saved again, in a
# namespace of their own: the two saves must be the same, and say what we
# expect in canonical form.
roundtrip_case() # BIN SUBMISSION PREFIX
{
	local bin=$1 sub=$2 lan=$3 save1 save2 want line why=()
	local nsx=(ip netns exec "$RT_NS")

	"${nsx[@]}" "$bin" -t filter -F && "${nsx[@]}" "$bin" -t nat -F || return
	"${nsx[@]}" "$bin" -A FORWARD -s "$lan" -i eth0 -j SMTPGATE &&
	"${nsx[@]}" "$bin" -A FORWARD -s "$lan" -j SMTPGATE --action log &&
	"${nsx[@]}" "$bin" -A FORWARD -s "$lan" -j SMTPGATE --action droplog --ports 2525,465,25 &&
	"${nsx[@]}" "$bin" -A FORWARD -p udp -j SMTPGATE --ports 3544 --action classify &&
	"${nsx[@]}" "$bin" -t nat -A PREROUTING -s "$lan" -j SMTPGATE \
		--action redirect --submission "$sub:587" &&
	"${nsx[@]}" "$bin" -t nat -A PREROUTING -s "$lan" -p tcp -j SMTPGATE \
		--ports 25 --submission "$sub:2587" --action redirect ||
		why+=("$bin refused a rule of the set")
	save1=$("${nsx[@]}" "$bin-save" | grep -v '^#')
	want=(
		"-A FORWARD -s $lan -i eth0 -j SMTPGATE"
		"-A FORWARD -s $lan -j SMTPGATE --action log"
		"-A FORWARD -s $lan -j SMTPGATE --action droplog --ports 25,465,2525"
		"-A FORWARD -p udp -j SMTPGATE --action classify --ports 3544"
		"-A PREROUTING -s $lan -j SMTPGATE --action redirect --submission $sub"
		"-A PREROUTING -s $lan -p tcp -j SMTPGATE --action redirect --submission $sub:2587 --ports 25"
	)
	for line in "${want[@]}"; do
		grep -qxF -- "$line" <<<"$save1" || why+=("no line '$line' in $bin-save")
	done
	"${nsx[@]}" "$bin" -t filter -F && "${nsx[@]}" "$bin" -t nat -F &&
	"${nsx[@]}" "$bin-restore" <<<"$save1" || why+=("$bin-restore failed")
	save2=$("${nsx[@]}" "$bin-save" | grep -v '^#')
	[[ $save1 == "$save2" ]] ||
		why+=("the saves differ:" "$(diff <(echo "$save1") <(echo "$save2") | head -n 20)")
	# -D finds a rule by its options, whatever order they were given in.
	"${nsx[@]}" "$bin" -D FORWARD -s "$lan" -j SMTPGATE --ports 465,2525,25 \
		--action droplog || why+=("$bin -D with the options reordered found no rule")
	((${#why[@]})) && why+=("first save:" "$save1")
	verdict_report "$bin-save | $bin-restore | $bin-save: the same rules" "${why[@]}"
}

# ---- the test ----------------------------------------------------------

[ "$(id -u)" = 0 ] || ksft_skip "needs root (run it with scripts/vm-run.sh)"
[ -f "${SMTPGATE_KO:-}" ] || ksft_skip "no module (SMTPGATE_KO=${SMTPGATE_KO:-})"
require_cmd ip socat ss insmod rmmod jq nft "${BINS4[@]}" "${BINS6[@]}"
[ -x "$SGCRAFT" ] || ksft_skip "$SGCRAFT not built (make userspace)"
[ -x "$CTL" ] || ksft_skip "$CTL not built (make userspace)"
[ -f "$XT_SO" ] || ksft_skip "$XT_SO not built (make -C userspace xt)"
trap cleanup EXIT
sg_deps || ksft_fail "cannot load smtpgate's dependencies"
sg_unload || ksft_fail "a loaded smtpgate cannot be removed"
net_setup || ksft_fail "cannot set up the namespaces"
net_mx_start || ksft_fail "the outside MX does not listen"
net_listen submit tcp 587 "$NET_DIR/submit.log" "smtpgate-submission"
poll_until 20 net_listening submit tcp 587 2 ||
	ksft_fail "the submission server does not listen on 587"

echo "# -- -j SMTPGATE loads the module (kernel.modprobe through a wrapper)"
# The guest's /lib/modules is the host's, read-only, without smtpgate:
# the kernel's request for the target's alias goes to a wrapper that
# loads the module under test and hands any other request to modprobe.
check "modinfo: aliases ipt_SMTPGATE and ip6t_SMTPGATE" \
	bash -c "modinfo -F alias '$SMTPGATE_KO' | grep -qx ipt_SMTPGATE &&
		 modinfo -F alias '$SMTPGATE_KO' | grep -qx ip6t_SMTPGATE"
read -r MODPROBE_SAVED </proc/sys/kernel/modprobe
cat >"$NET_DIR/modprobe" <<EOF
#!/bin/sh
for a in "\$@"; do
	case \$a in
	ipt_SMTPGATE | ip6t_SMTPGATE)
		echo "\$a" >>"$NET_DIR/modprobe.log"
		exec insmod "$SMTPGATE_KO"
	esac
done
exec "$MODPROBE_SAVED" "\$@"
EOF
chmod 755 "$NET_DIR/modprobe"
echo "$NET_DIR/modprobe" >/proc/sys/kernel/modprobe
for bin in iptables-legacy ip6tables-nft; do
	: >"$NET_DIR/modprobe.log"
	sg_unload
	out=$(ipt "$bin" -t filter -A FORWARD -j SMTPGATE --action classify 2>&1)
	rc=$?
	if [[ $rc == 0 ]] && sg_loaded; then
		tap_ok "$bin -j SMTPGATE loaded smtpgate (asked for: $(paste -sd, "$NET_DIR/modprobe.log"))"
	else
		tap_fail "$bin -j SMTPGATE loaded smtpgate"
		echo "#   $bin: exit $rc: $out; modprobe asked for: $(paste -sd, "$NET_DIR/modprobe.log")"
	fi
	ipt "$bin" -t filter -D FORWARD -j SMTPGATE --action classify 2>/dev/null
	poll_until 10 sg_unload 2>/dev/null
done
echo "$MODPROBE_SAVED" >/proc/sys/kernel/modprobe
MODPROBE_SAVED=""

sg_load "$EXEMPT" || ksft_fail "smtpgate does not load with $EXEMPT"
for bin in "${BINS4[@]}" "${BINS6[@]}"; do
	xt_setup "$bin" || ksft_fail "$bin: cannot make chain $CHAIN"
done

# Before any rule: everything passes (no internal=, no hooks).
expect_tcp pass client "$CLIENT4" "$MX4" 25 ||
	ksft_fail "SMTP blocked without any rule: the test bed is broken"

for bin in "${BINS4[@]}"; do
	actions_case "$bin" "$LAN4" "$CLIENT4" "$MX4" "$MAILSRV4"
done
for bin in "${BINS6[@]}"; do
	actions_case "$bin" "$LAN6" "$CLIENT6" "$MX6" "$MAILSRV6"
done

echo "# -- iptables-nft rules are xt target expressions in nft's ruleset"
rule iptables-nft filter -s "$LAN4" -j SMTPGATE --action droplog --ports 25,2525
rule ip6tables-nft filter -s "$LAN6" -j SMTPGATE
out=$(nft list ruleset 2>&1)
for fam in ip ip6; do
	if awk -v t="table $fam filter" '$0 ~ "^" t " " { on = 1 } /^}/ { on = 0 }
		on && /xt target "?SMTPGATE"?/ { f = 1 } END { exit !f }' <<<"$out"; then
		tap_ok "nft list ruleset: table $fam filter has an 'xt target SMTPGATE'"
	else
		tap_fail "nft list ruleset: table $fam filter has an 'xt target SMTPGATE'"
		grep -n -B2 -A2 "$CHAIN" <<<"$out" | head -n 20 | sed 's/^/#   /'
	fi
done
grep -m1 'xt target' <<<"$out" | sed 's/^[[:space:]]*/#   nft: /'
expect_tcp droplog client "$CLIENT4" "$MX4" 2525
xt_flush iptables-nft
xt_flush ip6tables-nft

echo "# -- redirect to the submission server, nat PREROUTING"
redirect_case iptables-legacy "$LAN4" "$CLIENT4" "$MX4" "$MAILSRV4" "$SUBMIT4"
redirect_case iptables-nft "$LAN4" "$CLIENT4" "$MX4" "$MAILSRV4" "$SUBMIT4:587"
redirect_case ip6tables-legacy "$LAN6" "$CLIENT6" "$MX6" "$MAILSRV6" "[$SUBMIT6]:587"
redirect_case ip6tables-nft "$LAN6" "$CLIENT6" "$MX6" "$MAILSRV6" "$SUBMIT6"

echo "# -- iptables-save | iptables-restore round trip"
RT_NS=$(unique_name sg-xtrt)
ip netns add "$RT_NS" || ksft_fail "cannot add namespace $RT_NS"
roundtrip_case iptables-legacy 198.51.100.10 192.0.2.0/24
roundtrip_case iptables-nft 198.51.100.10 192.0.2.0/24
roundtrip_case ip6tables-legacy "[2001:db8:2::10]" 2001:db8:1::/64
roundtrip_case ip6tables-nft "[2001:db8:2::10]" 2001:db8:1::/64
out=$(ip netns exec "$RT_NS" iptables-legacy -L FORWARD -n 2>&1)
if grep -q 'SMTPGATE .* action classify ports 3544' <<<"$out"; then
	tap_ok "iptables -L: $(grep -m1 'action classify' <<<"$out" | tr -s ' ')"
else
	tap_fail "iptables -L shows 'action classify ports 3544'"
	echo "$out" | sed 's/^/#   /'
fi
ip netns del "$RT_NS"
RT_NS=""

echo "# -- bad rules: refused with a message, never added"
for bin in "${BINS4[@]}"; do
	expect_refused "$bin" '--action "bounce": not one of drop, log, droplog, redirect, classify' \
		filter -j SMTPGATE --action bounce
	expect_refused "$bin" "--action redirect needs --submission" \
		nat -j SMTPGATE --action redirect
	expect_refused "$bin" "--submission 2001:db8:2::10 is an IPv6 address; an iptables rule needs an IPv4 submission server" \
		nat -j SMTPGATE --action redirect --submission 2001:db8:2::10
	expect_refused "$bin" "--submission only goes with --action redirect" \
		filter -j SMTPGATE --submission "$SUBMIT4"
	expect_refused "$bin" '--ports "25,465,25": port 25 given twice' \
		filter -j SMTPGATE --ports 25,465,25
	expect_refused "$bin" '--ports "0": "0" is not a port (1-65535)' \
		filter -j SMTPGATE --ports 0
	expect_refused "$bin" '--submission port "70000": not a port (1-65535)' \
		nat -j SMTPGATE --action redirect --submission "$SUBMIT4:70000"
	expect_kernel_refused "$bin" "redirect is only valid in the nat table's PREROUTING chain" \
		filter "$CHAIN" -s "$LAN4" -j SMTPGATE --action redirect --submission "$SUBMIT4"
	expect_kernel_refused "$bin" "redirect is only valid in the nat table's PREROUTING chain" \
		nat OUTPUT -j SMTPGATE --action redirect --submission "$SUBMIT4"
	expect_kernel_refused "$bin" "--submission is not an IPv4 address" \
		nat "$CHAIN" -j SMTPGATE --action redirect --submission 0.0.0.0
done
for bin in "${BINS6[@]}"; do
	expect_refused "$bin" "--submission 198.51.100.10 is an IPv4 address; an ip6tables rule needs an IPv6 submission server" \
		nat -j SMTPGATE --action redirect --submission "$SUBMIT4"
	expect_refused "$bin" 'more than 16 ports' \
		filter -j SMTPGATE --ports 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17
	# An IPv4-mapped address is IPv6 to the extension, IPv4 to the kernel.
	expect_kernel_refused "$bin" "--submission is not an IPv6 address" \
		nat "$CHAIN" -j SMTPGATE --action redirect --submission "::ffff:$SUBMIT4"
	expect_kernel_refused "$bin" "redirect is only valid in the nat table's PREROUTING chain" \
		mangle "$CHAIN" -j SMTPGATE --action redirect --submission "$SUBMIT6"
done
for bin in "${BINS4[@]}" "${BINS6[@]}"; do
	check "$bin: no SMTPGATE rule after the refusals" no_smtpgate_rule "$bin"
done

echo "# -- Teredo on UDP 40001: the seed's u32 rule misses it, the target does not"
TEREDO=(teredo src="$SPAMBOT4" dst="$PEER4")
rule iptables-legacy filter -s "$LAN4" -p udp --dport 3544 -m u32 --u32 "$U32_SEED" -j DROP
expect_pkt pass spambot "$SPAMBOT4" "$PEER4" teredo "${TEREDO[@]}"
echo "#    (the seed's u32 as printed matches nothing, even on 3544)"
xt_flush iptables-legacy
rule iptables-legacy filter -s "$LAN4" -p udp --dport 3544 -m u32 --u32 "$U32_FIXED" -j DROP
expect_pkt drop spambot "$SPAMBOT4" "$PEER4" teredo "${TEREDO[@]}"
expect_pkt pass spambot "$SPAMBOT4" "$PEER4" teredo "${TEREDO[@]}" sport=40000 dport=40001
expect_pkt pass spambot "$SPAMBOT4" "$PEER4" teredo "${TEREDO[@]}" auth=4,4 origin
rule iptables-legacy filter -s "$LAN4" -j SMTPGATE --action droplog
expect_pkt droplog spambot "$SPAMBOT4" "$PEER4" teredo "${TEREDO[@]}" sport=40000 dport=40001
expect_pkt droplog spambot "$SPAMBOT4" "$PEER4" teredo "${TEREDO[@]}" auth=4,4 origin
expect_pkt droplog spambot "$SPAMBOT4" "$PEER4" sixin4 sixin4 src="$SPAMBOT4" dst="$PEER4"
xt_flush iptables-legacy

echo "# -- an nft OUTPUT rule: the target in process context"
# The gateway's own SMTP meets the target in the sender's context, not a
# softirq: its counters must be bumped all the same (a debug kernel with
# DEBUG_PREEMPT reports a preemptible this_cpu_ptr here).
xt_drops4() { "$CTL" -j stats | jq '.packets.smtp4.drop'; }
OUT_RULE=(OUTPUT -d "$MX4" -p tcp --dport 25 -j SMTPGATE --action drop)
DROPS_BEFORE=$(xt_drops4)
check "iptables-nft: the target in filter OUTPUT" \
	iptables-nft -t filter -I "${OUT_RULE[@]}"
check "the gateway's own SMTP is dropped" \
	bash -c "! socat -u /dev/null TCP4:$MX4:25,connect-timeout=3 2>/dev/null"
check "and counted" test "$(xt_drops4)" -gt "$DROPS_BEFORE"
check "OUTPUT rule removed" iptables-nft -t filter -D "${OUT_RULE[@]}"

echo "# -- a banned host is dropped whatever the action"
# In mangle FORWARD (-150): the target sees the packets before the hooks
# that bans register (-5) could.
check "smtpgatectl ban $SPAMBOT4 --scope smtp" "$CTL" ban "$SPAMBOT4" --scope smtp
check "smtpgatectl ban $SPAMBOT6 --scope smtp" "$CTL" ban "$SPAMBOT6" --scope smtp
for action in log classify; do
	rule iptables-nft mangle -s "$LAN4" -j SMTPGATE --action $action
	rule ip6tables-legacy mangle -s "$LAN6" -j SMTPGATE --action $action
	expect_tcp drop spambot "$SPAMBOT4" "$MX4" 25
	expect_tcp drop spambot "$SPAMBOT6" "$MX6" 25
	xt_flush iptables-nft
	xt_flush ip6tables-legacy
done
rule iptables-nft mangle -s "$LAN4" -j SMTPGATE --action log
expect_tcp log client "$CLIENT4" "$MX4" 25
xt_flush iptables-nft
"$CTL" flush >/dev/null || tap_fail "smtpgatectl flush"

echo "# -- rules removed and the module unloaded under a flood"
rule iptables-legacy filter -s "$LAN4" -j SMTPGATE --action droplog
rule iptables-nft mangle -s "$LAN4" -j SMTPGATE --action classify --ports 25,465,2525
rule ip6tables-nft filter -s "$LAN6" -j SMTPGATE
rule ip6tables-legacy nat -s "$LAN6" -j SMTPGATE --action redirect --submission "$SUBMIT6"
FLOOD=(tcp4 src="$SPAMBOT4" dst="$PEER4" dport=25
	teredo src="$SPAMBOT4" dst="$PEER4" dport=40001
	udp4 src="$SPAMBOT4" dst="$PEER4"
	tcp6 src="$SPAMBOT6" dst="$PEER6" dport=25)
net_bg spambot "$SGCRAFT" send -n 100000000 "${FLOOD[@]}"
FLOOD_PID=$!
nap 2
check "the flood runs" kill -0 "$FLOOD_PID"
if rmmod smtpgate 2>/dev/null; then
	tap_fail "rmmod smtpgate refused while rules use the target"
else
	tap_ok "rmmod smtpgate refused while rules use the target"
fi
for bin in "${BINS4[@]}" "${BINS6[@]}"; do
	check "$bin: chain flushed under the flood" xt_flush "$bin"
done
for bin in "${BINS4[@]}" "${BINS6[@]}"; do
	xt_teardown "$bin"
done
check "rmmod smtpgate under the flood" poll_until 10 sg_unload
check "the flood still runs after rmmod" kill -0 "$FLOOD_PID"
kill "$FLOOD_PID" 2>/dev/null
wait "$FLOOD_PID" 2>/dev/null

tap_summary
