#!/usr/bin/env bats
# The SPF verdict in a session (auth.c, on spf.c): the daemon behind a
# "listen ... proxy" socket, so that a PROXY header names the client (a
# client on loopback is never checked), asking test/dnsd for the
# sender's records.  The headers stored (RFC 7208 9.1, RFC 8601), the
# spf policies' replies, who is not checked, the deadline, and the
# configuration's checks.

load helper

setup() {
	smtpd_setup
	ZONE=$TMP/zone
	cat >"$ZONE" <<-'EOF'
	sender.test TXT v=spf1 ip4:192.0.2.1 ip6:2001:db8::1 -all
	soft.test TXT v=spf1 ip4:192.0.2.1 ~all
	neutral.test TXT v=spf1 ?all
	broken.test TXT v=spf1 ip4:192.0.2.1 bogus:x -all
	nospf.test A 192.0.2.50
	mail.sender.test TXT v=spf1 a -all
	mail.sender.test A 192.0.2.1
	explained.test TXT v=spf1 ip4:192.0.2.1 -all exp=why.explained.test
	why.explained.test TXT %{i} may not send for %{d}, see https://explained.test/spf
	EOF
	DNSD=
	conf "workers 2" "max-per-address 0" "mailbox u"
}

teardown() {
	daemon_teardown
	dnsd_stop
	sanitizer_quiet
}

# start [MODE] [CONF...] - dnsd in MODE, then the daemon on a proxy
# socket with dnsd as its resolver and the CONF lines.
start() {
	dnsd_run "${1:-normal}"
	shift || true
	conf "resolver 127.0.0.1:$(cat "$TMP/dnsport")" \
	    "listen 127.0.0.1:0 proxy" "$@"
	daemon_start
}

# from IP SENDER [HELO] - a message from SENDER, the client at IP (a
# PROXY v1 header); the replies in $output.
from() {
	local proto=TCP4 dst=192.0.2.200
	case $1 in *:*) proto=TCP6 dst=2001:db8::200 ;; esac
	run header_session "PROXY $proto $1 $dst 1234 25\r\n" \
	    "EHLO ${3:-mail.sender.test}" "MAIL FROM:<$2>" \
	    "RCPT TO:<u@example.org>" DATA "Subject: spf" "" "hi" . QUIT
	printf '%s\n' "$output"
}

# stored - the one message stored for u@example.org.
stored() {
	[ "$(count_messages example.org u)" -eq 1 ]
	cat "$(maildir_files example.org u)"
}

# head_of - the stored message's header fields up to our Received:,
# one a line, continuation lines joined with a space, tabs dropped.
head_of() {
	stored | tr -d '\r' | awk '
		/^[ \t]/ { sub(/^[ \t]+/, ""); line = line " " $0; next }
		{ if (line != "") print line; if (done) exit; line = $0 }
		/^Received: / { done = 1 }'
}

@test "pass: a client the sender's domain names is stamped pass, both headers above our Received:" {
	start
	from 192.0.2.1 joe@sender.test
	[[ "$output" == *"250 2.0.0 Ok: queued as "* ]]
	head_of >"$TMP/head"
	cat "$TMP/head"
	# In order: Return-Path, Authentication-Results, Received-SPF,
	# Received.
	[ "$(cut -d: -f1 "$TMP/head" | tr '\n' ' ')" = \
	    "Return-Path Authentication-Results Received-SPF Received " ]
	grep -Fxq 'Authentication-Results: mx.test; spf=pass smtp.mailfrom=joe@sender.test; spf=pass smtp.helo=mail.sender.test' "$TMP/head"
	grep -Fxq 'Received-SPF: pass (mx.test: domain of joe@sender.test designates 192.0.2.1 as permitted sender) client-ip=192.0.2.1; envelope-from="joe@sender.test"; helo=mail.sender.test; identity=mailfrom; receiver=mx.test;' "$TMP/head"
	grep -Eq ' event=spf peer=192\.0\.2\.1 from="<joe@sender\.test>" identity=mailfrom result=pass helo-result=pass ms=[0-9]+$' "$LOG"
	# Stored as the rest of the message is, with LF line ends: no CR
	# left over from the CRLF the headers are made with.
	[ -z "$(stored | sed -n '1,/^$/p' | tr -cd '\r')" ]
}

