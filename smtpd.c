/*
 * smtpd.c - the process: options, configuration, the way of running.
 *
 * The mode is chosen once, here, and every mode ends in session_run():
 *
 *	smtpd -i	one session on fds 0 and 1 (inetd "nowait", or
 *			systemd-socket-activate --inetd -a)
 *	smtpd -n	check the configuration and exit
 *
 * Under inetd fds 0, 1 and 2 are all the client's socket, so in -i mode
 * logs go to syslog unless -d asks for stderr.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "session.h"
#include "store.h"

#ifndef SMTPD_CONF
#define SMTPD_CONF	"/etc/smtpd.conf"
#endif

static void	 usage(void) __attribute__((noreturn));
static const char *peer_name(int, char *, size_t);
static int	 run_inetd(const struct conf *);

/*
 * usage - exactly the SYNOPSIS of smtpd(8).
 */
static void
usage(void)
{
	fprintf(stderr, "usage: smtpd [-dinv] [-f file]\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	struct conf	 conf;
	const char	*path = SMTPD_CONF;
	int		 ch, dflag = 0, iflag = 0, nflag = 0, vflag = 0;

	while ((ch = getopt(argc, argv, "df:inv")) != -1) {
		switch (ch) {
		case 'd': dflag = 1; break;
		case 'f': path = optarg; break;
		case 'i': iflag = 1; break;
		case 'n': nflag = 1; break;
		case 'v': vflag = 1; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();

	/* -n is for a person at a terminal: errors go where they look. */
	log_init("smtpd", dflag || nflag, vflag);
	umask(077);
	if (conf_load(&conf, path) == -1)
		return 1;
	if (nflag) {
		fprintf(stderr, "configuration OK\n");
		conf_free(&conf);
		return 0;
	}
	/* A client that hangs up must not kill us mid-write. */
	signal(SIGPIPE, SIG_IGN);
	if (iflag) {
		ch = run_inetd(&conf);
		conf_free(&conf);
		return ch;
	}
	log_warnx("daemon mode is not built yet: run smtpd -i from inetd "
	    "or systemd-socket-activate --inetd -a");
	conf_free(&conf);
	return 1;
}

/*
 * run_inetd - one session on standard input and output.
 */
static int
run_inetd(const struct conf *conf)
{
	struct store	*st;
	char		 peer[64];

	st = store_open(conf->spool, conf->hostname);
	session_run(0, 1, peer_name(0, peer, sizeof(peer)), conf, st);
	store_close(st);
	return 0;
}

/*
 * peer_name - the client's address as text, or NULL when fd is not a
 * socket (a pipe in the tests) or has no address.  An IPv4-mapped IPv6
 * address is shown as the IPv4 address it is.
 */
static const char *
peer_name(int fd, char *buf, size_t bufsz)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	socklen_t		 len = sizeof(ss);

	if (getpeername(fd, (struct sockaddr *)&ss, &len) == -1)
		return NULL;
	if (ss.ss_family == AF_INET)
		return inet_ntop(AF_INET, &sin->sin_addr, buf, bufsz);
	if (ss.ss_family != AF_INET6)
		return NULL;
	if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
		return inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], buf,
		    bufsz);
	return inet_ntop(AF_INET6, &sin6->sin6_addr, buf, bufsz);
}
