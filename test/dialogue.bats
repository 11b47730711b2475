#!/usr/bin/env bats
# The SMTP dialogue, RFC 5321 as a receiver, over pipes (smtpd -i).

load helper

setup() {
	smtpd_setup
}

@test "greeting is 220 with the configured hostname" {
	run smtp "QUIT"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "220 mx.test ESMTP smtpd" ]
	[ "${lines[1]}" = "221 2.0.0 mx.test closing connection" ]
}

@test "EHLO advertises the extensions, SMTPUTF8 with 8BITMIME" {
	run smtp "EHLO client.test" "QUIT"
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "250-mx.test Hello client.test" ]
	[ "${lines[2]}" = "250-PIPELINING" ]
	[ "${lines[3]}" = "250-SIZE 36700160" ]
	[ "${lines[4]}" = "250-8BITMIME" ]
	[ "${lines[5]}" = "250-SMTPUTF8" ]
	[ "${lines[6]}" = "250-ENHANCEDSTATUSCODES" ]
	[ "${lines[7]}" = "250 CHUNKING" ]
}

@test "HELO is answered 250; HELO without a name is 501 5.5.4" {
	run smtp "HELO client.test" "HELO" "QUIT"
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "250 mx.test" ]
	[[ "${lines[2]}" == "501 5.5.4 "* ]]
}

@test "a HELO name of 255 octets is taken, one of 256 is 501 5.5.4" {
	n255=$(head -c 255 /dev/zero | tr '\0' a)
	run smtp "HELO $n255" "HELO ${n255}a" "QUIT"
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "250 mx.test" ]
	[ "${lines[2]}" = "501 5.5.4 Syntax: HELO <hostname>" ]
}

@test "HELO with a name that is not one printable word is 501" {
	run smtp "HELO two words" "QUIT"
	[[ "${lines[1]}" == "501 5.5.4 "* ]]
}

@test "commands are case-insensitive" {
	run smtp "ehlo c" "mail from:<a@b.example>" "rcpt to:<u@example.org>" \
	    "data" "x" "." "quit"
	[ "$status" -eq 0 ]
	[[ "$output" == *"250 2.0.0 Ok: queued as "* ]]
	[ "$(count_messages example.org u)" -eq 1 ]
}

@test "a command line may end in a bare LF" {
	run smtp_raw 'EHLO c\nMAIL FROM:<a@b.example>\nRCPT TO:<u@example.org>\nQUIT\n'
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "250-mx.test Hello c" ]
	[ "${lines[8]}" = "250 2.1.0 Ok" ]
	[ "${lines[9]}" = "250 2.1.5 Ok" ]
	[ "${lines[10]}" = "221 2.0.0 mx.test closing connection" ]
}

@test "MAIL before HELO/EHLO is 503 5.5.1" {
	run smtp "MAIL FROM:<a@b.example>" "QUIT"
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "503 5.5.1 Bad sequence of commands: send HELO or EHLO first" ]
}

@test "RCPT before MAIL is 503 5.5.1" {
	run smtp "EHLO c" "RCPT TO:<u@example.org>" "QUIT"
	[[ "$output" == *"503 5.5.1 Bad sequence of commands: need MAIL command"* ]]
}

@test "DATA before RCPT is 503 5.5.1 and no 354" {
	run smtp "EHLO c" "MAIL FROM:<a@b.example>" "DATA" "QUIT"
	[[ "$output" == *"503 5.5.1 Bad sequence of commands: need RCPT command"* ]]
	[ "$(reply_count 354)" -eq 0 ]
}

@test "a second MAIL in a transaction is 503 5.5.1" {
	run smtp "EHLO c" "MAIL FROM:<a@b.example>" "MAIL FROM:<a@b.example>" \
	    "QUIT"
	[[ "${lines[8]}" == "250 2.1.0 Ok" ]]
	[[ "${lines[9]}" == "503 5.5.1 "* ]]
}

