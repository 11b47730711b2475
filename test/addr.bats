#!/usr/bin/env bats
# The address grammar without a process: test/addr_test runs its table
# of paths and HELO names through addr.c (built with the sanitizers).
# It does not depend on $SMTPD, so it runs once per build all the same.

@test "the address grammar takes and refuses each address in its table" {
	run "$BATS_TEST_DIRNAME/addr_test"
	printf '%s\n' "$output" | grep -v '^ok ' || true
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | grep -c '^ok ')" -ge 50 ]
}
