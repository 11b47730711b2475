#!/usr/bin/env bats
# The log as smtpd(8)'s "Logging" gives it: every line read with that
# grammar (test/logparse.awk), the accept line naming each mailbox, the
# reject lines naming peer, sender, recipient and reply, and the
# question an owner asks the log answered with grep alone.

load helper

setup() {
	smtpd_setup
	conf "workers 2" "max-per-address 0" "timeout 2s" \
	    "mailbox bob" "mailbox alice" "alias info alice"
}

teardown() {
	daemon_teardown
	sanitizer_quiet
}

# parse [FILE] - every line of FILE ($LOG by default) read with the
# grammar, its pairs in $TMP/pairs (LINE SESSION EVENT KEY VALUE, tab
# separated); fails, naming the line, when one does not fit.
parse() {
	LC_ALL=C awk -f "$BATS_TEST_DIRNAME/logparse.awk" "${1:-$LOG}" \
	    >"$TMP/pairs"
}

# values EVENT KEY - the values of KEY in the EVENT lines, one a line.
values() {
	awk -F '\t' -v e="$1" -v k="$2" '$3 == e && $4 == k { print $5 }' \
	    "$TMP/pairs"
}

# line_has N KEY VALUE - line N of the log has KEY=VALUE (as written).
line_has() {
	awk -F '\t' -v n="$1" -v k="$2" -v v="$3" \
	    '$1 == n && $4 == k && $5 == v { f = 1 } END { exit !f }' \
	    "$TMP/pairs"
}

# session - a varied day: mail for bob and (through an alias) alice, a
# recipient unknown, a relay attempt, a command unknown and a bad
# sender, from 127.0.0.1; then a client that goes quiet after MAIL; then,
# when the system has ::1, a relay attempt over IPv6.
session() {
	local fd6 port6

	run smtp_tcp "EHLO c.example" "MAIL FROM:<carol@sender.example>" \
	    "RCPT TO:<bob@example.org>" "RCPT TO:<nobody@example.org>" \
	    "RCPT TO:<info@example.org>" "RCPT TO:<x@elsewhere.test>" \
	    "DATA" "Subject: hello" "" "hi" "." \
	    'FROB "x\y"' "MAIL FROM:<bad" "QUIT"
	[[ "$output" == *"250 2.0.0 Ok: queued as "* ]]
	ID=$(queued_id)
	# Quiet after MAIL: 421 4.4.2 once timeout has passed.
	run smtp_tcp "EHLO slow.example" "MAIL FROM:<dave@slow.example>"
	[[ "$output" == *"421 4.4.2 mx.test Timeout waiting for a command"* ]]
	V6=
	port6=$(sed -n 's/.*event=listen addr=\[::1\]:\([0-9]*\).*/\1/p' \
	    "$LOG")
	[ -n "$port6" ] || return 0
	exec {fd6}<>"/dev/tcp/::1/$port6"
	printf 'EHLO six\r\nMAIL FROM:<eve@six.example>\r\nRCPT TO:<x@elsewhere.test>\r\nQUIT\r\n' >&"$fd6"
	timeout 10 cat <&"$fd6" >/dev/null
	exec {fd6}>&-
	V6=yes
	wait_log 'event=reject peer=\[::1\] '
}

# v6_listen - listen on ::1 as well, when the system has it.
v6_listen() {
	if ip -6 addr show lo 2>/dev/null | grep -q '::1'; then
		conf "listen 127.0.0.1:0" "listen [::1]:0"
	fi
}

@test "every line of a varied session parses with smtpd(8)'s log grammar" {
	v6_listen
	daemon_start
	session
	daemon_stop
	cat "$LOG"
	parse
	# Every line has its event, and every event is in smtpd(8).
	[ "$(cut -f1 "$TMP/pairs" | sort -un | wc -l)" -eq "$(wc -l <"$LOG")" ]
	for e in $(cut -f3 "$TMP/pairs" | sort -u); do
		grep -Eq "^\\.It Li ([a-z-]+ , )*$e( ,|\$)" \
		    "$BATS_TEST_DIRNAME/../smtpd.8" ||
		    { echo "event=$e is not in smtpd(8)"; return 1; }
	done
	[ "$(grep -c 'event=unstructured' "$LOG")" -eq 0 ]
	# A peer is an IPv4 address, an IPv6 one in brackets, or unknown.
	[ -z "$({ values connect peer; values reject peer; } |
	    grep -Ev '^(unknown|[0-9.]+|\[[0-9a-f:.]+\])$')" ]
	[ "$(values connect peer | grep -c '^127\.0\.0\.1$')" -eq 2 ]
	[ "$(values reject peer | grep -c '^127\.0\.0\.1$')" -eq 5 ]
	[ -z "$V6" ] || [ "$(values connect peer | grep -cx '\[::1\]')" -eq 1 ]
	[ -z "$V6" ] || [ "$(values reject peer | grep -cx '\[::1\]')" -eq 1 ]
}

