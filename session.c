/*
 * session.c - the SMTP dialogue for one connection.
 *
 * A session is a loop: flush pending replies when the input runs dry,
 * read one command line, look its verb up in the command table, check
 * that the current state allows it, run it.  Replies are buffered and
 * written only before a blocking read, which is what makes PIPELINING
 * (RFC 2920) correct: a client that sends a batch gets the batch's
 * replies in one write.  What MAIL and RCPT carry is parsed by addr.c,
 * the address grammar; this file decides what to answer.
 *
 * A transaction (struct txn) exists from MAIL to the end of DATA, the
 * last BDAT, RSET or a new HELO/EHLO.  The message body streams from the
 * socket through the DATA decoder (dot-unstuffing, end-of-data and bare
 * CR/LF detection) or the BDAT byte counter, then through the body filter
 * (size, Received: loop count, CRLF -> LF) into the store.  Memory use
 * does not depend on the message size.
 *
 * Replies come in two tiers: err_*() answer and go on; die() answers 421
 * and ends the session.  Every 5xx counts toward max-errors, and every
 * command that does not move mail along (NOOP, RSET, VRFY, EXPN, HELP, a
 * second HELO/EHLO) toward max-junk-commands.
 *
 * Time is measured in deadlines, never per read(): a client that drips
 * one octet at a time does not reset the clock.  A wait ends at the
 * earliest of its own deadline (see session.h) and the session's.  Where
 * the pool can come under stress, waits wake once a second to look at
 * the stress flag, so that a session already waiting is cut as soon as
 * the pool fills up.
 *
 * Client octets reach a reply or a log line only through escape().
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "conf.h"
#include "log.h"
#include "session.h"
#include "store.h"

/*
 * RFC 5321 4.5.3.1.4: 512 octets for a command line, raised by the
 * extensions we advertise: SIZE (RFC 1870) by 26, BODY (RFC 6152) by 14,
 * SMTPUTF8 (RFC 6531) by 10.  4.5.3.1.6: 1000 octets for a text line.
 */
#define CMD_LINE_MAX	(512 + 26 + 14 + 10)
#define TEXT_LINE_MAX	1000
#define HELO_MAX	255
#define MAX_RECEIVED	100		/* RFC 5321 6.3: loop threshold */
#define IBUFSZ		65536
#define OBUFSZ		8192
#define REPLY_MAX	600		/* one reply line, CRLF included */
#define ESC_MAX		256		/* an escaped field in a log line */
#define TICK_MS		1000		/* how often a wait looks at stress */
#define LAST_WORD_MS	1000		/* a 421 after the session deadline */
#define STRESS_SESSION	3		/* stress-timeouts a session may last
					   under stress */

/* Enhanced status codes (RFC 3463, RFC 6531), by name. */
#define ES_OK		"2.0.0"
#define ES_SENDER_OK	"2.1.0"
#define ES_RCPT_OK	"2.1.5"
#define ES_VRFY		"2.5.0"
#define ES_LOCAL	"4.3.0"
#define ES_NOSPACE	"4.3.1"
#define ES_SHUTDOWN	"4.3.2"
#define ES_TIMEOUT	"4.4.2"
#define ES_RCPTS	"4.5.3"
#define ES_ERRORS	"4.7.0"
#define ES_PROTOCOL	"4.5.0"
#define ES_NO_USER	"5.1.1"
#define ES_BAD_RCPT	"5.1.3"
#define ES_BAD_SENDER	"5.1.7"
#define ES_TOO_BIG	"5.3.4"
#define ES_LOOP		"5.4.6"
#define ES_SEQUENCE	"5.5.1"
#define ES_UNKNOWN	"5.5.2"
#define ES_SYNTAX	"5.5.4"
#define ES_LONG_LINE	"5.5.6"
#define ES_BAD_CONTENT	"5.6.0"
#define ES_NON_ASCII	"5.6.7"
#define ES_RELAY	"5.7.1"

enum state {
	STATE_GREETED	= 1 << 0,	/* no HELO/EHLO yet */
	STATE_READY	= 1 << 1,	/* no transaction */
	STATE_MAIL	= 1 << 2,	/* MAIL given, no recipient yet */
	STATE_RCPT	= 1 << 3,	/* at least one recipient */
	STATE_BDAT	= 1 << 4,	/* BDAT chunks received, no LAST yet */
	STATE_QUIT	= 1 << 5	/* the loop ends */
};
#define STATE_ANY	(STATE_GREETED | STATE_READY | STATE_MAIL | \
			 STATE_RCPT | STATE_BDAT)

enum args { ARGS_NONE, ARGS_OPTIONAL, ARGS_REQUIRED };

/* What a wait is for; each has its own deadline (wait_deadline()). */
enum wait { WAIT_GREET, WAIT_COMMAND, WAIT_DATA, WAIT_WRITE };

#define CMD_JUNK	0x1	/* counts toward max-junk-commands */

enum io {
	IO_OK,
	IO_LONG,		/* line over the limit, discarded */
	IO_EOF,			/* client closed, or a read/write error */
	IO_TIMEOUT,
	IO_STOP			/* the process is asked to stop */
};

/* What fill() returns besides a count of octets. */
#define FILL_EOF	0
#define FILL_TIMEOUT	(-2)
#define FILL_STOP	(-3)

struct rcpt {
	char		 addr[ADDR_PATH_MAX];	/* as given, for Received: */
	char		 local[ADDR_LOCAL_MAX + 1];	/* the mailbox, lowercase */
	char		 domain[ADDR_DOMAIN_MAX + 1];
};

/*
 * The body filter sees the message as the client meant it (CRLF lines,
 * dots unstuffed) and writes it with LF lines.
 */
struct body {
	uint64_t	 size;		/* octets, counted as RFC 1870 does */
	int		 over;		/* size passed max-message-size */
	int		 bad;		/* NUL, bare CR or bare LF seen */
	int		 long_line;	/* a DATA line over TEXT_LINE_MAX */
	int		 in_header;	/* before the first empty line */
	int		 cr;		/* a CR is pending */
	size_t		 col;		/* octets into this line */
	char		 head[9];	/* its first octets, for "Received:" */
	unsigned	 received;
};

struct txn {
	char		 from[ADDR_PATH_MAX];	/* "" for the null path */
	int		 utf8;			/* MAIL ... SMTPUTF8 */
	struct rcpt	*rcpt;
	size_t		 nrcpt;
	struct store_msg *msg;			/* open during DATA/BDAT */
	struct body	 body;
};

