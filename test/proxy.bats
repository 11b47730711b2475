#!/usr/bin/env bats
# The PROXY protocol (HAProxy, v1 text and v2 binary) on a "listen ...
# proxy" socket: the address in the header is the client's; a missing,
# malformed, over-long, truncated or slow header closes the connection
# before the greeting.

load helper

# Version 2 as printf %b escapes: the signature, then the addresses of
# 192.0.2.1:1234 -> 192.0.2.2:25 and [2001:db8::1]:1234 -> [2001:db8::2]:25.
SIG='\x0d\x0a\x0d\x0a\x00\x0d\x0a\x51\x55\x49\x54\x0a'
ADDR4='\xc0\x00\x02\x01\xc0\x00\x02\x02\x04\xd2\x00\x19'
ADDR6='\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01'
ADDR6+='\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02'
ADDR6+='\x04\xd2\x00\x19'

# A dialogue that stores one message for u@example.org.
MAIL=("EHLO c" "MAIL FROM:<a@b.example>" "RCPT TO:<u@example.org>" "DATA"
    "Subject: proxy" "" "hi" "." "QUIT")

setup() {
	smtpd_setup
	conf "workers 2"
	WRITER=
}

teardown() {
	if [ -n "$WRITER" ]; then
		kill "$WRITER" 2>/dev/null
		wait "$WRITER" 2>/dev/null
	fi
	daemon_teardown
	sanitizer_quiet
}

# proxy_start [SECONDS] - the daemon on "listen 127.0.0.1:0 proxy" with
# that proxy-timeout (1 s unless told).
proxy_start() {
	conf "listen 127.0.0.1:0 proxy" "proxy-timeout ${1:-1}"
	daemon_start
}

# refused - the header was refused, logged with the balancer's address
# and a reason, and no session began.
refused() {
	grep -Eq "event=proxy-refused peer=127\.0\.0\.1 listen=127\.0\.0\.1:$PORT reason=[a-z0-9-]+$" "$LOG"
	! grep -q 'event=connect' "$LOG"
}

# --- headers that name the client -------------------------------------------

@test "PROXY v1 TCP4: the header's address is the client's" {
	proxy_start
	run header_session 'PROXY TCP4 192.0.2.1 192.0.2.2 1234 25\r\n' "${MAIL[@]}"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "220 mx.test ESMTP smtpd" ]
	[[ "$output" == *"250 2.0.0 Ok: queued as "* ]]
	delivered_from "[192.0.2.1]" 192.0.2.1
}

@test "PROXY v1 TCP6: the address is written as an IPv6 literal" {
	proxy_start
	run header_session 'PROXY TCP6 2001:db8::1 2001:db8::2 1234 25\r\n' "${MAIL[@]}"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "220 mx.test ESMTP smtpd" ]
	delivered_from "[IPv6:2001:db8::1]" "[2001:db8::1]"
}

@test "PROXY v1 UNKNOWN: the socket's own peer is the client" {
	proxy_start
	run header_session 'PROXY UNKNOWN\r\n' "${MAIL[@]}"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "220 mx.test ESMTP smtpd" ]
	delivered_from "[127.0.0.1]" 127.0.0.1
}

@test "PROXY v2 TCP4: the header's address is the client's" {
	proxy_start
	run header_session "${SIG}\x21\x11\x00\x0c${ADDR4}" "${MAIL[@]}"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "220 mx.test ESMTP smtpd" ]
	delivered_from "[192.0.2.1]" 192.0.2.1
}

@test "PROXY v2 TCP6: the address is written as an IPv6 literal" {
	proxy_start
	run header_session "${SIG}\x21\x21\x00\x24${ADDR6}" "${MAIL[@]}"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "220 mx.test ESMTP smtpd" ]
	delivered_from "[IPv6:2001:db8::1]" "[2001:db8::1]"
}

