#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# shellcheck source-path=SCRIPTDIR disable=SC2317 # cleanup: indirect
#
# What a namespace makes smtpgate allocate is charged to a memory cgroup
# (issue 10, defect 5): root in `unshare -Urn` reaches the module through
# the SMTPGATE target, and the host table its first rule creates, and the
# hosts packets add to it, must count against that root's cgroup, so a
# small memory.max caps them.
#
# - A host table too big for the caller's memory cgroup is refused (policy
#   set max_hosts=16777216 from a 16 MiB cgroup: 64 MiB of buckets), and
#   the old policy stays.
# - Root in 8 user namespaces of one cgroup, an SMTPGATE rule in each, costs
#   that cgroup the 8 host tables (256 KiB of buckets each at the default
#   cap) more than 8 namespaces with an ACCEPT rule cost theirs.
# - A namespace gets a smtpgate state (tables, counters, the default
#   policy) on its first use only, a request or a rule: 16 new namespaces
#   add none (debugfs smtpgate/namespaces counts them), a request in one
#   adds one, which goes with its namespace.

SMTPGATE_TEST_GW_NETNS=1
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net.sh"
. "$(dirname "$0")/ctl-lib.sh"

# libxt_SMTPGATE from the build tree, as in xt.sh.
XT_SO=$SMTPGATE_REPO/userspace/xt/libxt_SMTPGATE.so
for XT_SYSDIR in /usr/lib/x86_64-linux-gnu/xtables /usr/lib/xtables \
	/usr/lib64/xtables /usr/libexec/xtables; do
	[[ -d $XT_SYSDIR ]] && break
