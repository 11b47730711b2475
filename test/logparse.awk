# test/logparse.awk - read smtpd's log lines with the grammar of
# smtpd(8), "Logging", and nothing looser; run with LC_ALL=C.
#
#	line	= [session SP] "event=" name *(SP pair), 2048 octets at most
#	session	= 12 lowercase hex digits
#	pair	= key "=" value
#	key	= 1*(lowercase letter / digit / "-"), as is name
#	value	= bare / quoted
#	bare	= 1*(printable ASCII but space, '"' and '\')
#	quoted	= '"' *(printable ASCII but '"' and '\' / "\x" 2 hex) '"'
#
# Prints one record a pair, tab-separated: the line number, the session
# id ("-" for none), the event, the key and the value as written (quotes
# and escapes kept).  A line that does not fit is printed to standard
# error, and the exit status is 1.  Lines a syslog daemon wrote
# ("<PRI>date host smtpd[pid]: ") may be given with SYSLOG=1.

BEGIN {
	bad = 0
	# Bracket expressions in C-locale ranges: ']' first, then the rest.
	BARE = "^[]!#-[^-~]+"
	QUOTED = "^\"([] !#-[^-~]|\\\\x[0-9a-f][0-9a-f])*\""
}

{
	s = $0
	if (SYSLOG) {
		if (!match(s, /smtpd\[[0-9]+\]: /)) {
			fail("no syslog header")
			next
		}
		s = substr(s, RSTART + RLENGTH)
	}
	if (length(s) > 2048) {
		fail("longer than 2048 octets")
		next
	}
	sid = "-"
	if (match(s, /^[0-9a-f]+ /) && RLENGTH == 13) {
		sid = substr(s, 1, 12)
		s = substr(s, 14)
	}
	if (!match(s, /^event=[a-z0-9-]+( |$)/)) {
		fail("no event=NAME first")
		next
	}
	event = substr(s, 7, RLENGTH - 6)
	sub(/ $/, "", event)
	n = 0
	while (s != "") {
		if (!match(s, /^[a-z0-9-]+=/)) {
			fail("no key at: " s)
			next
		}
		key = substr(s, 1, RLENGTH - 1)
		s = substr(s, RLENGTH + 1)
		if (substr(s, 1, 1) == "\"") {
			if (!match(s, QUOTED)) {
				fail("bad quoted value at: " s)
				next
			}
		} else if (!match(s, BARE)) {
			fail("bad bare value at: " s)
			next
		}
		val[++n] = key "\t" substr(s, 1, RLENGTH)
		s = substr(s, RLENGTH + 1)
		if (s == "")
			break
		if (substr(s, 1, 1) != " " || length(s) == 1) {
			fail("no single space after a value at: " s)
			next
		}
		s = substr(s, 2)
	}
	for (i = 1; i <= n; i++)
		print NR "\t" sid "\t" event "\t" val[i]
}

function fail(why) {
	printf "line %d does not parse (%s): %s\n", NR, why, $0 > "/dev/stderr"
	bad = 1
}

END {
	exit bad
}
