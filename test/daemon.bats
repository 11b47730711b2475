#!/usr/bin/env bats
# The pre-forking daemon over loopback TCP: pool, signals, privileges.

load helper

setup() {
	smtpd_setup
	# Every client here comes from 127.0.0.1: no per-address limit
	# (pool.bats tests it).
	conf "workers 2" "max-per-address 0"
}

teardown() {
	daemon_teardown
	sanitizer_quiet
}

@test "the daemon serves a session on its listen address" {
	daemon_start
	run smtp_tcp "EHLO c" "MAIL FROM:<a@b.example>" "RCPT TO:<u@example.org>" \
	    "DATA" "Subject: tcp" "" "hi" "." "QUIT"
	[[ "${lines[0]}" == "220 mx.test ESMTP smtpd" ]]
	[[ "$output" == *"250 2.0.0 Ok: queued as "* ]]
	[ "$(count_messages example.org u)" -eq 1 ]
	grep -q "Received: from c (\[127.0.0.1\])" "$(maildir_files example.org u)"
	grep -Eq 'event=accept id=[^ ]+ peer=127\.0\.0\.1 helo="c" from="<a@b\.example>" rcpts=1 size=[0-9]+' "$LOG"
	# Started as root it runs as the user; else it changes no ids.
	user='\(unchanged\)'
	[ "$(id -u)" -ne 0 ] || user=nobody
	grep -Eq "^event=start pid=$DPID workers=2 max-per-address=0 user=$user fs=[a-z]+ seccomp=on$" "$LOG"
}

# A connection the test keeps open: conn_open, conn_send LINE...,
# conn_expect REGEX (reads reply lines until one matches, 5 s at most).
conn_open() {
	exec {CONN}<>"/dev/tcp/127.0.0.1/$PORT"
	conn_expect '^220 '
}

conn_send() {
	printf '%s\r\n' "$@" >&"$CONN"
}

# conn_line - read the next reply line (5 s at most) into LINE, without
# its CR, and keep it in $TMP/conn for the messages below.
conn_line() {
	IFS= read -r -t 5 LINE <&"$CONN" || return 1
	LINE=${LINE%$'\r'}
	echo "$LINE" >>"$TMP/conn"
}

conn_expect() {
	while conn_line; do
		[[ "$LINE" =~ $1 ]] && return 0
	done
	echo "no reply matching $1; got:" >&2
	cat "$TMP/conn" >&2
	return 1
}

# conn_next REGEX - the next reply line matches REGEX (5 s at most).
conn_next() {
	conn_line && [[ "$LINE" =~ $1 ]] && return 0
	echo "the next reply does not match $1; got:" >&2
	cat "$TMP/conn" >&2
	return 1
}

# client ID N - one session that sends N messages, each with the subject
# "ID-K"; its replies go to $TMP/client.ID.
client() {
	local args=(EHLO c) k
	args=("EHLO c$1")
	for k in $(seq 1 "$2"); do
		args+=("MAIL FROM:<c$1@b.example>" "RCPT TO:<u@example.org>"
		    "DATA" "Subject: $1-$k" "" "body" ".")
	done
	smtp_tcp "${args[@]}" QUIT >"$TMP/client.$1"
}

# stopped SECONDS - wait (bounded) for the master to exit; its exit
# status is then in $STATUS.
stopped() {
	gone_within "$DPID" "$1" || return 1
	STATUS=0
	wait "$DPID" || STATUS=$?
	DPID=
}

# reloads N - at least N event=reload lines in the log (5 s at most).
reloads() {
	wait_for reloaded "$1"
}

reloaded() {
	[ "$(grep -c 'event=reload ' "$LOG")" -ge "$1" ]
}

# pool_of N OLD - the master has N workers, none of them in OLD.
pool_of() {
	local now p
	now=$(workers_of "$DPID")
	[ "$(echo "$now" | grep -c .)" -eq "$1" ] || return 1
	for p in $2; do
		! echo "$now" | grep -qx "$p" || return 1
	done
}

