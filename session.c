/*
 * session.c - the SMTP dialogue for one connection.
 *
 * A session is a loop: flush pending replies when the input runs dry,
 * read one command line, look its verb up in the command table, check
 * that the current state allows it, run it.  Replies are buffered and
 * written only before a blocking read, which is what makes PIPELINING
 * (RFC 2920) correct: a client that sends a batch gets the batch's
 * replies in one write.  What MAIL and RCPT carry is parsed by addr.c,
 * the address grammar; what a transaction means (recipients, the
 * message, the commit) is txn.c's business.  This file decides what to
 * answer, and every answer is a line of the reply table below.
 *
 * The message body streams from the socket through the DATA decoder
 * (dot-unstuffing, end-of-data and bare CR/LF detection) or the BDAT
 * byte counter into the transaction.  Memory use does not depend on the
 * message size.
 *
 * Every 5xx counts toward max-errors, and every command that does not
 * move mail along (NOOP, RSET, VRFY, EXPN, HELP, a second HELO/EHLO)
 * toward max-junk-commands.  A 421 always ends the session.
 *
 * Reading and writing, each within its deadline, is wire.c's job: the
 * session asks for a line or for data and is told when time ran out.
 *
 * Client octets reach a reply or a log line only through log_escape().
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "auth.h"
#include "conf.h"
#include "fail.h"
#include "log.h"
#include "session.h"
#include "txn.h"
#include "wire.h"

/*
 * RFC 5321 4.5.3.1.4: 512 octets for a command line, raised by the
 * extensions we advertise: SIZE (RFC 1870) by 26, BODY (RFC 6152) by 14,
 * SMTPUTF8 (RFC 6531) by 10.
 */
#define CMD_LINE_MAX	(512 + 26 + 14 + 10)
#define HELO_MAX	ADDR_DOMAIN_MAX
#define REPLY_MAX	600		/* one reply line, CRLF included */
#define ESC_MAX		256		/* an escaped field in a log line */

/*
 * Every reply we send but the EHLO list, on one screen, as qmail keeps
 * its replies.  Enhanced status codes are RFC 3463's (5.6.7: RFC 6531).
 * The text is a printf format; the comment names what reply() is given
 * for it.  A 421 reads "421 X.Y.Z HOSTNAME text, closing connection" and
 * ends the session (RFC 5321 3.8).
 */
enum reply_id {
	R_GREETING, R_HELO, R_EHLO, R_ACK, R_SENDER_OK, R_RCPT_OK, R_QUEUED,
	R_CHUNK_OK, R_BYE, R_VRFY, R_HELP, R_DATA_GO,
	R_NO_SPACE, R_LOCAL, R_TOO_MANY_RCPTS,
	R_LONG_COMMAND, R_NUL, R_UNKNOWN, R_EXPN, R_SEQUENCE, R_SYNTAX,
	R_UTF8_VALUE, R_BAD_SENDER, R_BAD_RCPT, R_PARAM, R_BODY_TYPE,
	R_ASCII_MAIL, R_ASCII_RCPT, R_SIZE, R_TOO_BIG, R_RELAY, R_NO_USER,
	R_BAD_NAME, R_BAD_EOL, R_LONG_LINE, R_LOOP, R_EARLY_TALKER,
	R_CROWDED, R_UNAVAILABLE, R_ERRORS, R_JUNK, R_SHUTDOWN, R_LOST_SYNC,
	R_TIMEOUT_COMMAND, R_TIMEOUT_DATA, R_TIMEOUT_BDAT, R_TIMEOUT_SESSION,
	R_INJECTED_421, R_SPF_FAIL, R_SPF_TEMP
};

