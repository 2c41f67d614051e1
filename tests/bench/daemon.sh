#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# shellcheck source-path=SCRIPTDIR/../vm disable=SC2317 # cleanup: by trap
#
# smtpgated benchmark, run in the VM by `make bench` (scripts/bench.sh):
#   restore   bans restored per second at start: a state file of N bans
#             (1h left each), the kernel empty, smtpgated started; the time
#             is the daemon's own ("restored N bans from ... in MS ms"),
#             the time to READY=1 is shown too
#   events    ban events handled per second: `smtpgatectl load` of N bans
#             while smtpgated runs, timed until the N are in its state
#             file (event received, decided, persisted); overruns (events
#             lost, resynchronised from a dump) are counted
# Leaves the markdown section in $SG_OUT/daemon.md (scripts/bench.sh
# prints it on the host) and the raw figures in $SG_OUT/daemon.raw.  Not a
# test of speed: it checks only that every ban arrived.

SMTPGATE_TEST_GW_NETNS=1
VM_DIR=$(cd "$(dirname "$0")/../vm" && pwd)
. "$VM_DIR/lib.sh"
. "$VM_DIR/net.sh"
. "$VM_DIR/ctl-lib.sh"
. "$VM_DIR/daemon/lib.sh"

RESTORE_NS=${SG_BENCH_RESTORE:-"10000 50000"}
EVENT_NS=${SG_BENCH_EVENTS:-"2000 10000"}
RAW=$SG_OUT/daemon.raw
ROWS_R='' ROWS_E=''

cleanup() {
	d_cleanup
	net_cleanup
	sg_unload
}

now_ms() {
	echo $((${EPOCHREALTIME/[.,]/} / 1000))
}

# A state file of N bans of 10.B.C.D/32 with an hour left (version 1,
# as an upgrade finds it; the journal of the last run goes).
state_file() # N
{
	rm -f "$D_STATE/smtpgated.journal"
	awk -v n="$1" -v e=$((EPOCHSECONDS + 3600)) 'BEGIN {
		print "smtpgated-state 1"
		for (i = 0; i < n; i++)
			printf "ban 10.%d.%d.%d/32 smtp %d 0 bench\n",
				10 + int(i / 65536), int(i / 256) % 256, i % 256, e
		printf "end %d 0\n", n }' >"$D_STATE/smtpgated.state"
}

bench_restore() # N
{
	local n=$1 t0 ready ms
	d_kill TERM
	ctl flush >/dev/null || return
	state_file "$n"
	: >"$D_LOG.restore"
	t0=$(now_ms)
	d_start || return
	ready=$(($(now_ms) - t0))
	ms=$(grep -oE "^smtpgated: restored $n bans from .* in [0-9]+ ms" "$D_LOG" |
		tail -n 1 | grep -oE "[0-9]+ ms$" | cut -d' ' -f1)
	[[ -n $ms ]] || { echo "no 'restored $n bans' line"; return 1; }
	test "$(ctl -j bans | jq length)" = "$n" || return
	echo "restore n=$n ms=$ms ready_ms=$ready" >>"$RAW"
	ROWS_R+="| $n | $ms | $((n * 1000 / (ms > 0 ? ms : 1))) | $ready |"$'\n'
}

# Lines of the saved state matching ERE, 0 while there is none.
persisted() # ERE
{
	local c
	c=$(stored_count "$1")
	echo "${c:-0}"
}

bench_events() # N ROUND
{
	local n=$1 o=$((100 + $2)) t0 ms lost0 lost out load
	awk -v n="$n" -v o="$o" 'BEGIN { for (i = 0; i < n; i++)
		printf "10.%d.%d.%d 1h smtp ev\n", o, int(i / 256) % 256, i % 256 }' \
		>"$NET_DIR/ev$o"
	lost0=$(grep -c 'events lost' "$D_LOG")
	t0=$(now_ms)
	out=$(ctl load "$NET_DIR/ev$o") || return
	poll_until 300 more_than $((n - 1)) persisted "^ban 10\.$o\." || return
	ms=$(($(now_ms) - t0))
	load=$(grep -oE 'in [0-9.]+ s$' <<<"$out" | tr -dc '0-9')
	[[ -n $load ]] && load=$((10#$load))
	lost=$(($(grep -c 'events lost' "$D_LOG") - lost0))
	echo "events n=$n ms=$ms load_ms=${load:-?} overruns=$lost" >>"$RAW"
	ROWS_E+="| $n | $ms | ${load:-?} | $((n * 1000 / (ms > 0 ? ms : 1))) | $lost |"$'\n'
}

report() {
	cat <<MD
## smtpgated: bans restored at start, events handled

Command: \`make bench\` (tests/bench/daemon.sh in the QEMU/TCG guest,
2 vCPUs, on the host above: absolute figures are an emulator's, far below
real hardware; compare them with each other).

Bans restored at start: a state file of N bans, the kernel empty (as after
a reboot), smtpgated started; its own count of the restore, and the time
until it told systemd READY=1 (config, policy push, restore, subscribe).

| bans | restore (ms) | bans/s | start to READY=1 (ms) |
|-----:|-------------:|-------:|----------------------:|
${ROWS_R}
Events handled: \`smtpgatectl load\` of N bans while smtpgated runs, timed
from the load's start until all N are in its state file (each ban event
received, recorded, the store written).  Overruns: times its event socket
overflowed and it resynchronised from a dump instead (counted, not lost).

| events | time (ms) | of which \`smtpgatectl load\` (ms) | events/s | overruns |
|-------:|----------:|-------------------------------:|---------:|---------:|
${ROWS_E}
MD
}

trap cleanup EXIT
require_cmd jq socat
[[ -x $SGD ]] || ksft_skip "$SGD not built"
rm -f "$RAW" "$SG_OUT/daemon.md"
check "module loaded without parameters" ctl_load_module
step "network" net_setup || ksft_fail "no network"
step "the notify socket" d_init
d_conf "$D_CONF" metrics_interval=60s
step "smtpgated starts" d_start
r=0
for n in $RESTORE_NS; do
	step "restore: $n bans" bench_restore "$n"
done
d_kill TERM
ctl flush >/dev/null
rm -f "$D_STATE/smtpgated.state" "$D_STATE/smtpgated.journal"
step "restart, empty" d_start
for n in $EVENT_NS; do
	r=$((r + 1))
	step "events: $n ban events persisted" bench_events "$n" "$r"
done
step "SIGTERM" d_kill TERM
report >"$SG_OUT/daemon.md"
sed 's/^/# /' "$SG_OUT/daemon.md"
tap_summary