@test "an unknown command is 500 5.5.2" {
	run smtp "EHLO c" "FROB x" "QUIT"
	[[ "$output" == *"500 5.5.2 Command unrecognized"* ]]
}

@test "NOOP 250, VRFY 252, HELP 214, EXPN 502" {
	run smtp "NOOP" "VRFY someone" "HELP" "EXPN list" "QUIT"
	[ "$status" -eq 0 ]
	[[ "${lines[1]}" == "250 2.0.0 "* ]]
	[[ "${lines[2]}" == "252 2.5.0 "* ]]
	[[ "${lines[3]}" == "214 2.0.0 "* ]]
	[[ "${lines[4]}" == "502 5.5.1 "* ]]
}

@test "VRFY says the same of a mailbox that exists and one that does not" {
	conf "mailbox alice"
	run smtp "VRFY alice@example.org" "VRFY bob@example.org" \
	    "VRFY x@elsewhere.test" "QUIT"
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "252 2.5.0 Cannot VRFY user, but will accept message" ]
	[ "${lines[2]}" = "${lines[1]}" ]
	[ "${lines[3]}" = "${lines[1]}" ]
}

@test "DATA with an argument and QUIT with one are 501 5.5.4" {
	run smtp "EHLO c" "MAIL FROM:<>" "RCPT TO:<u@example.org>" "DATA now" \
	    "QUIT now" "QUIT"
	[[ "${lines[10]}" == "501 5.5.4 "* ]]
	[[ "${lines[11]}" == "501 5.5.4 "* ]]
	[[ "${lines[12]}" == "221 2.0.0 "* ]]
}

@test "RSET ends the transaction" {
	run smtp "EHLO c" "MAIL FROM:<a@b.example>" "RSET" \
	    "RCPT TO:<u@example.org>" "QUIT"
	[[ "${lines[9]}" == "250 2.0.0 Ok" ]]
	[[ "${lines[10]}" == "503 5.5.1 "* ]]
}

@test "EHLO or HELO in the middle of a transaction ends it" {
	run smtp "EHLO c" "MAIL FROM:<a@b.example>" "RCPT TO:<u@example.org>" \
	    "EHLO c" "MAIL FROM:<a@b.example>" "HELO d" \
	    "RCPT TO:<u@example.org>" "QUIT"
	[ "$status" -eq 0 ]
	[ "${lines[9]}" = "250 2.1.5 Ok" ]
	[ "${lines[10]}" = "250-mx.test Hello c" ]
	# A new MAIL, not a nested one: the EHLO ended the transaction.
	[ "${lines[17]}" = "250 2.1.0 Ok" ]
	[ "${lines[18]}" = "250 mx.test" ]
	# The HELO ended the second one: there is no MAIL for this RCPT.
	[ "${lines[19]}" = "503 5.5.1 Bad sequence of commands: need MAIL command" ]
	[ "${lines[20]}" = "221 2.0.0 mx.test closing connection" ]
}

@test "QUIT is answered 221 and nothing after it is read" {
	run smtp "QUIT" "NOOP" "NOOP"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[1]}" == "221 2.0.0 "* ]]
}

@test "a quoted local part is accepted and unquoted into the mailbox name" {
	run smtp "EHLO c" 'MAIL FROM:<"john q"@b.example>' \
	    'RCPT TO:<"Jane.Doe"@example.org>' "DATA" "x" "." "QUIT"
	[[ "${lines[8]}" == "250 2.1.0 Ok" ]]
	[[ "${lines[9]}" == "250 2.1.5 Ok" ]]
	[ "$(count_messages example.org jane.doe)" -eq 1 ]
	f=$(maildir_files example.org jane.doe)
	[ "$(head -n 1 "$f")" = 'Return-Path: <"john q"@b.example>' ]
}

@test "a source route is accepted and ignored" {
	run smtp "EHLO c" "MAIL FROM:<@relay.example,@r2.example:a@b.example>" \
	    "RCPT TO:<@relay.example:u@example.org>" "DATA" "x" "." "QUIT"
	[[ "${lines[8]}" == "250 2.1.0 Ok" ]]
	[[ "${lines[9]}" == "250 2.1.5 Ok" ]]
	f=$(maildir_files example.org u)
	[ "$(head -n 1 "$f")" = "Return-Path: <a@b.example>" ]
}

