/*
 * fuzz/session.c - libFuzzer target: one SMTP session, from the client's
 * octets to the Maildir files, through the real session.c, wire.c,
 * addr.c, txn.c and store.c.
 *
 * The input is what the client sends, with the edges of its reads
 * marked by 0xff (fuzz.h).  It reaches session_run() over a socketpair
 * of type SOCK_SEQPACKET: each piece is one record, and a record is
 * read whole by one recv() and never joined to the next, so every read
 * the session makes ends exactly where the input put an edge, without
 * the writer having to wait for each piece to be read.  (No piece is
 * empty: an empty record would read as the end of the input.)  The
 * helper thread (fuzz.c) writes the pieces and then shuts its end down, so the session ends at
 * the end of the input, and meanwhile takes the replies from a second
 * socketpair.  The store is opened for each run on a spool in a scratch
 * directory (on tmpfs if there is one), with the configuration written
 * by LLVMFuzzerInitialize(); after the run it is closed and the spool
 * emptied, so that no run sees another's files or kept descriptors.
 * The session's own struct and buffers stay from run to run, as they
 * do in a worker.
 *
 * What is checked, besides what the sanitizers see:
 *
 *   1. Every reply line is RFC 5321's: three digits from 200 to 599, a
 *	space or a dash, printable ASCII (no NUL, no bare CR or LF), CRLF,
 *	512 octets at most; a multi-line reply keeps its code and ends;
 *	the output ends with a whole reply.  Every reply but the greeting,
 *	the 250 to HELO or EHLO and the 354 starts with an RFC 3463 code
 *	of the reply's class.
 *   2. The replies are those a model of the dialogue expects, one for
 *	each command line, in order.  The model reads the client's octets
 *	as the manual describes them, independently of session.c: lines
 *	end in LF (a CR before it is dropped), over 562 octets is 500
 *	5.5.6, a NUL is 500 5.5.2, then the junk-command and error limits,
 *	the order of commands, their arguments, and the verb's own reply.
 *	It predicts the code of every reply but those to MAIL and RCPT,
 *	where it checks only the class (and 452 4.5.3 at max-recipients).
 *	The message data after a 354 is decoded by a reference decoder of
 *	its own (a line is ended by CRLF only, "." CRLF at the start of a
 *	line ends the data, a leading dot is dropped); a BDAT chunk is the
 *	number of octets its line says.  The end of the data is answered
 *	as the model predicts from the decoded message: 552 over
 *	max-message-size, 550 5.6.0 for a NUL or a bare CR or LF, 550
 *	5.5.6 for a line over 1000 octets (DATA only), 554 for over 100
 *	Received: headers, else 250.  No reply may be a 421 the model did
 *	not predict: every octet is there to be read at once, so any
 *	timeout is a session that waited for what it had.
 *   3. The spool holds only DOMAIN/LOCAL/{tmp,new,cur} and the tidy
 *	stamp; tmp/ and cur/ are empty after the session; a file is in a
 *	new/ only if its message id was answered 250 ... queued as; each
 *	such id is in 1 to (accepted RCPTs) maildirs, as one file linked,
 *	whose name's S= is its size, and which is our trace headers
 *	(Return-Path:; the SPF verdict, a temperror with no resolver, as
 *	Authentication-Results: and Received-SPF:, lines of 998 octets at
 *	most with well-quoted values; Received: with the id, and "for"
 *	when there is one recipient) followed by the message the model
 *	decoded, with LF line ends, less only Authentication-Results:
 *	fields of its header section, each whole (txn.c removes those
 *	that name us).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../conf.h"
#include "../session.h"
#include "../store.h"
#include "../wire.h"
#include "fuzz.h"

#define HOSTNAME	"fuzz.test"
#define LINE_MAX_OCTETS	562	/* a command line, CRLF included */
#define TEXT_LINE_MAX	1000	/* a line of DATA, CRLF included */
#define RECEIVED_MAX	100	/* Received: headers before a loop */
#define REPLY_LINE_MAX	512	/* RFC 5321 4.5.3.1.5, CRLF included */

/* The configuration every run uses; the model reads its limits. */
static const char config[] =
    "hostname " HOSTNAME "\n"
    "domain example.org\n"
    "domain example.net\n"
    "alias postmaster alice\n"
    "alias info@example.org bob@example.net\n"
    "max-message-size 3000\n"
    "max-recipients 4\n"
    "max-errors 10\n"
    "max-junk-commands 20\n"
    "timeout 5\n"
    "data-timeout 5\n"
    "session-timeout 60\n";

static char		 scratch[PATH_MAX];	/* config and spool */
static struct conf	 conf;
static int		 show;			/* $FUZZ_SHOW: the dialogue */

/* One reply line, without its CRLF. */
struct rline {
	int		 code;
	int		 more;		/* "NNN-" */
	const char	*text;		/* after "NNN " */
	size_t		 len;
};

/* One reply: lines first to first + n - 1. */
struct reply {
	int		 code;
	size_t		 first, n;
};

/* A message the session said 250 to, as the model decoded it. */
struct accepted {
	char		 id[64];
	struct buf	 body;		/* CRLF lines, as sent */
	unsigned	 rcpts;
	unsigned	 files;		/* found in the spool */
	dev_t		 dev;		/* the first one's */
	ino_t		 ino;
};

enum mstate { M_GREETED, M_READY, M_MAIL, M_RCPT, M_BDAT };
#define M_ANY	((1 << M_GREETED) | (1 << M_READY) | (1 << M_MAIL) | \
		 (1 << M_RCPT) | (1 << M_BDAT))

enum verb {
	V_HELO, V_EHLO, V_MAIL, V_RCPT, V_DATA, V_BDAT, V_RSET, V_NOOP,
	V_QUIT, V_VRFY, V_EXPN, V_HELP, V_OTHER
};

enum args { A_NONE, A_OPTIONAL, A_REQUIRED };

