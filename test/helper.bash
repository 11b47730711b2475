# test/helper.bash - what every bats file loads.
#
# Each test gets its own spool and config under $BATS_TEST_TMPDIR.  The
# binary under test is $SMTPD (make test runs the suite twice: the plain
# build and the ASan/UBSan build); by default the one in the checkout.
#
#   smtp LINE...        send the lines, each ended by CRLF, in one write
#                       (a pipelined client); replies come back in
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
	export TMP SPOOL CONF LOG
	: >"$LOG"
	printf 'hostname mx.test\nspool %s\ndomain example.org\n' \
	    "$SPOOL" >"$CONF"
}

conf() {
	printf '%s\n' "$@" >>"$CONF"
}

# smtpd_pipe - run smtpd -i on stdin; replies on stdout without CR.
# The status is smtpd's own, so a crash or a sanitizer report fails.
smtpd_pipe() {
	local rc
	"$SMTPD" -i -d -f "$CONF" 2>>"$LOG" >"$TMP/replies"
	rc=$?
	tr -d '\r' <"$TMP/replies"
	return $rc
}

smtp() {
	printf '%s\r\n' "$@" | smtpd_pipe
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