done
export XTABLES_LIBDIR=${XT_SO%/*}:$XT_SYSDIR

CG_MNT='' CG='' CG_ROOT='' HOLDERS=() LAZY_NS=()
NS_PER_CG=8

cleanup() {
	local c
	[[ ${#HOLDERS[@]} -gt 0 ]] && kill "${HOLDERS[@]}" 2>/dev/null
	[[ ${#HOLDERS[@]} -gt 0 ]] && wait "${HOLDERS[@]}" 2>/dev/null
	for c in "$CG" "$CG-accept" "$CG-smtpgate"; do
		[[ -n $CG && -d $c ]] && rmdir "$c" 2>/dev/null
	done
	[[ -n $CG_MNT ]] && umount "$CG_MNT" 2>/dev/null
	for c in "${LAZY_NS[@]}"; do
		ip netns del "$c" 2>/dev/null
	done
	net_cleanup
	sg_unload
}

cg_setup() {
	CG_ROOT=$(findmnt -n -o TARGET -t cgroup2 | head -n 1)
	if [[ -z $CG_ROOT ]]; then
		CG_MNT=$NET_DIR/cgroup
		mkdir -p "$CG_MNT" && mount -t cgroup2 none "$CG_MNT" || return
		CG_ROOT=$CG_MNT
	fi
	grep -qw memory "$CG_ROOT/cgroup.controllers" ||
		ksft_skip "no memory controller"
	echo +memory >"$CG_ROOT/cgroup.subtree_control" || return
	CG=$CG_ROOT/$(unique_name sg-memcg)
	mkdir "$CG" "$CG-accept" "$CG-smtpgate" && echo 16M >"$CG/memory.max"
}

# Runs CMD in the memory cgroup DIR.
in_cg() # DIR CMD...
{
	local dir=$1
	shift
	(echo "$BASHPID" >"$dir/cgroup.procs" && exec "$@")
}

# A user namespace with a network namespace and one iptables rule jumping
# to TARGET, held until the test ends; ready when the file READY exists.
userns_holder() # DIR READY TARGET...
{
	local dir=$1 ready=$2
	shift 2
	# One process from the fork on (no subshell left waiting on another),
	# so that $! is the holder itself and killing it ends the namespace.
	# shellcheck disable=SC2016 # for the inner shell
	(echo "$BASHPID" >"$dir/cgroup.procs" && exec unshare -Urn sh -c '
		ready=$1
		shift
		iptables-legacy -w -A OUTPUT -p tcp --dport 25 "$@" || exit 1
		touch "$ready"
		exec sleep 1000' holder "$ready" "$@") &
	HOLDERS+=($!)
}

all_ready() # PREFIX N
{
	local i
	for ((i = 0; i < $2; i++)); do
		[[ -e $1.$i ]] || return 1
	done
}

test_policy_cap() {
	echo "# -- a host table bigger than the caller's memory cgroup"
	local err rc=0
	err=$(in_cg "$CG" "$CTL" -n "$NET_GW_NS" policy set max_hosts=16777216 2>&1) ||
		rc=$?
	# Refused, not OOM-killed: exit 1 with a message.
	if [[ $rc == 1 && -n $err ]]; then
		tap_ok "policy set max_hosts=16777216 from a 16 MiB memory cgroup: ENOMEM"
	else
		tap_fail "policy set max_hosts=16777216 from a 16 MiB memory cgroup: ENOMEM"
	fi
	echo "#   smtpgatectl: exit $rc, said: ${err:-nothing}"
	check "the old policy stays (max_hosts 64)" \
		sh -c "$CTL -n $NET_GW_NS -j policy | jq -e '.max_hosts == 64' >/dev/null"
	check "max_hosts=4096 from the same cgroup: accepted" \
		in_cg "$CG" "$CTL" -n "$NET_GW_NS" policy set max_hosts=4096
}

test_userns() {
	echo "# -- root in user namespaces: SMTPGATE rules' tables are charged"
	local i acc sg
	# Root in a user namespace cannot load modules.
	modprobe iptable_filter ||
		{ tap_fail "modprobe iptable_filter"; return; }
	# Page cache of iptables and its extensions charged to neither.
	unshare -Urn iptables-legacy -w -A OUTPUT -p tcp --dport 25 -j SMTPGATE ||
		{ tap_fail "iptables -j SMTPGATE in unshare -Urn"; return; }
	for ((i = 0; i < NS_PER_CG; i++)); do
		userns_holder "$CG-accept" "$NET_DIR/accept.$i" -j ACCEPT
		userns_holder "$CG-smtpgate" "$NET_DIR/smtpgate.$i" -j SMTPGATE
	done
	if ! poll_until 60 all_ready "$NET_DIR/accept" "$NS_PER_CG" ||
	   ! poll_until 60 all_ready "$NET_DIR/smtpgate" "$NS_PER_CG"; then
		tap_fail "$NS_PER_CG user namespaces with a rule each"
		return
	fi
	acc=$(cat "$CG-accept/memory.current")
	sg=$(cat "$CG-smtpgate/memory.current")
	echo "# memory.current: $NS_PER_CG namespaces with an ACCEPT rule $acc, with an SMTPGATE rule $sg"
	check "$NS_PER_CG SMTPGATE rules cost their cgroup >= 200 KiB each more" \
		test $((sg - acc)) -ge $((NS_PER_CG * 200 * 1024))
	kill "${HOLDERS[@]}" 2>/dev/null
	[[ ${#HOLDERS[@]} -gt 0 ]] && wait "${HOLDERS[@]}" 2>/dev/null
	HOLDERS=()
}

# The namespaces with a smtpgate state, as the module counts them.
sg_states() {
	cat /sys/kernel/debug/smtpgate/namespaces
}

test_lazy() {
	echo "# -- namespaces that never use smtpgate cost it nothing"
	local n0 i ns=() one
	mountpoint -q /sys/kernel/debug ||
		mount -t debugfs debugfs /sys/kernel/debug
	n0=$(sg_states) || { tap_fail "debugfs smtpgate/namespaces"; return; }
	for ((i = 0; i < 16; i++)); do
		ns+=("$(unique_name sg-lazy)")
		ip netns add "${ns[i]}" || break
	done
	LAZY_NS=("${ns[@]}")
	check "16 new namespaces: still $n0 with a state" \
		test "$(sg_states)" = "$n0"
	one=${ns[0]}
	check "a request in one of them gives it a state" \
		request_makes_state "$one" $((n0 + 1))
	for i in "${ns[@]}"; do
		ip netns del "$i"
	done
	LAZY_NS=()
	# Namespaces go in the background (cleanup_net).
	check "its state goes with the namespace" \
		poll_until 30 test_states "$n0"
}

test_states() # N
{
	test "$(sg_states)" = "$1"
}

request_makes_state() # NETNS N
{
	"$CTL" -n "$1" stats >/dev/null && test_states "$2"
}

[ "$(id -u)" = 0 ] || ksft_skip "needs root (run it with scripts/vm-run.sh)"
[ -f "${SMTPGATE_KO:-}" ] || ksft_skip "no module (SMTPGATE_KO=${SMTPGATE_KO:-})"
require_cmd ip jq insmod rmmod modprobe unshare findmnt iptables-legacy sleep
[ -x "$CTL" ] || ksft_skip "$CTL not built (make userspace)"
trap cleanup EXIT
ctl_load_module || ksft_fail "cannot load smtpgate"
net_setup || ksft_fail "cannot set up the namespaces"
cg_setup || ksft_fail "cannot make a memory cgroup"
ctl policy set internal="$LAN4" max_hosts=64 ||
	ksft_fail "smtpgatectl policy set refused the gateway's policy"

test_lazy
test_policy_cap
test_userns
tap_summary