/* The commands as smtpd(8) describes them. */
static const struct mverb {
	const char	*name;
	int		 states;
	enum args	 args;
	int		 junk;
} verbs[] = {
	[V_HELO] = { "HELO", M_ANY, A_REQUIRED, 0 },
	[V_EHLO] = { "EHLO", M_ANY, A_REQUIRED, 0 },
	[V_MAIL] = { "MAIL", 1 << M_READY, A_REQUIRED, 0 },
	[V_RCPT] = { "RCPT", (1 << M_MAIL) | (1 << M_RCPT), A_REQUIRED, 0 },
	[V_DATA] = { "DATA", 1 << M_RCPT, A_NONE, 0 },
	[V_BDAT] = { "BDAT", M_ANY, A_REQUIRED, 0 },
	[V_RSET] = { "RSET", M_ANY, A_NONE, 1 },
	[V_NOOP] = { "NOOP", M_ANY, A_OPTIONAL, 1 },
	[V_QUIT] = { "QUIT", M_ANY, A_NONE, 0 },
	[V_VRFY] = { "VRFY", M_ANY, A_REQUIRED, 1 },
	[V_EXPN] = { "EXPN", M_ANY, A_OPTIONAL, 1 },
	[V_HELP] = { "HELP", M_ANY, A_OPTIONAL, 1 },
	[V_OTHER] = { NULL, M_ANY, A_OPTIONAL, 0 }
};

/* The model of one dialogue. */
struct model {
	const unsigned char	*in;		/* the client's octets */
	size_t			 n, pos;
	struct rline		*line;
	size_t			 nline;
	struct reply		*reply;
	size_t			 nreply, next;
	enum mstate		 st;
	int			 helo;		/* a HELO or EHLO was taken */
	int			 ended;		/* no more replies */
	unsigned		 errors, junk, rcpts;
	struct buf		 chunks;	/* BDAT, this transaction */
	struct accepted		*acc;
	size_t			 nacc;
	const unsigned char	*cmd;		/* the command answered */
	size_t			 cmdlen;
};

/* The thread that is the client. */
struct feed {
	const struct pieces	*pc;
	int			 in;		/* writes the pieces here */
	int			 out;		/* reads the replies here */
	struct buf		 replies;
};

static void	 cleanup(void);
static void	 feeder(void *);
static void	 parse_replies(struct model *, const struct buf *);
static void	 check_line(const struct rline *);
static void	 model_run(struct model *);
static void	 command(struct model *, size_t, size_t);
static void	 run_verb(struct model *, enum verb, const char *, size_t);
static void	 data(struct model *);
static void	 bdat(struct model *, const char *, size_t);
static int	 bdat_args(const char *, size_t, unsigned long long *, int *);
static void	 end_of_message(struct model *, const struct buf *, size_t,
		    int);
static const struct reply *answer(struct model *);
static void	 expect(struct model *, const struct reply *, int,
		    const char *);
static void	 expect_esc(struct model *, const struct reply *);
static int	 text_is(const struct rline *, const char *);
static void	 accept_msg(struct model *, const struct reply *,
		    const struct buf *);
static void	 end_txn(struct model *);
static void	 model_fail(struct model *, const char *, ...)
		    __attribute__((format(printf, 2, 3), noreturn));
static int	 helo_ok(const char *, size_t);
static size_t	 data_end(const unsigned char *, size_t);
static size_t	 unstuff(const unsigned char *, size_t, struct buf *);
static int	 flawed(const struct buf *);
static size_t	 longest_line(const struct buf *);
static unsigned	 received(const struct buf *);
static void	 check_spool(struct model *);
static void	 check_maildir(struct model *, int, const char *,
		    const char *);
static void	 check_empty(struct model *, int, const char *,
		    const char *, const char *);
static void	 check_new(struct model *, int, const char *);
static void	 check_file(struct model *, struct accepted *, int,
		    const char *, const struct stat *);
static int	 same_message(const unsigned char *, size_t,
		    const unsigned char *, size_t);
static size_t	 field_len(const unsigned char *, size_t);
static int	 is_authres(const unsigned char *, size_t);
static size_t	 check_trace(const struct accepted *, const unsigned char *,
		    size_t);
static size_t	 trace_line(const unsigned char *, size_t, size_t);
static size_t	 trace_field(const unsigned char *, size_t, size_t);
static int	 spf_value(const unsigned char *, size_t, const char *);
static int	 starts(const unsigned char *, size_t, const char *);
static int	 name_ok(const char *);
static int	 has(const unsigned char *, size_t, const char *);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char	 path[PATH_MAX + 32];
	FILE	*fp;

	(void)argc;
	(void)argv;
	show = getenv("FUZZ_SHOW") != NULL;
	snprintf(scratch, sizeof(scratch), "%s/smtpd-fuzz-session.XXXXXX",
	    fuzz_tmpdir());
	fuzz_init();
	if (mkdtemp(scratch) == NULL)
		fuzz_fail("mkdtemp %s: %s", scratch, strerror(errno));
	fuzz_cleanup(cleanup);
	snprintf(path, sizeof(path), "%s/spool", scratch);
	if (mkdir(path, 0700) == -1)
		fuzz_fail("mkdir %s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/smtpd.conf", scratch);
	if ((fp = fopen(path, "w")) == NULL ||
	    fprintf(fp, "%sspool %s/spool\n", config, scratch) < 0 ||
	    fclose(fp) == EOF)
		fuzz_fail("write %s: %s", path, strerror(errno));
	if (conf_load(&conf, path) == -1)
		fuzz_fail("the fuzzing configuration does not load");
	return 0;
}

/*
 * cleanup - at exit, or before an abort, the scratch directory goes.
 */
static void
cleanup(void)
{
	int	 fd;

	if ((fd = open(scratch, O_RDONLY | O_DIRECTORY)) != -1) {
		fuzz_empty_dir(fd);
		close(fd);
		rmdir(scratch);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *input, size_t size)
{
	struct pieces		 pc;
	struct feed		 f;
	struct session_env	 env;
	struct model		 m;
	struct store		*st;
	int			 in[2], out[2], rc, fd;
	size_t			 i;

	fuzz_pieces(&pc, input, size, WIRE_IBUFSZ);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, in) == -1 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, out) == -1)
		fuzz_fail("socketpair: %s", strerror(errno));
	if ((st = store_open(conf.spool, conf.hostname)) == NULL)
		fuzz_fail("store_open %s: %s", conf.spool, strerror(errno));
	memset(&f, 0, sizeof(f));
	f.pc = &pc;
	f.in = in[1];
	f.out = out[1];
	fuzz_thread_start(feeder, &f);
	memset(&env, 0, sizeof(env));
	env.peer = "192.0.2.1";
	env.conf = &conf;
	env.store = st;
	rc = session_run(in[0], out[0], &env);
	close(out[0]);		/* the feeder reads to the end, and ends */
	fuzz_thread_join();
	close(in[0]);
	close(in[1]);
	close(out[1]);
	while (store_tidy(st) == 1)
		;
	store_close(st);

	memset(&m, 0, sizeof(m));
	m.in = pc.data;
	m.n = pc.len;
	if (rc != 0) {
		fuzz_note_octets("client", pc.data, pc.len);
		fuzz_note_octets("replies", f.replies.p, f.replies.len);
		fuzz_fail("session_run returned %d: it stopped being read", rc);
	}
	if (show) {
		fuzz_note_octets("client", pc.data, pc.len);
		fuzz_note_octets("replies", f.replies.p, f.replies.len);
	}
	parse_replies(&m, &f.replies);
	model_run(&m);
	check_spool(&m);

	if ((fd = open(conf.spool, O_RDONLY | O_DIRECTORY)) == -1 ||
	    fuzz_empty_dir(fd) == -1)
		fuzz_fail("cannot empty %s: %s", conf.spool, strerror(errno));
	close(fd);
	for (i = 0; i < m.nacc; i++)
		buf_free(&m.acc[i].body);
	free(m.acc);
	free(m.line);
	free(m.reply);
	buf_free(&m.chunks);
	buf_free(&f.replies);
	fuzz_pieces_free(&pc);
	return 0;
}

