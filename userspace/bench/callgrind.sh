#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Instructions per sg_classify() call for each packet kind, as a markdown
# table on stdout.  callgrind counts only inside sg_classify (and what it
# calls); two runs of N and 2N calls are subtracted so one-time costs
# (first-touch, cache of the dynamic linker) cancel out.
set -eu

BENCH=${1:?usage: callgrind.sh BENCH_BINARY}
N=${BENCH_N:-1000}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

command -v valgrind >/dev/null || { echo "bench: valgrind missing" >&2; exit 4; }

# Collected instructions (Ir) of one run of $2 calls of kind $1.
ir() {
	valgrind --tool=callgrind --toggle-collect=sg_classify \
		--callgrind-out-file="$TMP/out" "$BENCH" "$1" "$2" \
		>"$TMP/log" 2>&1 || { cat "$TMP/log" >&2; exit 1; }
	sed -n 's/^summary: *//p' "$TMP/out"
}

# Goals from the design: non-SMTP <= 40, SMTP <= 300, Teredo auth+origin <= 500.
goal() {
	case $1 in
	other-*) echo 40 ;;
	teredo-auth-origin) echo 500 ;;
	*) echo 300 ;;
	esac
}

echo "| packet | spec | instructions/packet | goal |"
echo "|---|---|---:|---:|"
"$BENCH" --list | while IFS="$(printf '\t')" read -r kind spec; do
	one=$(ir "$kind" "$N")
	two=$(ir "$kind" $((2 * N)))
	per=$(( (two - one) / N ))
	g=$(goal "$kind")
	mark="≤ $g"
	[ "$per" -le "$g" ] || mark="≤ $g **missed**"
	echo "| $kind | \`$spec\` | $per | $mark |"
done
echo
echo "kmod/classify.c built for userspace (${CC:-gcc} $("${CC:-gcc}" -dumpfullversion) -O2)," \
	"linear packets, (Ir(2N) - Ir(N)) / N with N = $N under callgrind" \
	"--toggle-collect=sg_classify; skb_header_pointer() is classify.h's" \
	"userspace stand-in, a few instructions dearer than the kernel's."
