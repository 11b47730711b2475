#!/usr/bin/env bats
# Failure injection (smtpd.conf(5), "Failure injection"): each action at
# each stage with a real client, over pipes (smtpd -i) and, for the
# counts the pool's workers share and a reload's new counts, the daemon
# over loopback TCP; the rules smtpd -n lists, the start warning, and
# every form the parser refuses.

load helper

setup() {
	smtpd_setup
}

teardown() {
	daemon_teardown
	sanitizer_quiet
}

# ms - the monotonic-enough wall clock in milliseconds.
ms() {
	echo $(($(date +%s%N) / 1000000))
}

# mail_to RCPT - one message from a@b.example to RCPT, then QUIT.
mail_to() {
	smtp "EHLO c" "MAIL FROM:<a@b.example>" "RCPT TO:<$1>" "DATA" \
	    "Subject: t" "" "hi" "." "QUIT"
}

# --- reply, at each stage -------------------------------------------------

@test "reply at connect: the injected reply is the greeting, and the session ends" {
	conf "fail connect * reply 554 5.7.1 No SMTP service here"
	run smtp "EHLO c" "QUIT"
	[ "$status" -eq 0 ]
	[ "$output" = "554 5.7.1 No SMTP service here" ]
	grep -F 'event=reject peer=unknown reply="554 5.7.1 No SMTP service here" command="" injected=yes' "$LOG"
}

@test "reply at helo: for a matching HELO or EHLO name only, and the name is not taken" {
	conf "fail helo BAD.* reply 550 5.7.1 Go away"
	run smtp "EHLO bad.example" "HELO Bad.Example" "MAIL FROM:<a@b.example>" \
	    "EHLO good.example" "QUIT"
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "550 5.7.1 Go away" ]
	[ "${lines[2]}" = "550 5.7.1 Go away" ]
	[[ "${lines[3]}" == "503 5.5.1 Bad sequence of commands: send HELO or EHLO first" ]]
	[ "${lines[4]}" = "250-mx.test Hello good.example" ]
	grep -F 'reply="550 5.7.1 Go away" command="EHLO bad.example" injected=yes' "$LOG"
}

@test "reply at mail: the null sender by \"\", the transaction not opened" {
	conf 'fail mail "" reply 550 5.7.1 No bounces here'
	run smtp "EHLO c" "MAIL FROM:<>" "RCPT TO:<u@example.org>" \
	    "MAIL FROM:<a@b.example>" "QUIT"
	[ "$status" -eq 0 ]
	[ "${lines[8]}" = "550 5.7.1 No bounces here" ]
	[[ "${lines[9]}" == "503 5.5.1 Bad sequence of commands: need MAIL command" ]]
	[ "${lines[10]}" = "250 2.1.0 Ok" ]
	grep -F 'event=reject peer=unknown from="<>" reply="550 5.7.1 No bounces here" command="MAIL FROM:<>" injected=yes' "$LOG"
}

@test "reply at rcpt: a glob on the recipient, case-insensitive; the recipient is not added" {
	conf "fail rcpt full@* reply 452 4.2.2 Mailbox full"
	run smtp "EHLO c" "MAIL FROM:<a@b.example>" "RCPT TO:<FULL@example.org>" \
	    "DATA" "RCPT TO:<u@example.org>" "DATA" "hi" "." "QUIT"
	[ "$status" -eq 0 ]
	[ "${lines[9]}" = "452 4.2.2 Mailbox full" ]
	[[ "${lines[10]}" == "503 5.5.1 "* ]]
	[ "${lines[11]}" = "250 2.1.5 Ok" ]
	[[ "${lines[13]}" == "250 2.0.0 Ok: queued as "* ]]
	[ "$(count_messages example.org full)" -eq 0 ]
	[ "$(count_messages example.org u)" -eq 1 ]
	grep -F 'from="<a@b.example>" rcpt="<FULL@example.org>" reply="452 4.2.2 Mailbox full" command="RCPT TO:<FULL@example.org>" injected=yes' "$LOG"
}

