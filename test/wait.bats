#!/usr/bin/env bats
# smtpd -w ADDRESS: wait, with no daemon, until the new/ that mail to
# ADDRESS is delivered into holds -c messages (since -s), print their
# paths oldest first, exit 0; exit 1 with one line after -t seconds; 3
# for an address no mail is stored for; 2 for a usage error.  Mail is
# sent with smtpd -i, as a test script's software would through the
# daemon; the waiting smtpd -w runs beside it.

load helper

setup() {
	smtpd_setup
	WPID=
}

teardown() {
	# Nothing may outlive a test: the waiter, if it is still waiting.
	if [ -s "$TMP/w.pid" ] && [ ! -e "$TMP/w.rc" ]; then
		kill "$(cat "$TMP/w.pid")" 2>/dev/null || true
	fi
	[ -z "$WPID" ] || wait "$WPID" 2>/dev/null || true
	daemon_teardown
}

# ms - the wall clock in milliseconds.
ms() {
	date +%s%3N
}

# send ADDR [SUBJECT] - one message to ADDR through smtpd -i; fails
# unless it was queued.
send() {
	smtp "HELO client.test" "MAIL FROM:<app@client.test>" \
	    "RCPT TO:<$1>" "DATA" "Subject: ${2:-test}" "" "hello" "." \
	    "QUIT" >"$TMP/send.out"
	grep -q '^250 2\.0\.0 Ok: queued as ' "$TMP/send.out"
}

# waiter ARGS... - smtpd -f $CONF ARGS in the background: its pid in
# $TMP/w.pid, its output in $TMP/w.out and w.err, then its exit status
# in w.rc and the time it ended (ms) in w.end.  Sets WPID (the subshell).
waiter() {
	rm -f "$TMP/w.rc" "$TMP/w.end" "$TMP/w.pid"
	(
		"$SMTPD" -f "$CONF" "$@" >"$TMP/w.out" 2>"$TMP/w.err" &
		echo $! >"$TMP/w.pid"
		wait $!
		echo $? >"$TMP/w.rc"
		ms >"$TMP/w.end"
	) 3>&- &
	WPID=$!
	wait_for test -s "$TMP/w.pid"
}

# waiting - the waiter has not ended (checked after it had time to).
waiting() {
	sleep 0.3
	[ ! -e "$TMP/w.rc" ]
}

# waited - wait for the waiter (its -t bounds it); its status in
# $status, its output in $output and $lines.
waited() {
	wait "$WPID"
	WPID=
	status=$(cat "$TMP/w.rc")
	output=$(cat "$TMP/w.out")
	mapfile -t lines <"$TMP/w.out"
}

# run_err CMD... - run CMD: its status in $status, its standard output in
# $output, its standard error in $stderr (bats' run --separate-stderr
# wants bats 1.5).
run_err() {
	status=0
	"$@" >"$TMP/r.out" 2>"$TMP/r.err" || status=$?
	output=$(cat "$TMP/r.out")
	stderr=$(cat "$TMP/r.err")
}

