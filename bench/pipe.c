/*
 * pipe.c - a load client that pipelines, for bench/run: smtp-source
 * waits for each reply before the next command, and a pipelining client
 * is what a real MTA with several messages for one host is.
 *
 *	pipe [-s sessions] [-m messages] [-p per-session] [-l size]
 *	    [-f from] [-t to] [-P client] [-T seconds] address:port
 *
 * -s children (10 by default) run sessions at once, until -m messages
 * (1000) are sent in all, -p (10) to a session.  A session reads the
 * greeting, sends EHLO and requires PIPELINING in the reply, then for
 * a group, MAIL FROM, RCPT TO and DATA in one write (DATA ends a group,
 * RFC 2920 3.1) and reads the three replies (250, 250, 354).  Then, for
 * each message, it sends the message (three header lines, then -l
 * octets of body, 1024 by default, as smtp-source -l), the final dot
 * and the next group (message content may begin a group, 3.1), or QUIT
 * after the last, as a pipelining MTA with more mail for the host does,
 * and reads the 250 and the group's replies (or the 221).  A message is
 * never sent before its 354.  Any other reply ends the run: exit 1,
 * and a line on stderr with the session, the step and the reply.  On
 * success it prints "SECONDS MESSAGES" (the wall time of the whole run)
 * and exits 0.
 *
 * With -P client (a numeric IPv4 or IPv6 address), each connection
 * begins with a PROXY protocol version 1 header naming that client,
 * "PROXY TCP4 client 127.0.0.1 port 25" (TCP6 and ::1 for IPv6; the
 * source port made from the session's number), written before the
 * greeting is read, as a balancer in front of a "listen ... proxy"
 * socket does: smtpd never SPF-checks a client on loopback, so this is
 * how the bench has it check one.  The server is still on loopback.
 *
 * Safety: it connects to loopback only (127.0.0.0/8 or [::1]; anything
 * else exits 2), every wait is a poll() bounded by the run's deadline
 * (-T seconds, 120 by default, after the start), and the parent kills a
 * child still there a second after that.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>
#include <netdb.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define MAXCHILD	256
#define LINE		512	/* the longest reply line we take */

struct conn {
	int	 fd;
	long	 session;
	char	 buf[4096];
	size_t	 len;		/* octets in buf */
	char	 last[LINE];	/* the last reply line, for errors */
};

static struct sockaddr_storage	 addr;
static socklen_t		 addrlen;
static double			 deadline;
static const char		*proxy;		/* -P: the client named */
static const char		*proxyproto;	/* its TCP4 or TCP6 */

static int	wait_fd(int, short);
static int	loopback(const char *);
static int	proxy_address(const char *);
static int	proxy_header(struct conn *);
static int	dial(struct conn *);
static int	send_all(struct conn *, const char *, size_t);
static int	reply(struct conn *, char *, size_t);
static int	expect(struct conn *, int, const char *);
static char	*message(size_t, const char *, const char *, size_t *);
static long	child(long, long, long, long, const char *, const char *,
		    const char *, size_t);
static int	collect(struct pollfd *, pid_t *, long, long *);
static void	usage(void);

