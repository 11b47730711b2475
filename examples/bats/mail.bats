#!/usr/bin/env bats
# examples/bats/mail.bats - testing your own software's mail with smtpd.
#
# Copy this file into your project's tests and replace send_mail with
# your software (a sign-up mail, a password reset, a mailing job).  Each
# test gets its own smtpd on a port the kernel picks, with a throwaway
# spool: the mail it accepts is plain files, in Maildir, that grep reads.
# It needs bats, bash and smtpd: SMTPD names the binary (default: smtpd
# on PATH).  smtpd's own "make test" runs this file, so it stays true.

SMTPD=${SMTPD:-smtpd}

setup() {
	# Not $BATS_TEST_TMPDIR: started as root (a CI container), smtpd
	# becomes the user nobody, who must reach the spool; bats makes its
	# directories for root alone.
	T=$(mktemp -d "${TMPDIR:-/tmp}/smtpd-test.XXXXXX")
	chmod 755 "$T"
	mkdir "$T/spool"
	cat >"$T/smtpd.conf" <<-EOF
		hostname  mx.test
		spool     $T/spool
		domain    example.org
		mailbox   bob
		listen    127.0.0.1:0
		workers   2
		# A spool for one test: a 250 need not mean on disk.
		sync      no
	EOF
	if [ "$(id -u)" -eq 0 ]; then
		# It writes the spool and its -p file as that user.
		echo "user nobody" >>"$T/smtpd.conf"
		chown nobody "$T" "$T/spool"
	fi
}

teardown() {
	[ -z "${PID:-}" ] || kill "$PID" 2>/dev/null || true
	[ -z "${PID:-}" ] || wait "$PID" 2>/dev/null || true
	rm -rf "$T"
}

# start [CONFIG LINE...] - add the lines to smtpd.conf, start smtpd, and
# wait until it takes connections: smtpd -p writes its pid and then the
# address it listens on to the file once it is ready.
start() {
	local i
	printf '%s\n' "$@" >>"$T/smtpd.conf"
	"$SMTPD" -d -p "$T/smtpd.pid" -f "$T/smtpd.conf" \
	    2>"$T/smtpd.log" 3>&- &
	PID=$!
	for i in $(seq 1 50); do
		[ -s "$T/smtpd.pid" ] && break
		sleep 0.1
	done
	PORT=$(sed -n '2s/.*://p' "$T/smtpd.pid")
	[ -n "$PORT" ]
}

# send_mail FROM TO SUBJECT BODY - the software under test: here, SMTP
# spoken with bash alone.  Fails, as a mailer would, on a reply that is
# not the one expected; its reply is then in $T/reply.
send_mail() {
	local from=$1 to=$2 subject=$3 body=$4
	exec 4<>"/dev/tcp/127.0.0.1/$PORT" || return 1
	expect 220 || return 1
	say "HELO app.test" && expect 250 || return 1
	say "MAIL FROM:<$from>" && expect 250 || return 1
	say "RCPT TO:<$to>" && expect 250 || return 1
	say "DATA" && expect 354 || return 1
	say "From: <$from>" && say "To: <$to>" && say "Subject: $subject" &&
	    say "" && say "$body" && say "." && expect 250 || return 1
	say "QUIT" && expect 221
	exec 4<&-
}

say() {
	printf '%s\r\n' "$1" >&4
}

# expect CODE - read one reply (all its lines) and check its code.
expect() {
	local line
	while IFS= read -r -t 10 line <&4; do
		line=${line%$'\r'}
		[ "${line:3:1}" = "-" ] && continue
		printf '%s\n' "$line" >"$T/reply"
		[ "${line:0:3}" = "$1" ]
		return
	done
	echo "no reply" >"$T/reply"
	return 1
}

@test "a sign-up mail reaches bob, and its headers and body are right" {
	start
	send_mail app@example.net bob@example.org "Welcome" "Your code: 4711"
	# No sleep: -w returns as soon as the message is in bob's new/.
	run "$SMTPD" -w bob@example.org -t 10 -f "$T/smtpd.conf"
	[ "$status" -eq 0 ]
	msg=$output
	grep -q '^Subject: Welcome$' "$msg"
	grep -q '^To: <bob@example.org>$' "$msg"
	grep -q '^Your code: 4711$' "$msg"
	grep -q '^Return-Path: <app@example.net>$' "$msg"
}

@test "the software retries a 452 and the mail arrives once" {
	# The receiver fails the first RCPT for bob with 452, then accepts.
	start "fail rcpt bob@example.org reply 452 4.2.2 Mailbox full times 1"
	run send_mail app@example.net bob@example.org "Reset" "try 1"
	[ "$status" -ne 0 ]
	grep -q '^452 4.2.2 Mailbox full' "$T/reply"
	send_mail app@example.net bob@example.org "Reset" "try 2"
	run "$SMTPD" -w bob@example.org -t 10 -f "$T/smtpd.conf"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	grep -q '^try 2$' "$output"
}

@test "mail for an address that does not exist is refused" {
	start
	run send_mail app@example.net nobody@example.org "Hi" "lost"
	[ "$status" -ne 0 ]
	grep -q '^550 5.1.1' "$T/reply"
	# -w knows too: 3 is "no mail can be stored for this address".
	run "$SMTPD" -w nobody@example.org -t 0 -f "$T/smtpd.conf"
	[ "$status" -eq 3 ]
}
