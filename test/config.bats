#!/usr/bin/env bats
# smtpd.conf(5): the syntax, smtpd -n, and what each keyword does to the
# dialogue and to the spool.  smtpd_setup's base file is three lines
# (hostname mx.test, spool, domain example.org), so an appended line is
# line 4.

load helper

setup() {
	smtpd_setup
}

# new_conf LINE... - a config with only the spool line and these lines,
# for the tests that need the base file's hostname or domain left out.
new_conf() {
	printf 'spool %s\n' "$SPOOL" >"$CONF"
	conf "$@"
}

# check_conf - smtpd -n on the test's config; messages in $output.
check_conf() {
	"$SMTPD" -n -f "$CONF" 2>&1
}

# rcpts ADDR... - HELO, MAIL, one RCPT per address, QUIT.  The RCPT
# replies are ${lines[3]} onwards.
rcpts() {
	local a args=("HELO client.test" "MAIL FROM:<sender@client.test>")

	for a; do
		args+=("RCPT TO:<$a>")
	done
	smtp "${args[@]}" "QUIT"
}

# send_to ADDR... - the same, then one message, then QUIT.
send_to() {
	local a args=("HELO client.test" "MAIL FROM:<sender@client.test>")

	for a; do
		args+=("RCPT TO:<$a>")
	done
	smtp "${args[@]}" "DATA" "Subject: test" "" "hello" "." "QUIT"
}

# delivered DOMAIN LOCAL - exactly one message in that maildir, and it is
# the one send_to sent.
delivered() {
	local f

	[ "$(count_messages "$1" "$2")" -eq 1 ]
	f=$(maildir_files "$1" "$2")
	[ "$(body_of "$f")" = "$(printf 'Subject: test\n\nhello')" ]
}

# not_delivered DOMAIN LOCAL - no maildir was even made for it.
not_delivered() {
	[ ! -e "$SPOOL/$1/$2" ]
}

# Syntax and smtpd -n

@test "smtpd -V prints its version on standard output and exits 0" {
	"$SMTPD" -V >"$TMP/out" 2>"$TMP/err"
	[[ "$(cat "$TMP/out")" =~ ^smtpd\ [0-9]+\.[0-9]+$ ]]
	[ ! -s "$TMP/err" ]
}

