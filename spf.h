/*
 * spf.h - RFC 7208's check_host(): the SPF verdict on a client address
 * for a domain, asked of the DNS through dns.c.
 *
 * spf_check_host() fills a struct spf the caller provides (it holds a
 * struct dns_answer: keep it static or on the heap) and allocates
 * nothing.  Every DNS question is bounded by the one deadline in
 * spf.deadline, on now_ms()'s clock; past it the result is temperror.
 *
 * spf_init() once, then spf_check_host() once or more: each call starts
 * its counters (nterms, nvoid), why and exp afresh, and keeps the
 * identity spf_init() was given; the one deadline is shared by all the
 * calls, so a caller that checks the HELO and the MAIL FROM identities
 * either gives that deadline room for both or calls spf_init() again,
 * with the sender "postmaster@HELO" for the HELO check (2.3).  On fail,
 * exp holds the domain's explanation (exp=, 6.2): printable ASCII, ""
 * when there is none; the caller supplies a default.
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
#define SPF_EXPSZ	512	/* an explanation, with its NUL */

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
	char		 receiver[SPF_DOMAINSZ];	/* %{r} */
	/* kept, each spf_check_host() afresh */
	int		 nterms;		/* DNS-querying terms so far */
	int		 nvoid;			/* void lookups so far */
	int		 inc;			/* include: depth */
	const char	*why;			/* of a permerror, temperror */
	char		 exp[SPF_EXPSZ];	/* of a fail (6.2), else "" */
	struct dns_answer ans;
};

int	 spf_address(const char *, int *, unsigned char *);
int	 spf_init(struct spf *, const struct dns_server *, long long deadline,
	    const char *ip, const char *sender, const char *helo,
	    const char *receiver);
enum spf_result spf_check_host(struct spf *, const char *domain);
const char *spf_result_text(enum spf_result);

/* for fuzz/spf.c: parse and expand a record's text, with no DNS */
int	 spf_parse_record(struct spf *, const char *text, size_t len,
	    const char *domain, void (*each)(const char *, void *), void *);

#endif
