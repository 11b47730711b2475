#!/usr/bin/env bats
# The pre-forking daemon over loopback TCP: pool, signals, privileges.

load helper

setup() {
	smtpd_setup
	conf "workers 2"
}

teardown() {
	daemon_teardown
}

@test "the daemon serves a session on its listen address" {
	daemon_start
	run smtp_tcp "EHLO c" "MAIL FROM:<a@b.example>" "RCPT TO:<u@example.org>" \
	    "DATA" "Subject: tcp" "" "hi" "." "QUIT"
	[[ "${lines[0]}" == "220 mx.test ESMTP smtpd" ]]
	[[ "$output" == *"250 2.0.0 Ok: queued as "* ]]
	[ "$(count_messages example.org u)" -eq 1 ]
	grep -q "Received: from c (\[127.0.0.1\])" "$(maildir_files example.org u)"
	grep -Eq 'event=accept id=[^ ]+ peer=127\.0\.0\.1 helo=c from=<a@b\.example> rcpts=1 size=[0-9]+' "$LOG"
}
