#!/usr/bin/env bats
# What goes over the wire, octet by octet: a reply that ends exactly at
# the end of the output buffer, replies pending when a signal comes or a
# write stalls, client octets on their way into replies, log lines and
# Received:, and the octets a message or a PROXY header may not hold.

load helper

setup() {
	smtpd_setup
	conf "workers 2"
	WRITER=
	CONN=
}

teardown() {
	if [ -n "$WRITER" ]; then
		kill "$WRITER" 2>/dev/null
		wait "$WRITER" 2>/dev/null
	fi
	[ -z "$CONN" ] || exec {CONN}>&-
	daemon_teardown
	sanitizer_quiet
}

# pipelined FILE - smtpd -i reading the whole dialogue FILE at once (a
# regular file: one read(), so the replies are buffered exactly as the
# arithmetic in each test says); the raw replies are in $TMP/replies.
pipelined() {
	smtpd_pipe <"$1" >/dev/null
}

# rcpts N ADDRESS - N lines "RCPT TO:<ADDRESS>", each ended by CRLF.
rcpts() {
	local i
	for ((i = 0; i < $1; i++)); do
		printf 'RCPT TO:<%s>\r\n' "$2"
	done
}

# crlf_only FILE - every line of FILE ends in CRLF, FILE ends in LF, and
# it holds no NUL and no CR but those of the line ends.
crlf_only() {
	[ "$(tr -cd '\000' <"$1" | wc -c)" -eq 0 ] || return 1
	[ "$(tr -cd '\r' <"$1" | wc -c)" -eq "$(tr -cd '\n' <"$1" | wc -c)" ] ||
	    return 1
	[ -z "$(tail -c 1 "$1" | tr -d '\n')" ] || return 1
	! grep -av $'\r$' "$1" >/dev/null
}

# starts_at FILE K REGEX - the offset, counted from the end of the
# greeting, of the first octet of the K-th line of FILE that matches
# REGEX: where in the output buffer that reply begins.
starts_at() {
	local g at
	g=$(head -n 1 "$1" | wc -c)
	at=$(grep -ab -- "$3" "$1" | sed -n "$2{s/:.*//p;q}")
	[ -n "$at" ] && echo $((at - g))
}

# --- a reply that ends exactly at the end of the output buffer -------------
#
# The greeting goes out on its own; then the replies to a pipelined batch
# are buffered 8192 octets at a time.  After the greeting: EHLO 123
# octets, 250 2.1.0 14, "550 5.7.1 <ADDRESS>: Relay access denied" 35 plus
# the address, 100 x "250 2.1.5 Ok" 14, then "452 4.5.3 Too many
# recipients" 31 each, 354 37.

@test "a 354 ending exactly at octet 8192 of the reply buffer keeps its CRLF" {
	local far
	# 123 + 14 + (35 + 42) + 1400 + 211 x 31 + 37 = 8192.
	far=$(printf 'x%.0s' $(seq 26))@foreign.example
	{
		printf 'EHLO c\r\nMAIL FROM:<a@b.example>\r\n'
		rcpts 1 "$far"
		rcpts 311 u@example.org
		printf 'DATA\r\nSubject: edge\r\n\r\nhi\r\n.\r\nQUIT\r\n'
	} >"$TMP/in"
	run pipelined "$TMP/in"
	[ "$status" -eq 0 ]
	# The arithmetic above still holds: the 354 fills the buffer.
	[ "$(starts_at "$TMP/replies" 1 '^354 ')" -eq $((8192 - 37)) ]
	crlf_only "$TMP/replies"
	grep -aqxF $'354 End data with <CR><LF>.<CR><LF>\r' "$TMP/replies"
	grep -aq $'^250 2.0.0 Ok: queued as [^ ]*\r$' "$TMP/replies"
	# 220, 7 for EHLO, MAIL, 312 RCPT, 354, 250, 221.
	[ "$(wc -l <"$TMP/replies")" -eq 324 ]
	[ "$(count_messages example.org u)" -eq 1 ]
}

