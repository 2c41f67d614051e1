#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# PID 1 of the test VM, started by the initramfs's switch_root into the host
# root file system (read-only 9p).  Runs the tests vm-run.sh asked for and
# prints KTAP on the console:
#
#   TAP version 13
#   1..N
#   # <test output, indented as comments>
#   ok 1 tests/vm/smoke.sh
#   not ok 2 tests/vm/x.sh # exit=1
#   ok 3 tests/vm/y.sh # SKIP no IPv6
#   # vm: done
#
# A test fails on a non-zero exit (4 is a skip, as in kselftest), on a
# timeout, on any kernel splat it caused in dmesg, on a new taint bit other
# than O/E (our out-of-tree unsigned module), or when it leaves network
# namespaces behind.  Then the VM powers off, which ends QEMU (-no-reboot).
#
# The job (tests, per-test timeout, module path) comes from the file
# .vm/job in the read-write output share (mount tag sgout, mounted at
# $SG_OUT); without it, from sgvm.tests=a,b sgvm.timeout=S sgvm.ko=PATH on
# the kernel command line.

REPO=$(cd "$(dirname "$0")/.." && pwd -P)
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=${TERM:-dumb} LC_ALL=C.UTF-8
export SG_OUT=/run/sg-out
export SMTPGATE_REPO=$REPO
KVER=$(uname -r)
export KVER

KSFT_PASS=0
KSFT_SKIP=4
# Taint bits an out-of-tree (O, 4096), unsigned (E, 8192) module sets.
TAINT_EXPECTED=$((4096 | 8192))
# The debug kernel's reports too: "BUG: KASAN", "UBSAN:", "WARNING:
# suspicious RCU usage", lockdep's "WARNING: possible circular locking",
# "ODEBUG:", "BUG: KFENCE:", kmemleak's "N new suspected memory leaks" (not
# its "Kernel memory leak detector initialized" at boot), list
# debugging's "list_add corruption", RCU stalls and hung tasks.
SPLAT_RE='WARNING:|BUG:|Oops|general protection fault|Call Trace|UBSAN|KASAN|KFENCE|ODEBUG|suspected memory leak|refcount_t|possible recursive locking|circular locking|inconsistent lock state|suspicious RCU usage|list_add corruption|list_del corruption|Kernel panic|stack-protector|Slab cache still has objects|Unable to handle|unregister_netdevice: waiting|detected stalls|blocked for more than'

AWK=(awk)
awk -W version 2>&1 | grep -q mawk && AWK=(awk -W interactive)
TIMEOUT=300
INTERACTIVE=0
TESTS=()
export SMTPGATE_KO=
# Where a test names the processes whose allocations it makes fail on
# purpose (tests/vm/lib.sh: expect_alloc_failures); emptied per test.
export SG_ALLOC_FAILURES=/run/sg-alloc-failures

log() {
	echo "# vm: $*"
}

# The places that get a tmpfs, as the host root is read-only.
SCRATCH_DIRS="/run /var/lib /var/log /var/spool /var/cache /tmp /var/tmp"

# A checkout in one of $SCRATCH_DIRS (CI in /tmp) would vanish under its
# tmpfs: park a bind mount of it on /dev for the time being.
park_repo() {
	local d
	for d in $SCRATCH_DIRS; do
		case $REPO/ in "$d"/*)
			mkdir -p /dev/.sg-repo &&
				mount --bind "$REPO" /dev/.sg-repo
			return
			;;
		esac
	done
}

unpark_repo() {
	[ -d /dev/.sg-repo ] || return 0
	mkdir -p "$REPO" && mount --move /dev/.sg-repo "$REPO"
}

mount_fs() {
	local d
	mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	mount -t devtmpfs devtmpfs /dev
	park_repo
	# devtmpfs lacks these links; bash's <(...) and many scripts need them.
	ln -sfn /proc/self/fd /dev/fd
	ln -sfn fd/0 /dev/stdin
	ln -sfn fd/1 /dev/stdout
	ln -sfn fd/2 /dev/stderr
	mkdir -p /dev/pts /dev/shm
	mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts
	ln -sf pts/ptmx /dev/ptmx
	mount -t tmpfs -o mode=1777 tmpfs /dev/shm
	for d in $SCRATCH_DIRS; do
		case $d in
		*/tmp) mount -t tmpfs -o mode=1777 tmpfs "$d" ;;
		*) mount -t tmpfs -o mode=0755 tmpfs "$d" ;;
		esac
	done
	unpark_repo
	mkdir -p /run/lock /run/netns
	# kmemleak and friends live there on a debug kernel.
	mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
}

