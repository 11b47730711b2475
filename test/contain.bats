#!/usr/bin/env bats
# Containment (smtpd(8), "Privileges"): what a worker, or smtpd -i, can
# still do if the session code had a bug: the seccomp filter, the chroot
# into the spool as root, Landlock as an ordinary user.  gdb stands in
# for a compromised worker: it makes the process itself call what the
# bug would.  The resource limits are tested in daemon.bats.

load helper

setup() {
	smtpd_setup
	conf "workers 1" "max-per-address 0"
}

teardown() {
	daemon_teardown
	sanitizer_quiet
}

# in_worker CALL - have the daemon's one worker evaluate CALL (a C
# expression) with gdb; its output in $output.  Skips without gdb.
in_worker() {
	command -v gdb >/dev/null || skip "gdb is not installed"
	worker=$(some_workers "$DPID")
	run timeout 60 gdb -p "$worker" -batch -ex "call $1"
	[[ "$output" != *"ptrace: Operation not permitted"* ]] ||
	    skip "gdb cannot attach here"
	echo "$output"
}

# status_of PID FIELD - a field of /proc/PID/status (Seccomp, CapEff...).
status_of() {
	sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status"
}

deliver() {
	run smtp_tcp "EHLO c" "MAIL FROM:<a@b.example>" "RCPT TO:<u@example.org>" \
	    "RCPT TO:<v@example.org>" "DATA" "Subject: contained" "" "hi" "." \
	    "QUIT"
	[[ "$output" == *"250 2.0.0 Ok: queued as "* ]]
}

not_sanitizer() {
	[[ "$SMTPD" != *-asan ]] ||
	    skip "the sanitizer build confines no file system (LeakSanitizer reads /proc)"
}

@test "seccomp: a worker that makes a call not on the list dies of SIGSYS, and another serves" {
	daemon_start
	grep -Eq "event=start pid=$DPID .* seccomp=on$" "$LOG"
	# A fork: the sanitizer build allows clone(), for LeakSanitizer.
	call='(int)fork()'
	[[ "$SMTPD" != *-asan ]] || call='(int)umask(077)'
	in_worker "$call"
	victim=$worker
	gone_within "$victim" 5
	wait_log "event=worker-exit pid=$victim signal=SIGSYS$"
	# The master forks a replacement at once (it lived more than a second
	# before it died), which serves.
	some_workers "$DPID"
	deliver
	[ "$(count_messages example.org u)" -eq 1 ]
	[ "$(count_messages example.org v)" -eq 1 ]
}

@test "seccomp: the workers and smtpd -i run under the filter; seccomp no turns it off" {
	daemon_start
	worker=$(some_workers "$DPID")
	[ "$(status_of "$worker" Seccomp)" = 2 ]
	[ "$(status_of "$worker" NoNewPrivs)" = 1 ]
	[ "$(status_of "$DPID" Seccomp)" = 0 ]
	daemon_stop
	pipe_open
	[ "$(status_of "$IPID" Seccomp)" = 2 ]
	pipe_close QUIT
	conf "seccomp no"
	: >"$LOG"
	daemon_start
	grep -Eq "event=start pid=$DPID .* seccomp=off$" "$LOG"
	worker=$(some_workers "$DPID")
	[ "$(status_of "$worker" Seccomp)" = 0 ]
	deliver
}

@test "seccomp: arguments count: socket() fails, fcntl(F_GETFL) is allowed, fcntl(F_SETOWN) kills" {
	daemon_start
	# socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0): EACCES, and no harm.
	in_worker '(int)socket(1, 524290, 0)'
	[[ "$output" == *'$1 = -1'* ]]
	in_worker '(int)fcntl(0, 3)'
	[[ "$output" =~ \$1\ =\ [0-9]+ ]]
	kill -0 "$worker"
	# The sanitizer build allows every fcntl.
	[[ "$SMTPD" != *-asan ]] || return 0
	# F_SETOWN on a listener would have the kernel signal the pool.
	in_worker '(int)fcntl(3, 8, 1)'
	gone_within "$worker" 5
	wait_log "event=worker-exit pid=$worker signal=SIGSYS$"
}

