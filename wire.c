/*
 * wire.c - the client's connection: buffered reads and writes, each
 * within a deadline (see wire.h).
 *
 * Sockets are written with MSG_DONTWAIT and pipes at most PIPE_BUF at a
 * time, because a blocking write() after poll() could wait with no
 * deadline.  Input is read into one buffer that the session consumes a
 * line or a span at a time; what a pipelining client sent after the
 * current command stays there for the next.
 *
 * A wait happens only in poll(), and poll() only when there is nothing
 * to do: a socket is written and read with MSG_DONTWAIT first, and
 * polled only when that would have waited (EAGAIN).  The one guess is
 * that a client that was just sent replies is reading them, not yet
 * answering: then the read waits first.  Every read still looks at the
 * deadline and the stop flag first, as every wait does, so a client
 * that keeps the input full is held to its deadline all the same.  A
 * pipe or a file (tests, inetd wrappers) may be shared with another
 * process and cannot be made non-blocking: it is polled before every
 * read and write, and it is told from a socket by the ENOTSOCK that
 * recv() or send() answers without touching it.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "now.h"
#include "wire.h"

#define TICK_MS		1000		/* how often a wait looks at stress */
#define LAST_WORD_MS	1000		/* a 421 after the session deadline */
#define STRESS_SESSION	3		/* stress-timeouts a session may last
					   under stress */

/* What fill() returns besides a count of octets. */
#define FILL_EOF	0
#define FILL_TIMEOUT	(-2)
#define FILL_STOP	(-3)

static long long session_end(const struct wire *);
static long long wait_deadline(const struct wire *, enum wait, long long);
static int	 wait_left(const struct wire *, enum wait, long long);
static int	 wait_fd(struct wire *, int, short, enum wait, long long);
static ssize_t	 read_some(struct wire *);
static ssize_t	 write_some(struct wire *, const char *, size_t);
static int	 fill(struct wire *, enum wait);

/*
 * wire_init - a new session on in and out.  Every field but the two
 * buffers is set afresh; the buffers are not cleared (a worker reuses
 * them, and zeroing 72 KB per session was a cost of its own) but are
 * only ever read up to ilen and olen, which start at 0 here.
 */
void
wire_init(struct wire *w, int in, int out, const struct conf *conf,
    volatile sig_atomic_t *stop, const atomic_int *stress, const char *id)
{
	memset(w, 0, offsetof(struct wire, ibuf));
	w->in = in;
	w->out = out;
	w->conf = conf;
	w->stop = stop;
	w->stress = stress;
	w->id = id;
	w->broken = 0;
	w->start_ms = now_ms();
	w->end_ms = w->start_ms + 1000LL * conf->session_timeout;
	w->wait_ms = w->data_ms = w->start_ms;
	w->ipos = w->ilen = w->olen = 0;
}

/*
 * wire_stressed - is the pool nearly full right now?
 */
int
wire_stressed(const struct wire *w)
{
	return w->stress != NULL && atomic_load(w->stress) != 0;
}

/*
 * wire_over - has the session's own deadline passed (rather than the
 * wait's)?
 */
int
wire_over(const struct wire *w)
{
	return now_ms() >= session_end(w);
}

/*
 * wire_pause - wait greet-pause seconds for silence.  0 when the client
 * kept quiet (or there is no pause: none under stress, where a worker's
 * time is what is short), 1 when it spoke first, -1 when it left or the
 * process is asked to stop.
 */
int
wire_pause(struct wire *w)
{
	char	 c;

	if (w->conf->greet_pause == 0 || wire_stressed(w))
		return 0;
	switch (wait_fd(w, w->in, POLLIN, WAIT_GREET, now_ms())) {
	case 0:
		return 0;
	case -2:
		return -1;
	}
	return read(w->in, &c, 1) == 1 ? 1 : -1;
}

