#!/usr/bin/env bats
# Promises no loopback client can see, checked on the functions that keep
# them: test/unit_test loads an empty configuration and checks every
# default smtpd.conf(5) states, counts IPv4 and IPv6 (/64) clients on a
# scoreboard, and writes log lines at the edges of smtpd(8)'s grammar.
# It does not depend on $SMTPD, so it runs once per build all the same.

@test "the defaults of smtpd.conf(5), the per-address count and the log's edges, unit by unit" {
	run "$BATS_TEST_DIRNAME/unit_test"
	printf '%s\n' "$output" | grep -v '^ok ' || true
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | grep -c '^ok ')" -ge 34 ]
}