@test "fail under spf record (the default): stored, stamped fail with our explanation" {
	start
	from 192.0.2.9 joe@sender.test
	[[ "$output" == *"250 2.0.0 Ok: queued as "* ]]
	head_of >"$TMP/head"
	cat "$TMP/head"
	grep -Fq 'spf=fail smtp.mailfrom=joe@sender.test' "$TMP/head"
	grep -Fxq 'Received-SPF: fail (mx.test: domain of joe@sender.test does not designate 192.0.2.9 as permitted sender: sender.test does not designate 192.0.2.9 as permitted sender) client-ip=192.0.2.9; envelope-from="joe@sender.test"; helo=mail.sender.test; identity=mailfrom; receiver=mx.test;' "$TMP/head"
}

@test "fail under spf reject: 550 5.7.23 at MAIL FROM, nothing stored, the refusal logged" {
	start normal "spf reject"
	from 192.0.2.9 joe@sender.test
	grep -Fxq '550 5.7.23 SPF MAIL FROM check failed: sender.test does not designate 192.0.2.9 as permitted sender' <<<"$output"
	[ "$(count_messages example.org u)" -eq 0 ]
	grep -Fq 'event=reject peer=192.0.2.9 from="<joe@sender.test>" reply="550 5.7.23 SPF MAIL FROM check failed: ' "$LOG"
	# The same sender from its own address still gets through.
	from 192.0.2.1 joe@sender.test
	[[ "$output" == *"250 2.0.0 Ok: queued as "* ]]
}

@test "fail under spf reject: the domain's exp= explanation is the reply's text, marked as the domain's" {
	start normal "spf reject"
	from 192.0.2.9 joe@explained.test
	grep -Fxq '550 5.7.23 SPF MAIL FROM check failed: the domain explained.test explains: 192.0.2.9 may not send for explained.test, see https://explained.test/spf' <<<"$output"
}

@test "fail under spf record: the exp= explanation is in Received-SPF's comment" {
	start
	from 192.0.2.9 joe@explained.test
	head_of | grep -Fq 'permitted sender: the domain explained.test explains: 192.0.2.9 may not send for explained.test, see https://explained.test/spf) client-ip=192.0.2.9;'
}

