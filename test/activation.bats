#!/usr/bin/env bats
# systemd socket activation (LISTEN_PID and LISTEN_FDS, read without
# libsystemd) under systemd-socket-activate(1) on a loopback port: a
# passed listening socket feeds the worker pool, a passed connection
# (Accept=yes) is one session, and --inetd runs smtpd -i per connection.

load helper

# A dialogue that stores one message for u@example.org.
MAIL=("EHLO c" "MAIL FROM:<a@b.example>" "RCPT TO:<u@example.org>" "DATA"
    "Subject: activated" "" "hi" "." "QUIT")
HEADER='PROXY TCP4 192.0.2.1 192.0.2.2 1234 25\r\n'

setup() {
	command -v systemd-socket-activate >/dev/null ||
	    skip "systemd-socket-activate is not installed"
	smtpd_setup
	conf "workers 2"
	SPID= PORT= HOST=127.0.0.1
}

teardown() {
	kill_tree "${SPID:-}"
	kill_tree "${DPID:-}"
	SPID= DPID=
	sanitizer_quiet
}

# activate ARGS... - systemd-socket-activate listening on HOST:PORT (a
# free port unless PORT is set), to run ARGS; its output goes to $LOG
# and its pid is SPID.  Returns once the socket listens.
activate() {
	local i
	[ -n "$PORT" ] || PORT=$(free_port)
	case $HOST in
	*:*)	set -- -l "[$HOST]:$PORT" "$@" ;;
	*)	set -- -l "$HOST:$PORT" "$@" ;;
	esac
	systemd-socket-activate "$@" >>"$LOG" 2>&1 3>&- &
	SPID=$!
	for i in $(seq 1 100); do
		grep -q "^Listening on .*:$PORT as " "$LOG" && return 0
		kill -0 "$SPID" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# --- Accept=no: listening sockets feed the pool -----------------------------

@test "a passed listening socket feeds the worker pool" {
	local conf
	# Were the passed socket ignored, this line, on loopback, is what
	# smtpd would bind (and the test would see).
	conf "listen 127.0.0.1:0"
	conf=$(run_conf)
	activate "$SMTPD" -d -f "$conf"
	run smtp_tcp "${MAIL[@]}"
	[ "${lines[0]}" = "220 mx.test ESMTP smtpd" ]
	[[ "$output" == *"250 2.0.0 Ok: queued as "* ]]
	delivered_from "[127.0.0.1]" 127.0.0.1
	# systemd-socket-activate execs smtpd: the master has its pid.
	grep -q "event=start pid=$SPID " "$LOG"
	[ "$(grep -c 'event=listen ' "$LOG")" -eq 1 ]
	grep -q "event=listen addr=127\.0\.0\.1:$PORT from=activated$" "$LOG"
}

@test "the pool expects PROXY headers on a passed socket named by a proxy line" {
	local conf
	PORT=$(free_port)
	conf "listen 127.0.0.1:$PORT proxy" "proxy-timeout 1"
	conf=$(run_conf)
	activate "$SMTPD" -d -f "$conf"
	run header_session "$HEADER" "${MAIL[@]}"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "220 mx.test ESMTP smtpd" ]
	delivered_from "[192.0.2.1]" 192.0.2.1
	grep -q "event=listen addr=127\.0\.0\.1:$PORT proxy=yes from=activated$" \
	    "$LOG"
}

@test "the pool expects PROXY headers on a passed IPv6 socket named by a proxy line" {
	local conf
	HOST=::1 PORT=$(free_port)
	conf "listen [::1]:$PORT proxy" "proxy-timeout 1"
	conf=$(run_conf)
	activate "$SMTPD" -d -f "$conf"
	run header_session "$HEADER" "${MAIL[@]}"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "220 mx.test ESMTP smtpd" ]
	delivered_from "[192.0.2.1]" 192.0.2.1
	grep -q "event=listen addr=\[::1\]:$PORT proxy=yes from=activated$" "$LOG"
}

@test "a proxy line for another port leaves the passed socket plain" {
	local conf
	PORT=$(free_port)
	conf "listen 127.0.0.1:$((PORT == 65535 ? PORT - 1 : PORT + 1)) proxy"
	conf=$(run_conf)
	activate "$SMTPD" -d -f "$conf"
	run smtp_tcp "PROXY TCP4 192.0.2.1 192.0.2.2 1234 25" "QUIT"
	[ "${lines[0]}" = "220 mx.test ESMTP smtpd" ]
	[[ "${lines[1]}" == "500 5.5.2 "* ]]
	grep -q "event=listen addr=127\.0\.0\.1:$PORT from=activated$" "$LOG"
}

@test "LISTEN_FDS meant for another process is ignored" {
	LISTEN_PID=1 LISTEN_FDS=1 daemon_start
	run smtp_tcp "QUIT"
	[ "${lines[0]}" = "220 mx.test ESMTP smtpd" ]
	grep -q "event=listen addr=127\.0\.0\.1:$PORT$" "$LOG"
	! grep -q 'from=activated' "$LOG"
}

# --- Accept=yes: one connection, one smtpd ----------------------------------

@test "a passed connection (Accept=yes) is served once and smtpd exits" {
	local conf
	conf=$(run_conf)
	activate -a "$SMTPD" -d -f "$conf"
	run smtp_tcp "${MAIL[@]}"
	[ "${lines[0]}" = "220 mx.test ESMTP smtpd" ]
	[[ "$output" == *"250 2.0.0 Ok: queued as "* ]]
	delivered_from "[127.0.0.1]" 127.0.0.1
	wait_log '^Child [0-9]+ died with code 0$'
	! grep -q 'event=start' "$LOG"
}

@test "no PROXY header is read on a passed connection, even under a proxy line" {
	local conf
	PORT=$(free_port)
	conf "listen 127.0.0.1:$PORT proxy" "proxy-timeout 1"
	conf=$(run_conf)
	activate -a "$SMTPD" -d -f "$conf"
	run smtp_tcp "PROXY TCP4 192.0.2.1 192.0.2.2 1234 25" "QUIT"
	[ "${lines[0]}" = "220 mx.test ESMTP smtpd" ]
	[[ "${lines[1]}" == "500 5.5.2 "* ]]
	[ "${lines[2]}" = "221 2.0.0 mx.test closing connection" ]
	grep -q 'event=proxy-ignored' "$LOG"
}

# --- inetd: the connection on fds 0 and 1 -----------------------------------

@test "systemd-socket-activate --inetd runs smtpd -i for each connection" {
	local conf
	conf=$(run_conf)
	activate --inetd -a "$SMTPD" -i -d -f "$conf"
	run smtp_tcp "${MAIL[@]}"
	[ "${lines[0]}" = "220 mx.test ESMTP smtpd" ]
	[[ "$output" == *"250 2.0.0 Ok: queued as "* ]]
	run smtp_tcp "${MAIL[@]}"
	[[ "$output" == *"250 2.0.0 Ok: queued as "* ]]
	[ "$(count_messages example.org u)" -eq 2 ]
	grep -Fq "Received: from c ([127.0.0.1])" \
	    "$(maildir_files example.org u | head -n 1)"
	wait_log '^Child [0-9]+ died with code 0$'
	[ "$(grep -Ec '^Spawned .* as PID [0-9]+\.$' "$LOG")" -eq 2 ]
	! grep -q 'event=start' "$LOG"
}
