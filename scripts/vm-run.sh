#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Usage: vm-run.sh [-k KVER] [-K IMAGE] [-m MODULE_KO] [-t TIMEOUT] [-o OUTDIR] [-i] TEST...
#
# Boots KVER's kernel in QEMU (TCG: this host cannot load modules, nested
# KVM hangs) on a busybox initramfs that mounts this machine's root read-only
# over 9p, runs each TEST (a path relative to the repo, e.g.
# tests/vm/smoke.sh, or any script elsewhere, which is copied in) inside the
# guest with scripts/vm-guest.sh, and prints the guest's KTAP on stdout.
#
#   -k KVER     kernel to boot (default: newest 6.1.* in /lib/modules)
#   -K IMAGE    boot this bzImage instead of /boot/vmlinuz-KVER: a kernel
#               with virtio, 9p and everything the tests use built in, such
#               as scripts/debug-kernel.sh's; KVER defaults to its release.
#               A modules.builtin next to it (IMAGE's dir/build/) lets the
#               guest's modprobe know what is built in.
#   -m KO       smtpgate.ko built for KVER, exported to tests as SMTPGATE_KO
#               (default: $BUILD/kernels/KVER/kmod/smtpgate.ko)
#   -t SECONDS  per-test timeout (default 300)
#   -o OUTDIR   read-write share, $SG_OUT in the guest, for artifacts; also
#               gets console.log and qemu.log (default: a new directory
#               $BUILD/vm/out/KVER.DATE.XXXX, printed at the end)
#   -i          after the tests, a shell on the console (Ctrl-A X quits QEMU)
#
# Exits 0 only if every test passed or skipped and the guest finished.
set -u

REPO=$(cd "$(dirname "$0")/.." && pwd -P)
BUILD=${BUILD:-$REPO/.build}
QEMU=${QEMU:-qemu-system-x86_64}
# TCG boots in ~10 s; the margin also covers a slow, loaded CI machine.
BOOT_MARGIN=${VM_BOOT_MARGIN:-120}
# Where vm-guest.sh mounts the output share (it hard-codes the same path).
GUEST_OUT=/run/sg-out

KVER=
IMAGE=
KO=
TIMEOUT=300
OUTDIR=
INTERACTIVE=0
NAMES=()	# as the guest reports them
PATHS=()	# as the guest runs them

usage() {
	sed -n '4,24s/^# \{0,1\}//p' "$0" >&2
	exit 2
}

die() {
	echo "vm-run: $*" >&2
	exit 1
}

newest_61() {
	local d
	for d in /lib/modules/6.1.*/; do
		[ -d "$d" ] && basename "$d"
	done | sort -V | tail -n 1
}

# A test in the repo is passed by its repo-relative path; one outside (a
# scratch test in /tmp, which the guest's own /tmp hides) is copied into the
# output share and passed by its guest path.
add_test() {
	local arg=$1 abs rel
	if [ -f "$REPO/$arg" ]; then
		abs=$REPO/$arg
	elif [ -f "$arg" ]; then
		abs=$(cd "$(dirname "$arg")" && pwd -P)/$(basename "$arg")
	else
		die "$arg: no such test"
	fi
	[ -x "$abs" ] || die "$arg: not executable"
	case $abs in
	"$REPO"/*)
		rel=${abs#"$REPO"/}
		NAMES+=("$rel")
		PATHS+=("$rel")
		;;
	*)
		mkdir -p "$OUTDIR/.vm/tests"
		cp "$abs" "$OUTDIR/.vm/tests/"
		NAMES+=("$(basename "$abs")")
		PATHS+=("$GUEST_OUT/.vm/tests/$(basename "$abs")")
		;;
	esac
}

# Without -o, each run gets a fresh directory, since several runs may share
# a checkout at once, and only the newest few are kept.  A given directory
# may hold other things, so only what a previous run left is removed.
prepare_outdir() {
	if [ -z "$OUTDIR" ]; then
		mkdir -p "$BUILD/vm/out" || die "cannot create $BUILD/vm/out"
		# shellcheck disable=SC2012 # names are ours: KVER.date.random
		ls -1dt "$BUILD/vm/out"/*/ 2>/dev/null | tail -n +10 |
			xargs -r rm -rf
		OUTDIR=$(mktemp -d "$BUILD/vm/out/$KVER.$(date +%Y%m%d-%H%M%S).XXXX")
		chmod 755 "$OUTDIR"
	fi
	mkdir -p "$OUTDIR" || die "cannot create $OUTDIR"
	OUTDIR=$(cd "$OUTDIR" && pwd -P)
	rm -rf "$OUTDIR/.vm" "$OUTDIR/console.log" "$OUTDIR/qemu.log"
	mkdir -p "$OUTDIR/.vm"
}

