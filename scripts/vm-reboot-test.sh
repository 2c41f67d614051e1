#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Usage: vm-reboot-test.sh [-k KVER] [-o DIR]
#
# Reboot survival of smtpgated's state (issue 4): boots the VM twice with
# the same output share (vm-run.sh -o DIR keeps what the tests leave there;
# it replaces only its own .vm, console.log and qemu.log), first
# tests/vm/reboot/before.sh, then tests/vm/reboot/after.sh, and prints one
# TAP line, "ok 1 reboot survival" or "not ok 1 ...", for scripts/check.sh
# to count.  Each boot's own TAP stream is shown as "#" comments; its
# console log is kept as DIR/console.before.log and DIR/console.after.log.
#
#   -k KVER   passed to vm-run.sh
#   -o DIR    the shared directory (default $BUILD/vm/reboot, emptied first)
set -u -o pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd -P)
BUILD=${BUILD:-$REPO/.build}
DIR=
KARGS=()
while getopts "k:o:h" opt; do
	case $opt in
	k) KARGS=(-k "$OPTARG") ;;
	o) DIR=$OPTARG ;;
	*) sed -n '4,15s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
	esac
done
if [ -z "$DIR" ]; then
	DIR=$BUILD/vm/reboot
	rm -rf "$DIR"
fi
mkdir -p "$DIR" || exit 1

echo "TAP version 13"
echo "1..1"
why=
for part in before after; do
	if ! "$REPO/scripts/vm-run.sh" "${KARGS[@]}" -t 600 -o "$DIR" \
		"tests/vm/reboot/$part.sh" 2>&1 | sed 's/^/# '"$part"': /'; then
		why="$part failed"
	fi
	cp "$DIR/console.log" "$DIR/console.$part.log" 2>/dev/null
	[ -n "$why" ] && break
done
if [ -z "$why" ]; then
	echo "ok 1 reboot survival"
else
	echo "not ok 1 reboot survival # $why; logs in $DIR"
	exit 1
fi
