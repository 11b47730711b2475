#!/usr/bin/env bats
# smtpd -D: the DNS of each domain, asked of test/dnsd on loopback (the
# "resolver" keyword points smtpd at it).  Every address is of 127/8,
# which is all this machine's (the loopback network), or of
# 192.0.2.0/24 (TEST-NET-1), which is not.

load helper

setup() {
	smtpd_setup
	printf 'hostname mx.example.org\nspool %s\ndomain example.org\n' \
	    "$SPOOL" >"$CONF"
	ZONE=$TMP/zone
	cat >"$ZONE" <<-'EOF'
	example.org MX 10 mx.example.org
	mx.example.org A 127.0.0.1
	1.0.0.127.in-addr.arpa PTR mx.example.org
	example.org TXT v=spf1 -all
	_dmarc.example.org TXT v=DMARC1; p=reject
	EOF
	DNSD=
}

teardown() {
	dnsd_stop
}

# dnsd_start [MODE] - test/dnsd on the zone, and smtpd pointed at it.
dnsd_start() {
	dnsd_run "$@"
	conf "resolver 127.0.0.1:$(cat "$TMP/dnsport")"
}

# zone_edit SED - change the zone before dnsd_start.
zone_edit() {
	sed -i "$1" "$ZONE"
}

# check - smtpd -D, with its output (stdout and stderr) in $output.
check() {
	run "$SMTPD" -D -f "$CONF"
	printf '%s\n' "$output"
	! grep -Eq 'Sanitizer|runtime error:' <<<"$output"
}

wrong_lines() {
	grep -c '^; wrong: ' <<<"$output" || true
}

@test "all right: exit 0, no wrong line, the records to publish" {
	dnsd_start
	check
	[ "$status" -eq 0 ]
	[ "$(wrong_lines)" -eq 0 ]
	grep -Fxq '; ok: an MX of example.org points at the hostname mx.example.org' <<<"$output"
	grep -Fxq '; ok: 127.0.0.1 is an address of this machine' <<<"$output"
	grep -Fxq '; ok: mx.example.org leads back to 127.0.0.1 (forward-confirmed)' <<<"$output"
	grep -Fxq '; ok: one SPF record at example.org' <<<"$output"
	grep -Fxq '; ok: one DMARC record at _dmarc.example.org' <<<"$output"
	grep -Fxq 'example.org. 3600 IN MX 10 mx.example.org.' <<<"$output"
	grep -Fxq 'example.org. 3600 IN TXT "v=spf1 -all"' <<<"$output"
	grep -Fxq '_dmarc.example.org. 3600 IN TXT "v=DMARC1; p=reject"' <<<"$output"
	grep -Fxq 'mx.example.org. 3600 IN A 127.0.0.1' <<<"$output"
	grep -q '^; and, not in the zone: the PTR .* hosting provider' <<<"$output"
	grep -Fxq '; result: all right' <<<"$output"
	# Every line is a record or a zone file comment.
	! grep -Ev '^(;|[a-z0-9_.-]+\. 3600 IN )' <<<"$output"
}

@test "no MX: exit 1" {
	zone_edit '/ MX /d'
	dnsd_start
	check
	[ "$status" -eq 1 ]
	grep -Fxq '; wrong: example.org has no MX record' <<<"$output"
	[ "$(wrong_lines)" -eq 1 ]
}

@test "a domain that does not exist is NXDOMAIN, not merely without MX" {
	zone_edit '/^example\.org /d; /^_dmarc/d'
	dnsd_start
	check
	[ "$status" -eq 1 ]
	grep -Fxq '; wrong: example.org has no MX record (the name does not exist: NXDOMAIN)' <<<"$output"
}

@test "MX pointing elsewhere: exit 1" {
	zone_edit 's/MX 10 mx.example.org/MX 10 mail.example.net/'
	dnsd_start
	check
	[ "$status" -eq 1 ]
	grep -Fxq '; found: example.org. MX 10 mail.example.net.' <<<"$output"
	grep -q '^; wrong: no MX of example.org points at the hostname mx.example.org' <<<"$output"
	[ "$(wrong_lines)" -eq 1 ]
}

@test "a null MX is wrong for a domain that takes mail" {
	zone_edit 's/MX 10 mx.example.org/MX 0 ./'
	dnsd_start
	check
	[ "$status" -eq 1 ]
	grep -q '^; wrong: example.org has a null MX (RFC 7505)' <<<"$output"
}

