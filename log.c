/*
 * log.c - one line per event, to syslog (mail) or to stderr under -d.
 *
 * log_warn() and fatal() append strerror(errno); the x variants do not.
 * log_debug() prints only when -v was given.  Nothing is buffered: a
 * line is complete when the call returns, so a crash loses no log.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "log.h"

static int	 log_stderr;
static int	 log_verb;

static void	 vlog(int, const char *, va_list)
		    __attribute__((format(printf, 2, 0)));
static void	 vlog_errno(int, int, const char *, va_list)
		    __attribute__((format(printf, 3, 0)));

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
 * vlog - write one line at the given priority.
 */
static void
vlog(int pri, const char *fmt, va_list ap)
{
	char	 line[1024];

	/* vsyslog() is not POSIX; format once and hand over a plain string. */
	vsnprintf(line, sizeof(line), fmt, ap);
	if (log_stderr) {
		fprintf(stderr, "%s\n", line);
		fflush(stderr);
	} else
		syslog(pri, "%s", line);
}

/*
 * vlog_errno - one line ending in ": strerror(saved)".
 */
static void
vlog_errno(int pri, int saved, const char *fmt, va_list ap)
{
	char	 line[1024];

	vsnprintf(line, sizeof(line), fmt, ap);
	if (log_stderr) {
		fprintf(stderr, "%s: %s\n", line, strerror(saved));
		fflush(stderr);
	} else
		syslog(pri, "%s: %s", line, strerror(saved));
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	if (!log_verb)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	vlog_errno(LOG_WARNING, saved, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	vlog_errno(LOG_CRIT, saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
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