@test "a 452 ending exactly at octet 8192 in a pipelined batch keeps its CRLF" {
	# 123 + 14 + (35 + 17) + 1400 + 213 x 31 = 8192: the 213th 452.
	{
		printf 'EHLO c\r\nMAIL FROM:<a@b.example>\r\n'
		rcpts 1 x@foreign.example
		rcpts 320 u@example.org
		printf 'QUIT\r\n'
	} >"$TMP/in"
	run pipelined "$TMP/in"
	[ "$status" -eq 0 ]
	[ "$(starts_at "$TMP/replies" 213 '^452 ')" -eq $((8192 - 31)) ]
	crlf_only "$TMP/replies"
	[ "$(grep -ac $'^452 4.5.3 Too many recipients\r$' "$TMP/replies")" -eq 220 ]
	[ "$(tail -n 1 "$TMP/replies")" = $'221 2.0.0 mx.test closing connection\r' ]
}

# --- a signal while the server is blocked writing ---------------------------
#
# A client pipelines EHLO, MAIL, N RCPTs and QUIT without reading.  After
# 100 recipients each RCPT is answered 452 4.5.3 (neither an error nor
# junk).  The replies fill both socket buffers long before N, and the
# worker waits to write; then it is signalled, and only then does the
# client read.

N_FLOOD=200000

# flood - the daemon with one worker, and the client above on $CONN,
# written by a background process; returns once the worker is blocked.
flood() {
	local i
	conf "workers 1"
	daemon_start
	WORKER=$(some_workers "$DPID")
	{
		printf 'EHLO c\r\nMAIL FROM:<a@b.example>\r\n'
		yes $'RCPT TO:<u@example.org>\r' | head -n "$N_FLOOD"
		printf 'QUIT\r\n'
	} >"$TMP/flood"
	exec {CONN}<>"/dev/tcp/127.0.0.1/$PORT"
	cat "$TMP/flood" >&"$CONN" 2>/dev/null 3>&- &
	WRITER=$!
	for i in $(seq 1 50); do
		blocked && return 0
	done
	echo "the worker never blocked writing" >&2
	return 1
}

# blocked - the server's end of the connection holds input the worker
# has not read and replies the client has not read, and neither moves
# for 0.2 s: the worker is waiting to write.
blocked() {
	local a b rq sq
	a=$(ss -Htn state established "( sport = :$PORT )")
	sleep 0.2
	b=$(ss -Htn state established "( sport = :$PORT )")
	[ -n "$a" ] && [ "$a" = "$b" ] || return 1
	read -r rq sq _ <<<"$a"
	[ "$rq" -gt 0 ] && [ "$sq" -gt 0 ]
}

@test "SIGHUP while a worker is blocked writing: every reply and the 221 arrive" {
	flood
	kill -HUP "$WORKER"
	timeout 20 cat <&"$CONN" >"$TMP/replies"
	crlf_only "$TMP/replies"
	[ "$(grep -c $'^250 2.1.5 Ok\r$' "$TMP/replies")" -eq 100 ]
	[ "$(grep -c $'^452 4.5.3 Too many recipients\r$' "$TMP/replies")" -eq $((N_FLOOD - 100)) ]
	[ "$(tail -n 1 "$TMP/replies")" = $'221 2.0.0 mx.test closing connection\r' ]
	# 220, 7 for EHLO, MAIL, the RCPTs, 221.
	[ "$(wc -l <"$TMP/replies")" -eq $((N_FLOOD + 10)) ]
	# The session was finished, then the worker left for the reload.
	wait_log "event=worker-exit pid=$WORKER "
}

@test "SIGTERM while a worker is blocked writing: every reply made, then 421 4.3.2" {
	local sent made
	flood
	kill -TERM "$DPID"
	timeout 20 cat <&"$CONN" >"$TMP/replies"
	crlf_only "$TMP/replies"
	[[ "$(tail -n 1 "$TMP/replies")" == "421 4.3.2 mx.test Service shutting down"*$'\r' ]]
	! grep -q '^221 ' "$TMP/replies"
	# Every 452 the worker logged having made reached the client; it
	# stopped before the end of the batch.
	sent=$(grep -c $'^452 4.5.3 Too many recipients\r$' "$TMP/replies")
	made=$(grep -c 'event=reject .*reply="452 4.5.3 Too many recipients"' "$LOG")
	[ "$sent" -eq "$made" ]
	[ "$sent" -gt 0 ]
	[ "$sent" -lt $((N_FLOOD - 100)) ]
	[ "$(grep -c $'^250 2.1.5 Ok\r$' "$TMP/replies")" -eq 100 ]
	daemon_stop
}

