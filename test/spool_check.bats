#!/usr/bin/env bats
# A spool that cannot go missing (smtpd(8), "The spool"): the daemon
# checks at start, as the user it runs as, that it can deliver into its
# spool, and refuses to start if not; its master watches the spool's
# path, and while another directory is there (a file system mounted over
# it after start) the workers answer 451 rather than store mail where no
# reader looks, until a SIGHUP opens the new one.  And on NFS a link or
# rename that reports failure after it took place is not a failure: a
# shim (test/linkshim.so) makes the real calls lie as NFS can.

load helper

setup() {
	smtpd_setup
	conf "workers 1" "max-per-address 0"
}

teardown() {
	daemon_teardown
	sanitizer_quiet
}

# as_user - the user smtpd runs as in these tests.
as_user() {
	if [ "$(id -u)" -eq 0 ]; then echo nobody; else id -un; fi
}

# refused STEP ERROR - smtpd exited 1 with the line that names the
# spool, the user, the step and the error, and never started.
refused() {
	[ "$status" -eq 1 ]
	grep -qxF "event=spool-unusable spool=$SPOOL user=${3:-$(as_user)} step=$1 error=\"$2\" action=exit" <<<"$output"
	[[ "$output" != *"event=start"* ]]
	[[ "$output" != *Sanitizer* ]]
}

# need_ns - root and a private mount namespace, or skip.
need_ns() {
	[ "$(id -u)" -eq 0 ] || skip "needs root for a mount namespace"
	command -v unshare >/dev/null || skip "unshare is not installed"
	command -v nsenter >/dev/null || skip "nsenter is not installed"
	unshare -m true 2>/dev/null || skip "cannot make a mount namespace here"
}

# in_ns CMD... - run CMD in the daemon's mount namespace.
in_ns() {
	nsenter -t "$DPID" -m "$@"
}

# mail - one message to u@example.org over TCP; replies in $output.
mail() {
	run smtp_tcp "EHLO c" "MAIL FROM:<a@b.example>" \
	    "RCPT TO:<u@example.org>" "DATA" "Subject: $1" "" "hi" "." "QUIT"
}

# mount_over - a tmpfs over the spool, in the daemon's namespace only,
# owned by the user smtpd runs as.
mount_over() {
	in_ns mount -t tmpfs -o "size=1m,mode=0700,uid=$(id -u "$(as_user)"),gid=$(id -g "$(as_user)")" \
	    smtpd-test "$SPOOL"
}

# files_in_ns - the message files under the spool as the daemon sees it.
files_in_ns() {
	in_ns find "$SPOOL" -path '*/new/*' -type f | grep -c . || true
}

@test "a spool of mode 000: the daemon refuses to start, exit 1, naming spool, user and error" {
	mkdir -m 000 "$SPOOL"
	conf "listen 127.0.0.1:0"
	c=$(run_conf)
	chmod 000 "$SPOOL"
	run timeout 5 "$SMTPD" -d -f "$c"
	# Root opens any directory: the check, as nobody, cannot create in it.
	if [ "$(id -u)" -eq 0 ]; then
		refused create "Permission denied"
	else
		refused open "Permission denied"
	fi
}

@test "started as an ordinary user on a spool of mode 000: exit 1 at the open" {
	as=()
	if [ "$(id -u)" -eq 0 ]; then
		command -v setpriv >/dev/null || skip "setpriv is not installed"
		as=(setpriv --reuid="$(id -u nobody)" --regid="$(id -g nobody)"
		    --clear-groups)
	fi
	mkdir -m 000 "$SPOOL"
	conf "listen 127.0.0.1:0"
	c=$(run_conf)
	chmod 000 "$SPOOL"
	run timeout 5 "${as[@]}" "$SMTPD" -d -f "$c"
	refused open "Permission denied"
}

@test "without -d the refusal is on stderr too, before any detaching" {
	mkdir -m 000 "$SPOOL"
	conf "listen 127.0.0.1:0"
	c=$(run_conf)
	chmod 000 "$SPOOL"
	run timeout 5 "$SMTPD" -f "$c"
	[ "$status" -eq 1 ]
	grep -q "^event=spool-unusable spool=$SPOOL user=$(as_user) step=.* error=\"Permission denied\" action=exit$" <<<"$output"
}