@test "the daemon listens on IPv6 too" {
	ip -6 addr show lo 2>/dev/null | grep -q '::1' || skip "no ::1 here"
	conf "listen 127.0.0.1:0" "listen [::1]:0"
	daemon_start
	port6=$(sed -n 's/.*event=listen addr=\[::1\]:\([0-9]*\).*/\1/p' "$LOG")
	exec {fd}<>"/dev/tcp/::1/$port6"
	printf 'EHLO six\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<u@example.org>\r\nDATA\r\nv6\r\n.\r\nQUIT\r\n' >&"$fd"
	run timeout 10 cat <&"$fd"
	exec {fd}>&-
	[[ "$output" == *"250 2.0.0 Ok: queued"* ]]
	grep -q 'Received: from six (\[IPv6:::1\])' "$(maildir_files example.org u)"
}

@test "further connections wait in a listen queue 128 deep" {
	command -v ss >/dev/null || skip "ss (iproute2) is not installed"
	daemon_start
	# For a listening socket, ss shows the backlog as Send-Q.
	[ "$(ss -ltnH "sport = :$PORT" | awk '{ print $3 }')" = 128 ]
}

@test "more concurrent sessions than workers: all are served, each message once" {
	daemon_start
	pids=()
	for i in 1 2 3 4 5 6; do client "$i" 1 & pids+=($!); done
	wait "${pids[@]}"
	for i in 1 2 3 4 5 6; do
		grep -q '^250 2.0.0 Ok: queued' "$TMP/client.$i"
	done
	[ "$(count_messages example.org u)" -eq 6 ]
	for i in 1 2 3 4 5 6; do
		[ "$(grep -l "^Subject: $i-1$" $SPOOL/example.org/u/new/* | wc -l)" -eq 1 ]
	done
}

@test "a slow client holding a worker does not stop the others" {
	daemon_start
	conn_open			# holds one of the two workers
	for i in 1 2 3; do
		client "$i" 1
		grep -q '^250 2.0.0 Ok: queued' "$TMP/client.$i"
	done
	conn_send "QUIT"
	conn_expect '^221 '
	[ "$(count_messages example.org u)" -eq 3 ]
}

# eight - the master has its 8 workers.
eight() {
	[ "$(workers_of "$DPID" | grep -c .)" -eq 8 ]
}

@test "connections that come at once each get a worker at once" {
	conf "workers 8"
	daemon_start
	wait_for eight
	fds=()
	for i in 1 2 3 4 5 6; do
		exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"
		fds+=("$fd")
	done
	# Each is greeted while all six stay open: no connection waits
	# for a worker that is busy while others are idle.
	for fd in "${fds[@]}"; do
		IFS= read -r -t 5 line <&"$fd"
		[[ "$line" == "220 "* ]]
	done
	for fd in "${fds[@]}"; do exec {fd}>&-; done
}

@test "a connection wakes one idle worker, not the pool: no failed accept (Linux)" {
	[ "$(uname -s)" = Linux ] || skip "the exclusive wait is Linux's"
	command -v strace >/dev/null || skip "strace is not installed"
	strace -o /dev/null true 2>/dev/null || skip "strace cannot trace here"
	conf "workers 8" "listen 127.0.0.1:0"
	# LeakSanitizer cannot run under ptrace; the other tests cover it.
	ASAN_OPTIONS=detect_leaks=0 strace -f -qq -o "$TMP/trace" \
	    -e trace=accept,accept4 "$SMTPD" -d -f "$(run_conf)" \
	    >>"$LOG" 2>&1 3>&- &
	tracer=$!
	wait_log 'event=start pid='
	DPID=$(sed -n 's/.*event=start pid=\([0-9]*\).*/\1/p' "$LOG")
	PORT=$(sed -n 's/.*event=listen addr=127\.0\.0\.1:\([0-9]*\).*/\1/p' \
	    "$LOG")
	wait_for eight
	# Time for the workers to wait, and for each session's worker to
	# wait again before the next connection.
	sleep 1
	for i in 1 2 3 4 5 6; do
		run smtp_tcp "QUIT"
		[[ "$output" == *"221 2.0.0 "* ]]
		sleep 0.3
	done
	kill -TERM "$DPID"
	wait "$tracer"
	DPID=
	# Woken all at once by pselect(), the idle workers raced for each
	# connection and the losers' accepts failed: 26 for these six.
	[ "$(grep -c 'accept.* EAGAIN' "$TMP/trace")" -le 2 ]
	[ "$(grep -c 'accept4\?(' "$TMP/trace")" -ge 6 ]
}

