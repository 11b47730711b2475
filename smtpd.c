/*
 * smtpd.c - the process: options, configuration, sockets, privileges,
 * the master and its workers.
 *
 * The mode is chosen once, in main(), and every mode ends in
 * session_run():
 *
 *	smtpd -i	one session on fds 0 and 1 (inetd "nowait", or
 *			systemd-socket-activate --inetd -a)
 *	LISTEN_FDS	systemd socket activation: listening sockets feed
 *			the pool (Accept=no); a connected one is served
 *			once, as in -i (Accept=yes)
 *	smtpd		bind every "listen" address and run the pool
 *	smtpd -n	check the configuration and exit
 *	smtpd -D	check the DNS of the configured domains (dnscheck.c)
 *
 * With -p FILE the daemon writes its pid and the address of each
 * listening socket into FILE once the pool is ready, so that a test
 * script learns a port the kernel chose (listen 127.0.0.1:0) by waiting
 * for a file, without reading the log.
 *
 * The pool is classic pre-forking: the master binds, opens the spool,
 * drops privileges and forks "workers" processes.  Each worker waits for
 * a connection on the listening sockets (wait_ready(): an exclusive
 * epoll wait on Linux, pselect() elsewhere), runs one session at a
 * time, and exits after max-sessions of them.  The master only
 * supervises: it replaces a worker that exits, slows down when workers
 * die as soon as they start (a broken setup must not become a fork
 * loop), reloads on SIGHUP, lists the pool on SIGUSR1, logs stress, and
 * stops the pool on SIGTERM.
 *
 * A fixed pool is only as good as its defences against clients that
 * hold workers: the session's deadlines (session.c), and the scoreboard
 * (scoreboard.c) the workers share, which refuses an address that holds
 * max-per-address sessions already and raises the stress flag that
 * shortens every deadline while the pool is nearly full.
 *
 * Under inetd fds 0, 1 and 2 are all the client's socket, so in -i mode
 * logs go to syslog unless -d asks for stderr.
 */
#define _DEFAULT_SOURCE		/* setgroups(): not POSIX, but everywhere */
#ifdef __linux__
#define _GNU_SOURCE		/* accept4(): in POSIX only since 2024 */
#endif

#include <sys/types.h>
#ifdef __linux__
#include <sys/epoll.h>
#include <sys/prctl.h>
#endif
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#ifdef __linux__
#include <sys/syscall.h>
#endif

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "contain.h"
#include "dns.h"
#include "dnscheck.h"
#include "fail.h"
#include "log.h"
#include "notify.h"
#include "now.h"
#include "proxy.h"
#include "scoreboard.h"
#include "session.h"
#include "store.h"
#include "wait.h"

#ifndef SMTPD_CONF
#define SMTPD_CONF	"/etc/smtpd.conf"
#endif
#ifndef SMTPD_VERSION
#define SMTPD_VERSION	"unknown"
#endif

#define LISTEN_FDS_START	3	/* sd_listen_fds(3) */
#define BACKLOG			128
#define GRACE_SECONDS		10	/* for sessions to end on SIGTERM */
#define QUICK_DEATH_MS		1000	/* died "at start" */
#define BACKOFF_MAX		32	/* seconds between respawns, at worst */
#define LINGER_MS		2000	/* to drain a client after our last reply */
#define LINGER_STRESS_MS	250	/* the same, while workers are short */
#define SPOOL_CHECK_MS		1000	/* the master looks at the spool's path */

/* An exclusive wait for connections: Linux 4.5 on.  See wait_setup(). */
#if defined(__linux__) && defined(EPOLLEXCLUSIVE)
#define WAIT_EPOLL
#endif

struct listener {
	int		 fd;
	int		 proxy;
	char		 name[INET6_ADDRSTRLEN + 16];	/* [addr]:port */
};

struct worker {
	pid_t		 pid;
	long long	 started;		/* ms, monotonic */
	unsigned	 generation;
	int		 slot;			/* in the scoreboard, or -1 */
};

struct daemon {
	struct conf	 conf;
	char		 path[PATH_MAX];	/* absolute: we chdir("/") */
	struct listener	*l;
	size_t		 nl;
	struct store	*store;
	struct worker	*w;
	size_t		 nw;
	unsigned	 generation;		/* bumped by each reload */
	unsigned	 backoff;		/* seconds; 0 when healthy */
	long long	 next_spawn;		/* ms, monotonic */
	int		 alive[2];		/* EOF on [0]: the master died */
	struct scoreboard *sb;
	int		 stress;		/* as last logged */
	int		 slot;			/* a worker's own slot */
	int		 ep;			/* its epoll, or -1: pselect() */
	int		 debug;			/* -d: keep core dumps */
	int		 chroot;		/* holds CAP_SYS_CHROOT */
	char		 user[64];		/* we run as, for the log */
	char		 cwd[PATH_MAX];		/* at start: for a relative spool */
	char		 spool[PATH_MAX];	/* the path store was opened by */
	dev_t		 spool_dev;		/* and the directory it was */
	ino_t		 spool_ino;
	unsigned	 spool_serial;		/* its number, see spool_watch() */
	int		 spool_moved;		/* as last logged */
	long long	 spool_next;		/* ms: the next look at the path */
	struct dns_server dns;			/* SPF's resolver, picked by */
	const struct dns_server *dnsp;		/* resolver(); NULL: none */
	char		 pidfile[PATH_MAX];	/* -p, absolute; "" for none */
	int		 pidfile_made;		/* written: remove it at stop */
};

static volatile sig_atomic_t	 got_term, got_hup, got_chld, got_usr1;

/* What a worker's SIGTERM handler closes at once: see worker_signals(). */
static const struct listener	*term_l;
static size_t			 term_nl;

static void	 usage(void) __attribute__((noreturn));
static void	 on_signal(int);
static void	 on_worker_term(int);
static void	 catch_signals(void);
static const char *peer_name(int, char *, size_t);
static const struct dns_server *resolver(const struct conf *,
		    struct dns_server *);
static const char *addr_text(const struct sockaddr_storage *, char *,
		    size_t);
static int	 serve_one(struct conf *, const struct dns_server *,
		    const struct passwd *, int, int);
static void	 contain(const struct conf *, struct store *, int, size_t,
		    int, int);
static int	 contain_how(const struct conf *, int, int);
static const char *signal_name(int, char *, size_t);
static int	 activated_fds(void);
static void	 close_strays(int);
static int	 adopt_fds(struct daemon *, int, int *);
static int	 bind_all(struct daemon *);
static int	 bind_one(struct daemon *, const struct listen *);
static void	 listener_add(struct daemon *, int, int, const char *);
static int	 sockaddr_match(const struct listen *, int);
static int	 open_spool(struct conf *, const struct passwd *,
		    struct store **);
static void	 drop_privileges(const struct passwd *);
static void	 user_name(struct daemon *, const struct passwd *);
static int	 pidfile_start(struct daemon *, int);
static int	 pidfile_tmp(const struct daemon *, char *, size_t);
static int	 pidfile_write(const struct daemon *, const char **);
static void	 pidfile_remove(struct daemon *);
static void	 pidfile_failed(const struct daemon *, const char *, int,
		    const char *);
static void	 say_unsafe(const struct conf *);
static int	 spool_start(struct daemon *, int);
static void	 start_refused(const struct daemon *, const char *, int, int);
static int	 spool_usable(struct store *, const char *, struct stat *,
		    const char **);
static void	 spool_refused(const struct daemon *, const char *,
		    const char *, int, const char *);
static void	 spool_adopt(struct daemon *, struct store *, const char *,
		    const struct stat *);
static const char *spool_path(const struct daemon *, const char *, char *,
		    size_t);