# --- a write that times out -------------------------------------------------
#
# The replies go into a pipe nobody reads that already holds 15 pages
# (Linux gives a pipe 16): the greeting takes the last one, and every
# later write must wait, past "timeout 1".  The first write after the
# greeting comes when a reply does not fit in the 8192-octet buffer:
# 123 (EHLO) + 14 (MAIL) + 14 (RCPT, max-recipients 1) + 259 x 31 (452)
# = 8180 octets, so it is the reply after the 259th 452.

# stalled FILE - smtpd -i reading FILE, writing into such a pipe; what
# it wrote after the filler is in $TMP/replies afterwards.
stalled() {
	local conf p r rc
	conf=$(run_conf)
	mkfifo "$TMP/fifo"
	exec {p}<>"$TMP/fifo"
	exec {r}<"$TMP/fifo"
	timeout 5 dd if=/dev/zero bs=4096 count=15 status=none >&"$p"
	timeout 20 "$SMTPD" -i -d -f "$conf" <"$1" 2>>"$LOG" >&"$p"
	rc=$?
	exec {p}>&-
	timeout 5 cat <&"$r" | tail -c +61441 >"$TMP/replies"
	exec {r}<&-
	return $rc
}

# message K - a DATA transaction for u@example.org with "Subject: K".
message() {
	printf 'MAIL FROM:<a@b.example>\r\nRCPT TO:<u@example.org>\r\n'
	printf 'DATA\r\nSubject: %s\r\n\r\nbody\r\n.\r\n' "$1"
}

# last_chunk K - the same message as one BDAT LAST chunk.
last_chunk() {
	local body
	body=$(printf 'Subject: %s\r\n\r\nbody\r\n_' "$1")
	body=${body%_}
	printf 'BDAT %d LAST\r\n%s' "${#body}" "$body"
}

# chunked K - a BDAT transaction for u@example.org with "Subject: K".
chunked() {
	printf 'MAIL FROM:<a@b.example>\r\nRCPT TO:<u@example.org>\r\n'
	last_chunk "$1"
}

# flushed_after_452s - the write that timed out came after all 259 452s
# had been made (and logged), as the arithmetic above says.
flushed_after_452s() {
	[ "$(sed -n '/event=timeout phase=write/q;/reply="452 /p' "$LOG" |
	    wc -l)" -eq 259 ]
}

@test "a 354 that cannot be written within timeout: nothing more is stored" {
	conf "timeout 1" "data-timeout 1" "max-recipients 1"
	{
		printf 'EHLO c\r\nMAIL FROM:<a@b.example>\r\n'
		rcpts 260 u@example.org
		printf 'DATA\r\nSubject: 1\r\n\r\nbody\r\n.\r\n'
		message 2
		message 3
		printf 'QUIT\r\n'
	} >"$TMP/in"
	run stalled "$TMP/in"
	[ "$status" -eq 0 ]
	[ "$(count_messages example.org u)" -eq 0 ]
	grep -q 'event=timeout phase=write' "$LOG"
	flushed_after_452s
	! grep -q 'event=accept' "$LOG"
	# Nothing after the greeting could be written.
	[ "$(cat "$TMP/replies")" = $'220 mx.test ESMTP smtpd\r' ]
}

@test "a 250 for BDAT LAST that cannot be written: no later message is stored" {
	conf "timeout 1" "data-timeout 1" "max-recipients 1"
	{
		printf 'EHLO c\r\nMAIL FROM:<a@b.example>\r\n'
		rcpts 260 u@example.org
		last_chunk 1
		chunked 2
		chunked 3
		printf 'QUIT\r\n'
	} >"$TMP/in"
	run stalled "$TMP/in"
	[ "$status" -eq 0 ]
	# The first message was on disk before its 250 was due; no other.
	[ "$(count_messages example.org u)" -eq 1 ]
	grep -q '^Subject: 1$' "$(maildir_files example.org u)"
	grep -q 'event=timeout phase=write' "$LOG"
	flushed_after_452s
	[ "$(grep -c 'event=accept' "$LOG")" -eq 1 ]
}

# --- the configuration file -------------------------------------------------

