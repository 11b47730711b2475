/*
 * spf.h - RFC 7208's check_host(): the SPF verdict on a client address
 * for a domain, asked of the DNS through dns.c.
 *
 * spf_check() fills a struct spf the caller provides (it holds a
 * struct dns_answer: keep it static or on the heap) and allocates
 * nothing.  Every DNS question is bounded by the one deadline in
 * spf.deadline, on now_ms()'s clock; past it the result is temperror.
 * Not yet used by sessions (issue 12's later points).
 */
#ifndef SPF_H
#define SPF_H

#include <stddef.h>

#include "dns.h"

#define SPF_RECSZ	4096	/* a longer record is a permerror */
#define SPF_MAXTERMS	512	/* more terms is a permerror */
#define SPF_MAXDNS	10	/* DNS-querying terms, 4.6.4 */
#define SPF_MAXVOID	2	/* void lookups, 4.6.4 */
#define SPF_MAXNAMES	10	/* MX and PTR names, 4.6.4 */
#define SPF_DOMAINSZ	254	/* 253 octets and the NUL */

enum spf_result {
	SPF_NONE,
	SPF_NEUTRAL,
	SPF_PASS,
	SPF_FAIL,
	SPF_SOFTFAIL,
	SPF_TEMPERROR,
	SPF_PERMERROR
};

struct spf {
	/* given */
	const struct dns_server	*srv;
	long long	 deadline;		/* now_ms() */
	int		 af;			/* AF_INET, AF_INET6 */
	unsigned char	 ip[16];		/* 4 octets for AF_INET */
	char		 local[65];		/* of the sender */
	char		 sender_domain[SPF_DOMAINSZ];
	char		 helo[SPF_DOMAINSZ];
	/* kept */
	int		 nterms;		/* DNS-querying terms so far */
	int		 nvoid;			/* void lookups so far */
	const char	*why;			/* of a permerror, temperror */
	struct dns_answer ans;
};

int	 spf_init(struct spf *, const struct dns_server *, long long deadline,
	    const char *ip, const char *sender, const char *helo);
enum spf_result spf_check_host(struct spf *, const char *domain);
const char *spf_result_text(enum spf_result);

#endif
