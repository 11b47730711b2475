#!/usr/bin/env bats
# The log as smtpd(8)'s "Logging" gives it: every line read with that
# grammar (test/logparse.awk), the accept line naming each mailbox, the
# reject lines naming peer, sender, recipient and reply, the question an
# owner asks the log answered with grep alone; and the daemon driven
# through as many of its events as a test can cause (reloads, a spool
# moved, stress, PROXY, notify, an NFS false failure), with names that
# want quoting, each line parsed and each event and key found in
# smtpd(8).

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
	documented
	# Every line has its event, and every event is in smtpd(8).
	[ "$(cut -f1 "$TMP/pairs" | sort -un | wc -l)" -eq "$(wc -l <"$LOG")" ]
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
	documented
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
	documented
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
	documented
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
	documented
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
	    "$(printf 'event=x a="\001"')" "$(printf 'event=x a=\303\251')" \
	    'event=a.b x=1' 'event=A' '0123456789a event=x' \
	    "event=x a=$(printf '%02100d' 0)"; do
		printf '%s\n' "$bad" >"$TMP/bad"
		! parse "$TMP/bad" || { echo "parsed: $bad"; return 1; }
	done
	printf '%s\n' 'event=x a=b c="d e" f="\x22"' >"$TMP/good"
	parse "$TMP/good"
}

# odd_start CONFFILE [CMD...] - daemon_start, with the configuration at
# CONFFILE (a name that wants quoting) and CMD before smtpd (env ...).
odd_start() {
	local c=$1
	shift
	cp "$(run_conf)" "$c"
	chmod 644 "$c"
	"$@" "$SMTPD" -d -f "$c" >>"$LOG" 2>&1 3>&- &
	DPID=$!
	daemon_wait || return 1
	PORT=$(sed -n 's/.*event=listen addr=127\.0\.0\.1:\([0-9]*\)$/\1/p' \
	    "$LOG" | head -n 1)
	PPORT=$(sed -n 's/.*event=listen addr=127\.0\.0\.1:\([0-9]*\) proxy=yes$/\1/p' \
	    "$LOG" | head -n 1)
	[ -n "$PORT" ] && [ -n "$PPORT" ]
}

# raw_tcp PORT FORMAT - one connection: printf FORMAT's bytes, then read
# the replies until the server closes (at most 10 s).
raw_tcp() {
	local fd
	exec {fd}<>"/dev/tcp/127.0.0.1/$1" || return 1
	printf "$2" >&"$fd"
	timeout 10 cat <&"$fd" | tr -d '\r'
	exec {fd}>&-
}

