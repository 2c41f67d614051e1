#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Usage: debug-kernel.sh [-n] [SERIES...]
#
# Builds, or finds already built, the debug kernel of `make check-debug`
# for each SERIES (6.1, the default, and 6.12) from Debian's
# linux-source-SERIES package: allnoconfig plus scripts/debug.config, so
# everything the VM tests use is built in (no /lib/modules needed in the
# guest) next to KASAN, UBSAN, kmemleak, lockdep, PROVE_RCU, debug objects,
# KFENCE and fault injection.  Prints one line per kernel on stdout:
#
#   SERIES KERNELRELEASE DIR
#
# where DIR holds bzImage, config and build/ (the tree to build external
# modules against: make -C DIR/build M=...).
#
#   -n    do not build: fail when a kernel is not in the cache yet
#
# The cache lives outside the clone, in ${SMTPGATE_CACHE:-/var/cache/smtpgate}
# /kernels/SERIES-PKGVERSION-CONFIGSHA/, so every checkout and branch shares
# it; the key changes with the source package, debug.config, the compiler
# and RECIPE below.  Builds are serialised with flock: a second run waits
# for the first and reuses its kernel.  The build runs under nice with
# $JOBS (default: nproc) jobs; its log is DIR.log.
set -eu

REPO=$(cd "$(dirname "$0")/.." && pwd -P)
FRAGMENT=$REPO/scripts/debug.config
CACHE=${SMTPGATE_CACHE:-/var/cache/smtpgate}/kernels
JOBS=${JOBS:-$(nproc)}
# Bumped whenever the build steps below change what they produce.
RECIPE=1

usage() {
	sed -n '4,25s/^# \{0,1\}//p' "$0" >&2
	exit 2
}

die() {
	echo "debug-kernel: $*" >&2
	exit 1
}

log() {
	echo "debug-kernel: $*" >&2
}

source_tarball() {
	echo "/usr/src/linux-source-$1.tar.xz"
}

# The cache key: what went into the kernel, short enough for a path.
cache_key() {
	local series=$1 pkgver sha
	pkgver=$(dpkg-query -W -f='${Version}' "linux-source-$series" 2>/dev/null) ||
		pkgver=$(stat -c %Y "$(source_tarball "$series")")
	sha=$({
		echo "recipe $RECIPE"
		cat "$FRAGMENT"
		${CC:-gcc} --version | head -n 1
	} | sha256sum | cut -c1-12)
	echo "$series-$pkgver-$sha"
}

# Every line of debug.config must be in the final .config: Kconfig silently
# drops an option whose dependencies are not met, and a debug kernel
# without, say, KASAN would pass everything while checking nothing.
verify_config() {
	local config=$1 line sym bad=0
	while IFS= read -r line; do
		case $line in
		"# CONFIG_"*" is not set")
			sym=${line#\# }
			sym=${sym%% *}
			if grep -q "^$sym=" "$config"; then
				echo "debug-kernel: $sym: debug.config turns it off, the config has $(grep "^$sym=" "$config")" >&2
				bad=1
			fi
			;;
		CONFIG_*)
			grep -qxF -- "$line" "$config" && continue
			sym=${line%%=*}
			echo "debug-kernel: $line was dropped by Kconfig (have: $(grep -E "^(# )?${sym}[= ]" "$config" || echo nothing)); its dependencies are not met" >&2
			bad=1
			;;
		esac
	done <"$FRAGMENT"
	[ "$bad" = 0 ] || die "the config lacks options debug.config asks for (see above)"
}

# Keeps what `make M=` needs (headers, scripts, objtool, Module.symvers,
# the config) and vmlinux for symbolising reports; drops the objects.
trim_tree() {
	find "$1" -name '*.o' ! -path "$1/scripts/*" ! -path "$1/tools/*" -delete
	find "$1" \( -name '*.a' -o -name '*.o.cmd' -o -name '*.mod.c' \) \
		! -path "$1/scripts/*" ! -path "$1/tools/*" -delete
	rm -rf "$1/Documentation"
}

build() {
	local series=$1 dir=$2 tmp start secs
	local src
	src=$(source_tarball "$series")
	[ -r "$src" ] || die "$src missing (apt-get install linux-source-$series)"
	tmp=$dir.tmp
	rm -rf "$tmp"
	mkdir -p "$tmp/build"
	start=$(date +%s)
	log "building $series in $tmp (log: $dir.log); a cold build takes tens of minutes"
	{
		tar -xJf "$src" -C "$tmp/build" --strip-components=1
		make -C "$tmp/build" -s ARCH=x86_64 KCONFIG_ALLCONFIG="$FRAGMENT" allnoconfig
		make -C "$tmp/build" -s ARCH=x86_64 olddefconfig
	} >"$dir.log" 2>&1 || die "$series: configuring failed, see $dir.log"
	verify_config "$tmp/build/.config"
	nice -n "${NICE:-10}" make -C "$tmp/build" ARCH=x86_64 -j"$JOBS" \
		bzImage modules >>"$dir.log" 2>&1 ||
		die "$series: build failed, see $dir.log"
	make -C "$tmp/build" -s ARCH=x86_64 kernelrelease >"$tmp/kernelrelease"
	cp "$tmp/build/arch/x86/boot/bzImage" "$tmp/bzImage"
	cp "$tmp/build/.config" "$tmp/config"
	trim_tree "$tmp/build"
	secs=$(($(date +%s) - start))
	echo "$secs" >"$tmp/build-seconds"
	mv "$tmp" "$dir"
	log "built $series ($(cat "$dir/kernelrelease")) in ${secs}s: $dir"
}

main() {
	local opt nobuild=0 series key dir
	while getopts "nh" opt; do
		case $opt in
		n) nobuild=1 ;;
		*) usage ;;
		esac
	done
	shift $((OPTIND - 1))
	[ $# -gt 0 ] || set -- 6.1
	mkdir -p "$CACHE" || die "cannot create $CACHE (set SMTPGATE_CACHE)"
	for series in "$@"; do
		case $series in
		6.1 | 6.12) ;;
		*) die "$series: not a series this script knows (6.1, 6.12)" ;;
		esac
		key=$(cache_key "$series")
		dir=$CACHE/$key
		# One build at a time per kernel: a second run waits, then reuses.
		exec 9>"$CACHE/.$key.lock"
		flock 9
		if [ -s "$dir/bzImage" ]; then
			log "reusing $series from the cache: $dir (built in $(cat "$dir/build-seconds" 2>/dev/null || echo '?')s)"
		elif [ "$nobuild" = 1 ]; then
			die "$series: not in the cache ($dir) and -n given"
		else
			build "$series" "$dir"
		fi
		flock -u 9
		echo "$series $(cat "$dir/kernelrelease") $dir"
	done
}

main "$@"
