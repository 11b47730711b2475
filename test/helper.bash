# test/helper.bash - what every bats file loads.
#
# Each test gets its own spool and config under $BATS_TEST_TMPDIR.  The
# binary under test is $SMTPD (make test runs the suite twice: the plain
# build and the ASan/UBSan build); by default the one in the checkout.
#
#   smtp LINE...        send the lines, each ended by CRLF, without waiting
#                       for replies (a pipelined client; bash may write
#                       them one by one); replies come back in
#                       $output with the CRs removed, smtpd's exit status
#                       in $status (use with bats' run)
#   smtp_raw FORMAT     the same with printf %b escapes, for exact bytes
#   conf LINE...        append lines to the test's smtpd.conf
#   maildir_files D U   the message files in SPOOL/D/U/new, one a line
#   body_of FILE        a stored file without the Return-Path: and
#                       Received: lines smtpd put in front

export SMTPD=${SMTPD:-$BATS_TEST_DIRNAME/../smtpd}

smtpd_setup() {
	TMP=$BATS_TEST_TMPDIR
	SPOOL=$TMP/spool
	CONF=$TMP/smtpd.conf
	LOG=$TMP/log
	# What run_conf writes; one per test, since the tests of a file may
	# run at once (bats --jobs).
	RUNCONF=$BATS_FILE_TMPDIR/run.$BATS_TEST_NUMBER.conf
	export TMP SPOOL CONF LOG RUNCONF
	: >"$LOG"
	printf 'hostname mx.test\nspool %s\ndomain example.org\n' \
	    "$SPOOL" >"$CONF"
}

# run_conf - the configuration a session runs with: the test's own, and,
# when the tests run as root, "user nobody", since smtpd never runs a
# session as root.  nobody must then own what a test built in the spool.
# $CONF itself is left as the test wrote it (some tests count its lines).
# Prints the path of the file to run with: $CONF, or $RUNCONF as root.
run_conf() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "$CONF"
		return
	fi
	# Outside $TMP, which some tests list file by file, and readable by
	# nobody, who re-reads it on SIGHUP.
	{ cat "$CONF"; echo "user nobody"; } >"$RUNCONF"
	chmod 644 "$RUNCONF"
	chmod o+x "$BATS_RUN_TMPDIR" "$BATS_FILE_TMPDIR" \
	    "$(dirname "$BATS_FILE_TMPDIR")"
	[ ! -e "$SPOOL" ] || chown -R nobody: "$SPOOL"
	echo "$RUNCONF"
}

conf() {
	printf '%s\n' "$@" >>"$CONF"
}

# smtpd_pipe - run smtpd -i on stdin; replies on stdout without CR.
# The status is smtpd's own, so a crash or a sanitizer report fails.
smtpd_pipe() {
	local rc conf
	conf=$(run_conf)
	"$SMTPD" -i -d -f "$conf" 2>>"$LOG" >"$TMP/replies"
	rc=$?
	tr -d '\r' <"$TMP/replies"
	return $rc
}

smtp() {
	printf '%s\r\n' "$@" | smtpd_pipe
}

# pipe_open [CMD...] - smtpd -i (logging to syslog: fd 2 is /dev/null)
# on a FIFO the test holds open, so that the process can be looked at
# while it waits for the client: sets IPID (its pid) and IFD (the FIFO's
# write end); returns once the 220 is in $TMP/out.  CMD, if given, is a
# command that execs smtpd.  pipe_close LINE... sends the rest of the
# dialogue, closes, and waits for smtpd's exit status.
pipe_open() {
	mkfifo "$TMP/in"
	"$@" "$SMTPD" -i -f "$(run_conf)" <"$TMP/in" >"$TMP/out" 2>/dev/null \
	    3>&- &
	IPID=$!
	exec {IFD}>"$TMP/in"
	wait_for grep -q '^220 ' "$TMP/out"
}

pipe_close() {
	printf '%s\r\n' "$@" >&"$IFD"
	exec {IFD}>&-
	wait "$IPID"
}

smtp_raw() {
	printf '%b' "$1" | smtpd_pipe
}

maildir_files() {
	local d=$SPOOL/$1/$2/new
	[ -d "$d" ] || return 0
	find "$d" -type f | sort
}

count_messages() {
	maildir_files "$1" "$2" | grep -c . || true
}