@test "seccomp: a session whose syslogd went away loses its lines, not its life" {
	[ "$(id -u)" -eq 0 ] || skip "needs root for a mount namespace"
	command -v unshare >/dev/null || skip "unshare is not installed"
	unshare -m true 2>/dev/null || skip "cannot make a mount namespace here"
	# As in config.bats: a /dev of our own, whose /dev/log is logsink.
	mkdir "$TMP/dev"
	: >"$TMP/dev/null"
	"$BATS_TEST_DIRNAME/logsink" "$TMP/dev/log" 5 >"$TMP/syslog" 3>&- &
	sink=$!
	wait_for test -S "$TMP/dev/log"
	pipe_open unshare -m sh -c 'mount --bind /dev/null "$1/dev/null" &&
	    mount --bind "$1/dev" /dev && shift && exec "$@"' sh "$TMP"
	wait_for grep -q 'event=connect' "$TMP/syslog"
	# syslogd goes: the next line's send() is refused, and syslog()
	# tries a new socket, which the filter fails with EACCES.
	kill "$sink"
	wait "$sink" || true
	pipe_close "EHLO c" "MAIL FROM:<a@b.example>" "RCPT TO:<u@example.org>" \
	    DATA hi . QUIT
	grep -q '^250 2.0.0 Ok: queued as ' "$TMP/out"
	[ "$(count_messages example.org u)" -eq 1 ]
}

@test "seccomp: a value other than yes or no is a configuration error" {
	conf "seccomp off"
	run "$SMTPD" -n -f "$CONF"
	[ "$status" -eq 1 ]
	[[ "$output" == *"expected yes or no"* ]]
}

@test "as root: a worker's root is the spool, the master keeps CAP_SYS_CHROOT alone" {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	not_sanitizer
	daemon_start
	grep -Eq "event=start pid=$DPID .* fs=chroot seccomp=on$" "$LOG"
	worker=$(some_workers "$DPID")
	[ "$(readlink "/proc/$worker/root")" = "$(realpath "$SPOOL")" ]
	[ "$(readlink "/proc/$DPID/root")" = / ]
	[ "$(status_of "$DPID" CapEff)" = 0000000000040000 ]
	[ "$(status_of "$DPID" CapPrm)" = 0000000000040000 ]
	[ "$(status_of "$DPID" NoNewPrivs)" = 1 ]
	[ "$(status_of "$worker" CapEff)" = 0000000000000000 ]
	[ "$(status_of "$worker" CapPrm)" = 0000000000000000 ]
	deliver
	# What the worker sees: the spool's domains at its root, no /etc.
	# 589824 is O_RDONLY | O_DIRECTORY | O_CLOEXEC (x86_64), as the
	# store opens a directory; the filter kills any other read.
	in_worker '(int)open("/etc", 589824)'
	[[ "$output" == *'$1 = -1'* ]]
	in_worker '(int)open("/example.org/u/new", 589824)'
	[[ "$output" =~ \$1\ =\ [0-9]+ ]]
	# A message is not for reading.
	msg=$(basename "$(maildir_files example.org u)")
	in_worker "(int)open(\"/example.org/u/new/$msg\", 0)"
	gone_within "$worker" 5
	wait_log "event=worker-exit pid=$worker signal=SIGSYS$"
}

@test "as root, smtpd -i chroots into the spool before it becomes the user" {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	not_sanitizer
	pipe_open
	[ "$(readlink "/proc/$IPID/root")" = "$(realpath "$SPOOL")" ]
	[ "$(status_of "$IPID" CapEff)" = 0000000000000000 ]
	[ "$(stat -c %U "/proc/$IPID")" = nobody ]
	pipe_close "EHLO c" "MAIL FROM:<a@b.example>" "RCPT TO:<u@example.org>" \
	    DATA hi . QUIT
	grep -q '^250 2.0.0 Ok: queued as ' "$TMP/out"
	[ "$(count_messages example.org u)" -eq 1 ]
}

@test "as root: chroot no leaves the workers the whole file system" {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	conf "chroot no"
	daemon_start
	grep -Eq "event=start pid=$DPID .* fs=unconfined seccomp=on$" "$LOG"
	worker=$(some_workers "$DPID")
	[ "$(readlink "/proc/$worker/root")" = / ]
	# The master's CAP_SYS_CHROOT is given up all the same.
	[ "$(status_of "$worker" CapEff)" = 0000000000000000 ]
	[ "$(status_of "$worker" CapPrm)" = 0000000000000000 ]
	! grep -q 'event=unconfined' "$LOG"
	deliver
}