/*
 * wire_delay - the replies so far go out, then nothing for seconds: a
 * slow server, for a client's timeouts to be tested against (a "fail
 * ... delay" rule).  The client's own deadlines (timeout, data-timeout)
 * do not bound it, for it is not the client that is slow; the
 * session's does.  IO_OK when the time is over, IO_TIMEOUT when the
 * session's deadline came first, IO_STOP when the process is asked to
 * stop (the wait is cut short; the answer follows), IO_EOF when the
 * replies could not be written.
 */
enum io
wire_delay(struct wire *w, unsigned seconds)
{
	long long	 until = now_ms() + 1000LL * seconds, now, end, d;
	int		 ms;

	if (wire_flush(w) == -1)
		return IO_EOF;
	for (;;) {
		if (w->stop != NULL && *w->stop)
			return IO_STOP;
		now = now_ms();
		end = session_end(w);
		if (now >= until)
			return IO_OK;
		if (now >= end)
			return IO_TIMEOUT;
		d = (until < end ? until : end) - now;
		ms = d > INT_MAX ? INT_MAX : (int)d;
		if (w->stress != NULL && ms > TICK_MS)
			ms = TICK_MS;	/* stress shortens the session */
		if (poll(NULL, 0, ms) == -1 && errno != EINTR)
			return IO_EOF;
	}
}

/*
 * wire_line - the next command line into line (size octets, NUL
 * included), without its CRLF (a bare LF is taken too, as telnet users
 * send it).  A longer line is read to its end and dropped: IO_LONG.
 */
enum io
wire_line(struct wire *w, char *line, size_t size, size_t *lenp)
{
	size_t	 len = 0, avail, take;
	char	*start, *lf;
	int	 toolong = 0, r;

	w->wait_ms = now_ms();
	for (;;) {
		start = w->ibuf + w->ipos;
		avail = w->ilen - w->ipos;
		lf = memchr(start, '\n', avail);
		take = lf ? (size_t)(lf - start) + 1 : avail;
		if (!toolong && len + take > size - 1)
			toolong = 1;
		if (!toolong) {
			memcpy(line + len, start, take);
			len += take;
		}
		w->ipos += take;
		if (lf != NULL)
			break;
		if ((r = fill(w, WAIT_COMMAND)) <= 0)
			return r == FILL_TIMEOUT ? IO_TIMEOUT :
			    r == FILL_STOP ? IO_STOP : IO_EOF;
	}
	if (toolong) {
		line[0] = '\0';
		return IO_LONG;
	}
	len--;				/* the LF */
	if (len > 0 && line[len - 1] == '\r')
		len--;
	line[len] = '\0';
	*lenp = len;
	return IO_OK;
}

/*
 * wire_data_begin - DATA or a BDAT chunk starts: its deadline counts
 * from now.
 */
void
wire_data_begin(struct wire *w)
{
	w->data_ms = now_ms();
	w->data_octets = 0;
}

/*
 * wire_data - the input not yet consumed, at least one octet, waiting
 * for it within the data deadline.  The caller says with
 * wire_consume() how much of it it used.
 */
enum io
wire_data(struct wire *w, const char **p, size_t *n)
{
	int	 r;

	if (w->ipos == w->ilen && (r = fill(w, WAIT_DATA)) <= 0)
		return r == FILL_TIMEOUT ? IO_TIMEOUT : IO_EOF;
	*p = w->ibuf + w->ipos;
	*n = w->ilen - w->ipos;
	return IO_OK;
}

void
wire_consume(struct wire *w, size_t n)
{
	w->ipos += n;
}

/*
 * wire_put - buffer one reply line, writing the buffer out first if it
 * is full.  After a failed write nothing more is said.
 */
void
wire_put(struct wire *w, const char *line, size_t n)
{
	if (w->olen + n > sizeof(w->obuf))
		wire_flush(w);
	if (!w->broken && n <= sizeof(w->obuf)) {
		memcpy(w->obuf + w->olen, line, n);
		w->olen += n;
	}
}

