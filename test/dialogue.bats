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