/*
 * feeder - the client: write the pieces, one record each, then shut
 * the writing side down; meanwhile, and until the session closes its
 * side, read the replies.
 */
static void
feeder(void *arg)
{
	struct feed		*f = arg;
	const struct pieces	*pc = f->pc;
	struct pollfd		 pfd[2];
	char			 buf[16384];
	size_t			 i = 0, start;
	ssize_t			 r;
	int			 writing = 1;

	for (;;) {
		if (writing && i == pc->n) {
			shutdown(f->in, SHUT_WR);
			writing = 0;
		}
		pfd[0].fd = writing ? f->in : -1;
		pfd[0].events = POLLOUT;
		pfd[1].fd = f->out;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			fuzz_fail("poll: %s", strerror(errno));
		}
		while (writing && pfd[0].revents != 0 && i < pc->n) {
			start = i > 0 ? pc->end[i - 1] : 0;
			if (send(f->in, pc->data + start, pc->end[i] - start,
			    MSG_DONTWAIT | MSG_NOSIGNAL) != -1)
				i++;
			else if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				break;
			else
				writing = 0;	/* the session has gone */
		}
		if (pfd[1].revents == 0)
			continue;
		if ((r = read(f->out, buf, sizeof(buf))) > 0)
			buf_add(&f->replies, buf, r);
		else if (r == 0 || errno != EINTR)
			break;
	}
}

/*
 * parse_replies - cut the output into lines, each checked (1), and the
 * lines into replies.
 */