@test "a usage error exits 2 with the SYNOPSIS on standard error" {
	local args
	for args in "-x" "extra-arg" "-d extra-arg" "-f"; do
		rc=0
		"$SMTPD" $args >"$TMP/out" 2>"$TMP/err" || rc=$?
		echo "$args -> $rc: [$(cat "$TMP/out")] [$(cat "$TMP/err")]"
		[ "$rc" -eq 2 ]
		[ ! -s "$TMP/out" ]
		[ "$(tail -n 2 "$TMP/err")" = "usage: smtpd [-DdinVv] [-f file] [-p file]
       smtpd -w address [-c count] [-f file] [-s since] [-t seconds]" ]
	done
}

@test "-v logs every command, every reply and every change of state" {
	local conf want
	conf=$(run_conf)
	printf '%s\r\n' "EHLO c" "MAIL FROM:<a@b.example>" \
	    "RCPT TO:<x@elsewhere.test>" \
	    "RCPT TO:<u@example.org>" "DATA" "hi" "." "QUIT" >"$TMP/in"
	"$SMTPD" -i -d -v -f "$conf" <"$TMP/in" >/dev/null 2>"$LOG"
	# Each line is led by the session id; the message id varies.
	id=$(sed -n 's/.* event=accept id=\([^ ]*\) .*/\1/p' "$LOG")
	[ -n "$id" ]
	sed -E 's/^[0-9a-f]{12} //' "$LOG" | sed "s/$id/ID/" >"$TMP/got"
	cat >"$TMP/want" <<-'EOF'
	event=connect peer=unknown
	event=reply line="220 mx.test ESMTP smtpd"
	event=command line="EHLO c"
	event=state from=greeted to=ready
	event=reply line="250-mx.test Hello c"
	event=reply line="250-PIPELINING"
	event=reply line="250-SIZE 36700160"
	event=reply line="250-8BITMIME"
	event=reply line="250-SMTPUTF8"
	event=reply line="250-ENHANCEDSTATUSCODES"
	event=reply line="250 CHUNKING"
	event=command line="MAIL FROM:<a@b.example>"
	event=state from=ready to=mail
	event=reply line="250 2.1.0 Ok"
	event=command line="RCPT TO:<x@elsewhere.test>"
	event=reply line="550 5.7.1 <x@elsewhere.test>: Relay access denied"
	event=reject peer=unknown from="<a@b.example>" rcpt="<x@elsewhere.test>" reply="550 5.7.1 <x@elsewhere.test>: Relay access denied" command="RCPT TO:<x@elsewhere.test>"
	event=command line="RCPT TO:<u@example.org>"
	event=state from=mail to=rcpt
	event=reply line="250 2.1.5 Ok"
	event=command line="DATA"
	event=reply line="354 End data with <CR><LF>.<CR><LF>"
	event=accept id=ID peer=unknown helo="c" from="<a@b.example>" rcpts=1 size=4 rcpt="<u@example.org>"
	event=reply line="250 2.0.0 Ok: queued as ID"
	event=state from=rcpt to=ready
	event=command line="QUIT"
	event=reply line="221 2.0.0 mx.test closing connection"
	event=state from=ready to=quit
	event=disconnect messages=1 errors=1 junk=0
	EOF
	diff -u "$TMP/want" "$TMP/got"
	[ "$(grep -cE '^[0-9a-f]{12} ' "$LOG")" -eq "$(wc -l <"$LOG")" ]
	# Without -v, only the events.
	"$SMTPD" -i -d -f "$conf" <"$TMP/in" >/dev/null 2>"$LOG"
	[ "$(sed -E 's/^[0-9a-f]{12} event=([a-z]+) .*/\1/' "$LOG" |
	    tr '\n' ' ')" = "connect reject accept disconnect " ]
}

@test "-i under a proxy line reads no header and logs event=proxy-ignored" {
	conf "listen 127.0.0.1:2525 proxy"
	run smtp "PROXY TCP4 192.0.2.1 192.0.2.2 1234 25" QUIT
	[[ "${lines[1]}" == "500 5.5.2 "* ]]
	grep -q 'event=proxy-ignored' "$LOG"
}

@test "without -d, lines go to syslog, facility mail: info, warning and, with -v, debug" {
	local conf
	[ "$(id -u)" -eq 0 ] || skip "needs root for a mount namespace"
	command -v unshare >/dev/null || skip "unshare is not installed"
	unshare -m true 2>/dev/null || skip "cannot make a mount namespace here"
	conf "listen 127.0.0.1:2525 proxy"	# for a warning: proxy-ignored
	conf=$(run_conf)
	# A /dev of our own in a mount namespace: /dev/null, and a /dev/log
	# that test/logsink reads.
	mkdir "$TMP/dev"
	: >"$TMP/dev/null"
	"$BATS_TEST_DIRNAME/logsink" "$TMP/dev/log" 3 >"$TMP/syslog" 3>&- &
	wait_for test -S "$TMP/dev/log"
	printf 'EHLO c\r\nQUIT\r\n' |
	    unshare -m sh -c 'mount --bind /dev/null "$1/dev/null" &&
		mount --bind "$1/dev" /dev && exec "$2" -i -v -f "$3"' \
	    sh "$TMP" "$SMTPD" "$conf" >"$TMP/replies"
	[ "$(head -n 1 "$TMP/replies")" = $'220 mx.test ESMTP smtpd\r' ]
	[ ! -s "$LOG" ]
	wait
	cat "$TMP/syslog"
	# <facility * 8 + priority>: mail is 2; warning 4, info 6, debug 7.
	grep -Eq '^<20>.*smtpd\[[0-9]+\]: event=proxy-ignored ' "$TMP/syslog"
	grep -Eq '^<22>.*smtpd\[[0-9]+\]: [0-9a-f]{12} event=connect ' "$TMP/syslog"
	grep -Eq '^<23>.*smtpd\[[0-9]+\]: [0-9a-f]{12} event=command line="EHLO c"$' "$TMP/syslog"
	grep -Eq '^<22>.*smtpd\[[0-9]+\]: [0-9a-f]{12} event=disconnect ' "$TMP/syslog"
}

@test "smtpd -n prints configuration OK and exits 0" {
	run check_conf
	[ "$status" -eq 0 ]
	[ "$output" = "configuration OK" ]
}

@test "blank lines and comments are ignored; # starts a comment only at the start of a word" {
	conf "" "   " "# hostname evil.test" "	# mailbox evil" \
	    "mailbox	bob   # a comment, not a second value" "mailbox al#ice"
	run check_conf
	[ "$status" -eq 0 ]
	[ "$output" = "configuration OK" ]
	run rcpts "bob@example.org" "al#ice@example.org" "al@example.org" \
	    "evil@example.org"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "220 mx.test ESMTP smtpd" ]
	[ "${lines[3]}" = "250 2.1.5 Ok" ]
	[ "${lines[4]}" = "250 2.1.5 Ok" ]
	[[ "${lines[5]}" == "550 5.1.1 "* ]]
	[[ "${lines[6]}" == "550 5.1.1 "* ]]
}