# A kernel with no modules in the host's /lib/modules (the debug kernel of
# make check-debug, everything built in): vm-run.sh put its list of built-in
# modules in the share; installed in a tmpfs /lib/modules/KVER, it lets
# `modprobe nf_conntrack` in a test succeed as it does on a stock kernel.
builtin_modules() {
	local src=$SG_OUT/.vm/modules
	[ -d "/lib/modules/$KVER" ] && return 0
	[ -r "$src/modules.builtin" ] || return 0
	if ! { mount -t tmpfs -o mode=0755 tmpfs /lib/modules &&
		mkdir -p "/lib/modules/$KVER" &&
		cp "$src"/modules.* "/lib/modules/$KVER/" &&
		depmod "$KVER"; }; then
		log "cannot set up /lib/modules/$KVER from $src"
	fi
}

# The output share is optional: a missing one leaves SG_OUT a tmpfs dir.
mount_out() {
	mkdir -p "$SG_OUT"
	mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 \
		sgout "$SG_OUT" 2>/dev/null ||
		log "no output share (mount tag sgout): artifacts stay in the VM"
}

parse_cmdline() {
	local arg
	for arg in $(cat /proc/cmdline); do
		case $arg in
		sgvm.tests=*) IFS=, read -r -a TESTS <<<"${arg#*=}" ;;
		sgvm.timeout=*) TIMEOUT=${arg#*=} ;;
		sgvm.ko=*) SMTPGATE_KO=${arg#*=} ;;
		sgvm.interactive=1) INTERACTIVE=1 ;;
		esac
	done
}

# The job file holds key=value lines; "test" may repeat and keeps order.
read_job() {
	local job=$SG_OUT/.vm/job key val
	[ -r "$job" ] || return 0
	TESTS=()
	while IFS='=' read -r key val; do
		case $key in
		test) TESTS+=("$val") ;;
		timeout) TIMEOUT=$val ;;
		ko) SMTPGATE_KO=$val ;;
		interactive) INTERACTIVE=$val ;;
		esac
	done <"$job"
}

# Prefixes "# " and ends every line, even a last one without a newline, so
# the result line that follows always starts a line of its own.
indent() {
	# mawk (Debian's awk) reads a pipe in blocks unless told otherwise,
	# which would hold a test's output back until it ends.
	"${AWK[@]}" '{ print "# " $0; fflush() }'
}

dmesg_lines() {
	dmesg | wc -l
}

# Prints dmesg lines after line $1 that look like a kernel splat.  A shrunk
# log (ring buffer wrapped) is scanned whole rather than missed.
splats_since() {
	local from=$1
	[ "$(dmesg_lines)" -ge "$from" ] || from=0
	dmesg | tail -n +"$((from + 1))" | drop_expected_alloc_failures |
		grep -E "$SPLAT_RE"
}

