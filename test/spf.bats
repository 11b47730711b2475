#!/usr/bin/env bats
# spf.c's check_host() (RFC 7208), run by test/spf_test against
# test/dnsd on loopback, section by section.  The zone is RFC 7208's
# appendix A; each test adds the records it is about.

load helper

setup() {
	smtpd_setup
	ZONE=$TMP/zone
	cat >"$ZONE" <<-'EOF'
	example.com MX 10 mail-a.example.com
	example.com MX 20 mail-b.example.com
	example.com A 192.0.2.10
	example.com A 192.0.2.11
	amy.example.com A 192.0.2.65
	bob.example.com A 192.0.2.66
	mail-a.example.com A 192.0.2.129
	mail-b.example.com A 192.0.2.130
	www.example.com CNAME example.com
	example.org MX 10 mail-c.example.org
	mail-c.example.org A 192.0.2.140
	10.2.0.192.in-addr.arpa PTR example.com
	11.2.0.192.in-addr.arpa PTR example.com
	65.2.0.192.in-addr.arpa PTR amy.example.com
	66.2.0.192.in-addr.arpa PTR bob.example.com
	129.2.0.192.in-addr.arpa PTR mail-a.example.com
	130.2.0.192.in-addr.arpa PTR mail-b.example.com
	140.2.0.192.in-addr.arpa PTR mail-c.example.org
	4.0.0.10.in-addr.arpa PTR bob.example.com
	EOF
	DNSD=
}

teardown() {
	dnsd_stop
}

# record NAME VALUE - a TXT record, before dnsd_run.
record() {
	printf '%s TXT %s\n' "$1" "$2" >>"$ZONE"
}

# spf IP [SENDER [DOMAIN [MS]]] - check_host(); the result word in
# $result, the whole output in $output.
spf() {
	run "$BATS_TEST_DIRNAME/spf_test" "$(cat "$TMP/dnsport")" \
	    -t "${4:-3000}" -r mx.example.org "$1" "${2:-joe@example.com}" \
	    mx.example.net \
	    "${3:-example.com}"
	printf '%s\n' "$output"
	[ "$status" -eq 0 ]
	! grep -Eq 'Sanitizer|runtime error:' <<<"$output" || false
	result=${output%%[ $'\n']*}
}

# expect RESULT IP... - each IP's result for example.com.
expect() {
	local want=$1 ip
	shift
	for ip in "$@"; do
		spf "$ip"
		[ "$result" = "$want" ] || { echo "$ip: $result"; return 1; }
	done
}

asked() {
	grep -Fxq "udp $1" "$TMP/queries"
}

# 4.4, 4.5: record lookup and selection

@test "4.5: no TXT record at all (NODATA) is none" {
	dnsd_run
	expect none 192.0.2.10
}

@test "4.3: a domain that does not exist (NXDOMAIN) is none" {
	dnsd_run
	spf 192.0.2.10 joe@nx.example.com nx.example.com
	[ "$result" = none ]
}

@test "4.3: a single-label or malformed domain is none, not asked" {
	dnsd_run
	spf 192.0.2.10 joe@com com
	[ "$result" = none ]
	spf 192.0.2.10 joe@a..example.com a..example.com
	[ "$result" = none ]
	spf 192.0.2.10 x "$(printf 'a%.0s' {1..64}).example.com"
	[ "$result" = none ]
	[ ! -s "$TMP/queries" ]
}

@test "4.5: TXT records that are not v=spf1 are discarded: none" {
	record example.com 'v=spf10 -all'
	record example.com 'v=spf1-all'
	record example.com 'google-site-verification=abc'
	dnsd_run
	expect none 192.0.2.10
}

@test "4.5: the version is case-insensitive and may end the record" {
	record example.com 'V=SpF1 -all'
	record example.org 'v=spf1'
	dnsd_run
	expect fail 192.0.2.10
	spf 192.0.2.10 joe@example.org example.org
	[ "$result" = neutral ]
}

@test "4.5: two v=spf1 records are a permerror" {
	record example.com 'v=spf1 +all'
	record example.com 'v=spf1 -all'
	dnsd_run
	expect permerror 192.0.2.10
	grep -q 'more than one v=spf1' <<<"$output"
}