@test "without -d the refusal is in syslog as well, at priority warning" {
	need_ns
	mkdir -m 000 "$SPOOL"
	conf "listen 127.0.0.1:0"
	c=$(run_conf)
	chmod 000 "$SPOOL"
	# As in config.bats: a /dev of our own, whose /dev/log is logsink.
	mkdir "$TMP/dev"
	: >"$TMP/dev/null"
	"$BATS_TEST_DIRNAME/logsink" "$TMP/dev/log" 3 >"$TMP/syslog" 3>&- &
	sink=$!
	wait_for test -S "$TMP/dev/log"
	run timeout 5 unshare -m sh -c 'mount --bind /dev/null "$1/dev/null" &&
	    mount --bind "$1/dev" /dev && exec "$2" -f "$3"' sh "$TMP" \
	    "$SMTPD" "$c"
	wait "$sink" || true
	[ "$status" -eq 1 ]
	grep -qxF "event=spool-unusable spool=$SPOOL user=nobody step=create error=\"Permission denied\" action=exit" <<<"$output"
	# <20>: facility mail, priority warning.
	grep -Eq "^<20>.*smtpd\[[0-9]+\]: event=spool-unusable spool=$SPOOL user=nobody step=create error=\"Permission denied\" action=exit$" \
	    "$TMP/syslog"
}

@test "a spool on a read-only file system: the daemon refuses to start" {
	need_ns
	mkdir "$SPOOL"
	conf "listen 127.0.0.1:0"
	c=$(run_conf)
	run timeout 5 unshare -m --propagation private sh -c \
	    'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" &&
	    shift && exec "$@"' sh "$SPOOL" "$SMTPD" -d -f "$c"
	refused create "Read-only file system"
	# Nothing was left behind by the check.
	[ -z "$(ls -A "$SPOOL")" ]
}

@test "a writable spool: the check leaves nothing in it" {
	daemon_start
	[ -z "$(ls -A "$SPOOL")" ]
	mail one
	[[ "$output" == *"250 2.0.0 Ok: queued as "* ]]
	[ "$(ls -A "$SPOOL")" = example.org ]
}

@test "a file system mounted over the spool after start: 451, logged once; SIGHUP stores into it" {
	need_ns
	daemon_start unshare -m --propagation private
	mail before
	[[ "$output" == *"250 2.0.0 Ok: queued as "* ]]
	[ "$(count_messages example.org u)" -eq 1 ]
	mount_over
	wait_log "^event=spool-moved spool=$SPOOL reason=.* action=refusing-mail$"
	mail hidden
	[[ "$output" == *"451 4.3.0 Local error in processing, try again later"* ]]
	[[ "$output" != *"Ok: queued"* ]]
	grep -q 'event=store-refused reason=spool-moved' "$LOG"
	# Nothing went into the directory under the mount, nor into the mount.
	[ "$(count_messages example.org u)" -eq 1 ]
	[ "$(files_in_ns)" -eq 0 ]
	# Logged once, not once a second.
	sleep 1.5
	[ "$(grep -c 'event=spool-moved' "$LOG")" -eq 1 ]
	kill -HUP "$DPID"
	wait_log "^event=spool-reopened spool=$SPOOL$"
	wait_log "event=reload "
	mail after
	[[ "$output" == *"250 2.0.0 Ok: queued as "* ]]
	[ "$(files_in_ns)" -eq 1 ]
	in_ns grep -rq '^Subject: after$' "$SPOOL/example.org/u/new"
	[ "$(count_messages example.org u)" -eq 1 ]
	! grep -q "Subject: after" "$(maildir_files example.org u)"
}

@test "a mount over the spool while a message is being received: 451 at its end, nothing kept" {
	local fd line
	need_ns
	daemon_start unshare -m --propagation private
	exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"
	printf 'EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<u@example.org>\r\nDATA\r\nSubject: midway\r\n\r\n' >&"$fd"
	for _ in $(seq 1 20); do
		IFS= read -r -t 5 -u "$fd" line || break
		[[ "$line" != "354 "* ]] || break
	done
	[[ "$line" == "354 "* ]]
	mount_over
	wait_log "^event=spool-moved "
	printf 'hi\r\n.\r\nQUIT\r\n' >&"$fd"
	IFS= read -r -t 5 -u "$fd" line
	exec {fd}>&-
	[ "${line%$'\r'}" = "451 4.3.0 Local error in processing, try again later" ]
	grep -q 'event=store-refused id=[^ ]* reason=spool-moved' "$LOG"
	# Neither the hidden directory nor the mount has it, in new/ or tmp/.
	[ "$(count_messages example.org u)" -eq 0 ]
	[ -z "$(find "$SPOOL"/*/*/tmp -type f)" ]
	[ "$(files_in_ns)" -eq 0 ]
}

@test "the mount taken away again before any reload: the old spool takes mail again" {
	need_ns
	daemon_start unshare -m --propagation private
	mount_over
	wait_log "^event=spool-moved "
	in_ns umount "$SPOOL"
	wait_log "^event=spool-back spool=$SPOOL action=accepting-mail$"
	mail back
	[[ "$output" == *"250 2.0.0 Ok: queued as "* ]]
	[ "$(count_messages example.org u)" -eq 1 ]
}