/*
 * wire_flush - write the pending replies within the write deadline.  A
 * client that stops reading, or has gone, breaks the wire: from then on
 * nothing more is said, and the session stores nothing more.
 */
int
wire_flush(struct wire *w)
{
	long long	 start;
	size_t		 off = 0;
	ssize_t		 n;
	int		 late = 0, wait;

	if (w->broken)
		return -1;
	if (w->olen == 0)
		return 0;
	start = now_ms();
	/* A socket is written first and polled on EAGAIN; a pipe polled. */
	for (wait = w->out_pipe; off < w->olen;) {
		if (wait && (late = wait_fd(w, w->out, POLLOUT, WAIT_WRITE,
		    start) == 0))
			break;
		n = write_some(w, w->obuf + off, w->olen - off);
		if (n == -1 && (errno == EINTR || errno == EAGAIN)) {
			wait = wait || errno == EAGAIN;
			continue;
		}
		if (n <= 0)
			break;
		off += n;
		wait = 1;	/* what is left did not fit */
	}
	if (off < w->olen) {
		if (late)	/* else the client is gone: nothing to say */
			log_info("%s event=timeout phase=write unsent=%zu",
			    w->id, w->olen - off);
		w->olen = 0;
		w->broken = 1;
		return -1;
	}
	w->olen = 0;
	return 0;
}

/*
 * session_end - the session's deadline as it stands now.  Under stress a
 * whole session gets a few stress-timeouts: one that sends a command
 * just in time, again and again, is cut all the same, and one that
 * began before the stress may be cut at once.
 */
static long long
session_end(const struct wire *w)
{
	long long	 cap;

	if (!wire_stressed(w))
		return w->end_ms;
	cap = w->start_ms + 1000LL * STRESS_SESSION * w->conf->stress_timeout;
	return cap < w->end_ms ? cap : w->end_ms;
}

/*
 * wait_deadline - when the wait that began at start must end.  Asked
 * again at each tick, because stress can begin or end meanwhile.
 */
static long long
wait_deadline(const struct wire *w, enum wait what, long long start)
{
	const struct conf	*c = w->conf;
	long long		 d, t, end = session_end(w);
	int			 st = wire_stressed(w);

	switch (what) {
	case WAIT_GREET:
		/* Stress that begins during the pause ends it: greet now. */
		d = st ? start : start + 1000LL * c->greet_pause;
		break;
	case WAIT_DATA:
		/* Plus the time the octets so far needed at min-data-rate. */
		t = st ? c->stress_timeout : c->data_timeout;
		d = start + 1000LL * t +
		    (long long)(w->data_octets * 1000 / c->min_data_rate);
		break;
	case WAIT_WRITE:
		/* A last 421 after the session deadline gets its moment. */
		if (end < start + LAST_WORD_MS)
			end = start + LAST_WORD_MS;
		/* FALLTHROUGH */
	case WAIT_COMMAND:
	default:
		t = st ? c->stress_timeout : c->timeout;
		d = start + 1000LL * t;
		break;
	}
	return d < end ? d : end;
}

/*
 * wait_left - how long the wait of what that began at start may still
 * go on, in ms (a tick at most when stress can come): 0 when its
 * deadline has passed, -2 when the stop flag is up and the wait is
 * between commands.  Asked before every read and every poll().
 */
static int
wait_left(const struct wire *w, enum wait what, long long start)
{
	long long	 now, d;
	int		 ms;

	if ((what == WAIT_COMMAND || what == WAIT_GREET) &&
	    w->stop != NULL && *w->stop)
		return -2;
	now = now_ms();
	d = wait_deadline(w, what, start);
	if (now >= d)
		return 0;
	ms = d - now > INT_MAX ? INT_MAX : (int)(d - now);
	if (w->stress != NULL && ms > TICK_MS)
		ms = TICK_MS;
	return ms;
}