@test "a space after the colon is tolerated" {
	run smtp "EHLO c" "MAIL FROM: <a@b.example>" "RCPT TO: <u@example.org>" \
	    "QUIT"
	[[ "${lines[8]}" == "250 2.1.0 Ok" ]]
	[[ "${lines[9]}" == "250 2.1.5 Ok" ]]
}

@test "a sender without angle brackets is 501 5.1.7" {
	run smtp "EHLO c" "MAIL FROM:a@b.example" "MAIL FROM:<a@b.example" \
	    "MAIL FROM:<a@b..example>" "QUIT"
	[[ "${lines[8]}" == "501 5.1.7 "* ]]
	[[ "${lines[9]}" == "501 5.1.7 "* ]]
	[[ "${lines[10]}" == "501 5.1.7 "* ]]
}

@test "malformed recipients are 501 5.1.3" {
	run smtp "EHLO c" "MAIL FROM:<>" "RCPT TO:<>" "RCPT TO:<u>" \
	    "RCPT TO:<.u@example.org>" "RCPT TO:<u.@example.org>" \
	    "RCPT TO:<u@-example.org>" "RCPT TO:u@example.org" "QUIT"
	[ "$(reply_count 501)" -eq 6 ]
	[ "$(printf '%s\n' "$output" | grep -c '^501 5.1.3 ')" -eq 6 ]
}

@test "MAIL without FROM: is 501 5.5.4" {
	run smtp "EHLO c" "MAIL <a@b.example>" "QUIT"
	[[ "${lines[8]}" == "501 5.5.4 "* ]]
}

@test "RCPT TO:<postmaster> in any case needs no domain" {
	run smtp "EHLO c" "MAIL FROM:<a@b.example>" "RCPT TO:<PostMaster>" \
	    "DATA" "x" "." "QUIT"
	[[ "${lines[9]}" == "250 2.1.5 Ok" ]]
	[ "$(count_messages example.org postmaster)" -eq 1 ]
}

@test "an unknown MAIL or RCPT parameter is 555 5.5.4" {
	run smtp "EHLO c" "MAIL FROM:<a@b.example> FOO=bar" \
	    "MAIL FROM:<a@b.example>" "RCPT TO:<u@example.org> NOTIFY=NEVER" \
	    "QUIT"
	[[ "${lines[8]}" == "555 5.5.4 Unsupported parameter FOO" ]]
	[[ "${lines[9]}" == "250 2.1.0 Ok" ]]
	[[ "${lines[10]}" == "555 5.5.4 "* ]]
}

@test "MAIL parameters after HELO (not EHLO) are 555 5.5.4" {
	run smtp "HELO c" "MAIL FROM:<a@b.example> BODY=8BITMIME" "QUIT"
	[[ "${lines[2]}" == "555 5.5.4 "* ]]
}

@test "SIZE= over the limit is 552 5.3.4 at MAIL" {
	conf "max-message-size 1K"
	run smtp "EHLO c" "MAIL FROM:<a@b.example> SIZE=1025" \
	    "MAIL FROM:<a@b.example> SIZE=1024" "QUIT"
	[[ "${lines[8]}" == "552 5.3.4 "* ]]
	[[ "${lines[9]}" == "250 2.1.0 Ok" ]]
}

@test "SIZE= with a value that is not a number is 501 5.5.4" {
	run smtp "EHLO c" "MAIL FROM:<a@b.example> SIZE=ten" \
	    "MAIL FROM:<a@b.example> SIZE=99999999999999999999999" "QUIT"
	[[ "${lines[8]}" == "501 5.5.4 "* ]]
	[[ "${lines[9]}" == "552 5.3.4 "* ]]
}

