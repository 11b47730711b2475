#!/usr/bin/env bats
# The DATA decoder where the input buffer splits the data: the final
# dot, dot-stuffed lines, CRLF, the smuggling sequences, bare CR, bare LF
# and NUL, each with the edge of a read at every octet of it.
#
# smtpd -i reads a regular file WIRE_IBUFSZ (65536) octets at a time and
# reads again only when the buffer is used up, so the second read begins
# at octet 65536 of the file, exactly.  Each test puts its pattern there
# with J of its octets before the edge, for every J, and checks the
# replies and the stored octets (un-stuffed, LF line ends).

load helper

EDGE=65536
REFUSED='550 5.6.0 NUL, bare CR or bare LF in message (RFC 5321 2.3.8)'

setup() {
	smtpd_setup
	conf "max-errors 100"
	# The edge is where wire.c's input buffer ends: if that changes,
	# so must EDGE, or these tests test no edge at all.
	grep -q '^#define WIRE_IBUFSZ[[:space:]]*65536$' \
	    "$BATS_TEST_DIRNAME/../wire.h"
}

teardown() {
	sanitizer_quiet
}

# edges PATTERN J... - into $TMP/in, a session that for each J sends
# MAIL, RCPT, DATA, text lines of "y" (the last without its CRLF), then
# PATTERN (printf %b; it ends the data) with its first J octets before
# the next edge, a multiple of $EDGE octets into the input; then QUIT.
# Each J's text lines as they must be stored (LF line ends, the last one
# still open) are in $TMP/text.J.  Every message's text is a different
# length, so that stored bodies can be told apart.
edges() {
	local pattern=$1 cmds at f k r j
	shift
	cmds='MAIL FROM:<a@b.example>\r\nRCPT TO:<u@example.org>\r\nDATA\r\n'
	printf 'EHLO c\r\n' >"$TMP/in"
	for j; do
		printf '%b' "$cmds" >>"$TMP/in"
		at=$(wc -c <"$TMP/in")
		f=$(((at + j) / EDGE * EDGE + EDGE - j - at))
		k=$(((f - 1) / 80))
		r=$((f - 80 * k))
		awk -v k="$k" -v r="$r" 'BEGIN {
			l = sprintf("%78s", ""); gsub(/ /, "y", l)
			for (i = 0; i < k; i++)
				printf "%s\r\n", l
			t = sprintf("%" r "s", ""); gsub(/ /, "y", t)
			printf "%s", t
		}' | tee -a "$TMP/in" | sed 's/\r$//' >"$TMP/text.$j"
		at=$(wc -c <"$TMP/in")
		[ $(((at + j) % EDGE)) -eq 0 ] || return 1
		printf '%b' "$pattern" >>"$TMP/in"
	done
	printf 'QUIT\r\n' >>"$TMP/in"
}

# upto LEN - 0 to LEN, one a line.
upto() {
	seq 0 "$1"
}

# edge_stored PATTERN EXPECTED - for J from 0 to the length of PATTERN,
# a message is stored whose body is its text lines followed by EXPECTED
# (printf %b); each is answered 250, and then its NOOP 250 2.0.0 Ok.
edge_stored() {
	local js j n
	js=$(upto "$(printf '%b' "$1" | wc -c)")
	n=$(echo "$js" | wc -l)
	# shellcheck disable=SC2086
	edges "$1" $js
	run smtpd_pipe <"$TMP/in"
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | grep -c '^250 2.0.0 Ok: queued as ')" -eq "$n" ]
	[ "$(printf '%s\n' "$output" | grep -c '^250 2.0.0 Ok$')" -eq "$n" ]
	[[ "${lines[-1]}" == "221 "* ]]
	for j in $js; do
		{ cat "$TMP/text.$j"; printf '%b' "$2"; } | cksum
	done | sort >"$TMP/want"
	for f in $(maildir_files example.org u); do
		body_of "$f" | cksum
	done | sort >"$TMP/got"
	diff "$TMP/want" "$TMP/got"
}