@test "4.5: a record of several strings is joined without spaces" {
	# dnsd cuts a value into strings of 255: the ip4 term is split
	record example.com "v=spf1 $(printf 'ip4:192.0.2.200 %.0s' {1..15})ip4:192.0.2.77 -all"
	dnsd_run
	[ "$(awk '$2 == "TXT" { print length($0) }' "$ZONE")" -gt 271 ]
	expect pass 192.0.2.77
	expect fail 192.0.2.78
}

@test "4.4: only TXT is asked for the record (no type 99 SPF, no A)" {
	record example.com 'v=spf1 -all'
	dnsd_run
	expect fail 192.0.2.10
	[ "$(grep -c 'example.com TXT' "$TMP/queries")" -eq 1 ]
	[ "$(wc -l <"$TMP/queries")" -eq 1 ]
}

@test "4.4: a resolver that never answers is a temperror within the deadline" {
	record example.com 'v=spf1 -all'
	dnsd_run silent
	start=$(date +%s%N)
	spf 192.0.2.10 joe@example.com example.com 1000
	end=$(date +%s%N)
	[ "$result" = temperror ]
	[ $(( (end - start) / 1000000 )) -lt 2500 ]
}

@test "4.4: SERVFAIL is a temperror" {
	record example.com 'v=spf1 -all'
	dnsd_run servfail
	expect temperror 192.0.2.10
}

@test "4.4: more TXT records than dns.c keeps (32) is a permerror" {
	for i in $(seq 33); do record example.com "filler $i"; done
	dnsd_run
	expect permerror 192.0.2.10
	grep -q 'more TXT records' <<<"$output"
}

@test "4.4: 32 TXT records, one of them v=spf1, are read" {
	for i in $(seq 31); do record example.com "filler $i"; done
	record example.com 'v=spf1 -all'
	dnsd_run
	expect fail 192.0.2.10
}

# 4.6.1, 12: the term parser; a syntax error anywhere is a permerror
# before anything is evaluated

@test "12: syntax errors anywhere are a permerror, even after a match" {
	local bad
	for bad in 'foo' 'a:' 'ip4' 'ip4:192.0.2' 'ip4:192.0.2.1/33' \
	    'ip4:192.0.2.1/024' 'ip4:192.0.2.1/' 'ip6:2001:db8::/129' \
	    'ip6:192.0.2.1' 'ip4:2001:db8::1' 'a/33' 'a//129' 'a/24/64' \
	    'mx:example.com//' 'all:example.com' 'all/24' 'ptr/24' \
	    'include' 'exists' 'exists:example.com/24' '*all' '+-all' \
	    'a:example' 'a:example.123' 'a:example.-com' 'a:%{x}.example.com' \
	    'a:%{d}%' 'a:%{d' 'a:example.com}' 'a:%{c}.example.com' 'a:%{d0}.example.com' \
	    'redirect=example.org redirect=example.org' \
	    'exp=a.example.com exp=b.example.com' 'redirect=' \
	    'foo=%{z}' '1x=y'; do
		: >"$ZONE.new"
		grep -v '^example.com TXT' "$ZONE" >"$ZONE.new"
		printf 'example.com TXT v=spf1 ip4:192.0.2.10 %s\n' "$bad" \
		    >>"$ZONE.new"
		mv "$ZONE.new" "$ZONE"
		[ -z "$DNSD" ] || { kill "$DNSD"; wait "$DNSD" || true; }
		rm -f "$TMP/dnsport"
		dnsd_run
		spf 192.0.2.10
		[ "$result" = permerror ] || { echo "not a permerror: $bad"; return 1; }
	done
}

@test "12: well-formed terms parse: qualifiers, cases, CIDRs, unknown modifiers" {
	record example.com 'v=spf1 ?ip4:192.0.2.1 ~IP4:192.0.2.2/32 -ip6:2001:db8::/32 +a//64 A/24//64 mx:example.org/30 Ptr:example.org foo=bar x.y-z_=%{c}%{R}%{t}%%%_%- exp=explain.%{d} IP4:192.0.2.0/0  '
	dnsd_run
	spf 192.0.2.1
	[ "$result" = neutral ]
	spf 192.0.2.2
	[ "$result" = softfail ]
	spf 2001:db8::5
	[ "$result" = fail ]
	spf 198.51.100.1
	[ "$result" = pass ]
}

@test "12: a domain-spec may end in any macro-expand, %% %_ %- too" {
	record example.com 'v=spf1 ip4:192.0.2.1 a:x.%{d} a:x.%{d2r} a:x.%% a:x.%- a:x%_ -all'
	dnsd_run
	expect pass 192.0.2.1
}