@test "PROXY v2 LOCAL: the socket's own peer is the client" {
	proxy_start
	run header_session "${SIG}\x20\x00\x00\x00" "${MAIL[@]}"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "220 mx.test ESMTP smtpd" ]
	delivered_from "[127.0.0.1]" 127.0.0.1
}

@test "PROXY v2 of exactly 536 octets (TLVs after the addresses) is taken" {
	local pad
	# 16 fixed + 12 addresses + a NOOP TLV of 3 + 505 octets = 536.
	pad=$(printf '\\x00%.0s' $(seq 505))
	proxy_start
	run header_session "${SIG}\x21\x11\x02\x08${ADDR4}\x04\x01\xf9${pad}" "${MAIL[@]}"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "220 mx.test ESMTP smtpd" ]
	delivered_from "[192.0.2.1]" 192.0.2.1
}

@test "PROXY v1 of exactly 107 octets is taken" {
	local pad
	# "PROXY UNKNOWN " (14) + 91 + CRLF = 107; UNKNOWN ignores the rest.
	pad=$(printf 'x%.0s' $(seq 91))
	proxy_start
	run header_session "PROXY UNKNOWN ${pad}\r\n" "QUIT"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "220 mx.test ESMTP smtpd" ]
	[ "${lines[1]}" = "221 2.0.0 mx.test closing connection" ]
}

@test "the header and EHLO in one write: nothing after the header is lost" {
	proxy_start
	run send 'PROXY TCP4 192.0.2.1 192.0.2.2 1234 25\r\nEHLO c\r\nQUIT\r\n'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "220 mx.test ESMTP smtpd" ]
	[ "${lines[1]}" = "250-mx.test Hello c" ]
	[ "${lines[-1]}" = "221 2.0.0 mx.test closing connection" ]
	grep -q 'event=connect peer=192\.0\.2\.1$' "$LOG"
}

@test "a header in two pieces within proxy-timeout is taken" {
	local fd us
	proxy_start
	# Start 0.6 s past a second and pause 0.5 s, so that the header
	# spans a tick of the clock: a deadline kept in whole seconds
	# refused it.
	us=${EPOCHREALTIME#*.}
	sleep "$(printf '0.%06d' $(((1600000 - 10#$us) % 1000000)))"
	exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"
	printf 'PROXY TCP4 192.0.2.1 ' >&"$fd"
	sleep 0.5
	printf '192.0.2.2 1234 25\r\nQUIT\r\n' >&"$fd"
	run replies "$fd"
	exec {fd}>&-
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "220 mx.test ESMTP smtpd" ]
	[ "${lines[1]}" = "221 2.0.0 mx.test closing connection" ]
	grep -q 'event=connect peer=192\.0\.2\.1$' "$LOG"
}

# --- headers that are refused -----------------------------------------------
#
# Each is followed by a dialogue, so that a server that wrongly took the
# header would answer (and the test fail) instead of leaving us waiting.

@test "PROXY v1 with an unknown family is refused without a greeting" {
	proxy_start
	run send 'PROXY UDP6 2001:db8::1 2001:db8::2 1234 25\r\nEHLO c\r\nQUIT\r\n'
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	refused
}

@test "PROXY v1 with a bad address is refused without a greeting" {
	proxy_start
	run send 'PROXY TCP4 192.0.2.256 192.0.2.2 1234 25\r\nEHLO c\r\nQUIT\r\n'
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	refused
}

@test "PROXY v1 with an IPv6 address under TCP4 is refused" {
	proxy_start
	run send 'PROXY TCP4 2001:db8::1 192.0.2.2 1234 25\r\nEHLO c\r\nQUIT\r\n'
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	refused
}

@test "PROXY v1 with a port with a leading zero is refused" {
	proxy_start
	run send 'PROXY TCP4 192.0.2.1 192.0.2.2 01234 25\r\nEHLO c\r\nQUIT\r\n'
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	refused
}

