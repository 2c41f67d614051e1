#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Usage: vm-initramfs.sh [-n] KVER [OUT]
#
# Builds the test VM's initramfs for kernel KVER: a static busybox plus the
# virtio/9p modules that KVER does not have built in.  With -n, no modules:
# for a kernel that has them all built in and no /lib/modules/KVER here
# (scripts/debug-kernel.sh's).  Its /init mounts the
# host's root file system read-only over 9p (mount tag "hostroot") and
# switch_roots into it, running the guest script named by sgvm.init= on the
# kernel command line.  So the guest has the host's whole userland (ip, nft,
# iptables, tcpdump...) without building an image, and it boots in seconds.
#
# The result is cached in $BUILD/vm/initramfs-KVER.cpio.gz and rebuilt only
# when this script, busybox or one of the modules changed.  With OUT, it is
# also copied there.  The cpio path is printed on stdout.
set -eu

REPO=$(cd "$(dirname "$0")/.." && pwd -P)
# modprobe lives in /sbin, which a normal user's PATH lacks on Debian.
PATH=$PATH:/usr/sbin:/sbin
BUILD=${BUILD:-$REPO/.build}
SELF=$REPO/scripts/vm-initramfs.sh

# What the guest needs to mount a 9p share over virtio-pci; the kernel's own
# dependency data tells which other modules these pull in, in load order.
WANT="virtio_pci 9pnet_virtio 9p"

usage() {
	echo "usage: $0 [-n] KVER [OUT]" >&2
	exit 2
}

die() {
	echo "vm-initramfs: $*" >&2
	exit 1
}

# Prints the .ko files (possibly compressed) to load, dependencies first,
# each once; modules built into KVER are left out ("builtin" lines).
module_files() {
	deps=
	for m in $WANT; do
		d=$(modprobe -S "$KVER" --show-depends "$m") ||
			die "$m: neither a module nor built into $KVER"
		deps="$deps
$d"
	done
	echo "$deps" | awk '$1 == "insmod" && !seen[$2]++ { print $2 }'
}

# Busybox must be static: the initramfs has no libc.
find_busybox() {
	bb=${BUSYBOX:-$(command -v busybox || true)}
	[ -x "$bb" ] || die "busybox not found (apt-get install busybox-static)"
	if ldd "$bb" >/dev/null 2>&1; then
		die "$bb is dynamically linked (apt-get install busybox-static)"
	fi
	echo "$bb"
}

# Identifies every input, so the cache is rebuilt exactly when one changes.
inputs_stamp() {
	{
		cat "$SELF"
		echo "$KVER"
		# shellcheck disable=SC2086 # $MODS is a list of paths
		ls -lL --time-style=+%s "$BUSYBOX" $MODS
	} | sha256sum | cut -d' ' -f1
}

# Copies one module into the tree, uncompressed: busybox insmod reads only
# plain ELF.  The number prefix keeps the load order for /init's glob.
add_module() {
	src=$1 n=$2
	name=$(basename "$src")
	name=${name%.xz}
	name=${name%.zst}
	name=${name%.gz}
	dst=$(printf '%s/lib/modules/%02d-%s' "$STAGE" "$n" "$name")
	case $src in
	*.xz)	xz -dc "$src" >"$dst" ;;
	*.zst)	zstd -qdc "$src" >"$dst" ;;
	*.gz)	gzip -dc "$src" >"$dst" ;;
	*)	cp "$src" "$dst" ;;
	esac
}

# The initramfs's PID 1.  Any failure is printed as a "# vm:" TAP comment,
# which vm-run.sh shows, and powers off so QEMU exits at once instead of
# waiting for the overall timeout.
write_init() {
	cat >"$STAGE/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin

die() {
	echo "# vm: initramfs: $*"
	poweroff -f
	reboot -f
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

guest=
for arg in $(cat /proc/cmdline); do
	case $arg in
	sgvm.init=*) guest=${arg#*=} ;;
	esac
done
[ -n "$guest" ] || die "no sgvm.init= on the kernel command line"

for ko in /lib/modules/*.ko; do
	[ -e "$ko" ] || continue
	insmod "$ko" || die "insmod $ko failed"
done

# The virtio device may still be probing right after insmod: retry briefly.
mkdir -p /newroot
tries=0
until mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,ro,cache=loose \
		hostroot /newroot 2>/dev/null; do
	tries=$((tries + 1))
	[ "$tries" -lt 50 ] || die "cannot mount the 9p share hostroot"
	sleep 0.1
done
[ -x "/newroot$guest" ] || die "$guest: not executable in the host root"

umount /proc /sys /dev
exec switch_root /newroot "$guest"
EOF
	chmod 755 "$STAGE/init"
}

build() {
	STAGE=$(mktemp -d "$BUILD/vm/.initramfs-$KVER.XXXXXX")
	# shellcheck disable=SC2064 # expand $STAGE now
	trap "rm -rf '$STAGE'" EXIT
	mkdir -p "$STAGE/bin" "$STAGE/lib/modules" "$STAGE/proc" "$STAGE/sys" \
		"$STAGE/dev" "$STAGE/newroot"
	# The kernel's built-in initramfs has one too; this is belt and braces.
	mknod -m 600 "$STAGE/dev/console" c 5 1 2>/dev/null || true
	cp "$BUSYBOX" "$STAGE/bin/busybox"
	n=0
	for m in $MODS; do
		n=$((n + 1))
		add_module "$m" "$n"
	done
	write_init
	# Build aside and rename, so a concurrent run never boots half a file.
	(cd "$STAGE" && find . | LC_ALL=C sort |
		cpio -o -H newc -R 0:0 --quiet) | gzip -1 >"$STAGE.cpio.gz"
	mv -f "$STAGE.cpio.gz" "$CACHE"
	echo "$STAMP" >"$CACHE.stamp"
	echo "vm-initramfs: built $CACHE ($n modules)" >&2
}

NOMODS=0
if [ "${1:-}" = -n ]; then
	NOMODS=1
	shift
fi
{ [ $# -ge 1 ] && [ $# -le 2 ]; } || usage
KVER=$1
OUT=${2:-}
mkdir -p "$BUILD/vm"
CACHE=$BUILD/vm/initramfs-$KVER.cpio.gz
BUSYBOX=$(find_busybox)
if [ "$NOMODS" = 1 ]; then
	MODS=
else
	[ -d "/lib/modules/$KVER" ] || die "/lib/modules/$KVER: no such kernel (-n for one with virtio and 9p built in)"
	MODS=$(module_files)
fi
STAMP=$(inputs_stamp)

if [ ! -s "$CACHE" ] || [ "$(cat "$CACHE.stamp" 2>/dev/null)" != "$STAMP" ]; then
	build
fi
if [ -n "$OUT" ] && [ "$OUT" != "$CACHE" ]; then
	cp -f "$CACHE" "$OUT.tmp.$$"
	mv -f "$OUT.tmp.$$" "$OUT"
	echo "$OUT"
else
	echo "$CACHE"
fi