@test "BODY=7BIT and BODY=8BITMIME are accepted, BINARYMIME is not" {
	run smtp "EHLO c" "MAIL FROM:<a@b.example> BODY=8BITMIME" "RSET" \
	    "MAIL FROM:<a@b.example> BODY=7bit" "RSET" \
	    "MAIL FROM:<a@b.example> BODY=BINARYMIME" "QUIT"
	[[ "${lines[8]}" == "250 2.1.0 Ok" ]]
	[[ "${lines[10]}" == "250 2.1.0 Ok" ]]
	[[ "${lines[12]}" == "555 5.5.4 "* ]]
}

@test "8-bit message content is stored as sent" {
	run smtp "EHLO c" "MAIL FROM:<a@b.example> BODY=8BITMIME" \
	    "RCPT TO:<u@example.org>" "DATA" "Subject: caf$(printf '\303\251')" \
	    "" "na$(printf '\303\257')ve" "." "QUIT"
	[[ "$output" == *"250 2.0.0 Ok: queued"* ]]
	f=$(maildir_files example.org u)
	[ "$(body_of "$f")" = "$(printf 'Subject: caf\303\251\n\nna\303\257ve')" ]
}

@test "a non-ASCII sender without SMTPUTF8 is 553 5.6.7" {
	run smtp "EHLO c" "MAIL FROM:<j$(printf '\303\266')rg@b.example>" "QUIT"
	[[ "${lines[8]}" == "553 5.6.7 "* ]]
}

@test "a non-ASCII recipient in a transaction without SMTPUTF8 is 553 5.6.7" {
	run smtp "EHLO c" "MAIL FROM:<a@b.example>" \
	    "RCPT TO:<j$(printf '\303\266')rg@example.org>" "QUIT"
	[[ "${lines[9]}" == "553 5.6.7 "* ]]
}

@test "SMTPUTF8 allows UTF-8 addresses and is recorded as UTF8SMTP" {
	u=$(printf 'j\303\266rg')
	run smtp "EHLO c" "MAIL FROM:<$u@b.example> SMTPUTF8" \
	    "RCPT TO:<$u@example.org>" "DATA" "x" "." "QUIT"
	[[ "${lines[8]}" == "250 2.1.0 Ok" ]]
	[[ "${lines[9]}" == "250 2.1.5 Ok" ]]
	f=$(maildir_files example.org "$u")
	grep -q "with UTF8SMTP id" "$f"
}

@test "malformed UTF-8 in an address is refused even with SMTPUTF8" {
	run smtp "EHLO c" "MAIL FROM:<j$(printf '\303')rg@b.example> SMTPUTF8" \
	    "MAIL FROM:<$(printf '\300\257')@b.example> SMTPUTF8" "QUIT"
	[[ "${lines[8]}" == "501 5.1.7 "* ]]
	[[ "${lines[9]}" == "501 5.1.7 "* ]]
}

@test "PIPELINING: a batch is answered in order" {
	run smtp "EHLO c" "MAIL FROM:<a@b.example>" "RCPT TO:<u@example.org>" \
	    "RCPT TO:<nobody@elsewhere.example>" "RCPT TO:<v@example.org>" \
	    "DATA" "x" "." "NOOP" "QUIT"
	[ "$status" -eq 0 ]
	[[ "${lines[8]}" == "250 2.1.0 Ok" ]]
	[[ "${lines[9]}" == "250 2.1.5 Ok" ]]
	[[ "${lines[10]}" == "550 5.7.1 "* ]]
	[[ "${lines[11]}" == "250 2.1.5 Ok" ]]
	[[ "${lines[12]}" == "354 "* ]]
	[[ "${lines[13]}" == "250 2.0.0 Ok: queued as "* ]]
	[[ "${lines[14]}" == "250 2.0.0 Ok" ]]
	[[ "${lines[15]}" == "221 2.0.0 "* ]]
}