# A failed allocation is reported with a stack trace: by warn_alloc()
# ("COMM: vmalloc error:" or "COMM: page allocation failure:"), or by a
# failed kmem_cache_create() ("kmem_cache_create_usercopy(NAME) failed with
# error -12", the task on the next line, "CPU: N PID: P Comm: COMM").  Under
# fault injection that report is the injected failure itself, not a bug:
# drop the reports of the processes the test named in $SG_ALLOC_FAILURES,
# up to the trace's end.  Anything else, even inside such a trace, counts.
drop_expected_alloc_failures() {
	local comms=
	[ -s "$SG_ALLOC_FAILURES" ] && comms=$(cat "$SG_ALLOC_FAILURES")
	"${AWK[@]}" -v comms="$comms" '
	BEGIN { n = split(comms, c, /[ \n]+/)
		for (i = 1; i <= n; i++) if (c[i] != "") ok[c[i]] = 1 }
	skip && !/BUG:|WARNING:|Oops|KASAN|UBSAN|KFENCE|ODEBUG/ {
		if (/<\/TASK>/ || ++skipped > 100) skip = 0
		next
	}
	{ skip = 0; line = $0; sub(/^\[[^]]*\] /, "", line) }
	held != "" {
		# The line after a failed kmem_cache_create(): whose it was.
		if (match(line, /Comm: [^ ]+/) &&
		    substr(line, RSTART + 6, RLENGTH - 6) in ok) {
			held = ""; skip = 1; skipped = 0; next
		}
		print held; held = ""
	}
	line ~ /^kmem_cache_create[a-z_]*\(.*\) failed with error/ {
		held = $0; next
	}
	line ~ /^[^: ]+: (vmalloc error: |page allocation failure: )/ &&
	    substr(line, 1, index(line, ":") - 1) in ok {
		skip = 1; skipped = 0; next
	}
	{ print }
	END { if (held != "") print held }'
}

taint() {
	cat /proc/sys/kernel/tainted
}

# Prints the taint bits set since $1, ignoring O and E.
new_taint() {
	local t
	t=$(taint)
	echo $(((t & ~$1) & ~TAINT_EXPECTED))
}

netns_list() {
	ip netns list 2>/dev/null | cut -d' ' -f1 | sort
}

# Deletes namespaces a test left behind so they cannot disturb the next
# test, and names them.
reap_netns() {
	local before=$1 ns leaked=
	for ns in $(comm -13 <(echo "$before") <(netns_list)); do
		ip netns del "$ns"
		leaked="$leaked $ns"
	done
	echo "$leaked"
}

# Absolute paths (tests copied into the output share) are run as they are;
# the rest are relative to the repository.
test_path() {
	case $1 in
	/*) echo "$1" ;;
	*) echo "$REPO/$1" ;;
	esac
}

# A test not done a minute after its timeout's SIGKILL has a process stuck
# in the kernel, where no signal reaches (and holding the output pipe): the
# run cannot go on, and waiting would hold the host until its own, far
# later, timeout.  Shows the blocked tasks and powers off; vm-run.sh
# reports this test and the rest not ok.
stuck_watch() # NAME
{
	sleep $((TIMEOUT + 70))
	log "$1: stuck in the kernel 60 s past its SIGKILL: blocked tasks, then power off"
	echo w >/proc/sysrq-trigger
	sleep 2
	dmesg | tail -n 300 | sed 's/^/#   /'
	dmesg >"$SG_OUT/dmesg.log" 2>&1
	power_off
}

# Runs test number $1, path $2, and prints its TAP result line.  Returns
# non-zero when the test did not pass or skip cleanly.
run_one() {
	local n=$1 name=$2 path out rc status=ok directive='' leaked
	local lines0 taint0 netns0 start splats taint_new dog
	path=$(test_path "$name")
	# A test from outside the repo was copied to the share: name it short.
	case $name in /*) name=${name##*/} ;; esac
	out=$(mktemp /tmp/vm-test.XXXXXX)
	lines0=$(dmesg_lines)
	rm -f "$SG_ALLOC_FAILURES"
	taint0=$(taint)
	netns0=$(netns_list)
	start=$SECONDS

	if [ ! -x "$path" ]; then
		echo "$path: not an executable file" >"$out"
		rc=1
	else
		# timeout puts the test in its own process group and kills all
		# of it; stdin is closed so no test can eat the console.  What
		# the test leaves running in that group when it exits is killed
		# too: an orphan holding the pipe would stall the run until it
		# exits on its own (a `sleep 1000` once cost 17 minutes).
		stuck_watch "$name" &
		dog=$!
		(cd "$REPO" || exit 1
		 timeout -k 10 "$TIMEOUT" "$path" &
		 pid=$!
		 wait "$pid"
		 trc=$?
		 if kill -0 -- -"$pid" 2>/dev/null; then
			kill -KILL -- -"$pid" 2>/dev/null
			: >"$out.left"
		 fi
		 exit "$trc") </dev/null 2>&1 | tee "$out" | indent
		rc=${PIPESTATUS[0]}
		kill "$dog" 2>/dev/null
	fi

	case $rc in
	"$KSFT_PASS") ;;
	"$KSFT_SKIP")
		directive=" # SKIP $(skip_reason "$out")" ;;
	124 | 137)
		status="not ok" directive=" # TIMEOUT $TIMEOUT seconds" ;;
	*)
		status="not ok" directive=" # exit=$rc" ;;
	esac

	splats=$(splats_since "$lines0")
	if [ -n "$splats" ]; then
		# The whole new log, capped: a splat's context is around it.
		log "kernel splat during $name:"
		echo "$splats" | head -n 20 | sed 's/^/#   splat: /'
		dmesg | tail -n +"$((lines0 + 1))" | head -n 300 | sed 's/^/#   /'
		status="not ok" directive=" # kernel splat"
	fi
	# After the splat check: a scan's own "suspected memory leaks" line
	# must not count as this test's splat; the next test starts later.
	if [ -e "$KMEMLEAK" ] && ! kmemleak_after_test "$name"; then
		status="not ok" directive=" # kmemleak: smtpgate leaked"
	fi
	taint_new=$(new_taint "$taint0")
	if [ "$taint_new" != 0 ]; then
		log "$name: kernel tainted $taint0 -> $(taint) (new bits $taint_new)"
		status="not ok" directive=" # tainted"
	fi
	if [ -e "$out.left" ]; then
		log "$name: left processes running after it exited: killed them"
		status="not ok" directive=" # left processes"
		rm -f "$out.left"
	fi
	leaked=$(reap_netns "$netns0")
	if [ -n "$leaked" ]; then
		log "$name: left network namespaces behind:$leaked"
		status="not ok" directive=" # leaked netns"
	fi
	log "$name: $((SECONDS - start)) s"
	rm -f "$out"
	echo "$status $n $name$directive"
	[ "$status" = ok ]
}

