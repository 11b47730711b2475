/*
 * test/unit_test.c - promises of the manual that no client can see
 * over loopback, checked on the functions that keep them:
 *
 *	- every default smtpd.conf(5) states, from an empty file;
 *	- without a listen line, 0.0.0.0:25 and [::]:25;
 *	- max-per-address counts IPv4 by address and IPv6 by /64
 *	  (scoreboard.c), which loopback alone, ::1, cannot show;
 *	- a log line keeps smtpd(8)'s grammar at its edges (log.c): too
 *	  long, with a quoted value across the limit, without an event,
 *	  with the system's error; values and peers as written.
 *
 * Prints TAP; exits 1 on any failure.  make test builds it with the
 * sanitizers; test/unit.bats runs it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../conf.h"
#include "../log.h"
#include "../scoreboard.h"

static int	 n, failed;

static void
check(int ok, const char *what)
{
	printf("%sok %d %s\n", ok ? "" : "not ", ++n, what);
	failed |= !ok;
}

static void
defaults(void)
{
	struct conf	 c;
	char		 path[] = "/tmp/unit_test.XXXXXX";
	int		 fd;

	if ((fd = mkstemp(path)) == -1) {
		perror("mkstemp");
		exit(1);
	}
	close(fd);
	check(conf_load(&c, path) == 0, "an empty file is a valid configuration");
	unlink(path);
	check(strcmp(c.spool, "/var/spool/smtpd") == 0, "spool /var/spool/smtpd");
	check(strcmp(c.user, "smtpd") == 0, "user smtpd");
	check(c.domains.n == 1 && strcmp(c.domains.v[0], c.hostname) == 0,
	    "without a domain line the only domain is the hostname");
	check(c.mailboxes.n == 0 && c.naliases == 0, "no mailbox, no alias");
	check(c.max_message_size == 35ULL * 1024 * 1024, "max-message-size 35M");
	check(c.max_recipients == 100, "max-recipients 100");
	check(c.max_errors == 20, "max-errors 20");
	check(c.max_junk_commands == 100, "max-junk-commands 100");
	check(c.timeout == 300, "timeout 300 seconds");
	check(c.data_timeout == 300, "data-timeout 300 seconds");
	check(c.min_data_rate == 1024, "min-data-rate 1K");
	check(c.session_timeout == 30 * 60, "session-timeout 30 minutes");
	check(c.greet_pause == 0, "greet-pause 0: no pause");
	check(c.workers == 64, "workers 64");
	check(c.max_per_address == 64 / 4, "max-per-address a quarter of workers");
	check(c.stress_timeout == 10, "stress-timeout 10 seconds");
	check(c.max_sessions == 100, "max-sessions 100");
	check(c.proxy_timeout == 5, "proxy-timeout 5 seconds");
	check(c.nlistens == 2 &&
	    strcmp(c.listens[0].host, "0.0.0.0") == 0 &&
	    strcmp(c.listens[0].port, "25") == 0 && !c.listens[0].proxy &&
	    strcmp(c.listens[1].host, "::") == 0 &&
	    strcmp(c.listens[1].port, "25") == 0 && !c.listens[1].proxy,
	    "without a listen line, 0.0.0.0:25 and [::]:25");
	conf_free(&c);
}

/*
 * per_address - with max-per-address 1, which sessions a second worker
 * may enter while the first holds one from first.
 */
static void
per_address(const char *first, const char *second, int same,
    const char *what)
{
	struct scoreboard	*sb = scoreboard_new(4);
	int			 a = scoreboard_reserve(sb);
	int			 b = scoreboard_reserve(sb);

	scoreboard_assign(sb, a, 100);
	scoreboard_assign(sb, b, 101);
	check(scoreboard_enter(sb, a, first, 1) == 0 &&
	    scoreboard_enter(sb, b, second, 1) == (same ? -1 : 0), what);
	scoreboard_free(sb);
}

/*
 * logged - what one log call wrote (log_init(..., 1, ...): stderr), as
 * a string without its newline, in buf.
 */
#define LOGGED(buf, call) do {						\
	FILE	*tmp_ = tmpfile();					\
	int	 err_ = dup(2);						\
	size_t	 n_;							\
									\
	if (tmp_ == NULL || err_ == -1) {				\
		perror("tmpfile");					\
		exit(1);						\
	}								\
	fflush(stderr);							\
	dup2(fileno(tmp_), 2);						\
	call;								\
	fflush(stderr);							\
	dup2(err_, 2);							\
	close(err_);							\
	rewind(tmp_);							\
	n_ = fread((buf), 1, sizeof(buf) - 1, tmp_);			\
	(buf)[n_] = '\0';						\
	if (n_ > 0 && (buf)[n_ - 1] == '\n')				\
		(buf)[n_ - 1] = '\0';					\
	fclose(tmp_);							\
} while (0)

/*
 * quotes_even - no quoted value left open.
 */