static void	 spool_watch(struct daemon *);
static void	 spool_reload(struct daemon *, const struct conf *);
static const struct passwd *lookup_user(const struct conf *);
static void	 detach(void);
static int	 run_daemon(struct daemon *, const struct passwd *, int);
static int	 same_listens(const struct conf *, const struct conf *);
static int	 master(struct daemon *);
static int	 pidfile_ready(struct daemon *);
static void	 spawn_missing(struct daemon *, struct timespec *);
static struct timespec *next_wake(const struct daemon *, struct timespec *);
static void	 reap(struct daemon *);
static void	 reload(struct daemon *);
static void	 log_stress(struct daemon *);
static void	 close_listeners(struct daemon *);
static void	 stop_pool(struct daemon *);
static void	 worker_main(struct daemon *, int) __attribute__((noreturn));
static void	 worker_signals(struct daemon *);
static int	 wait_setup(struct daemon *);
static struct listener *wait_ready(struct daemon *, const sigset_t *);
#ifdef WAIT_EPOLL
static struct listener *wait_epoll(struct daemon *, const sigset_t *);
#endif
static struct listener *wait_select(struct daemon *, const sigset_t *);
static void	 orphaned(void) __attribute__((noreturn));
static int	 accept_one(struct daemon *, struct listener **,
		    struct sockaddr_storage *, const sigset_t *);
static int	 serve_conn(struct daemon *, struct listener *, int,
		    const struct sockaddr_storage *);
static void	 linger_close(int, int, int);

/*
 * usage - exactly the SYNOPSIS of smtpd(8).
 */
static void
usage(void)
{
	fprintf(stderr, "usage: smtpd [-DdinVv] [-f file] [-p file]\n"
	    "       smtpd -w address [-c count] [-f file] [-s since] "
	    "[-t seconds]\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	struct daemon		 d;
	const struct passwd	*pw = NULL;
	const char		*path = SMTPD_CONF, *pidfile = NULL;
	struct wait_args	 w = { NULL, NULL, NULL, NULL, 0, 0, 0 };
	int		 ch, dflag = 0, iflag = 0, nflag = 0, vflag = 0, n, fd;
	int		 rc, Dflag = 0;

	while ((ch = getopt(argc, argv, "c:Ddf:inp:s:t:Vvw:")) != -1) {
		switch (ch) {
		case 'c': w.count = optarg; break;
		case 'D': Dflag = 1; break;
		case 'd': dflag = 1; break;
		case 'f': path = optarg; break;
		case 'i': iflag = 1; break;
		case 'n': nflag = 1; break;
		case 'p': pidfile = optarg; break;
		case 's': w.since = optarg; break;
		case 't': w.timeout = optarg; break;
		case 'v': vflag = 1; break;
		case 'V': printf("smtpd %s\n", SMTPD_VERSION); return 0;
		case 'w': w.addr = optarg; break;
		default: usage();
		}
	}
	if (optind != argc ||
	    wait_usage(&w, Dflag || iflag || nflag || pidfile != NULL))
		usage();
	/* Before anything is opened: what we were given, and nothing else. */
	n = activated_fds();
	close_strays(n);

	/*
	 * -n is for a person at a terminal, and so is a daemon that has
	 * not detached yet: its errors go where they look.
	 */
	log_init("smtpd", dflag || nflag || Dflag || !iflag, vflag);
	umask(077);
	memset(&d, 0, sizeof(d));
	if (realpath(path, d.path) == NULL)
		snprintf(d.path, sizeof(d.path), "%s", path);
	if (pidfile != NULL)		/* made absolute by pidfile_start() */
		snprintf(d.pidfile, sizeof(d.pidfile), "%s", pidfile);
	if (conf_load(&d.conf, d.path) == -1)
		return 1;
	if (nflag) {
		fprintf(stderr, "configuration OK\n");
		fail_print(d.conf.fail, stderr);
		conf_free(&d.conf);
		return 0;
	}
	if (Dflag) {
		rc = dnscheck(&d.conf, stdout);
		conf_free(&d.conf);
		return rc;
	}
	if (w.addr != NULL) {
		rc = wait_mail(&d.conf, &w);
		conf_free(&d.conf);
		return rc;
	}
	/*
	 * Load the time zone once, here, for every mode.  localtime_r()
	 * need not load it (POSIX has only localtime() call tzset()), and
	 * glibc's localtime() stats /etc/localtime on every call: loaded
	 * before the fork, the zone is inherited by each worker, and
	 * localtime_r() stamps a Date: without a system call.  A changed
	 * zone then takes a restart, as in most daemons.
	 */
	tzset();
	/* A client that hangs up must not kill us mid-write. */
	signal(SIGPIPE, SIG_IGN);
	/* As root: know who we will become before opening anything. */
	if (geteuid() == 0 && (pw = lookup_user(&d.conf)) == NULL) {
		conf_free(&d.conf);
		return 1;
	}
	/* resolv.conf is read here, before a chroot could hide it. */
	d.dnsp = resolver(&d.conf, &d.dns);
	if (iflag)
		rc = serve_one(&d.conf, d.dnsp, pw, 0, dflag);
	else if (n > 0 && adopt_fds(&d, n, &fd) == 1)
		rc = serve_one(&d.conf, d.dnsp, pw, fd, dflag);	/* Accept=yes */
	else if (n > 0 || bind_all(&d) == 0)
		rc = run_daemon(&d, pw, dflag);
	else
		rc = 1;
	conf_free(&d.conf);
	return rc;
}

/*
 * serve_one - one session on fd (fd 0 reads, fd 1 writes in -i mode),
 * as an unprivileged user if started as root.
 */
static int
serve_one(struct conf *conf, const struct dns_server *dns,
    const struct passwd *pw, int fd, int debug)
{
	struct session_env	 env;
	char			 peer[INET6_ADDRSTRLEN];
	size_t			 i;
	int			 out = fd == 0 ? 1 : fd, linger, how;

	for (i = 0; i < conf->nlistens && !conf->listens[i].proxy; i++)
		;
	if (i < conf->nlistens)
		log_warnx("event=proxy-ignored reason=\"a single session "
		    "reads no PROXY header\"");
	fail_warn(conf->fail);
	memset(&env, 0, sizeof(env));
	env.conf = conf;
	env.dns = dns;
	open_spool(conf, pw, &env.store);
	say_unsafe(conf);
	env.peer = peer_name(fd, peer, sizeof(peer));
	/* chroot(2) takes root: it comes before the change of user. */
	how = contain_how(conf, pw != NULL, 1);
	if (how == CONTAIN_CHROOT)
		contain(conf, env.store, how, 0, debug, 0);
	if (pw != NULL)
		drop_privileges(pw);
	contain(conf, env.store, how == CONTAIN_CHROOT ? 0 : how, 0, debug, 1);
	/* A client that stopped taking replies has no last one to save. */
	linger = session_run(fd, out, &env) == -1 ? 0 : LINGER_MS;
	linger_close(fd, out, linger);
	while (store_tidy(env.store) == 1)	/* the client has gone */
		;
	store_close(env.store);
	return 0;
}

/*
 * close_strays - close every descriptor above 2 but the n systemd passed
 * us from 3 on.  Whatever else the process that started us left open is
 * not ours, and a directory among them would reach past the chroot.
 */
static void
close_strays(int n)
{
	long	 fd, max = sysconf(_SC_OPEN_MAX);

#ifdef SYS_close_range
	if (syscall(SYS_close_range, 3U + n, ~0U, 0) == 0)
		return;
#endif
	if (max < 0 || max > 65536)
		max = 65536;
	for (fd = 3 + n; fd < max; fd++)
		close((int)fd);
}

/*
 * activated_fds - how many sockets systemd passed us (sd_listen_fds(3)
 * without libsystemd).  The variables are removed so that nothing we
 * start believes they are for it.
 */
static int
activated_fds(void)
{
	const char	*pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	long		 n;

	if (pid == NULL || fds == NULL || strtol(pid, NULL, 10) != getpid())
		return 0;
	n = strtol(fds, NULL, 10);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return n > 0 && n < 1024 ? (int)n : 0;
}

/*
 * adopt_fds - take the passed sockets.  Returns 1 with *conn set when
 * one is a connection (Accept=yes: serve it once), else 0 with the
 * listening ones in d->l.  A listener whose address matches a "listen
 * ... proxy" line expects PROXY headers.
 */
static int
adopt_fds(struct daemon *d, int n, int *conn)
{
	socklen_t	 len;
	size_t		 i;
	int		 fd, listening, proxy;

	for (fd = LISTEN_FDS_START; fd < LISTEN_FDS_START + n; fd++) {
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		len = sizeof(listening);
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening,
		    &len) == -1 || !listening) {
			*conn = fd;
			return 1;
		}
		for (proxy = 0, i = 0; i < d->conf.nlistens; i++)
			if (d->conf.listens[i].proxy &&
			    sockaddr_match(&d->conf.listens[i], fd))
				proxy = 1;
		listener_add(d, fd, proxy, "activated");
	}
	return 0;
}