# The guest sees the host root, but with fresh tmpfs mounts over the places
# it writes to (vm-guest.sh keeps only the repo visible there); a module
# elsewhere in them is copied into the share.  Prints the guest's path.
guest_ko() {
	case $KO in
	"$REPO"/*) ;;
	/tmp/* | /run/* | /var/tmp/* | /var/lib/* | /var/log/* | \
	/var/spool/* | /var/cache/*)
		if [ -f "$KO" ]; then
			cp "$KO" "$OUTDIR/.vm/"
			echo "$GUEST_OUT/.vm/${KO##*/}"
			return
		fi
		;;
	esac
	echo "$KO"
}

write_job() {
	local p
	{
		echo "timeout=$TIMEOUT"
		echo "ko=$(guest_ko)"
		echo "interactive=$INTERACTIVE"
		for p in "${PATHS[@]}"; do
			echo "test=$p"
		done
	} >"$OUTDIR/.vm/job"
}

# The kernel's version string, as `file` reads it from a bzImage header.
image_release() {
	file -bL "$1" | sed -n 's/.*, version \([^ ]*\) .*/\1/p'
}

# For a kernel with no /lib/modules/KVER on this machine: its list of
# built-in modules, which vm-guest.sh installs in the guest's (tmpfs)
# /lib/modules/KVER so that a test's `modprobe nf_conntrack` finds it there.
builtin_list() {
	local d f
	d=$(dirname "$IMAGE")/build
	[ -r "$d/modules.builtin" ] || return 0
	mkdir -p "$OUTDIR/.vm/modules"
	for f in modules.builtin modules.builtin.modinfo modules.order; do
		[ -r "$d/$f" ] && cp "$d/$f" "$OUTDIR/.vm/modules/"
	done
	return 0
}

# QEMU splits option values at commas; a literal one is doubled.
qesc() {
	echo "${1//,/,,}"
}

qemu_args() {
	# quiet/loglevel=3 keep printk off the TAP stream; vm-guest.sh reads
	# dmesg for splats instead.  panic=-1 with -no-reboot turns a panic
	# into QEMU exiting.  TCG on a busy host is slow: stall and lockup
	# detectors get more time, so they only fire on a real hang.
	local append="console=ttyS0 quiet loglevel=3 panic=-1 log_buf_len=4M"
	append+=" ${VM_APPEND:-}"
	append+=" rcupdate.rcu_cpu_stall_timeout=60 watchdog_thresh=30"
	# A stall or a soft lockup can leave no CPU to the guest's own
	# watchdog: panic then, printing the whole kernel log (panic_print
	# bit 5, the backtraces included), and QEMU exits at once instead of
	# at the run's timeout, hours later.
	append+=" softlockup_panic=1 sysctl.kernel.panic_on_rcu_stall=1"
	append+=" panic_print=0x20"
	# Own slab caches: a module's leaked objects then show in slabinfo and
	# make kmem_cache_destroy() complain, instead of hiding in a merged one.
	append+=" slab_nomerge"
	# And their objects are checked and poisoned when freed: a use after
	# free reads 0x6b, a write to a freed object is reported (BUG ...:
	# Poison overwritten), on the stock kernels too.
	append+=" slub_debug=FZPU,smtpgate_*"
	append+=" sgvm.init=$REPO/scripts/vm-guest.sh"
	# shellcheck disable=SC2054 # commas inside QEMU options
	ARGS=(-nodefaults -no-reboot -display none
		-accel tcg,thread=multi -cpu max -smp 2 -m "${VM_MEM:-2G}"
		-kernel "$IMAGE" -initrd "$INITRD" -append "$append"
		-fsdev local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap
		-device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot
		-fsdev "local,id=sgout,path=$(qesc "$OUTDIR"),security_model=none,multidevs=remap"
		-device virtio-9p-pci,fsdev=sgout,mount_tag=sgout)
}