@test "the daemon's own events, with names that want quoting, parse and are in smtpd(8)" {
	local cf
	# A spool, a configuration file and a NOTIFY_SOCKET whose names hold
	# a quote, a backslash and (the file, the socket) a space.
	SPOOL=$TMP/sp\"o\\ol
	cf="$BATS_FILE_TMPDIR/my \"smtpd\\ $BATS_TEST_NUMBER.conf"
	printf 'hostname mx.test\nspool %s\ndomain example.org\n' "$SPOOL" \
	    >"$CONF"
	conf "workers 2" "max-per-address 0" "timeout 2s" "mailbox bob" \
	    "recipient-delimiter +" "listen 127.0.0.1:0" \
	    "listen 127.0.0.1:0 proxy"
	mkdir -p "$SPOOL/example.org/bob/.shop/"{tmp,new,cur} \
	    "$SPOOL/example.org/bob/"{tmp,new,cur}
	odd_start "$cf" env NOTIFY_SOCKET="$TMP/no such \"socket"
	# A HELO with a quote and a backslash, a UTF-8 sender, a +tag into a
	# folder, a quoted local part refused, control and 8-bit octets.
	run raw_tcp "$PORT" 'EHLO a"b\\c\r\nMAIL FROM:<\303\251@b.example> SMTPUTF8\r\nRCPT TO:<bob+shop@example.org>\r\nRCPT TO:<"x y\\"z"@example.org>\r\nDATA\r\nhi\r\n.\r\nFROB \001\177\377\r\nQUIT\r\n'
	[[ "$output" == *"250 2.0.0 Ok: queued as "* ]]
	# Through the proxy listener: an IPv6 client, then no header at all.
	run raw_tcp "$PPORT" 'PROXY TCP6 2001:db8::1 2001:db8::2 1234 25\r\nEHLO p\r\nRCPT TO:<x@example.org>\r\nQUIT\r\n'
	[[ "$output" == *"503 5.5.1 "* ]]
	run raw_tcp "$PPORT" 'HELO x\r\n'
	wait_log 'event=proxy-refused '
	# A reload, a failing one, the scoreboard, the stop.
	kill -HUP "$DPID"
	wait_log 'event=reload '
	echo 'frob"nicate' >>"$cf"
	kill -HUP "$DPID"
	wait_log 'event=reload-failed '
	kill -USR1 "$DPID"
	wait_log 'event=scoreboard busy='
	daemon_stop
	cat "$LOG"
	parse
	documented
	[ "$(grep -c 'event=unstructured' "$LOG")" -eq 0 ]
	# Each of them, as smtpd(8) gives it.
	grep -F "event=notify-failed socket=\"$TMP/no such \\x22socket\" error=\"No such file or directory\" action=ignored" "$LOG"
	grep -F ' event=accept ' "$LOG" | grep -F ' peer=127.0.0.1 helo="a\x22b\x5cc" from="<\xc3\xa9@b.example>" rcpts=1 size=4 rcpt="<bob@example.org>" folder="shop" rcpt-as="<bob+shop@example.org>"'
	grep -F ' event=reject peer=127.0.0.1 from="<\xc3\xa9@b.example>" rcpt="<\x22x y\x5c\x22z\x22@example.org>" reply="550 5.1.1 <\x22x y\x5c\x22z\x22@example.org>: User unknown"' "$LOG"
	grep -F 'command="FROB \x01\x7f\xff"' "$LOG"
	grep -F ' event=connect peer=[2001:db8::1]' "$LOG"
	grep -F ' event=reject peer=[2001:db8::1] reply="503 5.5.1 ' "$LOG"
	grep -F "event=proxy-refused peer=127.0.0.1 listen=127.0.0.1:$PPORT reason=no-proxy-header" "$LOG"
	grep -F "event=reload file=\"$BATS_FILE_TMPDIR/my \\x22smtpd\\x5c $BATS_TEST_NUMBER.conf\" workers=2" "$LOG"
	grep -F "event=conf-error file=\"$BATS_FILE_TMPDIR/my \\x22smtpd\\x5c $BATS_TEST_NUMBER.conf\" line=" "$LOG"
	grep -F "event=reload-failed file=\"$BATS_FILE_TMPDIR/my \\x22smtpd\\x5c $BATS_TEST_NUMBER.conf\" action=kept-running" "$LOG"
	grep -Eq '^event=scoreboard busy=[0-9]+ idle=[0-9]+ stress=no$' "$LOG"
	grep -Eq '^event=worker-exit pid=[0-9]+ ' "$LOG"
	grep -Eq '^event=stop workers=2$' "$LOG"
	# Every event this test meant to see, seen.
	for e in start listen notify-failed connect accept reject disconnect \
	    proxy-refused reload conf-error reload-failed scoreboard stop \
	    worker-exit; do
		cut -f3 "$TMP/pairs" | grep -qx -- "$e" ||
		    { echo "no event=$e"; return 1; }
	done
}

# logged_times ERE N - $LOG has N lines (or more) that match.
logged_times() {
	[ "$(grep -Ec "$1" "$LOG")" -ge "$2" ]
}

# spool_mail - one message to u@example.org over TCP; replies in $output.
spool_mail() {
	run smtp_tcp "EHLO c" "MAIL FROM:<a@b.example>" \
	    "RCPT TO:<u@example.org>" "DATA" "hi" "." "QUIT"
}