@test "reply at data: in place of the 354, for a transaction one recipient of which matches" {
	conf "fail data slow@* reply 451 4.3.0 Try DATA later times 1"
	run smtp "EHLO c" "MAIL FROM:<a@b.example>" "RCPT TO:<u@example.org>" \
	    "RCPT TO:<slow@example.org>" "DATA" "DATA" "hi" "." "QUIT"
	[ "$status" -eq 0 ]
	[ "${lines[11]}" = "451 4.3.0 Try DATA later" ]
	[[ "${lines[12]}" == "354 "* ]]
	[[ "${lines[13]}" == "250 2.0.0 Ok: queued as "* ]]
}

@test "reply at eod: after the final dot, nothing is stored" {
	conf "fail eod a@b.example reply 554 5.6.0 Content rejected"
	run mail_to u@example.org
	[ "$status" -eq 0 ]
	[ "${lines[11]}" = "554 5.6.0 Content rejected" ]
	[ "${lines[12]}" = "221 2.0.0 mx.test closing connection" ]
	[ "$(count_messages example.org u)" -eq 0 ]
	grep -F 'reply="554 5.6.0 Content rejected" command="DATA" injected=yes' "$LOG"
	[ -z "$(find "$SPOOL/example.org/u/tmp" "$SPOOL/example.org/u/new" -type f)" ]
}

@test "reply at eod after BDAT LAST, and at bdat: the chunk is read, the dialogue stays in sync" {
	conf "fail eod *@example.org reply 452 4.3.1 Not now"
	run smtp_raw 'EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<u@example.org>\r\nBDAT 4 LAST\r\nhi\r\nNOOP\r\nQUIT\r\n'
	[ "$status" -eq 0 ]
	[ "${lines[10]}" = "452 4.3.1 Not now" ]
	[ "${lines[11]}" = "250 2.0.0 Ok" ]
	smtpd_setup
	conf "fail bdat a@* reply 554 5.3.4 No chunks"
	run smtp_raw 'EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<u@example.org>\r\nBDAT 6\r\nRCPT\r\nBDAT 4 LAST\r\nhi\r\nNOOP\r\nQUIT\r\n'
	[ "$status" -eq 0 ]
	[ "${lines[10]}" = "554 5.3.4 No chunks" ]
	# The transaction failed (RFC 3030): the next BDAT is out of order.
	[[ "${lines[11]}" == "503 5.5.1 "* ]]
	[ "${lines[12]}" = "250 2.0.0 Ok" ]
	[ "$(count_messages example.org u)" -eq 0 ]
}

@test "reply 421 from a rule closes the session, as any 421" {
	conf "fail rcpt * reply 421 4.7.0 Go away now"
	run smtp "EHLO c" "MAIL FROM:<a@b.example>" "RCPT TO:<u@example.org>" \
	    "NOOP" "QUIT"
	[ "$status" -eq 0 ]
	[ "${lines[9]}" = "421 4.7.0 Go away now" ]
	[ "${#lines[@]}" -eq 10 ]
}

# --- disconnect and 421 -----------------------------------------------------

@test "disconnect at each stage: no reply, nothing stored, logged" {
	local stage n
	for stage in connect helo mail rcpt data eod bdat; do
		smtpd_setup
		conf "fail $stage * disconnect"
		if [ "$stage" = bdat ]; then
			run smtp_raw 'EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<u@example.org>\r\nBDAT 4 LAST\r\nhi\r\nQUIT\r\n'
		else
			run mail_to u@example.org
		fi
		[ "$status" -eq 0 ]
		case $stage in
		connect) n=0 ;; helo) n=1 ;; mail) n=8 ;; rcpt) n=9 ;;
		data | bdat) n=10 ;; eod) n=11 ;;
		esac
		echo "$stage: $output"
		[ "${#lines[@]}" -eq "$n" ]
		[[ "$output" != *"221 "* ]]
		[ "$(count_messages example.org u)" -eq 0 ]
		grep -Eq "^[0-9a-f]{12} event=inject stage=$stage action=disconnect$" "$LOG"
	done
}