/*
 * bind_all - a listening socket for every "listen" line.
 */
static int
bind_all(struct daemon *d)
{
	size_t	 i;

	for (i = 0; i < d->conf.nlistens; i++)
		if (bind_one(d, &d->conf.listens[i]) == -1)
			return -1;
	return 0;
}

static int
bind_one(struct daemon *d, const struct listen *l)
{
	struct addrinfo	 hints, *ai;
	int		 fd, on = 1, err;
	char		 host[LOG_VALUE_MAX], why[LOG_VALUE_MAX];

	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	hints.ai_socktype = SOCK_STREAM;
	if ((err = getaddrinfo(l->host, l->port, &hints, &ai)) != 0) {
		log_warnx("event=listen-failed host=%s port=%s reason=%s",
		    log_value(l->host, host, sizeof(host)), l->port,
		    log_value(gai_strerror(err), why, sizeof(why)));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (fd != -1 && ai->ai_family == AF_INET6)
		/* [::] is IPv6 only; 0.0.0.0 is a listen line of its own. */
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (fd == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 ||
	    listen(fd, BACKLOG) == -1) {
		log_warn("event=listen-failed host=%s port=%s",
		    log_value(l->host, host, sizeof(host)), l->port);
		freeaddrinfo(ai);
		if (fd != -1)
			close(fd);
		return -1;
	}
	freeaddrinfo(ai);
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	listener_add(d, fd, l->proxy, NULL);
	return 0;
}

/*
 * listener_add - remember a listening socket; it is non-blocking so
 * that a worker that loses the race for a connection to another worker
 * goes back to waiting on every listener instead of sleeping in
 * accept() on one.
 */
static void
listener_add(struct daemon *d, int fd, int proxy, const char *how)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	struct listener		*l;
	char			 host[INET6_ADDRSTRLEN], port[8];
	char			 name[LOG_VALUE_MAX];

	if ((l = realloc(d->l, (d->nl + 1) * sizeof(*l))) == NULL)
		fatal("realloc");
	d->l = l;
	l += d->nl++;
	l->fd = fd;
	l->proxy = proxy;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1 ||
	    getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host),
	    port, sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		snprintf(l->name, sizeof(l->name), "fd%d", fd);
	else
		snprintf(l->name, sizeof(l->name), "%s%s%s:%s",
		    strchr(host, ':') ? "[" : "", host,
		    strchr(host, ':') ? "]" : "", port);
	/* A link-local address carries its interface's name, which may
	 * hold anything but '/' and spaces. */
	log_info("event=listen addr=%s%s%s%s",
	    log_value(l->name, name, sizeof(name)),
	    proxy ? " proxy=yes" : "", how ? " from=" : "", how ? how : "");
}

/*
 * sockaddr_match - is fd bound to the address and port of this listen
 * line?  Compared as numbers, so that any spelling of the address works.
 */
static int
sockaddr_match(const struct listen *l, int fd)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t		 len = sizeof(ss);
	unsigned char		 want[sizeof(struct in6_addr)];
	long			 port = strtol(l->port, NULL, 10);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		return 0;
	if (ss.ss_family == AF_INET)
		return inet_pton(AF_INET, l->host, want) == 1 &&
		    memcmp(want, &sin->sin_addr, sizeof(sin->sin_addr)) == 0 &&
		    ntohs(sin->sin_port) == port;
	if (ss.ss_family == AF_INET6)
		return inet_pton(AF_INET6, l->host, want) == 1 &&
		    memcmp(want, &sin6->sin6_addr, sizeof(sin6->sin6_addr)) ==
		    0 && ntohs(sin6->sin6_port) == port;
	return 0;
}

/*
 * lookup_user - the unprivileged user; NULL, with the reason logged,
 * when it does not exist or is root.
 */
static const struct passwd *
lookup_user(const struct conf *conf)
{
	const struct passwd	*pw;
	char			 user[LOG_VALUE_MAX];

	log_value(conf->user, user, sizeof(user));
	if ((pw = getpwnam(conf->user)) == NULL) {
		log_warnx("event=no-user user=%s reason=\"refusing to run as "
		    "root: create the user, or set user in the "
		    "configuration\"", user);
		return NULL;
	}
	if (pw->pw_uid == 0) {
		log_warnx("event=no-user user=%s reason=\"the user is root: "
		    "refusing to run as root\"", user);
		return NULL;
	}
	return pw;
}

/*
 * open_spool - open the spool; when we are root, a spool we had to
 * create is handed to the user, since it is the user who writes there.
 * On failure *st is NULL and sessions answer 421 4.3.0.
 */
static int
open_spool(struct conf *conf, const struct passwd *pw, struct store **st)
{
	struct stat	 sb;
	int		 created = stat(conf->spool, &sb) == -1 && errno == ENOENT;
	char		 spool[LOG_VALUE_MAX], user[LOG_VALUE_MAX];

	if ((*st = store_open(conf->spool, conf->hostname)) == NULL)
		return -1;
	store_sync(*st, conf->sync);
	if (pw != NULL && created &&
	    chown(conf->spool, pw->pw_uid, pw->pw_gid) == -1)
		log_warn("event=spool-error call=chown spool=%s",
		    log_value(conf->spool, spool, sizeof(spool)));
	if (pw != NULL && stat(conf->spool, &sb) == 0 &&
	    sb.st_uid != pw->pw_uid)
		log_warnx("event=spool-owner spool=%s uid=%u user=%s "
		    "reason=\"deliveries will fail\"",
		    log_value(conf->spool, spool, sizeof(spool)),
		    (unsigned)sb.st_uid, log_value(pw->pw_name, user,
		    sizeof(user)));
	return 0;
}

/*
 * drop_privileges - become the user for good: groups, gid, uid, in
 * that order, then make sure root cannot be had back.  POSIX setgid()
 * and setuid() set the real, effective and saved ids when run as root.
 */
static void
drop_privileges(const struct passwd *pw)
{
	gid_t	 gid = pw->pw_gid;
	uid_t	 uid = pw->pw_uid;

	if (setgroups(1, &gid) == -1)
		fatal("setgroups");
	if (setgid(gid) == -1)
		fatal("setgid %u", (unsigned)gid);
	if (setuid(uid) == -1)
		fatal("setuid %u", (unsigned)uid);
	if (setuid(0) != -1 || geteuid() == 0 || getuid() == 0 ||
	    getegid() != gid)
		fatalx("could not drop privileges to %s", pw->pw_name);
}

/*
 * user_name - who the daemon runs as, for the log: the configured user
 * when started as root, else whoever started it.
 */
static void
user_name(struct daemon *d, const struct passwd *pw)
{
	if (pw == NULL)
		pw = getpwuid(geteuid());
	if (pw != NULL)
		snprintf(d->user, sizeof(d->user), "%s", pw->pw_name);
	else
		snprintf(d->user, sizeof(d->user), "uid%u",
		    (unsigned)geteuid());
}

/*
 * spool_start - as the user the workers run as (privileges are dropped
 * already): can the spool opened take a delivery, and is it the
 * directory at its path?  If not, smtpd does not start: a daemon that
 * answers every message 451 helps no one, and says nothing where the
 * administrator looks.
 */
