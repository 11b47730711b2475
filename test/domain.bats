#!/usr/bin/env bats
# One's own domain: internationalised names (a U-label and its A-label
# are one domain, stored under the A-label), the catch-all (alias
# @domain) and subaddressing (recipient-delimiter), each checked in the
# real spool after an inetd-mode session.  smtpd.conf(5), "Recipients",
# gives the order these tests follow.

load helper

# The same domain as a U-label and as its A-label (RFC 3492's example).
U=$'b\xc3\xbccher.example'
A=xn--bcher-kva.example

setup() {
	smtpd_setup
	# smtpd_setup's domain example.org stays; each test adds its own.
}

# send MAILPARAM ADDR... - EHLO, MAIL FROM with MAILPARAM ("" or
# " SMTPUTF8"), one RCPT per address, one message, QUIT.  The RCPT
# replies are ${lines[9]} onwards (EHLO takes seven lines).
send() {
	local param=$1 a args
	shift
	args=("EHLO client.test" "MAIL FROM:<sender@client.test>$param")
	for a; do
		args+=("RCPT TO:<$a>")
	done
	smtp "${args[@]}" "DATA" "Subject: t" "" "hi" "." "QUIT"
}

# stored D U - exactly one message in SPOOL/D/U/new.
stored() {
	[ "$(count_messages "$1" "$2")" -eq 1 ]
}

# check_conf - smtpd -n on the test's config; messages in $output.
check_conf() {
	"$SMTPD" -n -f "$CONF" 2>&1
}

# --- IDN ---------------------------------------------------------------

@test "a U-label domain in the config takes RCPT in its U-label form" {
	conf "domain $U"
	run send " SMTPUTF8" "u@$U"
	[ "$status" -eq 0 ]
	[ "${lines[9]}" = "250 2.1.5 Ok" ]
	[ -n "$(queued_id)" ]
	stored "$A" u
	[ "$(ls "$SPOOL")" = "$A" ]
}

@test "a U-label domain in the config takes RCPT in its A-label form" {
	conf "domain $U"
	run send "" "u@XN--BCHER-KVA.Example"
	[ "$status" -eq 0 ]
	[ "${lines[9]}" = "250 2.1.5 Ok" ]
	stored "$A" u
	[ "$(ls "$SPOOL")" = "$A" ]
}

@test "an A-label domain in the config takes RCPT in its U-label form" {
	conf "domain XN--Bcher-KVA.example"
	run send " SMTPUTF8" "u@$U"
	[ "$status" -eq 0 ]
	[ "${lines[9]}" = "250 2.1.5 Ok" ]
	stored "$A" u
	[ "$(ls "$SPOOL")" = "$A" ]
}

@test "an A-label domain in the config takes RCPT in its A-label form" {
	conf "domain $A"
	run send "" "u@$A"
	[ "$status" -eq 0 ]
	[ "${lines[9]}" = "250 2.1.5 Ok" ]
	stored "$A" u
}

@test "without SMTPUTF8 a U-label RCPT is refused, the A-label taken" {
	conf "domain $A"
	run send "" "u@$U" "v@$A"
	[ "$status" -eq 0 ]
	[[ "${lines[9]}" == "553 5.6.7 "* ]]
	[ "${lines[10]}" = "250 2.1.5 Ok" ]
	[ "$(count_messages "$A" u)" -eq 0 ]
	stored "$A" v
}

@test "mailbox and alias lines match whichever form they and the RCPT use" {
	conf "domain $A" "mailbox bob@$U" "alias info@$A bob@$U"
	run send " SMTPUTF8" "bob@$A" "info@$U" "carol@$A"
	[ "$status" -eq 0 ]
	[ "${lines[9]}" = "250 2.1.5 Ok" ]
	[ "${lines[10]}" = "250 2.1.5 Ok" ]
	[[ "${lines[11]}" == "550 5.1.1 "* ]]
	# One message for bob, named twice: one copy.
	stored "$A" bob
	[ "$(ls "$SPOOL/$A")" = bob ]
}

@test "an xn-- label that is no A-label is a bad address, not a domain" {
	conf "domain $A"
	local bad
	for bad in xn--99999a.example xn--abc-.example xn--bcher-kva-.example
	do
		run send "" "u@$bad"
		echo "$bad: ${lines[9]}"
		[ "$status" -eq 0 ]
		[ "${lines[9]}" = "501 5.1.3 Bad recipient address syntax" ]
	done
	[ ! -e "$SPOOL" ] || [ -z "$(find "$SPOOL" -type f)" ]
}