@test "421 at each stage: 421 4.3.2 and the host name, then the session ends" {
	local stage n
	for stage in connect helo mail rcpt data eod bdat; do
		smtpd_setup
		conf "fail $stage * 421"
		if [ "$stage" = bdat ]; then
			run smtp_raw 'EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<u@example.org>\r\nBDAT 4 LAST\r\nhi\r\nQUIT\r\n'
		else
			run mail_to u@example.org
		fi
		[ "$status" -eq 0 ]
		case $stage in
		connect) n=0 ;; helo) n=1 ;; mail) n=8 ;; rcpt) n=9 ;;
		data | bdat) n=10 ;; eod) n=11 ;;
		esac
		echo "$stage: $output"
		[ "${lines[$n]}" = "421 4.3.2 mx.test Service not available, closing connection" ]
		[ "${#lines[@]}" -eq $((n + 1)) ]
		[ "$(count_messages example.org u)" -eq 0 ]
		grep -F 'reply="421 4.3.2 mx.test Service not available, closing connection" ' "$LOG" |
		    grep -q ' injected=yes$'
	done
}

# --- delay ------------------------------------------------------------------

@test "delay at rcpt: the reply comes after the delay, and it is the normal one" {
	local t0 t1
	conf "fail rcpt u@* delay 2"
	t0=$(ms)
	run mail_to u@example.org
	t1=$(ms)
	[ "$status" -eq 0 ]
	[ $((t1 - t0)) -ge 2000 ]
	[ "${lines[9]}" = "250 2.1.5 Ok" ]
	[ "$(count_messages example.org u)" -eq 1 ]
	grep -Eq '^[0-9a-f]{12} event=inject stage=rcpt action=delay seconds=2$' "$LOG"
}

@test "delay at eod and at connect: the message is stored, the greeting is 220" {
	local t0 t1
	conf "fail eod * delay 1" "fail connect * delay 1s"
	t0=$(ms)
	run mail_to u@example.org
	t1=$(ms)
	[ "$status" -eq 0 ]
	[ $((t1 - t0)) -ge 2000 ]
	[ "${lines[0]}" = "220 mx.test ESMTP smtpd" ]
	[[ "${lines[11]}" == "250 2.0.0 Ok: queued as "* ]]
	[ "$(count_messages example.org u)" -eq 1 ]
}

@test "a delay flushes the replies before it: the client sees MAIL's 250 at once" {
	local t0 t1
	conf "fail rcpt * delay 2"
	pipe_open
	t0=$(ms)
	printf 'EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<u@example.org>\r\n' >&"$IFD"
	wait_for grep -q '^250 2.1.0 Ok' "$TMP/out"
	t1=$(ms)
	! grep -q '^250 2.1.5' "$TMP/out"
	[ $((t1 - t0)) -lt 1900 ]
	wait_for grep -q '^250 2.1.5 Ok' "$TMP/out"
	[ $(($(ms) - t0)) -ge 2000 ]
	pipe_close "QUIT"
}

@test "a delay past session-timeout ends at session-timeout with 421 4.4.2" {
	local t0 t1
	conf "session-timeout 2" "fail mail * delay 30"
	t0=$(ms)
	run mail_to u@example.org
	t1=$(ms)
	[ "$status" -eq 0 ]
	[ $((t1 - t0)) -lt 10000 ]
	[ "${lines[8]}" = "421 4.4.2 mx.test Session time limit exceeded, closing connection" ]
	grep -q 'event=timeout phase=session' "$LOG"
}

# --- times, order, no match ---------------------------------------------------