static void
parse_replies(struct model *m, const struct buf *b)
{
	const char	*p = (const char *)b->p, *end = p + b->len, *crlf;
	struct rline	*l;
	struct reply	*r = NULL;
	size_t		 i;

	while (p < end) {
		for (crlf = p; crlf + 1 < end; crlf++)
			if (crlf[0] == '\r' && crlf[1] == '\n')
				break;
		if (crlf + 1 >= end) {
			fuzz_note_octets("replies", b->p, b->len);
			fuzz_fail("the output does not end with a whole line");
		}
		if ((m->line = realloc(m->line, (m->nline + 1) *
		    sizeof(*m->line))) == NULL)
			fuzz_fail("out of memory");
		l = &m->line[m->nline++];
		l->text = p;
		l->len = crlf - p;
		if (l->len >= 3 && p[0] >= '2' && p[0] <= '5' &&
		    p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9')
			l->code = (p[0] - '0') * 100 + (p[1] - '0') * 10 +
			    (p[2] - '0');
		else
			l->code = 0;
		l->more = l->len >= 4 && p[3] == '-';
		check_line(l);
		l->text = p + 4;
		l->len -= 4;
		p = crlf + 2;
	}
	for (i = 0; i < m->nline; i++) {
		if (r == NULL) {
			if ((m->reply = realloc(m->reply, (m->nreply + 1) *
			    sizeof(*m->reply))) == NULL)
				fuzz_fail("out of memory");
			r = &m->reply[m->nreply++];
			r->code = m->line[i].code;
			r->first = i;
			r->n = 0;
		}
		if (m->line[i].code != r->code) {
			fuzz_note_octets("replies", b->p, b->len);
			fuzz_fail("a multi-line reply changes its code from "
			    "%d to %d", r->code, m->line[i].code);
		}
		r->n++;
		if (!m->line[i].more)
			r = NULL;
	}
	if (r != NULL) {
		fuzz_note_octets("replies", b->p, b->len);
		fuzz_fail("the last reply is a multi-line reply that never "
		    "ends");
	}
}

/*
 * check_line - RFC 5321 4.2: Reply-code [ SP / "-" ] textstring CRLF,
 * the textstring printable ASCII or HT, and 4.5.3.1.5: 512 octets.
 */
static void
check_line(const struct rline *l)
{
	size_t	 i;

	if (l->code == 0 || l->len < 4 || (l->text[3] != ' ' &&
	    l->text[3] != '-')) {
		fuzz_note_octets("line", l->text, l->len);
		fuzz_fail("a reply line that is not a code, a space or a "
		    "dash, and text");
	}
	for (i = 4; i < l->len; i++)
		if (l->text[i] != '\t' && (l->text[i] < 32 || l->text[i] > 126)) {
			fuzz_note_octets("line", l->text, l->len);
			fuzz_fail("a reply line with the octet 0x%02x",
			    (unsigned char)l->text[i]);
		}
	if (l->len + 2 > REPLY_LINE_MAX) {
		fuzz_note_octets("line", l->text, l->len);
		fuzz_fail("a reply line of %zu octets", l->len + 2);
	}
}

/*
 * model_run - walk the client's octets and the replies together (2).
 */
static void
model_run(struct model *m)
{
	const struct reply	*r;
	const unsigned char	*lf;

	m->cmd = (const unsigned char *)"(the greeting)";
	m->cmdlen = strlen((const char *)m->cmd);
	r = answer(m);
	expect(m, r, 220, NULL);
	if (!text_is(&m->line[r->first], HOSTNAME " ESMTP smtpd"))
		model_fail(m, "the greeting is not \"220 " HOSTNAME
		    " ESMTP smtpd\"");
	while (!m->ended) {
		/* Before it reads a line, the session counts errors. */
		if (m->errors >= conf.max_errors) {
			m->cmd = (const unsigned char *)"(after max-errors)";
			m->cmdlen = strlen((const char *)m->cmd);
			expect(m, answer(m), 421, "4.7.0");
			m->ended = 1;
			break;
		}
		lf = memchr(m->in + m->pos, '\n', m->n - m->pos);
		if (lf == NULL)
			break;		/* the input ends inside a line */
		command(m, m->pos, lf + 1 - m->in);
	}
	if (m->next != m->nreply) {
		m->cmd = (const unsigned char *)"(none)";
		m->cmdlen = strlen((const char *)m->cmd);
		answer(m);		/* a timeout says so */
		model_fail(m, "%zu replies more than the commands called for",
		    m->nreply - m->next + 1);
	}
}

/*
 * command - the command line from start to end (its LF included): what
 * dispatch() in session.c is documented to do with it.
 */
static void
command(struct model *m, size_t start, size_t end)
{
	const char		*line = (const char *)m->in + start;
	const char		*args;
	size_t			 len = end - start - 1, vlen;
	enum verb		 v;

	m->pos = end;
	m->cmd = m->in + start;
	m->cmdlen = end - start;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (end - start > LINE_MAX_OCTETS) {
		expect(m, answer(m), 500, "5.5.6");
		return;
	}
	if (memchr(line, '\0', len) != NULL) {
		expect(m, answer(m), 500, "5.5.2");
		return;
	}
	for (vlen = 0; vlen < len && line[vlen] != ' '; vlen++)
		;
	for (v = 0; v < V_OTHER; v++)
		if (strlen(verbs[v].name) == vlen &&
		    strncasecmp(line, verbs[v].name, vlen) == 0)
			break;
	args = line + vlen;
	while (args < line + len && *args == ' ')
		args++;
	if (verbs[v].junk || ((v == V_HELO || v == V_EHLO) && m->helo)) {
		if (++m->junk > conf.max_junk_commands &&
		    conf.max_junk_commands != 0) {
			expect(m, answer(m), 421, "4.7.0");
			m->ended = 1;
			return;
		}
	}
	if (!(verbs[v].states & (1 << m->st))) {
		expect(m, answer(m), 503, "5.5.1");
		return;
	}
	if ((verbs[v].args == A_NONE && args < line + len) ||
	    (verbs[v].args == A_REQUIRED && args == line + len)) {
		expect(m, answer(m), 501, "5.5.4");
		return;
	}
	run_verb(m, v, args, line + len - args);
}

/*
 * run_verb - the reply of a verb that may run, and what it changes.
 */
static void
run_verb(struct model *m, enum verb v, const char *args, size_t alen)
{
	const struct reply	*r;
	char			 want[600];

	switch (v) {
	case V_HELO:
	case V_EHLO:
		r = answer(m);
		if (!helo_ok(args, alen)) {
			expect(m, r, 501, "5.5.4");
			break;
		}
		expect(m, r, 250, NULL);
		snprintf(want, sizeof(want), v == V_HELO ? "%s" :
		    "%s Hello %.*s", HOSTNAME, (int)alen, args);
		if (!text_is(&m->line[r->first], want) ||
		    (v == V_HELO) != (r->n == 1))
			model_fail(m, "the reply is not \"250%c%s\"%s",
			    v == V_HELO ? ' ' : '-', want,
			    v == V_HELO ? "" : " and more lines");
		end_txn(m);
		m->st = M_READY;
		m->helo = 1;
		break;
	case V_MAIL:
		r = answer(m);
		if (r->code == 250) {
			expect(m, r, 250, "2.1.0");
			end_txn(m);
			m->st = M_MAIL;
		} else if (r->code < 500)
			model_fail(m, "MAIL answered neither 250 nor 5xx");
		else
			expect_esc(m, r);
		break;
	case V_RCPT:
		r = answer(m);
		if (r->code == 250) {
			expect(m, r, 250, "2.1.5");
			if (m->rcpts >= conf.max_recipients)
				model_fail(m, "a recipient over max-recipients");
			m->rcpts++;
			m->st = M_RCPT;
		} else if (r->code == 452) {
			expect(m, r, 452, "4.5.3");
			if (m->rcpts < conf.max_recipients)
				model_fail(m, "452 4.5.3 before max-recipients");
		} else if (r->code < 500)
			model_fail(m, "RCPT answered neither 250, 452 nor 5xx");
		else
			expect_esc(m, r);
		break;
	case V_DATA:
		expect(m, answer(m), 354, NULL);
		data(m);
		break;
	case V_BDAT:
		bdat(m, args, alen);
		break;
	case V_RSET:
		expect(m, answer(m), 250, "2.0.0");
		end_txn(m);
		break;
	case V_NOOP:
		expect(m, answer(m), 250, "2.0.0");
		break;
	case V_QUIT:
		expect(m, answer(m), 221, "2.0.0");
		m->ended = 1;
		break;
	case V_VRFY:
		expect(m, answer(m), 252, "2.5.0");
		break;
	case V_EXPN:
		expect(m, answer(m), 502, "5.5.1");
		break;
	case V_HELP:
		expect(m, answer(m), 214, "2.0.0");
		break;
	case V_OTHER:
		expect(m, answer(m), 500, "5.5.2");
		break;
	}
}

/*
 * data - after the 354: the message to CRLF "." CRLF, and its reply.
 * If the input ends first, the session ends without a word.
 */
static void
data(struct model *m)
{
	struct buf	 body = { NULL, 0, 0 };
	size_t		 end, dropped;

	if ((end = data_end(m->in + m->pos, m->n - m->pos)) == (size_t)-1) {
		m->pos = m->n;
		m->ended = 1;
		return;
	}
	dropped = unstuff(m->in + m->pos, end, &body);
	m->pos += end + 3;
	end_of_message(m, &body, body.len - dropped, 1);
	buf_free(&body);
}

/*
 * bdat - BDAT SIZE [LAST]: the chunk is SIZE octets after the line.
 */
static void
bdat(struct model *m, const char *args, size_t alen)
{
	const struct reply	*r;
	const unsigned char	*chunk;
	unsigned long long	 size;
	int			 last, kept;
	char			 want[64];

	if (bdat_args(args, alen, &size, &last) == -1) {
		/* Without a size, the session cannot go on: 501, 421. */
		expect(m, answer(m), 501, "5.5.4");
		expect(m, answer(m), 421, "4.5.0");
		m->ended = 1;
		return;
	}
	if (size > m->n - m->pos) {
		m->pos = m->n;
		m->ended = 1;		/* the chunk never ends */
		return;
	}
	chunk = m->in + m->pos;
	m->pos += size;
	kept = m->st == M_RCPT || m->st == M_BDAT;
	if (!kept) {
		expect(m, answer(m), 503, "5.5.1");
		return;
	}
	buf_add(&m->chunks, chunk, size);
	if (m->chunks.len > conf.max_message_size || last) {
		end_of_message(m, &m->chunks, m->chunks.len, 0);
		return;
	}
	r = answer(m);
	expect(m, r, 250, "2.0.0");
	snprintf(want, sizeof(want), "2.0.0 %llu octets received", size);
	if (!text_is(&m->line[r->first], want))
		model_fail(m, "the chunk is not answered \"250 %s\"", want);
	m->st = M_BDAT;
}

/*
 * bdat_args - "SIZE" or "SIZE LAST" (any case), SIZE digits that fit.
 */
static int
bdat_args(const char *a, size_t len, unsigned long long *size, int *last)
{
	size_t	 i;

	*size = 0;
	for (i = 0; i < len && a[i] >= '0' && a[i] <= '9'; i++) {
		if (*size > (ULLONG_MAX - (a[i] - '0')) / 10)
			return -1;
		*size = *size * 10 + (a[i] - '0');
	}
	if (i == 0)
		return -1;
	*last = i < len;
	if (*last && (len - i != 5 || strncasecmp(a + i, " LAST", 5) != 0))
		return -1;
	return 0;
}

/*
 * end_of_message - the reply to a whole message of size octets, as
 * RFC 1870 counts them: refused in the order txn.c documents, or
 * accepted.  A line over 1000 octets refuses only DATA.
 */
static void
end_of_message(struct model *m, const struct buf *body, size_t size,
    int is_data)
{
	const struct reply	*r = answer(m);

	if (size > conf.max_message_size)
		expect(m, r, 552, "5.3.4");
	else if (flawed(body))
		expect(m, r, 550, "5.6.0");
	else if (is_data && longest_line(body) + 2 > TEXT_LINE_MAX)
		expect(m, r, 550, "5.5.6");
	else if (received(body) > RECEIVED_MAX)
		expect(m, r, 554, "5.4.6");
	else {
		expect(m, r, 250, "2.0.0");
		accept_msg(m, r, body);
	}
	end_txn(m);
}

/*
 * accept_msg - a 250 ... queued as ID: remember what the files of ID
 * must hold.
 */
static void
accept_msg(struct model *m, const struct reply *r, const struct buf *body)
{
	const struct rline	*l = &m->line[r->first];
	static const char	 q[] = "2.0.0 Ok: queued as ";
	struct accepted		*a;
	size_t			 i, n = l->len - (sizeof(q) - 1);

	if (l->len <= sizeof(q) - 1 || memcmp(l->text, q, sizeof(q) - 1) != 0 ||
	    n >= sizeof(a->id) || memchr(l->text + sizeof(q) - 1, ' ', n))
		model_fail(m, "a message accepted with no \"250 %sID\"", q);
	if ((m->acc = realloc(m->acc, (m->nacc + 1) * sizeof(*m->acc))) ==
	    NULL)
		fuzz_fail("out of memory");
	a = &m->acc[m->nacc++];
	memset(a, 0, sizeof(*a));
	memcpy(a->id, l->text + sizeof(q) - 1, n);
	buf_add(&a->body, body->p, body->len);
	a->rcpts = m->rcpts;
	for (i = 0; i + 1 < m->nacc; i++)
		if (strcmp(m->acc[i].id, a->id) == 0)
			model_fail(m, "two messages queued as %s", a->id);
	m->junk = 0;
}

/*
 * end_txn - RSET, HELO, EHLO, a new MAIL, and the end of a message end
 * the transaction; the session is then ready unless it was never
 * greeted.
 */
static void
end_txn(struct model *m)
{
	m->chunks.len = 0;
	m->rcpts = 0;
	if (m->st != M_GREETED)
		m->st = M_READY;
}

/*
 * answer - the next reply, which the command must have; its 5xx lines
 * count toward max-errors, as the session counts them.
 */
static const struct reply *
answer(struct model *m)
{
	const struct reply	*r;
	size_t			 i;

	if (m->next == m->nreply)
		model_fail(m, "no reply");
	r = &m->reply[m->next++];
	for (i = 0; i < r->n; i++)
		if (m->line[r->first + i].code >= 500)
			m->errors++;
	if (r->code == 421 && r->n == 1 && m->line[r->first].len >= 5 &&
	    memcmp(m->line[r->first].text, "4.4.2", 5) == 0)
		model_fail(m, "a timeout: the session waited for input it "
		    "had, or for an end that had come");
	return r;
}

/*
 * expect - the reply must have this code and, unless esc is NULL, this
 * enhanced code; every reply but the greeting, the 250 to HELO and EHLO
 * and the 354 must have one of its class (RFC 2034).
 */
static void
expect(struct model *m, const struct reply *r, int code, const char *esc)
{
	size_t	 n = esc ? strlen(esc) : 0;

	if (r->code != code)
		model_fail(m, "a %d reply where the model expects %d",
		    r->code, code);
	if (esc != NULL && (m->line[r->first].len <= n ||
	    memcmp(m->line[r->first].text, esc, n) != 0 ||
	    m->line[r->first].text[n] != ' '))
		model_fail(m, "the reply is not %d %s", code, esc);
	if (code != 220 && code != 354 && esc != NULL)
		expect_esc(m, r);
}

/*
 * expect_esc - each line of the reply starts with an enhanced status
 * code (RFC 3463) whose class is the reply's.
 */
static void
expect_esc(struct model *m, const struct reply *r)
{
	const struct rline	*l;
	size_t			 i, j, k, digits;

	for (i = 0; i < r->n; i++) {
		l = &m->line[r->first + i];
		if (l->len < 6 || l->text[0] != '0' + r->code / 100 ||
		    l->text[1] != '.')
			model_fail(m, "a reply without its class's enhanced "
			    "status code");
		for (j = 2, k = 0; k < 2; k++, j++) {
			for (digits = 0; j < l->len && l->text[j] >= '0' &&
			    l->text[j] <= '9'; j++)
				digits++;
			if (digits < 1 || digits > 3 || j >= l->len ||
			    l->text[j] != (k == 0 ? '.' : ' '))
				model_fail(m, "a malformed enhanced status "
				    "code");
		}
	}
}

static int
text_is(const struct rline *l, const char *s)
{
	return l->len == strlen(s) && memcmp(l->text, s, l->len) == 0;
}

/*
 * model_fail - the replies are not what the model expects: say where.
 */
static void
model_fail(struct model *m, const char *fmt, ...)
{
	char	 msg[512];
	va_list	 ap;
	size_t	 i;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fuzz_note_octets("client", m->in, m->n);
	for (i = 0; i < m->nreply; i++)
		fuzz_note("%s reply %zu: %d%c%.*s%s", i + 1 == m->next ?
		    "=>" : "  ", i, m->reply[i].code,
		    m->line[m->reply[i].first].more ? '-' : ' ',
		    (int)m->line[m->reply[i].first].len,
		    m->line[m->reply[i].first].text,
		    m->reply[i].n > 1 ? " ..." : "");
	fuzz_note_octets("command", m->cmd, m->cmdlen);
	fuzz_note("model: state %d, helo %d, errors %u, junk %u, rcpts %u",
	    m->st, m->helo, m->errors, m->junk, m->rcpts);
	fuzz_fail("%s", msg);
}

/*
 * helo_ok - one printable ASCII word of 1 to 255 octets.
 */
static int
helo_ok(const char *a, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if ((unsigned char)a[i] <= ' ' || (unsigned char)a[i] >= 0x7f)
			return 0;
	return n > 0 && n <= 255;
}

/*
 * data_end - the reference decoder's end of the data: the offset of
 * the "." CRLF that starts a line, a line starting at 0 and after every
 * CRLF; (size_t)-1 if there is none.
 */
static size_t
data_end(const unsigned char *p, size_t n)
{
	size_t	 i = 0;

	for (;;) {
		if (n - i >= 3 && memcmp(p + i, ".\r\n", 3) == 0)
			return i;
		for (; i + 1 < n; i++)
			if (p[i] == '\r' && p[i + 1] == '\n')
				break;
		if (i + 1 >= n)
			return (size_t)-1;
		i += 2;
	}
}

/*
 * unstuff - the n octets of data before the final dot as the client
 * meant them: the dot that starts a line is dropped (RFC 5321 4.5.2).
 * Returns how many more octets the session is documented to drop from
 * its count: the CR of a "." CR at the start of a line that no LF
 * follows (such a message is refused anyway).
 */
static size_t
unstuff(const unsigned char *p, size_t n, struct buf *body)
{
	size_t	 i, bol = 1, dropped = 0;

	for (i = 0; i < n; i++) {
		if (bol && p[i] == '.') {
			if (i + 1 < n && p[i + 1] == '\r' &&
			    (i + 2 >= n || p[i + 2] != '\n'))
				dropped++;
			bol = 0;
			continue;
		}
		buf_add(body, p + i, 1);
		bol = p[i] == '\n' && i > 0 && p[i - 1] == '\r';
	}
	return dropped;
}

/*
 * flawed - a NUL, or a CR or LF that is not part of a CRLF.
 */
static int
flawed(const struct buf *b)
{
	size_t	 i;

	for (i = 0; i < b->len; i++) {
		if (b->p[i] == '\0')
			return 1;
		if (b->p[i] == '\r' && (i + 1 == b->len || b->p[i + 1] != '\n'))
			return 1;
		if (b->p[i] == '\n' && (i == 0 || b->p[i - 1] != '\r'))
			return 1;
	}
	return 0;
}

/*
 * longest_line - of a message with CRLF line ends, without the CRLF.
 */
static size_t
longest_line(const struct buf *b)
{
	size_t	 i, start = 0, max = 0;

	for (i = 0; i + 1 < b->len; i++)
		if (b->p[i] == '\r' && b->p[i + 1] == '\n') {
			if (i - start > max)
				max = i - start;
			start = i + 2;
		}
	return b->len - start > max ? b->len - start : max;
}

/*
 * received - the "Received:" lines (any case) of the header, which ends
 * at the first empty line; CRLF line ends.
 */
static unsigned
received(const struct buf *b)
{
	size_t		 i = 0, eol;
	unsigned	 n = 0;

	while (i < b->len) {
		for (eol = i; eol + 1 < b->len; eol++)
			if (b->p[eol] == '\r' && b->p[eol + 1] == '\n')
				break;
		if (eol + 1 >= b->len)
			eol = b->len;
		if (eol == i)
			break;		/* the empty line */
		if (eol - i >= 9 &&
		    strncasecmp((const char *)b->p + i, "Received:", 9) == 0)
			n++;
		i = eol + 2;
	}
	return n;
}

/*
 * check_spool - (3): walk SPOOL/DOMAIN/LOCAL, then see that every
 * accepted message was found.
 */
static void
check_spool(struct model *m)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 sb;
	int		 fd, dfd;
	size_t		 i;

	if ((fd = open(conf.spool, O_RDONLY | O_DIRECTORY)) == -1 ||
	    (d = fdopendir(fd)) == NULL)
		fuzz_fail("open %s: %s", conf.spool, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (!name_ok(de->d_name) ||
		    fstatat(fd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISDIR(sb.st_mode))
			model_fail(m, "the spool holds \"%s\", not a domain",
			    de->d_name);
		if ((dfd = openat(fd, de->d_name, O_RDONLY | O_DIRECTORY)) ==
		    -1)
			fuzz_fail("open %s: %s", de->d_name, strerror(errno));
		check_maildir(m, dfd, de->d_name, NULL);
		close(dfd);
	}
	closedir(d);
	for (i = 0; i < m->nacc; i++)
		if (m->acc[i].files == 0)
			model_fail(m, "%s was answered 250 but is in no new/",
			    m->acc[i].id);
}

/*
 * check_maildir - with local NULL, dfd is a domain: each entry a
 * maildir.  Else dfd is DOMAIN/LOCAL: tmp/, new/, cur/ and the tidy
 * stamp, tmp/ and cur/ empty.
 */
static void
check_maildir(struct model *m, int dfd, const char *domain,
    const char *local)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 sb;
	int		 fd, sub, isdir;

	if ((fd = dup(dfd)) == -1 || (d = fdopendir(fd)) == NULL)
		fuzz_fail("fdopendir: %s", strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == -1)
			fuzz_fail("stat %s: %s", de->d_name, strerror(errno));
		isdir = S_ISDIR(sb.st_mode);
		if (local == NULL) {
			if (!name_ok(de->d_name) || !isdir)
				model_fail(m, "%s/ holds \"%s\", not a maildir",
				    domain, de->d_name);
			if ((sub = openat(dfd, de->d_name, O_RDONLY |
			    O_DIRECTORY)) == -1)
				fuzz_fail("open: %s", strerror(errno));
			check_maildir(m, sub, domain, de->d_name);
			close(sub);
			continue;
		}
		if (strcmp(de->d_name, "smtpd-tidied") == 0 &&
		    S_ISREG(sb.st_mode))
			continue;
		if (!isdir || (strcmp(de->d_name, "tmp") != 0 &&
		    strcmp(de->d_name, "new") != 0 &&
		    strcmp(de->d_name, "cur") != 0))
			model_fail(m, "%s/%s/ holds \"%s\"", domain, local,
			    de->d_name);
		if ((sub = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY)) ==
		    -1)
			fuzz_fail("open: %s", strerror(errno));
		if (strcmp(de->d_name, "new") == 0)
			check_new(m, sub, local);
		else
			check_empty(m, sub, domain, local, de->d_name);
		close(sub);
	}
	closedir(d);
}

