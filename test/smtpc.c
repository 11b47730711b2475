/*
 * smtpc.c - a test client that plays legitimate and hostile SMTP clients
 * against smtpd over loopback TCP, for the bats tests and for manual
 * measurements of how the daemon copes.  One MODE per run:
 *
 *	send	a whole transaction: "send ok ms=N greet_ms=G" or
 *		"send fail stage=S ms=N reply=..." per message
 *	idle	the greeting, then silence
 *	drip	"NOOP\r\n", one octet every interval
 *	noop	a whole "NOOP\r\n" every interval
 *	data	EHLO, MAIL, RCPT, DATA, then the body one octet at a time
 *	bdat	EHLO, MAIL, RCPT, "BDAT 100000 LAST", then one octet at a time
 *	noread	EHLO and NOOPs as fast as the socket takes them, unread
 *
 * An attack connection ends in one line, "MODE cut|timeout ms=N last=..."
 * or "MODE refused"; LINE is the last line the server sent, with CR and
 * LF removed and controls, non-ASCII, '"' and '\' as \xHH.  -c children
 * do the work (one by default); each prints its lines with one write(2)
 * a line, so lines never mix, and sends a record a connection through a
 * pipe to the parent, which prints the summary (with -c or -T; conns=
 * counts every attempt, refused ones too) and the exit status.
 *
 * Safety: it connects to loopback addresses only (127.0.0.0/8, ::1) and
 * always ends by itself: every wait is a poll() bounded by the
 * connection's deadline (-m seconds after its start, never later than
 * -T + -m seconds after the program's start), and the parent kills any
 * child still there a second after that.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#define SHOWN		200	/* octets of a reply line kept for output */
#define MAXCONNS	1024
#define STALL_MS	1000	/* noread: a write blocked this long ends it */
/* 60 letters and CRLF: the body of data and bdat, octet by octet. */
#define BODY	"abcdefghijklmnopqrstuvwxyz" "abcdefghijklmnopqrstuvwxyz" \
		"abcdefgh\r\n"

enum io { IO_OK, IO_CLOSED, IO_TIMEOUT, IO_REFUSED };
enum res { RES_OK, RES_FAIL, RES_CUT, RES_TIMEOUT, RES_REFUSED };

struct conn {
	int		 fd;
	long long	 t0;		/* connect() started */
	long long	 deadline;	/* we give up */
	long long	 end;		/* the server closed, or 0 */
	char		 in[8192];	/* an incomplete line */
	size_t		 inlen;
	char		 last[SHOWN * 4 + 1];	/* last line, escaped */
	int		 code;		/* of the last complete reply */
	long		 nlines;
	long		 nreplies;
};

struct rec {			/* child to parent, one per connection */
	int		 res;
	long long	 ms;
};

/*
 * An attack, after the greeting: steps[1] up to steps[prelude - 1]
 * (a refusal there counts as a cut), then cmd, then with flood the
 * NOOPs of noread, then every interval n octets of the drip pattern
 * (none if NULL) while reading whatever comes.
 */
struct mode {
	const char	*name;
	size_t		 prelude;
	const char	*cmd;
	int		 flood;
	const char	*drip;
	size_t		 n;
};

static void	 usage(void) __attribute__((noreturn));
static long	 number(const char *, long, long, const char *);
static void	 address(const char *, struct sockaddr_storage *, socklen_t *,
		    int);