struct session {
	int			 in, out;
	const struct conf	*conf;
	struct store		*store;
	volatile sig_atomic_t	*stop;
	const atomic_int	*stress;
	char			 peer[64];	/* "" when unknown */
	char			 id[24];
	enum state		 state;
	int			 esmtp;
	int			 broken;	/* a write failed: say no more */
	char			 helo[HELO_MAX + 1];
	unsigned		 errors;
	unsigned		 junk;		/* since the last accepted message */
	unsigned		 messages;
	struct txn		*txn;
	long long		 start_ms;	/* when the session began */
	long long		 end_ms;	/* the session's deadline */
	long long		 wait_ms;	/* when this command's wait began */
	long long		 data_ms;	/* when this DATA or chunk began */
	uint64_t		 data_octets;	/* read since then */
	char			 line[CMD_LINE_MAX + 1];
	char			 cmd[ESC_MAX];	/* the line, escaped, for logs */
	size_t			 ipos, ilen, olen;
	char			 ibuf[IBUFSZ];
	char			 obuf[OBUFSZ];
};

struct command {
	const char	*verb;
	int		 states;	/* where the verb is allowed */
	enum args	 args;
	const char	*order;		/* what is missing if not allowed */
	void		(*run)(struct session *, char *);
	int		 flags;		/* CMD_* */
};

struct mailparams {
	int		 size_given;
	uint64_t	 size;
	int		 utf8;
};

struct param {
	const char	*name;
	int		(*parse)(struct session *, struct mailparams *,
			    const char *);
};

static void	 cmd_helo(struct session *, char *);
static void	 cmd_ehlo(struct session *, char *);
static void	 cmd_mail(struct session *, char *);
static void	 cmd_rcpt(struct session *, char *);
static void	 cmd_data(struct session *, char *);
static void	 cmd_bdat(struct session *, char *);
static void	 cmd_rset(struct session *, char *);
static void	 cmd_noop(struct session *, char *);
static void	 cmd_quit(struct session *, char *);
static void	 cmd_vrfy(struct session *, char *);
static void	 cmd_expn(struct session *, char *);
static void	 cmd_help(struct session *, char *);
static void	 cmd_unknown(struct session *, char *);
static int	 param_size(struct session *, struct mailparams *,
		    const char *);
static int	 param_body(struct session *, struct mailparams *,
		    const char *);
static int	 param_smtputf8(struct session *, struct mailparams *,
		    const char *);

static void	 reply(struct session *, int, const char *, const char *, ...)
		    __attribute__((format(printf, 4, 5)));
static void	 reply_more(struct session *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static void	 vreply(struct session *, int, int, const char *,
		    const char *, va_list)
		    __attribute__((format(printf, 5, 0)));
static void	 die(struct session *, const char *, const char *);
static void	 die_timeout(struct session *, const char *, const char *);
static void	 err_store(struct session *, int);
static int	 flush(struct session *);
static ssize_t	 write_some(int, const char *, size_t);
static int	 fill(struct session *, enum wait);
static int	 wait_fd(struct session *, int, short, enum wait, long long);
static long long wait_deadline(struct session *, enum wait, long long);
static long long now_ms(void);
static long long session_end(const struct session *);
static int	 stressed(const struct session *);
static unsigned	 max_errors(const struct session *);
static unsigned	 max_junk(const struct session *);
static int	 greet_pause(struct session *);
static enum io	 read_line(struct session *, size_t *);
static void	 dispatch(struct session *, char *, size_t);
static void	 enter(struct session *, enum state);
static const char *state_name(enum state);
static void	 txn_free(struct session *);
static int	 txn_open_message(struct session *);
static void	 txn_finish(struct session *);
static void	 txn_accepted(struct session *, const char *);
static void	 body_feed(struct session *, const char *, size_t);
static void	 body_emit(struct session *, const char *, size_t);
static void	 data_begin(struct session *);
static enum io	 data_read(struct session *, int *, int *);
static enum io	 chunk_read(struct session *, uint64_t, int);
static int	 parse_params(struct session *, char *, struct mailparams *);
static int	 resolve_rcpt(struct session *, const struct addr_path *,
		    struct rcpt *);
static const char *comment_escape(const char *, char *, size_t);
static const char *escape(const char *, size_t, char *, size_t);

/*
 * A HELO or EHLO after the first counts as junk too (dispatch() sees to
 * it): clients do not send two, loops that hold a worker do.
 */
static const struct command commands[] = {
	{ "HELO", STATE_ANY, ARGS_REQUIRED, NULL, cmd_helo, 0 },
	{ "EHLO", STATE_ANY, ARGS_REQUIRED, NULL, cmd_ehlo, 0 },
	{ "MAIL", STATE_READY, ARGS_REQUIRED, "nested MAIL command", cmd_mail,
	    0 },
	{ "RCPT", STATE_MAIL | STATE_RCPT, ARGS_REQUIRED, "need MAIL command",
	    cmd_rcpt, 0 },
	{ "DATA", STATE_RCPT, ARGS_NONE, "need RCPT command", cmd_data, 0 },
	/* BDAT checks its own order: a refused chunk must still be read. */
	{ "BDAT", STATE_ANY, ARGS_REQUIRED, NULL, cmd_bdat, 0 },
	{ "RSET", STATE_ANY, ARGS_NONE, NULL, cmd_rset, CMD_JUNK },
	{ "NOOP", STATE_ANY, ARGS_OPTIONAL, NULL, cmd_noop, CMD_JUNK },
	{ "QUIT", STATE_ANY, ARGS_NONE, NULL, cmd_quit, 0 },
	{ "VRFY", STATE_ANY, ARGS_REQUIRED, NULL, cmd_vrfy, CMD_JUNK },
	{ "EXPN", STATE_ANY, ARGS_OPTIONAL, NULL, cmd_expn, CMD_JUNK },
	{ "HELP", STATE_ANY, ARGS_OPTIONAL, NULL, cmd_help, CMD_JUNK },
	{ NULL, STATE_ANY, ARGS_OPTIONAL, NULL, cmd_unknown, 0 }
};

static const struct param mail_params[] = {
	{ "SIZE", param_size },
	{ "BODY", param_body },
	{ "SMTPUTF8", param_smtputf8 },
	{ NULL, NULL }
};

/*
 * session_run - the whole dialogue for one connection.
 */
int
session_run(int in, int out, const struct session_env *env)
{
	static unsigned		 serial;
	const struct conf	*conf = env->conf;
	struct session		*s;
	size_t			 len;
	enum io			 r;
	int			 broken;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_warn("session: calloc");
		return 0;
	}
	s->in = in;
	s->out = out;
	s->conf = conf;
	s->store = env->store;
	s->stop = env->stop;
	s->stress = env->stress;
	s->start_ms = now_ms();
	s->end_ms = s->start_ms + 1000LL * conf->session_timeout;
	snprintf(s->peer, sizeof(s->peer), "%s", env->peer ? env->peer : "");
	snprintf(s->id, sizeof(s->id), "%08llx%04x",
	    (unsigned long long)time(NULL) & 0xffffffffULL,
	    (unsigned)(getpid() * 31 + ++serial) & 0xffff);
	s->state = STATE_GREETED;
	if (env->crowded)	/* one log line, the reject: floods are fast */
		die(s, ES_ERRORS, "Too many connections from your address");
	else {
		log_info("%s event=connect peer=%s%s", s->id,
		    env->peer ? env->peer : "unknown",
		    stressed(s) ? " stress=yes" : "");
		if (s->store == NULL)
			die(s, ES_LOCAL, "Mail system unavailable, try again "
			    "later");
		else if (greet_pause(s) == 0)
			reply(s, 220, NULL, "%s ESMTP smtpd", conf->hostname);
	}
	while (s->state != STATE_QUIT) {
		if (s->errors >= max_errors(s)) {
			die(s, ES_ERRORS, "Too many errors");
			break;
		}
		r = read_line(s, &len);
		if (r == IO_EOF)
			break;
		if (r == IO_STOP)
			die(s, ES_SHUTDOWN, "Service shutting down");
		else if (r == IO_TIMEOUT)
			die_timeout(s, "command", "Timeout waiting for a command");
		else if (r == IO_LONG)
			reply(s, 500, ES_LONG_LINE, "Line too long (max %d)",
			    CMD_LINE_MAX);
		else
			dispatch(s, s->line, len);
	}
	flush(s);
	txn_free(s);
	if (!env->crowded)
		log_info("%s event=disconnect messages=%u errors=%u junk=%u",
		    s->id, s->messages, s->errors, s->junk);
	broken = s->broken;
	free(s);
	return broken ? -1 : 0;
}