@test "the config refuses a bad xn-- label and an over-long label" {
	conf "domain xn--99999a.example" \
	    "domain $(printf 'd%.0s' {1..64}).example" \
	    "mailbox u@xn--abc-.example" "alias @xn--abc-.example u" \
	    "hostname xn--abc-.example"
	run check_conf
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 5 ]
	[ "${lines[0]}" = "event=conf-error file=$CONF line=4 reason=\"domain: not a valid domain name\"" ]
	[ "${lines[1]}" = "event=conf-error file=$CONF line=5 reason=\"domain: not a valid domain name\"" ]
	[[ "${lines[2]}" == "event=conf-error file=$CONF line=6 reason=\"mailbox: "* ]]
	[[ "${lines[3]}" == "event=conf-error file=$CONF line=7 reason=\"alias: "* ]]
	[ "${lines[4]}" = "event=conf-error file=$CONF line=8 reason=\"hostname: not a valid host name\"" ]
}

@test "an A-label in capitals is the domain; a trailing dot is refused" {
	conf "domain $A"
	run send "" "u@XN--BCHER-KVA.EXAMPLE" "v@Xn--Bcher-Kva.Example" \
	    "w@$A." "x@example.org."
	[ "$status" -eq 0 ]
	[ "${lines[9]}" = "250 2.1.5 Ok" ]
	[ "${lines[10]}" = "250 2.1.5 Ok" ]
	[ "${lines[11]}" = "501 5.1.3 Bad recipient address syntax" ]
	[ "${lines[12]}" = "501 5.1.3 Bad recipient address syntax" ]
	stored "$A" u
	stored "$A" v
	[ "$(ls "$SPOOL")" = "$A" ]
}

@test "the config refuses a trailing dot and an A-label that decodes badly" {
	conf "domain example.net." "hostname mx.example.net." \
	    "alias @example.org. bob" "domain xn--a.example" \
	    "domain xn--ab---3ra.example"
	run check_conf
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 5 ]
	[ "${lines[0]}" = "event=conf-error file=$CONF line=4 reason=\"domain: not a valid domain name\"" ]
	[ "${lines[1]}" = "event=conf-error file=$CONF line=5 reason=\"hostname: not a valid host name\"" ]
	[[ "${lines[2]}" == "event=conf-error file=$CONF line=6 reason=\"alias: "* ]]
	[ "${lines[3]}" = "event=conf-error file=$CONF line=7 reason=\"domain: not a valid domain name\"" ]
	[ "${lines[4]}" = "event=conf-error file=$CONF line=8 reason=\"domain: not a valid domain name\"" ]
}

@test "limits count the A-label: a short U-label can be too long" {
	# 15 code points past U+FFFF: 60 octets, 64 as an A-label.
	local long=$'\xf0\xba\x80\x80\xf0\xb7\x80\x80\xf0\xb4\x80\x80\xf0\xb1\x80\x80\xf0\xae\x80\x80\xf0\xab\x80\x80\xf0\xa8\x80\x80\xf0\xa5\x80\x80\xf0\xa2\x80\x80\xf0\x9f\x80\x80\xf0\x9c\x80\x80\xf0\x99\x80\x80\xf0\x96\x80\x80\xf0\x93\x80\x80\xf0\x90\x80\x80'
	[ "$(printf %s "$long" | wc -c)" -eq 60 ]
	conf "domain *"
	run send " SMTPUTF8" "u@$long.example" "v@$U"
	[ "$status" -eq 0 ]
	[ "${lines[9]}" = "501 5.1.3 Bad recipient address syntax" ]
	[ "${lines[10]}" = "250 2.1.5 Ok" ]
	[ "$(ls "$SPOOL")" = "$A" ]
	# The config says the same.
	smtpd_setup
	conf "domain $long.example"
	run check_conf
	[ "$status" -eq 1 ]
	[[ "$output" == *"reason=\"domain: not a valid domain name\""* ]]
}

@test "a U-label hostname is greeted with as its A-label" {
	conf "hostname mx.$U"
	run smtp "QUIT"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "220 mx.$A ESMTP smtpd" ]
}

@test "non-ASCII local parts are kept octet for octet: NFC and NFD differ" {
	local nfc=$'j\xc3\xbcrgen' nfd=$'ju\xcc\x88rgen'
	conf "domain $A"
	run send " SMTPUTF8" "$nfc@$U" "$nfd@$U"
	[ "$status" -eq 0 ]
	[ "${lines[9]}" = "250 2.1.5 Ok" ]
	[ "${lines[10]}" = "250 2.1.5 Ok" ]
	stored "$A" "$nfc"
	stored "$A" "$nfd"
}