# A skipping test says why on its last output line mentioning a skip.
skip_reason() {
	local r
	r=$(grep -i 'skip' "$1" | tail -n 1 |
		sed -E 's/^[#[:space:]]*//; s/^\[?SKIP\]?:?[[:space:]]*//')
	echo "${r:-exit 4}"
}

KMEMLEAK=/sys/kernel/debug/kmemleak
# Leak reports already printed, by their first line (the object's address).
KMEMLEAK_SEEN=/tmp/kmemleak.seen

# On a debug kernel, leaks show only after a scan; the objects must be a
# few seconds old, hence the second scan.  Prints the current reports.
kmemleak_scan() {
	echo scan >"$KMEMLEAK"
	sleep 5
	echo scan >"$KMEMLEAK"
	kmemleak_known <"$KMEMLEAK"
}

# Drops the reports of the kernel's own leaks, named here one by one, each
# logged once.  6.1's sysfs_slab_add() returns without kobject_put() when
# kobject_init_and_add() fails, leaking the name kobject_set_name_vargs()
# kstrdup'ed: faults.sh fails that allocation under the module's
# kmem_cache_create(), so the backtrace names smtpgate, but the leak is
# slub's (6.12 puts the kobject).
kmemleak_known() {
	# shellcheck disable=SC2016 # an awk program
	"${AWK[@]}" '
		function flush() {
			if (rec == "")
				return
			if (rec ~ /sysfs_slab_add/ && rec ~ /kobject_set_name_vargs/) {
				if (!logged[head]++)
					printf "# vm: a known 6.1 slub leak (kobject name on a failed sysfs_slab_add), not counted: %s\n", head > "/dev/stderr"
			} else {
				printf "%s", rec
			}
			rec = ""
		}
		/^unreferenced object/ { flush(); head = $0 }
		{ rec = rec $0 "\n" }
		END { flush() }'
}