static long long now_ms(void);
static int	 remaining(long long);
static void	 pause_until(long long);
static void	 tell(int, long long, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static void	 escape(char *, size_t, const char *, size_t);
static int	 conn_open(struct conn *);
static void	 lines(struct conn *);
static int	 pump(struct conn *, long long);
static int	 put(struct conn *, const char *, size_t);
static int	 step(struct conn *, const char *, int);
static int	 flood(struct conn *);
static int	 attack(struct conn *);
static int	 send_one(long);
static int	 attack_one(void);
static void	 child(void) __attribute__((noreturn));
static int	 collect(int, const pid_t *, int);
static void	 onsignal(int);

static const struct mode modes[] = {
	{ "send",	0, NULL,			0, NULL,	0 },
	{ "idle",	1, NULL,			0, NULL,	0 },
	{ "drip",	1, NULL,			0, "NOOP\r\n",	1 },
	{ "noop",	1, NULL,			0, "NOOP\r\n",	6 },
	{ "data",	5, NULL,			0, BODY,	1 },
	{ "bdat",	4, "BDAT 100000 LAST\r\n",	0, BODY,	1 },
	{ "noread",	1, "EHLO smtpc.test\r\n",	1, NULL,	0 },
};
#define SEND	(&modes[0])

static char	 rcpt_cmd[300];		/* "RCPT TO:<-R>\r\n" */

/* The dialogue up to DATA: send runs all of it, data and bdat a part. */
static const struct step {
	const char	*stage;
	const char	*cmd;		/* NULL: only wait (the greeting) */
	int		 want;
} steps[] = {
	{ "greet",	NULL,					220 },
	{ "ehlo",	"EHLO smtpc.test\r\n",			250 },
	{ "mail",	"MAIL FROM:<legit@smtpc.test>\r\n",	250 },
	{ "rcpt",	rcpt_cmd,				250 },
	{ "data",	"DATA\r\n",				354 },
};

static struct {
	struct sockaddr_storage	 srv, src;
	socklen_t		 srvlen, srclen;
	long			 interval, conns, total, max;
	int			 reconnect, summary;
	const char		*rcpt;
	const struct mode	*mode;
} opt;

static long long	 run_end;	/* -T seconds after the start */
static long long	 hard_end;	/* run_end + -m: nothing outlives it */
static int		 repfd = -1;	/* a child's end of the report pipe */
static volatile sig_atomic_t stop;	/* the parent's alarm, INT or TERM */

int
main(int argc, char *argv[])
{
	struct sigaction sa;
	pid_t		 pids[MAXCONNS];
	const char	*host = "127.0.0.1", *src = NULL;
	size_t		 i;
	int		 ch, port = 0, n, fds[2];

	opt.interval = 1000;
	opt.conns = 1;
	opt.max = 60;
	opt.rcpt = "u@example.org";
	while ((ch = getopt(argc, argv, "b:c:H:i:m:p:R:rT:")) != -1) {
		switch (ch) {
		case 'b':
			src = optarg;
			break;
		case 'c':
			opt.conns = number(optarg, 1, MAXCONNS, "-c");
			opt.summary = 1;
			break;
		case 'H':
			host = optarg;
			break;
		case 'i':
			opt.interval = number(optarg, 0, 3600000, "-i");
			break;
		case 'm':
			opt.max = number(optarg, 1, 86400, "-m");
			break;
		case 'p':
			port = number(optarg, 1, 65535, "-p");
			break;
		case 'R':
			opt.rcpt = optarg;
			break;
		case 'r':
			opt.reconnect = 1;
			break;
		case 'T':
			opt.total = number(optarg, 0, 86400, "-T");
			opt.summary |= opt.total > 0;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1 || port == 0)
		usage();
	for (i = 0; i < nitems(modes); i++)
		if (strcmp(argv[0], modes[i].name) == 0)
			opt.mode = &modes[i];
	if (opt.mode == NULL)
		usage();
	address(host, &opt.srv, &opt.srvlen, port);
	if (src != NULL) {
		address(src, &opt.src, &opt.srclen, 0);
		if (opt.src.ss_family != opt.srv.ss_family) {
			fprintf(stderr, "smtpc: -b and -H: not one family\n");
			return 2;
		}
	}
	for (i = 0; opt.rcpt[i] > ' ' && opt.rcpt[i] < 0x7f &&
	    opt.rcpt[i] != '<' && opt.rcpt[i] != '>'; i++)
		;
	if (i == 0 || opt.rcpt[i] != '\0' || i > 254) {
		fprintf(stderr, "smtpc: -R %s: not a plain address\n",
		    opt.rcpt);
		return 2;
	}
	snprintf(rcpt_cmd, sizeof(rcpt_cmd), "RCPT TO:<%s>\r\n", opt.rcpt);

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_IGN;		/* write() reports EPIPE */
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = onsignal;
	sigaction(SIGALRM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	run_end = now_ms() + opt.total * 1000;
	hard_end = run_end + opt.max * 1000;
	alarm(opt.total + opt.max + 1);		/* not inherited by fork() */
	if (pipe(fds) == -1) {
		perror("smtpc: pipe");
		return 1;
	}
	for (n = 0; n < opt.conns; n++) {
		if ((pids[n] = fork()) == -1) {
			perror("smtpc: fork");
			break;
		}
		if (pids[n] == 0) {
			close(fds[0]);
			repfd = fds[1];
			sa.sa_handler = SIG_DFL;
			sigaction(SIGALRM, &sa, NULL);
			sigaction(SIGINT, &sa, NULL);
			sigaction(SIGTERM, &sa, NULL);
			child();
		}
	}
	close(fds[1]);
	return collect(fds[0], pids, n);
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: smtpc [-r] [-b srcaddr] [-c conns] [-H host] "
	    "[-i interval_ms]\n"
	    "             [-m max_seconds] [-R rcpt] [-T seconds] -p port "
	    "mode\n"
	    "mode: send, idle, drip, noop, data, bdat or noread\n");
	exit(2);
}

/*
 * number - s as a decimal number between min and max, or exit 2.
 */
static long
number(const char *s, long min, long max, const char *what)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < min || v > max) {
		fprintf(stderr, "smtpc: %s %s: want %ld to %ld\n", what, s,
		    min, max);
		exit(2);
	}
	return v;
}