@test "the spool directory renamed away: 451; a SIGHUP makes the new one and stores there" {
	daemon_start
	mv "$SPOOL" "$TMP/spool.old"
	wait_log "^event=spool-moved spool=$SPOOL error=\"No such file or directory\" action=refusing-mail$"
	mail moved
	[[ "$output" == *"451 4.3.0 "* ]]
	[ -z "$(find "$TMP/spool.old" -path '*/new/*' -type f)" ]
	mkdir "$SPOOL"
	[ "$(id -u)" -ne 0 ] || chown nobody: "$SPOOL"
	kill -HUP "$DPID"
	wait_log "^event=spool-reopened spool=$SPOOL$"
	mail new
	[[ "$output" == *"250 2.0.0 Ok: queued as "* ]]
	[ "$(count_messages example.org u)" -eq 1 ]
}

@test "SIGHUP with a new spool path takes it; one the user cannot use keeps the old" {
	daemon_start
	mkdir -m 000 "$TMP/spool2"
	sed -i "s|^spool .*|spool $TMP/spool2|" "$CONF"
	run_conf >/dev/null
	chmod 000 "$TMP/spool2"
	kill -HUP "$DPID"
	wait_log "^event=spool-unusable spool=$TMP/spool2 user=$(as_user) step=open error=\"Permission denied\" action=kept-spool$"
	wait_log "event=reload "
	! grep -q 'event=reload-partial' "$LOG"
	mail old
	[[ "$output" == *"250 2.0.0 Ok: queued as "* ]]
	[ "$(count_messages example.org u)" -eq 1 ]
	# Made usable: the next reload takes it.
	chmod 700 "$TMP/spool2"
	[ "$(id -u)" -ne 0 ] || chown nobody: "$TMP/spool2"
	kill -HUP "$DPID"
	wait_log "^event=spool-reopened spool=$TMP/spool2$"
	mail new
	[[ "$output" == *"250 2.0.0 Ok: queued as "* ]]
	[ "$(count_messages example.org u)" -eq 1 ]
	[ "$(find "$TMP/spool2/example.org/u/new" -type f | grep -c .)" -eq 1 ]
}

# with_shim VAR=ERR... - $SMTPD becomes a wrapper that runs the real one
# with test/linkshim.so preloaded and the variables set.  The sanitizer
# runtime must come first among the preloaded libraries, or be told not
# to mind: it is told.
with_shim() {
	local shim=$BATS_TEST_DIRNAME/linkshim.so
	[ -f "$shim" ] || skip "test/linkshim.so is not built (make test builds it)"
	printf '#!/bin/sh\nASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 LD_PRELOAD=%s %s exec %s "$@"\n' \
	    "$shim" "$*" "$SMTPD" >"$TMP/smtpd-shim"
	chmod 755 "$TMP/smtpd-shim"
	SMTPD=$TMP/smtpd-shim
}

@test "NFS: a link into new/ that says EEXIST after it took place is stored once, 250" {
	with_shim LINKSHIM_LINK=EEXIST
	run smtp "EHLO c" "MAIL FROM:<a@b.example>" "RCPT TO:<bob@example.org>" \
	    "RCPT TO:<carol@example.org>" "DATA" "Subject: nfs" "" "hi" "." "QUIT"
	[ "$status" -eq 0 ]
	id=$(queued_id)
	[ -n "$id" ]
	[ "$(count_messages example.org bob)" -eq 1 ]
	[ "$(count_messages example.org carol)" -eq 1 ]
	[ -z "$(find "$SPOOL"/*/*/tmp -type f)" ]
	# The shim did lie (the test is not passing by accident).
	grep -qxF "event=store-false-failure id=$id maildir=example.org/bob op=link error=\"File exists\" action=delivered" "$LOG"
}

@test "NFS: a link that says EIO after it took place, in the daemon: 250, no duplicate" {
	with_shim LINKSHIM_LINK=EIO
	daemon_start
	run smtp_tcp "EHLO c" "MAIL FROM:<a@b.example>" "RCPT TO:<u@example.org>" \
	    "RCPT TO:<v@example.org>" "DATA" "Subject: nfs" "" "hi" "." "QUIT"
	[[ "$output" == *"250 2.0.0 Ok: queued as "* ]]
	[ "$(count_messages example.org u)" -eq 1 ]
	[ "$(count_messages example.org v)" -eq 1 ]
	grep -q 'event=store-false-failure .* op=link error="Input/output error" action=delivered' "$LOG"
}

@test "NFS: a rename into the last new/ that says ENOENT after it took place: 250, once" {
	with_shim LINKSHIM_RENAME=ENOENT
	run smtp "EHLO c" "MAIL FROM:<a@b.example>" "RCPT TO:<bob@example.org>" \
	    "DATA" "Subject: nfs" "" "hi" "." "QUIT"
	[ "$status" -eq 0 ]
	[ -n "$(queued_id)" ]
	[ "$(count_messages example.org bob)" -eq 1 ]
	[ -z "$(find "$SPOOL"/*/*/tmp -type f)" ]
	grep -q 'event=store-false-failure .* op=rename error="No such file or directory" action=delivered' "$LOG"
}