/*
 * greet_pause - the early-talker check: wait greet-pause seconds before
 * the 220.  A client that speaks first is not an SMTP client that waits
 * for the greeting (RFC 5321 3.1): 554 and close.  Skipped under stress,
 * where a worker's time is what is short.  Returns 0 to go on greeting.
 */
static int
greet_pause(struct session *s)
{
	char		 c;
	ssize_t		 n;

	if (s->conf->greet_pause == 0 || stressed(s))
		return 0;
	switch (wait_fd(s, s->in, POLLIN, WAIT_GREET, now_ms())) {
	case 0:
		return 0;		/* quiet: a well-behaved client */
	case -2:
		enter(s, STATE_QUIT);	/* asked to stop: no 220 */
		return -1;
	}
	if ((n = read(s->in, &c, 1)) <= 0) {
		enter(s, STATE_QUIT);	/* gone without a word */
		return -1;
	}
	reply(s, 554, ES_SEQUENCE, "Protocol error: talking before the "
	    "greeting");
	enter(s, STATE_QUIT);
	return -1;
}

/*
 * dispatch - find the verb in the command table, check order, argument
 * presence and the junk-command limit, run it.
 */
static void
dispatch(struct session *s, char *line, size_t len)
{
	const struct command	*c;
	char			*args;
	size_t			 vlen;
	unsigned		 junk;

	/* Before the line is cut up, for every log line about it. */
	escape(line, len, s->cmd, sizeof(s->cmd));
	if (log_verbose())
		log_debug("%s <<< %s", s->id, s->cmd);
	if (memchr(line, '\0', len) != NULL) {
		reply(s, 500, ES_UNKNOWN, "NUL character in command");
		return;
	}
	vlen = strcspn(line, " ");
	args = line + vlen;
	while (*args == ' ')
		args++;
	for (c = commands; c->verb != NULL; c++)
		if (vlen == strlen(c->verb) &&
		    strncasecmp(line, c->verb, vlen) == 0)
			break;
	if ((c->flags & CMD_JUNK) ||
	    ((c->run == cmd_helo || c->run == cmd_ehlo) && s->helo[0] != '\0')) {
		junk = max_junk(s);
		if (++s->junk > junk && junk != 0) {
			die(s, ES_ERRORS, "Too many commands without mail");
			return;
		}
	}
	if (c->verb != NULL && !(s->state & c->states)) {
		reply(s, 503, ES_SEQUENCE, "Bad sequence of commands: %s",
		    s->state == STATE_GREETED ? "send HELO or EHLO first" :
		    s->state == STATE_BDAT ? "BDAT in progress" : c->order);
		return;
	}
	if ((c->args == ARGS_NONE && *args != '\0') ||
	    (c->args == ARGS_REQUIRED && *args == '\0')) {
		reply(s, 501, ES_SYNTAX, "Syntax: %s%s", c->verb,
		    c->args == ARGS_NONE ? "" : " <argument>");
		return;
	}
	c->run(s, args);
}

/*
 * enter - the one place the state changes.
 */
static void
enter(struct session *s, enum state next)
{
	if (s->state == STATE_QUIT)
		return;		/* ending is for good */
	log_debug("%s state %s -> %s", s->id, state_name(s->state),
	    state_name(next));
	s->state = next;
}

static const char *
state_name(enum state st)
{
	switch (st) {
	case STATE_GREETED:	return "greeted";
	case STATE_READY:	return "ready";
	case STATE_MAIL:	return "mail";
	case STATE_RCPT:	return "rcpt";
	case STATE_BDAT:	return "bdat";
	case STATE_QUIT:	return "quit";
	}
	return "?";
}

/*
 * helo_ok - a HELO/EHLO argument we accept: one printable ASCII word.
 * Clients send too many odd names (underscores, unqualified hosts) to
 * insist on RFC 5321's grammar; a name outside it goes into Received:
 * only as a comment (see txn_open_message()).
 */
static int
helo_ok(const char *arg)
{
	size_t	 n;

	for (n = 0; arg[n] != '\0'; n++)
		if (arg[n] <= ' ' || arg[n] >= 0x7f)
			return 0;
	return n > 0 && n <= HELO_MAX;
}

/*
 * comment_escape - a HELO word (printable ASCII, no space) made safe
 * inside an RFC 5322 comment: '(', ')' and '\' become quoted-pairs.
 */
static const char *
comment_escape(const char *in, char *out, size_t outsz)
{
	size_t	 o = 0;

	for (; *in != '\0' && o + 3 < outsz; in++) {
		if (*in == '(' || *in == ')' || *in == '\\')
			out[o++] = '\\';
		out[o++] = *in;
	}
	out[o] = '\0';
	return out;
}

static void
cmd_helo(struct session *s, char *args)
{
	if (!helo_ok(args)) {
		reply(s, 501, ES_SYNTAX, "Syntax: HELO <hostname>");
		return;
	}
	txn_free(s);
	snprintf(s->helo, sizeof(s->helo), "%s", args);
	s->esmtp = 0;
	enter(s, STATE_READY);
	reply(s, 250, NULL, "%s", s->conf->hostname);
}