@test "hostname without A or AAAA: exit 1" {
	zone_edit '/ A /d'
	dnsd_start
	check
	[ "$status" -eq 1 ]
	grep -q '^; wrong: mx.example.org has no A or AAAA record' <<<"$output"
	[ "$(wrong_lines)" -eq 1 ]
}

@test "an address that is not this machine's: exit 1" {
	zone_edit 's/A 127.0.0.1/A 192.0.2.1/'
	dnsd_start
	check
	[ "$status" -eq 1 ]
	grep -q '^; wrong: 192.0.2.1 is not an address of this machine' <<<"$output"
	# Not the wrong address: this machine's, or a line to fill in.
	! grep -q '^mx.example.org. 3600 IN A 192.0.2.1$' <<<"$output"
}

@test "any address of the loopback network is this machine's" {
	zone_edit 's/A 127.0.0.1/A 127.0.0.2/; s/^1.0.0.127/2.0.0.127/'
	dnsd_start
	check
	[ "$status" -eq 0 ]
	grep -Fxq '; ok: 127.0.0.2 is an address of this machine' <<<"$output"
}

@test "an AAAA of this machine counts, and its PTR is asked in ip6.arpa" {
	zone_edit 's/A 127.0.0.1/AAAA ::1/; s/^1.0.0.127.in-addr.arpa/1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa/'
	grep -q '^::1$' <(ip -6 addr show lo 2>/dev/null | awk '/inet6/ { sub("/.*", "", $2); print $2 }') ||
	    skip "no ::1 on loopback"
	dnsd_start
	check
	[ "$status" -eq 0 ]
	grep -Fxq 'mx.example.org. 3600 IN AAAA ::1' <<<"$output"
}

@test "a PTR that does not lead back to the address: exit 1" {
	zone_edit 's/PTR mx.example.org/PTR host.example.net/'
	dnsd_start
	check
	[ "$status" -eq 1 ]
	grep -q '^; wrong: the PTR of 127.0.0.1 is host.example.net, whose addresses do not include 127.0.0.1' <<<"$output"
}

@test "no PTR: exit 1" {
	zone_edit '/ PTR /d'
	dnsd_start
	check
	[ "$status" -eq 1 ]
	grep -q '^; wrong: 127.0.0.1 has no PTR record' <<<"$output"
}

@test "missing SPF: exit 1" {
	zone_edit '/v=spf1/d'
	dnsd_start
	check
	[ "$status" -eq 1 ]
	grep -Fxq '; wrong: no SPF record (TXT "v=spf1 ...") at example.org' <<<"$output"
	[ "$(wrong_lines)" -eq 1 ]
}

@test "a TXT record that is not SPF is not taken for one" {
	zone_edit 's/v=spf1 -all/v=spf10 -all/'
	echo 'example.org TXT google-site-verification=abc' >>"$ZONE"
	dnsd_start
	check
	[ "$status" -eq 1 ]
	grep -q '^; wrong: no SPF record' <<<"$output"
}

@test "missing DMARC: exit 1" {
	zone_edit '/DMARC1/d'
	dnsd_start
	check
	[ "$status" -eq 1 ]
	grep -Fxq '; wrong: no DMARC record (TXT "v=DMARC1 ...") at _dmarc.example.org' <<<"$output"
	[ "$(wrong_lines)" -eq 1 ]
}