@test "PROXY v1 ended by a bare LF is refused" {
	proxy_start
	run send 'PROXY TCP4 192.0.2.1 192.0.2.2 1234 25\nEHLO c\r\nQUIT\r\n'
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	refused
}

@test "PROXY v1 without CRLF is refused as soon as the client closes" {
	local fd
	# A long proxy-timeout: the refusal must come from the close.
	proxy_start 30
	exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"
	printf 'PROXY TCP4 192.0.2.1 192.0.2.2 1234 25' >&"$fd"
	exec {fd}>&-
	wait_log 'event=proxy-refused'
	refused
}

@test "PROXY v1 longer than 107 octets is refused" {
	local pad
	# "PROXY UNKNOWN " (14) + 92 + CRLF = 108.
	pad=$(printf 'x%.0s' $(seq 92))
	proxy_start
	run send "PROXY UNKNOWN ${pad}\r\nEHLO c\r\nQUIT\r\n"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	refused
}

@test "PROXY v2 with a wrong signature is refused" {
	proxy_start
	run send "${SIG%x0a}x0b\x21\x11\x00\x0c${ADDR4}EHLO c\r\nQUIT\r\n"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	refused
}

@test "PROXY v2 with a version nibble other than 2 is refused" {
	proxy_start
	run send "${SIG}\x11\x11\x00\x0c${ADDR4}EHLO c\r\nQUIT\r\n"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	refused
}

@test "PROXY v2 longer than 536 octets is refused" {
	local pad
	# 16 + 12 + a NOOP TLV of 3 + 506 octets = 537.
	pad=$(printf '\\x00%.0s' $(seq 506))
	proxy_start
	run send "${SIG}\x21\x11\x02\x09${ADDR4}\x04\x01\xfa${pad}EHLO c\r\nQUIT\r\n"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	refused
}

@test "a truncated PROXY v2 header is refused when proxy-timeout expires" {
	proxy_start
	# Length 12, but only the source address comes.
	run send "${SIG}\x21\x11\x00\x0c\xc0\x00\x02\x01"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	refused
}

@test "a header sent slower than proxy-timeout is refused" {
	local fd
	proxy_start
	exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"
	# A valid header, an octet every 0.1 s: 4 s for a 1 s timeout.
	(
		h=$'PROXY TCP4 192.0.2.1 192.0.2.2 1234 25\r\nQUIT\r\n'
		for ((i = 0; i < ${#h}; i++)); do
			printf '%s' "${h:i:1}" || exit 0
			sleep 0.1
		done
	) >&"$fd" 2>/dev/null 3>&- &
	WRITER=$!
	run replies "$fd"
	exec {fd}>&-
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	refused
}

@test "garbage instead of a header is refused without a greeting" {
	proxy_start
	run send 'EHLO c\r\nQUIT\r\n'
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	refused
}

@test "after a refused header the worker goes on serving" {
	local before
	conf "workers 1"
	proxy_start
	before=$(some_workers "$DPID")
	run send 'EHLO c\r\nQUIT\r\n'
	[ -z "$output" ]
	run header_session 'PROXY TCP4 192.0.2.1 192.0.2.2 1234 25\r\n' "${MAIL[@]}"
	[ "${lines[0]}" = "220 mx.test ESMTP smtpd" ]
	delivered_from "[192.0.2.1]" 192.0.2.1
	[ "$(workers_of "$DPID")" = "$before" ]
	! grep -q 'event=worker-exit' "$LOG"
}

# --- a listener without "proxy" ---------------------------------------------

@test "a PROXY line on a plain listener is an unknown command" {
	daemon_start
	run smtp_tcp "PROXY TCP4 192.0.2.1 192.0.2.2 1234 25" "QUIT"
	[ "${lines[0]}" = "220 mx.test ESMTP smtpd" ]
	[[ "${lines[1]}" == "500 5.5.2 "* ]]
	[ "${lines[2]}" = "221 2.0.0 mx.test closing connection" ]
	! grep -q 'event=proxy-refused' "$LOG"
}
