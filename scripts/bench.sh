#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`: measures and rewrites Documentation/performance.md, each
# section with the command that produced it.  Speed targets live here,
# never in timed tests.
set -eu
cd "$(dirname "$0")/.."
out=Documentation/performance.md
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

cpu=$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)
{
	echo "# smtpgate performance"
	echo
	echo "Written by \`make bench\` (scripts/bench.sh) on $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "on $(nproc) x ${cpu:-unknown CPU}."
	echo
	echo "## Classifier: instructions per packet"
	echo
	echo "Command: \`make -C userspace bench\`.  \`valgrind --tool=callgrind\`"
	echo "counts the instructions of \`sg_classify()\` alone (the same"
	echo "kmod/classify.c the module runs), per packet, for each kind of"
	echo "packet.  Instruction counts are repeatable, unlike timings."
	echo "Goals: non-SMTP <= 40, SMTP <= 300, Teredo with auth+origin <= 500."
	echo
	make -s -C userspace bench
} >"$tmp"
mv "$tmp" "$out"
trap - EXIT
cat "$out"