@test "times 2: two failures, then the command is accepted" {
	conf "fail rcpt * reply 452 4.2.2 Mailbox full times 2"
	run smtp "EHLO c" "MAIL FROM:<a@b.example>" "RCPT TO:<u@example.org>" \
	    "RCPT TO:<u@example.org>" "RCPT TO:<u@example.org>" "QUIT"
	[ "$status" -eq 0 ]
	[ "${lines[9]}" = "452 4.2.2 Mailbox full" ]
	[ "${lines[10]}" = "452 4.2.2 Mailbox full" ]
	[ "${lines[11]}" = "250 2.1.5 Ok" ]
}

@test "the first matching rule whose count is left applies, in the file's order" {
	conf "fail rcpt x@* reply 550 5.1.1 Not x" \
	    "fail rcpt * reply 451 4.3.0 First times 1" \
	    "fail rcpt * reply 452 4.3.1 Second times 1"
	run smtp "EHLO c" "MAIL FROM:<a@b.example>" "RCPT TO:<x@example.org>" \
	    "RCPT TO:<u@example.org>" "RCPT TO:<u@example.org>" \
	    "RCPT TO:<u@example.org>" "QUIT"
	[ "${lines[9]}" = "550 5.1.1 Not x" ]
	[ "${lines[10]}" = "451 4.3.0 First" ]
	[ "${lines[11]}" = "452 4.3.1 Second" ]
	[ "${lines[12]}" = "250 2.1.5 Ok" ]
}

@test "a rule that does not match changes nothing" {
	conf "fail connect 192.0.2.* 421" "fail helo other.example disconnect" \
	    "fail mail *@elsewhere.test reply 550 5.7.1 No" \
	    "fail rcpt nobody@* reply 550 5.1.1 No" \
	    "fail data *@elsewhere.test 421" "fail eod *@elsewhere.test 421"
	run mail_to u@example.org
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "220 mx.test ESMTP smtpd" ]
	[[ "${lines[11]}" == "250 2.0.0 Ok: queued as "* ]]
	[ "$(count_messages example.org u)" -eq 1 ]
	! grep -q 'injected=yes\|event=inject' "$LOG"
}

# --- the configuration ----------------------------------------------------------

@test "smtpd -n lists the rules after configuration OK, one a line" {
	conf 'fail rcpt Bob@* reply 452 4.2.2 Mailbox   full, try later times 2' \
	    "fail connect * 421 # a comment" 'fail mail "" disconnect' \
	    "fail eod * delay 2m"
	run "$SMTPD" -n -f "$CONF"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "configuration OK" ]
	[ "${lines[1]}" = "fail rcpt bob@* reply 452 4.2.2 Mailbox full, try later times 2" ]
	[ "${lines[2]}" = "fail connect * 421" ]
	[ "${lines[3]}" = 'fail mail "" disconnect' ]
	[ "${lines[4]}" = "fail eod * delay 120" ]
	[ "${#lines[@]}" -eq 5 ]
	# Without rules, only the OK.
	smtpd_setup
	run "$SMTPD" -n -f "$CONF"
	[ "$output" = "configuration OK" ]
}

