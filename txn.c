/*
 * txn.c - one mail transaction: recipients, trace headers, the body
 * filter and the commit.
 *
 * A recipient is resolved in the order smtpd.conf(5) gives, which is
 * Postfix's: the domain must be ours (a bare <postmaster> takes the
 * postmaster domain); the local part as given is looked up as an alias,
 * then as a mailbox; then, with a recipient-delimiter, the local part
 * without its extension ("bob" for "bob+shop"), again as an alias and
 * a mailbox, the extension naming a Maildir++ folder if the mailbox has
 * one; then the domain's catch-all; and the resulting names must be ones
 * the store takes.  Domains arrive from addr.c in idna.c's canonical
 * form and conf.c keeps them in the same, so this is strcmp().
 *
 * The message reaches the store as the client meant it, CRLF and all;
 * the store keeps Maildir's line convention.  The body filter counts the
 * size as sent, notes NUL and bare CR or LF (RFC 5322 2.3 allows
 * neither), and counts Received: headers in the header section for the
 * loop check (RFC 5321 6.3).  Past max-message-size it stores no more but
 * goes on counting, so the session can read the message to its end and
 * stay in step with the client.
 *
 * It also removes every Authentication-Results: field whose authserv-id
 * is our hostname (RFC 8601 5): only we may say what we found, so no
 * sender may bring such a field along.  A field that may be one is held
 * back (at most TXN_AR_HOLD octets, in struct body) until its
 * authserv-id decides; all else is written as it comes.  The size is
 * still that of the octets received, which is what max-message-size
 * and RFC 1870 count.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "addr.h"
#include "auth.h"
#include "conf.h"
#include "store.h"
#include "txn.h"

static enum txn_outcome	 failure(int);
static int		 resolve(const struct conf *, const struct store *,
			    const char *, const char *, struct rcpt *);
static int		 is_mailbox(const struct conf *, const char *,
			    const char *, int);
static const char	*extension(const struct conf *, const char *, char *,
			    size_t);
static void		 folder(const struct store *, struct rcpt *,
			    const char *);
static void		 trace_headers(struct txn *);
static void		 check_eol(struct body *, const char *, size_t);
static void		 scan_header(struct txn *, const char *, size_t);
static int		 ar_octet(struct txn *, unsigned char);
static int		 ar_held(struct body *, const char *, unsigned char);
static int		 ar_name(struct body *, unsigned char);
static int		 ar_same(struct body *, const char *, unsigned char);
static int		 ar_token(unsigned char);
static void		 ar_release(struct txn *);
static void		 ar_end(struct txn *);

/*
 * Where the header filter is (struct body's ar).  An octet of a line
 * that cannot begin an Authentication-Results: field, or of a field
 * found not to be ours, passes; one of a field that still may be ours
 * is held; one of a field that is ours is dropped.
 */
enum ar {
	AR_START,	/* at a line's first octet: a new field, or a fold */
	AR_PASS,	/* the rest of the line passes */
	AR_NAME,	/* held: a name that may be Authentication-Results */
	AR_CFWS,	/* held: past its colon, before the authserv-id */
	AR_COMMENT,	/* held: in a comment there, ar_depth deep */
	AR_COMMENT_QP,	/* held: after a backslash in that comment */
	AR_TOKEN,	/* held: in an authserv-id token, ar_match matched */
	AR_QUOTED,	/* held: in an authserv-id quoted-string */
	AR_QUOTED_QP,	/* held: after a backslash in it */
	AR_DROP		/* in a field of ours, folds included */
};

/* What ar_held() makes of an octet. */
enum ar_step {
	AR_HOLD,	/* hold it: the field may still be ours */
	AR_RELEASE,	/* not ours: the held octets pass, and so does it */
	AR_OURS,	/* ours: the held octets go, and so does it */
	AR_AGAIN	/* the state changed: look at it again */
};

/*
 * txn_new - MAIL FROM:<from> was accepted.  NULL when out of memory.
 */
struct txn *
txn_new(const struct conf *conf, struct store *store,
    const struct txn_client *client, const char *from, int utf8)
{
	struct txn	*t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->conf = conf;
	t->store = store;
	t->client = client;
	snprintf(t->from, sizeof(t->from), "%s", from);
	t->utf8 = utf8;
	return t;
}

/*
 * txn_rcpt - resolve a forward-path to a mailbox and add it, or say why
 * not.
 */