/*
 * address - fill ss with the numeric address s and port, or exit 2 if s
 * is not a loopback address: this tool never talks to another host.
 */
static void
address(const char *s, struct sockaddr_storage *ss, socklen_t *len,
    int port)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &sin->sin_addr) == 1) {
		if ((ntohl(sin->sin_addr.s_addr) >> 24) != 127)
			goto refuse;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*len = sizeof(*sin);
		return;
	}
	if (inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1) {
		if (!IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
			goto refuse;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*len = sizeof(*sin6);
		return;
	}
refuse:
	fprintf(stderr, "smtpc: %s: not a numeric loopback address "
	    "(127.0.0.0/8 or ::1)\n", s);
	exit(2);
}

/*
 * now_ms - the monotonic clock in milliseconds; every deadline is on it.
 */
static long long
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/*
 * remaining - milliseconds until deadline, for poll(): 0 once it passed.
 */
static int
remaining(long long deadline)
{
	long long	 left = deadline - now_ms();

	if (left < 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

/*
 * pause_until - sleep until t, but never past the end of the run.  Only
 * children sleep, and they catch no signal: one poll() will do.
 */
static void
pause_until(long long t)
{
	poll(NULL, 0, remaining(t < run_end ? t : run_end));
}

/*
 * tell - print one line with one write(2), so that the lines of
 * concurrent children never mix, and, in a child, send the parent the
 * record of how a connection or message ended (res, ms): it is far
 * below PIPE_BUF, so that write is atomic too.
 */
static void
tell(int res, long long ms, const char *fmt, ...)
{
	struct rec	 rec;
	char		 line[1024];
	va_list		 ap;
	int		 n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < sizeof(line) &&
	    write(STDOUT_FILENO, line, n) != n)
		fprintf(stderr, "smtpc: stdout: %s\n", strerror(errno));
	if (repfd == -1)
		return;
	memset(&rec, 0, sizeof(rec));
	rec.res = res;
	rec.ms = ms;
	if (write(repfd, &rec, sizeof(rec)) != (ssize_t)sizeof(rec))
		fprintf(stderr, "smtpc: report: %s\n", strerror(errno));
}

/*
 * escape - the len octets of src as one printable line in dst (see the
 * top of the file), truncated to fit size.
 */
static void
escape(char *dst, size_t size, const char *src, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char	 ch;
	size_t		 i, o = 0;

	for (i = 0; i < len && o + 5 <= size; i++) {
		ch = (unsigned char)src[i];
		if (ch == '\r' || ch == '\n')
			continue;
		if (ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\') {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[ch >> 4];
			dst[o++] = hex[ch & 0xf];
		} else
			dst[o++] = (char)ch;
	}
	dst[o] = '\0';
}

/*
 * conn_open - a fresh connection in c, non-blocking, connected within
 * its deadline; -1 if that failed (c->fd is then -1).
 */
static int
conn_open(struct conn *c)
{
	struct pollfd	 pfd;
	socklen_t	 sl = sizeof(int);
	int		 fd, err = 0, r;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->t0 = now_ms();
	c->deadline = c->t0 + opt.max * 1000;
	if (c->deadline > hard_end)
		c->deadline = hard_end;
	if ((fd = socket(opt.srv.ss_family, SOCK_STREAM, 0)) == -1)
		return -1;
	if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1 || (opt.srclen != 0 &&
	    bind(fd, (struct sockaddr *)&opt.src, opt.srclen) == -1))
		goto fail;
	if (connect(fd, (struct sockaddr *)&opt.srv, opt.srvlen) == -1) {
		if (errno != EINPROGRESS)
			goto fail;
		pfd.fd = fd;
		pfd.events = POLLOUT;
		do
			r = poll(&pfd, 1, remaining(c->deadline));
		while (r == -1 && errno == EINTR);
		if (r != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err,
		    &sl) == -1 || err != 0)
			goto fail;
	}
	c->fd = fd;
	return 0;
