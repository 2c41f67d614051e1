#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Usage: build-kernels.sh [KVER | KVER=KDIR]...
#
# Builds the module W=1 for each kernel named (default: every installed
# one) in $BUILD/kernels/KVER, from a copy of the sources only: objects of
# the in-place build (for another kernel) must never leak in.  Fails on any
# compiler warning.  Serialised with a lock: tests and benchmarks that run
# at the same time share these trees.  KVER=KDIR builds against the kernel
# tree KDIR instead of /lib/modules/KVER/build (the debug kernel of
# scripts/debug-kernel.sh, which is not installed).
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-$PWD/.build}
mkdir -p "$BUILD/kernels"
exec 9>"$BUILD/kernels/.lock"
flock 9

# shellcheck disable=SC2046 # release names have no spaces
[ $# -gt 0 ] || set -- $(ls -1v /lib/modules)
for arg in "$@"; do
	v=${arg%%=*}
	kdir=/lib/modules/$v/build
	case $arg in *=*) kdir=${arg#*=} ;; esac
	d=$BUILD/kernels/$v
	mkdir -p "$d/kmod"
	cp Kbuild "$d/"
	# Only what git would track: no .o, .cmd or .mod.c of another build.
	for f in kmod/Kbuild kmod/*.c kmod/*.h; do
		case $f in *.mod.c) continue ;; esac
		cmp -s "$f" "$d/$f" || cp "$f" "$d/$f"
	done
	rm -rf "$d/kmod/include" && cp -r kmod/include "$d/kmod/include"
	echo "== module for $v"
	make -C "$kdir" M="$d" W=1 modules >"$d/build.log" 2>&1 ||
		{ cat "$d/build.log"; exit 1; }
	if grep -E 'warning:|error:' "$d/build.log"; then
		exit 1
	fi
	modinfo -F vermagic "$d/kmod/smtpgate.ko" | grep -q "^$v " || {
		echo "build-kernels: $d/kmod/smtpgate.ko is not for $v" >&2
		exit 1
	}
done