static void
cmd_ehlo(struct session *s, char *args)
{
	if (!helo_ok(args)) {
		reply(s, 501, ES_SYNTAX, "Syntax: EHLO <hostname>");
		return;
	}
	txn_free(s);
	snprintf(s->helo, sizeof(s->helo), "%s", args);
	s->esmtp = 1;
	enter(s, STATE_READY);
	reply_more(s, 250, "%s Hello %s", s->conf->hostname, s->helo);
	reply_more(s, 250, "PIPELINING");
	reply_more(s, 250, "SIZE %" PRIu64, s->conf->max_message_size);
	reply_more(s, 250, "8BITMIME");
	/* RFC 6531 3.1: SMTPUTF8 goes with 8BITMIME. */
	reply_more(s, 250, "SMTPUTF8");
	reply_more(s, 250, "ENHANCEDSTATUSCODES");
	reply(s, 250, NULL, "CHUNKING");
}

static void
cmd_mail(struct session *s, char *args)
{
	struct mailparams	 mp = { 0, 0, 0 };
	struct addr_path		 path;
	const char		*end;

	if (strncasecmp(args, "FROM:", 5) != 0) {
		reply(s, 501, ES_SYNTAX, "Syntax: MAIL FROM:<address>");
		return;
	}
	args += 5;
	while (*args == ' ')	/* RFC 5321 forbids it; clients send it */
		args++;
	if (addr_parse_path(args, &path, ADDR_EMPTY_OK, &end) == -1 ||
	    (*end != '\0' && *end != ' ')) {
		reply(s, 501, ES_BAD_SENDER, "Bad sender address syntax");
		return;
	}
	if (parse_params(s, args + (end - args), &mp) == -1)
		return;
	if (path.nonascii && !mp.utf8) {
		reply(s, 553, ES_NON_ASCII,
		    "Non-ASCII address needs the SMTPUTF8 parameter");
		return;
	}
	if ((s->txn = calloc(1, sizeof(*s->txn))) == NULL) {
		err_store(s, errno);
		return;
	}
	memcpy(s->txn->from, path.addr, sizeof(path.addr));
	s->txn->utf8 = mp.utf8;
	enter(s, STATE_MAIL);
	reply(s, 250, ES_SENDER_OK, "Ok");
}

/*
 * parse_params - the MAIL parameters after the path (RFC 5321 4.1.2
 * Mail-parameters); answers and returns -1 on the first bad one.
 */
static int
parse_params(struct session *s, char *p, struct mailparams *mp)
{
	const struct param	*pp;
	char			*key, *val, esc[ESC_MAX];

	for (;;) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			return 0;
		key = p;
		p += strcspn(p, " ");
		if (*p != '\0')
			*p++ = '\0';
		if ((val = strchr(key, '=')) != NULL)
			*val++ = '\0';
		for (pp = mail_params; pp->name != NULL; pp++)
			if (strcasecmp(key, pp->name) == 0)
				break;
		if (pp->name == NULL || !s->esmtp) {
			reply(s, 555, ES_SYNTAX, "Unsupported parameter %s",
			    escape(key, strlen(key), esc, sizeof(esc)));
			return -1;
		}
		if (pp->parse(s, mp, val) == -1)
			return -1;
	}
}

/*
 * param_size - RFC 1870: refuse at once what the DATA would exceed.
 */
static int
param_size(struct session *s, struct mailparams *mp, const char *val)
{
	char	*end;

	if (val == NULL || !isdigit((unsigned char)*val)) {
		reply(s, 501, ES_SYNTAX, "Syntax: SIZE=<octets>");
		return -1;
	}
	errno = 0;
	mp->size = strtoull(val, &end, 10);
	if (*end != '\0') {
		reply(s, 501, ES_SYNTAX, "Syntax: SIZE=<octets>");
		return -1;
	}
	if (errno == ERANGE || mp->size > s->conf->max_message_size) {
		reply(s, 552, ES_TOO_BIG,
		    "Message size exceeds fixed limit of %" PRIu64 " octets",
		    s->conf->max_message_size);
		return -1;
	}
	mp->size_given = 1;
	return 0;
}

/*
 * param_body - RFC 6152: 7BIT and 8BITMIME are stored alike.  BINARYMIME
 * (RFC 3030) is not advertised, so it is not accepted.
 */
static int
param_body(struct session *s, struct mailparams *mp, const char *val)
{
	(void)mp;
	if (val == NULL || (strcasecmp(val, "7BIT") != 0 &&
	    strcasecmp(val, "8BITMIME") != 0)) {
		reply(s, 555, ES_SYNTAX, "Unsupported BODY type");
		return -1;
	}
	return 0;
}

static int
param_smtputf8(struct session *s, struct mailparams *mp, const char *val)
{
	if (val != NULL) {
		reply(s, 501, ES_SYNTAX, "SMTPUTF8 takes no value");
		return -1;
	}
	mp->utf8 = 1;
	return 0;
}

static void
cmd_rcpt(struct session *s, char *args)
{
	struct txn	*t = s->txn;
	struct rcpt	*r;
	struct addr_path	 path;
	const char	*end;
	char		 esc[ESC_MAX];

	if (strncasecmp(args, "TO:", 3) != 0) {
		reply(s, 501, ES_SYNTAX, "Syntax: RCPT TO:<address>");
		return;
	}
	args += 3;
	while (*args == ' ')
		args++;
	if (addr_parse_path(args, &path, ADDR_POSTMASTER, &end) == -1 ||
	    (*end != '\0' && *end != ' ')) {
		reply(s, 501, ES_BAD_RCPT, "Bad recipient address syntax");
		return;
	}
	while (*end == ' ')
		end++;
	if (*end != '\0') {
		reply(s, 555, ES_SYNTAX, "Unsupported parameter %s",
		    escape(end, strlen(end), esc, sizeof(esc)));
		return;
	}
	if (path.nonascii && !t->utf8) {
		reply(s, 553, ES_NON_ASCII,
		    "Non-ASCII address needs MAIL ... SMTPUTF8");
		return;
	}
	if (t->nrcpt >= s->conf->max_recipients) {
		reply(s, 452, ES_RCPTS, "Too many recipients");
		return;
	}
	r = realloc(t->rcpt, (t->nrcpt + 1) * sizeof(*r));
	if (r == NULL) {
		err_store(s, errno);
		return;
	}
	t->rcpt = r;
	if (resolve_rcpt(s, &path, &r[t->nrcpt]) == -1)
		return;
	t->nrcpt++;
	enter(s, STATE_RCPT);
	reply(s, 250, ES_RCPT_OK, "Ok");
}