@test "6.2: exp= in a record of no match is parsed, not fetched" {
	record example.com 'v=spf1 exp=explain.example.com'
	dnsd_run
	expect neutral 192.0.2.10
	! grep -q explain "$TMP/queries" || false
}

# 4.6.2, 5: evaluation, appendix A.1's examples

@test "A.1: v=spf1 +all: any host passes" {
	record example.com 'v=spf1 +all'
	dnsd_run
	expect pass 192.0.2.10 198.51.100.7 2001:db8::1
}

@test "A.1: v=spf1 a -all: 192.0.2.10 and 192.0.2.11 pass" {
	record example.com 'v=spf1 a -all'
	dnsd_run
	expect pass 192.0.2.10 192.0.2.11 ::ffff:192.0.2.10
	expect fail 192.0.2.12 192.0.2.65
}

@test "A.1: v=spf1 a:example.org -all: no host passes (no A)" {
	record example.com 'v=spf1 a:example.org -all'
	dnsd_run
	expect fail 192.0.2.10 192.0.2.140
}

@test "A.1: v=spf1 mx -all: 192.0.2.129 and 192.0.2.130 pass" {
	record example.com 'v=spf1 mx -all'
	dnsd_run
	expect pass 192.0.2.129 192.0.2.130
	expect fail 192.0.2.10 192.0.2.140
}

@test "A.1: v=spf1 mx:example.org -all: 192.0.2.140 passes" {
	record example.com 'v=spf1 mx:example.org -all'
	dnsd_run
	expect pass 192.0.2.140
	expect fail 192.0.2.129
}

@test "A.1: v=spf1 mx mx:example.org -all: .129, .130 and .140 pass" {
	record example.com 'v=spf1 mx mx:example.org -all'
	dnsd_run
	expect pass 192.0.2.129 192.0.2.130 192.0.2.140
	expect fail 192.0.2.10
}

@test "A.1: v=spf1 mx/30 mx:example.org/30 -all: 192.0.2.128/30 and 192.0.2.140/30 pass" {
	record example.com 'v=spf1 mx/30 mx:example.org/30 -all'
	dnsd_run
	expect pass 192.0.2.128 192.0.2.131 192.0.2.141 192.0.2.143
	expect fail 192.0.2.132 192.0.2.139 192.0.2.144
}

@test "A.1: v=spf1 ptr -all: .65 passes, .140 (example.org) and 10.0.0.4 (rogue PTR) fail" {
	record example.com 'v=spf1 ptr -all'
	dnsd_run
	expect pass 192.0.2.65 192.0.2.10 192.0.2.11 192.0.2.129
	expect fail 192.0.2.140 10.0.0.4
}

@test "A.1: v=spf1 ip4:192.0.2.128/28 -all: .65 fails, .129 passes" {
	record example.com 'v=spf1 ip4:192.0.2.128/28 -all'
	dnsd_run
	expect fail 192.0.2.65
	expect pass 192.0.2.129
}

@test "5.6: ip6 with a CIDR; an IPv4 client never matches ip6, nor IPv6 ip4" {
	record example.com 'v=spf1 ip6:2001:db8:1::/48 ip4:0.0.0.0/0 -all'
	dnsd_run
	expect pass 2001:db8:1:ffff::1 192.0.2.1 ::ffff:198.51.100.1
	expect fail 2001:db8:2::1 ::1
}

@test "5.3: a for an IPv6 client asks AAAA, with the ip6 CIDR" {
	echo 'v6.example.com AAAA 2001:db8::1' >>"$ZONE"
	record example.com 'v=spf1 a:v6.example.com//64 -all'
	dnsd_run
	expect pass 2001:db8::ffff
	expect fail 2001:db8:0:1::1 192.0.2.10
	asked 'v6.example.com AAAA'
}

@test "2.6: the qualifiers give pass, fail, softfail, neutral; no match is neutral" {
	record example.com 'v=spf1 +ip4:192.0.2.1 -ip4:192.0.2.2 ~ip4:192.0.2.3 ?ip4:192.0.2.4 ip4:192.0.2.5'
	dnsd_run
	spf 192.0.2.1; [ "$result" = pass ]
	spf 192.0.2.2; [ "$result" = fail ]
	spf 192.0.2.3; [ "$result" = softfail ]
	spf 192.0.2.4; [ "$result" = neutral ]
	spf 192.0.2.5; [ "$result" = pass ]
	spf 192.0.2.6; [ "$result" = neutral ]
}