static int
spool_start(struct daemon *d, int foreground)
{
	struct stat	 sb;
	const char	*step;
	char		 buf[PATH_MAX];

	if (spool_usable(d->store, d->conf.spool, &sb, &step) == -1) {
		start_refused(d, step, errno, foreground);
		return -1;
	}
	d->spool_serial = 1;
	spool_adopt(d, d->store, spool_path(d, d->conf.spool, buf,
	    sizeof(buf)), &sb);
	return 0;
}

/*
 * start_refused - the spool failed at start: say so where the person
 * starting smtpd looks (stderr, which is the log under -d), and, if
 * smtpd would have detached, in the log it would have written to.
 */
static void
start_refused(const struct daemon *d, const char *step, int err,
    int foreground)
{
	spool_refused(d, d->conf.spool, step, err, "exit");
	if (!foreground) {
		log_init("smtpd", 0, log_verbose());
		spool_refused(d, d->conf.spool, step, err, "exit");
	}
}

/*
 * spool_usable - can this process deliver into st, opened by path, and
 * does path still name it?  *sb gets the directory's identity; *step
 * names what failed, with errno set.
 */
static int
spool_usable(struct store *st, const char *path, struct stat *sb,
    const char **step)
{
	struct stat	 at;

	*step = "fstat";
	if (fstat(store_root(st), sb) == -1 || store_probe(st, step) == -1)
		return -1;
	*step = "stat";
	if (stat(path, &at) == -1)
		return -1;
	if (at.st_dev != sb->st_dev || at.st_ino != sb->st_ino) {
		errno = ESTALE;		/* replaced since it was opened */
		return -1;
	}
	return 0;
}

/*
 * spool_refused - one line: which spool, as which user, failed at which
 * step and why, and what smtpd does about it.
 */
static void
spool_refused(const struct daemon *d, const char *path, const char *step,
    int err, const char *action)
{
	char	 v[LOG_VALUE_MAX], user[LOG_VALUE_MAX];

	log_warnx("event=spool-unusable spool=%s user=%s step=%s error=\"%s\" "
	    "action=%s", log_value(path, v, sizeof(v)),
	    log_value(d->user, user, sizeof(user)), step, strerror(err),
	    action);
}

/*
 * spool_adopt - st, opened by path and found to be *sb, is the spool the
 * workers forked from now on deliver into.
 */
static void
spool_adopt(struct daemon *d, struct store *st, const char *path,
    const struct stat *sb)
{
	d->store = st;
	snprintf(d->spool, sizeof(d->spool), "%s", path);
	d->spool_dev = sb->st_dev;
	d->spool_ino = sb->st_ino;
	d->spool_moved = 0;
	d->spool_next = now_ms() + SPOOL_CHECK_MS;
	scoreboard_set_spool(d->sb, d->spool_serial);
	store_watch(st, scoreboard_spool(d->sb), d->spool_serial);
}

/*
 * spool_path - the spool's path as the master must look at it: a
 * relative one is relative to where smtpd started, not to "/", where a
 * detached daemon is.
 */
static const char *
spool_path(const struct daemon *d, const char *path, char *buf,
    size_t bufsz)
{
	int	 n;

	if (path[0] == '/' || d->cwd[0] == '\0')
		return path;
	n = snprintf(buf, bufsz, "%s/%s", d->cwd, path);
	return n < 0 || (size_t)n >= bufsz ? path : buf;
}

/*
 * spool_watch - is the spool the workers hold still the directory at its
 * path?  A file system mounted over it after start (a late mount at
 * boot), or the directory renamed or replaced, would otherwise take mail
 * into a directory no reader looks at.  A stat() every SPOOL_CHECK_MS;
 * workers in a chroot cannot see the path, so the master looks and puts
 * the answer in the scoreboard, where each store reads it before it
 * stores (0: refuse, 451).  Logged when it changes; a reload (SIGHUP)
 * opens the directory now at the path.
 */
static void
spool_watch(struct daemon *d)
{
	struct stat	 sb;
	int		 moved, err = 0;
	char		 v[LOG_VALUE_MAX];

	d->spool_next = now_ms() + SPOOL_CHECK_MS;
	if (stat(d->spool, &sb) == -1) {
		err = errno;
		moved = 1;
	} else
		moved = sb.st_dev != d->spool_dev || sb.st_ino != d->spool_ino;
	if (moved == d->spool_moved)
		return;
	d->spool_moved = moved;
	scoreboard_set_spool(d->sb, moved ? 0 : d->spool_serial);
	if (!moved)
		log_info("event=spool-back spool=%s action=accepting-mail",
		    log_value(d->spool, v, sizeof(v)));
	else if (err != 0)
		log_warnx("event=spool-moved spool=%s error=\"%s\" "
		    "action=refusing-mail", log_value(d->spool, v, sizeof(v)),
		    strerror(err));
	else
		log_warnx("event=spool-moved spool=%s reason=\"another "
		    "directory is at the path: reload to use it\" "
		    "action=refusing-mail", log_value(d->spool, v, sizeof(v)));
}

/*
 * spool_reload - SIGHUP: the directory now at the new configuration's
 * spool path, checked as on start.  The same one as held: checked, and
 * kept.  Another (a file system mounted since, a new path): opened and
 * taken for the workers forked from now on, whose number tells the old
 * workers, still finishing a session, to refuse.  One that fails the
 * check changes nothing: the held spool serves on, and the log says so.
 */
static void
spool_reload(struct daemon *d, const struct conf *nc)
{
	struct store	*st;
	struct stat	 sb;
	const char	*step = "open", *path;
	char		 buf[PATH_MAX], v[LOG_VALUE_MAX];
	int		 was = d->spool_moved;

	path = spool_path(d, nc->spool, buf, sizeof(buf));
	if (stat(path, &sb) == 0 && sb.st_dev == d->spool_dev &&
	    sb.st_ino == d->spool_ino)
		st = d->store;
	else if ((st = store_open(path, nc->hostname)) == NULL) {
		spool_refused(d, path, step, errno, "kept-spool");
		return;
	}
	store_sync(st, nc->sync);
	if (spool_usable(st, path, &sb, &step) == -1) {
		spool_refused(d, path, step, errno, "kept-spool");
		if (st != d->store)
			store_close(st);
		return;
	}
	if (st != d->store) {
		store_close(d->store);
		d->spool_serial++;
		log_info("event=spool-reopened spool=%s",
		    log_value(path, v, sizeof(v)));
	} else if (was)
		log_info("event=spool-back spool=%s action=accepting-mail",
		    log_value(path, v, sizeof(v)));
	spool_adopt(d, st, path, &sb);
}

/*
 * detach - become a daemon: no terminal, no working directory held.
 */
static void
detach(void)
{
	int	 fd;

	switch (fork()) {
	case -1:
		fatal("fork");
	case 0:
		break;
	default:
		_exit(0);
	}
	if (setsid() == -1)
		fatal("setsid");
	if (chdir("/") == -1)
		fatal("chdir /");
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
}

/*
 * run_daemon - sockets are open: spool, privileges, then the pool.
 */