static const struct reply_text {
	int		 code;
	const char	*esc;
	const char	*text;
} replies[] = {
	[R_GREETING]	= { 220, NULL, "%s ESMTP smtpd" },	/* hostname */
	[R_HELO]	= { 250, NULL, "%s" },			/* hostname */
	[R_EHLO]	= { 250, NULL, "%s Hello %s" },	/* hostname, helo */
	[R_ACK]		= { 250, "2.0.0", "Ok" },
	[R_SENDER_OK]	= { 250, "2.1.0", "Ok" },
	[R_RCPT_OK]	= { 250, "2.1.5", "Ok" },
	[R_QUEUED]	= { 250, "2.0.0", "Ok: queued as %s" },	/* id */
	[R_CHUNK_OK]	= { 250, "2.0.0", "%llu octets received" },
	[R_BYE]		= { 221, "2.0.0", "%s closing connection" },
	/* RFC 5321 3.5.3: 252 when we will not say, but will accept. */
	[R_VRFY]	= { 252, "2.5.0",
	    "Cannot VRFY user, but will accept message" },
	[R_HELP]	= { 214, "2.0.0",
	    "Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP" },
	[R_DATA_GO]	= { 354, NULL, "End data with <CR><LF>.<CR><LF>" },
	[R_NO_SPACE]	= { 452, "4.3.1", "Insufficient system storage" },
	[R_LOCAL]	= { 451, "4.3.0",
	    "Local error in processing, try again later" },
	[R_TOO_MANY_RCPTS] = { 452, "4.5.3", "Too many recipients" },
	[R_LONG_COMMAND] = { 500, "5.5.6", "Line too long (max %d)" },
	[R_NUL]		= { 500, "5.5.2", "NUL character in command" },
	[R_UNKNOWN]	= { 500, "5.5.2", "Command unrecognized" },
	[R_EXPN]	= { 502, "5.5.1", "EXPN not implemented" },
	[R_SEQUENCE]	= { 503, "5.5.1", "Bad sequence of commands: %s" },
	[R_SYNTAX]	= { 501, "5.5.4", "Syntax: %s" },	/* usage */
	[R_UTF8_VALUE]	= { 501, "5.5.4", "SMTPUTF8 takes no value" },
	[R_BAD_SENDER]	= { 501, "5.1.7", "Bad sender address syntax" },
	[R_BAD_RCPT]	= { 501, "5.1.3", "Bad recipient address syntax" },
	[R_PARAM]	= { 555, "5.5.4", "Unsupported parameter %s" },
	[R_BODY_TYPE]	= { 555, "5.5.4", "Unsupported BODY type" },
	[R_ASCII_MAIL]	= { 553, "5.6.7",
	    "Non-ASCII address needs the SMTPUTF8 parameter" },
	[R_ASCII_RCPT]	= { 553, "5.6.7",
	    "Non-ASCII address needs MAIL ... SMTPUTF8" },
	[R_SIZE]	= { 552, "5.3.4",		/* max-message-size */
	    "Message size exceeds fixed limit of %" PRIu64 " octets" },
	[R_TOO_BIG]	= { 552, "5.3.4",		/* max-message-size */
	    "Message exceeds fixed limit of %" PRIu64 " octets" },
	[R_RELAY]	= { 550, "5.7.1", "<%s>: Relay access denied" },
	[R_NO_USER]	= { 550, "5.1.1", "<%s>: User unknown" },
	[R_BAD_NAME]	= { 550, "5.1.3", "<%s>: Mailbox name not allowed" },
	[R_BAD_EOL]	= { 550, "5.6.0",
	    "NUL, bare CR or bare LF in message (RFC 5321 2.3.8)" },
	[R_LONG_LINE]	= { 550, "5.5.6",
	    "Text line longer than %d octets (RFC 5321 4.5.3.1.6)" },
	[R_LOOP]	= { 554, "5.4.6",
	    "Too many Received: headers (%u): mail loop" },
	[R_EARLY_TALKER] = { 554, "5.5.1",
	    "Protocol error: talking before the greeting" },
	[R_CROWDED]	= { 421, "4.7.0",
	    "Too many connections from your address" },
	[R_UNAVAILABLE]	= { 421, "4.3.0",
	    "Mail system unavailable, try again later" },
	[R_ERRORS]	= { 421, "4.7.0", "Too many errors" },
	[R_JUNK]	= { 421, "4.7.0", "Too many commands without mail" },
	[R_SHUTDOWN]	= { 421, "4.3.2", "Service shutting down" },
	[R_LOST_SYNC]	= { 421, "4.5.0", "BDAT chunk cannot be skipped" },
	[R_TIMEOUT_COMMAND] = { 421, "4.4.2", "Timeout waiting for a command" },
	[R_TIMEOUT_DATA] = { 421, "4.4.2", "Timeout reading message data" },
	[R_TIMEOUT_BDAT] = { 421, "4.4.2", "Timeout reading BDAT chunk" },
	[R_TIMEOUT_SESSION] = { 421, "4.4.2", "Session time limit exceeded" },
	/* A "fail ... 421" rule; "fail ... reply" brings its own text. */
	[R_INJECTED_421] = { 421, "4.3.2", "Service not available" },
	/* spf reject: RFC 7372's codes; the text is auth.c's. */
	[R_SPF_FAIL]	= { 550, "5.7.23", "SPF %s check failed: %s" },
	[R_SPF_TEMP]	= { 451, "4.7.24",
	    "SPF check of %s could not be completed, try again later" }
};

/* What a refused transaction step is answered with. */
static const enum reply_id outcome_replies[] = {
	[TXN_OK]	= R_ACK,
	[TXN_RELAY]	= R_RELAY,
	[TXN_NO_USER]	= R_NO_USER,
	[TXN_BAD_NAME]	= R_BAD_NAME,
	[TXN_TOO_MANY]	= R_TOO_MANY_RCPTS,
	[TXN_TOO_BIG]	= R_TOO_BIG,
	[TXN_BAD_EOL]	= R_BAD_EOL,
	[TXN_LONG_LINE]	= R_LONG_LINE,
	[TXN_LOOP]	= R_LOOP,
	[TXN_NO_SPACE]	= R_NO_SPACE,
	[TXN_LOCAL]	= R_LOCAL
};

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

#define CMD_JUNK	0x1	/* counts toward max-junk-commands */

struct command;

struct session {
	const struct conf	*conf;
	struct store		*store;
	char			 peer[64];	/* "" when unknown */
	char			 logpeer[LOG_PEER_MAX];	/* as logged */
	char			 id[24];
	enum state		 state;
	char			 helo[HELO_MAX + 1];
	struct txn_client	 client;	/* peer, helo, esmtp */
	unsigned		 errors;
	unsigned		 junk;		/* since the last accepted message */
	unsigned		 messages;
	struct txn		*txn;
	char			 line[CMD_LINE_MAX + 1];
	char			 cmd[ESC_MAX];	/* the line, escaped, for logs */
	char			 rcpt[ESC_MAX];	/* the recipient this command
						   names, escaped; "" */
	const struct dns_server	*dns;		/* for SPF; NULL: none */
	struct auth		 auth;		/* this transaction's SPF */
	const struct command	*command;	/* the one running */
	int			 injected;	/* the reply being sent is a
						   "fail" rule's */
	int			 foreign;	/* its text is the DNS's */
	struct wire		 w;		/* the client's connection; last,
						   see session_run() */
};

/*
 * The session, one per process: a worker runs one session after another
 * in it.  It is not allocated per connection: calloc() zeroed its 75 KB
 * each time and free() gave them back to the system, the largest cost of
 * a small message.  session_run() clears everything in it but the
 * wire's buffers, and wire_init() resets their lengths: the buffers are
 * only ever read up to a length set in the session that reads them.
 */