@test "5.2: include: pass matches; fail, softfail, neutral do not" {
	record example.com 'v=spf1 include:p.example.net include:f.example.net include:s.example.net include:n.example.net -all'
	record p.example.net 'v=spf1 ip4:192.0.2.1 -all'
	record f.example.net 'v=spf1 -all'
	record s.example.net 'v=spf1 ~all'
	record n.example.net 'v=spf1 ?all'
	dnsd_run
	expect pass 192.0.2.1
	expect fail 192.0.2.2
	asked 'n.example.net TXT'
}

@test "5.2: include: of temperror is temperror, of permerror or none is permerror" {
	record example.com 'v=spf1 include:none.example.net -all'
	record example.org 'v=spf1 include:bad.example.net -all'
	record bad.example.net 'v=spf1 foo'
	dnsd_run
	expect permerror 192.0.2.1
	spf 192.0.2.1 joe@example.org example.org
	[ "$result" = permerror ]
}

@test "5.2: include: of a domain whose server fails is temperror" {
	record example.com 'v=spf1 include:example.org -all'
	dnsd_run servfail
	expect temperror 192.0.2.1
}

@test "6.1: redirect= when nothing matched; its none is a permerror" {
	record example.com 'v=spf1 ip4:192.0.2.1 redirect=r.example.net'
	record r.example.net 'v=spf1 ip4:192.0.2.2 ~all'
	record example.org 'v=spf1 redirect=nothere.example.net'
	dnsd_run
	expect pass 192.0.2.1 192.0.2.2
	expect softfail 192.0.2.3
	spf 192.0.2.3 joe@example.org example.org
	[ "$result" = permerror ]
}

@test "6.1: redirect= waits for every mechanism, wherever it stands" {
	record example.com 'v=spf1 redirect=r.example.net ip4:192.0.2.1'
	record r.example.net 'v=spf1 -all'
	dnsd_run
	expect pass 192.0.2.1
	! asked 'r.example.net TXT' || false
	expect fail 192.0.2.2
	asked 'r.example.net TXT'
}

@test "5: a reply that breaks the protocol is a temperror" {
	record example.com 'v=spf1 -all'
	dnsd_run badlen
	expect temperror 192.0.2.1
}

@test "7.3: %{p} expands to unknown" {
	record example.com 'v=spf1 a:%{p}.example.net -all'
	names unknown.example.net
	dnsd_run
	expect fail 192.0.2.1
	asked 'unknown.example.net A'
}

@test "5.2 vs 6.1: %{d} is the included/redirected domain" {
	record example.com 'v=spf1 include:i.example.net redirect=r.example.net'
	record i.example.net 'v=spf1 exists:%{d}.x.example.net'
	record r.example.net 'v=spf1 exists:%{d}.y.example.net'
	dnsd_run
	expect neutral 192.0.2.1
	asked 'i.example.net.x.example.net A'
	asked 'r.example.net.y.example.net A'
}

@test "5.3: of more A records than dns.c keeps, a kept match matches; else permerror" {
	local i
	for i in $(seq 33); do echo "many.example.net A 198.51.100.$i"; done >>"$ZONE"
	record example.com 'v=spf1 a:many.example.net -all'
	dnsd_run
	expect pass 198.51.100.1
	expect permerror 192.0.2.1
	grep -q 'more addresses' <<<"$output"
}

@test "5.7: exists: matches any A record, whatever the client's family" {
	echo 'yes.example.net A 127.0.0.2' >>"$ZONE"
	record example.com 'v=spf1 exists:yes.example.net -all'
	record example.org 'v=spf1 exists:no.example.net -all'
	dnsd_run
	expect pass 192.0.2.1 2001:db8::1
	spf 192.0.2.1 joe@example.org example.org
	[ "$result" = fail ]
}

@test "5: a DNS failure in a mechanism is a temperror" {
	record example.com 'v=spf1 a:example.org -all'
	dnsd_run
	kill "$DNSD"; wait "$DNSD" || true
	"$BATS_TEST_DIRNAME/dnsd" -m silent -p "$(cat "$TMP/dnsport")" \
	    -t 60 "$ZONE" "$TMP/dnsport2" 2>/dev/null 3>&- &
	DNSD=$!
	wait_for test -s "$TMP/dnsport2"
	spf 192.0.2.1 joe@example.com example.com 500
	[ "$result" = temperror ]
}

# 4.6.4: processing limits