@test "kill -9 of a worker: the master replaces it, acknowledged mail stays" {
	daemon_start
	client 1 2
	old=$(workers_of "$DPID")
	victim=$(echo "$old" | head -n 1)
	kill -KILL "$victim"
	for i in $(seq 1 40); do
		now=$(workers_of "$DPID")
		[ "$(echo "$now" | grep -c .)" -eq 2 ] &&
		    ! echo "$now" | grep -qx "$victim" && break
		sleep 0.05
	done
	! echo "$now" | grep -qx "$victim"
	[ "$(echo "$now" | grep -c .)" -eq 2 ]
	grep -q "event=worker-exit pid=$victim signal=SIGKILL$" "$LOG"
	client 2 1
	[ "$(count_messages example.org u)" -eq 3 ]
}

@test "a session killed in the middle of DATA leaves nothing in new/" {
	conf "workers 1"
	daemon_start
	conn_open
	conn_send "EHLO c" "MAIL FROM:<a@b.example>" "RCPT TO:<u@example.org>" \
	    "DATA" "Subject: cut" "" "half"
	conn_expect '^354 '
	pkill -KILL -P "$DPID"
	! conn_expect '^250 2.0.0'
	[ "$(count_messages example.org u)" -eq 0 ]
	# The replacement serves the next client.
	client 1 1
	[ "$(count_messages example.org u)" -eq 1 ]
}

@test "a worker exits after max-sessions and is replaced" {
	conf "workers 1" "max-sessions 2"
	daemon_start
	first=$(workers_of "$DPID")
	client 1 1
	client 2 1
	wait_log "event=worker-exit pid=$first status=0"
	client 3 1
	[ "$(count_messages example.org u)" -eq 3 ]
	[ "$(workers_of "$DPID")" != "$first" ]
}

@test "after 221 the server drops what the client still sends, for 2 s at most" {
	local fd t0 t1 rc
	daemon_start
	exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"
	# A client that pipelines QUIT and goes on talking: its writes
	# fail only once the server has closed for good.
	t0=$(date +%s%N)
	(
		printf 'EHLO c\r\nQUIT\r\n'
		while printf 'NOOP\r\n'; do sleep 0.05; done
	) >&"$fd" 2>/dev/null 3>&- &
	writer=$!
	timeout 10 cat <&"$fd" | tr -d '\r' >"$TMP/out"
	rc=0
	# tail looks every -s seconds (1 s by default).
	timeout 10 tail -s 0.01 --pid="$writer" -f /dev/null || rc=$?
	t1=$(date +%s%N)
	exec {fd}>&-
	kill "$writer" 2>/dev/null || true
	[ "$rc" -eq 0 ]
	# The 221 came whole, and was the last reply.
	[ "$(tail -n 1 "$TMP/out")" = "221 2.0.0 mx.test closing connection" ]
	ms=$(((t1 - t0) / 1000000))
	echo "closed after $ms ms"
	[ "$ms" -ge 2000 ] && [ "$ms" -lt 3500 ]
}

@test "SIGHUP: a changed domain takes effect for new sessions" {
	daemon_start
	run smtp_tcp "EHLO c" "MAIL FROM:<a@b.example>" "RCPT TO:<u@example.net>" "QUIT"
	[[ "$output" == *"550 5.7.1 "* ]]
	old=$(workers_of "$DPID")
	sed -i 's/^domain example.org$/domain example.net/' "$CONF"
	run_conf >/dev/null
	kill -HUP "$DPID"
	# The workers that read the old file have left.
	for p in $old; do wait_log "event=worker-exit pid=$p "; done
	run smtp_tcp "EHLO c" "MAIL FROM:<a@b.example>" "RCPT TO:<u@example.net>" \
	    "RCPT TO:<u@example.org>" "QUIT"
	[[ "${lines[9]}" == "250 2.1.5 Ok" ]]
	[[ "${lines[10]}" == "550 5.7.1 "* ]]
}

@test "SIGHUP with a broken config: refused, logged, the old one serves on" {
	daemon_start
	before=$(workers_of "$DPID")
	echo "relayhost example.com" >>"$CONF"
	run_conf >/dev/null
	kill -HUP "$DPID"
	wait_log "event=reload-failed"
	grep -q 'event=conf-error file=[^ ]* line=[0-9]* reason="unknown keyword: relayhost"' "$LOG"
	[ "$(workers_of "$DPID")" = "$before" ]
	client 1 1
	grep -q '^250 2.0.0 Ok: queued' "$TMP/client.1"
}

