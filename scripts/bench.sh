#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`: measures and rewrites Documentation/performance.md, each
# section with the command that produced it.  Speed targets live here,
# never in timed tests.
#
#   classifier  callgrind instructions per packet (userspace, exact)
#   inspection  smtpgated's SMTP scorer: sessions per second, bytes a flow
#   store       smtpgated's state store at a million bans on the host's
#               disk: a decision batch the old way (whole file) and the
#               journal's, compaction, load (about a minute)
#   forwarding  tests/bench/forward.sh in the QEMU/TCG VM: smtpgate
#               against no filter, ipset and nft; ban load times; memory
#               per host and per ban (about 15 minutes)
#   daemon      tests/bench/daemon.sh in the VM: smtpgated's restore and
#               event rates (about 2 minutes)
#
# SG_BENCH_SKIP_VM=1 redoes the forwarding sections from the last run's
# results in .build/bench instead of booting the VM.
set -eu
cd "$(dirname "$0")/.."
out=Documentation/performance.md
BUILD=${BUILD:-$PWD/.build}
VM_KVER=${VM_KVER:-$(ls -1v /lib/modules 2>/dev/null | grep '^6\.1\.' | tail -n 1)}
vmout=$BUILD/bench
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

# The forwarding sections: a fresh run, or the last one's (skip, failure).
forwarding() {
	if [ "${SG_BENCH_SKIP_VM:-0}" != 1 ]; then
		make -s kernels ALL_KVERS="$VM_KVER" >&2
		make -s -C userspace bench/sgflood bench/sgload >&2
		rm -rf "$vmout" && mkdir -p "$vmout"
		if ! scripts/vm-run.sh -k "$VM_KVER" -t 2400 -o "$vmout" \
			tests/bench/forward.sh >&2; then
			echo "bench: the forwarding benchmark failed; see $vmout" >&2
			return 1
		fi
	fi
	tests/bench/forward-report.sh "$vmout"
}

# smtpgated: bans restored per second at start, events handled per second.
daemon_bench() {
	local dir=$BUILD/bench-daemon

	if [ "${SG_BENCH_SKIP_VM:-0}" != 1 ]; then
		make -s kernels ALL_KVERS="$VM_KVER" >&2
		make -s -C userspace >&2
		rm -rf "$dir" && mkdir -p "$dir"
		if ! scripts/vm-run.sh -k "$VM_KVER" -t 1200 -o "$dir" \
			tests/bench/daemon.sh >&2; then
			echo "bench: the daemon benchmark failed; see $dir" >&2
			return 1
		fi
	fi
	cat "$dir/daemon.md"
}

cpu=$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)
{
	echo "# smtpgate performance"
	echo
	echo "Written by \`make bench\` (scripts/bench.sh) on $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "on $(nproc) x ${cpu:-unknown CPU}."
	echo
	echo "## Classifier: instructions per packet"
	echo
	echo "Command: \`make -C userspace bench-classify\`.  \`valgrind --tool=callgrind\`"
	echo "counts the instructions of \`sg_classify()\` alone (the same"
	echo "kmod/classify.c the module runs), per packet, for each kind of"
	echo "packet.  Instruction counts are repeatable, unlike timings."
	echo "Goals: non-SMTP <= 40, SMTP <= 300, Teredo with auth+origin <= 500."
	echo
	make -s -C userspace bench-classify
	echo
	echo "## smtpgated: SMTP inspection, sessions per second and memory per flow"
	echo
	echo "Command: \`make -C userspace bench-inspect\` (on the host, one core;"
	echo "timings, so they move with the host's load)."
	echo
	make -s -C userspace bench-inspect
	echo
	echo "## smtpgated: the state store at a million bans"
	echo
	echo "Command: \`make -C userspace bench-store\` (bench/store_bench -n 1000000"
	echo ".build/bench-store, then bench/store_old: on the host's disk, one core;"
	echo "each time includes its fsyncs, so the figures move with the disk and the"
	echo "page cache).  Issue #11, item 6: every decision batch used to rewrite the"
	echo "whole state file; now it appends one record to the journal"
	echo "(smtpgated(8), THE STATE FILES)."
	echo
	make -s -C userspace bench-store
	echo
	forwarding
	echo
	daemon_bench
} >"$tmp"
mv "$tmp" "$out"
trap - EXIT
cat "$out"
