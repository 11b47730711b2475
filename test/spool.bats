#!/usr/bin/env bats
# The Maildir spool: what a 250 after DATA or BDAT LAST leaves on disk,
# and what every other outcome does not.  Each recipient has a Maildir
# at SPOOL/DOMAIN/LOCALPART/{tmp,new,cur}; one transaction is one file,
# written in a tmp/, hard-linked into each new/ but the last, renamed into
# that one, named with the id of the 250 reply and the Maildir++ ",S="
# size.  Files a crash left in a tmp/ go after a session, 36 hours on.

load helper

setup() {
	smtpd_setup
	MOUNTED=
}

teardown() {
	daemon_teardown
	[ -z "$MOUNTED" ] || umount "$MOUNTED"
}

# tmp_files D U - the files left in SPOOL/D/U/tmp, one a line.
tmp_files() {
	local d=$SPOOL/$1/$2/tmp
	[ -d "$d" ] || return 0
	find "$d" -mindepth 1 | sort
}

# make_maildir D U - a Maildir made beforehand, as by an earlier delivery.
make_maildir() {
	mkdir -p "$SPOOL/$1/$2/tmp" "$SPOOL/$1/$2/new" "$SPOOL/$1/$2/cur"
}

@test "first delivery creates DOMAIN/LOCALPART/{tmp,new,cur} 0700, the file 0600" {
	[ ! -e "$SPOOL/example.org/bob" ]
	run smtp "EHLO client.test" "MAIL FROM:<alice@sender.test>" \
	    "RCPT TO:<bob@example.org>" "DATA" "Subject: hi" "" "Hello" "." \
	    "QUIT"
	[ "$status" -eq 0 ]
	[ -n "$(queued_id)" ]
	for d in "" /tmp /new /cur; do
		[ -d "$SPOOL/example.org/bob$d" ]
		[ "$(stat -c %a "$SPOOL/example.org/bob$d")" = 700 ]
	done
	[ "$(stat -c %a "$SPOOL/example.org")" = 700 ]
	[ "$(count_messages example.org bob)" -eq 1 ]
	f=$(maildir_files example.org bob)
	[ -f "$f" ]
	[ "$(stat -c %a "$f")" = 600 ]
}