static struct session	 the_session;
_Static_assert(offsetof(struct session, w) + sizeof(struct wire) ==
    sizeof(struct session), "the wire is the last field of a session");

struct command {
	const char	*verb;
	int		 states;	/* where the verb is allowed */
	enum args	 args;
	const char	*usage;		/* for 501 */
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

static void	 reply(struct session *, enum reply_id, ...);
static void	 reply_more(struct session *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	 emit(struct session *, int, int, const char *,
		    const char *);
static void	 log_reject(const struct session *, int, const char *,
		    const char *);
static void	 refuse(struct session *, enum txn_outcome, const char *);
static void	 out_of_order(struct session *, const struct command *);
static void	 timed_out(struct session *, const char *, enum reply_id);
static unsigned	 max_errors(const struct session *);
static unsigned	 max_junk(const struct session *);
static int	 greet_pause(struct session *);
static int	 inject(struct session *, enum fail_stage, const char *);
static int	 spf(struct session *, const struct addr_path *);
static void	 dispatch(struct session *, char *, size_t);
static const struct command *lookup(const char *, size_t);
static void	 enter(struct session *, enum state);
static const char *state_name(enum state);
static void	 end_txn(struct session *);
static int	 open_message(struct session *);
static void	 finish(struct session *, unsigned);
static void	 accepted(struct session *);
static void	 log_accept(const struct session *);
static size_t	 rcpt_pair(const struct rcpt *, char *, size_t);
static enum io	 data_read(struct session *, unsigned *);
static void	 data_pass(struct session *, const char *, const char *,
		    unsigned *);
static enum io	 chunk_read(struct session *, uint64_t, int);
static int	 parse_params(struct session *, char *, struct mailparams *);

/*
 * A HELO or EHLO after the first counts as junk too (dispatch() sees to
 * it): clients do not send two, loops that hold a worker do.
 */
static const struct command commands[] = {
	{ "HELO", STATE_ANY, ARGS_REQUIRED, "HELO <hostname>", NULL,
	    cmd_helo, 0 },
	{ "EHLO", STATE_ANY, ARGS_REQUIRED, "EHLO <hostname>", NULL,
	    cmd_ehlo, 0 },
	{ "MAIL", STATE_READY, ARGS_REQUIRED, "MAIL FROM:<address>",
	    "nested MAIL command", cmd_mail, 0 },
	{ "RCPT", STATE_MAIL | STATE_RCPT, ARGS_REQUIRED, "RCPT TO:<address>",
	    "need MAIL command", cmd_rcpt, 0 },
	{ "DATA", STATE_RCPT, ARGS_NONE, "DATA", "need RCPT command",
	    cmd_data, 0 },
	/* BDAT checks its own order: a refused chunk must still be read. */
	{ "BDAT", STATE_ANY, ARGS_REQUIRED, "BDAT <size> [LAST]", NULL,
	    cmd_bdat, 0 },
	{ "RSET", STATE_ANY, ARGS_NONE, "RSET", NULL, cmd_rset, CMD_JUNK },
	{ "NOOP", STATE_ANY, ARGS_OPTIONAL, NULL, NULL, cmd_noop, CMD_JUNK },
	{ "QUIT", STATE_ANY, ARGS_NONE, "QUIT", NULL, cmd_quit, 0 },
	{ "VRFY", STATE_ANY, ARGS_REQUIRED, "VRFY <address>", NULL, cmd_vrfy,
	    CMD_JUNK },
	{ "EXPN", STATE_ANY, ARGS_OPTIONAL, NULL, NULL, cmd_expn, CMD_JUNK },
	{ "HELP", STATE_ANY, ARGS_OPTIONAL, NULL, NULL, cmd_help, CMD_JUNK },
	{ NULL, STATE_ANY, ARGS_OPTIONAL, NULL, NULL, cmd_unknown, 0 }
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
	static pid_t		 pid;	/* sessions run in one process */
	const struct conf	*conf = env->conf;
	struct session		*s = &the_session;
	size_t			 len;
	enum io			 r;

	/* Every field before the wire; the wire clears its own. */
	memset(s, 0, offsetof(struct session, w));
	wire_init(&s->w, in, out, conf, env->stop, env->stress, s->id);
	s->conf = conf;
	s->store = env->store;
	snprintf(s->peer, sizeof(s->peer), "%s", env->peer ? env->peer : "");
	log_peer(s->peer, s->logpeer, sizeof(s->logpeer));
	if (pid == 0)
		pid = getpid();
	snprintf(s->id, sizeof(s->id), "%08llx%04x",
	    (unsigned long long)time(NULL) & 0xffffffffULL,
	    (unsigned)(pid * 31 + ++serial) & 0xffff);
	s->state = STATE_GREETED;
	s->client.peer = s->peer;
	s->client.helo = s->helo;
	s->client.verdict = s->auth.headers;
	s->dns = env->dns;
	if (env->crowded)	/* one log line, the reject: floods are fast */
		reply(s, R_CROWDED);
	else {
		log_info("%s event=connect peer=%s%s", s->id, s->logpeer,
		    wire_stressed(&s->w) ? " stress=yes" : "");
		if (s->store == NULL)
			reply(s, R_UNAVAILABLE);
		else if (greet_pause(s) == 0 &&
		    inject(s, FAIL_CONNECT, s->peer) == 0)
			reply(s, R_GREETING, conf->hostname);
	}
	while (s->state != STATE_QUIT && !s->w.broken) {
		s->rcpt[0] = '\0';	/* a refusal now names no recipient */
		if (s->errors >= max_errors(s)) {
			reply(s, R_ERRORS);
			break;
		}
		s->cmd[0] = '\0';	/* a reply now is to no command */
		r = wire_line(&s->w, s->line, sizeof(s->line), &len);
		if (r == IO_EOF)
			break;
		if (r == IO_STOP)
			reply(s, R_SHUTDOWN);
		else if (r == IO_TIMEOUT)
			timed_out(s, "command", R_TIMEOUT_COMMAND);
		else if (r == IO_LONG)
			reply(s, R_LONG_COMMAND, CMD_LINE_MAX);
		else
			dispatch(s, s->line, len);
	}
	wire_flush(&s->w);
	end_txn(s);
	if (!env->crowded)
		log_info("%s event=disconnect messages=%u errors=%u junk=%u",
		    s->id, s->messages, s->errors, s->junk);
	return s->w.broken ? -1 : 0;
}

/*
 * greet_pause - the early-talker check: wait greet-pause seconds before
 * the 220.  A client that speaks first is not an SMTP client that waits
 * for the greeting (RFC 5321 3.1): 554 and close.  Returns 0 to go on
 * greeting.
 */
static int
greet_pause(struct session *s)
{
	switch (wire_pause(&s->w)) {
	case 0:
		return 0;		/* quiet: a well-behaved client */
	case 1:
		reply(s, R_EARLY_TALKER);
		break;
	}
	enter(s, STATE_QUIT);		/* gone, or asked to stop: no 220 */
	return -1;
}

/*
 * spf - the SPF verdict on the sender (auth.c), for the headers and the
 * policy; 1 when the policy refuses the sender, after the reply.
 */
static int
spf(struct session *s, const struct addr_path *p)
{
	struct auth_in	 in;

	memset(&in, 0, sizeof(in));
	in.conf = s->conf;
	in.dns = s->dns;
	in.id = s->id;
	in.peer = s->peer;
	in.helo = s->helo;
	in.from = p->addr;
	in.from_domain = p->domain;
	in.end_ms = s->w.end_ms;
	in.stressed = wire_stressed(&s->w);
	switch (auth_check(&in, &s->auth)) {
	case AUTH_REFUSE:
		s->foreign = 1;
		reply(s, R_SPF_FAIL, p->addr[0] ? "MAIL FROM" : "HELO",
		    s->auth.exp);
		s->foreign = 0;
		return 1;
	case AUTH_DEFER:
		/* The identity that decides: <> is checked by HELO. */
		reply(s, R_SPF_TEMP, p->addr[0] ? p->domain : s->helo);
		return 1;
	default:
		return 0;
	}
}

/*
 * inject - ask the "fail" rules (fail.c) at stage, about subject (the
 * client's address, the HELO name, the sender, the recipient) or, at
 * data, eod and bdat, the transaction.  0: go on as usual (no rule, or
 * a delay that is over); 1: a rule answered in place of the command, or
 * ended the session.  An injected reply is the one reply whose text is
 * not in the table: the configuration's, never the client's.
 */
static int
inject(struct session *s, enum fail_stage stage, const char *subject)
{
	const struct fail_rule	*r;

	r = fail_match(s->conf->fail, stage, subject,
	    stage == FAIL_DATA || stage == FAIL_EOD || stage == FAIL_BDAT ?
	    s->txn : NULL);
	if (r == NULL)
		return 0;
	switch (r->action) {
	case FAIL_DELAY:
		log_info("%s event=inject stage=%s action=delay seconds=%u",
		    s->id, fail_stage_name(stage), r->seconds);
		switch (wire_delay(&s->w, r->seconds)) {
		case IO_OK:
		case IO_STOP:	/* answered; the stop comes after */
			return 0;
		case IO_TIMEOUT:
			timed_out(s, "command", R_TIMEOUT_SESSION);
			return 1;
		default:
			enter(s, STATE_QUIT);
			return 1;
		}
	case FAIL_DISCONNECT:
		log_info("%s event=inject stage=%s action=disconnect", s->id,
		    fail_stage_name(stage));
		enter(s, STATE_QUIT);
		return 1;
	case FAIL_421:
		s->injected = 1;
		reply(s, R_INJECTED_421);
		break;
	case FAIL_REPLY:
		s->injected = 1;
		emit(s, r->code, 0, r->esc[0] != '\0' ? r->esc : NULL, r->text);
		/* A 421 closes (RFC 5321 3.8); so does a refused greeting. */
		if (r->code == 421 || stage == FAIL_CONNECT)
			enter(s, STATE_QUIT);
		break;
	}
	s->injected = 0;
	return 1;
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
	log_escape(line, len, s->cmd, sizeof(s->cmd));
	if (log_verbose())
		log_debug("%s event=command line=\"%s\"", s->id, s->cmd);
	if (memchr(line, '\0', len) != NULL) {
		reply(s, R_NUL);
		return;
	}
	vlen = strcspn(line, " ");
	args = line + vlen;
	while (*args == ' ')
		args++;
	c = lookup(line, vlen);
	if ((c->flags & CMD_JUNK) ||
	    ((c->run == cmd_helo || c->run == cmd_ehlo) && s->helo[0] != '\0')) {
		junk = max_junk(s);
		if (++s->junk > junk && junk != 0) {
			reply(s, R_JUNK);
			return;
		}
	}
	if (c->verb != NULL && !(s->state & c->states)) {
		out_of_order(s, c);
		return;
	}
	if ((c->args == ARGS_NONE && *args != '\0') ||
	    (c->args == ARGS_REQUIRED && *args == '\0')) {
		reply(s, R_SYNTAX, c->usage);
		return;
	}
	s->command = c;
	c->run(s, args);
}

/*
 * lookup - the command table's entry for a verb; the last, unnamed one
 * for a verb we do not know.
 */
static const struct command *
lookup(const char *verb, size_t len)
{
	const struct command	*c;

	for (c = commands; c->verb != NULL; c++)
		if (len == strlen(c->verb) && strncasecmp(verb, c->verb,
		    len) == 0)
			break;
	return c;
}

/*
 * out_of_order - 503 for command c in this state, saying what is
 * missing.
 */
static void
out_of_order(struct session *s, const struct command *c)
{
	reply(s, R_SEQUENCE, s->state == STATE_GREETED ?
	    "send HELO or EHLO first" : s->state == STATE_BDAT ?
	    "BDAT in progress" : c->order);
}

/*
 * enter - the one place the state changes.
 */
static void
enter(struct session *s, enum state next)
{
	if (s->state == STATE_QUIT)
		return;		/* ending is for good */
	log_debug("%s event=state from=%s to=%s", s->id,
	    state_name(s->state), state_name(next));
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
 * only as a comment (see txn.c).
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

static void
cmd_helo(struct session *s, char *args)
{
	if (!helo_ok(args)) {
		reply(s, R_SYNTAX, s->command->usage);
		return;
	}
	if (inject(s, FAIL_HELO, args))
		return;
	end_txn(s);
	snprintf(s->helo, sizeof(s->helo), "%s", args);
	s->client.esmtp = 0;
	enter(s, STATE_READY);
	reply(s, R_HELO, s->conf->hostname);
}

static void
cmd_ehlo(struct session *s, char *args)
{
	if (!helo_ok(args)) {
		reply(s, R_SYNTAX, s->command->usage);
		return;
	}
	if (inject(s, FAIL_HELO, args))
		return;
	end_txn(s);
	snprintf(s->helo, sizeof(s->helo), "%s", args);
	s->client.esmtp = 1;
	enter(s, STATE_READY);
	reply_more(s, replies[R_EHLO].text, s->conf->hostname, s->helo);
	reply_more(s, "PIPELINING");
	reply_more(s, "SIZE %" PRIu64, s->conf->max_message_size);
	reply_more(s, "8BITMIME");
	/* RFC 6531 3.1: SMTPUTF8 goes with 8BITMIME. */
	reply_more(s, "SMTPUTF8");
	reply_more(s, "ENHANCEDSTATUSCODES");
	emit(s, 250, 0, NULL, "CHUNKING");
}

static void
cmd_mail(struct session *s, char *args)
{
	struct mailparams	 mp = { 0, 0, 0 };
	struct addr_path		 path;
	const char		*end;

	if (strncasecmp(args, "FROM:", 5) != 0) {
		reply(s, R_SYNTAX, s->command->usage);
		return;
	}
	args += 5;
	while (*args == ' ')	/* RFC 5321 forbids it; clients send it */
		args++;
	if (addr_parse_path(args, &path, ADDR_EMPTY_OK, &end) == -1 ||
	    (*end != '\0' && *end != ' ')) {
		reply(s, R_BAD_SENDER);
		return;
	}
	if (parse_params(s, args + (end - args), &mp) == -1)
		return;
	if (path.nonascii && !mp.utf8) {
		reply(s, R_ASCII_MAIL);
		return;
	}
	s->txn = txn_new(s->conf, s->store, &s->client, path.addr, mp.utf8);
	if (s->txn == NULL) {
		reply(s, R_LOCAL);
		return;
	}
	/* With the transaction open, so that a refusal's log names it. */
	if (inject(s, FAIL_MAIL, path.addr) || spf(s, &path)) {
		end_txn(s);
		return;
	}
	enter(s, STATE_MAIL);
	reply(s, R_SENDER_OK);
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
		if (pp->name == NULL || !s->client.esmtp) {
			reply(s, R_PARAM, log_escape(key, strlen(key), esc,
			    sizeof(esc)));
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

	errno = 0;
	if (val != NULL && isdigit((unsigned char)*val))
		mp->size = strtoull(val, &end, 10);
	if (val == NULL || !isdigit((unsigned char)*val) || *end != '\0') {
		reply(s, R_SYNTAX, "SIZE=<octets>");
		return -1;
	}
	if (errno == ERANGE || mp->size > s->conf->max_message_size) {
		reply(s, R_SIZE, s->conf->max_message_size);
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
		reply(s, R_BODY_TYPE);
		return -1;
	}
	return 0;
}

static int
param_smtputf8(struct session *s, struct mailparams *mp, const char *val)
{
	if (val != NULL) {
		reply(s, R_UTF8_VALUE);
		return -1;
	}
	mp->utf8 = 1;
	return 0;
}

static void
cmd_rcpt(struct session *s, char *args)
{
	struct addr_path	 path;
	enum txn_outcome	 o;
	const char		*end;
	char			 esc[ESC_MAX];

	if (strncasecmp(args, "TO:", 3) != 0) {
		reply(s, R_SYNTAX, s->command->usage);
		return;
	}
	args += 3;
	while (*args == ' ')
		args++;
	if (addr_parse_path(args, &path, ADDR_POSTMASTER, &end) == -1 ||
	    (*end != '\0' && *end != ' ')) {
		reply(s, R_BAD_RCPT);
		return;
	}
	/* A quoted local part may hold '"', '\' and, with SMTPUTF8, UTF-8. */
	log_escape(path.addr, strlen(path.addr), s->rcpt, sizeof(s->rcpt));
	while (*end == ' ')
		end++;
	if (*end != '\0') {
		reply(s, R_PARAM, log_escape(end, strlen(end), esc,
		    sizeof(esc)));
		return;
	}
	if (path.nonascii && !s->txn->utf8) {
		reply(s, R_ASCII_RCPT);
		return;
	}
	if (inject(s, FAIL_RCPT, path.addr))
		return;
	if ((o = txn_rcpt(s->txn, &path)) != TXN_OK) {
		refuse(s, o, s->rcpt);
		return;
	}
	enter(s, STATE_RCPT);
	reply(s, R_RCPT_OK);
}

static void
cmd_data(struct session *s, char *args)
{
	unsigned	 flaws = 0;
	enum io		 r;

	(void)args;
	if (inject(s, FAIL_DATA, NULL))
		return;		/* the transaction stays, as after any 4xx */
	if (open_message(s) == -1)
		return;
	reply(s, R_DATA_GO);
	wire_data_begin(&s->w);
	if ((r = data_read(s, &flaws)) != IO_OK) {
		/* Before the end: the 421's log line names the sender. */
		if (r == IO_TIMEOUT)
			timed_out(s, "data", R_TIMEOUT_DATA);
		else
			enter(s, STATE_QUIT);
		end_txn(s);
		return;
	}
	/* The message is read to its end before any refusal: in sync. */
	finish(s, flaws);
}

/*
 * data_read - decode DATA up to CRLF.CRLF into the transaction.  The
 * decoder's state is the octets seen since the last complete line:
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
 * What the octets passed on no longer show goes into *flaws.
 *
 * The input is scanned with memchr(), not an octet at a time: in TEXT the
 * next CR is looked for, and a LF before it is bare; every other state
 * looks at one octet.  What goes to the transaction is the input itself,
 * in spans, for it differs from the input only by what is dropped: the
 * dot of a dot-stuffed line, the final ".", CR, and a ".", CR at the
 * start of a line that no LF follows (a bare CR: the message is refused
 * anyway).  A state carries over from one read to the next, so a read
 * may end anywhere, inside CRLF or "." CRLF too.
 */
static enum io
data_read(struct session *s, unsigned *flaws)
{
	enum { BOL, TEXT, CR, DOT, DOTCR } st = BOL;
	const char	*in, *p, *end, *span, *cr;
	size_t		 col = 0, n;
	enum io		 r;

	for (;;) {
		if ((r = wire_data(&s->w, &in, &n)) != IO_OK)
			return r;
		end = in + n;
		/* [span, p) is passed on, unless a dot or CR is dropped. */
		for (p = span = in; p < end;) {
			switch (st) {
			case BOL:
				if (*p == '.') {
					data_pass(s, span, p, flaws);
					span = ++p;		/* the dot goes */
					st = DOT;
					break;
				}
				st = TEXT;
				/* FALLTHROUGH */
			case TEXT:
				if ((cr = memchr(p, '\r', end - p)) == NULL)
					cr = end;
				if (!(*flaws & TXN_FLAW_EOL) &&
				    memchr(p, '\n', cr - p) != NULL)
					*flaws |= TXN_FLAW_EOL;	/* bare LF */
				col += cr - p;
				p = cr;
				if (p < end) {
					p++;
					st = CR;
				}
				break;
			case CR:
				if (*p == '\n') {
					p++;
					if (col + 2 > TXN_LINE_MAX)
						*flaws |= TXN_FLAW_LONG;
					col = 0;
					st = BOL;
				} else {			/* bare CR */
					*flaws |= TXN_FLAW_EOL;
					st = TEXT;	/* *p is text, or a CR */
				}
				break;
			case DOT:
				if (*p == '\r') {
					span = ++p;	/* the CR goes too, for now */
					st = DOTCR;
					break;
				}
				if (*p == '\n')
					*flaws |= TXN_FLAW_EOL;
				p++;
				col++;
				st = TEXT;
				break;
			case DOTCR:
				if (*p == '\n') {		/* the end */
					wire_consume(&s->w, p + 1 - in);
					return IO_OK;
				}
				*flaws |= TXN_FLAW_EOL;		/* bare CR */
				st = TEXT;
				break;
			}
		}
		data_pass(s, span, end, flaws);
		wire_consume(&s->w, n);
	}
}

/*
 * data_pass - the decoded octets from p up to end go to the transaction.
 * A NUL is marked here, as a bare CR or LF is: the body filter refuses
 * it too, but the decoder does not leave it to the filter to know what
 * DATA may not hold.
 */
static void
data_pass(struct session *s, const char *p, const char *end,
    unsigned *flaws)
{
	if (p == end)
		return;
	if (memchr(p, '\0', end - p) != NULL)
		*flaws |= TXN_FLAW_EOL;
	txn_data(s->txn, p, end - p);
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
		reply(s, R_SYNTAX, s->command->usage);
		reply(s, R_LOST_SYNC);
		return;
	}
	last = *end != '\0';
	keep = (s->state & (STATE_RCPT | STATE_BDAT)) != 0;
	wire_data_begin(&s->w);
	if (keep && s->txn->msg == NULL && open_message(s) == -1) {
		if ((r = chunk_read(s, len, 0)) != IO_OK)
			goto lost;
		end_txn(s);
		return;
	}
	if ((r = chunk_read(s, len, keep)) != IO_OK)
		goto lost;
	if (!keep)	/* out of order is answered as DATA would be */
		out_of_order(s, lookup("DATA", 4));
	else if (s->txn->body.over) {
		refuse(s, TXN_TOO_BIG, NULL);
		end_txn(s);
	} else if (inject(s, FAIL_BDAT, NULL))
		end_txn(s);	/* RFC 3030 2: the transaction failed */
	else if (last)
		finish(s, 0);
	else {
		enter(s, STATE_BDAT);
		reply(s, R_CHUNK_OK, len);
	}
	return;
lost:
	if (r == IO_TIMEOUT)
		timed_out(s, "bdat", R_TIMEOUT_BDAT);
	else
		enter(s, STATE_QUIT);
	end_txn(s);
}

/*
 * chunk_read - pass len octets of input to the body filter, or drop them.
 */
static enum io
chunk_read(struct session *s, uint64_t len, int keep)
{
	const char	*in;
	size_t		 n;
	enum io		 r;

	while (len > 0) {
		if ((r = wire_data(&s->w, &in, &n)) != IO_OK)
			return r;
		if (n > len)
			n = len;
		if (keep)
			txn_data(s->txn, in, n);
		wire_consume(&s->w, n);
		len -= n;
	}
	return IO_OK;
}

/*
 * open_message - the data begins: the message is created (and the
 * trace headers written), or the client hears why not.  The
 * transaction ends with a failure.
 */
static int
open_message(struct session *s)
{
	enum txn_outcome	 o;

	if ((o = txn_open(s->txn)) == TXN_OK)
		return 0;
	refuse(s, o, NULL);
	end_txn(s);
	return -1;
}

/*
 * finish - the client has sent the whole message: refuse it, or commit
 * it and only then say 250.  A session that can no longer answer stores
 * nothing: a 250 that is never read is a duplicate delivery.
 */
static void
finish(struct session *s, unsigned flaws)
{
	enum txn_outcome	 o;

	/* A delay flushes: the wire may break in it. */
	if (!s->w.broken && inject(s, FAIL_EOD, NULL) == 0 && !s->w.broken) {
		if ((o = txn_commit(s->txn, flaws)) == TXN_OK)
			accepted(s);
		else
			refuse(s, o, NULL);
	}
	end_txn(s);
}

/*
 * accepted - the message is on disk: log it, say so, and start the
 * junk-command count afresh (a client that delivers is no loiterer).
 */
static void
accepted(struct session *s)
{
	s->messages++;
	s->junk = 0;
	log_accept(s);
	reply(s, R_QUEUED, s->txn->id);
}

/*
 * log_accept - event=accept, naming the message and every mailbox it
 * was stored in.  Recipients that do not fit in one line go on
 * event=accept-more lines that repeat the id and the sender, so that a
 * grep for a mailbox always finds a line that says from whom.
 */
static void
log_accept(const struct session *s)
{
	const struct txn	*t = s->txn;
	char			 from[ESC_MAX], helo[ESC_MAX];
	char			 line[LOG_LINE_MAX - 128], pair[4 * ESC_MAX];
	size_t			 i, len, head, n;

	log_escape(t->from, strlen(t->from), from, sizeof(from));
	/* helo_ok() lets '"' and '\\' through: quoted, as client text is. */
	snprintf(line, sizeof(line), "event=accept id=%s peer=%s helo=\"%s\" "
	    "from=\"<%s>\" rcpts=%zu size=%" PRIu64, t->id, s->logpeer,
	    log_escape(s->helo, strlen(s->helo), helo, sizeof(helo)),
	    from, t->nrcpt, t->body.size);
	len = strlen(line);
	for (i = 0; i < t->nrcpt; i++) {
		n = rcpt_pair(&t->rcpt[i], pair, sizeof(pair));
		if (len + n >= sizeof(line)) {
			log_info("%s %s", s->id, line);
			snprintf(line, sizeof(line), "event=accept-more id=%s "
			    "from=\"<%s>\"", t->id, from);
			len = strlen(line);
		}
		head = len;
		len += snprintf(line + head, sizeof(line) - head, "%s", pair);
	}
	log_info("%s %s", s->id, line);
}

/*
 * rcpt_pair - " rcpt=" and the mailbox r was stored in; " folder=" and
 * the Maildir++ folder, when a +tag chose one; then " rcpt-as=" and the
 * address as the client wrote it, when that is another (an alias, a
 * +tag, a bare postmaster, a U-label domain).  Returns the length.
 */
static size_t
rcpt_pair(const struct rcpt *r, char *out, size_t outsz)
{
	char	 box[ESC_MAX], mbox[ADDR_LOCAL_MAX + ADDR_DOMAIN_MAX + 2];
	char	 as[ESC_MAX], folder[ESC_MAX];
	size_t	 len;
	int	 n;

	snprintf(mbox, sizeof(mbox), "%s@%s", r->local, r->domain);
	log_escape(mbox, strlen(mbox), box, sizeof(box));
	n = snprintf(out, outsz, " rcpt=\"<%s>\"", box);
	if (n < 0 || (size_t)n >= outsz)
		return 0;
	len = n;
	if (r->folder[0] != '\0') {
		n = snprintf(out + len, outsz - len, " folder=\"%s\"",
		    log_escape(r->folder, strlen(r->folder), folder,
		    sizeof(folder)));
		if (n < 0 || (size_t)n >= outsz - len)
			return 0;
		len += n;
	}
	if (strcasecmp(mbox, r->addr) != 0) {
		n = snprintf(out + len, outsz - len, " rcpt-as=\"<%s>\"",
		    log_escape(r->addr, strlen(r->addr), as, sizeof(as)));
		if (n < 0 || (size_t)n >= outsz - len)
			return 0;
		len += n;
	}
	return len;
}

static void
cmd_rset(struct session *s, char *args)
{
	(void)args;
	end_txn(s);
	reply(s, R_ACK);
}

static void
cmd_noop(struct session *s, char *args)
{
	(void)args;
	reply(s, R_ACK);
}

static void
cmd_quit(struct session *s, char *args)
{
	(void)args;
	reply(s, R_BYE, s->conf->hostname);
	enter(s, STATE_QUIT);
}

static void
cmd_vrfy(struct session *s, char *args)
{
	(void)args;
	reply(s, R_VRFY);
}

static void
cmd_expn(struct session *s, char *args)
{
	(void)args;
	reply(s, R_EXPN);
}

static void
cmd_help(struct session *s, char *args)
{
	(void)args;
	reply(s, R_HELP);
}

static void
cmd_unknown(struct session *s, char *args)
{
	(void)args;
	reply(s, R_UNKNOWN);
}

/*
 * end_txn - end the transaction, if any, dropping any message being
 * written; a session that has said HELO or EHLO is ready for the next.
 */
static void
end_txn(struct session *s)
{
	txn_free(s->txn);
	s->txn = NULL;
	if (s->state != STATE_GREETED)
		enter(s, STATE_READY);
}

/*
 * refuse - the reply for what the transaction said; addr is the
 * recipient, escaped, for the replies that name it.
 */
static void
refuse(struct session *s, enum txn_outcome o, const char *addr)
{
	enum reply_id	 id = outcome_replies[o];

	switch (o) {
	case TXN_RELAY:
	case TXN_NO_USER:
	case TXN_BAD_NAME:
		reply(s, id, addr);
		break;
	case TXN_TOO_BIG:
		reply(s, id, s->conf->max_message_size);
		break;
	case TXN_LONG_LINE:
		reply(s, id, TXN_LINE_MAX);
		break;
	case TXN_LOOP:
		reply(s, id, s->txn->body.received);
		break;
	default:
		reply(s, id);
		break;
	}
}

/*
 * timed_out - a deadline passed in phase ("command", "data", "bdat"):
 * the session's own, or the wait's.
 */
static void
timed_out(struct session *s, const char *phase, enum reply_id id)
{
	int	 whole = wire_over(&s->w);

	log_info("%s event=timeout phase=%s stress=%s", s->id,
	    whole ? "session" : phase, wire_stressed(&s->w) ? "yes" : "no");
	reply(s, whole ? R_TIMEOUT_SESSION : id);
}

/*
 * reply - one reply from the table; what follows id fills its text.
 */
static void
reply(struct session *s, enum reply_id id, ...)
{
	const struct reply_text	*r = &replies[id];
	char			 text[512], line[REPLY_MAX];
	va_list			 ap;

	va_start(ap, id);
	vsnprintf(text, sizeof(text), r->text, ap);
	va_end(ap);
	if (r->code != 421) {
		emit(s, r->code, 0, r->esc, text);
		return;
	}
	if (snprintf(line, sizeof(line), "%s %s, closing connection",
	    s->conf->hostname, text) < 0)
		line[0] = '\0';
	emit(s, r->code, 0, r->esc, line);
	enter(s, STATE_QUIT);
}

/*
 * reply_more - a line of the multi-line EHLO reply ("250-...").
 */
static void
reply_more(struct session *s, const char *fmt, ...)
{
	char	 text[512];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	emit(s, 250, 1, NULL, text);
}

/*
 * emit - the only writer of replies.  Copies the whole line into the
 * output buffer (flushing a full buffer first), counts 5xx toward
 * max-errors, and logs every refusal with the command escaped.  After a
 * failed write nothing more is said.
 */
static void
emit(struct session *s, int code, int more, const char *esc,
    const char *text)
{
	char	 line[REPLY_MAX], dbg[2 * REPLY_MAX];
	int	 n;

	/* Cut to fit if it must, but always one line ending in CRLF. */
	n = snprintf(line, sizeof(line) - 2, "%d%c%s%s%s", code,
	    more ? '-' : ' ', esc ? esc : "", esc ? " " : "", text);
	if (n < 0 || (size_t)n > sizeof(line) - 3)
		n = n < 0 ? 0 : sizeof(line) - 3;
	line[n++] = '\r';
	line[n++] = '\n';
	wire_put(&s->w, line, n);
	if (code >= 500)
		s->errors++;
	if (log_verbose())	/* it echoes the client's HELO name */
		log_debug("%s event=reply line=\"%s\"", s->id,
		    log_escape(line, n - 2, dbg, sizeof(dbg)));
	if (code >= 400)
		log_reject(s, code, esc, text);
}

/*
 * log_reject - event=reject: who was refused (the peer, the sender of
 * the transaction, the recipient when it is the one refused), with
 * what reply, to which command.  text may hold client octets only as
 * log_escape() wrote them; an injected reply's is escaped here.
 */
static void
log_reject(const struct session *s, int code, const char *esc,
    const char *text)
{
	char	 from[ESC_MAX + 16], rcpt[ESC_MAX + 16], buf[ESC_MAX];
	char	 own[4 * REPLY_MAX];

	from[0] = rcpt[0] = '\0';
	/*
	 * A rule's text is the configuration's and an SPF explanation the
	 * sender domain's: '"' and '\\' may be in either.  Our own texts
	 * hold the client's words escaped already.
	 */
	if (s->injected || s->foreign)
		text = log_escape(text, strlen(text), own, sizeof(own));
	if (s->txn != NULL)
		snprintf(from, sizeof(from), " from=\"<%s>\"",
		    log_escape(s->txn->from, strlen(s->txn->from), buf,
		    sizeof(buf)));
	if (s->rcpt[0] != '\0')
		snprintf(rcpt, sizeof(rcpt), " rcpt=\"<%s>\"", s->rcpt);
	log_info("%s event=reject peer=%s%s%s reply=\"%d%s%s %s\" "
	    "command=\"%s\"%s", s->id, s->logpeer, from, rcpt, code,
	    esc ? " " : "", esc ? esc : "", text, s->cmd,
	    s->injected ? " injected=yes" : "");
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

	if (!wire_stressed(&s->w))
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

	return wire_stressed(&s->w) && n != 0 ? 1 : n;
}
