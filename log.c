/*
 * log.c - one line per event, to syslog (mail) or to stderr under -d.
 *
 * log_warn() and fatal() append strerror(errno); the x variants do not.
 * log_debug() prints only when -v was given.  Nothing is buffered: a
 * line is complete when the call returns, so a crash loses no log.
 *
 * Every line keeps the grammar smtpd(8) gives under "Logging": an
 * optional session id, "event=NAME", then key=value pairs, a value bare
 * or in double quotes with '"' and '\\' written as \\xHH.  The callers
 * write the keys; this file makes sure of the rest: a line that does not
 * start with an event is logged as event=unstructured, fatal() names its
 * reason in a key, the system's error is a quoted error= key, and a line
 * too long for the buffer is cut between two pairs, never inside quotes.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "log.h"

/*
 * The longest escaped error text, and the room a line keeps for its
 * tail: small enough that session.c's accept lines (LOG_LINE_MAX - 128
 * and a session id) are never cut.
 */
#define LOG_ERROR_MAX	80
#define LOG_TAIL_MAX	(sizeof(" truncated=yes") + sizeof(" error=\"\"") + \
			    LOG_ERROR_MAX)

static int	 log_stderr;
static int	 log_verb;

static void	 vlog(int, int, const char *, va_list)
		    __attribute__((format(printf, 3, 0)));
static void	 emit_line(int, char *, size_t, int);
static void	 vfatal(int, const char *, va_list)
		    __attribute__((format(printf, 2, 0), noreturn));
static int	 structured(const char *);
static size_t	 cut_between_pairs(const char *, size_t);

/*
 * log_init - choose the destination; call again to change it.
 */