body_of() {
	local n
	# Line 1 is Return-Path:, then Received: and its tab-led lines.
	n=$(awk 'NR == 1 { next } NR == 2 { next } /^\t/ { next }
	    { print NR - 1; exit }' "$1")
	tail -n +"$((n + 1))" "$1"
}

# reply_count CODE - how many replies in $output start with CODE.
reply_count() {
	printf '%s\n' "$output" | grep -c "^$1[ -]" || true
}

# queued_id - the id in the "250 2.0.0 Ok: queued as ID" replies in
# $output, one a line.
queued_id() {
	printf '%s\n' "$output" | sed -n 's/^250 2\.0\.0 Ok: queued as //p'
}

# --- daemon mode over loopback TCP ------------------------------------------
#
#   daemon_start [CMD...] smtpd -d with the test's config plus "listen
#                         127.0.0.1:0" (the kernel picks the port); sets
#                         DPID (the master) and PORT.  CMD, if given, is
#                         a command that execs smtpd (setpriv ...)
#   daemon_stop           SIGTERM, and wait (bounded) for the master to exit
#   smtp_tcp LINE...      one connection: send the lines, read the replies
#                         until the server closes (at most 10 s)
#   free_port             a loopback port nobody listens on, for tools that
#                         must be told a port (systemd-socket-activate)
#   port_closed           no connection to $PORT is taken any more

daemon_start() {
	local conf
	grep -q '^listen ' "$CONF" || echo "listen 127.0.0.1:0" >>"$CONF"
	conf=$(run_conf)
	# fd 3 is bats' own: a daemon holding it would make bats wait.
	# Arguments, if any, are a command that execs smtpd (setpriv).
	"$@" "$SMTPD" -d -f "$conf" >>"$LOG" 2>&1 3>&- &
	DPID=$!
	daemon_wait || return 1
	PORT=$(sed -n 's/.*event=listen addr=127\.0\.0\.1:\([0-9]*\).*/\1/p' \
	    "$LOG" | head -n 1)
	[ -n "$PORT" ]
}

# daemon_wait - until the daemon DPID has logged its start, 5 s at most;
# fails if it exits first (the caller's check of the port says the rest).
daemon_wait() {
	local i
	for i in $(seq 1 100); do
		grep -q 'event=start' "$LOG" && return 0
		kill -0 "$DPID" 2>/dev/null || return 1
		sleep 0.05
	done
}

# dnsd_run [MODE] - test/dnsd (MODE as its -m) on $ZONE, its pid in
# DNSD, its port in $TMP/dnsport, the questions it got in $TMP/queries.
dnsd_run() {
	"$BATS_TEST_DIRNAME/dnsd" -m "${1:-normal}" -t 60 "$ZONE" \
	    "$TMP/dnsport" 2>"$TMP/queries" 3>&- &
	DNSD=$!
	wait_for test -s "$TMP/dnsport"
}

# dnsd_stop - the dnsd of dnsd_run, if any, gone.
dnsd_stop() {
	[ -z "$DNSD" ] || kill "$DNSD" 2>/dev/null || true
	[ -z "$DNSD" ] || wait "$DNSD" 2>/dev/null || true
}

daemon_stop() {
	[ -n "${DPID:-}" ] || return 0
	# It may be gone already: the test may have signalled it itself.
	kill -TERM "$DPID" 2>/dev/null || true
	gone_within "$DPID" 15 || true
	wait "$DPID" 2>/dev/null || true
	DPID=
}

# gone_within PID SECONDS - wait until process PID has ended; fails if
# it is still there after SECONDS.
gone_within() {
	local i
	for i in $(seq 1 $(($2 * 10))); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	! kill -0 "$1" 2>/dev/null
}

# kill_tree PID - kill PID and its children.  PID is stopped first: a
# pool master would otherwise replace the workers just killed, then die
# and leave the new ones behind.
kill_tree() {
	[ -n "$1" ] || return 0
	kill -STOP "$1" 2>/dev/null || true
	pkill -KILL -P "$1" 2>/dev/null || true
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	return 0
}

# daemon_teardown - for teardown(): nothing may outlive a test.
daemon_teardown() {
	kill_tree "${DPID:-}"
	DPID=
}

# sanitizer_quiet - no ASan or UBSan report in $LOG: a worker that
# crashed after the test had its answer must still fail it.
sanitizer_quiet() {
	! grep -Eq 'Sanitizer|runtime error:' "$LOG"
}

# wait_log ERE - wait (at most 5 s) for a line of $LOG to match.
wait_log() {
	local i
	for i in $(seq 1 50); do
		grep -Eq "$1" "$LOG" && return 0
		sleep 0.1
	done
	return 1
}

# wait_for COMMAND... - run COMMAND every 0.1 s until it succeeds, 5 s
# at most; fails if it never does.
wait_for() {
	local i
	for i in $(seq 1 50); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# port_closed - a connection to 127.0.0.1:$PORT is refused: every
# process of the daemon has closed its listening socket.
port_closed() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null
}

# in_data - a message is being received: its file is in a tmp/.
in_data() {
	[ -n "$(find "$SPOOL" -path '*/tmp/*' -type f)" ]
}

# workers_of PID - the pids of the master's children, one a line.
workers_of() {
	pgrep -P "$1" || true
}

# some_workers PID - the workers of master PID, once it has any (5 s at
# most; fails if none came).
some_workers() {
	local i w
	for i in $(seq 1 50); do
		w=$(workers_of "$1")
		[ -z "$w" ] || { echo "$w"; return 0; }
		sleep 0.1
	done
	return 1
}

smtp_tcp() {
	local fd
	exec {fd}<>"/dev/tcp/127.0.0.1/$PORT" || return 1
	printf '%s\r\n' "$@" >&"$fd"
	timeout 10 cat <&"$fd" | tr -d '\r'
	exec {fd}>&-
}

# Drawn from 20000-32767, below Linux's ephemeral range (32768-60999):
# the kernel never picks it for a client's end of a connection.
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 12768))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || break
	done
	echo "$p"
}