@test "a missing config file is an error: exit 1, for -n and for the daemon" {
	run "$SMTPD" -n -f "$TMP/no-such.conf"
	[ "$status" -eq 1 ]
	[ "$output" = "event=conf-error file=$TMP/no-such.conf error=\"No such file or directory\"" ]
	run timeout 5 "$SMTPD" -d -f "$TMP/no-such.conf"
	[ "$status" -eq 1 ]
	[ "$output" = "event=conf-error file=$TMP/no-such.conf error=\"No such file or directory\"" ]
}

@test "smtpd -n checks the file only: not the user, not the listen addresses" {
	conf "user no-such-user-here" "listen 192.0.2.1:25" "listen [2001:db8::1]:25"
	"$SMTPD" -n -f "$CONF" >"$TMP/out" 2>"$TMP/err"
	[ ! -s "$TMP/out" ]
	[ "$(cat "$TMP/err")" = "configuration OK" ]
}

@test "an unknown keyword is rejected with the file, the line and the message" {
	conf "relayhost mx.example.net"
	run check_conf
	[ "$status" -eq 1 ]
	[ "$output" = "event=conf-error file=$CONF line=4 reason=\"unknown keyword: relayhost\"" ]
}

@test "keywords are lowercase; host names and domains are lowercased when read" {
	conf "HOSTNAME other.test"
	run check_conf
	[ "$status" -eq 1 ]
	[ "$output" = "event=conf-error file=$CONF line=4 reason=\"unknown keyword: HOSTNAME\"" ]
	new_conf "hostname MX.Example.ORG" "domain Example.NET"
	run send_to "u@example.net"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "220 mx.example.org ESMTP smtpd" ]
	[ "${lines[3]}" = "250 2.1.5 Ok" ]
	delivered example.net u
	[ "$(ls "$SPOOL")" = example.net ]
}

@test "a wrong number of values is rejected with the line number" {
	conf "alias onlyone" "hostname a.test b.test" "spool"
	run check_conf
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 3 ]
	[[ "${lines[0]}" == "event=conf-error file=$CONF line=4 reason=\"alias "* ]]
	[[ "${lines[1]}" == "event=conf-error file=$CONF line=5 reason=\"hostname "* ]]
	[[ "${lines[2]}" == "event=conf-error file=$CONF line=6 reason=\"spool "* ]]
}