# --- catch-all ---------------------------------------------------------

@test "a catch-all takes every local part no mailbox line names" {
	conf "mailbox alice" "alias @example.org bob"
	run send "" "nobody-known@example.org" "x@example.org"
	[ "$status" -eq 0 ]
	[ "${lines[9]}" = "250 2.1.5 Ok" ]
	[ "${lines[10]}" = "250 2.1.5 Ok" ]
	stored example.org bob
	[ "$(ls "$SPOOL/example.org")" = bob ]
}

@test "a catch-all does not take a known mailbox, an alias or postmaster" {
	conf "mailbox alice" "alias info carol" "alias @example.org bob"
	run send "" "alice@example.org" "info@example.org" \
	    "postmaster@example.org"
	[ "$status" -eq 0 ]
	[ "${lines[9]}" = "250 2.1.5 Ok" ]
	[ "${lines[10]}" = "250 2.1.5 Ok" ]
	[ "${lines[11]}" = "250 2.1.5 Ok" ]
	stored example.org alice
	stored example.org carol
	stored example.org postmaster
	[ ! -e "$SPOOL/example.org/bob" ]
}

@test "a catch-all whose target is an alias, and an alias loop: one level" {
	conf "mailbox alice" "alias @example.org info" "alias info bob" \
	    "alias x y" "alias y x"
	run send "" "someone@example.org" "info@example.org" "x@example.org" \
	    "y@example.org"
	[ "$status" -eq 0 ]
	[ "${lines[9]}" = "250 2.1.5 Ok" ]
	[ "${lines[12]}" = "250 2.1.5 Ok" ]
	# smtpd.conf(5): a target is not looked up again.
	stored example.org info
	stored example.org bob
	stored example.org y
	stored example.org x
}

@test "postmaster, tagged or bare, is not taken by a catch-all" {
	conf "recipient-delimiter +" "mailbox alice" "alias @example.org bob"
	run smtp "HELO client.test" "MAIL FROM:<s@client.test>" \
	    "RCPT TO:<postmaster+x@example.org>" "RCPT TO:<Postmaster>" \
	    "DATA" "Subject: t" "" "hi" "." "QUIT"
	[ "$status" -eq 0 ]
	[ "${lines[3]}" = "250 2.1.5 Ok" ]
	[ "${lines[4]}" = "250 2.1.5 Ok" ]
	[ "$(count_messages example.org postmaster)" -eq 1 ]
	[ ! -e "$SPOOL/example.org/bob" ]
}

@test "without mailbox lines a catch-all takes all the domain's mail" {
	conf "domain other.test" "alias @example.org bob" "alias x dave"
	run send "" "alice@example.org" "x@example.org" "alice@other.test"
	[ "$status" -eq 0 ]
	[ "${lines[9]}" = "250 2.1.5 Ok" ]
	stored example.org bob
	stored example.org dave
	# Another domain keeps its own mailboxes.
	stored other.test alice
}

@test "a catch-all is per domain, and its target may name another domain" {
	conf "domain other.test" "mailbox alice" \
	    "alias @example.org bob@other.test"
	run send "" "x@example.org" "x@other.test"
	[ "$status" -eq 0 ]
	[ "${lines[9]}" = "250 2.1.5 Ok" ]
	[ "${lines[10]}" = "550 5.1.1 <x@other.test>: User unknown" ]
	stored other.test bob
	[ ! -e "$SPOOL/example.org" ]
}

@test "a catch-all in a U-label domain, written either way" {
	conf "domain $A" "mailbox alice" "alias @$U bob"
	run send "" "x@$A"
	[ "$status" -eq 0 ]
	[ "${lines[9]}" = "250 2.1.5 Ok" ]
	stored "$A" bob
}

# --- recipient-delimiter -------------------------------------------------

@test "bob+shop is delivered to bob's inbox" {
	conf "recipient-delimiter +"
	run send "" "bob+shop@example.org"
	[ "$status" -eq 0 ]
	[ "${lines[9]}" = "250 2.1.5 Ok" ]
	stored example.org bob
	[ "$(ls "$SPOOL/example.org")" = bob ]
}

@test "without recipient-delimiter bob+shop is a mailbox of its own" {
	run send "" "bob+shop@example.org"
	[ "$status" -eq 0 ]
	stored example.org bob+shop
}

