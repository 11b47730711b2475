#!/usr/bin/env bats
# Readiness for systemd (smtpd(8), "Readiness"): the master's messages
# on NOTIFY_SOCKET, as sd_notify(3) defines them.  test/notifysink plays
# systemd's end: it prints each message, with the time it came, and
# checks, the moment a READY=1 arrives, that the port takes connections
# and how many workers the master has.

load helper

setup() {
	smtpd_setup
	# Reachable by nobody, whom the master becomes when run as root.
	SOCK=$BATS_FILE_TMPDIR/notify.$BATS_TEST_NUMBER
	NOTES=$TMP/notify
	SINK=
}

teardown() {
	daemon_teardown
	[ -z "$SINK" ] || kill "$SINK" 2>/dev/null || true
	sanitizer_quiet
}

# sink NAME - test/notifysink on NAME, checking $PORT (a port chosen
# here and listened on by the daemon); returns once it is bound.
sink() {
	PORT=$(free_port)
	conf "listen 127.0.0.1:$PORT"
	"$BATS_TEST_DIRNAME/notifysink" "$1" 30 "$PORT" >"$NOTES" 2>&1 3>&- &
	SINK=$!
	wait_for grep -q '^bound$' "$NOTES"
}

# notes VAR - the messages that hold VAR=..., in order, one a line.
notes() {
	grep -E "^at=[0-9]+ (.*\|)?$1=" "$NOTES" || true
}

# readies N - N messages with READY=1 have come.
readies() {
	[ "$(notes READY | wc -l)" -eq "$1" ]
}

@test "READY=1 comes once the port takes connections and the whole pool is forked" {
	conf "workers 64"
	sink "$SOCK"
	daemon_start env NOTIFY_SOCKET="$SOCK"
	wait_for grep -q 'READY=1' "$NOTES"
	cat "$NOTES"
	# Checked while the master was stopped: every worker was there.
	[ "$(grep -c '^checked ' "$NOTES")" -eq 1 ]
	grep -qx 'checked connect=ok children=64' "$NOTES"
	notes READY | grep -Eq "^at=[0-9]+ READY=1\|MAINPID=$DPID\|STATUS=accepting mail: 64 workers$"
	# It is the master that says so, and only once.
	[ "$(notes READY | wc -l)" -eq 1 ]
	run smtp_tcp "EHLO c" "QUIT"
	[[ "$output" == *"221 2.0.0 "* ]]
}