# edge_refused PATTERN - for J from 0 to the length of PATTERN, the
# message is refused with 550 5.6.0 and nothing is stored.  What PATTERN
# holds after its bad octets (a RSET, a line "." ended by CRLF) is data,
# not a command: no reply is "250 2.0.0 Ok".
edge_refused() {
	local js n
	js=$(upto "$(printf '%b' "$1" | wc -c)")
	n=$(echo "$js" | wc -l)
	# shellcheck disable=SC2086
	edges "$1" $js
	run smtpd_pipe <"$TMP/in"
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | grep -cxF "$REFUSED")" -eq "$n" ]
	[ "$(reply_count 354)" -eq "$n" ]
	[ "$(printf '%s\n' "$output" | grep -c '^250 2.0.0 Ok$')" -eq 0 ]
	[[ "${lines[-1]}" == "221 "* ]]
	[ -z "$(maildir_files example.org u)" ]
}

@test "edge: <CRLF>.<CRLF> ends the data wherever a read splits it" {
	edge_stored '\r\n.\r\nNOOP\r\n' '\n'
}

@test "edge: dot-stuffed lines are un-stuffed wherever a read splits them" {
	edge_stored '\r\n..x\r\n..\r\n...\r\n.\r\nNOOP\r\n' '\n.x\n.\n..\n'
}

@test "edge: a line that only starts with a dot, split by a read, is text" {
	edge_stored '\r\n.x\r\n. \r\nz\r\n.\r\nNOOP\r\n' '\nx\n \nz\n'
}

@test "edge: CRLF CRLF and an empty line before the dot, split by a read" {
	edge_stored '\r\n\r\n\r\n.\r\nNOOP\r\n' '\n\n\n'
}

@test "edge: <LF>.<LF> split by a read does not end the data" {
	edge_refused '\n.\nRSET\r\nz\r\n.\r\n'
}

@test "edge: <CRLF>.<LF> split by a read does not end the data" {
	edge_refused '\r\n.\nRSET\r\nz\r\n.\r\n'
}

@test "edge: <LF>.<CRLF> split by a read does not end the data" {
	edge_refused '\n.\r\nRSET\r\nz\r\n.\r\n'
}

@test "edge: <CRLF>.<CR> split by a read does not end the data" {
	edge_refused '\r\n.\rRSET\r\nz\r\n.\r\n'
}

@test "edge: <CR>.<CR> split by a read does not end the data" {
	edge_refused '\r.\rRSET\r\nz\r\n.\r\n'
}

@test "edge: a bare CR split by a read refuses the message" {
	edge_refused 'a\rb\r\nRSET\r\n.\r\n'
}

@test "edge: CR CR LF split by a read refuses the message" {
	edge_refused '\r\r\nRSET\r\n.\r\n'
}

@test "edge: a bare LF split by a read refuses the message" {
	edge_refused 'a\nb\r\nRSET\r\n.\r\n'
}

@test "edge: a NUL split by a read refuses the message" {
	edge_refused 'a\0b\r\nRSET\r\n.\r\n'
}

@test "edge: a NUL at the start of a line, after a read, refuses the message" {
	edge_refused '\r\n\0.\r\nRSET\r\n.\r\n'
}

# edge_long N J... - a text line of N octets, CRLF included, with J of
# its octets before the edge, for each J; the data ends after it.
edge_long() {
	local l n=$1
	shift
	l=$(head -c $((n - 2)) /dev/zero | tr '\0' 'l')
	edges "\r\n$l"'\r\n.\r\nNOOP\r\n' "$@"
	run smtpd_pipe <"$TMP/in"
	[ "$status" -eq 0 ]
}

@test "edge: a text line of 1000 octets split by a read is accepted" {
	edge_long 1000 1 2 3 500 999 1000 1001 1002
	[ "$(printf '%s\n' "$output" | grep -c '^250 2.0.0 Ok: queued as ')" -eq 8 ]
	[ "$(count_messages example.org u)" -eq 8 ]
}

@test "edge: a text line of 1001 octets split by a read is 550 5.5.6" {
	edge_long 1001 1 2 3 500 1000 1001 1002 1003
	[ "$(reply_count 550)" -eq 8 ]
	[ "$(printf '%s\n' "$output" | grep -c '^550 5.5.6 ')" -eq 8 ]
	[ "$(printf '%s\n' "$output" | grep -c '^250 2.0.0 Ok$')" -eq 8 ]
	[ -z "$(maildir_files example.org u)" ]
}