@test "SIGHUP: a session in progress finishes under the old configuration" {
	daemon_start
	conn_open
	conn_send "EHLO c" "MAIL FROM:<a@b.example>"
	conn_expect '^250 2.1.0 '
	sed -i 's/^domain example.org$/domain example.net/' "$CONF"
	run_conf >/dev/null
	kill -HUP "$DPID"
	wait_log "event=reload "
	# The idle worker has left; its successor has the new file, which
	# refuses example.org.
	wait_log "event=worker-exit "
	run smtp_tcp "EHLO c" "MAIL FROM:<a@b.example>" "RCPT TO:<u@example.org>" \
	    "QUIT"
	[ "${lines[9]}" = "550 5.7.1 <u@example.org>: Relay access denied" ]
	# The session that began before the reload still takes it.
	conn_send "RCPT TO:<u@example.org>"
	conn_next '^250 2\.1\.5 Ok$'
	conn_send "DATA" "during reload" "." "QUIT"
	conn_expect '^250 2.0.0 Ok: queued'
	conn_expect '^221 '
	[ "$(count_messages example.org u)" -eq 1 ]
}

@test "SIGHUP while every worker is in a session: twice workers, then workers again" {
	local a b
	daemon_start
	old=$(workers_of "$DPID")
	exec {a}<>"/dev/tcp/127.0.0.1/$PORT" {b}<>"/dev/tcp/127.0.0.1/$PORT"
	for fd in "$a" "$b"; do
		IFS= read -r -t 5 -u "$fd" line
		[[ "$line" == "220 "* ]]
	done
	kill -HUP "$DPID"
	wait_log "event=reload "
	# Both old workers are busy, and two new ones serve meanwhile.
	count() { [ "$(workers_of "$DPID" | grep -c .)" -eq "$1" ]; }
	wait_for count 4
	for p in $old; do workers_of "$DPID" | grep -qx "$p"; done
	printf 'QUIT\r\n' >&"$a"
	printf 'QUIT\r\n' >&"$b"
	exec {a}>&- {b}>&-
	wait_for pool_of 2 "$old"
}

@test "SIGHUP: a changed listen or user is logged as reload-partial and not used" {
	local partial='event=reload-partial reason="listen and user changes take a restart"'
	daemon_start
	# A change of domain alone is not partial.
	echo "domain example.net" >>"$CONF"
	run_conf >/dev/null
	kill -HUP "$DPID"
	reloads 1
	[ "$(grep -cxF "$partial" "$LOG")" -eq 0 ]
	# Another listen address: logged, not bound, the old one serves.
	other=$(free_port)
	sed -i "s/^listen .*/listen 127.0.0.1:$other/" "$CONF"
	run_conf >/dev/null
	kill -HUP "$DPID"
	reloads 2
	[ "$(grep -cxF "$partial" "$LOG")" -eq 1 ]
	! (exec 3<>"/dev/tcp/127.0.0.1/$other") 2>/dev/null
	# Another user: logged.
	c=$(run_conf)
	echo "user smtpd-test-other" >>"$c"
	kill -HUP "$DPID"
	reloads 3
	[ "$(grep -cxF "$partial" "$LOG")" -eq 2 ]
	# Each partial line came just before its reload line.
	[ "$(grep -A1 -xF "$partial" "$LOG" | grep -c '^event=reload ')" -eq 2 ]
	client 1 1
	grep -q '^250 2.0.0 Ok: queued' "$TMP/client.1"
	[ "$(count_messages example.org u)" -eq 1 ]
}

@test "SIGHUP: a new workers count grows and shrinks the pool" {
	daemon_start
	grep -Eq "^event=start pid=$DPID workers=2 " "$LOG"
	old=$(workers_of "$DPID")
	[ "$(echo "$old" | grep -c .)" -eq 2 ]
	conf "workers 4"
	c=$(run_conf)
	kill -HUP "$DPID"
	wait_log "^event=reload file=$(realpath "$c") workers=4$"
	wait_for pool_of 4 "$old"
	kill -USR1 "$DPID"
	wait_log '^event=scoreboard busy=0 idle=4 stress=no$'
	old=$(workers_of "$DPID")
	conf "workers 1"
	run_conf >/dev/null
	kill -HUP "$DPID"
	wait_log "^event=reload file=$(realpath "$c") workers=1$"
	wait_for pool_of 1 "$old"
	client 1 1
	grep -q '^250 2.0.0 Ok: queued' "$TMP/client.1"
	pool_of 1 "$old"
}