@test "PIPELINING: the replies to a batch go out in one write" {
	command -v strace >/dev/null || skip "strace is not installed"
	printf 'EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<u@example.org>\r\nNOOP\r\nQUIT\r\n' |
	    ASAN_OPTIONS=detect_leaks=0 \
	    strace -o "$TMP/trace" -e trace=write "$SMTPD" -i -f "$(run_conf)" \
	    >"$TMP/out" 2>/dev/null
	# One write for the greeting (before the first read), one for the
	# whole batch.
	[ "$(grep -c '^write(1,' "$TMP/trace")" -eq 2 ]
	[ "$(tr -d '\r' <"$TMP/out" | wc -l)" -eq 12 ]
}

@test "input is read in blocks, never one read() per byte" {
	command -v strace >/dev/null || skip "strace is not installed"
	{ printf 'EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<u@example.org>\r\nDATA\r\n'
	  { head -c 20000 /dev/zero | tr '\0' 'a'; echo; } | fold -w 70 |
	      sed 's/$/\r/'
	  printf '.\r\nQUIT\r\n'; } >"$TMP/in"
	# LeakSanitizer cannot run under ptrace; other tests check leaks.
	ASAN_OPTIONS=detect_leaks=0 \
	    strace -o "$TMP/trace" -e trace=read "$SMTPD" -i -f "$(run_conf)" \
	    <"$TMP/in" >/dev/null 2>&1
	[ "$(grep -c '^read(0,' "$TMP/trace")" -lt 10 ]
	[ "$(count_messages example.org u)" -eq 1 ]
}

# --- DATA -----------------------------------------------------------------

# begin - the commands up to and including DATA, for smtp_raw.
begin='EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<u@example.org>\r\nDATA\r\n'

@test "DATA: dot-stuffed lines are unstuffed" {
	run smtp_raw "$begin"'..leading dot\r\n..\r\n...\r\nend\r\n.\r\nQUIT\r\n'
	[ "$status" -eq 0 ]
	[[ "$output" == *"250 2.0.0 Ok: queued"* ]]
	f=$(maildir_files example.org u)
	[ "$(body_of "$f")" = "$(printf '.leading dot\n.\n..\nend')" ]
}

@test "DATA: an empty message is accepted" {
	run smtp_raw "$begin"'.\r\nQUIT\r\n'
	[[ "$output" == *"250 2.0.0 Ok: queued"* ]]
	[ "$(count_messages example.org u)" -eq 1 ]
}

@test "DATA: a line that only starts with a dot does not end the data" {
	run smtp_raw "$begin"'a\r\n.x\r\n. \r\nb\r\n.\r\nQUIT\r\n'
	[ "${lines[10]}" = "354 End data with <CR><LF>.<CR><LF>" ]
	[[ "${lines[11]}" == "250 2.0.0 Ok: queued as "* ]]
	[ "${#lines[@]}" -eq 13 ]
	f=$(maildir_files example.org u)
	[ "$(body_of "$f")" = "$(printf 'a\nx\n \nb')" ]
}

@test "smuggling: <LF>.<LF> does not end the data, the message is refused" {
	run smtp_raw "$begin"'a\n.\nMAIL FROM:<evil@b.example>\r\nRCPT TO:<v@example.org>\r\nDATA\r\nevil\r\n.\r\nQUIT\r\n'
	[ "$status" -eq 0 ]
	[[ "$output" == *"550 5.6.0 "* ]]
	# The smuggled MAIL was data, not a command: one 250 2.1.0 only.
	[ "$(printf '%s\n' "$output" | grep -c '^250 2.1.0')" -eq 1 ]
	[ "$(reply_count 354)" -eq 1 ]
	[ -z "$(maildir_files example.org u)" ]
	[ -z "$(maildir_files example.org v)" ]
}

@test "smuggling: <CR><LF>.<LF> does not end the data" {
	run smtp_raw "$begin"'a\r\n.\nRSET\r\nb\r\n.\r\nQUIT\r\n'
	[[ "$output" == *"550 5.6.0 "* ]]
	[ "$(printf '%s\n' "$output" | grep -c '^250 2.0.0 Ok$')" -eq 0 ]
	[ -z "$(maildir_files example.org u)" ]
}