@test "two SPF records: exit 1" {
	echo 'example.org TXT v=spf1 mx -all' >>"$ZONE"
	dnsd_start
	check
	[ "$status" -eq 1 ]
	grep -q '^; wrong: 2 SPF records at example.org' <<<"$output"
	[ "$(grep -c '^; found: example.org. TXT "v=spf1' <<<"$output")" -eq 2 ]
}

@test "a resolver that never answers: the deadline holds, exit 3" {
	dnsd_start silent
	start=$(date +%s%N)
	check
	ms=$((($(date +%s%N) - start) / 1000000))
	echo "elapsed: $ms ms"
	[ "$status" -eq 3 ]
	grep -q '^; unanswered: mx.example.org A: the resolver timed out after 5000 ms' <<<"$output"
	grep -Fxq '; result: incomplete, a question got no usable answer' <<<"$output"
	# One question's deadline (5 s), and the check stops there.
	[ "$ms" -ge 4900 ]
	[ "$ms" -le 8000 ]
	# It was asked, and asked again within the deadline.
	[ "$(grep -c '^udp mx.example.org A$' "$TMP/queries")" -eq 3 ]
}

@test "a truncated reply is asked again over TCP" {
	dnsd_start truncate
	check
	[ "$status" -eq 0 ]
	[ "$(wrong_lines)" -eq 0 ]
	grep -q '^tcp example.org MX$' "$TMP/queries"
	grep -q '^tcp example.org TXT$' "$TMP/queries"
}

@test "an SPF record over 512 octets comes over TCP, whole" {
	spf="v=spf1$(printf ' ip4:192.0.2.%d' $(seq 1 40)) -all"
	zone_edit "s/v=spf1 -all/$spf/"
	dnsd_start
	check
	[ "$status" -eq 0 ]
	grep -Fxq "; found: example.org. TXT \"$spf\"" <<<"$output"
	grep -q '^tcp example.org TXT$' "$TMP/queries"
}

@test "a reply whose RDLENGTH runs past its end: a clear error, exit 3" {
	dnsd_start badlen
	check
	[ "$status" -eq 3 ]
	grep -q '^; unanswered: mx.example.org A: malformed reply: a record runs past the end of the reply$' <<<"$output"
	grep -q '^; unanswered: example.org MX: malformed reply' <<<"$output"
}

@test "a reply with a compression pointer loop: a clear error, exit 3" {
	dnsd_start loop
	check
	[ "$status" -eq 3 ]
	grep -q '^; unanswered: example.org MX: malformed reply: a malformed name (.*pointer loop' <<<"$output"
}

@test "a reply with another id is not taken: a timeout that says so" {
	dnsd_start badid
	check
	[ "$status" -eq 3 ]
	grep -q '^; unanswered: mx.example.org A: the resolver timed out after 5000 ms: a reply with another id$' <<<"$output"
	! grep -q '^; found:' <<<"$output"
}

@test "SERVFAIL is said as such, exit 3" {
	dnsd_start servfail
	check
	[ "$status" -eq 3 ]
	grep -q '^; unanswered: example.org MX: the resolver answered SERVFAIL (RCODE 2)$' <<<"$output"
	[ "$(wrong_lines)" -eq 0 ]
}

@test "nothing listening at the resolver's address: exit 3 at once" {
	conf "resolver 127.0.0.1:$(free_port)"
	start=$(date +%s%N)
	check
	ms=$((($(date +%s%N) - start) / 1000000))
	[ "$status" -eq 3 ]
	grep -q '^; unanswered: mx.example.org A: .*no DNS server at that address' <<<"$output"
	[ "$ms" -lt 4000 ]
}

@test "an A-label domain is checked as it is; * is skipped" {
	zone_edit 's/^example.org /xn--bcher-kva.example /; s/^_dmarc.example.org /_dmarc.xn--bcher-kva.example /'
	sed -i 's/^domain example.org$/domain xn--bcher-kva.example\ndomain */' "$CONF"
	dnsd_start
	check
	[ "$status" -eq 0 ]
	grep -Fxq 'xn--bcher-kva.example. 3600 IN MX 10 mx.example.org.' <<<"$output"
	! grep -q '^; domain \*' <<<"$output"
}

@test "resolver: an IPv4 or bracketed IPv6 address, with or without a port" {
	conf "resolver [::1]:5353"
	run "$SMTPD" -n -f "$CONF"
	[ "$status" -eq 0 ]
	conf "resolver 127.0.0.53"
	run "$SMTPD" -n -f "$CONF"
	[ "$status" -eq 0 ]
}

@test "resolver: a name, port 0 or a bare IPv6 address is refused" {
	cp "$CONF" "$TMP/base"
	for bad in ns.example.org 127.0.0.1:0 127.0.0.1:00 '[::1]:0' ::1 \
	    '[::1' 127.0.0.1:65536 127.0.0.1: '[::1]x'; do
		cp "$TMP/base" "$CONF"
		conf "resolver $bad"
		run "$SMTPD" -n -f "$CONF"
		echo "$bad: $output"
		[ "$status" -eq 1 ]
		grep -q 'resolver: expected a numeric address' <<<"$output"
	done
}

@test "the reply parser at every edge (test/dns_test)" {
	run "$BATS_TEST_DIRNAME/dns_test"
	printf '%s\n' "$output" | grep -v '^ok ' || true
	[ "$status" -eq 0 ]
	[ "$(grep -c '^ok ' <<<"$output")" -ge 55 ]
}

@test "a domain with a label over 63 octets stops -D at the configuration" {
	# idna.c refuses the label as the file is read, so -D asks nothing
	# about a name that cannot be one in the DNS.
	long=$(printf 'a%.0s' $(seq 1 64))
	conf "domain $long.example"
	dnsd_start
	check
	[ "$status" -eq 1 ]
	grep -q "^event=conf-error file=$CONF line=4 reason=\"domain: not a valid domain name\"$" <<<"$output"
	! grep -q '^; ' <<<"$output"
}

@test "a forged reply from another port is never seen (the UDP socket is connected)" {
	dnsd_start spoof
	check
	[ "$status" -eq 0 ]
	[ "$(wrong_lines)" -eq 0 ]
	# A forgery was sent, with the right id, before each reply.
	[ "$(grep -c '^spoof$' "$TMP/queries")" -eq 7 ]
	[ "$(grep -c '^udp ' "$TMP/queries")" -eq 7 ]
}

@test "a TCP reply split into an octet a segment is read whole" {
	dnsd_start tcpslow
	check
	[ "$status" -eq 0 ]
	[ "$(wrong_lines)" -eq 0 ]
	grep -Fxq '; found: example.org. TXT "v=spf1 -all"' <<<"$output"
	grep -q '^tcp mx.example.org A$' "$TMP/queries"
}

@test "a TCP reply shorter than its length prefix: malformed, exit 3 at once" {
	dnsd_start tcpshort
	start=$(date +%s%N)
	check
	ms=$((($(date +%s%N) - start) / 1000000))
	[ "$status" -eq 3 ]
	grep -Fxq '; unanswered: mx.example.org A: malformed reply: a TCP reply shorter than its length prefix' <<<"$output"
	[ "$ms" -lt 4000 ]
}

@test "a resolver that takes the TCP connection and never writes: the deadline holds" {
	dnsd_start tcpsilent
	start=$(date +%s%N)
	check
	ms=$((($(date +%s%N) - start) / 1000000))
	echo "elapsed: $ms ms"
	[ "$status" -eq 3 ]
	grep -Fxq '; unanswered: mx.example.org A: the resolver timed out after 5000 ms: no reply over TCP within the deadline' <<<"$output"
	# One deadline for UDP and TCP together.
	[ "$ms" -ge 4900 ]
	[ "$ms" -le 8000 ]
}

@test "odd octets from the DNS are escaped: every line stays a zone file line" {
	# A PTR target with a quote, a newline and a ';' in a label, which
	# is asked again as it is; an SPF record with a newline, a quote and
	# what would be a comment line of its own.
	zone_edit 's/PTR mx.example.org/PTR we\\"ird\\010\\059.example.org/; s/v=spf1 -all/v=spf1 -all\\010; wrong: forged\\034 ;/'
	printf '%s\n' 'we\"ird\010\059.example.org A 127.0.0.1' >>"$ZONE"
	dnsd_start
	check
	[ "$status" -eq 0 ]
	grep -Fxq '; found: 1.0.0.127.in-addr.arpa. PTR we\"ird\010\;.example.org.' <<<"$output"
	grep -Fxq '; ok: we\"ird\010\;.example.org leads back to 127.0.0.1 (forward-confirmed; it is not the hostname mx.example.org, which is allowed)' <<<"$output"
	grep -Fxq '; found: example.org. TXT "v=spf1 -all\010; wrong: forged\" ;"' <<<"$output"
	[ "$(wrong_lines)" -eq 0 ]
	! grep -Ev '^(;|[a-z0-9_.-]+\. 3600 IN )' <<<"$output"
}

@test "more TXT records than dns.c keeps: said, and the check is incomplete" {
	for i in $(seq 1 33); do
		echo "example.org TXT verification-token-$i"
	done >>"$ZONE"
	dnsd_start
	check
	[ "$status" -eq 3 ]
	grep -Fxq '; unanswered: example.org TXT: more than 32 records, the first 32 checked' <<<"$output"
	grep -Fxq '; result: incomplete, a question got no usable answer' <<<"$output"
}

@test "a PTR to the root is written as the root, not as '..'" {
	zone_edit 's/PTR mx.example.org/PTR ./'
	dnsd_start
	check
	[ "$status" -eq 1 ]
	grep -Fxq '; found: 1.0.0.127.in-addr.arpa. PTR .' <<<"$output"
	grep -q '^; wrong: the PTR of 127.0.0.1 is \., whose addresses' <<<"$output"
}
