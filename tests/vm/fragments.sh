#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Fragments, IPv4 and IPv6, of SMTP and of other traffic, crafted by the
# spambot and sniffed at the peer.  A policy that polices anyone turns IPv4
# defragmentation on itself (nothing else in the gateway's namespace does
# here: no conntrack user): fragmented Teredo and 6in4 are only visible
# reassembled.  IPv6 is not reassembled for smtpgate: the gateway sees each
# fragment, the first one carries the ports and is dropped, the later ones
# are never SMTP and pass.  With a conntrack rule in nftables both families
# are reassembled: smtpgate sees whole packets.
#
#   spambot 192.0.2.66 2001:db8:1::66 --- gateway --- peer 203.0.113.44
#   (sgcraft send)                      (smtpgate,    2001:db8:3::44
#                                        action=droplog) (sgcraft sniff)

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net.sh"

INTERNAL=internal=192.0.2.0/24,2001:db8:1::/64
NFT_TABLE=

cleanup() {
	sg_unload
	[[ -n $NFT_TABLE ]] && nft delete table inet "$NFT_TABLE" 2>/dev/null
	net_cleanup
}

frag4() # VERDICT CLASS KEY=VALUE...
{
	local verdict=$1 class=$2
	shift 2
	expect_pkt "$verdict" spambot "$SPAMBOT4" "$PEER4" "$class" \
		frag4 src="$SPAMBOT4" dst="$PEER4" "$@"
}

frag6() # VERDICT CLASS KEY=VALUE...
{
	local verdict=$1 class=$2
	shift 2
	expect_pkt "$verdict" spambot "$SPAMBOT6" "$PEER6" "$class" \
		frag6 src="$SPAMBOT6" dst="$PEER6" len=32 "$@"
}

# pass-but-held: with defragmentation on, a fragment whose siblings never
# come stays in the reassembly queue; nothing arrives and nothing is logged.
held() # SRC DST SPEC...
{
	expect_pkt drop spambot "$1" "$2" other "${@:3}"
}

[ "$(id -u)" = 0 ] || ksft_skip "needs root (run it with scripts/vm-run.sh)"
[ -f "${SMTPGATE_KO:-}" ] || ksft_skip "no module (SMTPGATE_KO=${SMTPGATE_KO:-})"
require_cmd ip ss insmod rmmod nft
[ -x "$SGCRAFT" ] || ksft_skip "$SGCRAFT not built (make userspace)"
trap cleanup EXIT
sg_deps || ksft_fail "cannot load smtpgate's dependencies"
sg_unload || ksft_fail "a loaded smtpgate cannot be removed"
net_setup || ksft_fail "cannot set up the namespaces"

echo "# -- no conntrack user in the gateway: smtpgate takes IPv4 defragmentation"
sg_load "$INTERNAL" action=droplog tunnel_action=droplog ||
	ksft_fail "smtpgate does not load with action=droplog"
# A lone later IPv4 fragment now waits for its siblings in vain.
held "$SPAMBOT4" "$PEER4" frag4 src="$SPAMBOT4" dst="$PEER4" dport=80 pick=1

# Tunnels split by the outer IPv4 header, with nothing else reassembling:
# dropped as the tunnelled SMTP they are, not passed as "other".
expect_pkt droplog spambot "$SPAMBOT4" "$PEER4" teredo \
	teredo src="$SPAMBOT4" dst="$PEER4" auth=4,4 origin fragsize=16
expect_pkt droplog spambot "$SPAMBOT4" "$PEER4" teredo \
	teredo src="$SPAMBOT4" dst="$PEER4" fragsize=8
expect_pkt droplog spambot "$SPAMBOT4" "$PEER4" sixin4 \
	sixin4 src="$SPAMBOT4" dst="$PEER4" fragsize=24
expect_pkt droplog spambot "$SPAMBOT4" "$PEER4" sixin4 \
	sixin4 src="$SPAMBOT4" dst="$PEER4" fragsize=8
expect_pkt pass spambot "$SPAMBOT4" "$PEER4" other \
	teredo src="$SPAMBOT4" dst="$PEER4" tport=80 fragsize=16
# Plain SMTP, whole: dropped once, as one packet.
frag4 droplog smtp4 fragsize=8
frag4 pass other dport=80 fragsize=8

# IPv6: each fragment on its own.
frag6 droplog smtp6 pick=0
frag6 droplog smtp6 dport=465 pick=0
frag6 droplog smtp6 ext=hop,dst pick=0
frag6 pass other pick=1
frag6 pass other ext=hop,dst pick=2
frag6 pass other dport=80 pick=0
# A fragment header with a nonzero offset in an unfragmented-looking
# packet: a later fragment, never SMTP.
expect_pkt pass spambot "$SPAMBOT6" "$PEER6" other \
	tcp6 src="$SPAMBOT6" dst="$PEER6" ext=frag:8
expect_pkt droplog spambot "$SPAMBOT6" "$PEER6" smtp6 \
	tcp6 src="$SPAMBOT6" dst="$PEER6" ext=frag:0

echo "# -- with defragmentation (an nftables conntrack rule)"
NFT_TABLE=sgfrag$NET_ID
nft add table inet "$NFT_TABLE" &&
nft add chain inet "$NFT_TABLE" ctchain '{ type filter hook forward priority 0; }' &&
nft add rule inet "$NFT_TABLE" ctchain ct state new counter ||
	ksft_fail "cannot add the nftables conntrack rule"
# Now the same lone later fragment waits for its siblings in vain.
held "$SPAMBOT4" "$PEER4" frag4 src="$SPAMBOT4" dst="$PEER4" dport=80 pick=1 ||
	ksft_fail "a lone IPv4 fragment crossed the gateway: defragmentation is not on"
held "$SPAMBOT6" "$PEER6" frag6 src="$SPAMBOT6" dst="$PEER6" dport=80 pick=1 len=32

# Whole packets: SMTP dropped once, as one packet; the rest reassembled,
# forwarded and fragmented again.
frag4 droplog smtp4 fragsize=8
frag4 droplog smtp4 dport=465 fragsize=16 len=200
frag4 droplog smtp4 fragsize=8 len=8 pick=3,2,1,0
frag4 pass other dport=80 fragsize=8
frag6 droplog smtp6
frag6 droplog smtp6 ext=hop,dst len=100
frag6 pass other dport=80
# Tunnels split by the outer IPv4 header: only reassembled is the inner
# SMTP visible.
expect_pkt droplog spambot "$SPAMBOT4" "$PEER4" teredo \
	teredo src="$SPAMBOT4" dst="$PEER4" auth=4,4 origin fragsize=16
expect_pkt droplog spambot "$SPAMBOT4" "$PEER4" sixin4 \
	sixin4 src="$SPAMBOT4" dst="$PEER4" fragsize=24
expect_pkt pass spambot "$SPAMBOT4" "$PEER4" other \
	teredo src="$SPAMBOT4" dst="$PEER4" tport=80 fragsize=16

sg_unload || tap_fail "rmmod smtpgate"
tap_summary