# replies FD - what the server sends on FD, without CR, until it closes
# (a reset counts as closing).  Fails when it has not within 10 s.
replies() {
	local rc
	timeout 10 cat <&"$1" >"$TMP/replies" 2>/dev/null
	rc=$?
	tr -d '\r' <"$TMP/replies"
	[ "$rc" -ne 124 ]
}

# send BYTES - one connection to 127.0.0.1:$PORT: BYTES (printf %b
# escapes) in one write, then the replies as replies() gives them.
send() {
	local fd rc
	printf '%b' "$1" >"$TMP/request"
	exec {fd}<>"/dev/tcp/127.0.0.1/$PORT" || return 1
	cat "$TMP/request" >&"$fd" 2>/dev/null
	replies "$fd"
	rc=$?
	exec {fd}>&-
	return $rc
}

# header_session HEADER LINE... - on ${HOST:-127.0.0.1}:$PORT: HEADER
# (printf %b escapes, e.g. a PROXY header), then, once the greeting has
# come, the lines, each ended by CRLF; the replies without CR until the
# server closes.  Fails when no greeting comes or the server does not
# close within 10 s.
header_session() {
	local fd greeting rc
	exec {fd}<>"/dev/tcp/${HOST:-127.0.0.1}/$PORT" || return 1
	printf '%b' "$1" >&"$fd"
	shift
	if ! IFS= read -r -t 10 -u "$fd" greeting; then
		exec {fd}>&-
		return 1
	fi
	printf '%s\n' "${greeting%$'\r'}"
	printf '%s\r\n' "$@" >&"$fd"
	replies "$fd"
	rc=$?
	exec {fd}>&-
	return $rc
}

# delivered_from RECEIVED PEER - one message for u@example.org, stamped
# "Received: from c (RECEIVED)" and logged as accepted from PEER.
delivered_from() {
	[ "$(count_messages example.org u)" -eq 1 ]
	grep -Fq "Received: from c ($1)" "$(maildir_files example.org u)"
	grep -Fq " peer=$2 helo=\"c\" from=\"<a@b.example>\" " "$LOG"
}

# The log's grammar and reference, smtpd(8)'s "Logging" (test/log.bats, and
# the files whose events it cannot cause).

# parse [FILE] - every line of FILE ($LOG by default) read with the
# grammar, its pairs in $TMP/pairs (LINE SESSION EVENT KEY VALUE, tab
# separated); fails, naming the line, when one does not fit.
parse() {
	LC_ALL=C awk -f "$BATS_TEST_DIRNAME/logparse.awk" "${1:-$LOG}" \
	    >"$TMP/pairs"
}

# documented - every event in $TMP/pairs has its entry in smtpd(8)'s
# "Logging", and every key of it is named in that entry, in the entry's
# order (error= and truncated= may end any line).
documented() {
	awk -F '\t' '
	NR == FNR {
		# ".It Li a , b" opens the entry of a and b, up to the next .It
		# or the end of the list; its keys are the words of its Li
		# macros, up to the next macro (Ns, Ar, ...), before their "=".
		if ($0 ~ /^\.It Li [a-z-]+( , [a-z-]+)*$/) {
			sub(/^\.It Li /, "")
			n = split($0, names, / , /)
			for (i = 1; i <= n; i++)
				known[names[i]] = 1
			next
		}
		if ($0 ~ /^\.(It|El)( |$)/) {
			n = 0
			next
		}
		m = split($0, w, / /)
		li = 0
		for (j = 1; j <= m; j++) {
			if (w[j] ~ /^\.?[A-Z][a-z][a-z]?$/) {
				li = w[j] ~ /Li$/
				continue
			}
			if (!li)
				continue
			k = w[j]
			sub(/=.*/, "", k)
			sub(/[^a-z0-9-]+$/, "", k)
			for (i = 1; i <= n; i++)
				if (!((names[i], k) in keys))
					keys[names[i], k] = ++nk[names[i]]
		}
		next
	}
	$1 != line {
		line = $1
		last = 0
		split("", seen)
	}
	{
		if (!($3 in known)) {
			if (!($3 in said))
				print "event=" $3 " is not in smtpd(8)"
			said[$3] = bad = 1
			next
		}
		if ($4 == "event" || $4 == "error" || $4 == "truncated" ||
		    ($4 in seen))
			next
		seen[$4] = 1
		if (!(($3, $4) in keys)) {
			if (!(($3, $4) in said))
				print "event=" $3 ": key " $4 " is not in its entry"
			said[$3, $4] = bad = 1
			next
		}
		# A key named again (rcpt) may come back; a new one comes in
		# the entry order.
		if (keys[$3, $4] < last) {
			print "line " $1 ": key " $4 " of event=" $3 \
			    " is out of smtpd(8)'"'"'s order"
			bad = 1
		}
		last = keys[$3, $4]
	}
	END { exit bad }' "$BATS_TEST_DIRNAME/../smtpd.8" "$TMP/pairs"
}