# refused LINE... - each line alone after the test's three is refused by
# smtpd -n with one error, event=conf-error file=FILE line=4
# reason="KEYWORD: ...", and exit 1.
refused() {
	local bad

	for bad in "$@"; do
		smtpd_setup
		conf "$bad"
		run check_conf
		echo "$bad -> $status: $output"
		[ "$status" -eq 1 ] || return 1
		[ "${#lines[@]}" -eq 1 ] || return 1
		[[ "$output" == "event=conf-error file=$CONF line=4 reason=\"${bad%% *}: "* ]] ||
		    return 1
	done
}

@test "bad values are rejected with the line number" {
	refused "max-message-size 10X" "max-recipients 0" "timeout -1" \
	    "data-timeout 5d" "max-errors x" "domain bad..name" \
	    "mailbox a/b" "alias a@ b"
}

@test "the pool's limits and deadlines refuse values out of range" {
	refused "min-data-rate 0" "min-data-rate 2G" "greet-pause 61" \
	    "greet-pause 2m" "max-per-address 1025" "max-junk-commands -1" \
	    "session-timeout 0" "stress-timeout 2d"
	smtpd_setup
	conf "min-data-rate 1K" "greet-pause 0" "greet-pause 60s" \
	    "max-per-address 0" "max-junk-commands 0" "session-timeout 1h" \
	    "stress-timeout 5"
	run check_conf
	[ "$status" -eq 0 ]
}

@test "each count takes the range smtpd.conf(5) gives, and no more" {
	refused "max-recipients 100001" "max-errors 0" "max-errors 10001" \
	    "max-junk-commands 1000000001" "workers 0" "workers 1025" \
	    "max-per-address -1" "max-sessions 1000000001" \
	    "max-sessions -1" "proxy-timeout 0" "proxy-timeout 86401" \
	    "session-timeout 86401" "stress-timeout 0" "greet-pause -1" \
	    "max-message-size 10k" "min-data-rate 1k"
	smtpd_setup
	conf "max-recipients 1" "max-recipients 100000" "max-errors 1" \
	    "max-errors 10000" "max-junk-commands 1000000000" "workers 1" \
	    "workers 1024" "max-per-address 1024" "max-sessions 0" \
	    "max-sessions 1000000000" "proxy-timeout 1" "proxy-timeout 24h" \
	    "session-timeout 24h" "stress-timeout 24h" "greet-pause 1m" \
	    "min-data-rate 1" "min-data-rate 1G" "max-message-size 1G"
	run check_conf
	[ "$status" -eq 0 ]
	[ "$output" = "configuration OK" ]
}

@test "every error in the file is reported in one run" {
	conf "frobnicate yes" "max-recipients 2" "timeout -1" "domain ok.test" \
	    "domain bad..name"
	run check_conf
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 3 ]
	[[ "${lines[0]}" == "event=conf-error file=$CONF line=4 reason=\""* ]]
	[[ "${lines[1]}" == "event=conf-error file=$CONF line=6 reason=\""* ]]
	[[ "${lines[2]}" == "event=conf-error file=$CONF line=8 reason=\""* ]]
}

@test "smtpd -i with a bad config exits 1 without a greeting" {
	conf "max-recipients 0"
	run smtp "QUIT"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	# The session may run from a copy of $CONF (see run_conf): the line
	# number is the test's own either way.
	grep -q "^event=conf-error file=.*\.conf line=4 reason=\"max-recipients: " "$LOG"
}

@test "a keyword that takes one value and appears twice keeps the last value" {
	conf "hostname first.test" "max-message-size 1K" \
	    "hostname second.test" "max-message-size 2K"
	run smtp "EHLO client.test" "QUIT"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "220 second.test ESMTP smtpd" ]
	[[ "$output" == *"250-SIZE 2048"* ]]
}

# hostname, domain, mailbox, alias

