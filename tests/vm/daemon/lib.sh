# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# smtpgated in the VM tests: sourced after lib.sh, net.sh (with
# SMTPGATE_TEST_GW_NETNS=1) and ctl-lib.sh.  The daemon runs in the gateway
# namespace with -f, its log in $D_LOG, its state in $D_STATE, and tells a
# socat "systemd" on $NET_DIR/notify.sock when it is ready.
#
#	d_init				paths, the notify receiver; after net_setup
#	d_conf FILE [KEY=VALUE...]	the tests' smtpgate.conf, keys overridden
#	d_start / d_kill SIGNAL		start (until READY=1) / signal and reap
#	d_logged ERE [SECS]		a line of the daemon's log matches
#	d_cleanup			kills what is left (the trap's part)
#	notified WORD			how many times systemd heard WORD
#	stored ERE / stored_count ERE	lines of the saved state
#	not_stored ERE			no line of it matches
#	state_dump			the saved state: the snapshot with its
#					journal replayed (smtpgated --dump-state)
#	step DESC CMD...		check, in this shell (state changes)
#	more_than N CMD...		CMD prints a number > N (for poll_until,
#					which expands $(...) only once)
#	in_range V LOW HIGH, not_banned ADDR, ban_timeout ADDR,
#	unreachable ROLE ADDR PORT

SGD=${SGD:-$SMTPGATE_REPO/userspace/daemon/smtpgated}
D_PID='' D_LOG='' D_CONF='' D_STATE='' NOTIFY_PID=''

d_init()
{
	D_LOG=$NET_DIR/smtpgated.log D_CONF=$NET_DIR/smtpgate.conf
	D_STATE=$NET_DIR/state
	socat -u UNIX-RECV:"$NET_DIR/notify.sock" \
		OPEN:"$NET_DIR/notify.log",creat,append 2>/dev/null &
	NOTIFY_PID=$!
	poll_until 5 test -S "$NET_DIR/notify.sock"
}

d_cleanup()
{
	[[ -n $D_PID ]] && kill -KILL "$D_PID" 2>/dev/null
	[[ -n $D_STATE && -s $D_STATE/lock ]] &&
		kill -KILL "$(cat "$D_STATE/lock")" 2>/dev/null
	[[ -n $NOTIFY_PID ]] && kill "$NOTIFY_PID" 2>/dev/null
	[[ -n $D_LOG && -f $D_LOG ]] &&
		cp "$D_LOG" "$SG_OUT/$(basename "$0" .sh).smtpgated.log" 2>/dev/null
	return 0
}

# The policy of the tests: window 1h, a burst of 20 SYNs flags (rate 15),
# bans of scope all, the peer as walled garden; KEY=VALUE pairs replace
# a key's line.
d_conf() # FILE [KEY=VALUE...]
{
	local file=$1 kv
	shift
	cat >"$file" <<CONF
# smtpgate.conf for $(basename "$0")
internal = $LAN4, $LAN6
exempt = $MAILSRV4,
	$MAILSRV6
window = 1h
rate_limit = 15
blocked_limit = 0
dest_limit = 0
ban_scope = all
walled_garden = $PEER4
ban_first = 20s
ban_factor = 2
ban_max = 1h
ban_decay = 15s
allowlist = 192.0.2.200
on_ban = echo "ban \$SMTPGATE_HOST \$SMTPGATE_DURATION \$SMTPGATE_OFFENCE \$SMTPGATE_ORIGIN" >>$NET_DIR/hooks.log
on_unban = echo "unban \$SMTPGATE_HOST \$SMTPGATE_WHY" >>$NET_DIR/hooks.log
hook_timeout = 5s
state_dir = $D_STATE
metrics_file = $NET_DIR/smtpgate.prom
metrics_interval = 1s
CONF
	for kv in "$@"; do
		if grep -q "^${kv%%=*} = " "$file"; then
			sed -i "s|^${kv%%=*} = .*|${kv%%=*} = ${kv#*=}|" "$file"
		else
			echo "${kv%%=*} = ${kv#*=}" >>"$file"
		fi
	done
}

notified() # WORD
{
	grep -o "$1" "$NET_DIR/notify.log" 2>/dev/null | wc -l
}

more_than() # N CMD...
{
	local n=$1
	shift
	(($("$@") > n))
}

d_start()
{
	local ready
	ready=$(notified READY=1)
	NOTIFY_SOCKET=$NET_DIR/notify.sock \
		ip netns exec "$NET_GW_NS" "$SGD" -f -c "$D_CONF" >>"$D_LOG" 2>&1 &
	D_PID=$!
	poll_until 60 more_than "$ready" notified READY=1 || {
		echo "# no READY=1 after $ready: $(tr '\n' ' ' <"$NET_DIR/notify.log")"
		tail -n 3 "$D_LOG" | sed 's/^/#   /'
		return 1
	}
}

d_kill() # SIGNAL
{
	kill -"$1" "$D_PID" && wait "$D_PID" 2>/dev/null
	D_PID=
	return 0
}

# $D_LOG is the daemon's stderr, where every line starts with
# "smtpgated: ": an ERE anchored with ^ is anchored after it.
d_logged() # ERE [SECS]
{
	local re=$1

	[[ $re == ^* ]] && re="^smtpgated: ${re#^}"
	poll_until "${2:-10}" grep -qE -- "$re" "$D_LOG" || {
		echo "no log line matches: $re"
		tail -n 5 "$D_LOG"
		return 1
	}
}

# What a restart would load: the snapshot and its journal, read-only, so
# beside the running daemon too (an append under way reads as a torn
# tail, left out).  The snapshot alone lags the journal.
state_dump()
{
	"$SGD" --dump-state -c "$D_CONF" 2>/dev/null
}

# Not piped: grep -q leaving early must not fail the dump.
stored() # ERE
{
	local state
	state=$(state_dump)
	grep -qE -- "$1" <<<"$state"
}

not_stored() # ERE
{
	! stored "$1"
}

stored_count() # ERE
{
	local state
	state=$(state_dump)
	grep -cE -- "$1" <<<"$state"
}

step() # DESCRIPTION CMD...
{
	local desc=$1
	shift
	if "$@"; then
		tap_ok "$desc"
	else
		tap_fail "$desc"
	fi
}

in_range() # VALUE LOW HIGH
{
	if ! [[ $1 =~ ^[0-9]+$ ]] || (($1 < $2 || $1 > $3)); then
		echo "$1 not in [$2, $3]"
		return 1
	fi
}

not_banned() # ADDR
{
	! ctl banned "$1"
}

ban_timeout() # ADDR: seconds left of its ban, "null" if permanent
{
	ctl -j banned "$1" | jq -r '.ban.timeout'
}

unreachable() # ROLE ADDR PORT
{
	! net_tcp "$1" "$2" "$3" 1 >/dev/null 2>&1
}