@test "each malformed rule is refused with a clear error" {
	local bad
	while IFS='|' read -r bad why; do
		smtpd_setup
		conf "$bad"
		run "$SMTPD" -n -f "$CONF"
		echo "$bad -> $output"
		[ "$status" -eq 1 ]
		[[ "$output" == "event=conf-error file=$CONF line=4 reason=\"fail: $why"* ]]
	done <<'EOF'
fail|expected: fail STAGE PATTERN ACTION
fail rcpt *|expected: fail STAGE PATTERN ACTION
fail quit * 421|expected a stage
fail rcpt * bounce|expected an action
fail rcpt * disconnect now|expected an action
fail rcpt * 421 4.3.2|expected an action
fail rcpt * reply|expected: reply CODE
fail rcpt * reply 250 Ok|expected: reply CODE
fail rcpt * reply 600 Nope|expected: reply CODE
fail rcpt * reply 461 Nope|expected: reply CODE
fail rcpt * reply 45 Nope|expected: reply CODE
fail rcpt * reply 452|a reply needs a text
fail rcpt * reply 452 4.2.2|a reply needs a text
fail rcpt * reply 452 5.2.2 Mixed classes|expected an enhanced status code
fail rcpt * reply 452 4.2 Short|expected an enhanced status code
fail rcpt * reply 452 4.2.2000 Long|expected an enhanced status code
fail rcpt * reply 452 4.02.2 Zero|expected an enhanced status code
fail rcpt * delay|expected an action
fail rcpt * delay 0|expected: delay SECONDS
fail rcpt * delay 2d|expected: delay SECONDS
fail rcpt * delay 86401|expected: delay SECONDS
fail rcpt * delay 1 2|expected an action
fail rcpt * 421 times 0|expected: times N
fail rcpt * 421 times many|expected: times N
fail rcpt * 421 times 1000000001|expected: times N
EOF
	# A text that is too long.
	smtpd_setup
	conf "fail rcpt * reply 452 $(printf 'x%.0s' $(seq 1 401))"
	run "$SMTPD" -n -f "$CONF"
	[ "$status" -eq 1 ]
	[[ "$output" == *"reason=\"fail: the reply's text is longer than 400 octets\"" ]]
	# More words than a rule may have: 256 after "fail" is the most.
	smtpd_setup
	conf "fail rcpt * reply 452 $(printf 'x %.0s' $(seq 1 252))"
	run "$SMTPD" -n -f "$CONF"
	[ "$status" -eq 1 ]
	[[ "$output" == *"reason=\"fail: the reply's text is longer than 400 octets\"" ]]
	smtpd_setup
	conf "fail rcpt * reply 452 $(printf 'x %.0s' $(seq 1 253))"
	run "$SMTPD" -n -f "$CONF"
	[ "$status" -eq 1 ]
	[[ "$output" == *"reason=\"too many words\"" ]]
}

@test "a non-ASCII text is refused, its octets escaped in the error" {
	conf "$(printf 'fail rcpt * reply 452 4.2.2 Caf\303\251')"
	run "$SMTPD" -n -f "$CONF"
	[ "$status" -eq 1 ]
	[ "$output" = "event=conf-error file=$CONF line=4 reason=\"fail: the reply's text must be printable ASCII\"" ]
}

@test "the rules are warned of at start: -i, the daemon, and a reload" {
	conf "fail rcpt * 421" "fail mail x@* disconnect"
	run smtp "QUIT"
	grep -Fx "event=fail-rules count=2" "$LOG"
	: >"$LOG"
	conf "max-per-address 0"
	daemon_start
	grep -Fx "event=fail-rules count=2" "$LOG"
	kill -HUP "$DPID"
	wait_log '^event=reload '
	wait_for warned 2
	# Without rules, no such line.
	smtpd_setup
	run smtp "QUIT"
	! grep -q 'fail-rules' "$LOG"
}

# --- the daemon: counts shared by the workers, reset by a reload ---------------

# held_mail - open a connection, EHLO and MAIL on it, and leave it open
# (fd in HFD) once MAIL's reply is in; the reply in $TMP/held.
held_mail() {
	exec {HFD}<>"/dev/tcp/127.0.0.1/$PORT"
	printf 'EHLO held\r\nMAIL FROM:<a@b.example>\r\n' >&"$HFD"
	: >"$TMP/held"
	local i line
	for i in $(seq 1 20); do
		IFS= read -r -t 5 -u "$HFD" line || return 1
		line=${line%$'\r'}
		printf '%s\n' "$line" >>"$TMP/held"
		# MAIL's reply is the first with an enhanced status code.
		[[ ! "$line" =~ ^[245][0-9][0-9]\ [245]\. ]] || return 0
	done
	return 1
}