@test "hostname is in the 220 greeting and the EHLO reply" {
	new_conf "hostname relay.example.net" "domain example.org"
	run smtp "EHLO client.test" "QUIT"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "220 relay.example.net ESMTP smtpd" ]
	[ "${lines[1]}" = "250-relay.example.net Hello client.test" ]
}

@test "without a hostname line the name is the system's host name" {
	local want
	new_conf "domain example.org"
	want=$(hostname | tr 'A-Z' 'a-z')
	[[ "$want" =~ ^[a-z0-9-]+(\.[a-z0-9-]+)*$ ]] || want=localhost
	run smtp "QUIT"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "220 $want ESMTP smtpd" ]
}

@test "without a hostname line and with a host name that is not valid, localhost" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to set a host name"
	command -v unshare >/dev/null || skip "unshare is not installed"
	unshare -u true 2>/dev/null || skip "cannot make a UTS namespace here"
	new_conf "domain example.org"
	c=$(run_conf)
	printf 'QUIT\r\n' >"$TMP/in"
	# hostname(1) refuses an underscore; the kernel takes it.
	run unshare -u sh -c \
	    'echo bad_name >/proc/sys/kernel/hostname && exec "$1" -i -f "$2" <"$3"' \
	    sh "$SMTPD" "$c" "$TMP/in"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = $'220 localhost ESMTP smtpd\r' ]
}

@test "a relative spool is relative to the directory smtpd starts in" {
	new_conf "hostname mx.test" "domain example.org"
	sed -i 's|^spool .*|spool rel-spool|' "$CONF"
	mkdir "$TMP/wd"
	cd "$TMP/wd"
	SPOOL=$TMP/wd/rel-spool
	run send_to "u@example.org"
	[ "$status" -eq 0 ]
	delivered example.org u
	[ "$(stat -c %a "$SPOOL")" = 700 ]
}

@test "domain: listed domains are accepted, any other is 550 5.7.1" {
	conf "domain example.net"
	run send_to "u@example.org" "v@example.net" "w@elsewhere.test"
	[ "$status" -eq 0 ]
	[ "${lines[3]}" = "250 2.1.5 Ok" ]
	[ "${lines[4]}" = "250 2.1.5 Ok" ]
	[ "${lines[5]}" = "550 5.7.1 <w@elsewhere.test>: Relay access denied" ]
	[[ "$output" == *"250 2.0.0 Ok: queued as "* ]]
	delivered example.org u
	delivered example.net v
	not_delivered elsewhere.test w
}

@test "domain * accepts any domain" {
	new_conf "hostname mx.test" "domain *"
	run send_to "u@anything.test"
	[ "$status" -eq 0 ]
	[ "${lines[3]}" = "250 2.1.5 Ok" ]
	delivered anything.test u
}

@test "with no domain line the hostname is the one domain" {
	new_conf "hostname mx.test"
	run send_to "u@mx.test" "v@example.org"
	[ "$status" -eq 0 ]
	[ "${lines[3]}" = "250 2.1.5 Ok" ]
	[[ "${lines[4]}" == "550 5.7.1 "* ]]
	delivered mx.test u
	not_delivered example.org v
}

@test "mailbox: an unlisted local part is 550 5.1.1" {
	conf "mailbox alice" "mailbox Carol"
	run send_to "alice@example.org" "bob@example.org" "carol@example.org"
	[ "$status" -eq 0 ]
	[ "${lines[3]}" = "250 2.1.5 Ok" ]
	[ "${lines[4]}" = "550 5.1.1 <bob@example.org>: User unknown" ]
	[ "${lines[5]}" = "250 2.1.5 Ok" ]
	delivered example.org alice
	delivered example.org carol
	not_delivered example.org bob
}

@test "mailbox local@domain is known in that domain only" {
	conf "domain example.net" "mailbox alice@example.org" "mailbox bob"
	run rcpts "alice@example.org" "alice@example.net" "bob@example.net"
	[ "$status" -eq 0 ]
	[ "${lines[3]}" = "250 2.1.5 Ok" ]
	[[ "${lines[4]}" == "550 5.1.1 "* ]]
	[ "${lines[5]}" = "250 2.1.5 Ok" ]
}