int
main(int argc, char *argv[])
{
	struct pollfd	 pfd[MAXCHILD];
	pid_t		 pids[MAXCHILD], pid;
	long		 children = 10, msgs = 1000, per = 10, size = 1024;
	long		 seconds = 120, sessions, total = 0, n, i;
	int		 c, failed = 0;
	const char	*from = "from@example.org", *to = "to@example.org";
	char		 line[64], *body;
	size_t		 bodylen;
	double		 t0;

	while ((c = getopt(argc, argv, "f:l:m:p:P:s:t:T:")) != -1) {
		switch (c) {
		case 'f':
			from = optarg;
			break;
		case 'l':
			size = number("pipe", optarg, 64, 1L << 30);
			break;
		case 'm':
			msgs = number("pipe", optarg, 1, 100000000);
			break;
		case 'p':
			per = number("pipe", optarg, 1, 1000000);
			break;
		case 'P':
			if (proxy_address(optarg) == -1)
				return 2;
			break;
		case 's':
			children = number("pipe", optarg, 1, MAXCHILD);
			break;
		case 't':
			to = optarg;
			break;
		case 'T':
			seconds = number("pipe", optarg, 1, 86400);
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1)
		usage();
	if (loopback(argv[optind]) == -1)
		return 2;
	if ((body = message((size_t)size, from, to, &bodylen)) == NULL) {
		perror("pipe: malloc");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	sessions = (msgs + per - 1) / per;
	if (children > sessions)
		children = sessions;
	t0 = now_s();
	deadline = t0 + seconds;
	for (i = 0; i < children; i++) {
		int	p[2];

		if (pipe(p) == -1 || (pid = fork()) == -1) {
			perror("pipe: pipe or fork");
			failed = 1;
			break;
		}
		if (pid == 0) {
			close(p[0]);
			n = child(i, children, sessions, msgs, from, to, body,
			    bodylen);
			snprintf(line, sizeof(line), "%ld\n", n);
			if (n < 0 || write(p[1], line, strlen(line)) == -1)
				_exit(1);
			_exit(0);
		}
		close(p[1]);
		pids[i] = pid;
		pfd[i].fd = p[0];
		pfd[i].events = POLLIN;
	}
	children = i;
	if (collect(pfd, pids, children, &total) == -1 || failed)
		return 1;
	if (total != msgs) {
		fprintf(stderr, "pipe: %ld messages accepted, %ld meant\n",
		    total, msgs);
		return 1;
	}
	printf("%.3f %ld\n", now_s() - t0, total);
	return 0;
}

/*
 * collect - add up the counts the children write, one line each before
 * they close their pipe, and reap them; past the deadline (and a second)
 * kill them.  -1 if any failed or was killed.
 */
static int
collect(struct pollfd *pfd, pid_t *pids, long children, long *total)
{
	char	line[64];
	long	i, open_fds;
	int	ms, status, failed = 0;
	ssize_t	r;

	for (open_fds = children; open_fds > 0; ) {
		ms = (int)((deadline + 1 - now_s()) * 1000);
		if (ms <= 0 || poll(pfd, (nfds_t)children, ms) <= 0) {
			fprintf(stderr, "pipe: the run passed its deadline\n");
			failed = 1;
			break;
		}
		for (i = 0; i < children; i++) {
			if (pfd[i].fd == -1 || pfd[i].revents == 0)
				continue;
			r = read(pfd[i].fd, line, sizeof(line) - 1);
			if (r > 0) {
				line[r] = '\0';
				*total += strtol(line, NULL, 10);
				continue;
			}
			close(pfd[i].fd);
			pfd[i].fd = -1;
			open_fds--;
		}
	}
	for (i = 0; i < children; i++) {
		if (failed)
			kill(pids[i], SIGKILL);
		if (waitpid(pids[i], &status, 0) == -1 ||
		    !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed = 1;
	}
	return failed ? -1 : 0;
}

/*
 * child - sessions id, id + step, ... of all sessions, each with its
 * share of the messages.  Returns the messages sent, or -1 after saying
 * why on stderr.
 */
static long
child(long id, long step, long sessions, long msgs, const char *from,
    const char *to, const char *body, size_t bodylen)
{
	struct conn	 c;
	char		*next, *last;
	long		 s, m, per, done = 0;
	size_t		 n;
	int		 k;

	/*
	 * What follows the first group's 354: the message, its dot and the
	 * next group (RFC 2920 3.1: message content may begin a group), or,
	 * after the session's last message, QUIT.
	 */
	n = strlen(from) + strlen(to) + 40;
	if ((next = malloc(bodylen + n)) == NULL ||
	    (last = malloc(bodylen + 8)) == NULL) {
		fprintf(stderr, "pipe: out of memory\n");
		return -1;
	}
	memcpy(next, body, bodylen);
	k = snprintf(next + bodylen, n,
	    "MAIL FROM:<%s>\r\nRCPT TO:<%s>\r\nDATA\r\n", from, to);
	if (k < 0 || (size_t)k >= n) {
		fprintf(stderr, "pipe: addresses too long\n");
		return -1;
	}
	memcpy(last, body, bodylen);
	memcpy(last + bodylen, "QUIT\r\n", 6);
	per = (msgs + sessions - 1) / sessions;
	for (s = id; s < sessions; s += step) {
		c.session = s;
		c.len = 0;
		c.last[0] = '\0';
		if (dial(&c) == -1)
			return -1;
		if (proxy_header(&c) == -1 ||
		    expect(&c, 220, "greeting") == -1 ||
		    send_all(&c, "EHLO bench.example.org\r\n", 24) == -1 ||
		    expect(&c, 250, "EHLO") == -1 ||
		    send_all(&c, next + bodylen, (size_t)k) == -1 ||
		    expect(&c, 250, "MAIL") == -1 ||
		    expect(&c, 250, "RCPT") == -1 ||
		    expect(&c, 354, "DATA") == -1)
			goto fail;
		for (m = 0; m < per && s * per + m < msgs; m++) {
			if (m + 1 < per && s * per + m + 1 < msgs) {
				if (send_all(&c, next, bodylen + k) == -1 ||
				    expect(&c, 250, "end of data") == -1 ||
				    expect(&c, 250, "MAIL") == -1 ||
				    expect(&c, 250, "RCPT") == -1 ||
				    expect(&c, 354, "DATA") == -1)
					goto fail;
			} else if (send_all(&c, last, bodylen + 6) == -1 ||
			    expect(&c, 250, "end of data") == -1 ||
			    expect(&c, 221, "QUIT") == -1)
				goto fail;
			done++;
		}
		close(c.fd);
	}
	free(next);
	free(last);
	return done;
fail:
	close(c.fd);
	free(next);
	free(last);
	return -1;
}

/*
 * expect - read one reply, and say what went wrong unless its code is
 * want.  After EHLO, PIPELINING must be among its lines.
 */
static int
expect(struct conn *c, int want, const char *step)
{
	char	line[LINE];
	int	code, pipelining = 0;

	for (;;) {
		if (reply(c, line, sizeof(line)) == -1) {
			fprintf(stderr, "pipe: session %ld: %s: %s "
			    "(last reply: %s)\n", c->session, step, line,
			    c->last);
			return -1;
		}
		snprintf(c->last, sizeof(c->last), "%s", line);
		if (strlen(line) < 4 || line[0] < '2' || line[0] > '5' ||
		    (line[3] != ' ' && line[3] != '-'))
			break;
		if (strncmp(line + 4, "PIPELINING", 10) == 0)
			pipelining = 1;
		if (line[3] == ' ')
			break;
	}
	code = atoi(c->last);
	if (code != want || (want == 250 && strcmp(step, "EHLO") == 0 &&
	    !pipelining)) {
		fprintf(stderr, "pipe: session %ld: %s: wanted %d%s, got: %s\n",
		    c->session, step, want, code == want ?
		    " with PIPELINING" : "", c->last);
		return -1;
	}
	return 0;
}

/*
 * reply - the next line from the server, without CRLF, controls as '?'.
 * On error, line says why and -1 is returned.
 */
static int
reply(struct conn *c, char *line, size_t size)
{
	char	*nl;
	size_t	 n, i;
	ssize_t	 r;

	while ((nl = memchr(c->buf, '\n', c->len)) == NULL) {
		if (c->len == sizeof(c->buf)) {
			snprintf(line, size, "a reply line of over %zu octets",
			    sizeof(c->buf));
			return -1;
		}
		r = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (r > 0) {
			c->len += (size_t)r;
			continue;
		}
		if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
			snprintf(line, size, "connection closed%s%s",
			    r == 0 ? "" : ": ", r == 0 ? "" : strerror(errno));
			return -1;
		}
		if (wait_fd(c->fd, POLLIN) == -1) {
			snprintf(line, size, "no reply by the deadline");
			return -1;
		}
	}
	n = (size_t)(nl - c->buf);
	for (i = 0; i < n && i < size - 1; i++)
		line[i] = c->buf[i] >= ' ' && c->buf[i] < 127 ? c->buf[i] : '?';
	if (i > 0 && c->buf[i - 1] == '\r')
		i--;
	line[i] = '\0';
	memmove(c->buf, nl + 1, c->len - n - 1);
	c->len -= n + 1;
	return 0;
}

/* send_all - write all of buf, waiting for room as long as the deadline. */
static int
send_all(struct conn *c, const char *buf, size_t len)
{
	ssize_t	w;

	while (len > 0) {
		w = write(c->fd, buf, len);
		if (w > 0) {
			buf += w;
			len -= (size_t)w;
			continue;
		}
		if (w == -1 && errno != EAGAIN && errno != EINTR) {
			fprintf(stderr, "pipe: session %ld: write: %s\n",
			    c->session, strerror(errno));
			return -1;
		}
		if (wait_fd(c->fd, POLLOUT) == -1) {
			fprintf(stderr, "pipe: session %ld: the server took "
			    "no data by the deadline\n", c->session);
			return -1;
		}
	}
	return 0;
}

/* dial - a non-blocking connection to the address, within the deadline. */
static int
dial(struct conn *c)
{
	int		err = 0;
	socklen_t	len = sizeof(err);

	c->fd = socket(addr.ss_family, SOCK_STREAM, 0);
	if (c->fd == -1 || fcntl(c->fd, F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(c->fd, F_SETFD, FD_CLOEXEC) == -1)
		goto fail;
	if (connect(c->fd, (struct sockaddr *)&addr, addrlen) == -1) {
		if (errno != EINPROGRESS)
			goto fail;
		if (wait_fd(c->fd, POLLOUT) == -1) {
			errno = ETIMEDOUT;
			goto fail;
		}
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			goto fail;
		if (err != 0) {
			errno = err;
			goto fail;
		}
	}
	return 0;
fail:
	fprintf(stderr, "pipe: session %ld: connect: %s\n", c->session,
	    strerror(errno));
	if (c->fd != -1)
		close(c->fd);
	return -1;
}

/*
 * proxy_address - take -P's argument, a numeric IPv4 or IPv6 address,
 * as the client each PROXY header names; otherwise say so and return -1.
 */
static int
proxy_address(const char *arg)
{
	struct in6_addr	a6;
	struct in_addr	a4;

	if (inet_pton(AF_INET, arg, &a4) == 1)
		proxyproto = "TCP4";
	else if (inet_pton(AF_INET6, arg, &a6) == 1)
		proxyproto = "TCP6";
	else {
		fprintf(stderr, "pipe: -P %s: not a numeric IPv4 or IPv6 "
		    "address\n", arg);
		return -1;
	}
	proxy = arg;
	return 0;
}

/*
 * proxy_header - with -P, send the connection's PROXY version 1 header;
 * the source port differs from one session to the next, as a real
 * client's would.
 */
static int
proxy_header(struct conn *c)
{
	char	hdr[128];	/* version 1 allows 107 octets */
	int	n;

	if (proxy == NULL)
		return 0;
	n = snprintf(hdr, sizeof(hdr), "PROXY %s %s %s %ld 25\r\n",
	    proxyproto, proxy, proxyproto[3] == '4' ? "127.0.0.1" : "::1",
	    1024 + c->session % 64000);
	if (n < 0 || n > 107) {
		fprintf(stderr, "pipe: the PROXY header is too long\n");
		return -1;
	}
	return send_all(c, hdr, (size_t)n);
}

/* wait_fd - poll fd for events until the deadline: 0 ready, -1 not. */
static int
wait_fd(int fd, short events)
{
	struct pollfd	pfd;
	int		ms, r;

	pfd.fd = fd;
	pfd.events = events;
	for (;;) {
		ms = (int)((deadline - now_s()) * 1000);
		if (ms <= 0)
			return -1;
		r = poll(&pfd, 1, ms);
		if (r > 0)
			return 0;
		if (r == -1 && errno != EINTR)
			return -1;
	}
}

/*
 * message - the octets after 354: headers, a blank line, then size
 * octets of body (as smtp-source -l counts them: headers not included)
 * in lines of letters, and the final dot.  No line starts with a dot,
 * so none needs stuffing.
 */
static char *
message(size_t size, const char *from, const char *to, size_t *len)
{
	char	*m;
	size_t	 n, end, line, room;
	int	 h;

	room = strlen(from) + strlen(to) + 64;
	if ((m = malloc(room + size + 3)) == NULL)
		return NULL;
	h = snprintf(m, room, "From: <%s>\r\nTo: <%s>\r\nSubject: bench\r\n"
	    "\r\n", from, to);
	if (h < 0 || (size_t)h >= room)
		return NULL;
	/* Lines of 80; a remainder of 81 or 82 is split so none is short. */
	end = (size_t)h + size;
	for (n = (size_t)h; n < end; n += line) {
		line = end - n;
		if (line > 82)
			line = 80;
		else if (line > 80)
			line = 40;
		memset(m + n, 'x', line - 2);
		m[n + line - 2] = '\r';
		m[n + line - 1] = '\n';
	}
	memcpy(m + end, ".\r\n", 3);
	*len = end + 3;
	return m;
}

/*
 * loopback - take "127.0.0.1:25" or "[::1]:25" into addr, if it is a
 * loopback address; otherwise say so and return -1.
 */
static int
loopback(const char *arg)
{
	struct addrinfo	 hints, *res;
	char		 host[INET6_ADDRSTRLEN + 2], *h;
	const char	*p;
	int		 ok = 0, e;

	p = strrchr(arg, ':');
	if (p == NULL || (size_t)(p - arg) >= sizeof(host)) {
		fprintf(stderr, "pipe: %s: not address:port\n", arg);
		return -1;
	}
	memcpy(host, arg, (size_t)(p - arg));
	host[p - arg] = '\0';
	h = host;
	if (host[0] == '[' && p - arg > 2 && host[p - arg - 1] == ']') {
		host[p - arg - 1] = '\0';
		h = host + 1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	hints.ai_socktype = SOCK_STREAM;
	if ((e = getaddrinfo(h, p + 1, &hints, &res)) != 0) {
		fprintf(stderr, "pipe: %s: %s\n", arg, gai_strerror(e));
		return -1;
	}
	if (res->ai_family == AF_INET) {
		const struct sockaddr_in *sin = (void *)res->ai_addr;

		ok = (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	} else if (res->ai_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (void *)res->ai_addr;

		ok = IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
	}
	if (ok) {
		memcpy(&addr, res->ai_addr, res->ai_addrlen);
		addrlen = res->ai_addrlen;
	} else
		fprintf(stderr, "pipe: %s: not a loopback address "
		    "(127.0.0.0/8 or [::1]): refused\n", arg);
	freeaddrinfo(res);
	return ok ? 0 : -1;
}

static void
usage(void)
{
	fprintf(stderr, "usage: pipe [-s sessions] [-m messages] "
	    "[-p per-session] [-l size]\n"
	    "\t[-f from] [-t to] [-P client] [-T seconds] address:port\n");
	exit(2);
}
