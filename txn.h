/*
 * txn.h - one mail transaction, from MAIL to the end of its data.
 *
 * A transaction holds the sender and the recipients, each resolved
 * against the configuration to a mailbox in the spool.  It then takes the
 * message as the client meant it (CRLF lines, dots already unstuffed),
 * puts our trace headers in front, checks it on the way through (size,
 * NUL and bare CR or LF, the Received: count) and commits it to the
 * store.  Its calls answer with outcomes, never with SMTP replies: the
 * session chooses the words.  It knows nothing about sockets or time
 * limits; the session knows nothing about the store.
 */
#ifndef TXN_H
#define TXN_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define TXN_LINE_MAX	1000	/* RFC 5321 4.5.3.1.6, CRLF included */
#define TXN_RECEIVED_MAX 100	/* RFC 5321 6.3: more is a mail loop */

struct conf;
struct store;
struct store_msg;

enum txn_outcome {
	TXN_OK,
	TXN_RELAY,		/* the domain is not one of ours */
	TXN_NO_USER,		/* our domain, no such mailbox */
	TXN_BAD_NAME,		/* a mailbox name the spool refuses */
	TXN_TOO_MANY,		/* max-recipients reached */
	TXN_TOO_BIG,		/* over max-message-size */
	TXN_BAD_EOL,		/* NUL, bare CR or bare LF in the message */
	TXN_LONG_LINE,		/* a text line over TXN_LINE_MAX */
	TXN_LOOP,		/* over TXN_RECEIVED_MAX Received: headers */
	TXN_NO_SPACE,		/* the spool's disk or quota is full */
	TXN_LOCAL		/* any other local failure: try later */
};

/* What the DATA decoder saw that the octets alone no longer show. */
#define TXN_FLAW_EOL	0x1	/* a bare CR or LF it did not pass on */
#define TXN_FLAW_LONG	0x2	/* a line over TXN_LINE_MAX */

/* Who is sending, for the Received: header; owned by the session. */
struct txn_client {
	const char	*peer;		/* "192.0.2.1", "2001:db8::1"; "" */
	const char	*helo;
	int		 esmtp;
	const char	*verdict;	/* header lines to put above our
					   Received: (auth.c); NULL or "" */
};

/*
 * A recipient as resolved (after alias, recipient-delimiter and
 * catch-all): local@domain is the mailbox it is stored in, folder the
 * Maildir++ folder in that mailbox ("shop" for .shop), "" for its inbox.
 */
struct rcpt {
	char		 addr[ADDR_PATH_MAX];	/* as given, for Received: */
	char		 local[ADDR_LOCAL_MAX + 1];	/* the mailbox */
	char		 domain[ADDR_DOMAIN_MAX + 1];
	char		 folder[ADDR_LOCAL_MAX + 1];
};

/*
 * What the body filter may hold back of an Authentication-Results: field
 * before it knows whose it is; one that says no more within it is
 * removed.
 */
#define TXN_AR_HOLD	1024

/*
 * The body filter's state: the message as the client meant it, counted
 * as RFC 1870 counts it.  The ar_ fields are its removal of the
 * Authentication-Results: fields that claim our hostname (RFC 8601 5).
 */
struct body {
	uint64_t	 size;
	int		 over;		/* size passed max-message-size */
	int		 bad;		/* NUL, bare CR or bare LF seen */
	int		 in_header;	/* before the first empty line */
	int		 cr;		/* a CR is pending */
	size_t		 col;		/* octets into this header line */
	char		 head[9];	/* its first octets, for "Received:" */
	unsigned	 received;
	int		 ar;		/* txn.c's enum ar: where in a field */
	int		 ar_nl;		/* held or dropped an LF: a fold next? */
	size_t		 ar_match;	/* octets of the name or id matched */
	size_t		 ar_depth;	/* comments open */
	size_t		 ar_len;	/* octets in ar_hold */
	char		 ar_hold[TXN_AR_HOLD];
	unsigned	 ar_removed;	/* fields removed */
};

/* The session reads these fields; only txn.c writes them. */
struct txn {
	const struct conf	*conf;
	struct store		*store;
	const struct txn_client	*client;
	char			 from[ADDR_PATH_MAX];	/* "" for <> */
	int			 utf8;			/* MAIL ... SMTPUTF8 */
	struct rcpt		*rcpt;
	size_t			 nrcpt;
	struct store_msg	*msg;		/* open during DATA or BDAT */
	char			 id[64];	/* the message's, once open */
	struct body		 body;
};

struct txn	*txn_new(const struct conf *, struct store *,
		    const struct txn_client *, const char *from, int utf8);
enum txn_outcome txn_rcpt(struct txn *, const struct addr_path *);
enum txn_outcome txn_resolve(const struct conf *, const struct store *,
		    const struct addr_path *, struct rcpt *);
enum txn_outcome txn_open(struct txn *);
void		 txn_data(struct txn *, const char *, size_t);
enum txn_outcome txn_commit(struct txn *, unsigned flaws);
void		 txn_free(struct txn *);

#endif
