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
# /etc is read-only in the VM guest, so Postfix runs with `postfix -c DIR/etc`
# and Dovecot with `dovecot -c DIR/dovecot.conf`; nothing outside DIR is
# written.  Credentials for the one SASL user:

MAILSRV_USER=alice@example.net
MAILSRV_PASS=smtpgate-test-secret
MAILSRV_SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

mailsrv_fill() # TEMPLATE OUT DIR NAME
{
	sed -e "s|@DIR@|$3|g" -e "s|@NAME@|$4|g" "$MAILSRV_SRCDIR/$1" >"$2"
}

mailsrv_start() # NS DIR NAME
{
	local ns=$1 dir=$2 name=$3 i

	mkdir -p "$dir/etc" "$dir/spool" "$dir/data" "$dir/dovecot" \
		"$dir/dovecot-state" || return
	# postfix check insists on root-owned parents with no group/world write.
	chmod 755 "$dir" "$dir/etc"
	chown postfix: "$dir/data"
	mailsrv_fill main.cf.in "$dir/etc/main.cf" "$dir" "$name"
	mailsrv_fill master.cf.in "$dir/etc/master.cf" "$dir" "$name"
	mailsrv_fill dovecot.conf.in "$dir/dovecot.conf" "$dir" "$name"
	printf '%s:{PLAIN}%s::::::\n' "$MAILSRV_USER" "$MAILSRV_PASS" \
		>"$dir/users"
	chmod 640 "$dir/users"
	chgrp dovecot "$dir/users"
	: >"$dir/maillog"

	# Postfix first: it creates spool/private, where Dovecot's socket goes.
	ip netns exec "$ns" postfix -c "$dir/etc" start \
		>"$dir/postfix-start.log" 2>&1 || {
		echo "postfix failed to start in $ns:" >&2
		cat "$dir/postfix-start.log" "$dir/maillog" >&2
		return 1
	}
	ip netns exec "$ns" dovecot -c "$dir/dovecot.conf" \
		>"$dir/dovecot-start.log" 2>&1 || {
		echo "dovecot failed to start in $ns:" >&2
		cat "$dir/dovecot-start.log" "$dir/dovecot.log" >&2
		return 1
	}
	# Ready when smtpd listens on both ports and Dovecot's socket exists.
	for ((i = 0; i < 200; i++)); do
		if [[ -S $dir/spool/private/auth ]] &&
		   ip netns exec "$ns" ss -Hltn 'sport = :587' | grep -q . &&
		   ip netns exec "$ns" ss -Hltn 'sport = :465' | grep -q .; then
			return 0
		fi
		sleep 0.1
	done
	echo "submission server in $ns not listening after 20 s" >&2
	cat "$dir/maillog" "$dir/dovecot.log" >&2
	return 1
}

# Stops both; returns once their master processes are gone.
mailsrv_stop() # DIR
{
	local dir=$1 pids=() pid i alive

	[[ -f $dir/etc/main.cf ]] || return 0
	[[ -f $dir/spool/pid/master.pid ]] &&
		pids+=("$(tr -d ' ' <"$dir/spool/pid/master.pid")")
	[[ -f $dir/dovecot/master.pid ]] &&
		pids+=("$(cat "$dir/dovecot/master.pid")")
	postfix -c "$dir/etc" stop >/dev/null 2>&1
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