# Reads kmemleak reports on stdin and prints the ones not seen before whose
# allocation backtrace passes through smtpgate (arg "smtpgate") or not
# (arg "other"); the caller records them as seen.
kmemleak_new() {
	# shellcheck disable=SC2016 # an awk program
	"${AWK[@]}" -v want="$1" -v seenf="$KMEMLEAK_SEEN" '
		BEGIN { while ((getline l < seenf) > 0) seen[l] = 1 }
		function flush() {
			if (rec != "" && !seen[head]) {
				mine = rec ~ /smtpgate/
				if ((want == "smtpgate") == mine)
					printf "%s", rec
			}
			rec = ""
		}
		/^unreferenced object/ { flush(); head = $0 }
		{ rec = rec $0 "\n" }
		END { flush() }'
}

# After each test on a kmemleak kernel: a leak from smtpgate fails the test
# that made it (returns 1); one elsewhere is shown, as the whole-run check
# at the end will fail on it.
kmemleak_after_test() {
	local name=$1 all mine other
	all=$(kmemleak_scan)
	mine=$(echo "$all" | kmemleak_new smtpgate)
	other=$(echo "$all" | kmemleak_new other)
	echo "$all" | grep '^unreferenced object' >>"$KMEMLEAK_SEEN"
	if [ -n "$other" ]; then
		log "kmemleak after $name, outside smtpgate:"
		echo "$other" | head -n 200 | sed 's/^/#   /'
	fi
	[ -z "$mine" ] && return 0
	log "kmemleak after $name: smtpgate leaked"
	echo "$mine" | head -n 200 | sed 's/^/#   /'
	echo "$mine" >>"$SG_OUT/kmemleak-smtpgate.txt"
	return 1
}

kmemleak_check() {
	local leaks
	leaks=$(kmemleak_scan)
	if [ -n "$leaks" ]; then
		echo "$leaks" | sed 's/^/# /'
		echo "not ok $1 kmemleak"
		return 1
	fi
	echo "ok $1 kmemleak"
}

interactive_shell() {
	log "interactive shell: repo at $REPO, SG_OUT=$SG_OUT; exit to power off"
	cd "$REPO" || cd /
	TERM=linux setsid -c bash -i <>/dev/ttyS0 >&0 2>&1
}

power_off() {
	sync
	echo o >/proc/sysrq-trigger
	# sysrq works asynchronously; PID 1 must not exit before it does.
	sleep 30
	busybox poweroff -f
}

main() {
	local n=0 plan failed=0 t lines0 boot_splats
	mount_fs
	hostname smtpgate-vm
	ip link set lo up
	mount_out
	builtin_modules
	parse_cmdline
	read_job

	plan=${#TESTS[@]}
	[ -e "$KMEMLEAK" ] && plan=$((plan + 1))
	# The scans are ours, after each test, with the kernel's own known
	# leaks set aside: kmemleak's thread scanning every 10 minutes would
	# print "N new suspected memory leaks" in the middle of a long test,
	# for any leak, the known ones too (faults.sh on the debug kernel).
	[ -e "$KMEMLEAK" ] && echo scan=off >"$KMEMLEAK"
	echo "TAP version 13"
	echo "1..$plan"
	log "kernel $KVER, booted in $(cut -d' ' -f1 /proc/uptime) s"
	log "SMTPGATE_KO=${SMTPGATE_KO:-unset}"
	# Boot splats are not any test's fault but must not go unseen.
	boot_splats=$(splats_since 0)
	[ -n "$boot_splats" ] && log "splat during boot:" &&
		echo "$boot_splats" | sed 's/^/#   /'
	[ "$(new_taint 0)" != 0 ] && log "tainted at boot: $(taint)"

	for t in "${TESTS[@]}"; do
		n=$((n + 1))
		run_one "$n" "$t" || failed=$((failed + 1))
	done
	if [ -e "$KMEMLEAK" ]; then
		n=$((n + 1))
		kmemleak_check "$n" || failed=$((failed + 1))
	fi
	log "$failed of $plan failed, taint $(taint)"
	# The whole kernel log, for the splats' context and boot problems.
	dmesg >"$SG_OUT/dmesg.log" 2>&1
	[ "$INTERACTIVE" = 1 ] && interactive_shell
	log "done"
	power_off
}

main "$@"
