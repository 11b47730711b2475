#!/usr/bin/env bats
# The pool under attack: deadlines that dripping clients cannot stretch,
# the junk-command and per-address limits, stress, greet-pause, SIGUSR1,
# and listening sockets let go at once.  Most clients are test/smtpc; its
# ms= figures count from its connect(), so a cut "at the deadline" shows
# as ms= a little above it.  Bounds are generous: the machine is shared.

load helper

setup() {
	smtpd_setup
	BG=()
	EXTRA=()
}

teardown() {
	local p
	for p in "${BG[@]}"; do kill_tree "$p"; done
	daemon_teardown
	# Old workers and second daemons, if they are still smtpd: a pid
	# may have been reused once its process was gone.
	for p in "${EXTRA[@]}"; do
		grep -qF "$SMTPD" "/proc/$p/cmdline" 2>/dev/null && kill_tree "$p"
	done
	sanitizer_quiet
}

# client ARG... - smtpc against the daemon under test.
client() {
	"$BATS_TEST_DIRNAME/smtpc" -p "$PORT" "$@"
}

# client_bg OUT ARG... - the same in the background, its lines to OUT;
# teardown kills it.  Sets BGPID.
client_bg() {
	local out=$1
	shift
	"$BATS_TEST_DIRNAME/smtpc" -p "$PORT" "$@" >"$out" 2>&1 3>&- &
	BGPID=$!
	BG+=("$BGPID")
}

# finish PID SECONDS - wait (bounded) for a background job to end.
finish() {
	gone_within "$1" "$2" || true
	wait "$1" 2>/dev/null
	! kill -0 "$1" 2>/dev/null
}

# ms_of LINE - the ms= figure of an smtpc line.
ms_of() {
	sed -n 's/.* ms=\([0-9]*\).*/\1/p' <<<"$1"
}

# between N LOW HIGH - LOW <= N < HIGH, and say so when not.
between() {
	[ -n "$1" ] && [ "$1" -ge "$2" ] && [ "$1" -lt "$3" ] && return 0
	echo "ms=$1, want $2 <= ms < $3" >&2
	return 1
}

# count_log ERE - how many lines of $LOG match.
count_log() {
	grep -Ec "$1" "$LOG" || true
}

# paced SECONDS LINE... - one connection: each line, ended by CRLF,
# SECONDS after the one before; then the replies, without CR, until the
# server closes (10 s at most).  Lines the server no longer takes are
# dropped without a fuss.
paced() {
	local delay=$1 fd reader line
	shift
	exec {fd}<>"/dev/tcp/127.0.0.1/$PORT" || return 1
	timeout 10 cat <&"$fd" >"$TMP/paced" &
	reader=$!
	trap '' PIPE
	for line in "$@"; do
		sleep "$delay"
		printf '%s\r\n' "$line" >&"$fd" 2>/dev/null || break
	done
	wait "$reader"
	exec {fd}>&-
	tr -d '\r' <"$TMP/paced"
}

# second_daemon PORT - another smtpd on 127.0.0.1:PORT, same spool, its
# own config and log ($LOG2); sets PID2.  Fails if it does not start.
second_daemon() {
	local i
	LOG2=$TMP/log2
	: >"$LOG2"
	sed "s/^listen .*/listen 127.0.0.1:$1/" "$(run_conf)" >"$TMP/second.conf"
	chmod 644 "$TMP/second.conf"
	"$SMTPD" -d -f "$TMP/second.conf" >>"$LOG2" 2>&1 3>&- &
	PID2=$!
	EXTRA+=("$PID2")
	for i in $(seq 1 50); do
		grep -q 'event=start' "$LOG2" && return 0
		kill -0 "$PID2" 2>/dev/null || break
		sleep 0.05
	done
	wait "$PID2" 2>/dev/null
	return 1
}

CMD421='421 4.4.2 mx.test Timeout waiting for a command, closing connection'
DATA421='421 4.4.2 mx.test Timeout reading message data, closing connection'
BDAT421='421 4.4.2 mx.test Timeout reading BDAT chunk, closing connection'
SESS421='421 4.4.2 mx.test Session time limit exceeded, closing connection'
JUNK421='421 4.7.0 mx.test Too many commands without mail, closing connection'
ADDR421='421 4.7.0 mx.test Too many connections from your address, closing connection'

# --- deadlines --------------------------------------------------------------