/*
 * resolve_rcpt - map a forward-path to a mailbox in the spool, or answer
 * why not: unknown domain, unknown user, or a name the spool refuses.
 */
static int
resolve_rcpt(struct session *s, const struct addr_path *p, struct rcpt *r)
{
	const struct conf	*c = s->conf;
	const char		*domain = p->domain;
	char			 addr[ESC_MAX];
	int			 aliased;

	/* A quoted local part may hold '"', '\' and, with SMTPUTF8, UTF-8. */
	escape(p->addr, strlen(p->addr), addr, sizeof(addr));

	if (*domain == '\0')		/* bare <postmaster>, RFC 5321 4.5.1 */
		domain = conf_postmaster_domain(c);
	else if (!conf_domain_ok(c, domain)) {
		reply(s, 550, ES_RELAY, "<%s>: Relay access denied", addr);
		return -1;
	}
	snprintf(r->addr, sizeof(r->addr), "%s", p->addr);
	aliased = conf_alias(c, p->local, domain, r->local, sizeof(r->local),
	    r->domain, sizeof(r->domain));
	if (!aliased) {
		snprintf(r->local, sizeof(r->local), "%s", p->local);
		snprintf(r->domain, sizeof(r->domain), "%s", domain);
	}
	if (!aliased && strcmp(r->local, "postmaster") != 0 &&
	    !conf_mailbox_known(c, r->local, r->domain)) {
		reply(s, 550, ES_NO_USER, "<%s>: User unknown", addr);
		return -1;
	}
	if (!store_name_ok(r->local) || !store_name_ok(r->domain)) {
		reply(s, 550, ES_BAD_RCPT, "<%s>: Mailbox name not allowed",
		    addr);
		return -1;
	}
	return 0;
}

static void
cmd_data(struct session *s, char *args)
{
	int	 bad_eol = 0, long_line = 0;
	enum io	 r;

	(void)args;
	if (txn_open_message(s) == -1) {
		err_store(s, errno);
		return;
	}
	reply(s, 354, NULL, "End data with <CR><LF>.<CR><LF>");
	data_begin(s);
	if ((r = data_read(s, &bad_eol, &long_line)) != IO_OK) {
		txn_free(s);
		if (r == IO_TIMEOUT)
			die_timeout(s, "data", "Timeout reading message data");
		else
			enter(s, STATE_QUIT);
		return;
	}
	/* The message is read to its end before any refusal: in sync. */
	s->txn->body.bad |= bad_eol;
	s->txn->body.long_line = long_line;
	txn_finish(s);
	enter(s, STATE_READY);
}

/*
 * data_begin - DATA or a BDAT chunk starts: its deadline counts from now.
 */
static void
data_begin(struct session *s)
{
	s->data_ms = now_ms();
	s->data_octets = 0;
}

/*
 * data_read - decode DATA up to CRLF.CRLF into the body filter.  The
 * decoder's state is the bytes seen since the last complete line:
 *
 *	BOL	nothing yet (data starts here, after the DATA line's CRLF)
 *	TEXT	some text
 *	CR	text, then CR
 *	DOT	"."
 *	DOTCR	".", CR
 *
 * Only CRLF "." CRLF ends the data.  A bare LF or bare CR anywhere marks
 * the message bad and is not a line end, so ".\n" and "\n.\r\n" never end
 * the data and nothing after them runs as a command (SMTP smuggling).
 */
static enum io
data_read(struct session *s, int *bad_eol, int *long_line)
{
	enum { BOL, TEXT, CR, DOT, DOTCR } st = BOL;
	char	 out[2 * 4096];
	size_t	 col = 0, o, n;
	int	 c, r;

	for (;;) {
		if (s->ipos == s->ilen) {
			if ((r = fill(s, WAIT_DATA)) <= 0)
				return r == FILL_TIMEOUT ? IO_TIMEOUT : IO_EOF;
		}
		n = s->ilen - s->ipos;
		if (n > sizeof(out) / 2)
			n = sizeof(out) / 2;
		for (o = 0; n > 0; n--) {
			c = (unsigned char)s->ibuf[s->ipos++];
			switch (st) {
			case DOTCR:
				if (c == '\n') {
					body_feed(s, out, o);
					return IO_OK;
				}
				*bad_eol = 1;
				st = TEXT;
				/* FALLTHROUGH */
			case BOL:
			case TEXT:
				if (c == '\r')
					st = CR;
				else if (c == '.' && st == BOL)
					st = DOT;
				else {
					*bad_eol |= c == '\n';
					out[o++] = c;
					col++;
					st = TEXT;
				}
				break;
			case DOT:
				if (c == '\r')
					st = DOTCR;
				else {
					*bad_eol |= c == '\n';
					out[o++] = c;	/* the dot goes */
					col++;
					st = TEXT;
				}
				break;
			case CR:
				if (c == '\n') {
					out[o++] = '\r';
					out[o++] = '\n';
					*long_line |= col + 2 > TEXT_LINE_MAX;
					col = 0;
					st = BOL;
				} else {
					*bad_eol = 1;
					out[o++] = '\r';
					if (c == '\r')
						break;
					out[o++] = c;
					col += 2;
					st = TEXT;
				}
				break;
			}
		}
		body_feed(s, out, o);
	}
}

/*
 * cmd_bdat - RFC 3030 CHUNKING.  The chunk is counted, never parsed:
 * a refused chunk (order, size) is read to its end and dropped, so the
 * next command is where the client thinks it is.
 */
static void
cmd_bdat(struct session *s, char *args)
{
	unsigned long long	 len;
	char			*end;
	int			 last = 0, keep;
	enum io			 r;

	errno = 0;
	len = strtoull(args, &end, 10);
	if (!isdigit((unsigned char)*args) || errno == ERANGE ||
	    (*end != '\0' && strcasecmp(end, " LAST") != 0)) {
		/*
		 * Without a size there is no way to skip the chunk: what
		 * follows would be read as commands.  Say why, and go.
		 */
		reply(s, 501, ES_SYNTAX, "Syntax: BDAT <size> [LAST]");
		die(s, ES_PROTOCOL, "BDAT chunk cannot be skipped");
		return;
	}
	last = *end != '\0';
	keep = (s->state & (STATE_RCPT | STATE_BDAT)) != 0;
	data_begin(s);
	if (keep && s->txn->msg == NULL && txn_open_message(s) == -1) {
		err_store(s, errno);
		keep = 0;
		if ((r = chunk_read(s, len, 0)) != IO_OK)
			goto lost;
		txn_free(s);
		enter(s, STATE_READY);
		return;
	}
	if ((r = chunk_read(s, len, keep)) != IO_OK)
		goto lost;
	if (!keep) {
		reply(s, 503, ES_SEQUENCE, "Bad sequence of commands: %s",
		    s->state == STATE_GREETED ? "send HELO or EHLO first" :
		    s->state == STATE_READY ? "need MAIL command" :
		    "need RCPT command");
		return;
	}
	if (s->txn->body.over) {
		reply(s, 552, ES_TOO_BIG, "Message exceeds fixed limit of %"
		    PRIu64 " octets", s->conf->max_message_size);
		txn_free(s);
		enter(s, STATE_READY);
	} else if (last) {
		txn_finish(s);
		enter(s, STATE_READY);
	} else {
		enter(s, STATE_BDAT);
		reply(s, 250, ES_OK, "%llu octets received", len);
	}
	return;
lost:
	txn_free(s);
	if (r == IO_TIMEOUT)
		die_timeout(s, "bdat", "Timeout reading BDAT chunk");
	else
		enter(s, STATE_QUIT);
}