@test "conf: a line with more words than any keyword takes is 'too many words'" {
	conf "alias a b c d e f"
	run "$SMTPD" -n -f "$CONF"
	[ "$status" -eq 1 ]
	[[ "$output" == *"event=conf-error file=$CONF line=$(wc -l <"$CONF") reason=\"too many words"* ]]
	[[ "$output" != *"runtime error"* ]]
	[[ "$output" != *"Sanitizer"* ]]
}

@test "conf: a line one or two words over the limit is 'too many words' too" {
	local w
	# Three words is the most any line has ("alias NAME TARGET").
	for w in "alias a b c" "alias a b c d"; do
		smtpd_setup
		conf "$w"
		run "$SMTPD" -n -f "$CONF"
		[ "$status" -eq 1 ]
		[[ "$output" == *"event=conf-error file=$CONF line=$(wc -l <"$CONF") reason=\"too many words"* ]]
		[[ "$output" != *"runtime error"* ]]
		[[ "$output" != *"Sanitizer"* ]]
	done
}

# --- client octets in replies and log lines ---------------------------------

# log_keys LINE - the field names of a log line, one a line: quoted values
# (which hold no '"' of their own) are taken out first.
log_keys() {
	sed -E 's/="[^"]*"/=/g' <<<"$1" | tr ' ' '\n' | sed -n 's/=.*//p'
}

@test "a parameter with CR, ESC and DEL is answered on one line, escaped" {
	run smtp_raw 'EHLO c\r\nMAIL FROM:<a@b.example> X\rY\x1bZ\x7f=1\r\nQUIT\r\n'
	[ "$status" -eq 0 ]
	grep -aqx $'555 5.5.4 Unsupported parameter X\\\\x0dY\\\\x1bZ\\\\x7f\r' \
	    "$TMP/replies"
	crlf_only "$TMP/replies"
	! LC_ALL=C grep -aq $'[\x1b\x7f]' "$TMP/replies"
	# 220, 7 for EHLO, 555, 221.
	[ "$(wc -l <"$TMP/replies")" -eq 10 ]
}

@test "a session's log lines are smtpd(8)'s connect, reject, accept and disconnect" {
	local sid id
	run smtp 'EHLO c' 'MAIL FROM:<a@b.example>' 'RCPT TO:<x@elsewhere.test>' \
	    'RCPT TO:<u@example.org>' 'DATA' 'hi' '.' 'QUIT'
	[ "$status" -eq 0 ]
	id=$(queued_id)
	[ -n "$id" ]
	sid=$(sed -n '1s/ .*//p' "$LOG")
	[[ "$sid" =~ ^[0-9a-f]{12}$ ]]
	cat >"$TMP/want" <<-EOF
	$sid event=connect peer=unknown
	$sid event=reject peer=unknown from="<a@b.example>" rcpt="<x@elsewhere.test>" reply="550 5.7.1 <x@elsewhere.test>: Relay access denied" command="RCPT TO:<x@elsewhere.test>"
	$sid event=accept id=$id peer=unknown helo="c" from="<a@b.example>" rcpts=1 size=4 rcpt="<u@example.org>"
	$sid event=disconnect messages=1 errors=1 junk=0
	EOF
	diff -u "$TMP/want" "$LOG"
}

@test "a quoted local part cannot add a field to the accept log line" {
	local line
	run smtp 'EHLO c' 'MAIL FROM:<"x rcpts=99"@b.example>' \
	    'RCPT TO:<u@example.org>' 'DATA' 'hi' '.' 'QUIT'
	[ "$status" -eq 0 ]
	[[ "$output" == *"250 2.0.0 Ok: queued as "* ]]
	line=$(grep 'event=accept ' "$LOG")
	[[ "$line" == *' from="<\x22x rcpts=99\x22@b.example>" rcpts=1 '* ]]
	[ "$(log_keys "$line" | grep -c '^rcpts$')" -eq 1 ]
}

