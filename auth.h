/*
 * auth.h - the SPF verdict on a transaction's sender: who is checked,
 * within what deadline, the headers that carry the verdict into the
 * message (RFC 7208 9.1 Received-SPF, RFC 8601 Authentication-Results),
 * and what the "spf" policy makes of it.  spf.c does the check itself.
 *
 * session.c asks once per MAIL FROM.  Not checked (and no header): spf
 * off, a client whose address is unknown (smtpd -i on a pipe), loopback
 * (127.0.0.0/8, ::1) and the spf-trusted networks.
 */
#ifndef AUTH_H
#define AUTH_H

#include "spf.h"

#define AUTH_HEADERS_MAX	4096
#define AUTH_EXPSZ	(SPF_EXPSZ + SPF_DOMAINSZ + 32)

struct conf;
struct dns_server;

/* What the session knows of the client and its sender. */
struct auth_in {
	const struct conf	*conf;
	const struct dns_server	*dns;		/* NULL: no resolver */
	const char		*id;		/* the session's, for the log */
	const char		*peer;		/* "192.0.2.1", "::1"; "" */
	const char		*helo;
	const char		*from;		/* as written; "" for <> */
	const char		*from_domain;	/* A-labels, lowercase */
	long long		 end_ms;	/* the session's deadline */
	int			 stressed;	/* the pool is full */
};

enum auth_action {
	AUTH_ACCEPT,		/* go on; headers may be "" */
	AUTH_REFUSE,		/* spf reject and fail: 550 5.7.23 */
	AUTH_DEFER		/* spf reject and temperror: 451 4.7.24 */
};

struct auth {
	char		 exp[AUTH_EXPSZ];	/* a fail's explanation */
	char		 headers[AUTH_HEADERS_MAX];	/* CRLF lines; "" */
};

enum auth_action auth_check(const struct auth_in *, struct auth *);

#endif