@test "4.6.4: 10 DNS-querying terms evaluate; the 11th is a permerror" {
	local i t10='' t11=''
	for i in $(seq 10); do t10="$t10 a:h$i.example.net"; done
	for i in $(seq 9); do echo "h$i.example.net A 198.51.100.$i"; done >>"$ZONE"
	echo "h10.example.net A 192.0.2.1" >>"$ZONE"
	record example.com "v=spf1$t10 -all"
	record example.org "v=spf1$t10 a:h11.example.net -all"
	dnsd_run
	expect pass 192.0.2.1
	grep -q 'terms=10' <<<"$output"
	spf 192.0.2.99 joe@example.org example.org
	[ "$result" = permerror ]
	grep -q 'more than 10' <<<"$output"
	! asked 'h11.example.net A' || false
}

@test "4.6.4: include and redirect count, through the recursion" {
	local i
	record example.com 'v=spf1 include:i1.example.net -all'
	for i in $(seq 10); do
		record "i$i.example.net" "v=spf1 redirect=i$((i + 1)).example.net"
	done
	record i11.example.net 'v=spf1 ip4:192.0.2.1'
	record example.org 'v=spf1 include:i2.example.net -all'
	dnsd_run
	expect permerror 192.0.2.1
	spf 192.0.2.1 joe@example.org example.org
	[ "$result" = pass ]
	grep -q 'terms=10' <<<"$output"
}

@test "4.6.4: ip4, ip6 and all do not count" {
	local i t=''
	for i in $(seq 20); do t="$t ip4:198.51.100.$i ip6:2001:db8::$i"; done
	record example.com "v=spf1$t a a a a a a a a a mx -all"
	dnsd_run
	expect pass 192.0.2.129
}

@test "4.6.4: two void lookups are allowed; the third is a permerror" {
	record example.com 'v=spf1 a:v1.example.net mx:v2.example.net ip4:192.0.2.1 exists:v3.example.net -all'
	dnsd_run
	expect pass 192.0.2.1
	grep -q 'void=2' <<<"$output"
	expect permerror 192.0.2.2
	grep -q 'void lookups' <<<"$output"
}

@test "4.6.4: more than 10 MX names is a permerror; 10 are looked up" {
	local i
	for i in $(seq 11); do echo "many.example.net MX $i m$i.example.net"; done >>"$ZONE"
	for i in $(seq 10); do echo "ten.example.net MX $i m$i.example.net"; done >>"$ZONE"
	echo 'm10.example.net A 192.0.2.1' >>"$ZONE"
	record example.com 'v=spf1 mx:ten.example.net -all'
	record example.org 'v=spf1 mx:many.example.net -all'
	dnsd_run
	expect pass 192.0.2.1
	spf 192.0.2.1 joe@example.org example.org
	[ "$result" = permerror ]
}

@test "4.6.4: only the first 10 PTR names are checked" {
	local i
	for i in $(seq 11); do
		echo "5.2.0.192.in-addr.arpa PTR p$i.example.com"
	done >>"$ZONE"
	echo 'p11.example.com A 192.0.2.5' >>"$ZONE"
	echo 'p10.example.com A 192.0.2.5' >>"$ZONE"
	record example.com 'v=spf1 ptr:p11.example.com ptr:p10.example.com -all'
	dnsd_run
	expect pass 192.0.2.5
	# p11, the 11th name, was never confirmed
	! asked 'p11.example.com A' || false
	asked 'p10.example.com A'
}

# 7: macros; the names asked show the expansions (7.4's examples)

# names NAME... - each an A record of 127.0.0.2: "a:" of it is asked,
# does not match 192.0.2.3 and is not a void lookup.
names() {
	local n
	for n in "$@"; do echo "$n A 127.0.0.2"; done >>"$ZONE"
}

@test "7.4: s o d l and the digit and r transformers of 7.4's examples" {
	record email.example.com 'v=spf1 a:%{s}.s a:%{o}.o a:%{d}.d a:%{d4}.dd a:%{d3}.ddd a:%{d2}.dtwo a:%{d1}.done a:%{dr}.dr a:%{d2r}.dtr a:%{l}.l'
	names strong-bad@email.example.com.s email.example.com.o \
	    email.example.com.d email.example.com.dd email.example.com.ddd \
	    example.com.dtwo com.done com.example.email.dr \
	    example.email.dtr strong-bad.l
	dnsd_run
	spf 192.0.2.3 strong-bad@email.example.com email.example.com
	[ "$result" = neutral ]
	grep -q 'terms=10 void=0' <<<"$output"
}