# arrived FILE - when the delivery of a stored FILE began, in ms: the
# time store.c writes at the head of its name (SECONDS.MUSEC...).
arrived() {
	local b sec usec
	b=$(basename "$1")
	sec=${b%%.*}
	usec=${b#*.M}
	usec=${usec%%P*}
	echo $((sec * 1000 + 10#$usec / 1000))
}

# --- what is already there ----------------------------------------------

@test "a message already there: -w prints its path at once and exits 0" {
	local t0 t1
	send bob@example.org "already here"
	t0=$(ms)
	run "$SMTPD" -f "$CONF" -w bob@example.org
	t1=$(ms)
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[ "${lines[0]}" = "$(maildir_files example.org bob)" ]
	[[ "${lines[0]}" == "$SPOOL/example.org/bob/new/"* ]]
	[ -f "${lines[0]}" ]
	grep -q '^Subject: already here$' "${lines[0]}"
	# At once: well inside the default -t of 10 s.
	[ $((t1 - t0)) -lt 1000 ]
}

@test "-t 0 looks once: what is there, or exit 1 at once" {
	local t0 t1
	t0=$(ms)
	run "$SMTPD" -f "$CONF" -w bob@example.org -t 0
	t1=$(ms)
	[ "$status" -eq 1 ]
	[ "$output" = "smtpd: -w bob@example.org: 0 of 1 messages in $SPOOL/example.org/bob/new after 0 s" ]
	[ $((t1 - t0)) -lt 1000 ]
	send bob@example.org
	run "$SMTPD" -f "$CONF" -w bob@example.org -t 0
	[ "$status" -eq 0 ]
	[ "$output" = "$(maildir_files example.org bob)" ]
}

# --- what arrives while it waits ----------------------------------------

@test "a message that arrives while -w waits: it returns within a second" {
	local path
	mkdir -p "$SPOOL/example.org/bob/"{tmp,new,cur}
	waiter -w bob@example.org -t 5
	waiting
	send bob@example.org "while waiting"
	waited
	echo "$output"; cat "$TMP/w.err"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	path=${lines[0]}
	[ "$path" = "$(maildir_files example.org bob)" ]
	grep -q '^Subject: while waiting$' "$path"
	echo "returned $(($(cat "$TMP/w.end") - $(arrived "$path"))) ms after delivery began"
	[ $(($(cat "$TMP/w.end") - $(arrived "$path"))) -lt 1000 ]
	[ ! -s "$TMP/w.err" ]
}

@test "mail a daemon's worker delivers, to another mailbox first" {
	daemon_start
	waiter -w bob@example.org -t 5
	waiting
	smtp_tcp "HELO client.test" "MAIL FROM:<app@client.test>" \
	    "RCPT TO:<alice@example.org>" "DATA" "Subject: not bob's" "" \
	    "." "MAIL FROM:<app@client.test>" "RCPT TO:<bob@example.org>" \
	    "DATA" "Subject: over TCP" "" "hello" "." "QUIT" >"$TMP/tcp.out"
	[ "$(grep -c '^250 2\.0\.0 Ok: queued as ' "$TMP/tcp.out")" -eq 2 ]
	waited
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	grep -q '^Subject: over TCP$' "${lines[0]}"
	[ $(($(cat "$TMP/w.end") - $(arrived "${lines[0]}"))) -lt 1000 ]
	daemon_stop
}

@test "a first delivery that makes the maildir while -w waits" {
	# Not even the spool exists when -w starts.
	[ ! -e "$SPOOL" ]
	waiter -w bob@example.org -t 5
	waiting
	[ ! -e "$SPOOL" ]	# -w made nothing
	send bob@example.org "first"
	waited
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "$(maildir_files example.org bob)" ]
	[ $(($(cat "$TMP/w.end") - $(arrived "${lines[0]}"))) -lt 1000 ]
}

@test "-w sleeps on an inotify watch on new/ (or its nearest ancestor), not in a loop" {
	local pid fd ino want sw0 sw1
	mkdir -p "$SPOOL/example.org"
	waiter -w bob@example.org -t 5
	waiting
	pid=$(cat "$TMP/w.pid")
	# The one watch is on the nearest directory that exists...
	ino=$(grep -h '^inotify wd:' /proc/"$pid"/fdinfo/* |
	    sed 's/.* ino:\([0-9a-f]*\) .*/\1/')
	want=$(printf '%x' "$(stat -c %i "$SPOOL/example.org")")
	[ "$ino" = "$want" ]
	# ...and goes down to new/ once the maildir is made.
	mkdir -p "$SPOOL/example.org/bob/"{tmp,cur,new}
	sleep 0.3
	ino=$(grep -h '^inotify wd:' /proc/"$pid"/fdinfo/* |
	    sed 's/.* ino:\([0-9a-f]*\) .*/\1/')
	want=$(printf '%x' "$(stat -c %i "$SPOOL/example.org/bob/new")")
	[ "$ino" = "$want" ]
	# Asleep: no wake-ups while nothing happens (a 100 ms rescan
	# would show five).
	sw0=$(sed -n 's/^voluntary_ctxt_switches:[[:space:]]*//p' \
	    /proc/"$pid"/status)
	sleep 0.5
	sw1=$(sed -n 's/^voluntary_ctxt_switches:[[:space:]]*//p' \
	    /proc/"$pid"/status)
	echo "wake-ups in 0.5 s: $((sw1 - sw0))"
	[ $((sw1 - sw0)) -le 1 ]
	send bob@example.org
	waited
	[ "$status" -eq 0 ]
}

# --- timeout and count --------------------------------------------------

@test "timeout: exit 1 after -t seconds with one line, and nothing on stdout" {
	local t0 t1
	t0=$(ms)
	run_err "$SMTPD" -f "$CONF" -w bob@example.org -t 1
	t1=$(ms)
	echo "$stderr; $((t1 - t0)) ms"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[ "$stderr" = "smtpd: -w bob@example.org: 0 of 1 messages in $SPOOL/example.org/bob/new after 1 s" ]
	[ $((t1 - t0)) -ge 1000 ]
	[ $((t1 - t0)) -lt 2000 ]
}

@test "-c 3: waits for the third of three messages sent one by one" {
	local i
	waiter -w bob@example.org -c 3 -t 8
	waiting
	send bob@example.org "one"
	waiting
	send bob@example.org "two"
	waiting
	send bob@example.org "three"
	waited
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	# Oldest first.
	for i in 0 1 2; do
		grep -q "^Subject: $(echo one two three | cut -d' ' -f$((i + 1)))$" \
		    "${lines[$i]}"
	done
	[ $(($(cat "$TMP/w.end") - $(arrived "${lines[2]}"))) -lt 1000 ]
}

@test "-c more than there are: the timeout line counts what is there" {
	send bob@example.org
	send bob@example.org
	run_err "$SMTPD" -f "$CONF" -w bob@example.org -c 3 \
	    -t 0
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[ "$stderr" = "smtpd: -w bob@example.org: 2 of 3 messages in $SPOOL/example.org/bob/new after 0 s" ]
}

# --- -s -------------------------------------------------------------------

@test "-s: a message from before SINCE does not count, one after does" {
	local since
	send bob@example.org "old"
	since=$(date +%s.%N)
	# Without -s both count; with it only the new one.
	waiter -w bob@example.org -s "$since" -t 5
	waiting
	send bob@example.org "new"
	waited
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	grep -q '^Subject: new$' "${lines[0]}"
	run "$SMTPD" -f "$CONF" -w bob@example.org -c 2 -t 0
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	grep -q '^Subject: old$' "${lines[0]}"
	run_err "$SMTPD" -f "$CONF" -w bob@example.org \
	    -s "$since" -c 2 -t 0
	[ "$status" -eq 1 ]
	[[ "$stderr" == "smtpd: -w bob@example.org: 1 of 2 messages in "* ]]
}

@test "-s in whole seconds, and a file not named by smtpd judged by its mtime" {
	local now new=$SPOOL/example.org/bob/new
	mkdir -p "$new"
	now=$(date +%s)
	echo "Subject: by hand" >"$new/handmade"
	touch -d @$((now - 100)) "$new/handmade"
	# Its mtime is before SINCE...
	run "$SMTPD" -f "$CONF" -w bob@example.org -s "$now" -t 0
	[ "$status" -eq 1 ]
	# ...and after it once touched.
	touch -d @$((now + 5)) "$new/handmade"
	run "$SMTPD" -f "$CONF" -w bob@example.org -s "$now" -t 0
	[ "$status" -eq 0 ]
	[ "$output" = "$new/handmade" ]
	# A name's own time beats its mtime: old by name, new by mtime.
	rm "$new/handmade"
	echo "Subject: old name" >"$new/1000000000.M1P1Q1.mx.test,S=20"
	run "$SMTPD" -f "$CONF" -w bob@example.org -s "$now" -t 0
	[ "$status" -eq 1 ]
	run "$SMTPD" -f "$CONF" -w bob@example.org -t 0
	[ "$status" -eq 0 ]
}

# --- resolved as delivery resolves -----------------------------------------

@test "an alias: -w waits in the new/ of the mailbox it points to" {
	conf "alias sales bob"
	waiter -w sales@example.org -t 5
	waiting
	send sales@example.org "to sales"
	waited
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "$SPOOL/example.org/bob/new/"* ]]
	grep -q '^Subject: to sales$' "${lines[0]}"
}

@test "a +tag: into the Maildir++ folder when there is one, else the inbox" {
	conf "recipient-delimiter +"
	mkdir -p "$SPOOL/example.org/bob/.shop/"{tmp,new,cur}
	waiter -w bob+shop@example.org -t 5
	waiting
	send bob+other@example.org "to the inbox"
	waiting			# not the folder
	send bob+shop@example.org "to the folder"
	waited
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "${lines[0]}" == "$SPOOL/example.org/bob/.shop/new/"* ]]
	grep -q '^Subject: to the folder$' "${lines[0]}"
	run "$SMTPD" -f "$CONF" -w bob+other@example.org -t 0
	[ "$status" -eq 0 ]
	[[ "$output" == "$SPOOL/example.org/bob/new/"* ]]
	grep -q '^Subject: to the inbox$' "$output"
}

