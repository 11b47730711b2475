#!/usr/bin/env bats
# smtpd in other people's tests: "sync no", a spool whose loss does not
# matter, stores the same files with no fsync at all; and -p FILE, which
# appears once the pool is ready, holding the master's pid and each
# listening socket's address (a port the kernel chose included), and
# goes away at the stop.

load helper

setup() {
	smtpd_setup
	conf "workers 2"
}

teardown() {
	daemon_teardown
	sanitizer_quiet
}

# --- sync no ----------------------------------------------------------------

# store_one - one message for bob and carol through smtpd -i, with the
# test's configuration as it is; replies in $output.
store_one() {
	run smtp "EHLO client.test" "MAIL FROM:<alice@sender.test>" \
	    "RCPT TO:<bob@example.org>" "RCPT TO:<carol@example.org>" \
	    "DATA" "From: Alice <alice@sender.test>" "Subject: same" "" \
	    "line one" ".. dot-stuffed" "last line" "." "QUIT"
}

# normalized ID - what the spool holds, file by file (path, then the
# content), and the accept line, with the message's ID and the date of
# its Received: header replaced: all that may differ from one run to
# the next.
normalized() {
	local f s
	# The size in a name varies with the id's length (its microseconds
	# and pid are not padded): it must be the file's, not a number.
	(cd "$SPOOL" && find . -type f | sort) | while read -r f; do
		s=${f##*,S=}
		if [ "$s" != "$f" ]; then
			[ "$s" -eq "$(wc -c <"$SPOOL/$f")" ] && s=size || s=wrong
			echo "== ${f%,S=*},S=$s"
		else
			echo "== $f"
		fi
		cat "$SPOOL/$f"
	done | sed -e "s/$1/ID/g" \
	    -e 's/^\t[A-Z][a-z][a-z], [0-9][0-9] [A-Z][a-z][a-z] .*/\tDATE/'
	sed -n "s/^[0-9a-f]\{12\} \(event=accept .*\)/\1/p" "$LOG" |
	    sed "s/$1/ID/g"
}

@test "sync no stores the same files, the same bytes, the same accept line as sync yes" {
	local id
	conf "mailbox bob" "mailbox carol"
	store_one
	[ "$status" -eq 0 ]
	id=$(queued_id)
	[ -n "$id" ]
	normalized "$id" >"$TMP/yes"
	rm -rf "$SPOOL"
	: >"$LOG"
	conf "sync no"
	store_one
	[ "$status" -eq 0 ]
	id=$(queued_id)
	[ -n "$id" ]
	normalized "$id" >"$TMP/no"
	cat "$TMP/yes"
	diff "$TMP/yes" "$TMP/no"
	# Not vacuous: both mailboxes, made on this delivery, and the bytes.
	grep -Fx "== ./example.org/bob/new/ID.mx.test,S=size" "$TMP/no"
	grep -Fx "== ./example.org/carol/new/ID.mx.test,S=size" "$TMP/no"
	grep -Fx ". dot-stuffed" "$TMP/no"
	grep -Fx 'event=accept id=ID peer=unknown helo="client.test" from="<alice@sender.test>" rcpts=2 size=86 rcpt="<bob@example.org>" rcpt="<carol@example.org>"' "$TMP/no"
	grep -Fx 'event=unsafe reason="sync no: mail answered 250 is not on disk yet, a crash can lose it"' "$LOG"
}

# fsyncs - the fsync and fdatasync calls smtpd -i makes for one message
# to two new mailboxes, as strace counts them (0 when it made none).
fsyncs() {
	printf '%s\r\n' "EHLO client.test" "MAIL FROM:<alice@sender.test>" \
	    "RCPT TO:<bob@example.org>" "RCPT TO:<carol@example.org>" \
	    "DATA" "hi" "." "QUIT" >"$TMP/in"
	# LeakSanitizer cannot run under ptrace; the other tests cover it.
	env ASAN_OPTIONS=detect_leaks=0 strace -f -o "$TMP/trace" \
	    -e trace=fsync,fdatasync "$SMTPD" -i -d -f "$(run_conf)" \
	    <"$TMP/in" >"$TMP/out" 2>>"$LOG" || return 1
	grep -q '^250 2\.0\.0 Ok: queued as ' "$TMP/out" || return 1
	[ "$(count_messages example.org bob)" -eq 1 ] || return 1
	[ "$(count_messages example.org carol)" -eq 1 ] || return 1
	grep -Ec '^([0-9]+ +)?f(data)?sync\(' "$TMP/trace" || true
}

@test "sync yes makes fsyncs for a message; sync no makes none" {
	command -v strace >/dev/null || skip "strace is not installed"
	strace -o /dev/null true 2>/dev/null || skip "strace cannot trace here"
	conf "mailbox bob" "mailbox carol"
	run fsyncs
	[ "$status" -eq 0 ]
	echo "sync yes: $output"
	# The file, two new/, and the six directories of two new maildirs.
	[ "$output" -ge 9 ]
	rm -rf "$SPOOL"
	conf "sync no"
	run fsyncs
	[ "$status" -eq 0 ]
	echo "sync no: $output"
	[ "$output" -eq 0 ]
}

@test "the daemon says sync=no on its start line, then event=unsafe, and stores without fsync" {
	conf "sync no"
	daemon_start
	grep -Eq "^event=start pid=$DPID .* seccomp=(on|off) sync=no$" "$LOG"
	grep -A1 '^event=start ' "$LOG" | tail -n 1 |
	    grep -Fx 'event=unsafe reason="sync no: mail answered 250 is not on disk yet, a crash can lose it"'
	run smtp_tcp "EHLO c" "MAIL FROM:<a@b.example>" \
	    "RCPT TO:<u@example.org>" "DATA" "hi" "." "QUIT"
	[[ "$output" == *"250 2.0.0 Ok: queued as "* ]]
	[ "$(count_messages example.org u)" -eq 1 ]
	# A reload that keeps it says so again; the default says nothing.
	kill -HUP "$DPID"
	wait_log '^event=reload '
	[ "$(grep -c '^event=unsafe ' "$LOG")" -eq 2 ]
	daemon_stop
}

@test "sync is yes by default, and takes only yes or no" {
	daemon_start
	grep -Eq "^event=start pid=$DPID .* seccomp=(on|off)$" "$LOG"
	! grep -q 'event=unsafe' "$LOG" || false
	daemon_stop
	conf "sync maybe"
	run "$SMTPD" -n -f "$CONF"
	[ "$status" -eq 1 ]
	[[ "$output" == *"line=$(wc -l <"$CONF") reason=\"sync: expected yes or no\""* ]]
}

# --- -p FILE ----------------------------------------------------------------

# pid_dir - a directory for FILE that the user the master runs as may
# write (nobody, when the tests run as root).
pid_dir() {
	mkdir -p "$TMP/run"
	[ "$(id -u)" -ne 0 ] || chown nobody "$TMP/run"
	echo "$TMP/run"
}

# pid_start FILE [ARGS...] - smtpd -d -p FILE with the test's
# configuration (listen 127.0.0.1:0 unless it has listen lines); sets
# DPID.  Does not wait.
pid_start() {
	local f=$1
	shift
	grep -q '^listen ' "$CONF" || echo "listen 127.0.0.1:0" >>"$CONF"
	"$SMTPD" -d -p "$f" -f "$(run_conf)" "$@" >>"$LOG" 2>&1 3>&- &
	DPID=$!
}

# wait_file FILE - until FILE exists (10 s at most, every 10 ms), while
# the daemon lives; fails if it never comes.
wait_file() {
	local i
	for i in $(seq 1 1000); do
		[ -e "$1" ] && return 0
		kill -0 "$DPID" 2>/dev/null || return 1
		sleep 0.01
	done
	return 1
}

@test "-p FILE appears once the port takes connections and the workers are forked, with the master's pid" {
	local f
	f=$(pid_dir)/smtpd.pid
	pid_start "$f"
	wait_file "$f"
	# At once: the workers are there, and the port answers.
	[ "$(workers_of "$DPID" | wc -l)" -eq 2 ]
	PORT=$(sed -n '2s/.*://p' "$f")
	run smtp_tcp "QUIT"
	[[ "$output" == "220 mx.test ESMTP smtpd"* ]]
	cat "$f"
	[ "$(sed -n 1p "$f")" = "$DPID" ]
	[ "$(sed -n 2p "$f")" = "127.0.0.1:$PORT" ]
	[ "$(wc -l <"$f")" -eq 2 ]
	grep -q "^event=listen addr=127.0.0.1:$PORT$" "$LOG"
	[ "$(stat -c %a "$f")" = 644 ]
	[ ! -e "$f.tmp" ]
}

@test "-p FILE: two listen lines, two lines, in their order" {
	local f p1 p2
	conf "listen 127.0.0.1:0" "listen 127.0.0.2:0"
	f=$(pid_dir)/smtpd.pid
	pid_start "$f"
	wait_file "$f"
	cat "$f"
	[ "$(wc -l <"$f")" -eq 3 ]
	p1=$(sed -n 's/^127\.0\.0\.1:\([0-9]*\)$/\1/p' "$f")
	p2=$(sed -n 's/^127\.0\.0\.2:\([0-9]*\)$/\1/p' "$f")
	[ "$(sed -n 2p "$f")" = "127.0.0.1:$p1" ]
	[ "$(sed -n 3p "$f")" = "127.0.0.2:$p2" ]
	[ "$p1" -gt 0 ] && [ "$p2" -gt 0 ]
	PORT=$p1 HOST=127.0.0.1 run header_session "" "QUIT"
	[[ "$output" == "220 "* ]]
	PORT=$p2 HOST=127.0.0.2 run header_session "" "QUIT"
	[[ "$output" == "220 "* ]]
}

@test "-p FILE: an IPv6 listener is [::1]:PORT" {
	local f p6
	ip -6 addr show dev lo 2>/dev/null | grep -q 'inet6 ::1/' ||
	    skip "no ::1 on loopback"
	conf "listen [::1]:0"
	f=$(pid_dir)/smtpd.pid
	pid_start "$f"
	wait_file "$f"
	cat "$f"
	[ "$(wc -l <"$f")" -eq 2 ]
	p6=$(sed -n 's/^\[::1\]:\([0-9]*\)$/\1/p' "$f")
	[ -n "$p6" ]
	[ "$(sed -n '2s/.*://p' "$f")" = "$p6" ]
	PORT=$p6 HOST=::1 run header_session "" "QUIT"
	[[ "$output" == "220 "* ]]
}

@test "-p FILE that cannot be written: exit 1 at start, with the line that says why" {
	local rc=0
	pid_start "$TMP/no such dir/smtpd.pid"
	gone_within "$DPID" 10
	wait "$DPID" || rc=$?
	DPID=
	[ "$rc" -eq 1 ]
	cat "$LOG"
	grep -E "^event=pidfile-failed file=\"$TMP/no such dir/smtpd.pid\" user=[^ ]+ call=open error=\"No such file or directory\" action=exit$" "$LOG"
	! grep -q 'event=start' "$LOG" || false
}

@test "-p FILE is written again on SIGHUP and removed at SIGTERM, once the pool is gone" {
	local f before
	f=$(pid_dir)/smtpd.pid
	pid_start "$f"
	wait_file "$f"
	before=$(cat "$f")
	rm "$f"
	kill -HUP "$DPID"
	wait_file "$f"
	[ "$(cat "$f")" = "$before" ]
	kill -TERM "$DPID"
	gone_within "$DPID" 15
	wait "$DPID"
	DPID=
	[ ! -e "$f" ]
	[ ! -e "$f.tmp" ]
	grep -q '^event=stop ' "$LOG"
	! grep -q 'event=pidfile-failed' "$LOG" || false
}

@test "-p FILE: a stale FILE is removed at start; a relative FILE names the detached master" {
	local f d pid
	conf "listen 127.0.0.1:0"
	d=$(pid_dir)
	f=$d/smtpd.pid
	printf '1\n127.0.0.1:1\n' >"$f"
	[ "$(id -u)" -ne 0 ] || chown nobody "$f"
	# Without -d: smtpd detaches, and logs to syslog.
	(cd "$d" && exec "$SMTPD" -p smtpd.pid -f "$(run_conf)" 3>&-)
	for i in $(seq 1 100); do
		[ "$(sed -n 1p "$f" 2>/dev/null)" != 1 ] && [ -s "$f" ] && break
		sleep 0.05
	done
	pid=$(sed -n 1p "$f")
	DPID=$pid	# for teardown
	[ "$pid" != 1 ]
	kill -0 "$pid"
	PORT=$(sed -n '2s/.*://p' "$f")
	run smtp_tcp "QUIT"
	[[ "$output" == "220 "* ]]
	kill -TERM "$pid"
	gone_within "$pid" 15
	DPID=
	[ ! -e "$f" ]
}

@test "-p without a file is a usage error" {
	run "$SMTPD" -p
	[ "$status" -eq 2 ]
	[[ "$output" == *"usage: smtpd [-DdinVv] [-f file] [-p file]"* ]]
}