@test "bob+shop goes into bob's folder .shop when bob has one" {
	conf "recipient-delimiter +"
	mkdir -p "$SPOOL/example.org/bob/.shop/"{tmp,new,cur} \
	    "$SPOOL/example.org/bob/"{tmp,new,cur}
	run send "" "bob+shop@example.org" "bob+SHOP@example.org" \
	    "bob+other@example.org"
	[ "$status" -eq 0 ]
	[ "${lines[9]}" = "250 2.1.5 Ok" ]
	# One copy in the folder (the tag is lowercased), one in the inbox.
	stored example.org bob/.shop
	stored example.org bob
	# The accept line names the folder after the mailbox, and the
	# addresses as written.
	grep -q ' rcpt="<bob@example.org>" folder="shop" rcpt-as="<bob+shop@example.org>" rcpt="<bob@example.org>" folder="shop" rcpt-as="<bob+SHOP@example.org>" rcpt="<bob@example.org>" rcpt-as="<bob+other@example.org>"$' "$LOG"
}

@test "a tag that cannot name a folder by itself goes to the inbox" {
	conf "recipient-delimiter +"
	mkdir -p "$SPOOL/example.org/bob/.a.b/"{tmp,new,cur} \
	    "$SPOOL/example.org/bob/.half/"{tmp,new}
	run send "" "bob+a.b@example.org"
	[ "$status" -eq 0 ]
	stored example.org bob
	[ "$(count_messages example.org bob/.a.b)" -eq 0 ]
	# A folder without cur/ is no Maildir folder.
	run send "" "bob+half@example.org"
	[ "$status" -eq 0 ]
	[ "$(count_messages example.org bob)" -eq 2 ]
	[ "$(count_messages example.org bob/.half)" -eq 0 ]
}