@test "SIGHUP: a new hostname greets and stamps Received:, file names keep the old one" {
	daemon_start
	old=$(workers_of "$DPID")
	sed -i 's/^hostname mx.test$/hostname mx2.test/' "$CONF"
	run_conf >/dev/null
	kill -HUP "$DPID"
	for p in $old; do wait_log "event=worker-exit pid=$p "; done
	run smtp_tcp "EHLO c" "MAIL FROM:<a@b.example>" "RCPT TO:<u@example.org>" \
	    "DATA" "hi" "." "QUIT"
	[ "${lines[0]}" = "220 mx2.test ESMTP smtpd" ]
	[ "${lines[1]}" = "250-mx2.test Hello c" ]
	[ "${lines[-1]}" = "221 2.0.0 mx2.test closing connection" ]
	id=$(queued_id)
	f=$(maildir_files example.org u)
	[ "$(sed -n 3p "$f")" = "	by mx2.test (smtpd) with ESMTP id $id" ]
	[[ "${f##*/}" == "$id.mx.test,S="* ]]
}

@test "SIGTERM: the master exits 0 and no process is left" {
	daemon_start
	client 1 1
	pids="$DPID $(workers_of "$DPID")"
	kill -TERM "$DPID"
	stopped 15
	[ "$STATUS" -eq 0 ]
	for p in $pids; do ! kill -0 "$p" 2>/dev/null; done
	grep -qx "event=stop workers=2" "$LOG"
	! grep -q "event=kill" "$LOG"
	[ "$(count_messages example.org u)" -eq 1 ]
}

@test "SIGINT stops the daemon as SIGTERM does" {
	daemon_start
	pids="$DPID $(workers_of "$DPID")"
	conn_open
	conn_send "EHLO c"
	conn_expect '^250 CHUNKING'
	kill -INT "$DPID"
	conn_next '^421 4\.3\.2 mx\.test Service shutting down, closing connection$'
	stopped 15
	[ "$STATUS" -eq 0 ]
	for p in $pids; do ! kill -0 "$p" 2>/dev/null; done
	grep -qx "event=stop workers=2" "$LOG"
}

@test "a session still running 10 s after SIGTERM is killed: event=kill, nothing stored" {
	# One worker in a session is a pool under stress: stress-timeout
	# must outlast the master's 10 s, or the session ends by itself.
	conf "workers 1" "timeout 60" "data-timeout 60" "stress-timeout 60"
	daemon_start
	conn_open
	conn_send "EHLO c" "MAIL FROM:<a@b.example>" "RCPT TO:<u@example.org>" \
	    "DATA" "Subject: never ends"
	conn_expect '^354 '
	worker=$(workers_of "$DPID")
	SECONDS=0
	kill -TERM "$DPID"
	stopped 20
	[ "$STATUS" -eq 0 ]
	[ "$SECONDS" -ge 10 ]
	grep -qx "event=kill pid=$worker after=10s" "$LOG"
	! kill -0 "$worker" 2>/dev/null
	# The connection closes without an answer to the message.
	! conn_expect '^250 2\.0\.0'
	[ "$(count_messages example.org u)" -eq 0 ]
}

@test "SIGTERM during DATA: the message is stored and answered, then 421 4.3.2" {
	daemon_start
	conn_open
	conn_send "EHLO c" "MAIL FROM:<a@b.example>" "RCPT TO:<u@example.org>" \
	    "DATA" "Subject: in flight" "" "first half"
	conn_expect '^354 '
	kill -TERM "$DPID"
	# The worker closes its listening socket as SIGTERM reaches it.
	wait_for port_closed
	conn_send "second half" "." "NOOP"
	conn_expect '^250 2.0.0 Ok: queued'
	conn_expect '^421 4.3.2 '
	[ "$(count_messages example.org u)" -eq 1 ]
	daemon_stop
}

@test "SIGTERM: an idle session is told 421 4.3.2 at once" {
	daemon_start
	conn_open
	conn_send "EHLO c"
	conn_expect '^250 CHUNKING'
	kill -TERM "$DPID"
	conn_expect '^421 4.3.2 mx.test Service shutting down'
	daemon_stop
}