@test "a catch-all, a capital and a U-label domain, as delivery resolves them" {
	local A=xn--bcher-kva.example
	conf "domain $A" "alias @$A carol"
	send "Anyone@$A"
	run "$SMTPD" -f "$CONF" -w $'someone@B\xc3\xbcCHER.example' -t 0
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == "$SPOOL/$A/carol/new/"* ]]
}

@test "an address not ours, or no mailbox: exit 3 with a line, at once" {
	run_err "$SMTPD" -f "$CONF" -w bob@elsewhere.test
	[ "$status" -eq 3 ]
	[ -z "$output" ]
	[ "$stderr" = "smtpd: -w bob@elsewhere.test: not a domain of ours: no mail to it is stored here" ]
	conf "mailbox alice"
	run_err "$SMTPD" -f "$CONF" -w bob@example.org
	[ "$status" -eq 3 ]
	[ "$stderr" = "smtpd: -w bob@example.org: no such mailbox" ]
	run "$SMTPD" -f "$CONF" -w alice@example.org -t 0
	[ "$status" -eq 1 ]
	[ ! -e "$SPOOL" ]
}

# --- usage ------------------------------------------------------------------

@test "usage errors exit 2: a bad value, -c/-s/-t without -w, -w with another mode" {
	local args
	for args in "-w bob" "-w bob@example.org -c 0" \
	    "-w bob@example.org -c 10001" "-w bob@example.org -t -1" \
	    "-w bob@example.org -t 1.5" "-w bob@example.org -s yesterday" \
	    "-w bob@example.org -s 1." "-c 2" "-t 1" "-s 0" \
	    "-w bob@example.org -i" "-w bob@example.org -n" \
	    "-w bob@example.org extra"; do
		rc=0
		"$SMTPD" -f "$CONF" $args >"$TMP/out" 2>"$TMP/err" || rc=$?
		echo "$args -> $rc: [$(cat "$TMP/out")] [$(cat "$TMP/err")]"
		[ "$rc" -eq 2 ]
		[ ! -s "$TMP/out" ]
		[ -s "$TMP/err" ]
	done
	[ ! -e "$SPOOL" ]
}