@test "a tag cannot leave the mailbox: dots, slashes, a leading dot" {
	local box=$SPOOL/example.org/bob
	conf "recipient-delimiter +"
	# Where each tag would land if it were pasted into the path.
	mkdir -p "$box/"{tmp,new,cur} "$box/..hidden/"{tmp,new,cur} \
	    "$box/x/"{tmp,new,cur} "$box/.../x/"{tmp,new,cur} \
	    "$SPOOL/example.org/x/"{tmp,new,cur}
	run send "" "bob+.hidden@example.org" '"bob+/x"@example.org' \
	    '"bob+../x"@example.org' '"bob+../../x"@example.org' \
	    '"bob+"@example.org'
	[ "$status" -eq 0 ]
	local i
	for i in 9 10 11 12 13; do
		[ "${lines[$i]}" = "250 2.1.5 Ok" ]
	done
	# One message, five names: one copy in bob's inbox, none elsewhere.
	stored example.org bob
	[ "$(find "$SPOOL" -path "*/new/*" -type f | wc -l)" -eq 1 ]
}

@test "a NUL inside a tag ends nothing early: the command is refused whole" {
	conf "recipient-delimiter +"
	mkdir -p "$SPOOL/example.org/bob/"{tmp,new,cur}
	printf '%s\r\n' "HELO client.test" "MAIL FROM:<s@client.test>" \
	    >"$TMP/in"
	printf 'RCPT TO:<bob+a\0/../x@example.org>\r\nQUIT\r\n' >>"$TMP/in"
	run smtpd_pipe <"$TMP/in"
	[ "$status" -eq 0 ]
	[ "${lines[3]}" = "500 5.5.2 NUL character in command" ]
	[ -z "$(find "$SPOOL" -path "*/new/*" -type f)" ]
}

@test "a long tag and a tag in capitals are lowercased, and may name a folder" {
	local t
	t=$(printf 't%.0s' {1..59})
	conf "recipient-delimiter +"
	mkdir -p "$SPOOL/example.org/bob/"{tmp,new,cur} \
	    "$SPOOL/example.org/bob/.$t/"{tmp,new,cur} \
	    "$SPOOL/example.org/bob/.Shop/"{tmp,new,cur}
	run send "" "bob+${t^^}@example.org"
	[ "$status" -eq 0 ]
	[ "${lines[9]}" = "250 2.1.5 Ok" ]
	stored example.org "bob/.$t"
	# A folder with capitals on disk is never one a tag names.
	run send "" "bob+Shop@example.org"
	[ "$status" -eq 0 ]
	stored example.org bob
	[ "$(count_messages example.org bob/.Shop)" -eq 0 ]
	# 64 octets is the most a local part has (RFC 5321 4.5.3.1.1).
	run send "" "bob+${t}xx@example.org"
	[ "$status" -eq 0 ]
	[ "${lines[9]}" = "501 5.1.3 Bad recipient address syntax" ]
}

@test "a UTF-8 local part splits at the delimiter and its tag names a folder" {
	local me=$'j\xc3\xbcrgen' tag=$'t\xc3\xa4g'
	conf "domain $A" "recipient-delimiter +" "mailbox $me"
	mkdir -p "$SPOOL/$A/$me/"{tmp,new,cur} "$SPOOL/$A/$me/.$tag/"{tmp,new,cur}
	run send " SMTPUTF8" "$me+$tag@$U" "$me+x@$A" "u+$tag@$A"
	[ "$status" -eq 0 ]
	[ "${lines[9]}" = "250 2.1.5 Ok" ]
	[ "${lines[10]}" = "250 2.1.5 Ok" ]
	[[ "${lines[11]}" == "550 5.1.1 "* ]]
	stored "$A" "$me/.$tag"
	stored "$A" "$me"
	# Without SMTPUTF8 the same address is refused before any lookup.
	run send "" "$me+$tag@$A"
	[ "$status" -eq 0 ]
	[[ "${lines[9]}" == "553 5.6.7 "* ]]
	stored "$A" "$me/.$tag"
}

@test "a folder that is a symbolic link is followed, as a maildir is" {
	local box=$SPOOL/example.org/bob
	conf "recipient-delimiter +"
	mkdir -p "$box/"{tmp,new,cur} "$box/.real/"{tmp,new,cur}
	ln -s .real "$box/.shop"
	run send "" "bob+shop@example.org"
	[ "$status" -eq 0 ]
	[ "${lines[9]}" = "250 2.1.5 Ok" ]
	stored example.org bob/.real
	[ "$(count_messages example.org bob)" -eq 0 ]
}

@test "with mailbox lines the mailbox check uses the part before the tag" {
	conf "recipient-delimiter +" "mailbox bob"
	run send "" "bob+x@example.org" "unknown+x@example.org" "+x@example.org"
	[ "$status" -eq 0 ]
	[ "${lines[9]}" = "250 2.1.5 Ok" ]
	[ "${lines[10]}" = "550 5.1.1 <unknown+x@example.org>: User unknown" ]
	[ "${lines[11]}" = "550 5.1.1 <+x@example.org>: User unknown" ]
	stored example.org bob
}

@test "the full address is looked up first, then without its tag" {
	conf "recipient-delimiter +" "mailbox bob" "mailbox bob+list" \
	    "alias bob+news carol" "alias dave erin"
	run send "" "bob+list@example.org" "bob+news@example.org" \
	    "dave+x@example.org"
	[ "$status" -eq 0 ]
	[ "${lines[9]}" = "250 2.1.5 Ok" ]
	stored example.org bob+list
	stored example.org carol
	stored example.org erin
	[ ! -e "$SPOOL/example.org/bob" ]
}

@test "the catch-all applies once the tag is stripped and nothing found" {
	conf "recipient-delimiter +" "mailbox bob" "alias @example.org catch"
	run send "" "bob+x@example.org" "unknown+x@example.org"
	[ "$status" -eq 0 ]
	[ "${lines[9]}" = "250 2.1.5 Ok" ]
	[ "${lines[10]}" = "250 2.1.5 Ok" ]
	stored example.org bob
	stored example.org catch
}

@test "several delimiter characters: the local part splits at the first" {
	conf "recipient-delimiter +-" "mailbox bob" "mailbox bob-a"
	run send "" "bob-x@example.org" "bob+y@example.org" \
	    "bob-a+z@example.org" "bob_x@example.org"
	[ "$status" -eq 0 ]
	[ "${lines[9]}" = "250 2.1.5 Ok" ]
	[ "${lines[10]}" = "250 2.1.5 Ok" ]
	# bob-a+z splits at '-': bob, not the mailbox bob-a.
	[ "${lines[11]}" = "250 2.1.5 Ok" ]
	[ "${lines[12]}" = "550 5.1.1 <bob_x@example.org>: User unknown" ]
	stored example.org bob
	[ ! -e "$SPOOL/example.org/bob-a" ]
}

@test "recipient-delimiter refuses letters, dots, slashes and repeats" {
	local bad
	for bad in a . / "++" "+@" '+"'; do
		smtpd_setup
		conf "recipient-delimiter $bad"
		run check_conf
		echo "$bad -> $status: $output"
		[ "$status" -eq 1 ]
		[[ "$output" == "event=conf-error file=$CONF line=4 reason=\"recipient-delimiter: expected "* ]]
	done
	smtpd_setup
	conf "recipient-delimiter +-_="
	run check_conf
	[ "$status" -eq 0 ]
	[ "$output" = "configuration OK" ]
}