@test "the spool's, the stress's and the scoreboard's events parse and are in smtpd(8)" {
	local fd user reopened=1
	user=$(id -un)
	[ "$(id -u)" -ne 0 ] || user=nobody
	SPOOL=$TMP/sp\"o\\ol
	printf 'hostname mx.test\nspool %s\ndomain example.org\n' "$SPOOL" \
	    >"$CONF"
	conf "workers 1" "max-per-address 0" "timeout 3s"
	mkdir "$SPOOL"
	daemon_start
	# Another (empty) directory put at the path in one rename(2), as a
	# mount over it would: refused; a reload takes it.
	if command -v perl >/dev/null; then
		mkdir "$TMP/fresh"
		[ "$(id -u)" -ne 0 ] || chown nobody: "$TMP/fresh"
		perl -e 'rename($ARGV[0], $ARGV[1]) or die "$!\n"' \
		    "$TMP/fresh" "$SPOOL"
		wait_log '^event=spool-moved spool=".*" reason="another '
		kill -HUP "$DPID"
		wait_log '^event=spool-reopened spool="'
		# The old worker leaves before the client below comes, or
		# the scoreboard would list it too.
		wait_log '^event=worker-exit pid='
		reopened=2
	fi
	# One worker, held by one client: stress, and a busy slot.
	exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"
	wait_log 'event=stress state=on busy=1 workers=1'
	kill -USR1 "$DPID"
	wait_log 'event=scoreboard pid=[0-9]+ state=busy peer=127\.0\.0\.1 '
	exec {fd}>&-
	wait_log 'event=stress state=off'
	# The spool renamed away: refused; back: taken again.
	mv "$SPOOL" "$TMP/spool.old"
	wait_log '^event=spool-moved spool=".*" error='
	spool_mail
	[[ "$output" == *"451 4.3.0 "* ]]
	grep -q 'event=store-refused .*reason=spool-moved' "$LOG"
	mv "$TMP/spool.old" "$SPOOL"
	wait_log '^event=spool-back spool="'
	# A reload onto a spool the user cannot open, then onto a new one.
	mv "$SPOOL" "$TMP/spool.old"
	mkdir -m 000 "$SPOOL"
	kill -HUP "$DPID"
	wait_log 'event=spool-unusable .* action=kept-spool$'
	chmod 700 "$SPOOL"
	[ "$(id -u)" -ne 0 ] || chown nobody: "$SPOOL"
	kill -HUP "$DPID"
	wait_for logged_times '^event=spool-reopened ' "$reopened"
	spool_mail
	[[ "$output" == *"250 2.0.0 Ok: queued as "* ]]
	daemon_stop
	cat "$LOG"
	parse
	documented
	[ "$(grep -c 'event=unstructured' "$LOG")" -eq 0 ]
	local q="\"$TMP/sp\\x22o\\x5col\""
	grep -Fx "event=spool-moved spool=$q error=\"No such file or directory\" action=refusing-mail" "$LOG"
	! command -v perl >/dev/null ||
	    grep -Fx "event=spool-moved spool=$q reason=\"another directory is at the path: reload to use it\" action=refusing-mail" "$LOG"
	grep -Fx "event=spool-back spool=$q action=accepting-mail" "$LOG"
	grep -Fx "event=spool-unusable spool=$q user=$user step=open error=\"Permission denied\" action=kept-spool" "$LOG"
	# After the store-error line of the open, as smtpd(8) says.
	[ "$(grep -nF "event=store-error call=open file=$q error=" "$LOG" |
	    cut -d: -f1)" -eq "$(($(grep -n '^event=spool-unusable ' "$LOG" |
	    cut -d: -f1) - 1))" ]
	grep -Fx "event=spool-reopened spool=$q" "$LOG"
	grep -Eq '^[0-9a-f]{12} event=connect peer=127\.0\.0\.1 stress=yes$' "$LOG"
	grep -Eq '^event=scoreboard busy=1 idle=0 stress=yes$' "$LOG"
	for e in start listen stress scoreboard spool-moved store-refused \
	    spool-back spool-unusable spool-reopened reload accept stop; do
		cut -f3 "$TMP/pairs" | grep -qx -- "$e" ||
		    { echo "no event=$e"; return 1; }
	done
}