@test "smuggling: <LF>.<CR><LF> does not end the data" {
	run smtp_raw "$begin"'a\n.\r\nRSET\r\nb\r\n.\r\nQUIT\r\n'
	[[ "$output" == *"550 5.6.0 "* ]]
	[ "$(printf '%s\n' "$output" | grep -c '^250 2.0.0 Ok$')" -eq 0 ]
	[ -z "$(maildir_files example.org u)" ]
}

@test "smuggling: <CR>.<CR> and a bare CR refuse the message" {
	run smtp_raw "$begin"'a\r.\rRSET\r\nb\r\n.\r\nQUIT\r\n'
	[[ "$output" == *"550 5.6.0 "* ]]
	[ "$(printf '%s\n' "$output" | grep -c '^250 2.0.0 Ok$')" -eq 0 ]
	[ -z "$(maildir_files example.org u)" ]
}

@test "smuggling: after a refused message the session goes on in sync" {
	run smtp_raw "$begin"'a\n.\nb\r\n.\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<u@example.org>\r\nDATA\r\nok\r\n.\r\nQUIT\r\n'
	[[ "$output" == *"550 5.6.0 "* ]]
	[ "$(printf '%s\n' "$output" | grep -c '^250 2.0.0 Ok: queued')" -eq 1 ]
	f=$(maildir_files example.org u)
	[ "$(body_of "$f")" = "ok" ]
}

@test "a command line over 562 octets is 500 5.5.6, and the next is read" {
	long=$(head -c 600 /dev/zero | tr '\0' 'x')
	run smtp "EHLO c" "NOOP $long" "NOOP" "QUIT"
	[ "$status" -eq 0 ]
	[[ "${lines[8]}" == "500 5.5.6 "* ]]
	[[ "${lines[9]}" == "250 2.0.0 Ok" ]]
	[[ "${lines[10]}" == "221 "* ]]
}

@test "a command line of exactly 562 octets is accepted" {
	# "NOOP " + 555 + CRLF = 562
	arg=$(head -c 555 /dev/zero | tr '\0' 'x')
	run smtp "NOOP $arg" "QUIT"
	[[ "${lines[1]}" == "250 2.0.0 Ok" ]]
}

@test "a NUL in a command is 500 5.5.2" {
	run smtp_raw 'EHLO c\r\nNO\0OP\r\nQUIT\r\n'
	[ "$status" -eq 0 ]
	[[ "${lines[8]}" == "500 5.5.2 NUL character in command" ]]
	[[ "${lines[9]}" == "221 "* ]]
}

@test "a text line of 1000 octets with CRLF is accepted" {
	l=$(head -c 998 /dev/zero | tr '\0' 'y')
	run smtp "EHLO c" "MAIL FROM:<a@b.example>" "RCPT TO:<u@example.org>" \
	    "DATA" "$l" "." "QUIT"
	[[ "$output" == *"250 2.0.0 Ok: queued"* ]]
	f=$(maildir_files example.org u)
	[ "$(body_of "$f")" = "$l" ]
}