/*
 * chunk_read - pass len octets of input to the body filter, or drop them.
 */
static enum io
chunk_read(struct session *s, uint64_t len, int keep)
{
	size_t	 n;
	int	 r;

	while (len > 0) {
		if (s->ipos == s->ilen && (r = fill(s, WAIT_DATA)) <= 0)
			return r == FILL_TIMEOUT ? IO_TIMEOUT : IO_EOF;
		n = s->ilen - s->ipos;
		if (n > len)
			n = len;
		if (keep)
			body_feed(s, s->ibuf + s->ipos, n);
		s->ipos += n;
		len -= n;
	}
	return IO_OK;
}

/*
 * txn_open_message - start the stored message: Return-Path and our
 * Received: line (RFC 5321 4.4) go first.
 */
static int
txn_open_message(struct session *s)
{
	struct txn		*t = s->txn;
	struct store_rcpt	 first;
	char			 hdr[2048], date[64], from[1024], lit[80];
	char			 note[2 * HELO_MAX + 1];
	time_t			 now = time(NULL);
	int			 n;

	first.domain = t->rcpt[0].domain;
	first.local = t->rcpt[0].local;
	if ((t->msg = store_create(s->store, &first)) == NULL)
		return -1;
	t->body.in_header = 1;
	if (s->peer[0] == '\0')
		snprintf(lit, sizeof(lit), "unknown");
	else
		snprintf(lit, sizeof(lit), "[%s%s]",
		    strchr(s->peer, ':') ? "IPv6:" : "", s->peer);
	/* RFC 5321 4.4: From-domain is a Domain or an address literal. */
	if (addr_helo_is_domain(s->helo))
		snprintf(from, sizeof(from), "%s%s%s%s", s->helo,
		    s->peer[0] ? " (" : "", s->peer[0] ? lit : "",
		    s->peer[0] ? ")" : "");
	else
		snprintf(from, sizeof(from), "%s (HELO %s)", lit,
		    comment_escape(s->helo, note, sizeof(note)));
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z",
	    localtime(&now));
	n = snprintf(hdr, sizeof(hdr),
	    "Return-Path: <%s>\n"
	    "Received: from %s\n"
	    "\tby %s (smtpd) with %s id %s%s%s%s;\n"
	    "\t%s\n",
	    t->from, from, s->conf->hostname,
	    t->utf8 ? "UTF8SMTP" : s->esmtp ? "ESMTP" : "SMTP",
	    store_id(t->msg), t->nrcpt == 1 ? "\n\tfor <" : "",
	    t->nrcpt == 1 ? t->rcpt[0].addr : "", t->nrcpt == 1 ? ">" : "",
	    date);
	store_write(t->msg, hdr, (size_t)n < sizeof(hdr) ? (size_t)n :
	    sizeof(hdr) - 1);
	return 0;
}

/*
 * txn_finish - the client has sent the whole message: refuse it, or
 * commit it and only then say 250.  A session that can no longer answer
 * stores nothing: a 250 that is never read is a duplicate delivery.
 */
static void
txn_finish(struct session *s)
{
	struct txn		*t = s->txn;
	struct body		*b = &t->body;
	struct store_rcpt	*sr;
	char			 id[64];
	size_t			 i;

	if (b->cr && !b->over) {
		body_emit(s, "\r", 1);	/* a BDAT message ending in CR */
		b->bad = 1;
	}
	if (s->broken)
		;
	else if (b->over)
		reply(s, 552, ES_TOO_BIG, "Message exceeds fixed limit of %"
		    PRIu64 " octets", s->conf->max_message_size);
	else if (b->bad)
		reply(s, 550, ES_BAD_CONTENT, "NUL, bare CR or bare LF in "
		    "message (RFC 5321 2.3.8)");
	else if (b->long_line)
		reply(s, 550, ES_LONG_LINE,
		    "Text line longer than %d octets (RFC 5321 4.5.3.1.6)",
		    TEXT_LINE_MAX);
	else if (b->received > MAX_RECEIVED)
		reply(s, 554, ES_LOOP, "Too many Received: headers (%u): "
		    "mail loop", b->received);
	else if ((sr = calloc(t->nrcpt, sizeof(*sr))) == NULL)
		err_store(s, errno);
	else {
		for (i = 0; i < t->nrcpt; i++) {
			sr[i].domain = t->rcpt[i].domain;
			sr[i].local = t->rcpt[i].local;
		}
		snprintf(id, sizeof(id), "%s", store_id(t->msg));
		if (store_commit(t->msg, sr, t->nrcpt) == -1)
			err_store(s, errno);
		else
			txn_accepted(s, id);
		t->msg = NULL;
		free(sr);
	}
	txn_free(s);
}

/*
 * txn_accepted - the message is on disk: log it, say so, and start the
 * junk-command count afresh (a client that delivers is no loiterer).
 */
static void
txn_accepted(struct session *s, const char *id)
{
	char	 from[ESC_MAX], helo[ESC_MAX];

	s->messages++;
	s->junk = 0;
	log_info("%s event=accept id=%s peer=%s helo=%s from=\"<%s>\" "
	    "rcpts=%zu size=%" PRIu64, s->id, id,
	    s->peer[0] ? s->peer : "unknown",
	    escape(s->helo, strlen(s->helo), helo, sizeof(helo)),
	    escape(s->txn->from, strlen(s->txn->from), from, sizeof(from)),
	    s->txn->nrcpt, s->txn->body.size);
	reply(s, 250, ES_OK, "Ok: queued as %s", id);
}

/*
 * body_feed - the message in CRLF form, as the client meant it.  Counts
 * the size, counts Received: headers, notes NUL and bare CR or LF (RFC
 * 5322 2.3 allows neither), and stores it with LF line ends.
 */