fail:
	close(fd);
	return -1;
}

/*
 * lines - take the complete lines out of c->in: each becomes c->last;
 * a line that is not "NNN-" ends a reply.  A buffer full of one line
 * without LF counts as a line, so that nothing can stall the reader.
 */
static void
lines(struct conn *c)
{
	char	*p = c->in, *nl;
	size_t	 left = c->inlen, n, len;

	for (;;) {
		if ((nl = memchr(p, '\n', left)) == NULL) {
			if (left < sizeof(c->in))
				break;
			nl = p + left - 1;
		}
		n = len = nl - p + 1;
		while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r'))
			len--;
		escape(c->last, sizeof(c->last), p, len > SHOWN ? SHOWN : len);
		c->nlines++;
		if (len < 4 || p[3] != '-') {
			c->nreplies++;
			c->code = -1;
			if (len >= 3 && p[0] >= '0' && p[0] <= '9' &&
			    p[1] >= '0' && p[1] <= '9' && p[2] >= '0' &&
			    p[2] <= '9')
				c->code = (p[0] - '0') * 100 +
				    (p[1] - '0') * 10 + (p[2] - '0');
		}
		p += n;
		left -= n;
	}
	memmove(c->in, p, left);
	c->inlen = left;
}

/*
 * pump - wait until c is readable or until (never past the deadline),
 * and read what is there once.  IO_OK: read something or waited enough;
 * IO_CLOSED: the server closed (EOF or reset), c->end says when;
 * IO_TIMEOUT: the deadline passed.
 */
static int
pump(struct conn *c, long long until)
{
	struct pollfd	 pfd;
	ssize_t		 n;

	if (now_ms() >= c->deadline)
		return IO_TIMEOUT;
	if (until > c->deadline)
		until = c->deadline;
	pfd.fd = c->fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, remaining(until)) < 1)
		return IO_OK;
	n = read(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return IO_OK;
	if (n <= 0) {
		if (c->end == 0)
			c->end = now_ms();
		return IO_CLOSED;
	}
	c->inlen += n;
	lines(c);
	return IO_OK;
}

/*
 * put - write all of buf before the deadline.  A write error means the
 * server is gone: take its last words, if any are left to read.
 */
static int
put(struct conn *c, const char *buf, size_t len)
{
	struct pollfd	 pfd;
	ssize_t		 n;
	int		 i;

	pfd.fd = c->fd;
	pfd.events = POLLOUT;
	while (len > 0) {
		if (now_ms() >= c->deadline)
			return IO_TIMEOUT;
		if (poll(&pfd, 1, remaining(c->deadline)) < 1)
			continue;
		n = write(c->fd, buf, len);
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR))
			continue;
		if (n <= 0) {
			if (c->end == 0)
				c->end = now_ms();
			for (i = 0; i < 16 && pump(c, 0) == IO_OK; i++)
				;
			return IO_CLOSED;
		}
		buf += n;
		len -= n;
	}
	return IO_OK;
}

