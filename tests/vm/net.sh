# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The network the scenario tests run on, and their checks.  Sourced after
# tests/vm/lib.sh.  The gateway is the initial network namespace (smtpgate's
# module parameters apply there); every host is a namespace of its own with
# one veth to a bridge on the gateway.  Only documentation prefixes:
#
#    internal LAN, bridge sgl<id>                DMZ, bridge sgd<id>
#    192.0.2.0/24 2001:db8:1::/64                198.51.100.0/24 2001:db8:2::/64
#  +---------+                                     +--------+
#  | client  | .10 ::10 --+                    +-- | submit | .10 ::10 Postfix
#  +---------+            |   +------------+   |   +--------+  587+465, Dovecot
#  | spambot | .66 ::66 --+---| gateway    |---+
#  +---------+            |   | .1 ::1 on  |   |   +--------+
#  | mailsrv | .25 ::25 --+   | each side, |   +-- | mx     | .25 ::25 socat on
#  +---------+                | smtpgate   |   |   +--------+  25 465 587 80 2525
#  (the exempt mail server)   +------------+   |                 and 53/udp
#                                              |   +--------+
#                                              +-- | peer   | .44 ::44 sniffs
#                                                  +--------+  tunnels
#                                outside, bridge sgo<id>
#                                203.0.113.0/24 2001:db8:3::/64
#
# Topology
#	net_setup			namespaces, links, addresses, routes
#	net_cleanup			undoes all of it, kills what we started
#	in_ns ROLE CMD...		runs CMD in ROLE's namespace
#	net_bg ROLE CMD...		starts CMD there in the background
#	net_mx_start			the outside MX's logging listeners
#	net_tcp ROLE ADDR PORT [SECS]	connects, prints what the server sent
#	net_udp ROLE ADDR PORT [SECS]	one datagram, prints the reply
#	net_listen ROLE PROTO PORT LOG NAME	a logging listener anywhere
#	net_arrived PORT ADDR [PROTO]	did ADDR's connection reach the MX?
#	net_banner ROLE ADDR PORT TEXT	does the server greet with TEXT?
# The kernel log (a /dev/kmsg follower: dmesg is slow in the TCG guest)
#	klog_mark			remembers the end of the log so far
#	klog_since [MARK] [WORD...]	the messages after it (with every WORD)
# The module
#	sg_load PARAM=VALUE...		(re)loads smtpgate with these parameters
#	sg_unload
# Checks, each printing "# ok - ..." or "# not ok - ..." with the reason
#	expect_tcp VERDICT ROLE SRC DST PORT [CLASS]
#	expect_udp VERDICT ROLE SRC DST PORT
#	expect_pkt VERDICT ROLE SRC DST CLASS SPEC...	(sgcraft, sniffed at
#							the peer)
#	check DESCRIPTION CMD...	ok when CMD succeeds
#	tap_ok / tap_fail / tap_skip DESCRIPTION
#	tap_summary			last line; exits 0, 1 or 4 (nothing ran)
# VERDICT is what smtpgate should do: pass (and log nothing), log (pass
# and log), drop (and log nothing), droplog, or redirect (to Postfix).
#
# Set SMTPGATE_TEST_GW_NETNS=1 to make the gateway a namespace too: the
# topology (not the module) can then be developed on a machine that must
# not forward packets itself.

LAN4=192.0.2.0/24 LAN6=2001:db8:1::/64
DMZ4=198.51.100.0/24 DMZ6=2001:db8:2::/64
OUT4=203.0.113.0/24 OUT6=2001:db8:3::/64
GW_LAN4=192.0.2.1 GW_LAN6=2001:db8:1::1
GW_DMZ4=198.51.100.1 GW_DMZ6=2001:db8:2::1
GW_OUT4=203.0.113.1 GW_OUT6=2001:db8:3::1
CLIENT4=192.0.2.10 CLIENT6=2001:db8:1::10
SPAMBOT4=192.0.2.66 SPAMBOT6=2001:db8:1::66
MAILSRV4=192.0.2.25 MAILSRV6=2001:db8:1::25
SUBMIT4=198.51.100.10 SUBMIT6=2001:db8:2::10
MX4=203.0.113.25 MX6=2001:db8:3::25
PEER4=203.0.113.44 PEER6=2001:db8:3::44