static int
run_daemon(struct daemon *d, const struct passwd *pw, int foreground)
{
	char	 user[LOG_VALUE_MAX];
	int	 rc;

	d->debug = foreground;
	if (d->nl == 0) {
		log_warnx("event=no-listen reason=\"no socket to listen on\"");
		return 1;
	}
	user_name(d, pw);
	if (getcwd(d->cwd, sizeof(d->cwd)) == NULL)
		d->cwd[0] = '\0';		/* a relative spool then stays so */
	if (open_spool(&d->conf, pw, &d->store) == -1) {
		start_refused(d, "open", errno, foreground);
		free(d->l);
		return 1;
	}
	/*
	 * Workers watch the read end of this pipe; only the master holds
	 * the write end, so when it dies, however it dies, they see EOF
	 * and leave instead of serving on without supervision.
	 */
	if (pipe(d->alive) == -1)
		fatal("pipe");
	fcntl(d->alive[0], F_SETFD, FD_CLOEXEC);
	fcntl(d->alive[1], F_SETFD, FD_CLOEXEC);
	if (pw != NULL) {
		contain_keep_chroot();
		drop_privileges(pw);
		d->chroot = contain_hold_chroot() == 0;
	}
	if (spool_start(d, foreground) == -1 ||
	    pidfile_start(d, foreground) == -1) {
		store_close(d->store);
		free(d->l);
		return 1;
	}
	if (!foreground) {
		log_init("smtpd", 0, log_verbose());
		detach();
	}
	notify_init();
	d->sb = scoreboard_new(d->conf.workers);
	scoreboard_set_spool(d->sb, d->spool_serial);
	store_watch(d->store, scoreboard_spool(d->sb), d->spool_serial);
	log_info("event=start pid=%ld workers=%u max-per-address=%u user=%s "
	    "fs=%s seccomp=%s%s", (long)getpid(), d->conf.workers,
	    d->conf.max_per_address, pw ? log_value(pw->pw_name, user,
	    sizeof(user)) : "(unchanged)",
	    contain_name(contain_how(&d->conf, d->chroot, 1)),
	    d->conf.seccomp && contain_syscalls_count() > 0 ? "on" : "off",
	    d->conf.sync ? "" : " sync=no");
	say_unsafe(&d->conf);
	fail_warn(d->conf.fail);
	rc = master(d);
	pidfile_remove(d);
	scoreboard_free(d->sb);
	store_close(d->store);
	free(d->l);
	free(d->w);
	return rc;
}

/*
 * say_unsafe - "sync no" is logged wherever it is taken into use (start,
 * reload, -i), at warning: whoever reads the log must not take a 250 for
 * a message on disk.
 */
static void
say_unsafe(const struct conf *conf)
{
	if (!conf->sync)
		log_warnx("event=unsafe reason=\"sync no: mail answered 250 "
		    "is not on disk yet, a crash can lose it\"");
}

/*
 * pidfile_start - -p, before detaching and as the user the master runs
 * as: FILE made absolute (a detached daemon is in "/"), FILE.tmp created
 * and removed again, and a FILE left by an earlier run removed (waiting
 * for FILE must wait for this daemon).  A directory the user cannot
 * write thus stops the start here, where the person starting smtpd
 * looks, rather than leave a script waiting for a file that never comes.
 */
static int
pidfile_start(struct daemon *d, int foreground)
{
	char		 buf[PATH_MAX], tmp[PATH_MAX];
	const char	*call;
	int		 n, fd, err;

	if (d->pidfile[0] == '\0')
		return 0;
	if (d->pidfile[0] != '/') {
		call = "getcwd";
		errno = ENOENT;
		if (d->cwd[0] == '\0')
			goto fail;
		call = "path";
		errno = ENAMETOOLONG;
		n = snprintf(buf, sizeof(buf), "%s/%s", d->cwd, d->pidfile);
		if (n < 0 || (size_t)n >= sizeof(buf))
			goto fail;
		memcpy(d->pidfile, buf, (size_t)n + 1);
	}
	call = "open";
	if (pidfile_tmp(d, tmp, sizeof(tmp)) == -1 ||
	    (fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0644)) == -1)
		goto fail;
	close(fd);
	call = "unlink";
	if (unlink(tmp) == -1 ||
	    (unlink(d->pidfile) == -1 && errno != ENOENT))
		goto fail;
	return 0;
fail:
	err = errno;
	pidfile_failed(d, call, err, "exit");
	if (!foreground) {
		log_init("smtpd", 0, log_verbose());
		pidfile_failed(d, call, err, "exit");
	}
	return -1;
}

/*
 * pidfile_tmp - FILE.tmp, in FILE's directory so that rename() can put
 * it in FILE's place; -1 (ENAMETOOLONG) when it does not fit.
 */
static int
pidfile_tmp(const struct daemon *d, char *buf, size_t bufsz)
{
	int	 n = snprintf(buf, bufsz, "%s.tmp", d->pidfile);

	if (n < 0 || (size_t)n >= bufsz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/*
 * pidfile_write - FILE of -p: the master's pid, then the address of each
 * listening socket as the listen line logs it, one a line, in the order
 * of the listen lines (or of the sockets passed).  Written as FILE.tmp
 * and renamed over FILE, so that a reader sees all of it or nothing.  0,
 * or -1 with errno set and *call naming the step that failed.
 */
static int
pidfile_write(const struct daemon *d, const char **call)
{
	char	 tmp[PATH_MAX];
	FILE	*fp;
	size_t	 i;
	int	 fd, bad, saved;

	*call = "open";
	if (pidfile_tmp(d, tmp, sizeof(tmp)) == -1 ||
	    (fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0644)) == -1)
		return -1;
	/* umask(077) is for the spool: a pid and ports are no secret. */
	*call = "write";
	if (fchmod(fd, 0644) == -1 || (fp = fdopen(fd, "w")) == NULL) {
		saved = errno;
		close(fd);
		goto fail;
	}
	errno = EIO;
	fprintf(fp, "%ld\n", (long)getpid());
	for (i = 0; i < d->nl; i++)
		fprintf(fp, "%s\n", d->l[i].name);
	bad = ferror(fp);
	saved = errno;
	if (fclose(fp) == EOF || bad) {
		saved = bad ? saved : errno;
		goto fail;
	}
	*call = "rename";
	if (rename(tmp, d->pidfile) == 0)
		return 0;
	saved = errno;
fail:
	unlink(tmp);
	errno = saved;
	return -1;
}

/*
 * pidfile_remove - at a clean stop, FILE of -p goes: the pool is gone.
 */
static void
pidfile_remove(struct daemon *d)
{
	if (!d->pidfile_made)
		return;
	d->pidfile_made = 0;
	if (unlink(d->pidfile) == -1)
		pidfile_failed(d, "unlink", errno, "ignored");
}

/*
 * pidfile_failed - one line: which FILE of -p, as which user, failed at
 * which step and why, and what smtpd does about it.
 */
static void
pidfile_failed(const struct daemon *d, const char *call, int err,
    const char *action)
{
	char	 v[LOG_VALUE_MAX], user[LOG_VALUE_MAX];

	log_warnx("event=pidfile-failed file=%s user=%s call=%s error=\"%s\" "
	    "action=%s", log_value(d->pidfile, v, sizeof(v)),
	    log_value(d->user, user, sizeof(user)), call, strerror(err),
	    action);
}

static void
on_signal(int sig)
{
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		got_term = 1;
		break;
	case SIGHUP:
		got_hup = 1;
		break;
	case SIGCHLD:
		got_chld = 1;
		break;
	case SIGUSR1:
		got_usr1 = 1;
		break;
	}
}

/*
 * on_worker_term - a worker told to stop (or, on Linux, whose master
 * died) lets go of the listening sockets at once, so that a new smtpd
 * can bind the port while this one finishes its session.  close() is
 * async-signal-safe; nothing uses the sockets after got_term is set,
 * nor waits again on the worker's epoll set, which may still name them.
 */
static void
on_worker_term(int sig)
{
	size_t	 i;

	(void)sig;
	got_term = 1;
	for (i = 0; i < term_nl; i++)
		close(term_l[i].fd);
	term_nl = 0;
}

/*
 * catch_signals - the handlers only set flags.  No SA_RESTART: a
 * blocking call must return EINTR so that its caller looks at them.
 */
static void
catch_signals(void)
{
	struct sigaction	 sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
}

/*
 * master - keep the pool full until SIGTERM.  Signals stay blocked
 * except inside pselect(), so none can slip in between a check of the
 * flags and the wait.  systemd hears READY=1 once the sockets are
 * bound and the pool is forked, at start and after each reload, and
 * STOPPING=1 before the listeners close (notify.c); FILE of -p is
 * written at the same points.  1 when that FILE could not be written at
 * start (the pool is stopped: a script would wait for it forever), else
 * 0.
 */