@test "a quoted local part cannot add a field to a reject log line" {
	local line
	run smtp 'EHLO c' 'MAIL FROM:<a@b.example>' \
	    'RCPT TO:<"y peer=6.6.6.6"@foreign.example>' 'QUIT'
	[ "$status" -eq 0 ]
	[[ "$output" == *'550 5.7.1 <\x22y peer=6.6.6.6\x22@foreign.example>: Relay access denied'* ]]
	line=$(grep 'event=reject ' "$LOG")
	[ "$(log_keys "$line" | grep -c '^peer$')" -eq 1 ]
	[ "$(log_keys "$line" | grep -c '^rcpt$')" -eq 1 ]
	[[ "$line" == *' peer=unknown '* ]]
	[[ "$line" == *' rcpt="<\x22y peer=6.6.6.6\x22@foreign.example>" '* ]]
	[[ "$line" == *' command="RCPT TO:<\x22y peer=6.6.6.6\x22@foreign.example>"' ]]
}

@test "a reject log line holds the whole command, past its first '='" {
	run smtp 'EHLO c' 'MAIL FROM:<a@b.example> SIZE=10 FOO=bar' 'QUIT'
	[ "$status" -eq 0 ]
	[[ "${lines[8]}" == "555 5.5.4 Unsupported parameter FOO" ]]
	grep -q 'event=reject .* command="MAIL FROM:<a@b.example> SIZE=10 FOO=bar"$' "$LOG"
}

# --- the HELO name in Received: ---------------------------------------------

# received_from HELO USER - a TCP session that says "EHLO HELO" and
# delivers to USER@example.org; prints the stored Received: line.
received_from() {
	smtp_tcp "EHLO $1" "MAIL FROM:<a@b.example>" "RCPT TO:<$2@example.org>" \
	    "DATA" "Subject: helo" "" "hi" "." "QUIT" >"$TMP/out.$2"
	grep -q '^250 2.0.0 Ok: queued' "$TMP/out.$2" || return 1
	[ "$(count_messages example.org "$2")" -eq 1 ] || return 1
	sed -n '2p' "$(maildir_files example.org "$2")"
}

@test "a HELO name outside RFC 5321's grammar reaches Received: only as a comment" {
	daemon_start
	run received_from 'evil)(by;[1.2.3.4]' u
	[ "$status" -eq 0 ]
	[ "$output" = 'Received: from [127.0.0.1] (HELO evil\)\(by;[1.2.3.4])' ]
}

@test "Received: keeps a Domain bare, not a name with an underscore" {
	daemon_start
	run received_from mail.example.net u1
	[ "$status" -eq 0 ]
	[ "$output" = 'Received: from mail.example.net ([127.0.0.1])' ]
	run received_from mail_1.example.net u2
	[ "$status" -eq 0 ]
	[ "$output" = 'Received: from [127.0.0.1] (HELO mail_1.example.net)' ]
}

@test "Received: keeps an address literal bare, not a malformed one" {
	daemon_start
	run received_from '[127.0.0.1]' u1
	[ "$status" -eq 0 ]
	[ "$output" = 'Received: from [127.0.0.1] ([127.0.0.1])' ]
	run received_from '[IPv6:2001:db8::1]' u2
	[ "$status" -eq 0 ]
	[ "$output" = 'Received: from [IPv6:2001:db8::1] ([127.0.0.1])' ]
	run received_from '[127.0.0.256]' u3
	[ "$status" -eq 0 ]
	[ "$output" = 'Received: from [127.0.0.1] (HELO [127.0.0.256])' ]
}

@test "without a peer address an invalid HELO name follows 'from unknown'" {
	run smtp 'EHLO evil)(by\x' 'MAIL FROM:<a@b.example>' \
	    'RCPT TO:<u@example.org>' 'DATA' 'hi' '.' 'QUIT'
	[ "$status" -eq 0 ]
	[ "$(sed -n '2p' "$(maildir_files example.org u)")" = \
	    'Received: from unknown (HELO evil\)\(by\\x)' ]
}

# --- PROXY ------------------------------------------------------------------

@test "PROXY v1 with a NUL between CR and LF is refused without a greeting" {
	conf "listen 127.0.0.1:0 proxy" "proxy-timeout 1"
	daemon_start
	# Read only up to the NUL, this line ends in "\r\r", which passed
	# for the CR of a CRLF: the header used to be taken.
	run send 'PROXY TCP4 192.0.2.1 192.0.2.2 1234 25\r\r\x00\nEHLO c\r\nQUIT\r\n'
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	grep -Eq "event=proxy-refused peer=127\.0\.0\.1 listen=127\.0\.0\.1:$PORT reason=[a-z0-9-]+$" "$LOG"
	! grep -q 'event=connect' "$LOG"
}