/*
 * step - send cmd (unless NULL) and read until one more reply is
 * complete; IO_REFUSED if it is not of want's class (2xx, 3xx).
 */
static int
step(struct conn *c, const char *cmd, int want)
{
	long	 n = c->nreplies;
	int	 r;

	if (cmd != NULL && (r = put(c, cmd, strlen(cmd))) != IO_OK)
		return r;
	while (c->nreplies == n)
		if ((r = pump(c, c->deadline)) != IO_OK)
			return r;
	return c->code / 100 == want / 100 ? IO_OK : IO_REFUSED;
}

/*
 * attack - play opt.mode after the greeting until the server closes or
 * the deadline passes.
 */
static int
attack(struct conn *c)
{
	const struct mode *m = opt.mode;
	char		 buf[16];
	long long	 next;
	size_t		 i, k = 0;
	int		 r;

	for (i = 1; i < m->prelude; i++) {
		if ((r = step(c, steps[i].cmd, steps[i].want)) == IO_REFUSED) {
			c->end = now_ms();
			return IO_CLOSED;
		}
		if (r != IO_OK)
			return r;
	}
	if (m->cmd != NULL && (r = put(c, m->cmd, strlen(m->cmd))) != IO_OK)
		return r;
	if (m->flood && (r = flood(c)) != IO_OK)
		return r;
	for (;;) {
		for (i = 0; i < m->n && i < sizeof(buf); i++)
			buf[i] = m->drip[k++ % strlen(m->drip)];
		if (i > 0 && (r = put(c, buf, i)) != IO_OK)
			return r;
		/* At least one look, so that -i 0 notices a close. */
		next = now_ms() + opt.interval;
		do
			r = pump(c, next);
		while (r == IO_OK && now_ms() < next);
		if (r != IO_OK)
			return r;
	}
}

/*
 * flood - NOOPs a buffer at a time, never reading, until a write has
 * been blocked for STALL_MS (IO_OK) or failed (c->end is set, and the
 * caller reads what is left).
 */
static int
flood(struct conn *c)
{
	static char	 noops[6 * 682];
	struct pollfd	 pfd;
	long long	 now, blocked = 0;
	size_t		 off = 0, i;
	ssize_t		 n;

	for (i = 0; i < sizeof(noops); i += 6)
		memcpy(noops + i, "NOOP\r\n", 6);
	pfd.fd = c->fd;
	pfd.events = POLLOUT;
	for (;;) {
		if ((now = now_ms()) >= c->deadline)
			return IO_TIMEOUT;
		/* From off, the buffer continues the stream of NOOPs. */
		n = write(c->fd, noops + off, sizeof(noops) - off);
		if (n > 0) {
			off = (off + n) % 6;
			blocked = 0;
			continue;
		}
		if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR) {
			c->end = now;
			return IO_OK;
		}
		if (blocked == 0)
			blocked = now;
		else if (now - blocked >= STALL_MS)
			return IO_OK;
		poll(&pfd, 1, remaining(blocked + STALL_MS));
	}
}

/*
 * send_one - deliver message n on a new connection; print and report
 * how it went.
 */
static int
send_one(long n)
{
	struct conn	 c;
	char		 msg[128];
	const char	*stage = "connect";
	long long	 greet = 0, ms;
	size_t		 i;
	int		 r = IO_CLOSED;

	snprintf(msg, sizeof(msg), "Subject: smtpc %ld %ld\r\n\r\n"
	    "A message from smtpc.\r\n.\r\n", (long)getpid(), n);
	if (conn_open(&c) == -1)
		goto fail;
	for (i = 0; i < nitems(steps); i++) {
		stage = steps[i].stage;
		if ((r = step(&c, steps[i].cmd, steps[i].want)) != IO_OK)
			goto fail;
		if (i == 0)
			greet = now_ms() - c.t0;
	}
	stage = "dot";
	if ((r = step(&c, msg, 250)) != IO_OK)
		goto fail;
	ms = now_ms() - c.t0;
	tell(RES_OK, ms, "send ok ms=%lld greet_ms=%lld\n", ms, greet);
	(void)step(&c, "QUIT\r\n", 221);
	close(c.fd);
	return RES_OK;
fail:
	ms = now_ms() - c.t0;
	tell(RES_FAIL, ms, "send fail stage=%s ms=%lld reply=\"%s\"\n", stage,
	    ms, r == IO_REFUSED ? c.last : "");
	if (c.fd != -1)
		close(c.fd);
	return RES_FAIL;
}

