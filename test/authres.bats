#!/usr/bin/env bats
# Authentication-Results: fields that claim our authserv-id are removed
# from the header section of every message (RFC 8601 5), whatever the
# case, quoting, comments or folding; every other field, and the body,
# is stored byte for byte.  The hostname here is mx1.example.org, so that
# the name compared is the configured one.

load helper

setup() {
	smtpd_setup
	conf "hostname mx1.example.org" "max-errors 1000" "sync no"
}

teardown() {
	sanitizer_quiet
}

# deliver MESSAGE - one session sends MESSAGE (printf %b escapes, CRLF
# line ends, no dot-stuffing needed) with DATA; it must be queued.
deliver() {
	run smtp_raw "EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<u@example.org>\r\nDATA\r\n$1.\r\nQUIT\r\n"
	[ "$status" -eq 0 ]
	[ "$(queued_id | grep -c .)" -eq 1 ]
}

# stored WANT - the one message of u@example.org is WANT (printf %b)
# after our Return-Path: and Received:.
stored() {
	[ "$(count_messages example.org u)" -eq 1 ]
	body_of "$(maildir_files example.org u)" >"$TMP/got"
	printf '%b' "$1" >"$TMP/want"
	diff "$TMP/want" "$TMP/got"
}

# removed FIELD - a message with FIELD (printf %b, CRLF ended, its
# folds included) between two others is stored without it.
removed() {
	deliver "From: a@b.example\r\n$1Subject: s\r\n\r\nbody\r\n"
	stored 'From: a@b.example\nSubject: s\n\nbody\n'
}

# kept FIELD - a message with FIELD between two others is stored with it,
# as sent but for LF line ends.
kept() {
	deliver "From: a@b.example\r\n$1Subject: s\r\n\r\nbody\r\n"
	stored "From: a@b.example\n$(printf '%s' "$1" | sed 's/\\r\\n/\\n/g')Subject: s\n\nbody\n"
}

@test "an Authentication-Results: field with our authserv-id is removed" {
	removed 'Authentication-Results: mx1.example.org; spf=pass smtp.mailfrom=b.example\r\n'
}

@test "our authserv-id is found in any case, in the name and the id" {
	removed 'aUTHENTICATION-rESULTS: MX1.Example.ORG; dkim=pass header.d=b.example\r\n'
}

@test "our authserv-id as a quoted-string, with a quoted-pair, is removed" {
	removed 'Authentication-Results: "mx1.example.org"; spf=pass\r\n'
	rm -rf "$SPOOL"
	removed 'Authentication-Results: "mx1\\.example.org"; spf=pass\r\n'
}

@test "our authserv-id after a comment, nested and with quoted-pairs, is removed" {
	removed 'Authentication-Results: (a (nested \\) \\( comment)) mx1.example.org (c); none\r\n'
}

@test "our authserv-id folded onto the next line is removed with all its lines" {
	removed 'Authentication-Results:\r\n\tmx1.example.org;\r\n spf=pass smtp.mailfrom=b.example;\r\n\tdkim=pass header.d=b.example\r\n'
}

@test "continuation lines of our field are removed, and the field after it kept" {
	deliver 'Authentication-Results: mx1.example.org;\r\n spf=pass\r\n\tsmtp.mailfrom=b.example\r\nX-After: 1\r\n continued\r\n\r\nbody\r\n'
	stored 'X-After: 1\n continued\n\nbody\n'
}

@test "WSP before the colon (obsolete syntax) still names the field" {
	removed 'Authentication-Results \t: mx1.example.org; none\r\n'
}

@test "Authentication-Results: of another authserv-id is kept byte for byte" {
	kept 'Authentication-Results: other.example; spf=pass smtp.mailfrom=b.example\r\n'
	rm -rf "$SPOOL"
	kept 'Authentication-Results:\t (mx1.example.org) \t other.example ;\r\n\tspf=fail\r\n'
}

@test "an authserv-id that only begins or ends like ours is not ours" {
	kept 'Authentication-Results: mx1.example.org.evil; none\r\n'
	rm -rf "$SPOOL"
	kept 'Authentication-Results: x.mx1.example.org; none\r\n'
	rm -rf "$SPOOL"
	kept 'Authentication-Results: mx1.example.or; none\r\n'
	rm -rf "$SPOOL"
	kept 'Authentication-Results: "mx1.example.org "; none\r\n'
}

@test "an Authentication-Results: field without an authserv-id is kept" {
	kept 'Authentication-Results: ; spf=pass\r\n'
	rm -rf "$SPOOL"
	kept 'Authentication-Results: (only a comment)\r\n'
	rm -rf "$SPOOL"
	kept 'Authentication-Results:\r\n'
	rm -rf "$SPOOL"
	kept 'Authentication-Results: "mx1.example.org\r\n'
}

@test "Authentication-Results-Foo: and X-Authentication-Results: are kept" {
	kept 'Authentication-Results-Foo: mx1.example.org; none\r\n'
	rm -rf "$SPOOL"
	kept 'X-Authentication-Results: mx1.example.org; none\r\n'
	rm -rf "$SPOOL"
	kept 'Authentication-Result: mx1.example.org; none\r\n'
}

@test "an Authentication-Results: line in the body is kept" {
	deliver 'Subject: s\r\n\r\nAuthentication-Results: mx1.example.org; spf=pass\r\n continued\r\n'
	stored 'Subject: s\n\nAuthentication-Results: mx1.example.org; spf=pass\n continued\n'
}