@test "SIGHUP: RELOADING=1 with the time, then READY=1 once the new pool is forked" {
	conf "workers 4"
	sink "$SOCK"
	daemon_start env NOTIFY_SOCKET="$SOCK"
	wait_for grep -q 'READY=1' "$NOTES"
	conf "workers 24"
	run_conf >/dev/null
	kill -HUP "$DPID"
	wait_for readies 2
	cat "$NOTES"
	[ "$(notes RELOADING | wc -l)" -eq 1 ]
	# Start, reload, ready again: in that order.
	run sed -n 's/^at=[0-9]* \([A-Z]*\)=1.*/\1/p' "$NOTES"
	[ "$output" = "$(printf 'READY\nRELOADING\nREADY')" ]
	# MONOTONIC_USEC is CLOCK_MONOTONIC in microseconds when it was sent:
	# at most a second before it arrived, and not after.
	line=$(notes RELOADING)
	at=${line#at=}
	at=${at%% *}
	sent=$(printf '%s\n' "$line" | sed -n 's/.*|MONOTONIC_USEC=\([0-9]*\)|.*/\1/p')
	[ -n "$sent" ]
	[ "$sent" -le "$at" ]
	[ $((at - sent)) -lt 1000000 ]
	# The second READY=1 saw the 24 new workers (and perhaps old ones
	# still leaving).
	children=$(sed -n 's/^checked connect=ok children=//p' "$NOTES" | tail -n 1)
	[ "$children" -ge 24 ]
	notes READY | tail -n 1 | grep -q 'STATUS=accepting mail: 24 workers$'
	grep -q 'event=reload ' "$LOG"
}

@test "a reload of a broken file still ends in READY=1: the old configuration serves" {
	sink "$SOCK"
	daemon_start env NOTIFY_SOCKET="$SOCK"
	wait_for grep -q 'READY=1' "$NOTES"
	conf "no-such-keyword"
	run_conf >/dev/null
	kill -HUP "$DPID"
	wait_log 'event=reload-failed '
	wait_for readies 2
	[ "$(notes RELOADING | wc -l)" -eq 1 ]
}

@test "SIGTERM: STOPPING=1 is the last message, and the daemon exits 0" {
	sink "$SOCK"
	daemon_start env NOTIFY_SOCKET="$SOCK"
	wait_for grep -q 'READY=1' "$NOTES"
	kill -TERM "$DPID"
	gone_within "$DPID" 15
	wait "$DPID"
	DPID=
	wait_for grep -q 'STOPPING=1' "$NOTES"
	cat "$NOTES"
	tail -n 1 "$NOTES" | grep -Eq '^at=[0-9]+ STOPPING=1\|STATUS=stopping: '
	port_closed
	# The sink ends after STOPPING=1.
	gone_within "$SINK" 5
}

@test "an abstract socket: NOTIFY_SOCKET=@name" {
	name="@smtpd-notify-test-$$-$BATS_TEST_NUMBER-$RANDOM"
	sink "$name"
	grep -q " ${name}\$" /proc/net/unix
	daemon_start env NOTIFY_SOCKET="$name"
	wait_for grep -q 'READY=1' "$NOTES"
	grep -q '^checked connect=ok ' "$NOTES"
	kill -TERM "$DPID"
	wait_for grep -q 'STOPPING=1' "$NOTES"
	! grep -q 'event=notify-failed' "$LOG"
}

@test "a NOTIFY_SOCKET that leads nowhere: the daemon serves, and says so once" {
	conf "listen 127.0.0.1:$(free_port)"
	daemon_start env NOTIFY_SOCKET="$BATS_FILE_TMPDIR/nobody-listens"
	run smtp_tcp "EHLO c" "QUIT"
	[[ "$output" == *"221 2.0.0 "* ]]
	# Start, reload and stop each fail to send; one line says it.
	kill -HUP "$DPID"
	wait_log 'event=reload '
	kill -TERM "$DPID"
	gone_within "$DPID" 15
	wait "$DPID"
	DPID=
	cat "$LOG"
	[ "$(grep -c 'event=notify-failed' "$LOG")" -eq 1 ]
	grep -Eq "^event=notify-failed socket=\"$BATS_FILE_TMPDIR/nobody-listens\" error=\"No such file or directory\" action=ignored$" "$LOG"
}

@test "a NOTIFY_SOCKET that is no socket address is refused in one line too" {
	conf "listen 127.0.0.1:$(free_port)"
	daemon_start env NOTIFY_SOCKET="relative/path"
	run smtp_tcp "EHLO c" "QUIT"
	[[ "$output" == *"221 2.0.0 "* ]]
	[ "$(grep -c 'event=notify-failed' "$LOG")" -eq 1 ]
	grep -q 'event=notify-failed socket="relative/path" error="Invalid argument"' "$LOG"
}

# /proc/PID/environ cannot tell: it is the block the process was
# exec()ed with, which unsetenv() does not touch.  What a process, and
# anything it started, would see is what getenv() gives: asked with gdb.
@test "NOTIFY_SOCKET is gone from the environment of the master and its workers" {
	command -v gdb >/dev/null || skip "gdb is not installed"
	conf "workers 1"
	sink "$SOCK"
	daemon_start env NOTIFY_SOCKET="$SOCK"
	wait_for grep -q 'READY=1' "$NOTES"
	worker=$(some_workers "$DPID")
	for pid in "$DPID" "$worker"; do
		run timeout 60 gdb -p "$pid" -batch \
		    -ex 'call (char *)getenv("NOTIFY_SOCKET")'
		[[ "$output" != *"ptrace: Operation not permitted"* ]] ||
		    skip "gdb cannot attach here"
		echo "$output"
		[[ "$output" == *'$1 = 0x0'* ]]
	done
	# The same question finds a variable that is there.
	run timeout 60 gdb -p "$worker" -batch -ex 'call (char *)getenv("PATH")'
	[[ "$output" == *'$1 = 0x'[0-9a-f]*' "'* ]]
	# Only the master speaks: one READY=1, from it.
	[ "$(notes READY | wc -l)" -eq 1 ]
}

@test "smtpd -i says nothing on NOTIFY_SOCKET" {
	sink "$SOCK"
	run_conf >/dev/null		# nobody may reach the socket, as root
	NOTIFY_SOCKET=$SOCK run smtp "EHLO c" "QUIT"
	[ "$status" -eq 0 ]
	[[ "$output" == *"221 2.0.0 "* ]]
	sleep 0.5
	[ "$(cat "$NOTES")" = bound ]
	# The sink did listen: the daemon's READY=1 reaches it.
	daemon_start env NOTIFY_SOCKET="$SOCK"
	wait_for grep -q 'READY=1' "$NOTES"
}