/*
 * check_empty - tmp/ and cur/ hold nothing once the session is over.
 */
static void
check_empty(struct model *m, int dfd, const char *domain, const char *local,
    const char *sub)
{
	DIR		*d;
	struct dirent	*de;
	int		 fd;

	if ((fd = dup(dfd)) == -1 || (d = fdopendir(fd)) == NULL)
		fuzz_fail("fdopendir: %s", strerror(errno));
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			model_fail(m, "%s/%s/%s/%s is left after the session",
			    domain, local, sub, de->d_name);
	closedir(d);
}

/*
 * check_new - each file in a new/: ID.HOST,S=SIZE, ID one that was
 * answered 250.
 */
static void
check_new(struct model *m, int dfd, const char *local)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 sb;
	const char	*s, *host;
	char		 id[NAME_MAX + 1];
	size_t		 i, n;
	int		 fd;

	if ((fd = dup(dfd)) == -1 || (d = fdopendir(fd)) == NULL)
		fuzz_fail("fdopendir: %s", strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISREG(sb.st_mode))
			model_fail(m, "new/%s is not a file", de->d_name);
		host = "." HOSTNAME ",S=";
		if ((s = strstr(de->d_name, host)) == NULL ||
		    (n = s - de->d_name) == 0 || n >= sizeof(id))
			model_fail(m, "new/%s is not named ID.%s,S=SIZE",
			    de->d_name, HOSTNAME);
		memcpy(id, de->d_name, n);
		id[n] = '\0';
		s += strlen(host);
		if (strspn(s, "0123456789") != strlen(s) || *s == '\0' ||
		    strtoull(s, NULL, 10) != (unsigned long long)sb.st_size)
			model_fail(m, "new/%s is %lld octets", de->d_name,
			    (long long)sb.st_size);
		for (i = 0; i < m->nacc; i++)
			if (strcmp(m->acc[i].id, id) == 0)
				break;
		if (i == m->nacc)
			model_fail(m, "%s/new/%s: no 250 said queued as %s",
			    local, de->d_name, id);
		check_file(m, &m->acc[i], dfd, de->d_name, &sb);
	}
	closedir(d);
}