# nworkers N - the master $DPID has N workers.
nworkers() {
	[ "$(workers_of "$DPID" | wc -l)" -eq "$1" ]
}

# replaced OLD - the master's workers are no longer OLD.
replaced() {
	local now
	now=$(workers_of "$DPID")
	[ -n "$now" ] && [ "$now" != "$1" ]
}

# warned N - $LOG has N event=fail-rules lines (count=2).
warned() {
	[ "$(grep -c '^event=fail-rules count=2$' "$LOG")" -eq "$1" ]
}

@test "times 3 over two workers, four connections: exactly three failures" {
	conf "workers 2" "max-per-address 0" \
	    "fail mail * reply 451 4.3.0 Try again later times 3"
	daemon_start
	wait_for nworkers 2
	# One worker is held in a session that has had its failure: the
	# three others are served by the other worker.
	held_mail
	[ "$(tail -n 1 "$TMP/held")" = "451 4.3.0 Try again later" ]
	run smtp_tcp "EHLO c" "MAIL FROM:<a@b.example>" "QUIT"
	[[ "$output" == *"451 4.3.0 Try again later"* ]]
	run smtp_tcp "EHLO c" "MAIL FROM:<a@b.example>" "QUIT"
	[[ "$output" == *"451 4.3.0 Try again later"* ]]
	run smtp_tcp "EHLO c" "MAIL FROM:<a@b.example>" "RCPT TO:<u@example.org>" \
	    "DATA" "hi" "." "QUIT"
	[[ "$output" == *"250 2.1.0 Ok"* ]]
	[[ "$output" == *"250 2.0.0 Ok: queued as "* ]]
	printf 'QUIT\r\n' >&"$HFD"
	exec {HFD}>&-
	[ "$(grep -c 'injected=yes' "$LOG")" -eq 3 ]
	[ "$(count_messages example.org u)" -eq 1 ]
	# Two workers served: four sessions, and no worker was replaced.
	[ "$(grep -c ' event=connect ' "$LOG")" -eq 4 ]
	! grep -q 'event=worker-exit' "$LOG"
}

@test "SIGHUP starts the counts afresh" {
	local old
	conf "workers 1" "max-per-address 0" \
	    "fail rcpt * reply 452 4.2.2 Full times 1"
	daemon_start
	run smtp_tcp "EHLO c" "MAIL FROM:<a@b.example>" "RCPT TO:<u@example.org>" \
	    "RCPT TO:<u@example.org>" "QUIT"
	[[ "$output" == *"452 4.2.2 Full"*"250 2.1.5 Ok"* ]]
	run smtp_tcp "EHLO c" "MAIL FROM:<a@b.example>" "RCPT TO:<u@example.org>" \
	    "QUIT"
	[[ "$output" != *"452 "* ]]
	old=$(workers_of "$DPID")
	kill -HUP "$DPID"
	wait_log '^event=reload '
	# The old worker is gone, a new one is in its place.
	wait_for replaced "$old"
	run smtp_tcp "EHLO c" "MAIL FROM:<a@b.example>" "RCPT TO:<u@example.org>" \
	    "RCPT TO:<u@example.org>" "QUIT"
	[[ "$output" == *"452 4.2.2 Full"*"250 2.1.5 Ok"* ]]
	[ "$(grep -c 'injected=yes' "$LOG")" -eq 2 ]
}

@test "connect matches the client's address in the daemon" {
	conf "max-per-address 0" "fail connect 10.* 421" \
	    "fail connect 127.0.0.* reply 554 5.7.1 Not from loopback"
	daemon_start
	run smtp_tcp "EHLO c" "QUIT"
	[ "$output" = "554 5.7.1 Not from loopback" ]
	grep -F 'event=reject peer=127.0.0.1 reply="554 5.7.1 Not from loopback" command="" injected=yes' "$LOG"
}