static int
quotes_even(const char *s)
{
	int	 q = 0;

	for (; *s != '\0'; s++)
		q += *s == '"';
	return q % 2 == 0;
}

/*
 * log_tail - a line cut just short of the limit, with the longest
 * error text glibc has: the error= still ends in its quote.
 */
static void
log_tail(void)
{
	char	 pairs[2200], line[4096], want[128];
	size_t	 len;

	for (len = 0; len + 4 < sizeof(pairs); len += 4)
		memcpy(pairs + len, "p=1 ", 4);
	pairs[len] = '\0';
	errno = EILSEQ;
	snprintf(want, sizeof(want), " truncated=yes error=\"%s\"",
	    strerror(EILSEQ));
	LOGGED(line, log_warn("event=x %s", pairs));
	len = strlen(line);
	check(len < LOG_LINE_MAX && quotes_even(line) &&
	    len > strlen(want) && strcmp(line + len - strlen(want), want) == 0,
	    "log: a line cut at the limit keeps room for a long error=");
}

static void
log_lines(void)
{
	char	 big[3000], line[4096], pairs[1504], v[64];
	size_t	 len;

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	LOGGED(line, log_info("0123456789ab event=x a=\"%s\" b=1", big));
	check(strcmp(line, "0123456789ab event=x truncated=yes") == 0,
	    "log: a quoted value past the limit is left out, not cut open");
	for (len = 0; len + 4 < 1500; len += 4)
		memcpy(pairs + len, "p=1 ", 4);
	memcpy(pairs + len, "p=2", 4);
	memset(big, ' ', 900);
	LOGGED(line, log_info("event=x %s k=\"%.900s\" z=1", pairs, big));
	len = strlen(line);
	check(len <= LOG_LINE_MAX && quotes_even(line) &&
	    len > 18 && strcmp(line + len - 18, " p=2 truncated=yes") == 0,
	    "log: a line past the limit is cut between two pairs");
	errno = ENOENT;
	LOGGED(line, log_warn("event=x a=\"%.2100s\"", big));
	len = strlen(line);
	check(len <= LOG_LINE_MAX && strstr(line, " truncated=yes error=\""
	    "No such file or directory\"") != NULL,
	    "log: a cut line still ends in its error=");
	LOGGED(line, log_warnx("no \"event\" here"));
	check(strcmp(line, "event=unstructured "
	    "text=\"no \\x22event\\x22 here\"") == 0,
	    "log: a line without an event is event=unstructured, escaped");
	LOGGED(line, log_info("event= x=1"));
	check(strncmp(line, "event=unstructured ", 19) == 0,
	    "log: an empty event name is no event");
	errno = EACCES;
	LOGGED(line, log_warn("event=x"));
	check(strcmp(line, "event=x error=\"Permission denied\"") == 0,
	    "log: the system's error is a quoted error= key");
	check(strcmp(log_value("/var/spool/smtpd", v, sizeof(v)),
	    "/var/spool/smtpd") == 0 &&
	    strcmp(log_value("a b\"c\\", v, sizeof(v)),
	    "\"a b\\x22c\\x5c\"") == 0 &&
	    strcmp(log_value("", v, sizeof(v)), "\"\"") == 0,
	    "log: a value is bare only when it can be");
	check(strcmp(log_peer("2001:db8::1", v, sizeof(v)), "[2001:db8::1]") ==
	    0 && strcmp(log_peer("192.0.2.1", v, sizeof(v)), "192.0.2.1") ==
	    0 && strcmp(log_peer("", v, sizeof(v)), "unknown") == 0 &&
	    strcmp(log_peer(NULL, v, sizeof(v)), "unknown") == 0,
	    "log: an IPv6 peer in brackets, none is unknown");
	check(strcmp(log_peer("1.2.3.4 x=\"y", v, sizeof(v)),
	    "\"1.2.3.4 x=\\x22y\"") == 0,
	    "log: a peer that is no address is quoted, never bare");
	log_tail();
}

int
main(void)
{
	log_init("unit_test", 1, 0);
	defaults();
	per_address("192.0.2.1", "192.0.2.1", 1, "IPv4: one address counts");
	per_address("192.0.2.1", "192.0.2.2", 0,
	    "IPv4: the next address is another");
	per_address("2001:db8:1:2::1", "2001:db8:1:2:ffff::9", 1,
	    "IPv6: one /64 counts as one address");
	per_address("2001:db8:1:2::1", "2001:db8:1:3::1", 0,
	    "IPv6: the next /64 is another");
	per_address("::ffff:192.0.2.1", "::ffff:192.0.2.2", 0,
	    "IPv4-mapped IPv6: each IPv4 address is another");
	per_address("::ffff:192.0.2.1", "192.0.2.1", 1,
	    "IPv4-mapped IPv6 counts as its IPv4 address");
	log_lines();
	printf("1..%d\n", n);
	return failed;
}
