/*
 * addr.h - the address grammar of RFC 5321 (4.1.2, 4.5.3.1) with the
 * UTF-8 of RFC 6531: pure functions of a string, no I/O, no state.
 *
 * session.c hands it what follows "MAIL FROM:" or "RCPT TO:" and gets
 * back the address as written (for trace headers), its local part
 * unquoted and lowercased (ASCII letters only), its domain in the
 * canonical form of idna.c (A-labels, lowercased), and whether any of
 * it is UTF-8; or, on failure, a short reason.  test/addr_test.c runs a
 * table of addresses through it.
 */
#ifndef ADDR_H
#define ADDR_H

#include <stddef.h>

#define ADDR_PATH_MAX	256		/* 4.5.3.1.3, with the <> */
#define ADDR_LOCAL_MAX	64		/* 4.5.3.1.1 */
#define ADDR_DOMAIN_MAX	255		/* 4.5.3.1.2 */

#define ADDR_EMPTY_OK	0x1		/* MAIL FROM:<> */
#define ADDR_POSTMASTER	0x2		/* RCPT TO:<postmaster> */

struct addr_path {
	char		 addr[ADDR_PATH_MAX];	/* local@domain as written */
	char		 local[ADDR_LOCAL_MAX + 1];	/* unquoted, lowercase */
	char		 domain[ADDR_DOMAIN_MAX + 1];	/* A-labels, lowercase */
	int		 nonascii;			/* UTF-8 anywhere */
	const char	*why;				/* after a failure */
};

int	addr_parse_path(const char *, struct addr_path *, int flags,
	    const char **endp);
int	addr_helo_is_domain(const char *);
const char *addr_comment(const char *, char *, size_t);
const char *addr_value(const char *, char *, size_t);

#endif