@test "the file in new/ is named after the 250 id: ID.HOST,S=SIZE" {
	run smtp "EHLO client.test" "MAIL FROM:<alice@sender.test>" \
	    "RCPT TO:<bob@example.org>" "DATA" "Hello" "." "QUIT"
	[ "$status" -eq 0 ]
	id=$(queued_id)
	# Maildir: time.MusecPpidQcount, then the host name.
	[[ $id =~ ^[0-9]+\.M[0-9]{6}P[0-9]+Q[0-9]+$ ]]
	f=$(maildir_files example.org bob)
	[[ ${f##*/} =~ ^"$id".mx\.test,S=[0-9]+$ ]]
}

@test "Maildir++ ,S=SIZE in the name is exactly the size of the file" {
	run smtp "EHLO client.test" "MAIL FROM:<alice@sender.test>" \
	    "RCPT TO:<bob@example.org>" "DATA" "Subject: size" "" \
	    "one line" "and another" "." "QUIT"
	[ "$status" -eq 0 ]
	f=$(maildir_files example.org bob)
	[ -n "$f" ]
	[ "${f##*,S=}" -eq "$(stat -c %s "$f")" ]
	[ "$(stat -c %s "$f")" -gt 0 ]
}

@test "one message for several recipients is one file linked into each new/" {
	run smtp "EHLO client.test" "MAIL FROM:<alice@sender.test>" \
	    "RCPT TO:<bob@example.org>" "RCPT TO:<carol@example.org>" \
	    "RCPT TO:<dave@example.org>" "DATA" "Hello all" "." "QUIT"
	[ "$status" -eq 0 ]
	[ -n "$(queued_id)" ]
	for u in bob carol dave; do
		[ "$(count_messages example.org "$u")" -eq 1 ]
	done
	b=$(maildir_files example.org bob)
	c=$(maildir_files example.org carol)
	d=$(maildir_files example.org dave)
	[ "${b##*/}" = "${c##*/}" ] && [ "${b##*/}" = "${d##*/}" ]
	[ "$(stat -c %i "$b")" = "$(stat -c %i "$c")" ]
	[ "$(stat -c %i "$b")" = "$(stat -c %i "$d")" ]
	# Three names in new/ and none left in tmp/.
	[ "$(stat -c %h "$b")" -eq 3 ]
}

@test "after the 250 no name is left in any tmp/" {
	run smtp "EHLO client.test" "MAIL FROM:<alice@sender.test>" \
	    "RCPT TO:<bob@example.org>" "RCPT TO:<carol@example.org>" \
	    "DATA" "Hello" "." "QUIT"
	[ "$status" -eq 0 ]
	[ -n "$(queued_id)" ]
	[ "$(count_messages example.org bob)" -eq 1 ]
	[ -d "$SPOOL/example.org/bob/tmp" ]
	[ -z "$(tmp_files example.org bob)" ]
	[ -z "$(tmp_files example.org carol)" ]
}

# store_events RCPT... - one message to the recipients (their maildirs
# made beforehand) through smtpd -i under strace; prints, in order, what
# the store did: create (tmp/ file), fsync-file, link, rename, fsync-new
# (of the new/ just linked or renamed into), fsync-other, unlink-tmp,
# 250 (the reply written), scan (a tmp/ opened to be read).
store_events() {
	local r
	for r in "$@"; do make_maildir "${r#*@}" "${r%@*}"; done
	{
		printf '%s\r\n' "EHLO client.test" "MAIL FROM:<alice@sender.test>"
		for r in "$@"; do printf 'RCPT TO:<%s>\r\n' "$r"; done
		printf '%s\r\n' "DATA" "Hello" "." "QUIT"
	} >"$TMP/in"
	# LeakSanitizer cannot run under ptrace; the other tests cover it.
	env ASAN_OPTIONS=detect_leaks=0 strace -o "$TMP/trace" -s 4096 \
	    -e trace=openat,fsync,linkat,renameat,renameat2,unlinkat,write \
	    "$SMTPD" -i -d -f "$(run_conf)" <"$TMP/in" >/dev/null 2>>"$LOG" ||
	    return 1
	awk '
	    /O_EXCL/ && / = [0-9]+$/ { file = $NF; print "create"; next }
	    /^openat\([0-9]+, "\.", .*O_DIRECTORY/ { print "scan"; next }
	    /^(linkat|renameat2?)\(/ && / = 0$/ {
		split($0, a, /[(, ]+/); dir = a[4]; file = ""
		print (a[1] == "linkat" ? "link" : "rename"); next }
	    /^fsync\(/ && / = 0$/ {
		split($0, a, /[()]/)
		if (a[2] == file) print "fsync-file"
		else if (a[2] == dir) print "fsync-new"
		else print "fsync-other"
		next }
	    /^unlinkat\(/ && / = 0$/ && !/,S=/ { print "unlink-tmp"; next }
	    /^write\(1, .*250 2\.0\.0 Ok: queued/ { print "250"; next }
	' "$TMP/trace" | tr '\n' ' '
}

strace_works() {
	command -v strace >/dev/null || skip "strace is not installed"
	strace -o /dev/null true 2>/dev/null || skip "strace cannot trace here"
}

@test "one recipient: fsync(file), rename into new/, fsync(new/), then 250; tmp/ read after" {
	strace_works
	run store_events bob@example.org
	[ "$status" -eq 0 ]
	[ "$(count_messages example.org bob)" -eq 1 ]
	[ -z "$(tmp_files example.org bob)" ]
	[ "$output" = "create fsync-file rename fsync-new 250 scan " ]
}

@test "several recipients: link and fsync(new/) each, rename into the last, then 250" {
	strace_works
	run store_events bob@example.org carol@example.org dave@example.org
	[ "$status" -eq 0 ]
	for u in bob carol dave; do
		[ "$(count_messages example.org "$u")" -eq 1 ]
		[ -z "$(tmp_files example.org "$u")" ]
	done
	[ "$output" = "create fsync-file link fsync-new link fsync-new rename fsync-new 250 scan scan scan " ]
}

@test "a DATA message is stored byte for byte, with LF line ends" {
	run smtp "EHLO client.test" "MAIL FROM:<alice@sender.test>" \
	    "RCPT TO:<bob@example.org>" "DATA" \
	    "From: Alice <alice@sender.test>" "Subject: bytes" "" \
	    "line one" "  indented, trailing space " "" "last line" "." "QUIT"
	[ "$status" -eq 0 ]
	[ -n "$(queued_id)" ]
	printf 'From: Alice <alice@sender.test>\nSubject: bytes\n\nline one\n  indented, trailing space \n\nlast line\n' >"$TMP/want"
	body_of "$(maildir_files example.org bob)" >"$TMP/got"
	cmp "$TMP/want" "$TMP/got"
	[ "$(tr -cd '\r' <"$(maildir_files example.org bob)" | wc -c)" -eq 0 ]
}

@test "dot-stuffed DATA lines are stored un-stuffed (RFC 5321 4.5.2)" {
	run smtp "EHLO client.test" "MAIL FROM:<alice@sender.test>" \
	    "RCPT TO:<bob@example.org>" "DATA" "Subject: dots" "" \
	    "..x" ".." "..." "a.b" "." "QUIT"
	[ "$status" -eq 0 ]
	[ -n "$(queued_id)" ]
	printf 'Subject: dots\n\n.x\n.\n..\na.b\n' >"$TMP/want"
	body_of "$(maildir_files example.org bob)" >"$TMP/got"
	cmp "$TMP/want" "$TMP/got"
}

@test "BDAT content is stored as sent: CRLF -> LF, no dot-unstuffing (RFC 3030)" {
	chunk='Subject: chunk\r\n\r\n..x\r\n.\r\nend\r\n'
	n=$(printf '%b' "$chunk" | wc -c)
	run smtp_raw "EHLO client.test\r\nMAIL FROM:<alice@sender.test>\r\nRCPT TO:<bob@example.org>\r\nBDAT $n LAST\r\n$chunk""QUIT\r\n"
	[ "$status" -eq 0 ]
	[ -n "$(queued_id)" ]
	printf 'Subject: chunk\n\n..x\n.\nend\n' >"$TMP/want"
	body_of "$(maildir_files example.org bob)" >"$TMP/got"
	cmp "$TMP/want" "$TMP/got"
}

@test "a CRLF split across two BDAT chunks is stored as one LF" {
	run smtp_raw "EHLO client.test\r\nMAIL FROM:<alice@sender.test>\r\nRCPT TO:<bob@example.org>\r\nBDAT 7\r\nS: a\r\n\rBDAT 5 LAST\r\n\nbody"
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" | grep -qx '250 2\.0\.0 7 octets received'
	[ -n "$(queued_id)" ]
	printf 'S: a\n\nbody' >"$TMP/want"
	body_of "$(maildir_files example.org bob)" >"$TMP/got"
	cmp "$TMP/want" "$TMP/got"
}

@test "Return-Path: carries the reverse-path as the first line" {
	run smtp "EHLO client.test" "MAIL FROM:<Alice@Sender.test>" \
	    "RCPT TO:<bob@example.org>" "DATA" "Hello" "." "QUIT"
	[ "$status" -eq 0 ]
	[ -n "$(queued_id)" ]
	[ "$(head -n 1 "$(maildir_files example.org bob)")" = \
	    "Return-Path: <Alice@Sender.test>" ]
}

@test "the null reverse-path is stored as Return-Path: <>" {
	run smtp "EHLO client.test" "MAIL FROM:<>" \
	    "RCPT TO:<bob@example.org>" "DATA" "Subject: bounce" "" "." "QUIT"
	[ "$status" -eq 0 ]
	[ -n "$(queued_id)" ]
	[ "$(head -n 1 "$(maildir_files example.org bob)")" = \
	    "Return-Path: <>" ]
}

@test "Received: names the HELO, the host, ESMTP, the 250 id and the one recipient" {
	run smtp "EHLO client.test" "MAIL FROM:<alice@sender.test>" \
	    "RCPT TO:<Bob@example.org>" "DATA" "Hello" "." "QUIT"
	[ "$status" -eq 0 ]
	id=$(queued_id)
	[ -n "$id" ]
	f=$(maildir_files example.org bob)
	[ "$(sed -n 2p "$f")" = "Received: from client.test" ]
	[ "$(sed -n 3p "$f")" = "	by mx.test (smtpd) with ESMTP id $id" ]
	[ "$(sed -n 4p "$f")" = "	for <Bob@example.org>;" ]
	date='^	[A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} [-+][0-9]{4}$'
	[[ $(sed -n 5p "$f") =~ $date ]]
	[ "$(sed -n 6p "$f")" = "Hello" ]
}

@test "Received: has no for clause when there are two recipients" {
	run smtp "EHLO client.test" "MAIL FROM:<alice@sender.test>" \
	    "RCPT TO:<bob@example.org>" "RCPT TO:<carol@example.org>" \
	    "DATA" "Hello" "." "QUIT"
	[ "$status" -eq 0 ]
	id=$(queued_id)
	[ -n "$id" ]
	f=$(maildir_files example.org bob)
	[ "$(sed -n 3p "$f")" = "	by mx.test (smtpd) with ESMTP id $id;" ]
	[ "$(grep -c 'for <' "$f")" -eq 0 ]
	[ "$(sed -n 5p "$f")" = "Hello" ]
}

@test "Received: says with SMTP after HELO, UTF8SMTP after MAIL ... SMTPUTF8" {
	run smtp "HELO client.test" "MAIL FROM:<alice@sender.test>" \
	    "RCPT TO:<bob@example.org>" "DATA" "Hello" "." "QUIT"
	[ "$status" -eq 0 ]
	id=$(queued_id)
	[ -n "$id" ]
	[ "$(sed -n 3p "$(maildir_files example.org bob)")" = \
	    "	by mx.test (smtpd) with SMTP id $id" ]
	# RFC 6531 3.7.3
	run smtp "EHLO client.test" "MAIL FROM:<alice@sender.test> SMTPUTF8" \
	    "RCPT TO:<carol@example.org>" "DATA" "Hello" "." "QUIT"
	[ "$status" -eq 0 ]
	id=$(queued_id)
	[ -n "$id" ]
	[ "$(sed -n 3p "$(maildir_files example.org carol)")" = \
	    "	by mx.test (smtpd) with UTF8SMTP id $id" ]
}

@test "domain and local part are lowercased in the spool path" {
	run smtp "EHLO client.test" "MAIL FROM:<alice@sender.test>" \
	    "RCPT TO:<Bob@EXAMPLE.org>" "DATA" "Hello" "." "QUIT"
	[ "$status" -eq 0 ]
	[ -n "$(queued_id)" ]
	[ "$(count_messages example.org bob)" -eq 1 ]
	[ ! -e "$SPOOL/EXAMPLE.org" ] && [ ! -e "$SPOOL/example.org/Bob" ]
	[ "$(find "$SPOOL" -mindepth 2 -maxdepth 2)" = "$SPOOL/example.org/bob" ]
}

@test "the same mailbox twice gets the message once" {
	run smtp "EHLO client.test" "MAIL FROM:<alice@sender.test>" \
	    "RCPT TO:<bob@example.org>" "RCPT TO:<BOB@example.org>" \
	    "DATA" "Hello" "." "QUIT"
	[ "$status" -eq 0 ]
	[ -n "$(queued_id)" ]
	[ "$(count_messages example.org bob)" -eq 1 ]
	[ "$(stat -c %h "$(maildir_files example.org bob)")" -eq 1 ]
}

@test "two addresses aliased to one mailbox get the message once" {
	conf "alias robert bob"
	run smtp "EHLO client.test" "MAIL FROM:<alice@sender.test>" \
	    "RCPT TO:<robert@example.org>" "RCPT TO:<bob@example.org>" \
	    "DATA" "Hello" "." "QUIT"
	[ "$status" -eq 0 ]
	[ -n "$(queued_id)" ]
	[ "$(count_messages example.org bob)" -eq 1 ]
	[ ! -e "$SPOOL/example.org/robert" ]
}

@test "two messages in one session are two files" {
	run smtp "EHLO client.test" "MAIL FROM:<alice@sender.test>" \
	    "RCPT TO:<bob@example.org>" "DATA" "one" "." \
	    "MAIL FROM:<alice@sender.test>" "RCPT TO:<bob@example.org>" \
	    "DATA" "two" "." "QUIT"
	[ "$status" -eq 0 ]
	[ "$(queued_id | sort -u | wc -l)" -eq 2 ]
	[ "$(count_messages example.org bob)" -eq 2 ]
	grep -qx one $(maildir_files example.org bob)
	grep -qx two $(maildir_files example.org bob)
}

@test "RCPT with a local part that would leave or hide in the spool is 550 5.1.3" {
	run smtp "EHLO client.test" "MAIL FROM:<alice@sender.test>" \
	    'RCPT TO:<"../x"@example.org>' \
	    'RCPT TO:<"../../escaped"@example.org>' \
	    'RCPT TO:<"a/b"@example.org>' 'RCPT TO:<a/b@example.org>' \
	    'RCPT TO:<".."@example.org>' 'RCPT TO:<".hidden"@example.org>' \
	    "DATA" "QUIT"
	[ "$status" -eq 0 ]
	[ "$(reply_count '550 5\.1\.3')" -eq 6 ]
	[ "${lines[-2]}" = "503 5.5.1 Bad sequence of commands: need RCPT command" ]
	[ -z "$(find "$SPOOL" -mindepth 1)" ]
	[ "$(cd "$TMP" && find . -mindepth 1 | sort | tr '\n' ' ')" = \
	    "./log ./replies ./smtpd.conf ./spool " ]
}

@test "with domain *, an address literal naming a path is 550 5.1.3" {
	conf "domain *"
	run smtp "EHLO client.test" "MAIL FROM:<alice@sender.test>" \
	    "RCPT TO:<x@[tag:../../etc]>" "RCPT TO:<x@[a/b]>" "QUIT"
	[ "$status" -eq 0 ]
	[ "$(reply_count '550 5\.1\.3')" -eq 2 ]
	[ -z "$(find "$SPOOL" -mindepth 1)" ]
	[ "$(cd "$TMP" && find . -mindepth 1 | sort | tr '\n' ' ')" = \
	    "./log ./replies ./smtpd.conf ./spool " ]
}

@test "with domain *, a domain of 251 octets is a mailbox, one of 252 is 550 5.1.3" {
	local l63 d251
	conf "domain *"
	l63=$(printf 'd%.0s' $(seq 63))
	d251=$l63.$l63.$l63.${l63:0:59}
	[ "${#d251}" -eq 251 ]
	# <u@DOMAIN> stays within the 256 octets of a path.
	run smtp "EHLO client.test" "MAIL FROM:<alice@sender.test>" \
	    "RCPT TO:<u@$d251>" "RCPT TO:<u@${d251}e>" "DATA" "Hello" "." \
	    "QUIT"
	[ "$status" -eq 0 ]
	[ "${lines[9]}" = "250 2.1.5 Ok" ]
	[[ "${lines[10]}" == "550 5.1.3 "* ]]
	[ -n "$(queued_id)" ]
	[ "$(count_messages "$d251" u)" -eq 1 ]
	[ "$(ls "$SPOOL")" = "$d251" ]
}

@test "a syntax error in the local part is 501, not a mailbox name" {
	run smtp "EHLO client.test" "MAIL FROM:<alice@sender.test>" \
	    "RCPT TO:<a..b@example.org>" "RCPT TO:<.a@example.org>" "QUIT"
	[ "$status" -eq 0 ]
	[ "${lines[9]}" = "501 5.1.3 Bad recipient address syntax" ]
	[ "${lines[10]}" = "501 5.1.3 Bad recipient address syntax" ]
	[ -z "$(find "$SPOOL" -mindepth 1)" ]
}

@test "a stale tmp/ file (over 36 hours) is removed after a delivery to its maildir" {
	make_maildir example.org bob
	printf 'crashed\n' >"$SPOOL/example.org/bob/tmp/1.M1P1Q1.mx.test"
	touch -d '37 hours ago' "$SPOOL/example.org/bob/tmp/1.M1P1Q1.mx.test"
	run smtp "EHLO client.test" "MAIL FROM:<alice@sender.test>" \
	    "RCPT TO:<bob@example.org>" "DATA" "Hello" "." "QUIT"
	[ "$status" -eq 0 ]
	[ -n "$(queued_id)" ]
	[ "$(count_messages example.org bob)" -eq 1 ]
	[ -z "$(tmp_files example.org bob)" ]
}

@test "a stale tmp/ file in a second recipient's maildir is removed too" {
	make_maildir example.org carol
	printf 'crashed\n' >"$SPOOL/example.org/carol/tmp/1.M1P1Q1.mx.test"
	touch -d '37 hours ago' "$SPOOL/example.org/carol/tmp/1.M1P1Q1.mx.test"
	run smtp "EHLO client.test" "MAIL FROM:<alice@sender.test>" \
	    "RCPT TO:<bob@example.org>" "RCPT TO:<carol@example.org>" \
	    "DATA" "Hello" "." "QUIT"
	[ "$status" -eq 0 ]
	[ -n "$(queued_id)" ]
	[ "$(count_messages example.org carol)" -eq 1 ]
	[ -z "$(tmp_files example.org carol)" ]
}

@test "a tmp/ file younger than 36 hours is left alone" {
	make_maildir example.org bob
	printf 'writing\n' >"$SPOOL/example.org/bob/tmp/1.M1P1Q1.mx.test"
	touch -d '35 hours ago' "$SPOOL/example.org/bob/tmp/1.M1P1Q1.mx.test"
	run smtp "EHLO client.test" "MAIL FROM:<alice@sender.test>" \
	    "RCPT TO:<bob@example.org>" "DATA" "Hello" "." "QUIT"
	[ "$status" -eq 0 ]
	[ -n "$(queued_id)" ]
	[ "$(count_messages example.org bob)" -eq 1 ]
	[ "$(tmp_files example.org bob)" = \
	    "$SPOOL/example.org/bob/tmp/1.M1P1Q1.mx.test" ]
	[ "$(cat "$SPOOL/example.org/bob/tmp/1.M1P1Q1.mx.test")" = writing ]
}

@test "smtpd-tidied: a tmp/ read in the last hour is not read again by another process" {
	make_maildir example.org bob
	stale=$SPOOL/example.org/bob/tmp/1.M1P1Q1.mx.test
	run smtp "EHLO client.test" "MAIL FROM:<alice@sender.test>" \
	    "RCPT TO:<bob@example.org>" "DATA" "one" "." "QUIT"
	[ -n "$(queued_id)" ]
	[ -f "$SPOOL/example.org/bob/smtpd-tidied" ]
	# A second smtpd -i, another process, within the hour: not read.
	printf 'crashed\n' >"$stale"
	touch -d '37 hours ago' "$stale"
	run smtp "EHLO client.test" "MAIL FROM:<alice@sender.test>" \
	    "RCPT TO:<bob@example.org>" "DATA" "two" "." "QUIT"
	[ -n "$(queued_id)" ]
	[ -f "$stale" ]
	# The stamp an hour old: the next process reads tmp/ again.
	touch -d '61 minutes ago' "$SPOOL/example.org/bob/smtpd-tidied"
	run smtp "EHLO client.test" "MAIL FROM:<alice@sender.test>" \
	    "RCPT TO:<bob@example.org>" "DATA" "three" "." "QUIT"
	[ -n "$(queued_id)" ]
	[ ! -e "$stale" ]
	[ "$(count_messages example.org bob)" -eq 3 ]
	# Refreshed by the read.
	[ -n "$(find "$SPOOL/example.org/bob/smtpd-tidied" -mmin -5)" ]
}

# deliver_tcp TEXT - one message with the body TEXT for bob@example.org
# to the daemon; fails unless it is answered 250.
deliver_tcp() {
	smtp_tcp "EHLO c" "MAIL FROM:<a@b.example>" "RCPT TO:<bob@example.org>" \
	    "DATA" "$1" "." "QUIT" | grep -q '^250 2\.0\.0 Ok: queued as '
}

# holds D U TEXT - one file in SPOOL/D/U/new holds the line TEXT.
holds() {
	[ "$(grep -lx "$3" "$SPOOL/$1/$2/new/"* 2>/dev/null | wc -l)" -eq 1 ]
}

@test "the daemon removes a stale tmp/ file after the session, keeps a young one" {
	make_maildir example.org bob
	stale=$SPOOL/example.org/bob/tmp/1.M1P1Q1.mx.test
	young=$SPOOL/example.org/bob/tmp/2.M1P1Q1.mx.test
	printf 'crashed\n' >"$stale"
	printf 'writing\n' >"$young"
	touch -d '37 hours ago' "$stale"
	touch -d '35 hours ago' "$young"
	conf "workers 1"
	daemon_start
	deliver_tcp one
	wait_for eval '[ ! -e "$stale" ]'
	[ -f "$young" ]
	[ "$(count_messages example.org bob)" -eq 1 ]
	grep -qx "event=tidy removed=example.org/bob/tmp/1.M1P1Q1.mx.test" "$LOG"
	sanitizer_quiet
}

@test "a worker reads a tmp/ once an hour, not after every delivery" {
	make_maildir example.org bob
	stale=$SPOOL/example.org/bob/tmp/1.M1P1Q1.mx.test
	printf 'crashed\n' >"$stale"
	touch -d '37 hours ago' "$stale"
	conf "workers 1"
	daemon_start
	deliver_tcp one
	wait_for eval '[ ! -e "$stale" ]'
	printf 'crashed again\n' >"$stale"
	touch -d '37 hours ago' "$stale"
	deliver_tcp two
	# The one worker tidies before it takes the next connection: once
	# this session is over, the last one's tidying is too.
	run smtp_tcp "QUIT"
	[ "${lines[1]}" = "221 2.0.0 mx.test closing connection" ]
	[ -f "$stale" ]
	[ "$(count_messages example.org bob)" -eq 2 ]
	sanitizer_quiet
}

@test "a maildir removed under a running worker gets the next message all the same" {
	conf "workers 1"
	daemon_start
	deliver_tcp one
	holds example.org bob one
	rm -rf "$SPOOL/example.org/bob"
	deliver_tcp two
	holds example.org bob two
	[ "$(count_messages example.org bob)" -eq 1 ]
	[ -z "$(tmp_files example.org bob)" ]
	sanitizer_quiet
}

@test "a maildir whose new/ alone was removed gets the next message too" {
	conf "workers 1"
	daemon_start
	deliver_tcp one
	rm -rf "$SPOOL/example.org/bob/new"
	deliver_tcp two
	holds example.org bob two
	[ "$(count_messages example.org bob)" -eq 1 ]
	[ -z "$(tmp_files example.org bob)" ]
	sanitizer_quiet
}

@test "a maildir moved aside and made again gets the mail from 5 s on" {
	conf "workers 1"
	daemon_start
	deliver_tcp one
	mv "$SPOOL/example.org/bob" "$SPOOL/example.org/bob.old"
	make_maildir example.org bob
	[ "$(id -u)" -ne 0 ] || chown -R nobody: "$SPOOL/example.org/bob"
	# A worker trusts the directories it has open for 5 s (RECHECK_MS
	# in store.c), then looks at the path again.
	sleep 5.5
	deliver_tcp two
	holds example.org bob two
	[ "$(count_messages example.org bob)" -eq 1 ]
	holds example.org bob.old one
	[ "$(count_messages example.org bob.old)" -eq 1 ]
	sanitizer_quiet
}

# carol_fails RCPT... - carol's new/ is a file, so delivering to her
# fails; with the recipients in this order, the message is refused 451
# and no maildir keeps it, in new/ or tmp/.
carol_fails() {
	local r rcpts=()
	make_maildir example.org bob
	mkdir -p "$SPOOL/example.org/carol/tmp" "$SPOOL/example.org/carol/cur"
	: >"$SPOOL/example.org/carol/new"	# a file where new/ should be
	for r in "$@"; do rcpts+=("RCPT TO:<$r@example.org>"); done
	run smtp "EHLO client.test" "MAIL FROM:<alice@sender.test>" \
	    "${rcpts[@]}" "DATA" "Hello" "." "QUIT"
	[ "$status" -eq 0 ] || return 1
	[ "${lines[-2]}" = "451 4.3.0 Local error in processing, try again later" ] ||
	    return 1
	[ -z "$(queued_id)" ] || return 1
	[ "$(count_messages example.org bob)" -eq 0 ] || return 1
	[ "$(count_messages example.org dave)" -eq 0 ] || return 1
	[ ! -s "$SPOOL/example.org/carol/new" ] || return 1
	[ -z "$(tmp_files example.org bob)" ] || return 1
	[ -z "$(tmp_files example.org carol)" ] || return 1
	[ -z "$(tmp_files example.org dave)" ]
}

@test "if one recipient's new/ cannot take the link, none gets it: 451 4.3.0" {
	carol_fails bob carol dave
}

@test "if the last recipient's new/, the one renamed into, fails, none gets it" {
	carol_fails bob dave carol
}

@test "a full disk: 452 4.3.1 at the end of DATA, nothing stored, the session goes on" {
	local line _
	[ "$(id -u)" -eq 0 ] || skip "needs root to mount a tmpfs"
	mkdir "$SPOOL"
	mount -t tmpfs -o size=64k,mode=0700 smtpd-test "$SPOOL" 2>/dev/null ||
	    skip "cannot mount a tmpfs here"
	MOUNTED=$SPOOL
	# 100 lines of 1000 octets: more than 64 kB.
	line=$(printf '%0998d' 0)
	big=()
	for _ in $(seq 100); do big+=("$line"); done
	run smtp "EHLO client.test" "MAIL FROM:<alice@sender.test>" \
	    "RCPT TO:<bob@example.org>" "DATA" "${big[@]}" "." "NOOP" "QUIT"
	[ "$status" -eq 0 ]
	[ "${lines[10]}" = "354 End data with <CR><LF>.<CR><LF>" ]
	[ "${lines[11]}" = "452 4.3.1 Insufficient system storage" ]
	[ "${lines[12]}" = "250 2.0.0 Ok" ]
	[ -z "$(queued_id)" ]
	[ "$(count_messages example.org bob)" -eq 0 ]
	[ -z "$(tmp_files example.org bob)" ]
	# The spool's failure is logged with the system's message.
	grep -Eq '^event=store-error id=[^ ]+ call=commit error="No space left on device"$' "$LOG"
	grep -q 'event=reject .*reply="452 4.3.1 Insufficient system storage" command="DATA"' "$LOG"
}

@test "a spool that is not a directory: greeting 421 4.3.0, nothing stored" {
	: >"$SPOOL"
	run smtp "EHLO client.test" "MAIL FROM:<alice@sender.test>" \
	    "RCPT TO:<bob@example.org>" "DATA" "Hello" "." "QUIT"
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == "421 4.3.0 "* ]]
	[ "${#lines[@]}" -eq 1 ]
	[ -f "$SPOOL" ] && [ ! -s "$SPOOL" ]
}

@test "a client gone before the end of DATA leaves nothing in new/ or tmp/" {
	run smtp_raw "EHLO client.test\r\nMAIL FROM:<alice@sender.test>\r\nRCPT TO:<bob@example.org>\r\nRCPT TO:<carol@example.org>\r\nDATA\r\nSubject: cut\r\n\r\nhalf a message\r\n.x"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "354 End data with <CR><LF>.<CR><LF>" ]
	[ "$(count_messages example.org bob)" -eq 0 ]
	[ "$(count_messages example.org carol)" -eq 0 ]
	[ -z "$(tmp_files example.org bob)" ]
	[ -z "$(tmp_files example.org carol)" ]
}

@test "a client gone inside a BDAT chunk leaves nothing in new/ or tmp/" {
	run smtp_raw "EHLO client.test\r\nMAIL FROM:<alice@sender.test>\r\nRCPT TO:<bob@example.org>\r\nBDAT 100 LAST\r\nSubject: cut\r\n\r\nonly part"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "250 2.1.5 Ok" ]
	[ "$(count_messages example.org bob)" -eq 0 ]
	[ -z "$(tmp_files example.org bob)" ]
}

@test "a client gone between BDAT chunks leaves nothing in new/ or tmp/" {
	run smtp_raw "EHLO client.test\r\nMAIL FROM:<alice@sender.test>\r\nRCPT TO:<bob@example.org>\r\nBDAT 8\r\nS: x\r\n\r\n"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "250 2.0.0 8 octets received" ]
	[ "$(count_messages example.org bob)" -eq 0 ]
	[ -z "$(tmp_files example.org bob)" ]
}

@test "a message with a bare LF is refused and leaves nothing stored" {
	run smtp_raw "EHLO client.test\r\nMAIL FROM:<alice@sender.test>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nbare\nLF\r\n.\r\nQUIT\r\n"
	[ "$status" -eq 0 ]
	[[ ${lines[-2]} == "550 5.6.0 "* ]]
	[ "$(count_messages example.org bob)" -eq 0 ]
	[ -z "$(tmp_files example.org bob)" ]
}