enum txn_outcome
txn_rcpt(struct txn *t, const struct addr_path *p)
{
	struct rcpt		*r;
	enum txn_outcome	 o;

	if (t->nrcpt >= t->conf->max_recipients)
		return TXN_TOO_MANY;
	if ((r = realloc(t->rcpt, (t->nrcpt + 1) * sizeof(*r))) == NULL)
		return TXN_LOCAL;
	t->rcpt = r;
	if ((o = txn_resolve(t->conf, t->store, p, r + t->nrcpt)) == TXN_OK)
		t->nrcpt++;
	return o;
}

/*
 * txn_resolve - where a message to p would be stored, into r: TXN_OK,
 * TXN_RELAY, TXN_NO_USER or TXN_BAD_NAME.  Delivery asks it for each
 * RCPT; smtpd -w (wait.c) asks it which new/ to watch, so the two cannot
 * disagree.  st may be NULL (no spool yet): then no Maildir++ folder
 * exists.
 */
enum txn_outcome
txn_resolve(const struct conf *c, const struct store *st,
    const struct addr_path *p, struct rcpt *r)
{
	const char	*domain = p->domain;

	if (*domain == '\0')		/* bare <postmaster>, RFC 5321 4.5.1 */
		domain = conf_postmaster_domain(c);
	else if (!conf_domain_ok(c, domain))
		return TXN_RELAY;
	memset(r, 0, sizeof(*r));
	snprintf(r->addr, sizeof(r->addr), "%s", p->addr);
	if (resolve(c, st, p->local, domain, r) == -1)
		return TXN_NO_USER;
	if (!store_name_ok(r->local) || !store_name_ok(r->domain))
		return TXN_BAD_NAME;
	return TXN_OK;
}

/*
 * resolve - local@domain to the mailbox (and folder) it is stored in,
 * into r; -1 if there is none.  The steps are smtpd.conf(5)'s
 * "Recipients", in order.
 */
static int
resolve(const struct conf *c, const struct store *st, const char *local,
    const char *domain, struct rcpt *r)
{
	char		 base[ADDR_LOCAL_MAX + 1];
	const char	*ext;

	ext = extension(c, local, base, sizeof(base));
	if (conf_alias(c, local, domain, r->local, sizeof(r->local),
	    r->domain, sizeof(r->domain)))
		return 0;
	if (is_mailbox(c, local, domain, ext != NULL)) {
		snprintf(r->local, sizeof(r->local), "%s", local);
		snprintf(r->domain, sizeof(r->domain), "%s", domain);
		return 0;
	}
	if (ext != NULL && conf_alias(c, base, domain, r->local,
	    sizeof(r->local), r->domain, sizeof(r->domain))) {
		folder(st, r, ext);
		return 0;
	}
	if (ext != NULL && is_mailbox(c, base, domain, 0)) {
		snprintf(r->local, sizeof(r->local), "%s", base);
		snprintf(r->domain, sizeof(r->domain), "%s", domain);
		folder(st, r, ext);
		return 0;
	}
	if (conf_catchall(c, domain, r->local, sizeof(r->local), r->domain,
	    sizeof(r->domain)))
		return 0;
	return -1;
}

/*
 * is_mailbox - is local a mailbox of domain?  postmaster always is; else
 * a mailbox line must name it, when there are any.  Without them every
 * local part is one, except in a domain with a catch-all (which then
 * takes what no alias does) and except one with an extension, which is
 * its base's (the way Postfix's local(8) finds user+ext as user).
 */
static int
is_mailbox(const struct conf *c, const char *local, const char *domain,
    int has_ext)
{
	if (strcmp(local, "postmaster") == 0)
		return 1;
	if (c->mailboxes.n > 0)
		return conf_mailbox_known(c, local, domain);
	return !has_ext && !conf_catchall(c, domain, NULL, 0, NULL, 0);
}

/*
 * extension - with a recipient-delimiter, split local at the first of
 * its characters, as Postfix does: the part before into base, and the
 * extension after it returned.  NULL when local has no delimiter, or
 * starts with one (then it has no base).
 */
static const char *
extension(const struct conf *c, const char *local, char *base,
    size_t basesz)
{
	size_t	 n;

	if (c->recipient_delimiter == NULL)
		return NULL;
	n = strcspn(local, c->recipient_delimiter);
	if (local[n] == '\0' || n == 0 || n >= basesz)
		return NULL;
	memcpy(base, local, n);
	base[n] = '\0';
	return local + n + 1;
}

/*
 * folder - "bob+shop" goes to bob's Maildir++ folder .shop when bob has
 * one (Dovecot shows it as the folder "shop"), else to bob's inbox.  An
 * extension that could not name such a folder by itself (a '.' would
 * make a subfolder, a '/' a path) goes to the inbox, and so does any
 * without a spool to look in.
 */