static int
master(struct daemon *d)
{
	struct timespec	 ts, *tsp;
	sigset_t	 block, orig;
	fd_set		 rfd;
	int		 fd = scoreboard_fd(d->sb), ready = 1, rc = 0;

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGCHLD);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &orig);
	catch_signals();
	for (;;) {
		got_chld = 0;
		reap(d);
		if (got_term)
			break;
		if (got_hup) {
			got_hup = 0;
			notify("RELOADING=1\nMONOTONIC_USEC=%lld\n"
			    "STATUS=reloading the configuration", notify_usec());
			reload(d);
			ready = 1;
		}
		if (got_usr1) {
			got_usr1 = 0;
			scoreboard_log(d->sb);
		}
		if (now_ms() >= d->spool_next)
			spool_watch(d);
		spawn_missing(d, &ts);
		if (ready && pidfile_ready(d) == -1) {
			rc = 1;
			break;
		}
		if (ready) {
			ready = 0;
			notify("READY=1\nMAINPID=%ld\nSTATUS=accepting mail: "
			    "%u workers", (long)getpid(), d->conf.workers);
		}
		tsp = next_wake(d, &ts);
		FD_ZERO(&rfd);
		if (fd != -1)
			FD_SET(fd, &rfd);
		if (pselect(fd + 1, &rfd, NULL, NULL, tsp, &orig) == -1) {
			if (errno != EINTR)
				fatal("pselect");
		} else if (fd != -1 && FD_ISSET(fd, &rfd))
			log_stress(d);
	}
	notify("STOPPING=1\nSTATUS=stopping: %zu workers end their sessions",
	    d->nw);
	/* New connections are refused from now on, not queued and reset. */
	close_listeners(d);
	stop_pool(d);
	sigprocmask(SIG_SETMASK, &orig, NULL);
	return rc;
}

/*
 * pidfile_ready - the pool is ready: (re)write FILE of -p.  -1 when it
 * fails the first time, which stops the daemon; a failure after a
 * reload is logged and the daemon goes on, its FILE as it was.
 */
static int
pidfile_ready(struct daemon *d)
{
	const char	*call;

	if (d->pidfile[0] == '\0')
		return 0;
	if (pidfile_write(d, &call) == 0) {
		d->pidfile_made = 1;
		return 0;
	}
	pidfile_failed(d, call, errno, d->pidfile_made ? "ignored" : "exit");
	return d->pidfile_made ? 0 : -1;
}

/*
 * next_wake - how long the master may sleep: until the throttle lets it
 * fork again (*ts, from spawn_missing(); zero when it need not wait),
 * or until its next look at the spool's path, whichever comes first.
 */
static struct timespec *
next_wake(const struct daemon *d, struct timespec *ts)
{
	long long	 left = d->spool_next - now_ms(), spawn;

	spawn = ts->tv_sec * 1000LL + ts->tv_nsec / 1000000;
	if ((ts->tv_sec > 0 || ts->tv_nsec > 0) && spawn < left)
		return ts;
	if (left < 1)
		left = 1;
	ts->tv_sec = left / 1000;
	ts->tv_nsec = left % 1000 * 1000000;
	return ts;
}

/*
 * log_stress - a worker says the stress flag flipped: log the change.
 */
static void
log_stress(struct daemon *d)
{
	unsigned	 busy;
	int		 st = scoreboard_changed(d->sb, &busy);

	if (st == d->stress)
		return;
	d->stress = st;
	log_info("event=stress state=%s busy=%u workers=%u", st ? "on" : "off",
	    busy, d->conf.workers);
}

static void
close_listeners(struct daemon *d)
{
	size_t	 i;

	for (i = 0; i < d->nl; i++)
		close(d->l[i].fd);
	d->nl = 0;
}

/*
 * spawn_missing - fork workers of the current generation up to the pool
 * size.  While throttled, *ts says how long to wait before trying again.
 */
static void
spawn_missing(struct daemon *d, struct timespec *ts)
{
	struct worker	*w;
	size_t		 i, have = 0;
	long long	 now = now_ms();
	pid_t		 pid;
	int		 slot;

	ts->tv_sec = ts->tv_nsec = 0;
	for (i = 0; i < d->nw; i++)
		have += d->w[i].generation == d->generation;
	for (; have < d->conf.workers; have++) {
		if (now < d->next_spawn) {
			ts->tv_sec = (d->next_spawn - now) / 1000;
			ts->tv_nsec = (d->next_spawn - now) % 1000 * 1000000;
			return;
		}
		if ((w = realloc(d->w, (d->nw + 1) * sizeof(*w))) == NULL) {
			log_warn("event=spawn-failed call=realloc");
			return;
		}
		d->w = w;
		slot = scoreboard_reserve(d->sb);
		if ((pid = fork()) == -1) {
			log_warn("event=spawn-failed call=fork");
			scoreboard_release(d->sb, slot);
			d->next_spawn = now + 1000;
			ts->tv_sec = 1;
			return;
		}
		if (pid == 0)
			worker_main(d, slot);
		scoreboard_assign(d->sb, slot, pid);
		w[d->nw].pid = pid;
		w[d->nw].started = now;
		w[d->nw].generation = d->generation;
		w[d->nw].slot = slot;
		d->nw++;
	}
}

/*
 * reap - collect every worker that has exited.  Workers that die within
 * QUICK_DEATH_MS of starting double the pause before the next fork (up
 * to BACKOFF_MAX), once per round of forks; one that lived longer, or
 * exited cleanly, clears it.
 */
static void
reap(struct daemon *d)
{
	long long	 now = now_ms();
	size_t		 i;
	pid_t		 pid;
	int		 status, failed;
	char		 sig[16];

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < d->nw && d->w[i].pid != pid; i++)
			;
		if (i == d->nw)
			continue;
		failed = !WIFEXITED(status) || WEXITSTATUS(status) != 0;
		if (WIFSIGNALED(status))
			log_info("event=worker-exit pid=%ld signal=%s",
			    (long)pid, signal_name(WTERMSIG(status), sig,
			    sizeof(sig)));
		else
			log_info("event=worker-exit pid=%ld status=%d",
			    (long)pid, WEXITSTATUS(status));
		scoreboard_release(d->sb, d->w[i].slot);
		if (!failed || now - d->w[i].started >= QUICK_DEATH_MS)
			d->backoff = 0;
		else if (now >= d->next_spawn) {
			/* Once a round: its siblings died of the same cause. */
			d->backoff = d->backoff ? d->backoff * 2 : 1;
			if (d->backoff > BACKOFF_MAX)
				d->backoff = BACKOFF_MAX;
			d->next_spawn = now + 1000LL * d->backoff;
			log_warnx("event=throttle pid=%ld reason=died-at-start "
			    "backoff=%us", (long)pid, d->backoff);
		}
		d->w[i] = d->w[--d->nw];
	}
}

/*
 * reload - SIGHUP: read the file again.  A file with errors changes
 * nothing.  Otherwise the spool is opened again (spool_reload()), the
 * workers are told to finish their session and exit, and new ones start
 * with the new configuration.  Sockets and user are set up before
 * privileges are dropped: changing them takes a restart.
 */
static void
reload(struct daemon *d)
{
	struct conf	 nc;
	size_t		 i;
	char		 file[LOG_VALUE_MAX];

	if (conf_load(&nc, d->path) == -1) {
		log_warnx("event=reload-failed file=%s action=kept-running",
		    log_value(d->path, file, sizeof(file)));
		return;
	}
	spool_reload(d, &nc);
	if (strcmp(nc.user, d->conf.user) != 0 || !same_listens(&nc, &d->conf))
		log_warnx("event=reload-partial reason=\"listen and user "
		    "changes take a restart\"");
	conf_free(&d->conf);
	d->conf = nc;
	d->dnsp = resolver(&d->conf, &d->dns);
	d->generation++;
	d->backoff = 0;
	d->next_spawn = 0;
	scoreboard_resize(d->sb, d->conf.workers);
	for (i = 0; i < d->nw; i++)
		kill(d->w[i].pid, SIGHUP);
	log_info("event=reload file=%s workers=%u",
	    log_value(d->path, file, sizeof(file)), d->conf.workers);
	say_unsafe(&d->conf);
	fail_warn(d->conf.fail);
}