# --- octets a message may not hold ------------------------------------------
#
# RFC 5321 2.3.8: lines end in CRLF, and no NUL.  The refusal comes once
# the whole message is in, so that the dialogue stays in sync: each test
# then sends a clean message in the same session.

REFUSED='550 5.6.0 NUL, bare CR or bare LF in message (RFC 5321 2.3.8)'

# For smtp_raw: the greeting's EHLO, and a transaction up to its data.
EHLO='EHLO c\r\n'
TXN='MAIL FROM:<a@b.example>\r\nRCPT TO:<u@example.org>\r\n'

@test "a NUL in DATA: 550 5.6.0 after the final dot, and the next message is taken" {
	run smtp_raw "$EHLO$TXN"'DATA\r\nSubject: nul\r\n\r\na\x00b\r\n.\r\n'"$TXN"'DATA\r\nSubject: clean\r\n\r\nok\r\n.\r\nQUIT\r\n'
	[ "$status" -eq 0 ]
	[ "${lines[10]}" = "354 End data with <CR><LF>.<CR><LF>" ]
	[ "${lines[11]}" = "$REFUSED" ]
	[ "${lines[14]}" = "354 End data with <CR><LF>.<CR><LF>" ]
	[[ "${lines[15]}" == "250 2.0.0 Ok: queued as "* ]]
	[ "$(count_messages example.org u)" -eq 1 ]
	grep -q '^Subject: clean$' "$(maildir_files example.org u)"
}

# refused_first_chunk CHUNK - a message of two BDAT chunks, the first the
# five octets CHUNK (printf %b escapes), the second "end\r\n" LAST: the
# first is taken, the message refused, and a clean one after it stored.
refused_first_chunk() {
	run smtp_raw "$EHLO$TXN"'BDAT 5\r\n'"$1"'BDAT 5 LAST\r\nend\r\n'"$TXN"'BDAT 4 LAST\r\nok\r\nQUIT\r\n'
	[ "$status" -eq 0 ] || return 1
	[ "${lines[10]}" = "250 2.0.0 5 octets received" ] || return 1
	[ "${lines[11]}" = "$REFUSED" ] || return 1
	[[ "${lines[14]}" == "250 2.0.0 Ok: queued as "* ]] || return 1
	[ "$(count_messages example.org u)" -eq 1 ] || return 1
	[ "$(body_of "$(maildir_files example.org u)")" = "ok" ]
}

@test "a bare LF in a BDAT chunk: 550 5.6.0 after the LAST chunk, then in sync" {
	refused_first_chunk 'a\nb\r\n'
}

@test "a bare CR in a BDAT chunk: 550 5.6.0 after the LAST chunk, then in sync" {
	refused_first_chunk 'a\rb\r\n'
}

@test "a CR that ends one BDAT chunk and no LF that starts the next: 550 5.6.0" {
	refused_first_chunk 'abcd\r'
}

@test "a BDAT message whose last octet is a CR: 550 5.6.0, then in sync" {
	# Until the LAST chunk ended, the CR could have begun a CRLF.
	run smtp_raw "$EHLO$TXN"'BDAT 3 LAST\r\nok\r'"$TXN"'BDAT 4 LAST\r\nok\r\nQUIT\r\n'
	[ "$status" -eq 0 ]
	[ "${lines[10]}" = "$REFUSED" ]
	[[ "${lines[13]}" == "250 2.0.0 Ok: queued as "* ]]
	[ "$(count_messages example.org u)" -eq 1 ]
}

@test "a NUL in a BDAT chunk: 550 5.6.0 after the LAST chunk, then in sync" {
	run smtp_raw "$EHLO$TXN"'BDAT 5 LAST\r\na\x00b\r\n'"$TXN"'BDAT 4 LAST\r\nok\r\nQUIT\r\n'
	[ "$status" -eq 0 ]
	[ "${lines[10]}" = "$REFUSED" ]
	[[ "${lines[13]}" == "250 2.0.0 Ok: queued as "* ]]
	[ "$(count_messages example.org u)" -eq 1 ]
}