static void
folder(const struct store *st, struct rcpt *r, const char *ext)
{
	struct store_rcpt	 sr;

	if (st == NULL || *ext == '\0' || strchr(ext, '.') != NULL || !store_name_ok(ext) ||
	    strlen(ext) >= sizeof(r->folder))
		return;
	sr.domain = r->domain;
	sr.local = r->local;
	sr.folder = ext;
	if (store_folder_exists(st, &sr))
		snprintf(r->folder, sizeof(r->folder), "%s", ext);
}

/*
 * txn_open - the data begins: create the message in the first
 * recipient's maildir and write the trace headers.
 */
enum txn_outcome
txn_open(struct txn *t)
{
	struct store_rcpt	 first;

	first.domain = t->rcpt[0].domain;
	first.local = t->rcpt[0].local;
	first.folder = t->rcpt[0].folder;
	if ((t->msg = store_create(t->store, &first)) == NULL)
		return failure(errno);
	snprintf(t->id, sizeof(t->id), "%s", store_id(t->msg));
	trace_headers(t);
	t->body.in_header = 1;
	return TXN_OK;
}

/*
 * trace_headers - Return-Path:, the SPF verdict (auth.c: RFC 7208 9.1
 * puts Received-SPF: above the Received: of the receiver that checked)
 * and our Received: (RFC 5321 4.4), ahead of what the client sends and
 * in the same CRLF form.
 */
static void
trace_headers(struct txn *t)
{
	const struct txn_client	*cl = t->client;
	const char		*peer = cl->peer;
	char			 hdr[2048 + AUTH_HEADERS_MAX], date[64];
	char			 from[1024], lit[80];
	char			 note[2 * ADDR_DOMAIN_MAX + 1];
	struct tm		 tm;
	time_t			 now = time(NULL);
	int			 n;

	if (peer[0] == '\0')
		snprintf(lit, sizeof(lit), "unknown");
	else
		snprintf(lit, sizeof(lit), "[%s%s]",
		    strchr(peer, ':') ? "IPv6:" : "", peer);
	/* RFC 5321 4.4: From-domain is a Domain or an address literal. */
	if (addr_helo_is_domain(cl->helo))
		snprintf(from, sizeof(from), "%s%s%s%s", cl->helo,
		    peer[0] ? " (" : "", peer[0] ? lit : "",
		    peer[0] ? ")" : "");
	else
		snprintf(from, sizeof(from), "%s (HELO %s)", lit,
		    addr_comment(cl->helo, note, sizeof(note)));
	/* localtime() would stat /etc/localtime for every message. */
	if (localtime_r(&now, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm) == 0)
		snprintf(date, sizeof(date), "unknown");
	n = snprintf(hdr, sizeof(hdr),
	    "Return-Path: <%s>\r\n"
	    "%s"
	    "Received: from %s\r\n"
	    "\tby %s (smtpd) with %s id %s%s%s%s;\r\n"
	    "\t%s\r\n",
	    t->from, cl->verdict ? cl->verdict : "", from, t->conf->hostname,
	    t->utf8 ? "UTF8SMTP" : cl->esmtp ? "ESMTP" : "SMTP",
	    t->id, t->nrcpt == 1 ? "\r\n\tfor <" : "",
	    t->nrcpt == 1 ? t->rcpt[0].addr : "", t->nrcpt == 1 ? ">" : "",
	    date);
	store_write(t->msg, hdr, (size_t)n < sizeof(hdr) ? (size_t)n :
	    sizeof(hdr) - 1);
}

/*
 * txn_data - the next octets of the message: the body filter.
 */
void
txn_data(struct txn *t, const char *p, size_t n)
{
	struct body	*b = &t->body;

	b->size += n;
	if (b->size > t->conf->max_message_size)
		b->over = 1;
	if (b->over)
		return;		/* counted to the end; stored no more */
	if (!b->bad)
		check_eol(b, p, n);
	if (b->in_header)
		scan_header(t, p, n);	/* it writes what it passes */
	else
		store_write(t->msg, p, n);
}

/*
 * check_eol - one rule for DATA and BDAT: lines end in CRLF, and no NUL.
 * memchr() finds each CR; no LF may come before it, and an LF must
 * follow it (in the next call if this one ends with the CR).  A flaw
 * sets b->bad, and nothing after it needs looking at.
 */