/*
 * check_file - one file of an accepted message: the first found is read
 * and compared, the others must be links to it.
 */
static void
check_file(struct model *m, struct accepted *a, int dfd, const char *name,
    const struct stat *sb)
{
	struct buf		 file = { NULL, 0, 0 };
	struct buf		 want = { NULL, 0, 0 };
	char			 buf[8192];
	ssize_t			 r;
	size_t			 i, t;
	int			 fd;

	if (++a->files > (a->rcpts ? a->rcpts : 1))
		model_fail(m, "%s is in %u maildirs, for %u recipients",
		    a->id, a->files, a->rcpts);
	if (a->files > 1) {
		if (sb->st_ino != a->ino || sb->st_dev != a->dev)
			model_fail(m, "the files of %s are not one file",
			    a->id);
		return;
	}
	a->dev = sb->st_dev;
	a->ino = sb->st_ino;
	if ((fd = openat(dfd, name, O_RDONLY)) == -1)
		fuzz_fail("open %s: %s", name, strerror(errno));
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		buf_add(&file, buf, r);
	close(fd);
	/* CRLF becomes LF; the model accepted only clean CRLF lines. */
	for (i = 0; i < a->body.len; i++)
		if (!(a->body.p[i] == '\r' && i + 1 < a->body.len &&
		    a->body.p[i + 1] == '\n'))
			buf_add(&want, a->body.p + i, 1);
	t = check_trace(a, file.p, file.len);
	if (!same_message(file.p + t, file.len - t, want.p, want.len)) {
		fuzz_note_octets("stored", file.p + t, file.len - t);
		fuzz_note_octets("expected", want.p, want.len);
		model_fail(m, "%s is not the message sent, less only "
		    "Authentication-Results: fields", name);
	}
	buf_free(&file);
	buf_free(&want);
}

