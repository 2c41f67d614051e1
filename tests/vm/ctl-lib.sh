# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# smtpgatectl in the VM tests: sourced after lib.sh and net.sh, with
# SMTPGATE_TEST_GW_NETNS=1 set before net.sh, so the gateway is a namespace
# that smtpgatectl configures (module parameters only reach the initial one).
#
#	ctl ARGS...			smtpgatectl in the gateway namespace
#	ctl_load_module			smtpgate without parameters (it polices
#					nothing in the initial namespace)
#	ctl_expect RC ERR DESC ARGS...	runs ctl ARGS; ok when the exit status
#					is RC and the first line of stderr is
#					exactly ERR ("": anything)
#	mon_start / mon_stop		smtpgatectl -j monitor in the gateway,
#					into $MON_OUT, ready once started
#	mon_wait SECS JQ_FILTER		polls $MON_OUT for an event matching
#	json_norm			stdin JSON with times and seconds left
#					replaced by placeholders (sorted keys)
#	golden_check DESC NAME JSON	compares with tests/vm/golden/NAME and
#					leaves what was seen in $SG_OUT/golden

CTL=${CTL:-$SMTPGATE_REPO/userspace/ctl/smtpgatectl}
GOLDEN_DIR=$SMTPGATE_REPO/tests/vm/golden
MON_PID='' MON_OUT=''

ctl()
{
	"$CTL" -n "$NET_GW_NS" "$@"
}

ctl_load_module()
{
	sg_unload || return
	sg_deps || return
	insmod "$SMTPGATE_KO"
}

ctl_expect() # RC ERR DESC ARGS...
{
	local rc=$1 want=$2 desc=$3 got err
	shift 3
	err=$(ctl "$@" 2>&1 >/dev/null)
	got=$?
	# Usage errors add the command's grammar on a second line.
	if [[ $got == "$rc" && ( -z $want || ${err%%$'\n'*} == "$want" ) ]]; then
		tap_ok "$desc"
		return 0
	fi
	tap_fail "$desc"
	echo "#   smtpgatectl $*: exit $got (want $rc)"
	echo "#   stderr: $err"
	[[ -n $want ]] && echo "#   wanted: $want"
	return 1
}

# A probe ban's event proves that the monitor has joined the group.
MON_PROBE=198.18.0.1
mon_probe()
{
	ctl ban "$MON_PROBE" --reason probe 2>/dev/null
	grep -q "\"$MON_PROBE/32\"" "$MON_OUT"
}

mon_start()
{
	MON_OUT=$NET_DIR/monitor.jsonl
	: >"$MON_OUT"
	"$CTL" -n "$NET_GW_NS" -j monitor >"$MON_OUT" 2>"$MON_OUT.err" &
	MON_PID=$!
	NET_PIDS+=("$MON_PID")
	poll_until 20 mon_probe || {
		echo "# monitor did not start: $(cat "$MON_OUT.err")"
		return 1
	}
	ctl unban "$MON_PROBE" &&
	mon_wait 10 'select(.event == "ban-removed" and .ban.prefix == "'$MON_PROBE'/32")' >/dev/null
}

# Ends the monitor; fails unless it exits 0 on SIGTERM.  Not in a
# subshell: only this shell can wait for it.
mon_stop()
{
	local rc
	[[ -n $MON_PID ]] || return 0
	kill -TERM "$MON_PID" 2>/dev/null
	wait "$MON_PID"
	rc=$?
	MON_PID=
	[[ $rc == 0 ]] || { echo "monitor exited $rc: $(cat "$MON_OUT.err")"; return 1; }
}

# The monitor's events without the probe's.
mon_events()
{
	jq -c 'select(.ban.prefix != "'$MON_PROBE'/32")' "$MON_OUT"
}

mon_match() # JQ_FILTER
{
	local out
	out=$(jq -c "$1" "$MON_OUT" 2>/dev/null) && [[ -n $out ]] &&
		echo "$out"
}

mon_wait() # SECS JQ_FILTER: prints the matching events
{
	poll_until "$1" mon_match "$2" >/dev/null && mon_match "$2"
}

# Times and seconds left change from run to run: placeholders.
JSON_NORM='walk(if type == "object" then with_entries(
	if (.key | test("^(time|created|first_seen|last_seen|flagged_at)$"))
	   and (.value | type) == "number" then .value = "TIME"
	elif .key == "timeout" and (.value | type) == "number" and .value > 0
	then .value = "LEFT"
	elif .key == "generation" then .value = "GEN"
	elif .key == "instance" then .value = "INSTANCE"
	elif (.key | test("^(host|ban)_bytes$")) then .value = "BYTES"
	else . end) else . end)'

json_norm()
{
	jq -S -c "$JSON_NORM"
}

golden_check() # DESC NAME JSON
{
	local desc=$1 name=$2 got out
	got=$(json_norm <<<"$3") || {
		tap_fail "$desc: not JSON: $3"
		return 1
	}
	mkdir -p "$SG_OUT/golden" && echo "$got" >"$SG_OUT/golden/$name"
	if out=$(diff -u <(json_norm <"$GOLDEN_DIR/$name") - <<<"$got" 2>&1); then
		tap_ok "$desc"
		return 0
	fi
	tap_fail "$desc (golden/$name)"
	echo "$out" | sed 's/^/#   /'
	return 1
}

# The flagged count in stats is the number of hosts listed as flagged, and
# stats pass the jq condition $1 too (default: true).
flagged_consistent() # [JQ-COND]
{
	local st n
	st=$(ctl -j stats) && n=$(ctl -j hosts --flagged | jq length) || return
	jq -e "(${1:-true}) and .flagged == $n" >/dev/null <<<"$st" && return
	echo "#   stats $st, listed flagged $n"
	return 1
}