@test "the accept line names the sender, the size, the id and each mailbox" {
	daemon_start
	session
	parse
	n=$(grep -n ' event=accept ' "$LOG" | cut -d: -f1)
	[ "$(echo "$n" | wc -l)" -eq 1 ]
	line_has "$n" id "$ID"
	line_has "$n" peer 127.0.0.1
	line_has "$n" helo "\"c.example\""
	line_has "$n" from '"<carol@sender.example>"'
	line_has "$n" rcpts 2
	line_has "$n" size 22		# "Subject: hello", "", "hi", with CRLF
	# The mailboxes, as stored; for the alias, the address as written.
	[ "$(values accept rcpt | tr '\n' ' ')" = \
	    '"<bob@example.org>" "<alice@example.org>" ' ]
	[ "$(values accept rcpt-as)" = '"<info@example.org>"' ]
	grep -q ' rcpt="<alice@example.org>" rcpt-as="<info@example.org>"$' "$LOG"
	[ "$(count_messages example.org bob)" -eq 1 ]
	[ "$(count_messages example.org alice)" -eq 1 ]
}

@test "each reject line names the peer, the sender and recipient it refused, and the reply" {
	daemon_start
	session
	parse
	# RCPT refused: the sender of the transaction and the recipient.
	grep -Fx "$(sed -n 's/ event=reject .*//p' "$LOG" | head -n 1) event=reject peer=127.0.0.1 from=\"<carol@sender.example>\" rcpt=\"<nobody@example.org>\" reply=\"550 5.1.1 <nobody@example.org>: User unknown\" command=\"RCPT TO:<nobody@example.org>\"" "$LOG"
	grep -F ' event=reject peer=127.0.0.1 from="<carol@sender.example>" rcpt="<x@elsewhere.test>" reply="550 5.7.1 <x@elsewhere.test>: Relay access denied" command="RCPT TO:<x@elsewhere.test>"' "$LOG"
	# No transaction, no sender; the client's quotes and backslash
	# escaped.
	grep -F ' event=reject peer=127.0.0.1 reply="500 5.5.2 Command unrecognized" command="FROB \x22x\x5cy\x22"' "$LOG"
	grep -F ' event=reject peer=127.0.0.1 reply="501 5.1.7 Bad sender address syntax" command="MAIL FROM:<bad"' "$LOG"
	# The timeout names whom it cut off, and is a reject too.
	grep -Eq ' event=timeout phase=command stress=no$' "$LOG"
	grep -F ' event=reject peer=127.0.0.1 from="<dave@slow.example>" reply="421 4.4.2 mx.test Timeout waiting for a command, closing connection" command=""' "$LOG"
	# Every reply is a code, an enhanced code and a text.
	[ -z "$(values reject reply |
	    grep -Ev '^"[45][0-9][0-9] [45]\.[0-9]{1,3}\.[0-9]{1,3} [^"]+"$')" ]
	# A recipient only where a recipient was refused.
	[ "$(values reject rcpt | wc -l)" -eq 2 ]
}

@test "grep alone answers: what arrived for bob, and what was refused, from whom" {
	v6_listen
	daemon_start
	session
	# smtpd(8)'s EXAMPLES, word for word.
	# What arrived for bob: the message, from whom, when (syslog's date).
	run grep 'event=accept.* rcpt="<bob@example.org>"' "$LOG"
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *" id=$ID "* ]]
	[[ "$output" == *' from="<carol@sender.example>" '* ]]
	# What was refused, from whom: the peer, the sender, the recipient.
	run sh -c "grep 'event=reject ' \"\$1\" | grep -o 'peer=[^ ]* from=\"[^\"]*\"\( rcpt=\"[^\"]*\"\)\?'" \
	    sh "$LOG"
	printf '%s\n' "$output"
	[ "${lines[0]}" = 'peer=127.0.0.1 from="<carol@sender.example>" rcpt="<nobody@example.org>"' ]
	[ "${lines[1]}" = 'peer=127.0.0.1 from="<carol@sender.example>" rcpt="<x@elsewhere.test>"' ]
	[ "${lines[2]}" = 'peer=127.0.0.1 from="<dave@slow.example>"' ]
	if [ -n "$V6" ]; then
		[ "${lines[3]}" = 'peer=[::1] from="<eve@six.example>" rcpt="<x@elsewhere.test>"' ]
	fi
}