MX_TCP_PORTS="25 465 587 80 2525"
MX_UDP_PORTS="53"

SGCRAFT=${SGCRAFT:-${SMTPGATE_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/userspace/tools/sgcraft}

NET_ID=$(unique_name x)
NET_ID=${NET_ID#x-}
NET_DIR=
NET_GW_NS=
declare -A NET_NS=()		# role -> namespace
NET_PIDS=()			# background processes we started
NET_BRIDGES=()			# bridges made on the gateway
declare -A NET_SYSCTL=()	# gateway sysctls to restore
NET_LOG_ALL_NETNS=		# the initial namespace's, to restore
TAP_OK=0 TAP_FAIL=0 TAP_SKIP=0

# ---- topology ------------------------------------------------------------

# Sleeps SECS without a process: a read that times out on a pipe nobody
# writes to (we hold its write end too).
exec {NAP_FD}<> <(:)
nap() # SECS
{
	read -r -t "$1" -u "$NAP_FD" _
	return 0
}

# Runs "$@" on the gateway.
gw() {
	if [[ -n $NET_GW_NS ]]; then
		ip netns exec "$NET_GW_NS" "$@"
	else
		"$@"
	fi
}

in_ns() # ROLE CMD...
{
	local ns=${NET_NS[$1]:?unknown role $1}
	shift
	ip netns exec "$ns" "$@"
}

net_bg() # ROLE CMD...
{
	local ns=${NET_NS[$1]:?unknown role $1}
	shift
	ip netns exec "$ns" "$@" &
	NET_PIDS+=($!)
}

# Sets a gateway sysctl, remembering its old value once.  Through /proc
# when the gateway is this namespace: every process costs in the guest.
gw_sysctl() # KEY VALUE
{
	local f=/proc/sys/${1//.//} old
	if [[ -n $NET_GW_NS ]]; then
		[[ -v NET_SYSCTL[$1] ]] ||
			NET_SYSCTL[$1]=$(gw sysctl -n "$1" 2>/dev/null)
		gw sysctl -qw "$1=$2"
		return
	fi
	if [[ ! -v NET_SYSCTL[$1] ]]; then
		read -r old <"$f" || return
		NET_SYSCTL[$1]=$old
	fi
	echo "$2" >"$f"
}

# The hosts: ROLE BRIDGE-PREFIX ADDR4 ADDR6 GW4 GW6.
NET_HOSTS=(
	"client sgl $CLIENT4 $CLIENT6 $GW_LAN4 $GW_LAN6"
	"spambot sgl $SPAMBOT4 $SPAMBOT6 $GW_LAN4 $GW_LAN6"
	"mailsrv sgl $MAILSRV4 $MAILSRV6 $GW_LAN4 $GW_LAN6"
	"submit sgd $SUBMIT4 $SUBMIT6 $GW_DMZ4 $GW_DMZ6"
	"mx sgo $MX4 $MX6 $GW_OUT4 $GW_OUT6"
	"peer sgo $PEER4 $PEER6 $GW_OUT4 $GW_OUT6"
)
# The segments: BRIDGE-PREFIX GW4 GW6 (a /24 and a /64).
NET_SEGMENTS=(
	"sgl $GW_LAN4 $GW_LAN6"
	"sgd $GW_DMZ4 $GW_DMZ6"
	"sgo $GW_OUT4 $GW_OUT6"
)

# Run by sh inside a new namespace: no duplicate address detection
# (addresses are usable at once), then the `ip -batch` commands on stdin.
# shellcheck disable=SC2016
NET_NS_INIT='for c in all default $(ls /proc/sys/net/ipv6/conf); do
	echo 0 >/proc/sys/net/ipv6/conf/$c/accept_dad
done 2>/dev/null
exec ip -batch -'

# Builds everything with a handful of `ip -batch` runs: in the TCG guest a
# process costs a good fraction of a second, so one per command would make
# the setup take a minute.
net_setup()
{
	local spec role br a4 a6 g4 g6 veth batch=""

	NET_DIR=$(mktemp -d "/tmp/smtpgate-net.$NET_ID.XXXXXX") || return
	chmod 755 "$NET_DIR"
	klog_start || return
	if [[ -n ${SMTPGATE_TEST_GW_NETNS:-} ]]; then
		NET_GW_NS=sg-gw-$NET_ID
		ip netns add "$NET_GW_NS" || return
		ip netns exec "$NET_GW_NS" sh -c "$NET_NS_INIT" \
			<<<"link set lo up" || return
	fi
	gw_sysctl net.ipv4.ip_forward 1 &&
	gw_sysctl net.ipv6.conf.all.forwarding 1 &&
	gw_sysctl net.ipv6.conf.default.accept_dad 0 || return
	# nf_log only logs for the initial namespace unless this (which
	# exists only there) is set: needed when the gateway is a namespace.
	{ read -r NET_LOG_ALL_NETNS </proc/sys/net/netfilter/nf_log_all_netns &&
	  echo 1 >/proc/sys/net/netfilter/nf_log_all_netns; } 2>/dev/null

	# The namespaces; then on the gateway the bridges and the veths (each
	# host's end straight into its namespace); then each host's side.
	for spec in "${NET_HOSTS[@]}"; do
		read -r role _ <<<"$spec"
		NET_NS[$role]=sg-$role-$NET_ID
		batch+="netns add ${NET_NS[$role]}"$'\n'
	done
	ip -batch - <<<"$batch" || return
	batch=
	for spec in "${NET_SEGMENTS[@]}"; do
		read -r br g4 g6 <<<"$spec"
		NET_BRIDGES+=("$br$NET_ID")
		batch+="link add $br$NET_ID type bridge stp_state 0 forward_delay 0 mcast_snooping 0
addr add $g4/24 dev $br$NET_ID
addr add $g6/64 dev $br$NET_ID nodad
link set $br$NET_ID up
"
	done
	for spec in "${NET_HOSTS[@]}"; do
		read -r role br _ <<<"$spec"
		veth=${role:0:3}$NET_ID
		batch+="link add $veth type veth peer name eth0 netns ${NET_NS[$role]}
link set $veth master $br$NET_ID up
"
	done
	gw ip -batch - <<<"$batch" || return
	for spec in "${NET_HOSTS[@]}"; do
		read -r role br a4 a6 g4 g6 <<<"$spec"
		ip netns exec "${NET_NS[$role]}" sh -c "$NET_NS_INIT" <<-EOF || return
		link set lo up
		addr add $a4/24 dev eth0
		addr add $a6/64 dev eth0 nodad
		link set eth0 up
		route add default via $g4
		route add default via $g6
		EOF
	done
}

# The processes in our namespaces, in bash: -ef compares the namespace
# files' inodes, no ip(8) needed.
net_ns_pids()
{
	local p ns
	for p in /proc/[0-9]*; do
		for ns in "${NET_NS[@]}"; do
			if [[ $p/ns/net -ef /run/netns/$ns ]]; then
				echo "${p#/proc/}"
				break
			fi
		done
	done 2>/dev/null
}

# Does nothing run in namespace NS?
net_ns_empty() # NS
{
	local p
	for p in /proc/[0-9]*; do
		[[ $p/ns/net -ef /run/netns/$1 ]] && return 1
	done 2>/dev/null
	return 0
}

net_ns_quiet()
{
	[[ -z $(net_ns_pids) ]]
}

net_cleanup()
{
	local pid batch=""

	# What we started, then whatever else still runs in our namespaces
	# (daemons that detached from the pids we know): ours too.
	for pid in "${NET_PIDS[@]}" $(net_ns_pids); do
		kill "$pid" 2>/dev/null
	done
	for pid in "${NET_PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	poll_until 5 net_ns_quiet ||
		for pid in $(net_ns_pids); do
			kill -KILL "$pid" 2>/dev/null
		done
	for pid in "${NET_NS[@]}"; do
		batch+="netns del $pid"$'\n'
	done
	[[ -n $batch ]] && ip -force -batch - <<<"$batch" 2>/dev/null
	batch=
	for pid in "${NET_BRIDGES[@]}"; do
		batch+="link del $pid"$'\n'
	done
	[[ -n $batch ]] && gw ip -force -batch - <<<"$batch" 2>/dev/null
	for pid in "${!NET_SYSCTL[@]}"; do
		[[ -n ${NET_SYSCTL[$pid]} ]] &&
			gw_sysctl "$pid" "${NET_SYSCTL[$pid]}" 2>/dev/null
	done
	[[ -n $NET_LOG_ALL_NETNS ]] &&
		echo "$NET_LOG_ALL_NETNS" >/proc/sys/net/netfilter/nf_log_all_netns
	[[ -n $NET_GW_NS ]] && ip netns del "$NET_GW_NS" 2>/dev/null
	[[ -n $NET_DIR ]] && rm -rf "$NET_DIR"
	NET_NS=() NET_PIDS=() NET_BRIDGES=() NET_SYSCTL=() NET_DIR=""
	NET_LOG_ALL_NETNS=""
	return 0
}

# Is something listening on PROTO (tcp|udp) PORT in ROLE's namespace, on
# at least COUNT sockets?
net_listening() # ROLE PROTO PORT [COUNT]
{
	local opt=-Hltn
	[[ $2 == udp ]] && opt=-Hlun
	(($(in_ns "$1" ss "$opt" "sport = :$3" | wc -l) >= ${4:-1}))
}

# A logging listener in ROLE: each TCP connection (or UDP datagram) to PORT
# appends "tcp PORT PEER" to LOG and gets a line naming NAME back.  IPv4
# and IPv6 have sockets of their own, so PEER is what the kernel saw.
net_listen() # ROLE PROTO PORT LOG NAME
{
	local role=$1 proto=$2 port=$3 log=$4 name=$5 fam opt kind=LISTEN
	local consume=

	# A datagram left unread when the shell exits resets the socketpair
	# to socat and loses the reply: read it first.  A TCP client here
	# sends nothing, and an SMTP server speaks first.
	[[ $proto == udp ]] && kind=RECVFROM consume="read -r _; "
	for fam in 4 6; do
		opt=
		[[ $fam == 6 ]] && opt=,ipv6only=1
		# -t 5: a client that closes its side first must still get
		# the banner the shell writes, however slow the guest is.
		net_bg "$role" socat -lf /dev/null -t 5 \
			"${proto^^}$fam-$kind:$port,reuseaddr,fork$opt" \
			SYSTEM:"${consume}echo $proto $port \$SOCAT_PEERADDR >>$log; echo 220 $name port $port 2>/dev/null"
	done
}

# The outside MX: logging listeners on every port in MX_TCP_PORTS and
# MX_UDP_PORTS, logging to $NET_DIR/mx.log.
net_mx_start()
{
	local port

	: >"$NET_DIR/mx.log"
	for port in $MX_TCP_PORTS; do
		net_listen mx tcp "$port" "$NET_DIR/mx.log" \
			"mx.example.org ESMTP outside-mx"
	done
	for port in $MX_UDP_PORTS; do
		net_listen mx udp "$port" "$NET_DIR/mx.log" "mx.example.org"
	done
	for port in $MX_TCP_PORTS; do
		poll_until 20 net_listening mx tcp "$port" 2 || {
			echo "outside MX: nothing listens on tcp $port" >&2
			return 1
		}
	done
	for port in $MX_UDP_PORTS; do
		poll_until 20 net_listening mx udp "$port" 2 || {
			echo "outside MX: nothing listens on udp $port" >&2
			return 1
		}
	done
}

# An IPv6 address written out in full, as nf_log (%pI6) and socat print it.
net_expand6() # ADDR
{
	local a=$1 groups=() hg=() tg=() g out="" i

	if [[ $a == *::* ]]; then
		IFS=: read -r -a hg <<<"${a%%::*}"
		IFS=: read -r -a tg <<<"${a#*::}"
		groups=("${hg[@]}")
		for ((i = ${#hg[@]} + ${#tg[@]}; i < 8; i++)); do
			groups+=(0)
		done
		groups+=("${tg[@]}")
	else
		IFS=: read -r -a groups <<<"$a"
	fi
	for g in "${groups[@]}"; do
		out+=$(printf '%04x:' "0x${g:-0}")
	done
	echo "${out%:}"
}

# How socat's listeners log a peer: IPv6 in full, in brackets.
net_sockaddr() # ADDR
{
	if [[ $1 == *:* ]]; then
		echo "[$(net_expand6 "$1")]"
	else
		echo "$1"
	fi
}

# How nf_log prints an address.
net_logaddr() # ADDR
{
	if [[ $1 == *:* ]]; then
		net_expand6 "$1"
	else
		echo "$1"
	fi
}

# Is LINE a line of FILE?  In bash: every process costs in the TCG guest.
file_has_line() # FILE LINE
{
	local l
	while IFS= read -r l; do
		[[ $l == "$2" ]] && return 0
	done <"$1"
	return 1
}

# Did a connection (datagram) from ADDR reach the MX's PORT?  Polls a
# little: the listener's child writes the log asynchronously.
net_arrived() # PORT ADDR [PROTO] [SECS]
{
	poll_until "${4:-3}" file_has_line "$NET_DIR/mx.log" \
		"${3:-tcp} $1 $(net_sockaddr "$2")"
}

net_socat_addr() # PROTO ADDR PORT
{
	if [[ $2 == *:* ]]; then
		echo "${1}6:[$2]:$3"
	else
		echo "${1}4:$2:$3"
	fi
}

# Connects from ROLE to ADDR PORT, closes its sending side at once and
# prints what the server sends until it closes too (an SMTP server sends
# its banner first); fails when the connection cannot be made within SECS
# (default 2).
net_tcp() # ROLE ADDR PORT [SECS]
{
	local secs=${4:-2}
	in_ns "$1" socat -t 15 -T 15 - \
		"$(net_socat_addr TCP "$2" "$3"),connect-timeout=$secs" </dev/null
}

# Does the server at ADDR PORT greet ROLE with a banner containing TEXT?
net_banner() # ROLE ADDR PORT TEXT
{
	local out
	out=$(net_tcp "$1" "$2" "$3") || return
	grep -qF "$4" <<<"$out" || {
		echo "banner from $2 port $3 lacks '$4': ${out:-nothing}"
		return 1
	}
}

# Sends one datagram from ROLE to ADDR PORT and prints the reply, waiting
# at most SECS (2) for it.
net_udp() # ROLE ADDR PORT [SECS]
{
	local secs=${4:-2}
	echo "query from $1" | in_ns "$1" socat -t "$secs" -T "$secs" - \
		"$(net_socat_addr UDP "$2" "$3")"
}

# ---- the kernel log ------------------------------------------------------
#
# dmesg costs half a second in the TCG guest, and a check needs two: a
# follower copies /dev/kmsg into $NET_DIR/kmsg instead, and a mark is a
# line count of that copy.

KLOG_MARK=0

klog_start()
{
	cat /dev/kmsg >"$NET_DIR/kmsg" &
	NET_PIDS+=($!)
	poll_until 5 test -s "$NET_DIR/kmsg"
}

# Sets KLOG_MARK to the end of the log so far.
klog_mark()
{
	local lines
	mapfile -t lines <"$NET_DIR/kmsg"
	KLOG_MARK=${#lines[@]}
}

# The messages after MARK (default KLOG_MARK) that contain every WORD,
# without kmsg's "level,seq,time,flags;" prefix; continuation lines (which
# start with a space) are left out.  Fails when there is none.
klog_since() # [MARK] [WORD...]
{
	local lines line w found=1
	mapfile -t -s "${1:-$KLOG_MARK}" lines <"$NET_DIR/kmsg"
	shift
	for line in "${lines[@]}"; do
		[[ $line == [0-9]*\;* ]] || continue
		line=${line#*;}
		for w in "$@"; do
			[[ $line == *"$w"* ]] || continue 2
		done
		echo "$line"
		found=0
	done
	return $found
}

# ---- the module ----------------------------------------------------------

SG_LOADED_WITH=
SG_PORTS=25,465

sg_loaded()
{
	[[ -d /sys/module/smtpgate ]]
}

sg_unload()
{
	sg_loaded || return 0
	# A namespace's rules hold the module until its teardown, which the
	# kernel runs in a workqueue after the last process left: wait for it.
	poll_until 30 rmmod smtpgate 2>/dev/null || rmmod smtpgate
}

# insmod does not resolve dependencies: load them once.
sg_deps()
{
	modprobe -a x_tables nf_conntrack nf_nat nf_log_syslog nf_defrag_ipv4 \
		nf_defrag_ipv6
}

# Loads smtpgate with these parameters, replacing a loaded one.  On
# failure, says why (insmod's error and the module's kernel messages).
sg_load() # PARAM=VALUE...
{
	local mark out

	sg_unload || return
	klog_mark
	mark=$KLOG_MARK
	if ! out=$(insmod "$SMTPGATE_KO" "$@" 2>&1); then
		echo "# insmod smtpgate $*: $out"
		sleep 0.2
		klog_since "$mark" | sed 's/^/#   kernel: /'
		return 1
	fi
	SG_LOADED_WITH="$*"
	# sgcraft sniff classifies with the same watched ports.
	SG_PORTS=25,465
	for out in "$@"; do
		[[ $out == ports=* ]] && SG_PORTS=${out#ports=}
	done
	echo "# smtpgate loaded: $*"
}

# ---- checks --------------------------------------------------------------

# Each result says how long it took since the previous one.
TAP_T0=${EPOCHREALTIME/[.,]/}
TAP_TIME=
tap_time()
{
	local now=${EPOCHREALTIME/[.,]/} d
	d=$(((now - TAP_T0) / 100000))
	TAP_T0=$now
	TAP_TIME="$((d / 10)).$((d % 10)) s"
}

tap_ok()
{
	TAP_OK=$((TAP_OK + 1))
	tap_time
	echo "# ok - $* ($TAP_TIME)"
}

tap_fail()
{
	TAP_FAIL=$((TAP_FAIL + 1))
	tap_time
	echo "# not ok - $* ($TAP_TIME)"
}

tap_skip()
{
	TAP_SKIP=$((TAP_SKIP + 1))
	echo "# ok - $* # SKIP"
}

# The last line of a test.  Exits with its ksft status.
tap_summary()
{
	echo "# $TAP_OK ok, $TAP_FAIL not ok, $TAP_SKIP skipped"
	((TAP_FAIL == 0)) || exit "$KSFT_FAIL"
	((TAP_OK > 0)) || exit "$KSFT_SKIP"
	exit "$KSFT_PASS"
}

# ok when CMD succeeds; CMD's output is shown when it does not.
check() # DESCRIPTION CMD...
{
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then
		tap_ok "$desc"
	else
		tap_fail "$desc"
		[[ -n $out ]] && echo "$out" | sed 's/^/#   /'
	fi
}

# smtpgate's nf_log lines since MARK, for CLASS from SRC (any when empty).
sg_log_lines() # MARK [CLASS] [SRC]
{
	local src=
	[[ -n ${3:-} ]] && src="SRC=$(net_logaddr "$3") "
	klog_since "$1" "smtpgate: ${2:-}" " IN=" "$src"
}

# Checks the kernel log since MARK against VERDICT for CLASS from SRC;
# prints what is wrong, if anything.
sg_log_verdict() # MARK VERDICT CLASS SRC
{
	local lines
	case $2 in
	log | droplog)
		poll_until 2 sg_log_lines "$1" "$3 " "$4" >/dev/null ||
			echo "no 'smtpgate: $3' line for SRC=$(net_logaddr "$4") in the kernel log"
		;;
	*)
		# Another class's or source's line is as wrong as one for us.
		if lines=$(sg_log_lines "$1" "" ""); then
			echo "unexpected smtpgate log line: $(head -n 1 <<<"$lines")"
		fi
		;;
	esac
}

# One TCP connection from ROLE (whose address is SRC) to DST PORT, and
# what smtpgate should do with it.  pass/log: the MX answers and logs the
# connection; drop/droplog: the connection fails and the MX never sees it;
# redirect: the submission server answers and the MX never sees it.
expect_tcp() # VERDICT ROLE SRC DST PORT [CLASS]
{
	local verdict=$1 role=$2 src=$3 dst=$4 port=$5 class=${6:-smtp4}
	local desc="$verdict: $role $src -> $dst tcp $port" mark out rc why=()

	[[ $dst == *:* && -z ${6:-} ]] && class=smtp6
	klog_mark
	mark=$KLOG_MARK
	: >"$NET_DIR/mx.log"
	out=$(net_tcp "$role" "$dst" "$port" 2>&1)
	rc=$?
	case $verdict in
	pass | log)
		[[ $rc == 0 && $out == *"outside-mx port $port"* ]] ||
			why+=("no banner from the MX (socat: ${out:-exit $rc})")
		net_arrived "$port" "$src" ||
			why+=("the MX saw no connection from $src")
		;;
	drop | droplog)
		[[ $rc != 0 ]] || why+=("connected: ${out//$'\n'/ }")
		! net_arrived "$port" "$src" tcp 0 ||
			why+=("the MX saw a connection from $src")
		;;
	redirect)
		[[ $rc == 0 && $out == *smtpgate-* ]] ||
			why+=("no banner from the submission server (got: ${out:-exit $rc})")
		! net_arrived "$port" "$src" tcp 0 ||
			why+=("the MX saw a connection from $src")
		;;
	esac
	out=$(sg_log_verdict "$mark" "$verdict" "$class" "$src")
	[[ -n $out ]] && why+=("$out")
	verdict_report "$desc" "${why[@]}"
}

# One UDP datagram from ROLE to DST PORT: pass means the MX got it and
# answered; drop, that it never arrived.
expect_udp() # VERDICT ROLE SRC DST PORT
{
	local verdict=$1 role=$2 src=$3 dst=$4 port=$5
	local desc="$verdict: $role $src -> $dst udp $port" mark out rc why=()

	klog_mark
	mark=$KLOG_MARK
	: >"$NET_DIR/mx.log"
	out=$(net_udp "$role" "$dst" "$port" 2>&1)
	rc=$?
	case $verdict in
	pass)
		[[ $rc == 0 && $out == *"port $port"* ]] ||
			why+=("no reply from the MX (socat: ${out:-exit $rc})")
		net_arrived "$port" "$src" udp ||
			why+=("the MX saw no datagram from $src")
		;;
	drop)
		! net_arrived "$port" "$src" udp 0 ||
			why+=("the MX saw a datagram from $src")
		;;
	esac
	out=$(sg_log_verdict "$mark" "$verdict" "" "$src")
	[[ -n $out ]] && why+=("$out")
	verdict_report "$desc" "${why[@]}"
}

verdict_report() # DESCRIPTION [REASON...]
{
	local desc=$1 r
	shift
	if (($# == 0)); then
		tap_ok "$desc"
		return 0
	fi
	tap_fail "$desc"
	for r in "$@"; do
		echo "#   $r"
	done
	return 1
}

# sgcraft sniff in the background in ROLE's namespace, waiting (at most
# 30 s) for one packet on its eth0 that matches FILTER; returns once it
# listens.
SNIFF_PID="" SNIFF_OUT=""
sniff_start() # ROLE FILTER...
{
	local role=$1
	shift
	SNIFF_OUT=$NET_DIR/sniff.$role
	: >"$SNIFF_OUT.err"
	in_ns "$role" "$SGCRAFT" sniff -i eth0 -t 30000 -c 1 -p "$SG_PORTS" \
		"$@" >"$SNIFF_OUT" 2>"$SNIFF_OUT.err" &
	SNIFF_PID=$!
	poll_until 10 sniff_listening || {
		echo "sgcraft sniff did not start: $(cat "$SNIFF_OUT.err")"
		return 1
	}
}

sniff_listening()
{
	local l
	while IFS= read -r l; do
		[[ $l == *listening* ]] && return 0
	done <"$SNIFF_OUT.err"
	return 1
}

sniff_done()
{
	! kill -0 "$SNIFF_PID" 2>/dev/null
}

# Did the sniffer see its packet within TENTHS tenths of a second?  Stops
# it if not.  The clock starts after the packet was sent, so a slow guest
# makes a check slower, not wrong.  Wall-clock time: a loop of sleep(1)
# processes would take many times longer than it counts in the guest.
sniff_wait() # TENTHS
{
	local end=$((${EPOCHREALTIME/[.,]/} + $1 * 100000))
	until sniff_done; do
		((${EPOCHREALTIME/[.,]/} < end)) || break
		nap 0.05
	done
	if ! sniff_done; then
		kill "$SNIFF_PID" 2>/dev/null
		wait "$SNIFF_PID" 2>/dev/null
		return 1
	fi
	wait "$SNIFF_PID"
}

# A crafted packet from ROLE (outer source SRC) to DST, sniffed at the
# peer.  pass/log: it arrives (as CLASS: sgcraft sniff classifies with
# smtpgate's own classifier); drop/droplog: nothing from SRC arrives.
expect_pkt() # VERDICT ROLE SRC DST CLASS SPEC...
{
	local verdict=$1 role=$2 src=$3 dst=$4 class=$5 mark out rc
	local desc="$verdict: $class from $role: ${*:6}" why=() filter
	shift 5

	filter=(src="$src" dst="$dst")
	[[ $verdict == pass || $verdict == log ]] && filter+=(class="$class")
	sniff_start peer "${filter[@]}" || {
		verdict_report "$desc" "sniffer: $(cat "$SNIFF_OUT.err")"
		return
	}
	klog_mark
	mark=$KLOG_MARK
	out=$(in_ns "$role" "$SGCRAFT" send "$@" 2>&1) ||
		why+=("sgcraft send failed: $out")
	# A packet that passes is there at once; a second and a half is
	# plenty to tell that a dropped one did not come.  Once a droplog
	# line is there, the verdict was given: a packet let through would
	# already be at the peer, the sniffer needs a moment to say so.
	case $verdict in
	pass | log) sniff_wait 100 ;;
	droplog)
		poll_until 5 sg_log_lines "$mark" "$class " "$src" >/dev/null
		sniff_wait 8
		;;
	*) sniff_wait 15 ;;
	esac
	rc=$?
	case $verdict in
	pass | log)
		[[ $rc == 0 ]] || why+=("no $class packet from $src arrived at the peer")
		;;
	*)
		[[ $rc != 0 ]] || why+=("arrived at the peer: $(head -n 1 "$SNIFF_OUT")")
		;;
	esac
	out=$(sg_log_verdict "$mark" "$verdict" "$class" "$src")
	[[ -n $out ]] && why+=("$out")
	verdict_report "$desc" "${why[@]}"
}