@test "SIGTERM ends a single session (-i) at once, without a reply or delivery" {
	local conf pid in rc
	conf=$(run_conf)
	mkfifo "$TMP/to"
	"$SMTPD" -i -d -f "$conf" <"$TMP/to" >"$TMP/out" 2>>"$LOG" 3>&- &
	pid=$!
	DPID=$pid		# for teardown
	exec {in}>"$TMP/to"
	printf '%s\r\n' "EHLO c" "MAIL FROM:<a@b.example>" \
	    "RCPT TO:<u@example.org>" "DATA" "Subject: cut" "" "half" >&"$in"
	wait_for in_data
	kill -TERM "$pid"
	wait_for eval '! kill -0 "$pid" 2>/dev/null'
	rc=0
	wait "$pid" || rc=$?
	DPID=
	exec {in}>&-
	# Killed by the signal: 128 + 15.
	[ "$rc" -eq 143 ]
	[ "$(tail -n 1 "$TMP/out")" = $'354 End data with <CR><LF>.<CR><LF>\r' ]
	[ "$(count_messages example.org u)" -eq 0 ]
}

@test "SIGHUP with a file the user cannot read: reload-failed, the old one serves on" {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	daemon_start
	before=$(workers_of "$DPID")
	chmod 600 "$RUNCONF"
	kill -HUP "$DPID"
	wait_log "event=reload-failed"
	grep -qxF "event=reload-failed file=$(realpath "$RUNCONF") action=kept-running" "$LOG"
	grep -q "$(realpath "$RUNCONF").*Permission denied" "$LOG"
	[ "$(workers_of "$DPID")" = "$before" ]
	client 1 1
	grep -q '^250 2.0.0 Ok: queued' "$TMP/client.1"
}

@test "workers that die at start are respawned with a growing pause" {
	daemon_start
	# Kill every worker as soon as it exists, until the pause is 4 s
	# (20 s at most): each round of quick deaths doubles it (1 s, 2 s,
	# 4 s).  On a loaded machine a worker may outlive its first second
	# before pkill finds it; its end clears the pause, which starts
	# again at 1 s.
	for i in $(seq 1 400); do
		pkill -KILL -P "$DPID" || true
		grep -q "event=throttle .*backoff=4s" "$LOG" && break
		sleep 0.05
	done
	grep -E '^event=(throttle|worker-exit) ' "$LOG"
	[ "$(grep -Eo 'event=throttle pid=[0-9]+ reason=died-at-start backoff=[0-9]+s$' "$LOG" |
	    sed 's/.* //' | tail -n 3 | tr '\n' ' ')" = "backoff=1s backoff=2s backoff=4s " ]
	# One throttle line a round, not one per dead worker: both workers
	# of a round die between two lines.
	awk '/event=worker-exit/ { n++ }
	    /event=throttle/ { if (seen && n < 2) bad = 1; seen = 1; n = 0 }
	    END { exit bad }' "$LOG"
	# Bounded: two deaths a round, not a fork loop.
	[ "$(grep -c 'event=worker-exit' "$LOG")" -le \
	    $((2 * $(grep -c 'event=throttle' "$LOG") + 2)) ]
	kill -0 "$DPID"
}

@test "started as root, the master and workers run as the configured user" {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	daemon_start
	uid=$(id -u nobody)
	gid=$(id -g nobody)
	for p in "$DPID" $(workers_of "$DPID"); do
		grep -Eq "^Uid:\s+$uid\s+$uid\s+$uid\s+$uid$" "/proc/$p/status"
		grep -Eq "^Gid:\s+$gid\s+$gid\s+$gid\s+$gid$" "/proc/$p/status"
		grep -Eq "^Groups:\s+$gid\s*$" "/proc/$p/status"
	done
}

@test "started as root, smtpd -i serves its session as the user" {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	run smtp "EHLO c" "MAIL FROM:<a@b.example>" "RCPT TO:<u@example.org>" \
	    "DATA" "hi" "." "QUIT"
	[ "$status" -eq 0 ]
	[ "$(count_messages example.org u)" -eq 1 ]
	for f in "$SPOOL/example.org" "$SPOOL/example.org/u/new" \
	    "$(maildir_files example.org u)"; do
		[ "$(stat -c %U:%G "$f")" = "nobody:$(id -gn nobody)" ]
	done
}