/*
 * same_message - is the stored part s the message sent, w (both with LF
 * line ends)?  The header section, up to the first empty line or the
 * end, is walked field by field (a line and its SP or HT continuation
 * lines): a field sent is stored as it is, or else it is an
 * Authentication-Results: field, which txn.c removes when the
 * authserv-id is ours or it cannot tell within what it holds.  Which of
 * those it removes is its business; the model checks that nothing else
 * goes, and that what stays is whole.  The rest is stored octet for
 * octet.
 */
static int
same_message(const unsigned char *s, size_t sn, const unsigned char *w,
    size_t wn)
{
	size_t	 si = 0, wi = 0, f;

	while (wi < wn && w[wi] != '\n') {
		f = field_len(w + wi, wn - wi);
		if (sn - si >= f && memcmp(s + si, w + wi, f) == 0)
			si += f;
		else if (!is_authres(w + wi, f))
			return 0;
		wi += f;
	}
	return sn - si == wn - wi &&
	    (wn == wi || memcmp(s + si, w + wi, wn - wi) == 0);
}

/*
 * field_len - the length of the header field at p: its first line and
 * every line after it that starts with SP or HT, LFs included; the
 * last line may end without one, at n.
 */
static size_t
field_len(const unsigned char *p, size_t n)
{
	size_t	 i = 0;

	for (;;) {
		while (i < n && p[i] != '\n')
			i++;
		if (i == n)
			return n;
		i++;
		if (i == n || (p[i] != ' ' && p[i] != '\t'))
			return i;
	}
}

/*
 * is_authres - is the field of n octets at p named
 * "Authentication-Results", in any case, with SP or HT allowed before
 * its colon (RFC 5322 4.5.3)?
 */