# Copies the console to console.log (without the serial line's CRs) and
# passes on only the KTAP stream: the version, plan, result and comment
# lines; kernel messages and boot noise stay in the log.
filter_console() {
	local awk=(awk)
	# mawk (Debian's awk) reads a pipe in blocks unless told otherwise.
	awk -W version 2>&1 | grep -q mawk && awk=(awk -W interactive)
	"${awk[@]}" -v logf="$OUTDIR/console.log" '
		{ sub(/\r+$/, ""); gsub(/\r/, ""); print > logf; fflush(logf) }
		/^(TAP version |1\.\.[0-9]|ok |not ok |#)/ { print; fflush() }'
}

# After the run: reports every test the guest did not, so the TAP stream
# is complete, and decides the exit status.
finish() {
	local qrc=$1 log=$OUTDIR/console.log plan i reason ok=1 name
	plan=$(grep -m1 -E '^1\.\.[0-9]+$' "$log" | cut -c4-)
	if [ -z "$plan" ]; then
		echo "TAP version 13"
		echo "1..${#NAMES[@]}"
		plan=${#NAMES[@]}
	fi
	reason="vm died"
	[ "$qrc" = 124 ] && reason="timeout"
	for ((i = 1; i <= plan; i++)); do
		grep -qE "^(not )?ok $i( |$)" "$log" && continue
		name=${NAMES[i - 1]:-kmemleak}
		echo "not ok $i $name # $reason"
		ok=0
	done
	grep -qE '^not ok [0-9]+' "$log" && ok=0
	if ! grep -qx '# vm: done' "$log"; then
		ok=0
		echo "# vm-run: the guest did not finish ($reason, qemu exit $qrc);" \
			"console tail:"
		tail -n 25 "$log" | sed 's/^/#   /'
		[ -s "$OUTDIR/qemu.log" ] && sed 's/^/# qemu: /' "$OUTDIR/qemu.log"
	fi
	echo "# vm-run: console log and artifacts in $OUTDIR"
	[ "$ok" = 1 ]
}

main() {
	local opt total qrc
	while getopts "k:K:m:t:o:ih" opt; do
		case $opt in
		k) KVER=$OPTARG ;;
		K) IMAGE=$OPTARG ;;
		m) KO=$OPTARG ;;
		t) TIMEOUT=$OPTARG ;;
		o) OUTDIR=$OPTARG ;;
		i) INTERACTIVE=1 ;;
		*) usage ;;
		esac
	done
	shift $((OPTIND - 1))
	[ $# -gt 0 ] || [ "$INTERACTIVE" = 1 ] || usage
	case $TIMEOUT in '' | *[!0-9]*) die "-t $TIMEOUT: not a number of seconds" ;; esac
	case $REPO in *[[:space:]]*) die "$REPO: the kernel command line cannot hold a path with spaces" ;; esac

	if [ -n "$IMAGE" ]; then
		[ -r "$IMAGE" ] || die "$IMAGE: not readable"
		IMAGE=$(cd "$(dirname "$IMAGE")" && pwd -P)/$(basename "$IMAGE")
		KVER=${KVER:-$(image_release "$IMAGE")}
		[ -n "$KVER" ] || die "$IMAGE: cannot tell its release (-k KVER)"
	else
		KVER=${KVER:-$(newest_61)}
		[ -n "$KVER" ] || die "no 6.1 kernel in /lib/modules (-k KVER)"
		IMAGE=/boot/vmlinuz-$KVER
		[ -r "$IMAGE" ] || die "$IMAGE: not readable"
	fi
	command -v "$QEMU" >/dev/null || die "$QEMU not found (apt-get install qemu-system-x86)"
	KO=${KO:-$BUILD/kernels/$KVER/kmod/smtpgate.ko}
	case $KO in /*) ;; *) KO=$PWD/$KO ;; esac
	[ -f "$KO" ] || echo "vm-run: warning: $KO missing (make kernels)" >&2

	prepare_outdir
	for t in "$@"; do
		add_test "$t"
	done
	write_job
	if [ -d "/lib/modules/$KVER" ]; then
		INITRD=$("$REPO/scripts/vm-initramfs.sh" "$KVER") || exit 1
	else
		# A kernel of our own: virtio and 9p are built in.
		INITRD=$("$REPO/scripts/vm-initramfs.sh" -n "$KVER") || exit 1
		builtin_list
	fi
	qemu_args

	if [ "$INTERACTIVE" = 1 ]; then
		exec "$QEMU" "${ARGS[@]}" -serial mon:stdio
	fi
	total=$((${#NAMES[@]} * (TIMEOUT + 15) + BOOT_MARGIN))
	timeout -k 5 "$total" "$QEMU" "${ARGS[@]}" -serial stdio \
		</dev/null 2>"$OUTDIR/qemu.log" | filter_console
	qrc=${PIPESTATUS[0]}
	finish "$qrc"
}

main "$@"