@test "started as root with a user that does not exist, smtpd refuses" {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	conf "listen 127.0.0.1:0"
	run_conf >/dev/null
	echo "user no-such-user-here" >>"$RUNCONF"
	run timeout 5 "$SMTPD" -d -f "$RUNCONF"
	[ "$status" -eq 1 ]
	[[ "$output" == *'event=no-user user=no-such-user-here reason="refusing to run as root: create the user'* ]]
}

@test "started as root with user root, smtpd refuses, as a daemon and under -i" {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	conf "listen 127.0.0.1:0"
	c=$(run_conf)
	echo "user root" >>"$c"
	run timeout 5 "$SMTPD" -d -f "$c"
	[ "$status" -eq 1 ]
	[ "$output" = 'event=no-user user=root reason="the user is root: refusing to run as root"' ]
	run timeout 5 "$SMTPD" -i -d -f "$c" </dev/null
	[ "$status" -eq 1 ]
	[ "$output" = 'event=no-user user=root reason="the user is root: refusing to run as root"' ]
	[ ! -e "$SPOOL" ]
}

@test "started as root, a spool smtpd creates is given to the user" {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	[ ! -e "$SPOOL" ]
	daemon_start
	[ "$(stat -c '%U %a' "$SPOOL")" = "nobody 700" ]
	! grep -q 'event=spool-owner' "$LOG"
	client 1 1
	[ "$(count_messages example.org u)" -eq 1 ]
}

@test "started as root, a spool that belongs to someone else is a warning" {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	c=$(run_conf)
	mkdir -m 700 "$SPOOL"		# root's, after run_conf's chown
	printf 'QUIT\r\n' | "$SMTPD" -i -d -f "$c" 2>"$LOG"
	grep -qxF "event=spool-owner spool=$SPOOL uid=0 user=nobody reason=\"deliveries will fail\"" "$LOG"
	[ "$(stat -c %U "$SPOOL")" = root ]
}

@test "a spool that cannot be opened: the daemon exits 1" {
	: >"$TMP/file"
	sed -i "s|^spool .*|spool $TMP/file/spool|" "$CONF"
	conf "listen 127.0.0.1:0"
	run timeout 5 "$SMTPD" -d -f "$(run_conf)"
	[ "$status" -eq 1 ]
	grep -qxF "event=store-error call=mkdir file=$TMP/file/spool error=\"Not a directory\"" <<<"$output"
	[[ "$output" != *"event=start"* ]]
	[[ "$output" != *Sanitizer* ]]		# nothing leaked on the way out
}

@test "a port below 1024 without root: exit 1" {
	local low
	low=$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start 2>/dev/null ||
	    echo 1024)
	[ "$low" -gt 1 ] || skip "every port is open to every user here"
	[ "$low" -le 1024 ] || low=1024
	conf "listen 127.0.0.1:$((low - 1))"
	c=$(run_conf)
	if [ "$(id -u)" -eq 0 ]; then
		command -v setpriv >/dev/null || skip "setpriv is not installed"
		run timeout 5 setpriv --reuid="$(id -u nobody)" \
		    --regid="$(id -g nobody)" --clear-groups "$SMTPD" -d -f "$c"
	else
		run timeout 5 "$SMTPD" -d -f "$c"
	fi
	[ "$status" -eq 1 ]
	[ "$output" = "event=listen-failed host=127.0.0.1 port=$((low - 1)) error=\"Permission denied\"" ]
}

@test "a listen address already in use: a clear error and exit 1" {
	daemon_start
	conf2=$TMP/second.conf
	sed "s/^listen .*/listen 127.0.0.1:$PORT/" "$(run_conf)" >"$conf2"
	run timeout 5 "$SMTPD" -d -f "$conf2"
	[ "$status" -eq 1 ]
	[[ "$output" == *"event=listen-failed host=127.0.0.1 port=$PORT error=\"Address already in use\""* ]]
}