static int
same_listens(const struct conf *a, const struct conf *b)
{
	size_t	 i;

	if (a->nlistens != b->nlistens)
		return 0;
	for (i = 0; i < a->nlistens; i++)
		if (strcmp(a->listens[i].host, b->listens[i].host) != 0 ||
		    strcmp(a->listens[i].port, b->listens[i].port) != 0 ||
		    a->listens[i].proxy != b->listens[i].proxy)
			return 0;
	return 1;
}

/*
 * stop_pool - SIGTERM every worker; sessions get GRACE_SECONDS to
 * finish the message they are receiving, then SIGKILL.  Returns when no
 * worker is left.
 */
static void
stop_pool(struct daemon *d)
{
	struct timespec	 ts = { 1, 0 };
	sigset_t	 none;
	long long	 deadline = now_ms() + GRACE_SECONDS * 1000LL;
	size_t		 i;

	log_info("event=stop workers=%zu", d->nw);
	for (i = 0; i < d->nw; i++)
		kill(d->w[i].pid, SIGTERM);
	sigemptyset(&none);
	while (d->nw > 0 && now_ms() < deadline) {
		reap(d);
		if (d->nw > 0)
			pselect(0, NULL, NULL, NULL, &ts, &none);
	}
	for (i = 0; i < d->nw; i++) {
		log_warnx("event=kill pid=%ld after=%ds", (long)d->w[i].pid,
		    GRACE_SECONDS);
		kill(d->w[i].pid, SIGKILL);
		waitpid(d->w[i].pid, NULL, 0);
	}
	d->nw = 0;
}

/*
 * worker_main - accept, serve, close, until max-sessions, SIGHUP (after
 * the session in progress) or SIGTERM.  Signals stay blocked (as the
 * master left them) but while waiting for a connection and during a
 * session, where they must interrupt the wait.
 */
static void
worker_main(struct daemon *d, int slot)
{
	struct sockaddr_storage	 ss;
	struct listener		*l;
	sigset_t		 none, blocked;
	unsigned		 served = 0;
	int			 fd, linger;

	got_term = got_hup = got_chld = got_usr1 = 0;
	d->slot = slot;
	worker_signals(d);
	close(d->alive[1]);
	d->ep = wait_setup(d);
	contain(&d->conf, d->store, contain_how(&d->conf, d->chroot, 0), d->nl,
	    d->debug, 1);
	sigemptyset(&none);
	free(d->w);
	d->w = NULL;
	d->nw = 0;
	while (!got_term && !got_hup &&
	    (d->conf.max_sessions == 0 || served < d->conf.max_sessions)) {
		if ((fd = accept_one(d, &l, &ss, &none)) == -1)
			continue;
		sigprocmask(SIG_SETMASK, &none, &blocked);
		linger = serve_conn(d, l, fd, &ss);
		sigprocmask(SIG_SETMASK, &blocked, NULL);
		linger_close(fd, fd, linger);
		store_tidy(d->store);		/* stale tmp/ files, a little */
		served++;
	}
	_exit(0);
}

/*
 * worker_signals - SIGTERM (and SIGINT, which a terminal sends the whole
 * process group) close the listening sockets at once.  On Linux the
 * kernel sends SIGTERM when the master dies, so that a worker in a
 * session lets go of the port too; elsewhere such a worker keeps it
 * until its session ends, which the deadlines bound.
 */
static void
worker_signals(struct daemon *d)
{
	struct sigaction	 sa;

	signal(SIGCHLD, SIG_DFL);
	signal(SIGUSR1, SIG_IGN);
	term_l = d->l;
	term_nl = d->nl;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_worker_term;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGTERM);	/* one handler at a time */
	sigaddset(&sa.sa_mask, SIGINT);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
#ifdef __linux__
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1)
		log_warn("event=error call=prctl-pdeathsig");
#endif
}

/*
 * contain_how - how a worker is to see only the spool: chroot(2) when
 * it may (as root, or with the master's CAP_SYS_CHROOT), else Landlock
 * where the kernel has it (ABI 2, Linux 5.19, for links and renames
 * from tmp/ to new/); 0 with "chroot no", or neither, which say logs.
 */
static int
contain_how(const struct conf *conf, int may_chroot, int say)
{
	/*
	 * The sanitizer build goes without: LeakSanitizer's check at exit
	 * reads /proc, which neither a chroot nor Landlock leaves it.
	 */
#ifdef __SANITIZE_ADDRESS__
	(void)may_chroot;
	(void)say;
	return 0;
#endif
	if (!conf->chroot)
		return 0;
	if (may_chroot)
		return CONTAIN_CHROOT;
	if (contain_landlock_abi() >= 2)
		return CONTAIN_LANDLOCK;
	if (say)
		log_warnx("event=unconfined reason=\"no Landlock (ABI 2) in "
		    "this kernel: sessions see the whole file system\"");
	return 0;
}

/*
 * contain - the steps of contain.h for a process about to read client
 * octets: the file system (how, on the spool the store has open, and no
 * capability left, whatever how is), then,
 * if rest, the resource limits and the seccomp filter.  nl listening
 * sockets stay open; debug (-d) keeps core dumps.  A step that fails is
 * logged and the process goes on: each is a second line of defence.
 */
static void
contain(const struct conf *conf, struct store *st, int how, size_t nl,
    int debug, int rest)
{
	contain_fs(st != NULL ? store_root(st) : -1, st != NULL ? how : 0);
	if (!rest)
		return;
	contain_limits(nl, conf->max_message_size, debug);
	if (conf->seccomp)
		contain_syscalls(conf->spf != CONF_SPF_OFF);
}

/*
 * signal_name - "SIGSYS" for the signals a worker dies of, else the
 * number.
 */
static const char *
signal_name(int sig, char *buf, size_t bufsz)
{
	static const struct {
		int		 sig;
		const char	*name;
	} names[] = {
		{ SIGABRT, "SIGABRT" }, { SIGBUS, "SIGBUS" },
		{ SIGFPE, "SIGFPE" }, { SIGILL, "SIGILL" },
		{ SIGINT, "SIGINT" }, { SIGKILL, "SIGKILL" },
		{ SIGSEGV, "SIGSEGV" }, { SIGSYS, "SIGSYS" },
		{ SIGTERM, "SIGTERM" }, { SIGXFSZ, "SIGXFSZ" },
	};
	size_t	 i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].sig == sig)
			return names[i].name;
	snprintf(buf, bufsz, "%d", sig);
	return buf;
}

/*
 * serve_conn - the PROXY header if the listener expects one, then the
 * session; ss is the address accept() gave.  A refused header closes
 * the connection without a greeting.  Returns how long to linger for
 * the client's last octets (ms).
 */
static int
serve_conn(struct daemon *d, struct listener *l, int fd,
    const struct sockaddr_storage *ss)
{
	struct session_env	 env;
	const char		*why, *p;
	char			 peer[INET6_ADDRSTRLEN], lp[LOG_PEER_MAX];
	char			 name[LOG_VALUE_MAX];
	int			 r = PROXY_LOCAL, linger;

	if (l->proxy && (r = proxy_read(fd, d->conf.proxy_timeout, peer,
	    sizeof(peer), &why)) == -1) {
		p = addr_text(ss, peer, sizeof(peer));
		log_warnx("event=proxy-refused peer=%s listen=%s reason=%s",
		    log_peer(p, lp, sizeof(lp)),
		    log_value(l->name, name, sizeof(name)), why);
		return 0;
	}
	memset(&env, 0, sizeof(env));
	env.peer = r == PROXY_ADDRESS ? peer :
	    addr_text(ss, peer, sizeof(peer));
	env.conf = &d->conf;
	env.dns = d->dnsp;
	env.store = d->store;
	env.stop = &got_term;
	env.stress = scoreboard_stress(d->sb);
	env.crowded = scoreboard_enter(d->sb, d->slot, env.peer,
	    d->conf.max_per_address) == -1;
	/*
	 * No linger for a refused address, which has sent nothing a
	 * well-behaved client would, nor for a client that stopped taking
	 * replies: there is no last reply to save.
	 */
	if (session_run(fd, fd, &env) == -1 || env.crowded)
		linger = 0;
	else if (env.stress != NULL && atomic_load(env.stress))
		linger = LINGER_STRESS_MS;
	else
		linger = LINGER_MS;
	if (!env.crowded)
		scoreboard_leave(d->sb, d->slot);
	return linger;
}