@test "a command dripped one octet at a time is cut at timeout, counted from the start" {
	conf "workers 4" "timeout 2"
	daemon_start
	# An octet every second: "NOOP\r\n" would be whole after 5 s.
	run client -i 1000 -m 10 drip
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == "drip cut ms="*" last=\"$CMD421\"" ]]
	between "$(ms_of "$output")" 2000 4500
	grep -Eq '^[0-9a-f]+ event=timeout phase=command stress=no$' "$LOG"
}

@test "message data dripped one octet at a time is cut at data-timeout; nothing is stored" {
	conf "workers 4" "timeout 30" "data-timeout 2"
	daemon_start
	client_bg "$TMP/out" -i 300 -m 10 data
	# Mid-message the file is in tmp/, so that its absence later means
	# something.
	wait_for in_data
	[ "$(find "$SPOOL" -path "$SPOOL/*/tmp/*" -type f | grep -c .)" -eq 1 ]
	finish "$BGPID" 10
	out=$(cat "$TMP/out")
	echo "$out"
	[[ "$out" == "data cut ms="*" last=\"$DATA421\"" ]]
	# 2 s, plus a few ms for the octets at 1024/s, after DATA.
	between "$(ms_of "$out")" 2000 3900
	grep -Eq 'event=timeout phase=data stress=no$' "$LOG"
	[ "$(count_messages example.org u)" -eq 0 ]
	[ -z "$(find "$SPOOL" -path "$SPOOL/*/tmp/*" -type f)" ]
}

@test "a BDAT chunk dripped one octet at a time is cut at data-timeout" {
	conf "workers 4" "timeout 30" "data-timeout 2"
	daemon_start
	run client -i 300 -m 10 bdat
	echo "$output"
	[[ "$output" == "bdat cut ms="*" last=\"$BDAT421\"" ]]
	between "$(ms_of "$output")" 2000 3900
	grep -Eq 'event=timeout phase=bdat stress=no$' "$LOG"
	[ "$(count_messages example.org u)" -eq 0 ]
	[ -z "$(find "$SPOOL" -path "$SPOOL/*/tmp/*" -type f)" ]
}

@test "an honest slow sender is not cut; one below min-data-rate is" {
	# The deadline is 2 s plus 10 ms for every octet so far: ~200
	# octets/s gains time, ~20 octets/s loses it (cut near 2.5 s).
	conf "workers 4" "max-per-address 0" "timeout 30" "data-timeout 2" \
	    "min-data-rate 100"
	daemon_start
	client_bg "$TMP/fast" -b 127.0.0.2 -i 5 -m 5 data
	fast=$BGPID
	client_bg "$TMP/slow" -b 127.0.0.3 -i 50 -m 10 data
	slow=$BGPID
	finish "$slow" 10
	finish "$fast" 10
	fast=$(cat "$TMP/fast")
	slow=$(cat "$TMP/slow")
	echo "$fast"
	echo "$slow"
	# smtpc gave up at -m 5: the server never cut the fast one.
	[[ "$fast" == "data timeout ms="* ]]
	between "$(ms_of "$fast")" 4900 7000
	[[ "$slow" == "data cut ms="*" last=\"$DATA421\"" ]]
	between "$(ms_of "$slow")" 2000 4500
	[ "$(count_log 'event=timeout phase=data')" -eq 1 ]
}

@test "session-timeout ends a session that keeps every other deadline" {
	# A whole NOOP every 0.5 s keeps the 3 s command deadline, again
	# and again.
	conf "workers 4" "session-timeout 4" "timeout 3" "max-junk-commands 0"
	daemon_start
	run client -i 500 -m 10 noop
	echo "$output"
	[[ "$output" == "noop cut ms="*" last=\"$SESS421\"" ]]
	between "$(ms_of "$output")" 4000 5900
	grep -Eq 'event=timeout phase=session stress=no$' "$LOG"
}

@test "a client that never reads its replies is cut at the write deadline" {
	conf "workers 2" "max-per-address 0" "timeout 2" "max-junk-commands 0"
	daemon_start
	# smtpc noread starts reading after a second of blocked writes,
	# before a 2 s write deadline: this client never reads at all.
	exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"
	SECONDS=0
	rc=0
	timeout 15 yes $'NOOP\r' >&"$fd" 2>/dev/null || rc=$?
	exec {fd}>&-
	# The server closed it (yes failed), long before timeout(1) would,
	# and without lingering: there was no last reply to save.
	[ "$rc" -ne 0 ]
	[ "$rc" -ne 124 ]
	[ "$SECONDS" -lt 4 ]
	grep -Eq '^[0-9a-f]+ event=timeout phase=write unsent=[1-9][0-9]*$' "$LOG"
	[ "$(count_log 'event=reject')" -eq 0 ]
	wait_log 'event=disconnect'
	# The worker is back in the pool and serves the next client.
	kill -USR1 "$DPID"
	wait_log 'event=scoreboard busy=0 idle=2 stress=no'
	run client send
	echo "$output"
	[[ "$output" == "send ok ms="* ]]
	[ "$(count_messages example.org u)" -eq 1 ]
}

# --- the junk-command limit -------------------------------------------------

@test "a NOOP every 100 ms is cut after max-junk-commands" {
	conf "workers 4" "timeout 30" "max-junk-commands 10"
	daemon_start
	noops=()
	for i in $(seq 1 15); do noops+=(NOOP); done
	run paced 0.1 "EHLO c" "${noops[@]}"
	echo "$output"
	[ "$(grep -cx '250 2.0.0 Ok' <<<"$output")" -eq 10 ]
	[ "${lines[-1]}" = "$JUNK421" ]
	grep -q 'event=disconnect messages=0 errors=0 junk=11' "$LOG"
}

@test "an accepted message resets the junk-command count" {
	conf "max-junk-commands 10"
	noops=()
	for i in $(seq 1 8); do noops+=(NOOP); done
	run smtp "EHLO c" "${noops[@]}" "MAIL FROM:<a@b.example>" \
	    "RCPT TO:<u@example.org>" "DATA" "Subject: reset" "" "hi" "." \
	    "${noops[@]}" QUIT
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(grep -cx '250 2.0.0 Ok' <<<"$output")" -eq 16 ]
	[[ "$output" == *"250 2.0.0 Ok: queued as "* ]]
	[ "${lines[-1]}" = "221 2.0.0 mx.test closing connection" ]
	[ "$(reply_count 421)" -eq 0 ]
	[ "$(count_messages example.org u)" -eq 1 ]
}

@test "a HELO or EHLO after the first counts toward max-junk-commands" {
	conf "max-junk-commands 2"
	run smtp "EHLO c" "EHLO c" "HELO c" "EHLO c" "QUIT"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[8]}" = "250-mx.test Hello c" ]
	[ "${lines[15]}" = "250 mx.test" ]
	[ "${lines[16]}" = "$JUNK421" ]
	[ "${#lines[@]}" -eq 17 ]
}

# --- per-address limit ------------------------------------------------------

@test "max-per-address: an address past its limit gets 421 at once, others are served" {
	conf "workers 4" "max-per-address 2" "timeout 30" "data-timeout 30"
	daemon_start
	client_bg "$TMP/flood" -b 127.0.0.9 -c 20 -m 3 idle
	flood=$BGPID
	# Wait (bounded) for the 18 refusals.
	for i in $(seq 1 50); do
		[ "$(count_log "reply=\"421 4.7.0 mx.test Too many connections")" -ge 18 ] && break
		sleep 0.1
	done
	run client -b 127.0.0.10 send
	echo "$output"
	[[ "$output" == "send ok ms="* ]]
	between "$(ms_of "$output")" 0 2000
	finish "$flood" 10
	cat "$TMP/flood"
	[ "$(grep -c "^idle cut ms=[0-9]* last=\"$ADDR421\"$" "$TMP/flood")" -eq 18 ]
	# Refused at once: no linger, no wait for a worker.
	grep "^idle cut " "$TMP/flood" | while read -r line; do
		between "$(ms_of "$line")" 0 2000
	done
	# The two the limit allowed were held until smtpc gave up.
	[ "$(grep -c '^idle timeout ms=' "$TMP/flood")" -eq 2 ]
	grep -q '^idle summary conns=20 cuts=18 ' "$TMP/flood"
	[ "$(count_messages example.org u)" -eq 1 ]
	# Refusals take a worker for microseconds: they never count as busy,
	# and three sessions of four workers are not stress.
	[ "$(count_log 'event=stress')" -eq 0 ]
	# One log line per refusal.
	[ "$(count_log 'event=connect peer=127\.0\.0\.9')" -eq 2 ]
}

@test "max-per-address defaults to a quarter of the pool" {
	conf "workers 8"
	daemon_start
	grep -Eq 'event=start pid=[0-9]+ workers=8 max-per-address=2 ' "$LOG"
	run client -b 127.0.0.12 -c 3 -m 2 idle
	echo "$output"
	[ "$(grep -c "^idle cut ms=[0-9]* last=\"$ADDR421\"$" <<<"$output")" -eq 1 ]
	[ "$(grep -c '^idle timeout ' <<<"$output")" -eq 2 ]
}

@test "max-per-address counts one address: another is not refused" {
	conf "workers 4" "max-per-address 2" "timeout 30"
	daemon_start
	client_bg "$TMP/held" -b 127.0.0.9 -c 2 -m 3 idle
	held=$BGPID
	for i in $(seq 1 50); do
		[ "$(count_log 'event=connect peer=127\.0\.0\.9')" -ge 2 ] && break
		sleep 0.1
	done
	[ "$(count_log 'event=connect peer=127\.0\.0\.9')" -eq 2 ]
	run client -b 127.0.0.11 send
	echo "$output"
	[[ "$output" == "send ok ms="* ]]
	# A third from 127.0.0.9 is over the limit.
	run client -b 127.0.0.9 -m 5 idle
	echo "$output"
	[[ "$output" == "idle cut ms="*" last=\"$ADDR421\"" ]]
	finish "$held" 10
	[ "$(grep -c '^idle timeout ' "$TMP/held")" -eq 2 ]
	[ "$(count_messages example.org u)" -eq 1 ]
}

# --- stress -------------------------------------------------------------------

@test "under attack, stress cuts the attackers and legitimate mail gets through" {
	conf "workers 4" "max-per-address 4" "stress-timeout 1" \
	    "timeout 30" "data-timeout 30"
	daemon_start
	# 16 connections from 8 addresses, each reconnecting when cut.
	i=0
	# A connection waits its turn in the listen queue for seconds, and
	# smtpc's -m counts from connect(): -m 10 lets each be served.
	for spec in "idle 1000" "idle 1000" "drip 300" "drip 300" \
	    "noop 150" "noop 150" "data 300" "data 300"; do
		set -- $spec
		client_bg "$TMP/attack.$i" -b "127.0.0.$((20 + i))" -c 2 -r \
		    -T 20 -m 10 -i "$2" "$1"
		attackers+=("$BGPID")
		i=$((i + 1))
	done
	wait_log 'event=stress state=on busy=4 workers=4'
	run client -b 127.0.0.50 -T 7 -i 1000 -m 20 send
	echo "# legitimate senders under attack:" >&3
	sed 's/^/#   /' <<<"$output" >&3
	ok=$(grep -c '^send ok ' <<<"$output" || true)
	[ "$ok" -ge 1 ]
	[[ "${lines[-1]}" == "send summary sent=$ok ok=$ok "* ]]
	grep '^send ok ' <<<"$output" | while read -r line; do
		between "$(ms_of "$line")" 0 8000
	done
	# The attack stops: smtpc ends its connections on SIGTERM.
	for p in "${attackers[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${attackers[@]}"; do finish "$p" 5; done
	cat "$TMP"/attack.*
	# The attackers were cut (smtpc: cuts=N), and mostly not by a
	# 30 s deadline, which no connection of theirs lived to see.
	for f in "$TMP"/attack.*; do
		grep -Eq '^[a-z]+ summary conns=[0-9]+ cuts=[1-9]' "$f"
	done
	grep -Eq 'event=timeout phase=(command|data) stress=yes$' "$LOG"
	grep -Eq 'event=connect peer=127\.0\.0\.50 stress=yes$' "$LOG"
	wait_log 'event=stress state=off busy=[0-9]+ workers=4'
	[ "$(count_messages example.org u)" -eq "$ok" ]
}

@test "without stress the long timeouts hold: one idle client is not cut at stress-timeout" {
	conf "workers 4" "stress-timeout 1" "timeout 30"
	daemon_start
	run client -m 3 idle
	echo "$output"
	# smtpc gave up after 3 s; the server never cut it.
	[[ "$output" == "idle timeout ms="* ]]
	between "$(ms_of "$output")" 2900 5000
	[ "$(count_log 'event=timeout')" -eq 0 ]
	[ "$(count_log 'event=stress')" -eq 0 ]
}

@test "SIGUSR1 lists the pool: who holds a worker, for how long" {
	conf "workers 4" "timeout 30"
	daemon_start
	client_bg "$TMP/held" -b 127.0.0.7 -m 4 idle
	wait_log 'event=connect peer=127\.0\.0\.7'
	sleep 1
	kill -USR1 "$DPID"
	wait_log 'event=scoreboard busy='
	grep -q 'event=scoreboard busy=1 idle=3 stress=no' "$LOG"
	grep -Eq '^event=scoreboard pid=[0-9]+ state=busy peer=127\.0\.0\.7 seconds=[0-9]+$' "$LOG"
	[ "$(count_log '^event=scoreboard pid=[0-9]+ state=idle$')" -eq 3 ]
	# Every line names a worker of this master.
	for p in $(sed -n 's/^event=scoreboard pid=\([0-9]*\) .*/\1/p' "$LOG"); do
		workers_of "$DPID" | grep -qx "$p"
	done
	busy=$(sed -n 's/.*state=busy .* seconds=\([0-9]*\)$/\1/p' "$LOG")
	[ "$busy" -ge 1 ]
	[ "$busy" -le 4 ]
}

# --- greet-pause --------------------------------------------------------------

# after_greeting LINE... - smtpd -i over pipes, and a client that writes
# the lines only once the greeting has come: first "greet_ms=N", how
# long that took, then the replies without CR until smtpd exits (10 s
# at most).  The status is smtpd's.
after_greeting() {
	local conf pid in out t0 line
	conf=$(run_conf)
	mkfifo "$TMP/to" "$TMP/from"
	t0=$(date +%s%N)
	"$SMTPD" -i -d -f "$conf" <"$TMP/to" >"$TMP/from" 2>>"$LOG" 3>&- &
	pid=$!
	EXTRA+=("$pid")
	exec {in}>"$TMP/to" {out}<"$TMP/from"
	if IFS= read -r -t 10 -u "$out" line; then
		echo "greet_ms=$((($(date +%s%N) - t0) / 1000000))"
		echo "${line%$'\r'}"
		printf '%s\r\n' "$@" >&"$in"
	fi
	exec {in}>&-
	timeout 10 cat <&"$out" | tr -d '\r'
	exec {out}<&-
	wait "$pid"
}

@test "greet-pause: a client that talks before the greeting gets 554 and no 220" {
	conf "greet-pause 1"
	run smtp "EHLO c" "QUIT"
	echo "$output"
	[ "$output" = "554 5.5.1 Protocol error: talking before the greeting" ]
}

@test "greet-pause: a client that waits for the greeting is served" {
	conf "greet-pause 1"
	run after_greeting "EHLO c" "QUIT"
	echo "$output"
	[ "$status" -eq 0 ]
	between "${lines[0]#greet_ms=}" 1000 5000
	[ "${lines[1]}" = "220 mx.test ESMTP smtpd" ]
	[[ "$output" == *"250 CHUNKING"* ]]
	[ "${lines[-1]}" = "221 2.0.0 mx.test closing connection" ]
	[ "$(reply_count 554)" -eq 0 ]
}

@test "greet-pause: the daemon's 220 comes after the pause" {
	conf "workers 4" "greet-pause 1"
	daemon_start
	run client send
	echo "$output"
	[[ "$output" == "send ok ms="* ]]
	greet=$(sed -n 's/.* greet_ms=\([0-9]*\).*/\1/p' <<<"$output")
	between "$greet" 1000 3000
}

@test "greet-pause is skipped under stress" {
	# A pool of one is under stress whenever its worker is busy.
	conf "workers 1" "greet-pause 5"
	daemon_start
	run client send
	echo "$output"
	[[ "$output" == "send ok ms="* ]]
	greet=$(sed -n 's/.* greet_ms=\([0-9]*\).*/\1/p' <<<"$output")
	between "$greet" 0 2000
	grep -Eq 'event=connect peer=127\.0\.0\.1 stress=yes$' "$LOG"
	[ "$(count_messages example.org u)" -eq 1 ]
}

@test "under stress a session gets one junk command per message" {
	# A pool of one is under stress whenever its worker is busy.
	conf "workers 1"
	daemon_start
	run smtp_tcp "EHLO c" "NOOP" "MAIL FROM:<a@b.example>" \
	    "RCPT TO:<u@example.org>" "DATA" "Subject: x" "" "x" "." \
	    "RSET" "NOOP" "QUIT"
	echo "$output"
	# One NOOP before the message, one RSET after it: both answered.
	[ "$(grep -c '^250 2.0.0 Ok$' <<<"$output")" -eq 2 ]
	grep -q '^250 2.0.0 Ok: queued as ' <<<"$output"
	# The second junk command after the message is one too many.
	[ "$(tail -n 1 <<<"$output")" = \
	    "421 4.7.0 mx.test Too many commands without mail, closing connection" ]
	[ "$(count_messages example.org u)" -eq 1 ]
}

@test "under stress a session gets a tenth of max-errors" {
	# A pool of one is under stress whenever its worker is busy.
	conf "workers 1" "max-errors 20"
	daemon_start
	run smtp_tcp "EHLO c" "FROB" "FROB" "NOOP" "QUIT"
	echo "$output"
	[ "${lines[8]}" = "500 5.5.2 Command unrecognized" ]
	[ "${lines[9]}" = "500 5.5.2 Command unrecognized" ]
	[ "${lines[10]}" = "421 4.7.0 mx.test Too many errors, closing connection" ]
	[ "${#lines[@]}" -eq 11 ]
	grep -Eq 'event=connect peer=127\.0\.0\.1 stress=yes$' "$LOG"
}

@test "under stress a whole session lasts at most three stress-timeouts" {
	conf "workers 1" "stress-timeout 1" "timeout 30"
	daemon_start
	# A recipient every half second: each in time, none of them junk.
	rcpts=()
	for i in 1 2 3 4 5 6 7 8; do rcpts+=("RCPT TO:<u$i@example.org>"); done
	run paced 0.5 "EHLO c" "MAIL FROM:<a@b.example>" "${rcpts[@]}"
	echo "$output"
	[ "$(tail -n 1 <<<"$output")" = \
	    "421 4.4.2 mx.test Session time limit exceeded, closing connection" ]
	# Cut after about 3 s: fewer than the 8 recipients were answered.
	n=$(grep -c '^250 2.1.5 ' <<<"$output" || true)
	[ "$n" -ge 2 ] && [ "$n" -le 6 ]
	grep -Eq 'event=timeout phase=session stress=yes$' "$LOG"
}

@test "a session older than three stress-timeouts when stress begins is cut at once" {
	conf "workers 2" "max-per-address 0" "stress-timeout 1" "timeout 30"
	daemon_start
	# A: EHLO, then silence; its time starts with the 250.
	exec {a}<>"/dev/tcp/127.0.0.1/$PORT"
	printf 'EHLO c\r\n' >&"$a"
	while IFS= read -r -t 5 -u "$a" line; do
		[[ "$line" == "250 "* ]] && break
	done
	[[ "$line" == "250 "* ]]
	a_id=$(sed -n 's/^\([0-9a-f]*\) event=connect .*/\1/p' "$LOG")
	[ -n "$a_id" ]
	# Older than three stress-timeouts, and not cut: no stress yet.
	sleep 3.5
	[ "$(count_log 'event=(timeout|stress)')" -eq 0 ]
	# B fills the pool and stays: a recipient every 0.4 s, each in
	# time, until its own three stress-timeouts (A's next tick must
	# come while stress is still on).
	t_stress=$(date +%s%N)
	rcpts=()
	for i in 1 2 3 4 5 6 7 8 9 10; do rcpts+=("RCPT TO:<u$i@example.org>"); done
	paced 0.4 "EHLO c" "MAIL FROM:<a@b.example>" "${rcpts[@]}" \
	    >"$TMP/b" 3>&- &
	BG+=("$!")
	wait_log 'event=stress state=on busy=2 workers=2'
	# Waits tick once a second: A is cut at its next tick, not at its
	# 30 s timeout, nor at a stress-timeout from now.
	IFS= read -r -t 5 -u "$a" line
	t_cut=$(date +%s%N)
	line=${line%$'\r'}
	echo "A: $line"
	ms=$(((t_cut - t_stress) / 1000000))
	echo "cut $ms ms after B connected"
	[ "$line" = "$SESS421" ]
	between "$ms" 0 2000
	# Then the server closed A.
	if IFS= read -r -t 5 -u "$a" line; then echo "more: $line"; false; fi
	exec {a}>&-
	grep -Eq "^$a_id event=timeout phase=session stress=yes\$" "$LOG"
	# The stress came first.
	[ "$(grep -En 'event=stress state=on' "$LOG" | cut -d: -f1)" -lt \
	    "$(grep -En "^$a_id event=timeout" "$LOG" | cut -d: -f1)" ]
}

@test "under stress, after 221 the server drops what the client still sends for a quarter second at most" {
	local fd t0 t1 t_eof rc
	conf "workers 2" "max-per-address 0"
	daemon_start
	# An idle session and this one fill the pool: stress.
	exec {b}<>"/dev/tcp/127.0.0.1/$PORT"
	IFS= read -r -t 5 -u "$b" line
	[[ "$line" == "220 "* ]]
	exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"
	IFS= read -r -t 5 -u "$fd" line
	[[ "$line" == "220 "* ]]
	wait_log 'event=stress state=on busy=2 workers=2'
	# A client that pipelines QUIT and goes on talking: its writes
	# fail only once the server has closed for good (the server's FIN
	# comes right after the 221; the close only after the linger).
	t0=$(date +%s%N)
	(
		printf 'EHLO c\r\nQUIT\r\n'
		while printf 'NOOP\r\n'; do sleep 0.05; done
	) >&"$fd" 2>/dev/null 3>&- &
	writer=$!
	BG+=("$writer")
	timeout 10 cat <&"$fd" | tr -d '\r' >"$TMP/out"
	t_eof=$(date +%s%N)
	rc=0
	# tail looks every -s seconds (1 s by default).
	timeout 10 tail -s 0.01 --pid="$writer" -f /dev/null || rc=$?
	t1=$(date +%s%N)
	exec {fd}>&- {b}>&-
	cat "$TMP/out"
	[ "$rc" -eq 0 ]
	[ "$(tail -n 1 "$TMP/out")" = "221 2.0.0 mx.test closing connection" ]
	echo "EOF after $(((t_eof - t0) / 1000000)) ms"
	ms=$(((t1 - t0) / 1000000))
	echo "closed after $ms ms"
	# 250 ms of linger, not 2 s.
	between "$ms" 250 1000
}

# --- listening sockets --------------------------------------------------------

@test "SIGTERM: the port is free at once, while an old worker finishes a session" {
	port=$(free_port)
	conf "workers 2" "listen 127.0.0.1:$port" "timeout 30" "data-timeout 30"
	daemon_start
	old=$DPID
	# A slow DATA, not a dripped command: SIGTERM ends a session that
	# waits for a command at once (421 4.3.2), one in DATA runs on.
	client_bg "$TMP/slow" -i 200 -m 15 data
	wait_for in_data
	busy=$(workers_of "$old")
	EXTRA+=($busy)
	kill -TERM "$old"
	wait_for port_closed
	second_daemon "$port"
	# The old daemon is still there, finishing the slow session.
	kill -0 "$old"
	PORT=$port
	run client send
	echo "$output"
	[[ "$output" == "send ok ms="* ]]
	grep -q 'event=accept ' "$LOG2"
	[ "$(count_log 'event=accept ')" -eq 0 ]
	[ "$(count_messages example.org u)" -eq 1 ]
}

@test "kill -9 of the master: the port is free at once though a worker is in session" {
	port=$(free_port)
	conf "workers 2" "listen 127.0.0.1:$port" "timeout 30" "data-timeout 30"
	daemon_start
	client_bg "$TMP/slow" -i 200 -m 15 data
	wait_for in_data
	workers=$(workers_of "$DPID")
	EXTRA+=($workers)
	kill -KILL "$DPID"
	wait "$DPID" 2>/dev/null || true
	DPID=
	wait_for port_closed
	second_daemon "$port"
	# The old worker is still in its session (the kernel's SIGTERM
	# does not end DATA), yet it let go of the port.
	alive=0
	for p in $workers; do kill -0 "$p" 2>/dev/null && alive=1; done
	[ "$alive" -eq 1 ]
	PORT=$port
	run client send
	echo "$output"
	[[ "$output" == "send ok ms="* ]]
	grep -q 'event=accept ' "$LOG2"
	[ "$(count_messages example.org u)" -eq 1 ]
}