@test "7.4: delimiters, i, v, h, and 7.4's combined examples" {
	record email.example.com 'v=spf1 a:%{l-}.l a:%{lr}.lr a:%{lr-}.lrd a:%{l1r-}.lrone a:%{ir}.%{v}._spf.%{d2} a:%{lr-}.lp._spf.%{d2} a:%{lr-}.lp.%{ir}.%{v}._spf.%{d2} a:%{ir}.%{v}.%{l1r-}.lp._spf.%{d2} a:%{d2}.trusted-domains.example.net a:%{h}.h'
	names strong.bad.l strong-bad.lr bad.strong.lrd strong.lrone \
	    3.2.0.192.in-addr._spf.example.com bad.strong.lp._spf.example.com \
	    bad.strong.lp.3.2.0.192.in-addr._spf.example.com \
	    3.2.0.192.in-addr.strong.lp._spf.example.com \
	    example.com.trusted-domains.example.net mx.example.net.h
	dnsd_run
	spf 192.0.2.3 strong-bad@email.example.com email.example.com
	[ "$result" = neutral ]
	grep -q 'terms=10 void=0' <<<"$output"
}

@test "7.4: an IPv6 %{ir} and %{v}; an IPv4-mapped client is in-addr" {
	record email.example.com 'v=spf1 a:%{ir}.%{v}._spf.%{d2}'
	names 1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com \
	    3.2.0.192.in-addr._spf.example.com
	echo '1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com AAAA 2001:db8::cb01' >>"$ZONE"
	dnsd_run
	spf 2001:db8::cb01 strong-bad@email.example.com email.example.com
	[ "$result" = pass ]
	spf ::ffff:192.0.2.3 strong-bad@email.example.com email.example.com
	[ "$result" = neutral ]
	asked '3.2.0.192.in-addr._spf.example.com A'
}

@test "7.3: uppercase letters are URL-escaped; %% %_ %- are literal" {
	record example.com 'v=spf1 a:%{L}.up a:%{l}.low a:x%%y.%{d} -all'
	names 'a%2Bb%2Fc.up' 'a+b/c.low'
	echo 'x%y.example.com A 127.0.0.2' >>"$ZONE"
	dnsd_run
	spf 192.0.2.3 'a+b/c@example.com' example.com
	[ "$result" = fail ]
	grep -q 'void=0' <<<"$output"
}

@test "4.3, 7.2: a sender without a local-part is postmaster" {
	record example.com 'v=spf1 a:%{l}.%{o} -all'
	names postmaster.example.com
	dnsd_run
	spf 192.0.2.3 example.com example.com
	[ "$result" = fail ]
	grep -q 'void=0' <<<"$output"
}

