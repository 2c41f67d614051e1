#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Extracts the few kernel-tree files smtpgate needs (kselftest headers for the
# C tests, checkpatch and its data) from Debian's linux-source-6.1 tarball
# into $BUILD/linux-6.1/.  Only these files, never the whole tree, and never
# into the repository itself: they are GPL kernel files we use, not ship.
# Idempotent: once every file is there it does nothing.
set -eu

REPO=$(cd "$(dirname "$0")/.." && pwd -P)
BUILD=${BUILD:-$REPO/.build}
TARBALL=${LINUX_SOURCE_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
TOP=linux-source-6.1
DEST=$BUILD/linux-6.1

FILES="tools/testing/selftests/kselftest.h
tools/testing/selftests/kselftest_harness.h
tools/testing/selftests/kselftest_module.h
scripts/checkpatch.pl
scripts/spelling.txt
scripts/const_structs.checkpatch"

# Lists the files not yet extracted; empty output means nothing to do.
missing_files() {
	for f in $FILES; do
		[ -s "$DEST/$f" ] || echo "$f"
	done
}

todo=$(missing_files)
[ -z "$todo" ] && exit 0

if [ ! -r "$TARBALL" ]; then
	echo "kernel-tools: $TARBALL missing (apt-get install linux-source-6.1)" >&2
	exit 1
fi

# Extract into a private directory and rename each file into place, so a
# concurrent run (make -j, two engineers) never sees a half-written file.
mkdir -p "$BUILD"
tmp=$(mktemp -d "$BUILD/.linux-6.1.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "kernel-tools: extracting $(echo "$todo" | wc -l) files into $DEST" >&2
# One pass over the tarball (xz is the slow part, ~7 s) for all members.
# shellcheck disable=SC2046 # word splitting of the member list is intended
tar -xJf "$TARBALL" -C "$tmp" --strip-components=1 \
	$(for f in $todo; do echo "$TOP/$f"; done)
chmod +x "$tmp/scripts/checkpatch.pl" 2>/dev/null || true
for f in $todo; do
	mkdir -p "$DEST/${f%/*}"
	mv -f "$tmp/$f" "$DEST/$f"
done

todo=$(missing_files)
if [ -n "$todo" ]; then
	# shellcheck disable=SC2086 # one line, not one per file
	echo "kernel-tools: not found in $TARBALL:" $todo >&2
	exit 1
fi