static void
body_feed(struct session *s, const char *p, size_t n)
{
	struct body	*b = &s->txn->body;
	const char	*span = p;
	size_t		 i;

	b->size += n;
	if (b->size > s->conf->max_message_size)
		b->over = 1;
	if (b->over)
		return;		/* read on to the end; store no more */
	for (i = 0; i < n; i++) {
		/* One rule for DATA and BDAT: lines end in CRLF, no NUL. */
		if (p[i] == '\0' || (p[i] == '\n' && !b->cr))
			b->bad = 1;
		if (b->cr && p[i] != '\n') {
			body_emit(s, "\r", 1);	/* a CR that was not CRLF */
			b->bad = 1;
		}
		b->cr = 0;
		if (p[i] == '\r') {
			body_emit(s, span, p + i - span);
			span = p + i + 1;
			b->cr = 1;
			continue;
		}
		if (!b->in_header)
			continue;
		if (p[i] == '\n') {
			b->in_header = b->col != 0;
			b->col = 0;
		} else if (b->col < sizeof(b->head)) {
			b->head[b->col++] = p[i];
			if (b->col == sizeof(b->head) &&
			    strncasecmp(b->head, "Received:", 9) == 0)
				b->received++;
		} else
			b->col++;
	}
	body_emit(s, span, p + n - span);
}

static void
body_emit(struct session *s, const char *p, size_t n)
{
	if (n > 0)
		store_write(s->txn->msg, p, n);
}

static void
cmd_rset(struct session *s, char *args)
{
	(void)args;
	txn_free(s);
	if (s->state != STATE_GREETED)
		enter(s, STATE_READY);
	reply(s, 250, ES_OK, "Ok");
}

static void
cmd_noop(struct session *s, char *args)
{
	(void)args;
	reply(s, 250, ES_OK, "Ok");
}

static void
cmd_quit(struct session *s, char *args)
{
	(void)args;
	reply(s, 221, ES_OK, "%s closing connection", s->conf->hostname);
	enter(s, STATE_QUIT);
}

static void
cmd_vrfy(struct session *s, char *args)
{
	(void)args;
	/* RFC 5321 3.5.3: 252 when we will not say, but will accept. */
	reply(s, 252, ES_VRFY, "Cannot VRFY user, but will accept message");
}

static void
cmd_expn(struct session *s, char *args)
{
	(void)args;
	reply(s, 502, ES_SEQUENCE, "EXPN not implemented");
}

static void
cmd_help(struct session *s, char *args)
{
	(void)args;
	reply(s, 214, ES_OK, "Commands: HELO EHLO MAIL RCPT DATA BDAT RSET "
	    "NOOP QUIT VRFY HELP");
}

static void
cmd_unknown(struct session *s, char *args)
{
	(void)args;
	reply(s, 500, ES_UNKNOWN, "Command unrecognized");
}

/*
 * txn_free - end the transaction, dropping any message being written.
 */
static void
txn_free(struct session *s)
{
	if (s->txn == NULL)
		return;
	store_abort(s->txn->msg);
	free(s->txn->rcpt);
	free(s->txn);
	s->txn = NULL;
}

/*
 * err_store - the store failed: 452 when the disk is full, else 451.
 */
static void
err_store(struct session *s, int saved)
{
	if (saved == ENOSPC || saved == EDQUOT)
		reply(s, 452, ES_NOSPACE, "Insufficient system storage");
	else
		reply(s, 451, ES_LOCAL, "Local error in processing, "
		    "try again later");
}

/*
 * die - answer 421 and end the session.
 */
static void
die(struct session *s, const char *esc, const char *text)
{
	reply(s, 421, esc, "%s %s, closing connection",
	    s->conf->hostname, text);
	enter(s, STATE_QUIT);
}

/*
 * die_timeout - a deadline passed in phase ("command", "data", "bdat"):
 * the session's own, or the wait's.
 */
static void
die_timeout(struct session *s, const char *phase, const char *text)
{
	int	 whole = now_ms() >= session_end(s);

	log_info("%s event=timeout phase=%s stress=%s", s->id,
	    whole ? "session" : phase, stressed(s) ? "yes" : "no");
	die(s, ES_TIMEOUT, whole ? "Session time limit exceeded" : text);
}

static void
reply(struct session *s, int code, const char *esc, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vreply(s, code, 0, esc, fmt, ap);
	va_end(ap);
}

/*
 * reply_more - a line of a multi-line reply ("250-...").
 */
static void
reply_more(struct session *s, int code, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vreply(s, code, 1, NULL, fmt, ap);
	va_end(ap);
}

/*
 * vreply - the only writer of replies.  Formats the whole line first
 * and copies it into the output buffer (flushing a full buffer first),
 * counts 5xx toward max-errors, and logs every refusal with the command
 * escaped.  After a failed write nothing more is said.
 */
static void
vreply(struct session *s, int code, int more, const char *esc,
    const char *fmt, va_list ap)
{
	char	 text[512], line[REPLY_MAX];
	int	 n;

	vsnprintf(text, sizeof(text), fmt, ap);
	n = snprintf(line, sizeof(line), "%d%c%s%s%s\r\n", code,
	    more ? '-' : ' ', esc ? esc : "", esc ? " " : "", text);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = sizeof(line) - 1;	/* cannot happen: text is shorter */
	if (s->olen + n > sizeof(s->obuf))
		flush(s);
	if (!s->broken) {
		memcpy(s->obuf + s->olen, line, n);
		s->olen += n;
	}
	if (code >= 500)
		s->errors++;
	if (code >= 400)
		log_info("%s event=reject peer=%s reply=\"%d %s %s\" "
		    "command=\"%s\"", s->id, s->peer[0] ? s->peer : "unknown",
		    code, esc ? esc : "", text, s->cmd);
	else
		log_debug("%s >>> %.*s", s->id, n - 2, line);
}

/*
 * escape - the one way client octets reach a reply or a log line: any
 * octet outside printable ASCII, and '"' and '\', becomes \xHH, so that
 * a quoted log value cannot be closed early and a reply stays one line.
 * in may hold NULs (inlen says where it ends); out is cut to fit.
 */
static const char *
escape(const char *in, size_t inlen, char *out, size_t outsz)
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

/*
 * now_ms - the monotonic clock in milliseconds: deadlines must not move
 * when someone sets the date.
 */
static long long
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/*
 * stressed - is the pool nearly full right now?
 */
static int
stressed(const struct session *s)
{
	return s->stress != NULL && atomic_load(s->stress) != 0;
}

/*
 * max_errors - max-errors as it stands now: under stress a tenth, at
 * least 1, so that a client that mistyped one recipient still delivers
 * to the others.
 */
static unsigned
max_errors(const struct session *s)
{
	unsigned	 n = s->conf->max_errors;

	if (!stressed(s))
		return n;
	return n / 10 > 0 ? n / 10 : 1;
}