/*
 * wait_fd - wait for fd to be ready for ev until the deadline of what,
 * for a wait that began at start.  1 when ready (or in error: the
 * caller's read or write says which), 0 at the deadline, -2 when the
 * stop flag is up and the wait is between commands.  Signals do not end
 * the wait.
 */
static int
wait_fd(struct wire *w, int fd, short ev, enum wait what, long long start)
{
	struct pollfd	 pfd = { fd, ev, 0 };
	int		 r, ms;

	for (;;) {
		if ((ms = wait_left(w, what, start)) <= 0)
			return ms;
		r = poll(&pfd, 1, ms);
		if (r > 0)
			return 1;
		if (r == -1 && errno != EINTR)
			return 1;	/* let read() or write() say it */
	}
}

/*
 * write_some - write what the client's descriptor takes now, never
 * waiting, for a blocking write of more than it has room for would wait
 * with no deadline.  A socket is asked not to wait; a pipe (tests,
 * wrappers), which wire_flush() polls first, is promised PIPE_BUF
 * octets of room by POLLOUT.  The first send() to a pipe fails with
 * ENOTSOCK, writes nothing, and is answered EAGAIN: poll, then write.
 */
static ssize_t
write_some(struct wire *w, const char *p, size_t n)
{
	ssize_t	 r;

	if (w->out_pipe)
		return write(w->out, p, n > PIPE_BUF ? PIPE_BUF : n);
	if ((r = send(w->out, p, n, MSG_DONTWAIT)) != -1 || errno != ENOTSOCK)
		return r;
	w->out_pipe = 1;
	errno = EAGAIN;
	return -1;
}

/*
 * read_some - read what the client sent, never waiting on a socket; a
 * pipe or file, which fill() polls first, is read().  The first recv()
 * from one fails with ENOTSOCK, reads nothing, and is answered EAGAIN:
 * poll, then read.
 */
static ssize_t
read_some(struct wire *w)
{
	ssize_t	 r;

	if (w->in_pipe)
		return read(w->in, w->ibuf, sizeof(w->ibuf));
	r = recv(w->in, w->ibuf, sizeof(w->ibuf), MSG_DONTWAIT);
	if (r != -1 || errno != ENOTSOCK)
		return r;
	w->in_pipe = 1;
	errno = EAGAIN;
	return -1;
}

/*
 * fill - the input is used up: flush replies (this is where a pipelined
 * batch gets its answers), then read more, waiting for it until the
 * deadline of what.  Returns the octets read, FILL_EOF at EOF or error,
 * FILL_TIMEOUT, or, between commands, FILL_STOP once the stop flag is
 * up.
 */
static int
fill(struct wire *w, enum wait what)
{
	long long	 start;
	ssize_t		 n;
	int		 r, wait;

	/* Replies went out: the client is reading them, not yet answering. */
	wait = w->olen > 0;
	if (wire_flush(w) == -1)
		return FILL_EOF;
	w->ipos = w->ilen = 0;
	/*
	 * A command's time runs from when wire_line() began, data's from
	 * the DATA or BDAT line: never from the last octet.
	 */
	start = what == WAIT_COMMAND ? w->wait_ms : w->data_ms;
	for (;;) {
		if (wait || w->in_pipe)
			r = wait_fd(w, w->in, POLLIN, what, start);
		else
			r = wait_left(w, what, start);
		if (r == 0)
			return FILL_TIMEOUT;
		if (r == -2)
			return FILL_STOP;
		n = read_some(w);
		if (n == -1 && (errno == EINTR || errno == EAGAIN)) {
			wait = wait || errno == EAGAIN;
			continue;
		}
		if (n <= 0)
			return FILL_EOF;
		w->ilen = n;
		if (what == WAIT_DATA)
			w->data_octets += n;
		return n;
	}
}