@test "a message without a header section keeps its first line" {
	deliver '\r\nAuthentication-Results: mx1.example.org; spf=pass\r\n'
	stored '\nAuthentication-Results: mx1.example.org; spf=pass\n'
}

@test "two of ours in a row and one after another's are removed; it stays" {
	deliver 'Authentication-Results: mx1.example.org; spf=pass\r\nAuthentication-Results: MX1.example.org;\r\n dkim=pass\r\nAuthentication-Results: other.example; spf=fail\r\nAuthentication-Results: (x) mx1.example.org; none\r\nSubject: s\r\n\r\nbody\r\n'
	stored 'Authentication-Results: other.example; spf=fail\nSubject: s\n\nbody\n'
}

@test "ours as the last field before the empty line is removed" {
	deliver 'Subject: s\r\nAuthentication-Results: mx1.example.org;\r\n spf=pass\r\n\r\nbody\r\n'
	stored 'Subject: s\n\nbody\n'
}

@test "a BDAT message that ends inside a field: ours removed, another kept" {
	run smtp_raw 'EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<u@example.org>\r\nBDAT 51 LAST\r\nSubject: s\r\nAuthentication-Results: mx1.example.org\r\nQUIT\r\n'
	[ "$status" -eq 0 ]
	stored 'Subject: s\n'
	rm -rf "$SPOOL"
	run smtp_raw 'EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<u@example.org>\r\nBDAT 37 LAST\r\nSubject: s\r\nAuthentication-Results: (\r\nQUIT\r\n'
	[ "$status" -eq 0 ]
	stored 'Subject: s\nAuthentication-Results: ('
}

@test "a field whose comment outruns the 1024 octets held back is removed, even if not ours" {
	local line long short
	# Folded: DATA takes no line over 1000 octets.
	line="$(head -c 90 /dev/zero | tr '\0' c)\r\n "
	long=$(for i in $(seq 1 11); do printf '%s' "$line"; done)
	removed "Authentication-Results: ($long) other.example; none\r\n"
	rm -rf "$SPOOL"
	# One that is decided within them is not.
	short=$(for i in $(seq 1 10); do printf '%s' "$line"; done)
	kept "Authentication-Results: ($short) other.example; none\r\n"
}

@test "BDAT split at every octet of the header: the same message is stored" {
	local msg want len k s
	msg='From: a@b.example\r\nAuthentication-Results: (x) MX1.Example.Org;\r\n spf=pass smtp.mailfrom=b.example\r\nAuthentication-Results: "other.example"; spf=fail\r\nSubject: s\r\n\r\nbody\r\n'
	want='From: a@b.example\nAuthentication-Results: "other.example"; spf=fail\nSubject: s\n\nbody\n'
	printf '%b' "$msg" >"$TMP/msg"
	len=$(wc -c <"$TMP/msg")
	{
		printf 'EHLO c\r\n'
		for k in $(seq 1 $((len - 1))); do
			printf 'MAIL FROM:<a@b.example>\r\nRCPT TO:<u@example.org>\r\n'
			printf 'BDAT %d\r\n' "$k"
			head -c "$k" "$TMP/msg"
			printf 'BDAT %d LAST\r\n' $((len - k))
			tail -c +$((k + 1)) "$TMP/msg"
		done
		# And one octet a chunk.
		printf 'MAIL FROM:<a@b.example>\r\nRCPT TO:<u@example.org>\r\n'
		for k in $(seq 1 "$len"); do
			printf 'BDAT 1%s\r\n' "$([ "$k" -lt "$len" ] || echo ' LAST')"
			tail -c +"$k" "$TMP/msg" | head -c 1
		done
		printf 'QUIT\r\n'
	} >"$TMP/in"
	run smtpd_pipe <"$TMP/in"
	[ "$status" -eq 0 ]
	[ "$(queued_id | grep -c .)" -eq "$len" ]
	printf '%b' "$want" | cksum >"$TMP/want"
	s=$(maildir_files example.org u | while read -r f; do
		body_of "$f" | cksum
	done | sort | uniq -c)
	[ "$s" = "$(printf '%7d %s' "$len" "$(cat "$TMP/want")")" ]
}

@test "max-message-size counts the octets received, removed ones included" {
	conf "max-message-size 60"
	# 36 octets stored, 87 received.
	run smtp_raw 'EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<u@example.org>\r\nDATA\r\nAuthentication-Results: mx1.example.org; none\r\nSubject: s\r\n\r\nbody\r\n.\r\nQUIT\r\n'
	[ "$status" -eq 0 ]
	[[ "$output" == *"552 5.3.4 "* ]]
	[ "$(count_messages example.org u)" -eq 0 ]
}

@test "Received: fields are still counted for the loop limit around ours" {
	local h i
	h='Authentication-Results: mx1.example.org;\r\n spf=pass\r\n'
	for i in $(seq 1 101); do
		h="${h}Received: from x by y; Thu, 1 Jan 2026 00:00:00 +0000\r\n"
	done
	run smtp_raw "EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<u@example.org>\r\nDATA\r\n${h}\r\nbody\r\n.\r\nQUIT\r\n"
	[ "$status" -eq 0 ]
	[[ "$output" == *"554 5.4.6 "* ]]
	[ "$(count_messages example.org u)" -eq 0 ]
}