/*
 * attack_one - one hostile connection: the greeting, then the mode's
 * own misbehaviour until the server closes or our deadline passes.
 */
static int
attack_one(void)
{
	struct conn	 c;
	char		 extra[32] = "";
	long long	 ms;
	int		 r, res;

	if (conn_open(&c) == -1) {
		tell(RES_REFUSED, 0, "%s refused\n", opt.mode->name);
		return RES_REFUSED;
	}
	r = step(&c, NULL, 220);
	if (r == IO_OK || r == IO_REFUSED)	/* the server decides */
		r = attack(&c);
	ms = (r == IO_CLOSED ? c.end : now_ms()) - c.t0;
	close(c.fd);
	if (opt.mode->flood)
		snprintf(extra, sizeof(extra), " replies=%ld", c.nlines);
	res = r == IO_CLOSED ? RES_CUT : RES_TIMEOUT;
	tell(res, ms, "%s %s ms=%lld last=\"%s\"%s\n", opt.mode->name,
	    res == RES_CUT ? "cut" : "timeout", ms, c.last, extra);
	return res;
}

/*
 * child - one of the -c clients: one connection or message, or, with
 * -T, more of them until the run ends.
 */
static void
child(void)
{
	long long	 start;
	long		 n = 0;
	int		 res;

	if (opt.mode == SEND) {
		for (;;) {
			start = now_ms();
			send_one(++n);
			if (opt.total == 0)
				break;
			pause_until(start + opt.interval);
			if (now_ms() >= run_end)
				break;
		}
		_exit(0);
	}
	for (;;) {
		res = attack_one();
		if (!opt.reconnect || opt.total == 0 || now_ms() >= run_end)
			break;
		if (res == RES_REFUSED)		/* no tight connect loop */
			pause_until(now_ms() + opt.interval);
	}
	_exit(0);
}

/*
 * collect - the parent: gather the children's records until they are
 * all gone or the alarm rings (then kill them), print the summary and
 * return the exit status.
 */
static int
collect(int rfd, const pid_t *pids, int n)
{
	struct pollfd	 pfd;
	struct rec	 rec;
	long		 sent = 0, ok = 0, conns = 0, cuts = 0, timeouts = 0;
	long long	 max = 0;
	ssize_t		 r;
	int		 i, eof = 0;

	pfd.fd = rfd;
	pfd.events = POLLIN;
	while (!stop && !eof) {
		if (poll(&pfd, 1, 1000) < 1)
			continue;
		if ((r = read(rfd, &rec, sizeof(rec))) == -1 && errno == EINTR)
			continue;
		if (r != (ssize_t)sizeof(rec)) {
			eof = 1;
			continue;
		}
		sent += rec.res == RES_OK || rec.res == RES_FAIL;
		ok += rec.res == RES_OK;
		conns += rec.res >= RES_CUT;
		cuts += rec.res == RES_CUT;
		timeouts += rec.res == RES_TIMEOUT;
		if (rec.ms > max)
			max = rec.ms;
	}
	for (i = 0; i < n; i++) {
		if (!eof)
			kill(pids[i], SIGKILL);
		while (waitpid(pids[i], NULL, 0) == -1 && errno == EINTR)
			;
	}
	if (opt.mode == SEND) {
		if (opt.summary)
			tell(-1, 0, "send summary sent=%ld ok=%ld "
			    "max_ms=%lld\n", sent, ok, max);
		return sent > 0 && ok == sent ? 0 : 1;
	}
	if (opt.summary)
		tell(-1, 0, "%s summary conns=%ld cuts=%ld max_ms=%lld "
		    "timeouts=%ld\n", opt.mode->name, conns, cuts, max,
		    timeouts);
	return cuts + timeouts > 0 ? 0 : 1;
}

static void
onsignal(int sig)
{
	(void)sig;
	stop = 1;
}