/*
 * max_junk - max-junk-commands as it stands now (0: no limit): under
 * stress one per message, since a client that delivers needs none.
 */
static unsigned
max_junk(const struct session *s)
{
	unsigned	 n = s->conf->max_junk_commands;

	return stressed(s) && n != 0 ? 1 : n;
}

/*
 * session_end - the session's deadline as it stands now.  Under stress a
 * whole session gets a few stress-timeouts: one that sends a command
 * just in time, again and again, is cut all the same, and one that
 * began before the stress may be cut at once.
 */
static long long
session_end(const struct session *s)
{
	long long	 cap;

	if (!stressed(s))
		return s->end_ms;
	cap = s->start_ms + 1000LL * STRESS_SESSION * s->conf->stress_timeout;
	return cap < s->end_ms ? cap : s->end_ms;
}

/*
 * wait_deadline - when the wait that began at start must end.  Asked
 * again at each tick, because stress can begin or end meanwhile.
 */
static long long
wait_deadline(struct session *s, enum wait w, long long start)
{
	const struct conf	*c = s->conf;
	long long		 d, t, end = session_end(s);
	int			 st = stressed(s);

	switch (w) {
	case WAIT_GREET:
		/* Stress that begins during the pause ends it: greet now. */
		d = st ? start : start + 1000LL * c->greet_pause;
		break;
	case WAIT_DATA:
		/* Plus the time the octets so far needed at min-data-rate. */
		t = st ? c->stress_timeout : c->data_timeout;
		d = start + 1000LL * t +
		    (long long)(s->data_octets * 1000 / c->min_data_rate);
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
 * wait_fd - wait for fd to be ready for ev until the deadline of w, for
 * a wait that began at start.  1 when ready (or in error: the caller's
 * read or write says which), 0 at the deadline, -2 when the stop flag
 * is up and the wait is between commands.  Signals do not end the wait.
 */
static int
wait_fd(struct session *s, int fd, short ev, enum wait w, long long start)
{
	struct pollfd	 pfd = { fd, ev, 0 };
	long long	 now, d;
	int		 r, ms;

	for (;;) {
		if ((w == WAIT_COMMAND || w == WAIT_GREET) && s->stop != NULL &&
		    *s->stop)
			return -2;
		now = now_ms();
		d = wait_deadline(s, w, start);
		if (now >= d)
			return 0;
		ms = d - now > INT_MAX ? INT_MAX : (int)(d - now);
		if (s->stress != NULL && ms > TICK_MS)
			ms = TICK_MS;
		r = poll(&pfd, 1, ms);
		if (r > 0)
			return 1;
		if (r == -1 && errno != EINTR)
			return 1;	/* let read() or write() say it */
	}
}

/*
 * flush - write the pending replies within the write deadline.  A
 * client that stops reading, or has gone, ends the session, and from
 * then on nothing more is said or stored.
 */
static int
flush(struct session *s)
{
	long long	 start = now_ms();
	size_t		 off = 0;
	ssize_t		 n;
	int		 late = 0;

	if (s->broken)
		return -1;
	while (off < s->olen) {
		late = wait_fd(s, s->out, POLLOUT, WAIT_WRITE, start) == 0;
		if (late)
			break;
		n = write_some(s->out, s->obuf + off, s->olen - off);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		off += n;
	}
	if (off < s->olen) {
		if (late)	/* else the client is gone: nothing to say */
			log_info("%s event=timeout phase=write unsent=%zu",
			    s->id, s->olen - off);
		s->olen = 0;
		s->broken = 1;
		enter(s, STATE_QUIT);
		return -1;
	}
	s->olen = 0;
	return 0;
}

/*
 * write_some - write what fd takes now, never waiting: poll() said it
 * is writable, but a blocking write of more than it has room for would
 * wait with no deadline.  A socket is asked not to wait; a pipe (tests,
 * wrappers) is promised PIPE_BUF octets of room by POLLOUT.
 */
static ssize_t
write_some(int fd, const char *p, size_t n)
{
	ssize_t	 r;

	if ((r = send(fd, p, n, MSG_DONTWAIT)) != -1 || errno != ENOTSOCK)
		return r;
	return write(fd, p, n > PIPE_BUF ? PIPE_BUF : n);
}

/*
 * fill - the input is used up: flush replies (this is where a pipelined
 * batch gets its answers), then wait for more until the deadline of w.
 * Returns the octets read, FILL_EOF at EOF or error, FILL_TIMEOUT, or,
 * between commands, FILL_STOP once the stop flag is up.
 */
static int
fill(struct session *s, enum wait w)
{
	ssize_t		 n;
	int		 r;

	if (flush(s) == -1)
		return FILL_EOF;
	s->ipos = s->ilen = 0;
	for (;;) {
		/*
		 * A command's time runs from when read_line() began, data's
		 * from the DATA or BDAT line: never from the last octet.
		 */
		r = wait_fd(s, s->in, POLLIN, w,
		    w == WAIT_COMMAND ? s->wait_ms : s->data_ms);
		if (r == 0)
			return FILL_TIMEOUT;
		if (r == -2)
			return FILL_STOP;
		n = read(s->in, s->ibuf, sizeof(s->ibuf));
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return FILL_EOF;
		s->ilen = n;
		if (w == WAIT_DATA)
			s->data_octets += n;
		return n;
	}
}

/*
 * read_line - the next command line into s->line, without its CRLF (a
 * bare LF is taken too, as telnet users send it).  A line over
 * CMD_LINE_MAX is read to its end and dropped.
 */
static enum io
read_line(struct session *s, size_t *lenp)
{
	size_t	 len = 0, avail, take;
	char	*start, *lf;
	int	 toolong = 0, r;

	s->line[0] = '\0';	/* a reply now is to no command: log none */
	s->cmd[0] = '\0';
	s->wait_ms = now_ms();
	for (;;) {
		start = s->ibuf + s->ipos;
		avail = s->ilen - s->ipos;
		lf = memchr(start, '\n', avail);
		take = lf ? (size_t)(lf - start) + 1 : avail;
		if (!toolong && len + take > CMD_LINE_MAX)
			toolong = 1;
		if (!toolong) {
			memcpy(s->line + len, start, take);
			len += take;
		}
		s->ipos += take;
		if (lf != NULL)
			break;
		if ((r = fill(s, WAIT_COMMAND)) <= 0)
			return r == FILL_TIMEOUT ? IO_TIMEOUT :
			    r == FILL_STOP ? IO_STOP : IO_EOF;
	}
	if (toolong) {
		s->line[0] = '\0';
		return IO_LONG;
	}
	len--;				/* the LF */
	if (len > 0 && s->line[len - 1] == '\r')
		len--;
	s->line[len] = '\0';
	*lenp = len;
	return IO_OK;
}