static int
is_authres(const unsigned char *p, size_t n)
{
	static const char	 name[] = "Authentication-Results";
	size_t			 i = sizeof(name) - 1;

	if (n < i || strncasecmp((const char *)p, name, i) != 0)
		return 0;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	return i < n && p[i] == ':';
}

/*
 * check_trace - what precedes the message, of which it returns the
 * length: Return-Path:; the SPF verdict, which with no resolver is a
 * temperror (or none, for <> from a HELO that is no domain), as one
 * Authentication-Results: field of ours and one Received-SPF: field;
 * then Received: from, by, [for,] date.  Every line LF-ended, at most
 * 998 octets (RFC 5322 2.1.1), without control octets but the tab that
 * starts a continuation line.  Of Received-SPF:, what the sender or
 * HELO text could break: its last line, the identity that decides and
 * the receiver, and the quoting of envelope-from= and helo=.
 */
static size_t
check_trace(const struct accepted *a, const unsigned char *p, size_t n)
{
	static const char	*received[] = { "Received: from ",
	    "\tby " HOSTNAME " (smtpd) with ", "\t", "\t" };
	static const char	 ar[] = "Authentication-Results: " HOSTNAME
	    ";\n";
	char			 last[80], idtag[80];
	size_t			 at, e, spf, rcvd, k;
	size_t			 lines = a->rcpts == 1 ? 4 : 3;
	int			 null;
	const char		*why;

	if ((e = trace_line(p, n, 0)) == 0 ||
	    !starts(p, e, "Return-Path: <") || p[e - 2] != '>') {
		why = "no Return-Path: line";
		goto bad;
	}
	null = e == strlen("Return-Path: <>\n");
	at = e;
	if ((e = trace_field(p, n, at)) == 0 || !starts(p + at, e - at, ar) ||
	    e - at == strlen(ar)) {
		why = "no Authentication-Results: " HOSTNAME "; field";
		goto bad;
	}
	at = spf = e;
	if ((e = trace_field(p, n, at)) == 0 ||
	    !(starts(p + at, e - at, "Received-SPF: temperror (") ||
	    (null && starts(p + at, e - at, "Received-SPF: none (")))) {
		why = "no Received-SPF: temperror field";
		goto bad;
	}
	snprintf(last, sizeof(last), "\n\tidentity=%s; receiver=%s;\n",
	    null ? "helo" : "mailfrom", HOSTNAME);
	if (e - spf < strlen(last) ||
	    memcmp(p + e - strlen(last), last, strlen(last)) != 0) {
		why = "Received-SPF: does not end with the identity and "
		    "receiver=";
		goto bad;
	}
	if (!spf_value(p + spf, e - spf, "\n\tenvelope-from=") ||
	    !spf_value(p + spf, e - spf, "\n\thelo=") ||
	    (null && !has(p + spf, e - spf, "\n\tenvelope-from=\"\";\n"))) {
		why = "Received-SPF: has no well-quoted envelope-from= or "
		    "helo=";
		goto bad;
	}
	at = rcvd = e;
	for (k = 0; k < lines; k++) {
		if ((e = trace_line(p, n, at)) == 0 ||
		    !starts(p + at, e - at, received[k])) {
			why = "no Received: from, by, [for,] date";
			goto bad;
		}
		at = e;
	}
	snprintf(idtag, sizeof(idtag), " id %s", a->id);
	if (!has(p + rcvd, at - rcvd, idtag) ||
	    (lines == 4 && !has(p + rcvd, at - rcvd, "\n\tfor <"))) {
		why = "Received: without its id or for";
		goto bad;
	}
	return at;
bad:
	fuzz_note_octets("stored", p, n);
	fuzz_fail("%s: the trace headers are wrong: %s", a->id, why);
}

/*
 * trace_line - the end of the trace header line at p + at, just past
 * its LF; 0 if it has none, is over 998 octets without it, or holds a
 * control octet but for a tab that starts it.
 */
static size_t
trace_line(const unsigned char *p, size_t n, size_t at)
{
	size_t	 i;

	for (i = at; i < n && p[i] != '\n'; i++)
		if ((p[i] < 0x20 || p[i] == 0x7f) &&
		    !(p[i] == '\t' && i == at))
			return 0;
	if (i == n || i - at > 998)
		return 0;
	return i + 1;
}

/*
 * trace_field - the end of the trace header field at p + at: its line
 * and the continuation lines, which start with a tab; 0 if a line is
 * not a trace_line().
 */
static size_t
trace_field(const unsigned char *p, size_t n, size_t at)
{
	if ((at = trace_line(p, n, at)) == 0)
		return 0;
	while (at < n && p[at] == '\t')
		if ((at = trace_line(p, n, at)) == 0)
			return 0;
	return at;
}

/*
 * spf_value - in the Received-SPF: field of n octets at p, the line
 * that starts with key ("\n\tNAME=") holds one value and its ';': a
 * quoted-string whose '"' and '\\' inside are quoted-pairs, or a run
 * without SP, '"', '\\' or ';' (addr_value()).
 */
static int
spf_value(const unsigned char *p, size_t n, const char *key)
{
	size_t	 i, start, k = strlen(key);

	for (i = 0; i + k <= n; i++)
		if (memcmp(p + i, key, k) == 0)
			break;
	if (i + k > n)
		return 0;
	i += k;
	if (i < n && p[i] == '"') {
		for (i++; i < n && p[i] != '"' && p[i] != '\n'; i++)
			if (p[i] == '\\' && ++i < n && p[i] == '\n')
				return 0;
		if (i == n || p[i] != '"')
			return 0;
		i++;
	} else {
		for (start = i; i < n && p[i] > ' ' && p[i] != '"' &&
		    p[i] != '\\' && p[i] != ';'; i++)
			;
		if (i == start)
			return 0;
	}
	return n - i >= 2 && p[i] == ';' && p[i + 1] == '\n';
}

/*
 * starts - do the n octets at p start with the string s?
 */
static int
starts(const unsigned char *p, size_t n, const char *s)
{
	size_t	 k = strlen(s);

	return n >= k && memcmp(p, s, k) == 0;
}

/*
 * has - does p hold the string s?
 */
static int
has(const unsigned char *p, size_t n, const char *s)
{
	size_t	 i, k = strlen(s);

	for (i = 0; i + k <= n; i++)
		if (memcmp(p + i, s, k) == 0)
			return 1;
	return 0;
}

/*
 * name_ok - what store.c lets name a directory: not empty, no leading
 * dot, no control octets.
 */
static int
name_ok(const char *s)
{
	size_t	 i;

	if (s[0] == '\0' || s[0] == '.')
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}