@test "a text line over 1000 octets refuses the message with 550 5.5.6" {
	l=$(head -c 999 /dev/zero | tr '\0' 'y')
	run smtp "EHLO c" "MAIL FROM:<a@b.example>" "RCPT TO:<u@example.org>" \
	    "DATA" "$l" "." "NOOP" "QUIT"
	[ "$status" -eq 0 ]
	[[ "${lines[11]}" == "550 5.5.6 "* ]]
	[[ "${lines[12]}" == "250 2.0.0 Ok" ]]
	[ -z "$(maildir_files example.org u)" ]
	[ -z "$(find "$SPOOL" -path "$SPOOL/*/tmp/*" -type f)" ]
}

@test "a message over max-message-size is read to its end, 552 5.3.4" {
	conf "max-message-size 1K"
	body=$(head -c 3000 /dev/zero | tr '\0' 'z' | fold -w 60)
	run smtp "EHLO c" "MAIL FROM:<a@b.example>" "RCPT TO:<u@example.org>" \
	    "DATA" $body "." "NOOP" "QUIT"
	[ "$status" -eq 0 ]
	[[ "${lines[11]}" == "552 5.3.4 "* ]]
	[[ "${lines[12]}" == "250 2.0.0 Ok" ]]
	[ -z "$(maildir_files example.org u)" ]
	[ -z "$(find "$SPOOL" -path "$SPOOL/*/tmp/*" -type f)" ]
}

@test "100 recipients are accepted, the 101st is 452 4.5.3" {
	rcpts=()
	for i in $(seq 1 101); do rcpts+=("RCPT TO:<u$i@example.org>"); done
	run smtp "EHLO c" "MAIL FROM:<a@b.example>" "${rcpts[@]}" "DATA" "x" \
	    "." "QUIT"
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | grep -c '^250 2.1.5 Ok')" -eq 100 ]
	[[ "${lines[109]}" == "452 4.5.3 Too many recipients" ]]
	[[ "$output" == *"250 2.0.0 Ok: queued"* ]]
	[ "$(count_messages example.org u100)" -eq 1 ]
	[ "$(count_messages example.org u101)" -eq 0 ]
}

@test "too many errors: 421 4.7.0 and the connection is closed" {
	conf "max-errors 3"
	run smtp "EHLO c" "BAD1" "BAD2" "BAD3" "NOOP" "NOOP"
	[ "$status" -eq 0 ]
	[ "$(reply_count 500)" -eq 3 ]
	[[ "${lines[11]}" == "421 4.7.0 mx.test Too many errors, closing connection" ]]
	[ "${#lines[@]}" -eq 12 ]
}

@test "a client that hangs up after MAIL leaves nothing and exits 0" {
	run smtp_raw 'EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<u@example.org>'
	[ "$status" -eq 0 ]
	[ ! -e "$SPOOL/example.org" ]
}

@test "more than 100 Received: headers is a loop: 554 5.4.6" {
	hdrs=()
	for i in $(seq 1 101); do hdrs+=("Received: from hop$i"); done
	run smtp "EHLO c" "MAIL FROM:<a@b.example>" "RCPT TO:<u@example.org>" \
	    "DATA" "${hdrs[@]}" "" "body" "." "QUIT"
	[ "$status" -eq 0 ]
	[[ "$output" == *"554 5.4.6 "* ]]
	[ -z "$(maildir_files example.org u)" ]
}

@test "100 Received: headers are not yet a loop" {
	hdrs=()
	for i in $(seq 1 100); do hdrs+=("received: from hop$i"); done
	run smtp "EHLO c" "MAIL FROM:<a@b.example>" "RCPT TO:<u@example.org>" \
	    "DATA" "${hdrs[@]}" "" "Received: in the body does not count" \
	    "." "QUIT"
	[[ "$output" == *"250 2.0.0 Ok: queued"* ]]
}

# --- BDAT (RFC 3030) --------------------------------------------------------

@test "BDAT LAST: one chunk is a message" {
	run smtp_raw 'EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<u@example.org>\r\nBDAT 12 LAST\r\nSubject: x\r\nQUIT\r\n'
	[ "$status" -eq 0 ]
	[[ "${lines[10]}" == "250 2.0.0 Ok: queued as "* ]]
	f=$(maildir_files example.org u)
	[ "$(body_of "$f")" = "Subject: x" ]
}

@test "BDAT: chunks are byte-counted, not dot-unstuffed, not line-limited" {
	l=$(head -c 2000 /dev/zero | tr '\0' 'w')
	run smtp_raw 'EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<u@example.org>\r\nBDAT 8\r\na\r\n.\r\n..BDAT 2004 LAST\r\n'"$l"'\r\n\r\nQUIT\r\n'
	[ "$status" -eq 0 ]
	[[ "${lines[10]}" == "250 2.0.0 8 octets received" ]]
	[[ "${lines[11]}" == "250 2.0.0 Ok: queued as "* ]]
	f=$(maildir_files example.org u)
	[ "$(body_of "$f")" = "$(printf 'a\n.\n..%s\n' "$l")" ]
}

@test "BDAT 0 LAST ends a message" {
	run smtp_raw 'EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<u@example.org>\r\nBDAT 4\r\nhi\r\nBDAT 0 LAST\r\nQUIT\r\n'
	[[ "${lines[10]}" == "250 2.0.0 4 octets received" ]]
	[[ "${lines[11]}" == "250 2.0.0 Ok: queued as "* ]]
	[ "$(count_messages example.org u)" -eq 1 ]
}

@test "BDAT without a transaction is 503 and its chunk is read and dropped" {
	run smtp_raw 'EHLO c\r\nBDAT 6\r\nQUIT\r\nNOOP\r\nQUIT\r\n'
	[ "$status" -eq 0 ]
	[[ "${lines[8]}" == "503 5.5.1 "* ]]
	[[ "${lines[9]}" == "250 2.0.0 Ok" ]]
	[[ "${lines[10]}" == "221 "* ]]
}

@test "BDAT over max-message-size is 552 5.3.4 and the chunk is read to its end" {
	conf "max-message-size 1K"
	chunk=$(head -c 2000 /dev/zero | tr '\0' 'q')
	run smtp_raw 'EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<u@example.org>\r\nBDAT 2000 LAST\r\n'"$chunk"'NOOP\r\nQUIT\r\n'
	[ "$status" -eq 0 ]
	[[ "${lines[10]}" == "552 5.3.4 "* ]]
	[[ "${lines[11]}" == "250 2.0.0 Ok" ]]
	[ -z "$(maildir_files example.org u)" ]
}

@test "DATA after BDAT in one transaction is 503" {
	run smtp_raw 'EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<u@example.org>\r\nBDAT 3\r\nab\nDATA\r\nQUIT\r\n'
	[[ "${lines[10]}" == "250 2.0.0 3 octets received" ]]
	[[ "${lines[11]}" == "503 5.5.1 "* ]]
	[ "$(reply_count 354)" -eq 0 ]
}

@test "BDAT with a size that cannot be read is 501 5.5.4, then 421 and close" {
	# The chunk cannot be skipped without its size: what follows would
	# be read as commands, so the session ends.
	for bad in 'x' '5 NOW' '+5' '5  LAST' '5 LAST ' '-1'; do
		run smtp_raw "EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<u@example.org>\r\nBDAT $bad\r\nNOOP\r\nQUIT\r\n"
		[ "$status" -eq 0 ]
		[[ "${lines[10]}" == "501 5.5.4 Syntax: BDAT <size> [LAST]" ]]
		[[ "${lines[11]}" == "421 4.5.0 mx.test BDAT chunk cannot be skipped, closing connection" ]]
		[ "${#lines[@]}" -eq 12 ]
	done
	run smtp_raw 'EHLO c\r\nBDAT\r\nQUIT\r\n'
	[[ "${lines[8]}" == "501 5.5.4 Syntax: BDAT <size> [LAST]" ]]
	[[ "${lines[9]}" == "221 "* ]]
}

@test "RCPT or MAIL during a BDAT transaction is 503 5.5.1 BDAT in progress" {
	run smtp_raw 'EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<u@example.org>\r\nBDAT 2\r\nabRCPT TO:<v@example.org>\r\nMAIL FROM:<>\r\nBDAT 0 LAST\r\nQUIT\r\n'
	[[ "${lines[11]}" == "503 5.5.1 Bad sequence of commands: BDAT in progress" ]]
	[[ "${lines[12]}" == "503 5.5.1 Bad sequence of commands: BDAT in progress" ]]
	[[ "${lines[13]}" == "250 2.0.0 Ok: queued as "* ]]
	[ "$(count_messages example.org u)" -eq 1 ]
	[ "$(count_messages example.org v)" -eq 0 ]
}