@test "recipients past one line's room go on accept-more lines, each parsing" {
	local i rcpts=() want got
	# No mailbox lines: any local part of the domain is a mailbox.
	printf 'hostname mx.test\nspool %s\ndomain example.org\n' "$SPOOL" \
	    >"$CONF"
	for i in $(seq -w 1 100); do
		rcpts+=("RCPT TO:<a-long-local-part-for-the-log-line-limit-number-$i@example.org>")
	done
	run smtp "EHLO c" "MAIL FROM:<a@b.example>" "${rcpts[@]}" \
	    "DATA" "hi" "." "QUIT"
	[[ "$output" == *"250 2.0.0 Ok: queued as "* ]]
	parse
	[ "$(grep -c ' event=accept ' "$LOG")" -eq 1 ]
	[ "$(grep -c ' event=accept-more ' "$LOG")" -ge 3 ]
	[ "$(awk 'length($0) > 2048' "$LOG" | wc -l)" -eq 0 ]
	[ "$(grep -c 'truncated=yes' "$LOG")" -eq 0 ]
	# Each continuation says which message and from whom.
	[ "$(values accept-more from | sort -u)" = '"<a@b.example>"' ]
	[ "$(values accept-more id | sort -u)" = "$(queued_id)" ]
	want=$(printf '"<%s>"\n' "${rcpts[@]#RCPT TO:<}" | sed 's/>>"$/>"/')
	got=$({ values accept rcpt; values accept-more rcpt; })
	[ "$got" = "$want" ]
}

@test "start-up errors, -v lines and a client's odd octets parse too" {
	# A missing file (with a space in its name), bad lines, a port in
	# use.
	"$SMTPD" -n -f "$TMP/no such.conf" 2>>"$LOG" && return 1
	printf '%s\n' 'max-recipients "0' 'frob"nicate x\y' >"$TMP/bad.conf"
	"$SMTPD" -n -f "$TMP/bad.conf" 2>>"$LOG" && return 1
	grep -Fx "event=conf-error file=\"$TMP/no such.conf\" error=\"No such file or directory\"" "$LOG"
	grep -F "event=conf-error file=$TMP/bad.conf line=2 reason=\"unknown keyword: frob\\x22nicate\"" "$LOG"
	daemon_start
	conf2=$TMP/second.conf
	sed "s/^listen .*/listen 127.0.0.1:$PORT/" "$(run_conf)" >"$conf2"
	timeout 5 "$SMTPD" -d -f "$conf2" 2>>"$LOG" && return 1
	grep -q 'event=listen-failed host=127.0.0.1 ' "$LOG"
	# Under -v: commands, replies and states, with a HELO name holding a
	# quote and a backslash, and a NUL and an escape in a command.
	printf 'EHLO a"b\\c\r\nMAIL FROM:<x\0y>\r\nNOOP \033[1m\r\nQUIT\r\n' |
	    "$SMTPD" -i -d -v -f "$(run_conf)" >/dev/null 2>>"$LOG"
	daemon_stop
	cat "$LOG"
	parse
	grep -F 'event=command line="EHLO a\x22b\x5cc"' "$LOG"
	grep -F 'event=reply line="250-mx.test Hello a\x22b\x5cc"' "$LOG"
	grep -F 'event=command line="NOOP \x1b[1m"' "$LOG"
}

@test "the parser fails on a line that does not fit the grammar" {
	local bad
	for bad in 'smtpd: started' '0123456789ab state ready -> mail' \
	    'event=x a=b c' 'event=x a=two words' 'event=x a="open' \
	    'event=x a="x"y' 'event=x a="back\slash"' 'event=x  a=b' \
	    'event=x a=b ' 'event=x A=b' 'event=x a=' \
	    "$(printf 'event=x a="\001"')" "$(printf 'event=x a=\303\251')"; do
		printf '%s\n' "$bad" >"$TMP/bad"
		! parse "$TMP/bad" || { echo "parsed: $bad"; return 1; }
	done
	printf '%s\n' 'event=x a=b c="d e" f="\x22"' >"$TMP/good"
	parse "$TMP/good"
}
