/*
 * test/unit_test.c - promises of the manual that no client can see
 * over loopback, checked on the functions that keep them:
 *
 *	- every default smtpd.conf(5) states, from an empty file;
 *	- without a listen line, 0.0.0.0:25 and [::]:25;
 *	- max-per-address counts IPv4 by address and IPv6 by /64
 *	  (scoreboard.c), which loopback alone, ::1, cannot show.
 *
 * Prints TAP; exits 1 on any failure.  make test builds it with the
 * sanitizers; test/unit.bats runs it.
 */
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
	printf("1..%d\n", n);
	return failed;
}