@test "a store-false-failure into a folder parses and is in smtpd(8)" {
	local shim=$BATS_TEST_DIRNAME/linkshim.so
	[ -f "$shim" ] || skip "test/linkshim.so is not built (make test builds it)"
	# The link says EILSEQ, the longest error text glibc has, after it
	# took place (as NFS can).
	printf '#!/bin/sh\nASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 LD_PRELOAD=%s LINKSHIM_LINK=EILSEQ exec %s "$@"\n' \
	    "$shim" "$SMTPD" >"$TMP/smtpd-shim"
	chmod 755 "$TMP/smtpd-shim"
	conf "recipient-delimiter +"
	mkdir -p "$SPOOL/example.org/bob/.shop/"{tmp,new,cur} \
	    "$SPOOL/example.org/bob/"{tmp,new,cur}
	SMTPD=$TMP/smtpd-shim run smtp "EHLO c" "MAIL FROM:<a@b.example>" \
	    "RCPT TO:<bob+shop@example.org>" "RCPT TO:<alice@example.org>" \
	    "DATA" "hi" "." "QUIT"
	[ "$status" -eq 0 ]
	id=$(queued_id)
	[ -n "$id" ]
	cat "$LOG"
	parse
	documented
	grep -Fx "event=store-false-failure id=$id maildir=example.org/bob/.shop op=link error=\"Invalid or incomplete multibyte or wide character\" action=delivered" "$LOG"
}

@test "failure injection's lines (fail-rules, inject, injected=yes) parse and are in smtpd(8)" {
	conf "fail helo slow delay 1" "fail mail *@drop.example disconnect" \
	    "fail rcpt full@* reply 452 4.2.2 Mailbox \"full\" times 1" \
	    "fail data * 421"
	daemon_start
	run smtp_tcp "EHLO slow" "MAIL FROM:<a@b.example>" \
	    "RCPT TO:<full@example.org>" "RCPT TO:<bob@example.org>" "DATA"
	[[ "$output" == *'452 4.2.2 Mailbox "full"'* ]]
	[[ "$output" == *"421 4.3.2 mx.test Service not available, closing connection"* ]]
	run smtp_tcp "EHLO c" "MAIL FROM:<a@drop.example>" "QUIT"
	wait_log 'event=inject stage=mail action=disconnect'
	daemon_stop
	cat "$LOG"
	parse
	documented
	grep -Fx 'event=fail-rules count=4' "$LOG"
	grep -Eq '^[0-9a-f]{12} event=inject stage=helo action=delay seconds=1$' "$LOG"
	grep -Eq '^[0-9a-f]{12} event=inject stage=mail action=disconnect$' "$LOG"
	grep -F ' event=reject peer=127.0.0.1 from="<a@b.example>" rcpt="<full@example.org>" reply="452 4.2.2 Mailbox \x22full\x22" command="RCPT TO:<full@example.org>" injected=yes' "$LOG"
	grep -F ' event=reject peer=127.0.0.1 from="<a@b.example>" reply="421 4.3.2 mx.test Service not available, closing connection" command="DATA" injected=yes' "$LOG"
}

@test "sync no's lines and a -p file's failure, with a name that wants quoting, parse and are in smtpd(8)" {
	local f="$TMP/no \"such\" dir/smtpd.pid" rc=0 pid
	conf "sync no"
	# The start, a session, a reload, the stop; -i; and a pid file that
	# cannot be made: exit 1.
	daemon_start
	run smtp_tcp "EHLO c" "MAIL FROM:<a@b.example>" \
	    "RCPT TO:<bob@example.org>" "DATA" "hi" "." "QUIT"
	[[ "$output" == *"250 2.0.0 Ok: queued as "* ]]
	kill -HUP "$DPID"
	wait_log '^event=reload '
	pid=$DPID
	daemon_stop
	run smtp "HELO c" "QUIT"
	"$SMTPD" -d -p "$f" -f "$(run_conf)" >>"$LOG" 2>&1 3>&- || rc=$?
	[ "$rc" -eq 1 ]
	cat "$LOG"
	parse
	documented
	grep -Eq '^event=pidfile-failed file="[^"]*/no \\x22such\\x22 dir/smtpd.pid" user=[^ ]+ call=open error="No such file or directory" action=exit$' "$LOG"
	grep -Eq "^event=start pid=$pid .* sync=no$" "$LOG"
	[ "$(grep -c '^event=unsafe reason="sync no: ' "$LOG")" -eq 3 ]
	for e in pidfile-failed start unsafe reload stop; do
		cut -f3 "$TMP/pairs" | grep -qx -- "$e" ||
		    { echo "no event=$e"; return 1; }
	done
}