void
log_init(const char *ident, int to_stderr, int verbose)
{
	log_stderr = to_stderr;
	log_verb = verbose;
	if (!to_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

int
log_verbose(void)
{
	return log_verb;
}

/*
 * vlog - write one line at the given priority; saved, when not 0, is an
 * errno whose text ends the line as error="...".
 */
static void
vlog(int pri, int saved, const char *fmt, va_list ap)
{
	char	 line[LOG_LINE_MAX], text[LOG_LINE_MAX / 2];
	int	 n;

	/* vsyslog() is not POSIX; format once and hand over a plain string. */
	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0) {
		n = 0;
		line[0] = '\0';
	}
	if (!structured(line)) {
		/* A line without an event is a bug: keep it, parseably. */
		log_escape(line, strlen(line), text, sizeof(text));
		n = snprintf(line, sizeof(line), "event=unstructured "
		    "text=\"%s\"", text);
	}
	emit_line(pri, line, (size_t)n, saved);
}

/*
 * emit_line - line (n: the length it wanted) to its destination, with
 * error= after it when saved is an errno, cut between two pairs if it
 * did not fit.
 */
static void
emit_line(int pri, char *line, size_t n, int saved)
{
	char	 err[LOG_ERROR_MAX];
	size_t	 len = strlen(line);

	/*
	 * The tail, " truncated=yes" and the error, always has its room: a
	 * line cut with the longest strerror() after it must still end in
	 * its closing quote.
	 */
	if (n > len || len > LOG_LINE_MAX - LOG_TAIL_MAX) {
		len = cut_between_pairs(line, LOG_LINE_MAX - LOG_TAIL_MAX);
		snprintf(line + len, LOG_LINE_MAX - len, " truncated=yes");
		len = strlen(line);
	}
	/* A locale's, or an unknown errno's, text: escaped all the same. */
	if (saved != 0)
		snprintf(line + len, LOG_LINE_MAX - len, " error=\"%s\"",
		    log_escape(strerror(saved), strlen(strerror(saved)), err,
		    sizeof(err)));
	if (log_stderr) {
		fprintf(stderr, "%s\n", line);
		fflush(stderr);
	} else
		syslog(pri, "%s", line);
}

/*
 * structured - whether line starts as the grammar says: "event=", after
 * a session id and a space or not.
 */
static int
structured(const char *line)
{
	size_t	 i;

	for (i = 0; isxdigit((unsigned char)line[i]); i++)
		;
	if (i > 0 && line[i] == ' ')
		line += i + 1;
	return strncmp(line, "event=", 6) == 0 && line[6] != '\0' &&
	    line[6] != ' ';
}

/*
 * cut_between_pairs - the length of line's longest prefix, at most max
 * octets, that ends before a space outside double quotes: the line cut
 * there still parses.  At least "event=NAME" stays.
 */
static size_t
cut_between_pairs(const char *line, size_t max)
{
	size_t	 i, last = 0;
	int	 quoted = 0;

	for (i = 0; i < max && line[i] != '\0'; i++) {
		if (line[i] == '"')
			quoted = !quoted;
		else if (line[i] == ' ' && !quoted)
			last = i;
	}
	if (i < max && line[i] == '\0' && !quoted)
		return i;
	return last;
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, 0, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	if (!log_verb)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, 0, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	vlog(LOG_WARNING, saved, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, 0, fmt, ap);
	va_end(ap);
}

/*
 * vfatal - event=fatal, the caller's words as its reason (and saved's
 * text as its error, when not 0), at priority crit; then exit 1.
 */
static void
vfatal(int saved, const char *fmt, va_list ap)
{
	char	 why[LOG_LINE_MAX / 4], esc[LOG_LINE_MAX / 2];
	char	 line[LOG_LINE_MAX];
	int	 n;

	vsnprintf(why, sizeof(why), fmt, ap);
	log_escape(why, strlen(why), esc, sizeof(esc));
	n = snprintf(line, sizeof(line), "event=fatal reason=\"%s\"", esc);
	emit_line(LOG_CRIT, line, n < 0 ? 0 : (size_t)n, saved);
	exit(1);
}

void
fatal(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	vfatal(saved, fmt, ap);
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vfatal(0, fmt, ap);
}

/*
 * log_value - s as one value: bare when it is a non-empty run of
 * printable ASCII without space, '"' or '\\', else in double quotes
 * with log_escape()'s escapes.  For text that may hold spaces (paths,
 * names from the configuration); client octets are quoted by their
 * callers, always, so a reader never has to guess.
 */
const char *
log_value(const char *s, char *out, size_t outsz)
{
	size_t	 i, len = strlen(s);

	for (i = 0; i < len; i++)
		if (s[i] <= ' ' || s[i] >= 0x7f || s[i] == '"' ||
		    s[i] == '\\')
			break;
	if (len > 0 && i == len && len < outsz) {
		memcpy(out, s, len + 1);
		return out;
	}
	if (outsz < 3) {
		out[0] = '\0';
		return out;
	}
	out[0] = '"';
	log_escape(s, len, out + 1, outsz - 2);
	i = strlen(out);
	out[i] = '"';
	out[i + 1] = '\0';
	return out;
}

/*
 * log_peer - a client's address as the log writes it: an IPv6 address
 * in brackets, as in an address literal, "unknown" when there is none.
 * Addresses come from inet_ntop(), but the master reads the scoreboard's
 * copy from memory a worker writes: anything that is not an address's
 * characters is quoted and escaped, never written bare.
 */
const char *
log_peer(const char *addr, char *out, size_t outsz)
{
	if (addr == NULL || addr[0] == '\0')
		snprintf(out, outsz, "unknown");
	else if (strspn(addr, "0123456789abcdefABCDEF.:") != strlen(addr))
		log_value(addr, out, outsz);
	else if (strchr(addr, ':') != NULL)
		snprintf(out, outsz, "[%s]", addr);
	else
		snprintf(out, outsz, "%s", addr);
	return out;
}

/*
 * log_escape - the one way client octets reach a log line or a reply:
 * any octet outside printable ASCII, and '"' and '\\', becomes \\xHH, so
 * that a quoted log value cannot be closed early and a reply stays one
 * line.  in may hold NULs (inlen says where it ends); out is cut to fit.
 */
const char *
log_escape(const char *in, size_t inlen, char *out, size_t outsz)
{
	unsigned char	 c;
	size_t		 i, o = 0;

	for (i = 0; i < inlen && o + 5 < outsz; i++) {
		c = in[i];
		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
			o += snprintf(out + o, outsz - o, "\\x%02x", c);
		else
			out[o++] = c;
	}
	out[o] = '\0';
	return out;
}