@test "a quoted local part holding @ does not match a local@domain entry" {
	conf "domain example.net" "mailbox alice@example.org" "mailbox bob" \
	    "alias info@example.org bob"
	run rcpts '"alice@example.org"@example.net' \
	    '"info@example.org"@example.net'
	[ "$status" -eq 0 ]
	[[ "${lines[3]}" == "550 5.1.1 "* ]]
	[[ "${lines[4]}" == "550 5.1.1 "* ]]
}

@test "postmaster is always known, even with mailbox lines" {
	conf "mailbox alice"
	run send_to "postmaster@example.org" "bob@example.org"
	[ "$status" -eq 0 ]
	[ "${lines[3]}" = "250 2.1.5 Ok" ]
	[[ "${lines[4]}" == "550 5.1.1 "* ]]
	delivered example.org postmaster
}

@test "alias: mail to FROM lands in TO's maildir, local or local@domain" {
	conf "domain example.net" "alias sales bob" \
	    "alias info carol@example.net"
	run send_to "sales@example.org" "info@example.org"
	[ "$status" -eq 0 ]
	[ "${lines[3]}" = "250 2.1.5 Ok" ]
	[ "${lines[4]}" = "250 2.1.5 Ok" ]
	[[ "$output" == *"250 2.0.0 Ok: queued as "* ]]
	delivered example.org bob
	delivered example.net carol
	not_delivered example.org sales
	not_delivered example.org info
}

@test "alias: an address entry beats a bare local-part entry" {
	conf "domain example.net" \
	    "alias info carol" "alias info@example.org bob" \
	    "alias sales@example.org dave" "alias sales erin"
	run send_to "info@example.org" "sales@example.org" "info@example.net"
	[ "$status" -eq 0 ]
	[[ "$output" == *"250 2.0.0 Ok: queued as "* ]]
	delivered example.org bob
	delivered example.org dave
	delivered example.net carol
	not_delivered example.org carol
	not_delivered example.org erin
}

@test "alias: one level only, a target is not looked up again" {
	conf "alias a b" "alias b c"
	run send_to "a@example.org"
	[ "$status" -eq 0 ]
	[[ "$output" == *"250 2.0.0 Ok: queued as "* ]]
	delivered example.org b
	not_delivered example.org c
}

@test "RCPT TO:<postmaster> goes to postmaster of the first domain" {
	conf "domain example.net"
	run send_to "postmaster"
	[ "$status" -eq 0 ]
	[ "${lines[3]}" = "250 2.1.5 Ok" ]
	delivered example.org postmaster
	not_delivered example.net postmaster
	not_delivered mx.test postmaster
}

@test "RCPT TO:<postmaster> goes to the hostname when the first domain is *" {
	new_conf "hostname mx.test" "domain *" "domain example.org"
	run send_to "postmaster"
	[ "$status" -eq 0 ]
	[ "${lines[3]}" = "250 2.1.5 Ok" ]
	delivered mx.test postmaster
	not_delivered example.org postmaster
}

# Limits

@test "max-message-size: K, M and G are 1024 multiples, advertised as SIZE" {
	local v want

	for v in 10:10 7K:7168 3M:3145728 2G:2147483648; do
		smtpd_setup
		conf "max-message-size ${v%%:*}"
		run smtp "EHLO client.test" "QUIT"
		want="250-SIZE ${v##*:}"
		echo "$v -> $output"
		[ "$status" -eq 0 ]
		[ "$(reply_count 250-SIZE)" -eq 1 ]
		printf '%s\n' "$output" | grep -qx -- "$want"
	done
}

