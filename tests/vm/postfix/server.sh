# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Start and stop the submission server (Postfix on 587 and 465, Dovecot
# SASL) inside a network namespace.  Sourced by the tests:
#
#	mailsrv_start NS DIR NAME	config, queue and logs under DIR
#	mailsrv_stop DIR
#	mailsrv_log DIR			Postfix's log so far
#
# /etc is read-only in the VM guest, so Postfix's master runs with
# `-c DIR/etc` and Dovecot with `-c DIR/dovecot.conf`; nothing outside DIR
# is written.  Credentials for the one SASL user:

MAILSRV_USER=alice@example.net
MAILSRV_PASS=smtpgate-test-secret
MAILSRV_SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

mailsrv_fill() # TEMPLATE OUT DIR NAME
{
	sed -e "s|@DIR@|$3|g" -e "s|@NAME@|$4|g" "$MAILSRV_SRCDIR/$1" >"$2"
}

mailsrv_start() # NS DIR NAME
{
	local ns=$1 dir=$2 name=$3 sub master end

	mkdir -p "$dir/etc" "$dir/spool" "$dir/data" "$dir/dovecot" \
		"$dir/dovecot-state" || return
	chmod 755 "$dir" "$dir/etc" "$dir/spool"
	chown postfix: "$dir/data"
	# The queue as postfix-files describes it.  `postfix start` would make
	# it through `postfix check`, dozens of processes that take a minute
	# in a busy TCG guest; master is started directly instead.
	for sub in active bounce corrupt defer deferred flush hold incoming \
		   private saved trace maildrop public pid; do
		mkdir -p "$dir/spool/$sub"
		chown postfix: "$dir/spool/$sub"
		chmod 700 "$dir/spool/$sub"
	done
	chown root: "$dir/spool/pid" && chmod 755 "$dir/spool/pid"
	chgrp postdrop "$dir/spool/maildrop" "$dir/spool/public"
	chmod 730 "$dir/spool/maildrop"
	chmod 710 "$dir/spool/public"
	mailsrv_fill main.cf.in "$dir/etc/main.cf" "$dir" "$name"
	mailsrv_fill master.cf.in "$dir/etc/master.cf" "$dir" "$name"
	mailsrv_fill dovecot.conf.in "$dir/dovecot.conf" "$dir" "$name"
	printf '%s:{PLAIN}%s::::::\n' "$MAILSRV_USER" "$MAILSRV_PASS" \
		>"$dir/users"
	chmod 640 "$dir/users"
	chgrp dovecot "$dir/users"
	: >"$dir/maillog"
	echo "$ns" >"$dir/netns"

	# Postfix first: Dovecot's socket goes into its spool/private.  With
	# -w, master returns once it listens (or failed to).
	master=$(postconf -dh daemon_directory)/master
	ip netns exec "$ns" "$master" -c "$dir/etc" -w \
		>"$dir/postfix-start.log" 2>&1 || {
		echo "postfix master failed to start in $ns:" >&2
		cat "$dir/postfix-start.log" "$dir/maillog" >&2
		return 1
	}
	ip netns exec "$ns" dovecot -c "$dir/dovecot.conf" \
		>"$dir/dovecot-start.log" 2>&1 || {
		echo "dovecot failed to start in $ns:" >&2
		cat "$dir/dovecot-start.log" "$dir/dovecot.log" >&2
		return 1
	}
	end=$((SECONDS + 30))
	until [[ -S $dir/spool/private/auth ]]; do
		if ((SECONDS > end)); then
			echo "dovecot in $ns made no auth socket in 30 s" >&2
			cat "$dir/dovecot.log" >&2
			return 1
		fi
		sleep 0.1
	done
}

# Stops both (SIGTERM to each master: Postfix's takes its children down);
# returns once the masters are gone.
mailsrv_stop() # DIR
{
	local dir=$1 pids=() pid i alive

	[[ -f $dir/etc/main.cf ]] || return 0
	[[ -f $dir/spool/pid/master.pid ]] &&
		pids+=("$(tr -d ' ' <"$dir/spool/pid/master.pid")")
	[[ -f $dir/dovecot/master.pid ]] &&
		pids+=("$(cat "$dir/dovecot/master.pid")")
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for ((i = 0; i < 100; i++)); do
		alive=0
		for pid in "${pids[@]}"; do
			kill -0 "$pid" 2>/dev/null && alive=1
		done
		((alive)) || return 0
		sleep 0.1
	done
	return 1
}

mailsrv_log() # DIR
{
	cat "$1/maillog"
}