/*
 * linger_close - end a connection without losing our last reply.  A
 * socket closed with unread input sends RST, and an RST can destroy the
 * 221 or 421 still on its way to a client that had pipelined more.  So:
 * FIN first, then read and drop what the client still sends until it
 * closes or ms pass, then close.  On a pipe (tests) the shutdown() fails
 * and this is a plain close.
 */
static void
linger_close(int in, int out, int ms)
{
	struct pollfd	 pfd = { in, POLLIN, 0 };
	long long	 deadline = now_ms() + ms, left;
	char		 buf[4096];

	if (ms > 0 && shutdown(out, SHUT_WR) == 0) {
		while ((left = deadline - now_ms()) > 0 &&
		    poll(&pfd, 1, (int)left) > 0 &&
		    read(in, buf, sizeof(buf)) > 0)
			;
	}
	close(in);
	if (out != in)
		close(out);
}

/*
 * wait_setup - on Linux, the worker's own epoll instance, watching every
 * listener with EPOLLEXCLUSIVE and the master's pipe without it; -1,
 * for pselect(), elsewhere or if epoll fails.
 *
 * With pselect() (or a plain epoll) every idle worker wakes for every
 * connection and all but one fail to accept it: with 64 workers, 60
 * context switches per message and more than twice the CPU of 16
 * workers.  An exclusive wait wakes one worker of those waiting (with
 * none waiting, the connection stays ready for the first back), so that
 * a large pool, the defence against slow clients, costs nothing while
 * idle.  The instance is made after the fork: one made before would be
 * shared, interest list, wake-ups and all.
 */
static int
wait_setup(struct daemon *d)
{
#ifdef WAIT_EPOLL
	struct epoll_event	 ev;
	size_t			 i;
	int			 ep;

	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		log_warn("event=error call=epoll_create1");
		return -1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;			/* the master's pipe */
	if (epoll_ctl(ep, EPOLL_CTL_ADD, d->alive[0], &ev) == -1)
		goto fail;
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	for (i = 0; i < d->nl; i++) {
		ev.data.ptr = &d->l[i];
		if (epoll_ctl(ep, EPOLL_CTL_ADD, d->l[i].fd, &ev) == -1)
			goto fail;
	}
	return ep;
fail:
	log_warn("event=error call=epoll_ctl");
	close(ep);
#endif
	(void)d;
	return -1;
}

/*
 * wait_ready - wait, with signals let in, until a listener has a
 * connection; NULL when a signal came.  The mask is applied by the
 * wait itself, so that a signal cannot slip in between the caller's
 * look at the flags and the wait.  A worker whose master is gone exits.
 */
static struct listener *
wait_ready(struct daemon *d, const sigset_t *mask)
{
#ifdef WAIT_EPOLL
	if (d->ep != -1)
		return wait_epoll(d, mask);
#endif
	return wait_select(d, mask);
}

#ifdef WAIT_EPOLL
/*
 * wait_epoll - wait_ready() on the worker's epoll instance.  Level
 * triggered: a connection this worker leaves is reported again.
 * epoll_pwait() runs no handler when it returns events, so a positive
 * count means no signal was taken and the listeners are still open.
 */
static struct listener *
wait_epoll(struct daemon *d, const sigset_t *mask)
{
	struct epoll_event	 ev[4];
	int			 i, n;

	if ((n = epoll_pwait(d->ep, ev, 4, -1, mask)) <= 0)
		return NULL;
	for (i = 0; i < n; i++)
		if (ev[i].data.ptr == NULL)
			orphaned();
	return ev[0].data.ptr;
}
#endif

/*
 * wait_select - wait_ready() with pselect(), for systems without an
 * exclusive wait: every idle worker wakes for each connection.
 */
static struct listener *
wait_select(struct daemon *d, const sigset_t *mask)
{
	fd_set	 rfd;
	size_t	 i;
	int	 max;

	FD_ZERO(&rfd);
	FD_SET(d->alive[0], &rfd);
	max = d->alive[0];
	for (i = 0; i < d->nl; i++) {
		FD_SET(d->l[i].fd, &rfd);
		if (d->l[i].fd > max)
			max = d->l[i].fd;
	}
	if (pselect(max + 1, &rfd, NULL, NULL, NULL, mask) <= 0)
		return NULL;
	if (FD_ISSET(d->alive[0], &rfd))
		orphaned();
	for (i = 0; i < d->nl; i++)
		if (FD_ISSET(d->l[i].fd, &rfd))
			return &d->l[i];
	return NULL;
}

/*
 * orphaned - the master's pipe gave EOF: it died.  An idle worker
 * leaves rather than serve on without supervision.
 */
static void
orphaned(void)
{
	log_warnx("event=orphaned pid=%ld reason=\"the master is gone\"",
	    (long)getpid());
	_exit(1);
}

/*
 * accept_one - wait for a connection on any listener and take it, with
 * the client's address in *ss.  -1 when a signal came or another worker
 * took the connection first (the listeners are non-blocking: EAGAIN).
 */
static int
accept_one(struct daemon *d, struct listener **lp,
    struct sockaddr_storage *ss, const sigset_t *mask)
{
	struct listener	*l;
	socklen_t	 len = sizeof(*ss);
	int		 fd;

	if ((l = wait_ready(d, mask)) == NULL)
		return -1;
	ss->ss_family = AF_UNSPEC;
#ifdef SOCK_CLOEXEC
	/*
	 * Close-on-exec in the same call, and blocking: accept4() takes
	 * O_NONBLOCK from its flags, never from the listener.
	 */
	if ((fd = accept4(l->fd, (struct sockaddr *)ss, &len,
	    SOCK_CLOEXEC)) == -1)
		return -1;
#else
	if ((fd = accept(l->fd, (struct sockaddr *)ss, &len)) == -1)
		return -1;
	/* Whether O_NONBLOCK is inherited is not portable. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	fcntl(fd, F_SETFD, FD_CLOEXEC);
#endif
	*lp = l;
	return fd;
}

/*
 * resolver - the resolver SPF checks ask (smtpd.conf's resolver, or
 * resolv.conf's first nameserver), or NULL, said once, when there is
 * none: every check is then a temperror.
 */
static const struct dns_server *
resolver(const struct conf *conf, struct dns_server *srv)
{
	const char	*why = NULL;

	if (conf->spf == CONF_SPF_OFF)
		return NULL;
	if (dns_server_pick(srv, conf->resolver, conf->resolver_port, &why) ==
	    -1) {
		log_warnx("event=resolver-unusable reason=\"%s\" "
		    "action=spf-temperror", why ? why : "unknown");
		return NULL;
	}
	return srv;
}

/*
 * peer_name - the client's address as text, or NULL when fd is not a
 * socket (a pipe in the tests) or has no address.
 */
static const char *
peer_name(int fd, char *buf, size_t bufsz)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);

	if (getpeername(fd, (struct sockaddr *)&ss, &len) == -1)
		return NULL;
	return addr_text(&ss, buf, bufsz);
}

/*
 * addr_text - an IPv4 or IPv6 address as text, else NULL.  An
 * IPv4-mapped IPv6 address is shown as the IPv4 address it is.
 */
static const char *
addr_text(const struct sockaddr_storage *ss, char *buf, size_t bufsz)
{
	const struct sockaddr_in6	*sin6;
	const struct sockaddr_in	*sin;

	sin6 = (const struct sockaddr_in6 *)ss;
	sin = (const struct sockaddr_in *)ss;
	if (ss->ss_family == AF_INET)
		return inet_ntop(AF_INET, &sin->sin_addr, buf, bufsz);
	if (ss->ss_family != AF_INET6)
		return NULL;
	if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
		return inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], buf,
		    bufsz);
	return inet_ntop(AF_INET6, &sin6->sin6_addr, buf, bufsz);
}