@test "7.3: an expansion over 253 octets loses labels from the left" {
	local l63 d
	l63=$(printf 'x%.0s' {1..63})
	d=$l63.example.com
	record "$d" 'v=spf1 exists:%{d}.%{d}.%{d}.%{d} -all'
	dnsd_run
	# 4 x 75 + 3 = 303 octets: the first label goes, then 239 are left
	spf 192.0.2.3 "joe@$d" "$d"
	[ "$result" = fail ]
	asked "example.com.$d.$d.$d A"
	[ $(( ${#d} * 3 + 14 )) -le 253 ]
}

# Appendix A.2 to A.4: the other examples, on A.1's zone

@test "A.2: include: of two domains, and redirect= to the including one" {
	record example.org 'v=spf1 include:example.com include:example.net -all'
	record la.example.org 'v=spf1 redirect=example.org'
	record ny.example.org 'v=spf1 redirect=example.org'
	record example.com 'v=spf1 mx -all'
	record example.net 'v=spf1 ip4:198.51.100.0/24 -all'
	dnsd_run
	for d in example.org la.example.org ny.example.org; do
		spf 192.0.2.129 "joe@$d" "$d"; [ "$result" = pass ]
		spf 198.51.100.7 "joe@$d" "$d"; [ "$result" = pass ]
		spf 192.0.2.10 "joe@$d" "$d"; [ "$result" = fail ]
	done
}

@test "A.3: DNSBL style: mobile and remote users by local-part and address" {
	record example.com 'v=spf1 mx include:mobile-users._spf.%{d} include:remote-users._spf.%{d} -all'
	record mobile-users._spf.example.com 'v=spf1 exists:%{l1r+}.%{d}'
	record remote-users._spf.example.com 'v=spf1 exists:%{ir}.%{l1r+}.%{d}'
	names mary.mobile-users._spf.example.com \
	    fred.mobile-users._spf.example.com \
	    15.15.168.192.joel.remote-users._spf.example.com \
	    16.15.168.192.joel.remote-users._spf.example.com
	dnsd_run
	spf 198.51.100.1 mary@example.com; [ "$result" = pass ]
	spf 198.51.100.1 fred+news@example.com; [ "$result" = pass ]
	spf 198.51.100.1 joel@example.com; [ "$result" = fail ]
	spf 192.168.15.15 joel@example.com; [ "$result" = pass ]
	spf 192.168.15.16 joel+x@example.com; [ "$result" = pass ]
	spf 192.168.15.17 joel@example.com; [ "$result" = fail ]
	spf 192.0.2.130 anyone@example.com; [ "$result" = pass ]
}

@test "A.4: multiple requirements: in 192.0.2.0/24 and a PTR in example.com" {
	# the RFC's ptr._spf record says -ptr, which would test the PTR
	# against ptr._spf.example.com (%{d} of the included record): the
	# erratum's -ptr:example.com is what the text means
	record example.com 'v=spf1 -include:ip4._spf.%{d} -include:ptr._spf.%{d} +all'
	record ip4._spf.example.com 'v=spf1 -ip4:192.0.2.0/24 +all'
	record ptr._spf.example.com 'v=spf1 -ptr:example.com +all'
	dnsd_run
	expect pass 192.0.2.65 192.0.2.129
	expect fail 192.0.2.140 192.0.2.5 10.0.0.4
}

# 6.2: exp=, the explanation of a fail

@test "6.2: a fail's explanation: %{i} %{d} %{c} %{r} %{t} expanded" {
	record example.com 'v=spf1 ip4:192.0.2.1 -all exp=why.%{d}'
	record why.example.com '%{i} (%{c}) is not one of %{d}%_s hosts; asked by %{r} at %{t}; %{L}%%'
	dnsd_run
	before=$(date +%s)
	spf 192.0.2.2 'a b@example.com'
	after=$(date +%s)
	[ "$result" = fail ]
	grep -q '^terms=0 void=0$' <<<"$output"
	line=$(grep '^exp: ' <<<"$output")
	[[ "$line" =~ ^"exp: 192.0.2.2 (192.0.2.2) is not one of example.com s hosts; asked by mx.example.org at "([0-9]+)"; a%20b%"$ ]]
	[ "${BASH_REMATCH[1]}" -ge "$before" ] && [ "${BASH_REMATCH[1]}" -le "$after" ]
	spf 2001:db8::cb01
	# 7.3: %{i} of IPv6 is nibbles; %{c} is the address as written
	grep -Eq '^exp: 2\.0\.0\.1\.0\.d\.b\.8(\.0){20}\.c\.b\.0\.1 \(2001:db8::cb01\) is not one of example.com s hosts; asked by mx.example.org at [0-9]+; joe%$' <<<"$output"
}

@test "6.2: no explanation fetched for a pass or a softfail; %{r} without a receiver is unknown" {
	record example.com 'v=spf1 ip4:192.0.2.1 ~ip4:192.0.2.2 -all exp=why.example.com'
	record why.example.com 'by %{r}'
	dnsd_run
	expect pass 192.0.2.1
	expect softfail 192.0.2.2
	! asked 'why.example.com TXT' || false
	run "$BATS_TEST_DIRNAME/spf_test" "$(cat "$TMP/dnsport")" 192.0.2.3 \
	    joe@example.com mx.example.net example.com
	grep -Fxq 'exp: by unknown' <<<"$output"
}

@test "6.2: two TXT records, NODATA, NXDOMAIN: no explanation, still fail" {
	record example.com 'v=spf1 -ip4:192.0.2.1 -ip4:192.0.2.2 -all exp=%{i}.why.example.com'
	record 192.0.2.1.why.example.com 'one'
	record 192.0.2.1.why.example.com 'two'
	echo '192.0.2.2.why.example.com A 127.0.0.2' >>"$ZONE"
	dnsd_run
	for ip in 192.0.2.1 192.0.2.2 192.0.2.3; do
		spf $ip
		[ "$result" = fail ]
		! grep -q '^exp:' <<<"$output" || false
		asked "$ip.why.example.com TXT"
	done
}

@test "6.2: a redirect= target's exp= is used, the original's is not" {
	record example.com 'v=spf1 redirect=r.example.net exp=outer.example.com'
	record example.org 'v=spf1 redirect=r2.example.net exp=outer.example.com'
	record r.example.net 'v=spf1 -all exp=inner.example.net'
	record r2.example.net 'v=spf1 -all'
	record outer.example.com 'outer'
	record inner.example.net 'inner %{d}'
	dnsd_run
	spf 192.0.2.1
	[ "$result" = fail ]
	grep -Fxq 'exp: inner r.example.net' <<<"$output"
	spf 192.0.2.1 joe@example.org example.org
	[ "$result" = fail ]
	! grep -q '^exp:' <<<"$output" || false
	! asked 'outer.example.com TXT' || false
}

@test "6.2: an include:'s exp= is not used; the includer's is" {
	record example.com 'v=spf1 include:i.example.net -all exp=outer.example.com'
	record example.org 'v=spf1 -include:p.example.net'
	record i.example.net 'v=spf1 -all exp=inner.example.net'
	record p.example.net 'v=spf1 +all exp=inner.example.net'
	record outer.example.com 'outer'
	record inner.example.net 'inner'
	dnsd_run
	spf 192.0.2.1
	[ "$result" = fail ]
	grep -Fxq 'exp: outer' <<<"$output"
	spf 192.0.2.1 joe@example.org example.org
	[ "$result" = fail ]
	! grep -q '^exp:' <<<"$output" || false
	! asked 'inner.example.net TXT' || false
}

@test "6.2: an explanation too long, not ASCII, a control, a bad macro: none" {
	local long
	long=$(printf 'x%.0s' {1..512})
	record example.com 'v=spf1 -ip4:192.0.2.1 -ip4:192.0.2.2 -ip4:192.0.2.3 -ip4:192.0.2.4 -ip4:192.0.2.5 -all exp=%{i}.why.example.com'
	record 192.0.2.1.why.example.com "$long"
	record 192.0.2.2.why.example.com "${long:2}%{i}"
	record 192.0.2.3.why.example.com $'caf\xc3\xa9'
	record 192.0.2.4.why.example.com 'bad %{x}'
	record 192.0.2.5.why.example.com "${long:1}"
	record 192.0.2.6.why.example.com 'user %{l}'
	dnsd_run
	for ip in 192.0.2.1 192.0.2.2 192.0.2.3 192.0.2.4; do
		spf $ip
		[ "$result" = fail ]
		! grep -q '^exp:' <<<"$output" || false
	done
	spf 192.0.2.5
	grep -Fxq "exp: ${long:1}" <<<"$output"
	spf 192.0.2.6 $'a\x01b@example.com'
	[ "$result" = fail ]
	! grep -q '^exp:' <<<"$output" || false
}

@test "7.3: c, r, t outside an explanation are a permerror; in exp= too" {
	local t
	for t in 'a:%{c}.example.com' 'exists:%{r}.example.com' \
	    'exists:%{T}' 'redirect=%{t}.example.com' 'exp=%{c}.example.com'; do
		grep -v '^example.com TXT' "$ZONE" >"$ZONE.new"
		printf 'example.com TXT v=spf1 ip4:192.0.2.10 %s -all\n' "$t" \
		    >>"$ZONE.new"
		mv "$ZONE.new" "$ZONE"
		dnsd_stop
		rm -f "$TMP/dnsport"
		dnsd_run
		spf 192.0.2.10
		[ "$result" = permerror ] || { echo "not a permerror: $t"; return 1; }
	done
}

@test "4: spf_check_host() twice after one spf_init(): counters start afresh" {
	record example.com 'v=spf1 a:v1.example.net a:v2.example.net -all exp=why.example.com'
	record why.example.com 'no'
	dnsd_run
	run "$BATS_TEST_DIRNAME/spf_test" "$(cat "$TMP/dnsport")" -t 3000 \
	    -r x.example.org 192.0.2.1 joe@example.com mx.example.net \
	    example.com example.com
	printf '%s\n' "$output"
	[ "$status" -eq 0 ]
	[ "$(grep -c '^fail$' <<<"$output")" -eq 2 ]
	[ "$(grep -c '^terms=2 void=2$' <<<"$output")" -eq 2 ]
	[ "$(grep -c '^exp: no$' <<<"$output")" -eq 2 ]
}