@test "max-message-size: a larger DATA body is 552 5.3.4 and nothing is stored" {
	local line over=() exact=() _

	# 16 lines of 62 octets and CRLF are 1024 octets: 1K exactly.
	line=$(printf '%062d' 0)
	for _ in $(seq 16); do
		exact+=("$line")
		over+=("$line")
	done
	over[0]="x$line"
	conf "max-message-size 1K"
	run smtp "EHLO client.test" "MAIL FROM:<a@client.test>" \
	    "RCPT TO:<u@example.org>" "DATA" "${over[@]}" "." \
	    "MAIL FROM:<a@client.test>" "RCPT TO:<v@example.org>" "DATA" \
	    "${exact[@]}" "." "QUIT"
	[ "$status" -eq 0 ]
	[[ "$output" == *"552 5.3.4 "* ]]
	[ "$(reply_count 552)" -eq 1 ]
	[ "$(reply_count 421)" -eq 0 ]
	[[ "$output" == *"250 2.0.0 Ok: queued as "* ]]
	[ -z "$(find "$SPOOL/example.org/u/tmp" "$SPOOL/example.org/u/new" \
	    -type f 2>/dev/null)" ]
	[ "$(count_messages example.org v)" -eq 1 ]
	[ "$(tail -n 16 "$(maildir_files example.org v)")" = \
	    "$(printf '%s\n' "${exact[@]}")" ]
}

@test "max-recipients: the next RCPT is 452 4.5.3" {
	conf "max-recipients 2"
	run send_to "a@example.org" "b@example.org" "c@example.org"
	[ "$status" -eq 0 ]
	[ "${lines[3]}" = "250 2.1.5 Ok" ]
	[ "${lines[4]}" = "250 2.1.5 Ok" ]
	[[ "${lines[5]}" == "452 4.5.3 "* ]]
	[[ "$output" == *"250 2.0.0 Ok: queued as "* ]]
	delivered example.org a
	delivered example.org b
	not_delivered example.org c
}

@test "max-errors: every 5xx counts; once reached, 421 4.7.0 and close" {
	conf "max-errors 2"
	run smtp "HELO client.test" "FROB" "MAIL FROM:<a@client.test>" \
	    "RCPT TO:<u@elsewhere.test>" "NOOP" "QUIT"
	[ "$status" -eq 0 ]
	[[ "${lines[2]}" == "500 5.5.2 "* ]]
	[ "${lines[3]}" = "250 2.1.0 Ok" ]
	[[ "${lines[4]}" == "550 5.7.1 "* ]]
	[[ "${lines[5]}" == "421 4.7.0 mx.test "* ]]
	[ "${#lines[@]}" -eq 6 ]
}

@test "timeout and data-timeout take seconds with an s, m or h suffix" {
	local k
	# At most a day: 86400 seconds, 1440 minutes, 24 hours.  A wrong
	# multiplier would move one of these across the limit.
	for k in timeout data-timeout; do
		refused "$k 86401s" "$k 1441m" "$k 25h" "$k 86401"
		smtpd_setup
		conf "$k 86400s" "$k 1440m" "$k 24h" "$k 86400" "$k 1s"
		run check_conf
		[ "$status" -eq 0 ]
		[ "$output" = "configuration OK" ]
	done
}

@test "alias: of two lines for the same address, the last wins" {
	conf "alias info carol" "alias info dave" \
	    "alias sales@example.org erin" "alias sales@example.org frank"
	run smtp "EHLO c" "MAIL FROM:<a@b.example>" "RCPT TO:<info@example.org>" \
	    "RCPT TO:<sales@example.org>" "DATA" "x" "." "QUIT"
	[ "$status" -eq 0 ]
	[[ "$output" == *"250 2.0.0 Ok: queued"* ]]
	[ "$(count_messages example.org dave)" -eq 1 ]
	[ "$(count_messages example.org frank)" -eq 1 ]
	[ ! -e "$SPOOL/example.org/carol" ]
	[ ! -e "$SPOOL/example.org/erin" ]
}