static void
check_eol(struct body *b, const char *p, size_t n)
{
	const char	*end = p + n, *cr;

	if (n == 0)
		return;
	if (memchr(p, '\0', n) != NULL) {
		b->bad = 1;
		return;
	}
	if (b->cr) {
		b->cr = 0;
		if (*p++ != '\n') {
			b->bad = 1;
			return;
		}
	}
	while (p < end) {
		cr = memchr(p, '\r', (size_t)(end - p));
		if (memchr(p, '\n', (size_t)((cr ? cr : end) - p)) != NULL) {
			b->bad = 1;	/* an LF without its CR */
			return;
		}
		if (cr == NULL)
			return;
		if (cr + 1 == end) {
			b->cr = 1;	/* its LF is in the next call */
			return;
		}
		if (cr[1] != '\n') {
			b->bad = 1;	/* a CR without its LF */
			return;
		}
		p = cr + 2;
	}
}

/*
 * scan_header - count the "Received:" lines of the header, which ends at
 * the first empty line, and write it without our Authentication-Results:
 * fields; the octets after it are written as they are.  CRs are skipped
 * in the count; a line ends at its LF.  span is where the octets that
 * pass and are not yet written begin: a run is written in one call.
 */
static void
scan_header(struct txn *t, const char *p, size_t n)
{
	struct body	*b = &t->body;
	const char	*span = p;
	size_t		 i;

	for (i = 0; i < n && b->in_header; i++) {
		if (!ar_octet(t, (unsigned char)p[i])) {
			store_write(t->msg, span, (size_t)(p + i - span));
			span = p + i + 1;
		}
		if (p[i] == '\r')
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
	store_write(t->msg, span, (size_t)(p + n - span));
}

/*
 * ar_octet - the header filter on the next octet: 1 if it passes now, 0
 * if it is held or dropped.  Held octets found not to be ours are
 * written here, before c, which then passes with the rest of the line.
 * A field goes on over an LF only when a SP or HT follows (a fold), so
 * the octet after an LF in a held or dropped field is looked at first.
 */
static int
ar_octet(struct txn *t, unsigned char c)
{
	struct body	*b = &t->body;

	if (b->ar_nl) {
		b->ar_nl = 0;
		if (c != ' ' && c != '\t') {	/* the field has ended */
			ar_release(t);	/* if held, it named no id: not ours */
			b->ar = AR_START;
		}
	}
	for (;;) {
		switch (b->ar) {
		case AR_START:
			b->ar = c == 'A' || c == 'a' ? AR_NAME : AR_PASS;
			b->ar_match = 0;
			continue;
		case AR_PASS:
			if (c == '\n')
				b->ar = AR_START;
			return 1;
		case AR_DROP:
			b->ar_nl = c == '\n';
			return 0;
		default:
			break;
		}
		switch (ar_held(b, t->conf->hostname, c)) {
		case AR_HOLD:
			if (b->ar_len < sizeof(b->ar_hold)) {
				b->ar_hold[b->ar_len++] = (char)c;
				b->ar_nl = c == '\n';
				return 0;
			}
			/* Too long to tell whose: trusted no more than ours. */
			/* FALLTHROUGH */
		case AR_OURS:
			b->ar_len = 0;
			b->ar_removed++;
			b->ar = AR_DROP;
			break;
		case AR_RELEASE:
			ar_release(t);
			b->ar = AR_PASS;
			break;
		}
	}
}

/*
 * ar_held - the next octet of a field held back: the name, then the
 * authserv-id after CFWS (RFC 8601 2.2: it is a RFC 2045 value, a token
 * or a quoted-string; comments nest and hold quoted-pairs, RFC 5322
 * 3.2.2), which RFC 8601 2.5 compares case-insensitively.  Compared as
 * it comes, it is found not ours at its first octet that differs.
 */
static int
ar_held(struct body *b, const char *host, unsigned char c)
{
	switch (b->ar) {
	case AR_NAME:
		return ar_name(b, c);
	case AR_CFWS:
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			return AR_HOLD;
		b->ar_depth = 1;
		b->ar = c == '(' ? AR_COMMENT : c == '"' ? AR_QUOTED :
		    AR_TOKEN;
		return c == '(' || c == '"' ? AR_HOLD :
		    ar_token(c) ? AR_AGAIN : AR_RELEASE;
	case AR_COMMENT:
		if (c == '\\')
			b->ar = AR_COMMENT_QP;
		else if (c == '(')
			b->ar_depth++;
		else if (c == ')' && --b->ar_depth == 0)
			b->ar = AR_CFWS;
		return AR_HOLD;
	case AR_COMMENT_QP:
		b->ar = AR_COMMENT;
		return c == '\r' || c == '\n' ? AR_AGAIN : AR_HOLD;
	case AR_TOKEN:
		if (ar_token(c))
			return ar_same(b, host, c);
		return host[b->ar_match] == '\0' ? AR_OURS : AR_RELEASE;
	case AR_QUOTED:
		if (c == '\\')
			b->ar = AR_QUOTED_QP;
		if (c == '\\' || c == '\r' || c == '\n')
			return AR_HOLD;
		if (c == '"')
			return host[b->ar_match] == '\0' ? AR_OURS : AR_RELEASE;
		return ar_same(b, host, c);
	case AR_QUOTED_QP:
		b->ar = AR_QUOTED;
		return c == '\r' || c == '\n' ? AR_AGAIN : ar_same(b, host, c);
	}
	return AR_RELEASE;
}

/*
 * ar_name - the next octet of a field name that may be
 * "Authentication-Results", in any case, with the WSP before the colon
 * that RFC 5322 4.5 still allows.
 */
static int
ar_name(struct body *b, unsigned char c)
{
	static const char	 name[] = "authentication-results";

	if (b->ar_match < sizeof(name) - 1) {
		if (tolower(c) != name[b->ar_match])
			return AR_RELEASE;
		b->ar_match++;
		return AR_HOLD;
	}
	if (c == ' ' || c == '\t')
		return AR_HOLD;
	if (c != ':')
		return AR_RELEASE;
	b->ar = AR_CFWS;
	b->ar_match = 0;
	return AR_HOLD;
}

/*
 * ar_same - the next octet of the authserv-id against the host name: held
 * while they agree, released where they part.
 */
static int
ar_same(struct body *b, const char *host, unsigned char c)
{
	if (host[b->ar_match] == '\0' ||
	    tolower(c) != tolower((unsigned char)host[b->ar_match]))
		return AR_RELEASE;
	b->ar_match++;
	return AR_HOLD;
}

/*
 * ar_token - may c be in a RFC 2045 token: not SP, a CTL or a tspecial?
 * Octets over 127 may, for a UTF-8 authserv-id (RFC 8601 2.5).
 */
static int
ar_token(unsigned char c)
{
	return c > ' ' && c != 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/*
 * ar_release - the octets held are not of a field of ours: write them.
 */
static void
ar_release(struct txn *t)
{
	struct body	*b = &t->body;

	store_write(t->msg, b->ar_hold, b->ar_len);
	b->ar_len = 0;
}

/*
 * ar_end - the message ends in its header section: a field still held
 * ends with it, ours if its token is all of our name.
 */
static void
ar_end(struct txn *t)
{
	struct body	*b = &t->body;

	if (b->ar_len == 0)
		return;
	if (b->ar == AR_TOKEN && t->conf->hostname[b->ar_match] == '\0') {
		b->ar_len = 0;
		b->ar_removed++;
	} else
		ar_release(t);
	b->ar = AR_PASS;
}

/*
 * txn_commit - the client has sent the whole message: check it, and
 * commit it to every recipient's maildir.  TXN_OK means on disk.  The
 * message is closed either way; the transaction stays for its log line
 * until txn_free().
 */
enum txn_outcome
txn_commit(struct txn *t, unsigned flaws)
{
	struct body		*b = &t->body;
	struct store_rcpt	*sr;
	enum txn_outcome	 o;
	size_t			 i;

	if (b->cr)		/* a BDAT message that ends in CR */
		b->bad = 1;
	if (b->over)
		return TXN_TOO_BIG;
	if (b->bad || (flaws & TXN_FLAW_EOL))
		return TXN_BAD_EOL;
	if (flaws & TXN_FLAW_LONG)
		return TXN_LONG_LINE;
	if (b->received > TXN_RECEIVED_MAX)
		return TXN_LOOP;
	ar_end(t);
	if ((sr = calloc(t->nrcpt, sizeof(*sr))) == NULL)
		return TXN_LOCAL;
	for (i = 0; i < t->nrcpt; i++) {
		sr[i].domain = t->rcpt[i].domain;
		sr[i].local = t->rcpt[i].local;
		sr[i].folder = t->rcpt[i].folder;
	}
	o = store_commit(t->msg, sr, t->nrcpt) == -1 ? failure(errno) : TXN_OK;
	t->msg = NULL;
	free(sr);
	return o;
}

/*
 * txn_free - end the transaction, dropping any message being written.
 */
void
txn_free(struct txn *t)
{
	if (t == NULL)
		return;
	store_abort(t->msg);
	free(t->rcpt);
	free(t);
}

/*
 * failure - what the store's errno means to a client: a full disk
 * (452 4.3.1) is a different thing to say than any other failure.
 */
static enum txn_outcome
failure(int saved)
{
	return saved == ENOSPC || saved == EDQUOT ? TXN_NO_SPACE : TXN_LOCAL;
}