@test "chrooted workers log to syslog and stamp Received: in local time" {
	[ "$(id -u)" -eq 0 ] || skip "needs root for a mount namespace"
	not_sanitizer
	command -v unshare >/dev/null || skip "unshare is not installed"
	unshare -m true 2>/dev/null || skip "cannot make a mount namespace here"
	[ -e /usr/share/zoneinfo/Asia/Kolkata ] || skip "no time zone data"
	conf "listen 127.0.0.1:0"
	c=$(run_conf)
	# As in config.bats: a /dev of our own, whose /dev/log is logsink.
	mkdir "$TMP/dev"
	: >"$TMP/dev/null"
	"$BATS_TEST_DIRNAME/logsink" "$TMP/dev/log" 5 >"$TMP/syslog" 3>&- &
	wait_for test -S "$TMP/dev/log"
	# Without -d it detaches: its stderr, until then, says the port.
	TZ=Asia/Kolkata unshare -m sh -c 'mount --bind /dev/null "$1/dev/null" &&
	    mount --bind "$1/dev" /dev && exec "$2" -f "$3"' \
	    sh "$TMP" "$SMTPD" "$c" 2>>"$LOG" 3>&-
	wait_log 'event=listen'
	PORT=$(sed -n 's/.*event=listen addr=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$LOG")
	wait_for grep -q 'event=start' "$TMP/syslog"
	DPID=$(sed -n 's/.*event=start pid=\([0-9]*\).*/\1/p' "$TMP/syslog")
	worker=$(some_workers "$DPID")
	[ "$(readlink "/proc/$worker/root")" = "$(realpath "$SPOOL")" ]
	deliver
	# <22>: facility mail, priority info; tagged with the worker's pid.
	wait_for grep -Eq "^<22>.*smtpd\[$worker\]: [0-9a-f]{12} event=accept " \
	    "$TMP/syslog"
	# The date ends the Received: header, on a line of its own.
	grep -Eq $'^\t[A-Z][a-z]{2}, .* \\+0530$' "$(maildir_files example.org u)"
	kill -TERM "$DPID"
	gone_within "$DPID" 15
	DPID=
}

@test "as an ordinary user, Landlock leaves a worker the spool and nothing else" {
	not_sanitizer
	as=()
	if [ "$(id -u)" -eq 0 ]; then
		command -v setpriv >/dev/null || skip "setpriv is not installed"
		mkdir "$SPOOL"
		chown nobody: "$SPOOL"
		as=(setpriv --reuid="$(id -u nobody)" --regid="$(id -g nobody)"
		    --clear-groups)
	fi
	# Without the filter, to see what Landlock alone allows.
	conf "seccomp no"
	daemon_start "${as[@]}"
	! grep -q 'event=unconfined' "$LOG" || skip "no Landlock (ABI 2) in this kernel"
	grep -Eq "event=start pid=$DPID .* fs=landlock seccomp=off$" "$LOG"
	# Two recipients: a link into one new/, a rename into the other.
	deliver
	[ "$(count_messages example.org u)" -eq 1 ]
	[ "$(count_messages example.org v)" -eq 1 ]
	spool=$(realpath "$SPOOL")
	in_worker '(int)open("/etc/hostname", 0)'
	[[ "$output" == *'$1 = -1'* ]]
	in_worker "(int)open(\"$spool/example.org/u/new\", 0)"
	[[ "$output" =~ \$1\ =\ [0-9]+ ]]
	# Not even the mail it stored can be read back.
	in_worker "(int)open(\"$(maildir_files example.org u)\", 0)"
	[[ "$output" == *'$1 = -1'* ]]
}

@test "descriptors the caller left open are closed at start: none reaches past the chroot" {
	# fd 5 on a directory outside the spool, as a careless init might.
	daemon_start sh -c 'exec 5</etc; exec "$@"' sh
	worker=$(some_workers "$DPID")
	for p in "$DPID" "$worker"; do
		for f in /proc/"$p"/fd/*; do
			[ "$(readlink "$f")" != /etc ]
		done
	done
	deliver
}