@test "without -d the daemon detaches and keeps serving" {
	port=$(free_port)
	conf "listen 127.0.0.1:$port"
	c=$(run_conf)
	run timeout 5 "$SMTPD" -f "$c" 3>&-
	[ "$status" -eq 0 ]
	master=$(pgrep -f -- "-f $c\$" | head -n 1)
	[ -n "$master" ]
	DPID=$master		# for teardown
	PORT=$port
	client 1 1
	grep -q '^250 2.0.0 Ok: queued' "$TMP/client.1"
	# A session leader in /, its standard descriptors on /dev/null.
	[ "$(ps -o sid= -p "$master" | tr -d ' ')" = "$master" ]
	[ "$(readlink "/proc/$master/cwd")" = / ]
	for fd in 0 1 2; do
		[ "$(readlink "/proc/$master/fd/$fd")" = /dev/null ]
	done
	kill -TERM "$master"
	gone_within "$master" 5
	DPID=
}

@test "200 messages from 20 concurrent clients all land exactly once" {
	conf "workers 4"
	daemon_start
	pids=()
	for i in $(seq 1 20); do client "$i" 10 & pids+=($!); done
	wait "${pids[@]}"
	[ "$(count_messages example.org u)" -eq 200 ]
	cat $SPOOL/example.org/u/new/* | grep '^Subject: ' | sort | uniq -c |
	    awk '$1 != 1 { bad++ } END { exit bad > 0 }'
	[ "$(cat $SPOOL/example.org/u/new/* | grep -c '^Subject: ')" -eq 200 ]
}

@test "kill -9 of the master: the workers leave too, the port is free" {
	daemon_start
	workers=$(workers_of "$DPID")
	[ -n "$workers" ]
	kill -KILL "$DPID"
	wait "$DPID" 2>/dev/null || true
	DPID=
	for i in $(seq 1 50); do
		alive=0
		for p in $workers; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ "$alive" -eq 0 ] && break
		sleep 0.1
	done
	[ "$alive" -eq 0 ]
	grep -q "event=orphaned" "$LOG"
	! (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null
}

# --- resource limits ----------------------------------------------------------

# no_fork PID - its RLIMIT_NPROC is 0, but in the sanitizer build, where
# LeakSanitizer must fork to check at exit.
no_fork() {
	if [[ "$SMTPD" == *-asan ]]; then
		! grep -Eq '^Max processes +0 ' "/proc/$1/limits"
	else
		grep -Eq '^Max processes +0 +0 ' "/proc/$1/limits"
	fi
}

@test "a worker's limits: no new process, 96 descriptors and one per listener" {
	conf "workers 1"
	daemon_start
	worker=$(some_workers "$DPID")
	no_fork "$worker"
	grep -Eq '^Max open files +97 +97 ' "/proc/$worker/limits"
	# -d logs to a file here: no file size limit, core dumps as they were.
	grep -Eq '^Max file size +unlimited ' "/proc/$worker/limits"
	# The master keeps its own.
	! grep -Eq '^Max processes +0 ' "/proc/$DPID/limits"
	run smtp_tcp "EHLO c" "MAIL FROM:<a@b.example>" "RCPT TO:<u@example.org>" \
	    "DATA" "limited" "." "QUIT"
	[[ "$output" == *"250 2.0.0 Ok: queued as "* ]]
	[ "$(count_messages example.org u)" -eq 1 ]
}

@test "without the seccomp filter too, a fork attempted in a worker fails" {
	command -v gdb >/dev/null || skip "gdb is not installed"
	[[ "$SMTPD" != *-asan ]] || skip "the sanitizer build may fork"
	# With the filter, the fork kills the worker: see contain.bats.
	conf "workers 1" "seccomp no"
	daemon_start
	worker=$(some_workers "$DPID")
	run timeout 60 gdb -p "$worker" -batch -ex 'call (int)fork()'
	[[ "$output" != *"ptrace: Operation not permitted"* ]] ||
	    skip "gdb cannot attach here"
	echo "$output"
	[[ "$output" == *'$1 = -1'* ]]
	# Nothing new under the worker, and it still serves.
	[ -z "$(pgrep -P "$worker")" ]
	run smtp_tcp "EHLO c" "QUIT"
	[[ "$output" == *"221 2.0.0 "* ]]
}

@test "smtpd -i, logging to syslog: no core dumps, no file over max-message-size" {
	conf "max-message-size 10M"
	pipe_open
	grep -Eq '^Max core file size +0 +0 ' "/proc/$IPID/limits"
	# 10 MiB and a MiB of room, in octets.
	grep -Eq '^Max file size +11534336 +11534336 ' "/proc/$IPID/limits"
	no_fork "$IPID"
	pipe_close QUIT
	grep -q '^221 ' "$TMP/out"
}