@test "softfail, neutral, none and permerror are never refused, even under spf reject" {
	start normal "spf reject"
	local s want
	for s in soft.test:softfail neutral.test:neutral nospf.test:none \
	    broken.test:permerror; do
		want=${s#*:}
		from 192.0.2.9 "joe@${s%:*}"
		[[ "$output" == *"250 2.0.0 Ok: queued as "* ]]
		grep -q "^Received-SPF: $want (mx.test: " \
		    "$(ls -t "$SPOOL"/example.org/u/new/* | head -n 1)"
	done
	[ "$(count_messages example.org u)" -eq 4 ]
	# A permerror says why, in the reason of RFC 8601.
	grep -q '^	spf=permerror reason="an unknown mechanism" smtp.mailfrom=joe@broken.test;' \
	    "$(ls -t "$SPOOL"/example.org/u/new/* | head -n 1)"
}

@test "temperror under spf reject: 451 4.7.24; a resolver that never answers costs spf-timeout, no more" {
	start silent "spf reject" "spf-timeout 2"
	local t0=$SECONDS
	from 192.0.2.1 joe@sender.test
	grep -Fxq '451 4.7.24 SPF check of sender.test could not be completed, try again later' <<<"$output"
	[ "$(count_messages example.org u)" -eq 0 ]
	# 2 s for both identities together, and some room for ASan.
	[ $((SECONDS - t0)) -le 5 ]
	grep -Eq 'event=spf peer=192\.0\.2\.1 .* result=temperror helo-result=temperror ms=(19[0-9][0-9]|2[0-9]{3}) ' "$LOG"
}

@test "temperror under spf record: stored, stamped temperror with the reason" {
	start silent "spf-timeout 1"
	from 192.0.2.1 joe@sender.test
	[[ "$output" == *"250 2.0.0 Ok: queued as "* ]]
	head_of | grep -q '^Authentication-Results: mx.test; spf=temperror reason="[^"]*" smtp.mailfrom=joe@sender.test; spf=temperror'
	head_of | grep -q '^Received-SPF: temperror (mx.test: temporary error checking joe@sender.test for 192.0.2.1: '
}

@test "a TCP retry of a truncated reply works inside the worker's seccomp filter" {
	start truncate
	from 192.0.2.1 joe@sender.test
	[[ "$output" == *"250 2.0.0 Ok: queued as "* ]]
	head_of | grep -q '^Received-SPF: pass '
	grep -q '^tcp sender.test TXT' "$TMP/queries"
	! grep -q 'signal=SIGSYS' "$LOG" || false
}

@test "the null reverse-path: postmaster@ the HELO domain, identity=helo, checked once" {
	start
	from 192.0.2.1 "" mail.sender.test
	[[ "$output" == *"250 2.0.0 Ok: queued as "* ]]
	head_of >"$TMP/head"
	cat "$TMP/head"
	grep -Fxq 'Authentication-Results: mx.test; spf=pass smtp.helo=mail.sender.test' "$TMP/head"
	grep -Fxq 'Received-SPF: pass (mx.test: domain of postmaster@mail.sender.test designates 192.0.2.1 as permitted sender) client-ip=192.0.2.1; envelope-from=""; helo=mail.sender.test; identity=helo; receiver=mx.test;' "$TMP/head"
	[ "$(grep -c 'mail.sender.test TXT' "$TMP/queries")" -eq 1 ]
	grep -q 'event=spf peer=192.0.2.1 from="<>" identity=helo result=pass ms=' "$LOG"
}

@test "the null reverse-path under spf reject: a HELO domain that fails is refused" {
	start normal "spf reject"
	from 192.0.2.9 "" mail.sender.test
	grep -Fxq '550 5.7.23 SPF HELO check failed: mail.sender.test does not designate 192.0.2.9 as permitted sender' <<<"$output"
}

@test "the null reverse-path with an address literal for HELO: none, and no question asked" {
	start
	from 192.0.2.1 "" "[192.0.2.1]"
	head_of >"$TMP/head"
	cat "$TMP/head"
	grep -Fxq 'Authentication-Results: mx.test; spf=none smtp.helo="[192.0.2.1]"' "$TMP/head"
	grep -q '^Received-SPF: none .* helo="\[192.0.2.1\]"; identity=helo;' "$TMP/head"
	[ ! -s "$TMP/queries" ]
}

@test "the HELO identity is checked apart and recorded; the MAIL FROM identity decides" {
	start normal "spf reject"
	# mail.sender.test designates only 192.0.2.1; sender.test also
	# 2001:db8::1.
	from 2001:db8::1 joe@sender.test
	[[ "$output" == *"250 2.0.0 Ok: queued as "* ]]
	head_of >"$TMP/head"
	cat "$TMP/head"
	grep -Fxq 'Authentication-Results: mx.test; spf=pass smtp.mailfrom=joe@sender.test; spf=fail smtp.helo=mail.sender.test' "$TMP/head"
	grep -q '^Received-SPF: pass (mx.test: domain of joe@sender.test designates 2001:db8::1 as permitted sender) client-ip="2001:db8::1";' "$TMP/head"
}

@test "an IPv4-mapped IPv6 client is checked as the IPv4 address it carries" {
	start
	from ::ffff:192.0.2.1 joe@sender.test
	head_of | grep -q '^Received-SPF: pass '
}

@test "not checked: a client on loopback, nor one in spf-trusted; no header, no question" {
	start normal "spf-trusted 192.0.2.0/28 2001:db8::/32" "spf reject"
	from 192.0.2.9 joe@sender.test
	from 2001:db8::9 joe@sender.test
	# Without a PROXY header the client is 127.0.0.1.
	run header_session "PROXY UNKNOWN\r\n" "EHLO c" \
	    "MAIL FROM:<joe@sender.test>" "RCPT TO:<u@example.org>" DATA \
	    "Subject: spf" "" "hi" . QUIT
	[ "$(count_messages example.org u)" -eq 3 ]
	! grep -l -e '^Received-SPF:' -e '^Authentication-Results:' \
	    "$SPOOL"/example.org/u/new/* || false
	[ ! -s "$TMP/queries" ]
	! grep -q 'event=spf ' "$LOG" || false
	# Just outside the network: checked, and refused.
	from 192.0.2.16 joe@sender.test
	grep -q '^550 5.7.23 ' <<<"$output"
}

@test "spf off: no header, no question" {
	start normal "spf off"
	from 192.0.2.9 joe@sender.test
	[[ "$output" == *"250 2.0.0 Ok: queued as "* ]]
	! stored | grep -q -e '^Received-SPF:' -e '^Authentication-Results:' || false
	[ ! -s "$TMP/queries" ]
}

@test "smtpd -i on a pipe knows no client address: no check" {
	dnsd_run
	conf "resolver 127.0.0.1:$(cat "$TMP/dnsport")" "spf reject"
	smtp "EHLO mail.sender.test" "MAIL FROM:<joe@sender.test>" \
	    "RCPT TO:<u@example.org>" DATA "Subject: spf" "" "hi" . QUIT
	[ "$(count_messages example.org u)" -eq 1 ]
	! stored | grep -q '^Received-SPF:' || false
	[ ! -s "$TMP/queries" ]
}

@test "each transaction of a session is checked for its own sender" {
	start normal "spf reject"
	run header_session "PROXY TCP4 192.0.2.1 192.0.2.2 1234 25\r\n" \
	    "EHLO mail.sender.test" \
	    "MAIL FROM:<joe@sender.test>" "RCPT TO:<u@example.org>" DATA \
	    "Subject: one" "" "hi" . \
	    "MAIL FROM:<joe@soft.test>" "RCPT TO:<u@example.org>" DATA \
	    "Subject: two" "" "hi" . \
	    "MAIL FROM:<joe@explained.test>" "RCPT TO:<u@example.org>" DATA \
	    "Subject: three" "" "hi" . QUIT
	printf '%s\n' "$output"
	[ "$(count_messages example.org u)" -eq 3 ]
	grep -l '^Subject: one' "$SPOOL"/example.org/u/new/* |
	    xargs grep -q '^Received-SPF: pass '
	grep -l '^Subject: two' "$SPOOL"/example.org/u/new/* |
	    xargs grep -q '^Received-SPF: pass .*joe@soft.test'
	[ "$(grep -c '^Received-SPF:' "$SPOOL"/example.org/u/new/* |
	    awk -F: '{ n += $2 } END { print n }')" -eq 3 ]
}

@test "the configuration: spf, spf-timeout and spf-trusted take only what they should" {
	local bad
	for bad in "spf maybe" "spf" "spf-timeout 0" "spf-timeout 61" \
	    "spf-trusted 192.0.2.1/16" "spf-trusted 192.0.2.0/33" \
	    "spf-trusted 2001:db8::/129" "spf-trusted example.org" \
	    "spf-trusted 192.0.2.0/" "spf-trusted [::1]"; do
		smtpd_setup
		conf "$bad"
		run "$SMTPD" -n -f "$CONF"
		[ "$status" -eq 1 ] || { echo "accepted: $bad"; return 1; }
	done
	smtpd_setup
	conf "spf reject" "spf-timeout 30s" "spf-trusted 192.0.2.0/24 10.1.2.3" \
	    "spf-trusted 2001:db8::/32"
	run "$SMTPD" -n -f "$CONF"
	[ "$status" -eq 0 ]
}

@test "the log: event=spf and the refusals read with smtpd(8)'s grammar, each key in its entry's order" {
	start normal "spf reject"
	from 192.0.2.1 joe@sender.test
	from 192.0.2.9 joe@explained.test
	from 192.0.2.9 joe@broken.test
	from 192.0.2.1 "" mail.sender.test
	from 2001:db8::1 joe@sender.test
	[ "$(grep -c ' event=spf ' "$LOG")" -eq 5 ]
	parse
	documented
	grep -q 'event=spf .* result=permerror helo-result=fail ms=[0-9]* reason="an unknown mechanism"$' "$LOG"
	# The domain's explanation is the client's text here: quoted.
	grep -Fq 'reply="550 5.7.23 SPF MAIL FROM check failed: the domain explained.test explains: 192.0.2.9 may not send for explained.test, see https://explained.test/spf"' "$LOG"
}

@test "under stress a check is cut at stress-timeout, not at spf-timeout" {
	start silent "spf reject" "workers 2" "spf-timeout 20" \
	    "stress-timeout 2" "timeout 30"
	local fd t0
	# An idle client holds one worker; the check's session, the other:
	# the pool is full, which is stress.
	exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"
	printf 'PROXY UNKNOWN\r\n' >&"$fd"
	wait_log 'event=connect peer=127\.0\.0\.1$'
	t0=$SECONDS
	from 192.0.2.1 joe@sender.test
	exec {fd}>&-
	grep -Fxq '451 4.7.24 SPF check of sender.test could not be completed, try again later' <<<"$output"
	grep -q 'event=connect peer=192.0.2.1 stress=yes$' "$LOG"
	grep -Eq 'event=spf peer=192\.0\.2\.1 .* result=temperror .*ms=(19[0-9][0-9]|2[0-9]{3}) ' "$LOG"
	[ $((SECONDS - t0)) -le 8 ]
}
